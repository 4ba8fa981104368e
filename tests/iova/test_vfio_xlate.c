/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Translation (iova_vfio_translate, iova_vfio_vaddr) and pools against
 * the fake container (test_vfio_fake.c): every byte of a mapping both
 * ways, the errors at and past a mapping's edges, virtual overlaps and
 * aliases, a closed container, readers racing unmaps and remaps, pools.
 *
 * The library never touches the memory it maps, so the buffers here are
 * made-up virtual addresses.
 *
 * test_readers_never_see_reused_iovas is randomized: it prints its seed;
 * VFIO_SEED=N runs it again with N.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <libiova/iova_vfio.h>
#include <libiova/maple_tree.h>

#include "prng.h"
#include "test_vfio_fake.h"

#define RW (IOVA_VFIO_READ | IOVA_VFIO_WRITE)
#define VA(x) ((void *)(uintptr_t)(x))

static uint64_t map_ok(struct iova_vfio *v, uint64_t va, uint64_t size,
		       unsigned int flags)
{
	uint64_t iova = 0;

	assert_int_equal(iova_vfio_map(v, VA(va), size, 0, 0, UINT64_MAX,
				       flags, &iova), 0);
	return iova;
}

static void assert_translates(struct iova_vfio *v, uint64_t va, uint64_t iova,
			      uint64_t size)
{
	static const uint64_t offs[] = { 0, 1, 4095, 4096, 4097 };
	uint64_t got;
	void *back;

	for (unsigned int i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		uint64_t off = offs[i] % size;

		assert_int_equal(iova_vfio_translate(v, VA(va + off), 1, &got),
				 0);
		assert_int_equal(got, iova + off);
		assert_int_equal(iova_vfio_vaddr(v, iova + off, 1, &back), 0);
		assert_ptr_equal(back, VA(va + off));
	}
	/* the whole buffer, and its last byte */
	assert_int_equal(iova_vfio_translate(v, VA(va), size, &got), 0);
	assert_int_equal(got, iova);
	assert_int_equal(iova_vfio_translate(v, VA(va + size - 1), 1, &got), 0);
	assert_int_equal(got, iova + size - 1);
	assert_int_equal(iova_vfio_vaddr(v, iova, size, &back), 0);
	assert_ptr_equal(back, VA(va));
}

static void assert_same_info(const struct iova_vfio_info *a,
			     const struct iova_vfio_info *b)
{
	assert_int_equal(a->pgsizes, b->pgsizes);
	assert_int_equal(a->granule, b->granule);
	assert_int_equal(a->nr_windows, b->nr_windows);
	assert_int_equal(a->mappings, b->mappings);
	assert_int_equal(a->budget, b->budget);
	assert_int_equal(a->budget_reported, b->budget_reported);
	assert_int_equal(a->limit, b->limit);
}

static void test_translate_both_ways(void **state)
{
	static const uint64_t sizes[] = { 4096, 8192, 1 << 20, 3 << 12 };
	uint64_t va[4], iova[4], got;
	struct fake f;
	struct iova_vfio *v;
	void *back;

	(void)state;
	x86_host(&f);
	v = open_fake(&f);
	for (int i = 0; i < 4; i++) {
		va[i] = 0x7f0000000000ull + (uint64_t)i * (4u << 20);
		iova[i] = map_ok(v, va[i], sizes[i], RW);
	}
	for (int i = 0; i < 4; i++)
		assert_translates(v, va[i], iova[i], sizes[i]);
	/* one byte before and past a mapping: nothing there */
	assert_int_equal(iova_vfio_translate(v, VA(va[0] - 1), 1, &got),
			 -ENOENT);
	assert_int_equal(iova_vfio_translate(v, VA(va[0] + sizes[0]), 1, &got),
			 -ENOENT);
	assert_int_equal(iova_vfio_vaddr(v, iova[0] + sizes[0] + (1 << 30), 1,
					 &back), -ENOENT);
	/* a range that crosses the mapping's end */
	assert_int_equal(iova_vfio_translate(v, VA(va[1]), sizes[1] + 1, &got),
			 -ERANGE);
	assert_int_equal(iova_vfio_translate(v, VA(va[1] + sizes[1] - 1), 2,
					     &got), -ERANGE);
	assert_int_equal(iova_vfio_vaddr(v, iova[1] + 1, sizes[1], &back),
			 -ERANGE);
	/* unmapped: gone both ways, the others untouched */
	assert_int_equal(iova_vfio_unmap(v, iova[2], sizes[2]), 0);
	assert_int_equal(iova_vfio_translate(v, VA(va[2]), 1, &got), -ENOENT);
	assert_int_equal(iova_vfio_vaddr(v, iova[2], 1, &back), -ENOENT);
	assert_translates(v, va[3], iova[3], sizes[3]);
	/* map_at translates too; two mappings contiguous in both address
	 * spaces stay two: a range across both is -ERANGE, and unmapping
	 * one leaves the other */
	assert_int_equal(iova_vfio_map_at(v, VA(va[2]), 4096, 0x200000, RW), 0);
	assert_int_equal(iova_vfio_map_at(v, VA(va[2] + 4096), 4096, 0x201000,
					  RW), 0);
	assert_translates(v, va[2], 0x200000, 4096);
	assert_translates(v, va[2] + 4096, 0x201000, 4096);
	assert_int_equal(iova_vfio_translate(v, VA(va[2]), 8192, &got),
			 -ERANGE);
	assert_int_equal(iova_vfio_vaddr(v, 0x200000, 8192, &back), -ERANGE);
	assert_int_equal(iova_vfio_unmap(v, 0x200000, 4096), 0);
	assert_int_equal(iova_vfio_translate(v, VA(va[2]), 1, &got), -ENOENT);
	assert_translates(v, va[2] + 4096, 0x201000, 4096);
	iova_vfio_close(v);
}

static void test_bad_input(void **state)
{
	struct fake f;
	struct iova_vfio *v;
	struct iova_vfio_info before, after;
	uint64_t va = 0x7f0000000000ull, iova, got = 77;
	void *back = VA(77);

	(void)state;
	x86_host(&f);
	v = open_fake(&f);
	iova = map_ok(v, va, 8192, RW);
	assert_int_equal(iova_vfio_get_info(v, &before), 0);
	/* NULL */
	assert_int_equal(iova_vfio_translate(NULL, VA(va), 1, &got), -EINVAL);
	assert_int_equal(iova_vfio_translate(v, NULL, 1, &got), -EINVAL);
	assert_int_equal(iova_vfio_translate(v, VA(va), 1, NULL), -EINVAL);
	assert_int_equal(iova_vfio_vaddr(NULL, iova, 1, &back), -EINVAL);
	assert_int_equal(iova_vfio_vaddr(v, iova, 1, NULL), -EINVAL);
	/* zero length */
	assert_int_equal(iova_vfio_translate(v, VA(va), 0, &got), -EINVAL);
	assert_int_equal(iova_vfio_vaddr(v, iova, 0, &back), -EINVAL);
	/* wrapping length */
	assert_int_equal(iova_vfio_translate(v, VA(va), UINT64_MAX, &got),
			 -EINVAL);
	assert_int_equal(iova_vfio_vaddr(v, iova, -iova + 1, &back), -EINVAL);
	assert_int_equal(iova_vfio_map(v, VA(UINT64_MAX - 4095), 8192, 0, 0,
				       UINT64_MAX, RW, &got), -EINVAL);
	/* one byte past */
	assert_int_equal(iova_vfio_translate(v, VA(va + 8192), 1, &got),
			 -ENOENT);
	assert_int_equal(iova_vfio_vaddr(v, iova + 8192, 1, &back), -ENOENT);
	/* nothing written on failure */
	assert_int_equal(got, 77);
	assert_ptr_equal(back, VA(77));
	/* a pool's calls */
	assert_int_equal(iova_vfio_map_pool(NULL, VA(va), 8192, 0, UINT64_MAX,
					    RW, NULL), -EINVAL);
	assert_int_equal(iova_vfio_map_pool(v, VA(0x10000000), 8192, 0,
					    UINT64_MAX, RW, NULL), -EINVAL);
	assert_int_equal(iova_vfio_map_pool(v, VA(0x10000000), 0, 0,
					    UINT64_MAX, RW, NULL), -EINVAL);
	assert_int_equal(iova_vfio_pool_alloc(NULL, 4096, 0, &back, &got),
			 -EINVAL);
	assert_int_equal(iova_vfio_pool_free(NULL, VA(va)), -EINVAL);
	assert_int_equal(iova_vfio_unmap_pool(NULL), -EINVAL);
	/* none of it changed anything */
	assert_int_equal(iova_vfio_get_info(v, &after), 0);
	assert_same_info(&before, &after);
	assert_int_equal(f.nr_maps, 1);
	assert_translates(v, va, iova, 8192);
	iova_vfio_close(v);
}

static void test_overlap_and_alias(void **state)
{
	struct fake f;
	struct iova_vfio *v;
	struct iova_space_stats st;
	uint64_t va = 0x7f0000000000ull, a, b, got;
	void *back;

	(void)state;
	x86_host(&f);
	v = open_fake(&f);
	a = map_ok(v, va, 16384, RW);
	/* the same memory again, or part of it: -EEXIST, the kernel not asked */
	f.map_calls = 0;
	assert_int_equal(iova_vfio_map(v, VA(va + 4096), 4096, 0, 0,
				       UINT64_MAX, RW, &got), -EEXIST);
	assert_int_equal(iova_vfio_map(v, VA(va - 4096), 8192, 0, 0,
				       UINT64_MAX, RW, &got), -EEXIST);
	assert_int_equal(iova_vfio_map_at(v, VA(va), 4096, 0x300000, RW),
			 -EEXIST);
	assert_int_equal(f.map_calls, 0);
	assert_int_equal(iova_space_stats(iova_vfio_space(v), &st), 0);
	assert_int_equal(st.allocations, 1);
	/* as an alias it maps; translate still finds the first, vaddr both */
	assert_int_equal(iova_vfio_map(v, VA(va + 4096), 4096, 0, 0,
				       UINT64_MAX, RW | IOVA_VFIO_ALIAS, &b),
			 0);
	assert_int_equal(iova_vfio_translate(v, VA(va + 4096), 1, &got), 0);
	assert_int_equal(got, a + 4096);
	assert_int_equal(iova_vfio_vaddr(v, b + 5, 1, &back), 0);
	assert_ptr_equal(back, VA(va + 4096 + 5));
	/* unmapping the alias leaves the first mapping alone */
	assert_int_equal(iova_vfio_unmap(v, b, 4096), 0);
	assert_translates(v, va, a, 16384);
	assert_int_equal(iova_vfio_unmap(v, a, 16384), 0);
	/* and the range is free again */
	a = map_ok(v, va, 4096, RW);
	assert_translates(v, va, a, 4096);
	iova_vfio_close(v);
}

static void test_closed_container(void **state)
{
	struct fake f;
	struct iova_vfio *v;
	struct iova_vfio_info before, after;
	struct iova_vfio_pool *pool = NULL;
	uint64_t va = 0x7f0000000000ull, iova, got;

	(void)state;
	x86_host(&f);
	v = open_fake(&f);
	iova = map_ok(v, va, 8192, RW);
	assert_int_equal(iova_vfio_get_info(v, &before), 0);
	f.closed = true;
	/* every call that needs the kernel fails with its error, changing
	 * nothing; translation needs no kernel */
	assert_int_equal(iova_vfio_map(v, VA(va + 8192), 4096, 0, 0,
				       UINT64_MAX, RW, &got), -EBADF);
	assert_int_equal(iova_vfio_map_at(v, VA(va + 8192), 4096, 0x100000, RW),
			 -EBADF);
	assert_int_equal(iova_vfio_map_pool(v, VA(va + 8192), 4096, 0,
					    UINT64_MAX, RW, &pool), -EBADF);
	assert_null(pool);
	assert_int_equal(iova_vfio_unmap(v, iova, 8192), -EBADF);
	assert_int_equal(iova_vfio_get_info(v, &after), 0);
	assert_same_info(&before, &after);
	assert_int_equal(iova_vfio_translate(v, VA(va + 8192), 1, &got),
			 -ENOENT);
	assert_translates(v, va, iova, 8192);
	/* reopened (as far as we can tell): the unmap goes through */
	f.closed = false;
	assert_int_equal(iova_vfio_unmap(v, iova, 8192), 0);
	assert_int_equal(iova_vfio_translate(v, VA(va), 1, &got), -ENOENT);
	iova_vfio_close(v);
}

static void test_pool(void **state)
{
	struct fake f;
	struct iova_vfio *v;
	struct iova_vfio_pool *pool;
	struct iova_vfio_info info;
	uint64_t pva = 0x7f0000000000ull, psize = 4u << 20;
	uint64_t iova[64], base, got;
	void *va[64], *back;

	(void)state;
	x86_host(&f);
	f.have_avail = true;
	f.avail = 3;
	v = open_fake(&f);
	assert_int_equal(iova_vfio_map_pool(v, VA(pva), psize, 0, UINT64_MAX,
					    RW, &pool), 0);
	assert_int_equal(f.nr_maps, 1);
	base = f.maps[0].iova;
	assert_int_equal(base % (2u << 20), 0); /* on 2 MiB pages */
	assert_int_equal(iova_vfio_get_info(v, &info), 0);
	assert_int_equal(info.mappings, 1);
	assert_int_equal(info.budget, 2);
	assert_int_equal(info.limit, 3);
	/* 64 buffers: no ioctl, no budget, each translates */
	f.map_calls = 0;
	for (int i = 0; i < 64; i++) {
		assert_int_equal(iova_vfio_pool_alloc(pool, 4096 * (i % 3 + 1),
						      i % 2 ? 8192 : 0, &va[i],
						      &iova[i]), 0);
		assert_true(iova[i] >= base && iova[i] < base + psize);
		assert_ptr_equal(va[i], VA(pva + (iova[i] - base)));
		if (i % 2)
			assert_int_equal(iova[i] % 8192, 0);
		assert_int_equal(iova_vfio_translate(v, va[i], 4096, &got), 0);
		assert_int_equal(got, iova[i]);
		assert_int_equal(iova_vfio_vaddr(v, iova[i] + 4095, 1, &back),
				 0);
		assert_ptr_equal(back, (char *)va[i] + 4095);
	}
	assert_int_equal(f.map_calls, 0);
	assert_int_equal(iova_vfio_get_info(v, &info), 0);
	assert_int_equal(info.budget, 2);
	/* the pool's own errors */
	assert_int_equal(iova_vfio_pool_alloc(pool, 0, 0, &back, &got),
			 -EINVAL);
	assert_int_equal(iova_vfio_pool_alloc(pool, psize, 0, &back, &got),
			 -ENOSPC);
	assert_int_equal(iova_vfio_pool_free(pool, VA(pva + psize)), -ENOENT);
	assert_int_equal(iova_vfio_pool_free(pool, VA(pva - 1)), -ENOENT);
	assert_int_equal(iova_vfio_pool_free(pool, (char *)va[5] + 4096),
			 -EINVAL);
	/* not while buffers are live; not through the plain unmap */
	assert_int_equal(iova_vfio_unmap_pool(pool), -EBUSY);
	assert_int_equal(iova_vfio_unmap(v, base, psize), -EBUSY);
	assert_int_equal(f.nr_maps, 1);
	for (int i = 0; i < 64; i++)
		assert_int_equal(iova_vfio_pool_free(pool, va[i]), 0);
	assert_int_equal(iova_vfio_pool_free(pool, va[0]), -ENOENT);
	/* a failed kernel unmap keeps the pool */
	f.closed = true;
	assert_int_equal(iova_vfio_unmap_pool(pool), -EBADF);
	f.closed = false;
	assert_int_equal(iova_vfio_pool_alloc(pool, 4096, 0, &va[0], &iova[0]),
			 0);
	assert_int_equal(iova_vfio_pool_free(pool, va[0]), 0);
	assert_int_equal(iova_vfio_unmap_pool(pool), 0);
	assert_int_equal(f.nr_maps, 0);
	assert_int_equal(iova_vfio_translate(v, VA(pva), 1, &got), -ENOENT);
	assert_int_equal(iova_vfio_get_info(v, &info), 0);
	assert_int_equal(info.mappings, 0);
	assert_int_equal(info.budget, 3);
	/* a pool left mapped is freed by close (no leak under ASan) */
	assert_int_equal(iova_vfio_map_pool(v, VA(pva), psize, 0, UINT64_MAX,
					    RW, &pool), 0);
	assert_int_equal(iova_vfio_pool_alloc(pool, 4096, 0, &va[0], &iova[0]),
			 0);
	iova_vfio_close(v);
}

/* ---- two unmaps of one mapping ----------------------------------------- */

struct unmapper {
	struct iova_vfio *v;
	uint64_t iova;
	pthread_barrier_t *start;
	int ret;
};

static void *unmapper_main(void *arg)
{
	struct unmapper *u = arg;

	pthread_barrier_wait(u->start);
	u->ret = iova_vfio_unmap(u->v, u->iova, 8192);
	return NULL;
}

/* Exactly one of two racing unmaps unmaps; the other finds nothing (the
 * claim), and the kernel is asked once. */
static void test_racing_unmaps(void **state)
{
	struct fake f;
	struct iova_vfio *v;
	struct iova_vfio_info info;

	(void)state;
	x86_host(&f);
	v = open_fake(&f);
	for (int round = 0; round < 200; round++) {
		pthread_barrier_t start;
		struct unmapper u[2];
		pthread_t th[2];
		uint64_t iova = map_ok(v, 0x7f0000000000ull, 8192, RW);

		pthread_barrier_init(&start, NULL, 2);
		f.unmap_calls = 0;
		for (int t = 0; t < 2; t++) {
			u[t] = (struct unmapper){ v, iova, &start, 1 };
			assert_int_equal(pthread_create(&th[t], NULL,
							unmapper_main, &u[t]),
					 0);
		}
		for (int t = 0; t < 2; t++)
			pthread_join(th[t], NULL);
		pthread_barrier_destroy(&start);
		assert_true((u[0].ret == 0 && u[1].ret == -ENOENT) ||
			    (u[1].ret == 0 && u[0].ret == -ENOENT));
		assert_int_equal(f.unmap_calls, 1);
		assert_int_equal(f.nr_maps, 0);
	}
	assert_int_equal(iova_vfio_get_info(v, &info), 0);
	assert_int_equal(info.mappings, 0);
	assert_int_equal(info.budget, 65535);
	iova_vfio_close(v);
}

/* ---- readers against unmaps and remaps --------------------------------- */

#define SLOTS 8
#define SLOT_SIZE 8192

struct race {
	struct iova_vfio *v;
	struct fake *f;
	int stop;
	uint64_t seed;
	unsigned long hits, misses, bad;
};

static uint64_t slot_va(unsigned int k)
{
	return 0x7f0000000000ull + (uint64_t)k * (1u << 20);
}

/*
 * Translate a slot's buffer and, still inside an RCU read-side section
 * that spans the translation, ask the IOMMU what that IOVA maps.  The
 * unmap waits for a grace period before the IOVA can be reused, so the
 * answer must be this buffer or nothing (unmapped, not yet reused): never
 * another slot's buffer.
 */
static void *reader(void *arg)
{
	struct race *r = arg;
	struct prng rng;
	unsigned long hits = 0, misses = 0, bad = 0;

	rng.state = r->seed;
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		unsigned int k = (unsigned int)(prng_next(&rng) % SLOTS);
		uint64_t off = prng_next(&rng) % SLOT_SIZE, iova, mapped;
		int err;

		mt_read_lock();
		err = iova_vfio_translate(r->v, VA(slot_va(k) + off), 1, &iova);
		if (!err) {
			/* a while with the IOVA in hand, as a driver
			 * building a command: long enough for an unmap and a
			 * remap, were they not held back by this section */
			for (unsigned int d = 0; d < 2000; d++)
				__asm__ __volatile__("" ::: "memory");
			hits++;
			if (fake_iommu_vaddr(r->f, iova, &mapped) &&
			    mapped != slot_va(k) + off)
				bad++;
		} else if (err == -ENOENT) {
			misses++;
		} else {
			bad++;
		}
		mt_read_unlock();
	}
	__atomic_store_n(&r->hits, hits, __ATOMIC_RELAXED);
	__atomic_store_n(&r->misses, misses, __ATOMIC_RELAXED);
	__atomic_store_n(&r->bad, bad, __ATOMIC_RELAXED);
	return NULL;
}

static void test_readers_never_see_reused_iovas(void **state)
{
	struct race r[2];
	pthread_t th[2];
	struct fake f;
	struct iova_vfio *v;
	uint64_t iova[SLOTS], seed = prng_seed_from_env("VFIO_SEED", (uint64_t)time(NULL));
	struct prng rng;
	unsigned long hits = 0, bad = 0;

	(void)state;
	printf("# VFIO_SEED=%llu\n", (unsigned long long)seed);
	rng.state = seed;
	x86_host(&f);
	v = open_fake(&f);
	for (unsigned int k = 0; k < SLOTS - 1; k++)
		iova[k] = map_ok(v, slot_va(k), SLOT_SIZE, RW);
	for (int t = 0; t < 2; t++) {
		r[t] = (struct race){ .v = v, .f = &f, .seed = seed + 1 + t };
		assert_int_equal(pthread_create(&th[t], NULL, reader, &r[t]),
				 0);
	}
	/*
	 * One slot is always unmapped; each step unmaps another and maps
	 * the empty one, which gets the IOVA just freed (the size caches
	 * hand it straight back): an IOVA moves from one buffer to another
	 * at every step.
	 */
	for (int i = 0, empty = SLOTS - 1; i < 3000; i++) {
		unsigned int k = (unsigned int)(prng_next(&rng) % SLOTS);

		if ((int)k == empty)
			continue;
		assert_int_equal(iova_vfio_unmap(v, iova[k], SLOT_SIZE), 0);
		iova[empty] = map_ok(v, slot_va((unsigned int)empty), SLOT_SIZE,
				     RW);
		empty = (int)k;
	}
	for (int t = 0; t < 2; t++)
		__atomic_store_n(&r[t].stop, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < 2; t++) {
		pthread_join(th[t], NULL);
		hits += r[t].hits;
		bad += r[t].bad;
	}
	printf("# %lu translations checked, %lu wrong\n", hits, bad);
	assert_int_equal(bad, 0);
	assert_true(hits > 0);
	/* all but the empty slot translate */
	for (unsigned int k = 0, mapped = 0; k < SLOTS; k++) {
		uint64_t got;

		if (!iova_vfio_translate(v, VA(slot_va(k)), 1, &got)) {
			assert_translates(v, slot_va(k), iova[k], SLOT_SIZE);
			mapped++;
		}
		if (k == SLOTS - 1)
			assert_int_equal(mapped, SLOTS - 1);
	}
	iova_vfio_close(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_translate_both_ways),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_overlap_and_alias),
		cmocka_unit_test(test_closed_container),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_racing_unmaps),
		cmocka_unit_test(test_readers_never_see_reused_iovas),
	};

	return cmocka_run_group_tests_name("iova_vfio_xlate", tests, NULL,
					   NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A space's size caches without the domain lock (issue 20, item 3): a
 * cached allocation stays ALLOCATED in the tree and is recorded in the
 * cached set.  Checked: every reader treats a cached range as free
 * (lookup, iteration, stats, the free's error codes, alloc_at); double
 * frees are caught whether the allocation came from the tree or from a
 * cache; depot trims; the set's growth failing (its blocks are nodes of
 * the space's allocator) loses nothing; and with threads: two frees of
 * one IOVA at once (exactly one succeeds), a double free racing the
 * flush that releases the IOVA (refused; the range free once after),
 * frees and allocations racing flushes (nothing handed out twice, every
 * owned free succeeds, a fresh allocation reads as allocated).
 *
 * The threaded cases are randomized: IOVA_SEED=<n> re-runs a seed
 * (printed at start); IOVA_ROUNDS scales them.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include <libiova/iova_space.h>

#include "prng.h"

#define G 4096ULL
#define TOP ((1ULL << 40) - 1)

/* One seed for the whole run, printed by each case. */
static uint64_t seed(void)
{
	return prng_run_seed("IOVA_SEED");
}

static long rounds(long dflt)
{
	long scale = (long)prng_seed_from_env("IOVA_ROUNDS", 0);

	return scale > 0 ? scale : dflt;
}

struct fx {
	struct iova_space *s;
	struct mt_allocator *cache, *fault; /* fault NULL: none */
};

static void fx_create(struct fx *f, bool faults)
{
	struct iova_space_config c = { .address_width = 40 };

	f->cache = mt_node_cache_create(NULL);
	assert_non_null(f->cache);
	f->fault = NULL;
	c.node_allocator = f->cache;
	if (faults) {
		f->fault = mt_fault_allocator_create(f->cache);
		assert_non_null(f->fault);
		c.node_allocator = f->fault;
	}
	assert_int_equal(iova_space_create(&c, &f->s), 0);
}

/* Destroy, and check that every node (tree and cached set) came back. */
static void fx_destroy(struct fx *f)
{
	struct mt_alloc_stats st;

	iova_space_destroy(f->s);
	urcu_memb_barrier();
	if (f->fault) {
		mt_allocator_stats(f->fault, &st);
		assert_int_equal(st.live, 0);
		assert_int_equal(mt_allocator_destroy(f->fault), 0);
	}
	mt_allocator_stats(f->cache, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(mt_allocator_destroy(f->cache), 0);
}

static uint64_t alloc_ok(struct iova_space *s, uint64_t size)
{
	uint64_t iova = 0;

	assert_int_equal(iova_space_alloc(s, size, 0, 0, TOP, 0, &iova), 0);
	return iova;
}

static int count_range(void *arg, const struct iova_range *r)
{
	(void)r;
	(*(unsigned long *)arg)++;
	return 0;
}

static unsigned long nr_allocations(struct iova_space *s)
{
	unsigned long n = 0;

	assert_int_equal(iova_space_for_each(s, count_range, &n), 0);
	return n;
}

static int note_hole(void *arg, const struct iova_range *r)
{
	struct iova_range *h = arg;

	if (h->last)
		h->start = 1; /* a second hole: fails below */
	else
		*h = *r;
	return 0;
}

/* The window (the 40-bit width) is one hole from the first granule up:
 * no address was lost. */
static void assert_whole_window_free(struct iova_space *s)
{
	struct iova_range h = { 0, 0 };

	assert_int_equal(iova_space_for_each_hole(s, 0, TOP, note_hole, &h),
			 0);
	assert_int_equal(h.start, G);
	assert_int_equal(h.last, TOP);
}

/* ---- one thread ------------------------------------------------------ */

/* IOVA 0 lies in the window but is never allocated (the tree holds a hole
 * there), and pfn 0 is what the cached set's free slots hold: a free of 0
 * must not find one of them.  It fails with -ENOENT whether or not its
 * stripe has a table yet, and changes nothing: every allocation is
 * still there, none comes back at 0, and all free once. */
static void test_free_of_iova_zero(void **state)
{
	enum { N = 2048 };
	uint64_t *iova = calloc(N, sizeof(*iova));
	struct fx f;

	(void)state;
	assert_non_null(iova);
	fx_create(&f, false);
	assert_int_equal(iova_space_free(f.s, 0), -ENOENT);
	/* live entries in every stripe, then half of them cached */
	for (int i = 0; i < N; i++)
		iova[i] = alloc_ok(f.s, G);
	for (int i = 0; i < N; i += 2)
		assert_int_equal(iova_space_free(f.s, iova[i]), 0);
	for (int k = 0; k < 3; k++)
		assert_int_equal(iova_space_free(f.s, 0), -ENOENT);
	assert_int_equal(nr_allocations(f.s), N / 2);
	for (int i = 0; i < N; i += 2) {
		iova[i] = alloc_ok(f.s, G);
		assert_true(iova[i] != 0);
	}
	assert_int_equal(nr_allocations(f.s), N);
	for (int i = 0; i < N; i++)
		assert_int_equal(iova_space_free(f.s, iova[i]), 0);
	assert_int_equal(iova_space_flush_cache(f.s), 0);
	assert_whole_window_free(f.s);
	fx_destroy(&f);
	free(iova);
}

/* A cached range reads as free everywhere, though the tree still holds
 * it; handed out again, it reads as allocated. */
static void test_cached_range_reads_as_free(void **state)
{
	struct iova_space_stats st;
	struct iova_range r;
	struct fx f;
	uint64_t a, b, keep;

	(void)state;
	fx_create(&f, false);
	keep = alloc_ok(f.s, 4 * G);
	a = alloc_ok(f.s, 4 * G); /* from the tree: no entry in the set */
	assert_int_equal(iova_space_free(f.s, a), 0);

	assert_int_equal(iova_space_lookup(f.s, a, &r), -ENOENT);
	assert_int_equal(iova_space_lookup(f.s, a + 3 * G, &r), -ENOENT);
	assert_int_equal(nr_allocations(f.s), 1);
	iova_space_stats(f.s, &st);
	assert_int_equal(st.allocations, 1);
	assert_int_equal(st.bytes_allocated, 4 * G);
	assert_int_equal(st.cached, 1);
	/* inside a cached range: no allocation there, not "inside one" */
	assert_int_equal(iova_space_free(f.s, a + G), -ENOENT);
	/* a double free of an allocation that came from the tree */
	assert_int_equal(iova_space_free(f.s, a), -ENOENT);

	/* handed out again from the cache: allocated to every reader */
	b = alloc_ok(f.s, 4 * G);
	assert_int_equal(b, a);
	assert_int_equal(iova_space_lookup(f.s, b + G, &r), 0);
	assert_int_equal(r.start, b);
	assert_int_equal(r.last, b + 4 * G - 1);
	assert_int_equal(nr_allocations(f.s), 2);
	assert_int_equal(iova_space_free(f.s, b + G), -EINVAL);
	/* its free goes by its live entry; the second is still caught */
	assert_int_equal(iova_space_free(f.s, b), 0);
	assert_int_equal(iova_space_free(f.s, b), -ENOENT);
	assert_int_equal(iova_space_lookup(f.s, b, &r), -ENOENT);

	/* alloc_at over the cached range: the caches give it back first */
	assert_int_equal(iova_space_alloc_at(f.s, a + G, G), 0);
	iova_space_stats(f.s, &st);
	assert_int_equal(st.cached, 0);
	assert_int_equal(st.allocations, 2);
	/* over a live allocation it is still taken */
	assert_int_equal(iova_space_alloc_at(f.s, keep, G), -EEXIST);
	assert_int_equal(iova_space_free(f.s, a + G), 0);
	assert_int_equal(iova_space_free(f.s, keep), 0);

	/* flushed: a second free finds nothing in the tree either */
	assert_int_equal(iova_space_flush_cache(f.s), 0);
	assert_int_equal(iova_space_free(f.s, keep), -ENOENT);
	iova_space_stats(f.s, &st);
	assert_int_equal(st.allocations, 0);
	assert_int_equal(st.bytes_allocated, 0);
	assert_int_equal(st.cached, 0);
	fx_destroy(&f);
}

/* More frees than the caches keep: the depots go over their bound and
 * are trimmed later, released to the tree one by one by the timer
 * service's thread.  Nothing is lost, and what is reallocated is
 * distinct. */
static void test_spill_releases(void **state)
{
	enum { N = 12000 };
	struct iova_space_stats st;
	uint64_t *iova = malloc(N * sizeof(*iova));
	struct fx f;

	(void)state;
	assert_non_null(iova);
	fx_create(&f, false);
	for (int i = 0; i < N; i++)
		iova[i] = alloc_ok(f.s, G << (i % 3));
	for (int i = 0; i < N; i++)
		assert_int_equal(iova_space_free(f.s, iova[i]), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(iova_space_free(f.s, iova[i]), -ENOENT);
	/* the trim runs 100 ms after a depot first went over its bound */
	nanosleep(&(struct timespec){ 0, 300000000 }, NULL);
	for (int i = 0; i < N; i++)
		assert_int_equal(iova_space_free(f.s, iova[i]), -ENOENT);
	iova_space_stats(f.s, &st);
	assert_int_equal(st.allocations, 0);
	assert_int_equal(nr_allocations(f.s), 0);
	for (int i = 0; i < N; i++)
		iova[i] = alloc_ok(f.s, G << (i % 3));
	assert_int_equal(nr_allocations(f.s), N);
	iova_space_stats(f.s, &st);
	assert_int_equal(st.allocations, N);
	for (int i = 0; i < N; i++)
		assert_int_equal(iova_space_free(f.s, iova[i]), 0);
	assert_int_equal(iova_space_flush_cache(f.s), 0);
	iova_space_stats(f.s, &st);
	assert_int_equal(st.allocations + st.cached, 0);
	assert_whole_window_free(f.s);
	free(iova);
	fx_destroy(&f);
}

static void faults_set(struct fx *f, enum mt_fault_mode mode, uint64_t n)
{
	struct mt_fault_config c = { .mode = mode, .n = n,
				     .flags = MT_FAULT_ONLY_NONBLOCKING };

	assert_int_equal(mt_fault_allocator_set(f->fault, &c), 0);
}

/*
 * The cached set's blocks are nodes of the space's allocator, taken
 * without blocking.  When they fail, a free does not cache: it erases
 * through the tree (or parks), returns 0, and a second free is still
 * caught.  Failures in the middle of a growth (the n-th node of a new
 * table) leave the set as it was.  The allocations are made with
 * iova_space_alloc_at, which gives them no live entry (an allocation the
 * tree hands out through iova_space_alloc gets one, growing a table for
 * it): so each free needs room in the set, under the faults.
 */
static void test_set_without_memory(void **state)
{
	enum { N = 3000 };
	struct iova_deferral_stats ds;
	struct iova_space_stats st;
	uint64_t *iova = malloc(N * sizeof(*iova));
	struct iova_range r;
	struct fx f;

	(void)state;
	assert_non_null(iova);
	for (uint64_t nth = 1; nth <= 6; nth++) {
		fx_create(&f, true);
		for (int i = 0; i < N; i++) {
			iova[i] = TOP + 1 - (uint64_t)(i + 1) * G;
			assert_int_equal(iova_space_alloc_at(f.s, iova[i], G),
					 0);
		}
		/* the first table of some stripe fails, or a node of a
		 * growth; then every nonblocking node */
		faults_set(&f, nth < 6 ? MT_FAULT_EVERY_KTH : MT_FAULT_ALWAYS,
			   nth);
		for (int i = 0; i < N; i++)
			assert_int_equal(iova_space_free(f.s, iova[i]), 0);
		for (int i = 0; i < N; i++) {
			assert_int_equal(iova_space_free(f.s, iova[i]), -ENOENT);
			assert_int_equal(iova_space_lookup(f.s, iova[i], &r),
					 -ENOENT);
		}
		iova_space_stats(f.s, &st);
		assert_int_equal(st.allocations, 0);
		if (nth == 6)
			assert_int_equal(st.cached, 0);
		faults_set(&f, MT_FAULT_NONE, 0);
		assert_int_equal(iova_space_flush_deferred(f.s, NULL), 0);
		assert_int_equal(iova_space_flush_cache(f.s), 0);
		iova_space_deferral_stats(f.s, &ds);
		assert_int_equal(ds.parked_now, 0);
		/* nothing lost: one hole, the whole window but IOVA 0 */
		assert_int_equal(nr_allocations(f.s), 0);
		assert_whole_window_free(f.s);
		/* all of it free again, each granule once */
		for (int i = 0; i < N; i++)
			iova[i] = alloc_ok(f.s, G);
		assert_int_equal(nr_allocations(f.s), N);
		for (int i = 0; i < N; i++)
			assert_int_equal(iova_space_free(f.s, iova[i]), 0);
		fx_destroy(&f);
	}
	free(iova);
}

/* ---- threads --------------------------------------------------------- */

struct race {
	struct iova_space *s;
	pthread_barrier_t go;
	uint64_t target; /* set before the barrier the freers wait at */
	int ret[2];
	bool flush_second; /* the second freer flushes instead */
	long rounds;
	atomic_int stop;
	atomic_long errors;
	uint64_t seed;
};

struct freer_arg {
	struct race *r;
	int id;
};

static void *free_target(void *p)
{
	struct freer_arg *a = p;
	struct race *r = a->r;

	for (long i = 0; i < r->rounds; i++) {
		pthread_barrier_wait(&r->go);
		if (a->id == 1 && r->flush_second)
			r->ret[1] = iova_space_flush_cache(r->s);
		else
			r->ret[a->id] = iova_space_free(r->s, r->target);
		pthread_barrier_wait(&r->go);
	}
	return NULL;
}

/* Start the two freers on @s for rounds(3000) rounds; the second
 * flushes instead of freeing if @flush_second. */
static void race_start(struct race *r, struct freer_arg a[2], pthread_t t[2],
		       struct iova_space *s, bool flush_second)
{
	r->s = s;
	r->flush_second = flush_second;
	r->rounds = rounds(3000);
	pthread_barrier_init(&r->go, NULL, 3);
	for (int i = 0; i < 2; i++) {
		a[i] = (struct freer_arg){ r, i };
		assert_int_equal(pthread_create(&t[i], NULL, free_target, &a[i]),
				 0);
	}
}

/* One round: the freers act on r->target, and are done on return. */
static void race_round(struct race *r)
{
	pthread_barrier_wait(&r->go);
	pthread_barrier_wait(&r->go);
}

static void race_end(struct race *r, pthread_t t[2])
{
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&r->go);
}

/* Two threads free the same IOVA at once: exactly one succeeds, the other
 * gets -ENOENT, whether the IOVA's free goes by the tree (no entry), a
 * live entry, or meets the set without room. */
static void test_two_frees_at_once(void **state)
{
	struct race r = { 0 };
	struct freer_arg a[2];
	struct prng rng = { seed() };
	pthread_t t[2];
	struct fx f;

	(void)state;
	printf("# IOVA_SEED=%" PRIu64 "\n", seed());
	fx_create(&f, false);
	race_start(&r, a, t, f.s, false);
	for (long i = 0; i < r.rounds; i++) {
		uint64_t size = G << prng_below(&rng, 4);

		if (prng_below(&rng, 8) == 0)
			iova_space_flush_cache(f.s); /* next one from the tree */
		r.target = alloc_ok(f.s, size);
		race_round(&r);
		assert_true((r.ret[0] == 0 && r.ret[1] == -ENOENT) ||
			    (r.ret[1] == 0 && r.ret[0] == -ENOENT));
	}
	race_end(&r, t);
	assert_int_equal(iova_space_flush_cache(f.s), 0);
	assert_int_equal(nr_allocations(f.s), 0);
	assert_whole_window_free(f.s);
	fx_destroy(&f);
}

#define OWNED 48

/* Each thread owns up to OWNED IOVAs: every free of one must succeed, and
 * every allocation must not overlap another owned by anyone (checked at
 * the end, and through the frees: an IOVA handed out twice is freed by
 * one owner first and the other's free then fails). */
struct churn_arg {
	struct race *r;
	int id;
	uint64_t iova[OWNED], size[OWNED];
};

/* cmocka's asserts are not for other threads: count, say, and let the
 * main thread fail. */
static void report(struct race *r, const char *what, uint64_t iova,
		   uint64_t size, int ret)
{
	fprintf(stderr, "# %s %#" PRIx64 " (%#" PRIx64 " B): %d\n", what, iova,
		size, ret);
	atomic_fetch_add(&r->errors, 1);
}

static void *churn(void *p)
{
	struct churn_arg *a = p;
	struct race *r = a->r;
	struct prng rng = { r->seed + (uint64_t)a->id };
	struct iova_range got;

	for (int i = 0; i < OWNED; i++) {
		a->size[i] = G << prng_below(&rng, 3);
		if (iova_space_alloc(r->s, a->size[i], 0, 0, TOP, 0,
				     &a->iova[i]))
			report(r, "alloc", 0, a->size[i], 0);
	}
	for (long n = 0; n < r->rounds; n++) {
		int i = (int)prng_below(&rng, OWNED);

		int fr = iova_space_free(r->s, a->iova[i]);

		if (fr != 0)
			report(r, "free", a->iova[i], a->size[i], fr);
		a->size[i] = G << prng_below(&rng, 3);
		if (iova_space_alloc(r->s, a->size[i], 0, 0, TOP, 0,
				     &a->iova[i]))
			report(r, "alloc", 0, a->size[i], 0);
		if (iova_space_lookup(r->s, a->iova[i], &got) != 0 ||
		    got.start != a->iova[i] ||
		    got.last != a->iova[i] + a->size[i] - 1)
			report(r, "lookup", a->iova[i], a->size[i], 0);
	}
	return NULL;
}

static void *flusher(void *p)
{
	struct race *r = p;

	while (!atomic_load(&r->stop)) {
		iova_space_flush_cache(r->s);
		sched_yield();
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Two threads allocate and free while a third flushes the caches over
 * and over (each flush releases every cached IOVA: erase, then out of
 * the set, racing the frees that add and the allocations that take). */
static void test_churn_against_flushes(void **state)
{
	struct race r = { 0 };
	struct churn_arg a[2] = { { .r = &r, .id = 0 }, { .r = &r, .id = 1 } };
	struct iova_space_stats st;
	uint64_t all[2 * OWNED];
	pthread_t t[2], fl;
	struct fx f;

	(void)state;
	printf("# IOVA_SEED=%" PRIu64 "\n", seed());
	fx_create(&f, false);
	r.s = f.s;
	r.seed = seed();
	r.rounds = rounds(3000) * 20;
	assert_int_equal(pthread_create(&fl, NULL, flusher, &r), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn, &a[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	atomic_store(&r.stop, 1);
	pthread_join(fl, NULL);
	assert_int_equal(atomic_load(&r.errors), 0);

	/* the owned IOVAs are disjoint, and exactly what is allocated */
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < OWNED; i++)
			all[k * OWNED + i] = a[k].iova[i];
	qsort(all, 2 * OWNED, sizeof(all[0]), cmp_u64);
	for (int i = 1; i < 2 * OWNED; i++) {
		struct iova_range prev;

		assert_int_equal(iova_space_lookup(f.s, all[i - 1], &prev), 0);
		assert_true(prev.last < all[i]);
	}
	assert_int_equal(nr_allocations(f.s), 2 * OWNED);
	iova_space_stats(f.s, &st);
	assert_int_equal(st.allocations, 2 * OWNED);
	for (int k = 0; k < 2; k++)
		for (int i = 0; i < OWNED; i++)
			assert_int_equal(iova_space_free(f.s, a[k].iova[i]), 0);
	assert_int_equal(iova_space_flush_cache(f.s), 0);
	iova_space_stats(f.s, &st);
	assert_int_equal(st.allocations + st.cached, 0);
	assert_whole_window_free(f.s);
	fx_destroy(&f);
}

/* A second free of a cached IOVA while another thread flushes the caches
 * (the flush releases it: erase, then out of the set, under the stripe
 * lock): the free is refused whichever comes first, and afterwards the
 * range is free in the tree, exactly once. */
static void test_double_free_against_flush(void **state)
{
	struct race r = { 0 };
	struct freer_arg a[2];
	struct prng rng = { seed() };
	struct iova_range got;
	pthread_t t[2];
	struct fx f;

	(void)state;
	printf("# IOVA_SEED=%" PRIu64 "\n", seed());
	fx_create(&f, false);
	race_start(&r, a, t, f.s, true);
	for (long i = 0; i < r.rounds; i++) {
		uint64_t size = G << prng_below(&rng, 4);

		r.target = alloc_ok(f.s, size);
		assert_int_equal(iova_space_free(f.s, r.target), 0);
		race_round(&r);
		assert_int_equal(r.ret[0], -ENOENT);
		assert_int_equal(r.ret[1], 0);
		assert_int_equal(iova_space_lookup(f.s, r.target, &got),
				 -ENOENT);
		/* released: taken exactly once, then given back */
		assert_int_equal(iova_space_alloc_at(f.s, r.target, size), 0);
		assert_int_equal(iova_space_alloc_at(f.s, r.target, size),
				 -EEXIST);
		assert_int_equal(iova_space_free(f.s, r.target), 0);
		assert_int_equal(iova_space_flush_cache(f.s), 0);
	}
	race_end(&r, t);
	assert_int_equal(nr_allocations(f.s), 0);
	assert_whole_window_free(f.s);
	fx_destroy(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_of_iova_zero),
		cmocka_unit_test(test_cached_range_reads_as_free),
		cmocka_unit_test(test_spill_releases),
		cmocka_unit_test(test_set_without_memory),
		cmocka_unit_test(test_two_frees_at_once),
		cmocka_unit_test(test_double_free_against_flush),
		cmocka_unit_test(test_churn_against_flushes),
	};

	return cmocka_run_group_tests_name("iova_space_cache", tests, NULL,
					   NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Many threads allocating and freeing in one domain (kernel API, through
 * the size caches) and in one space (userspace API), each checking that
 * what it holds stays its own (find_iova / lookup return exactly its
 * range), with reader threads looking up addresses all the while.  At the
 * end every IOVA must be back in the tree: the domain's tree empty, the
 * space without allocations and its holes the whole windows again.
 *
 * IOVA_STRESS_SECONDS sets the run time per case (default 1); IOVA_SEED
 * re-runs a seed (printed).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include <libiova/iova.h>
#include <libiova/iova_space.h>

#include "prng.h"

#define WRITERS 4
#define WORKING_SET 64

static volatile bool stop;
static uint64_t base_seed;

struct worker {
	pthread_t thread;
	uint64_t seed;
	struct iova_domain *iovad;
	struct iova_space *space;
	unsigned long ops;
	int failures;
};

/* Nothing stored up to the ceiling: above it lies only the domain's own
 * marker for the space no limit has reached. */
static bool tree_empty_below_ceiling(struct iova_domain *iovad)
{
	unsigned long index = 0;
	void *entry;

	mt_for_each(&iovad->tree, entry, index, iovad->ceiling_pfn)
		return false;
	return true;
}

static void *kernel_worker(void *arg)
{
	struct worker *w = arg;
	struct prng rng = { w->seed };
	unsigned long pfn[WORKING_SET] = { 0 }, size[WORKING_SET] = { 0 };
	unsigned long lim32 = w->iovad->dma_32bit_pfn - 1;

	while (!stop) {
		unsigned int i = (unsigned int)prng_below(&rng, WORKING_SET);

		if (pfn[i]) {
			struct iova *x = find_iova(w->iovad, pfn[i]);

			if (!x || x->pfn_lo != pfn[i] ||
			    iova_size(x) < size[i])
				w->failures++;
			free_iova_fast(w->iovad, pfn[i], size[i]);
			pfn[i] = 0;
		} else {
			size[i] = 1 + prng_below(&rng, 32);
			pfn[i] = alloc_iova_fast(w->iovad, size[i],
						 prng_below(&rng, 2) ? lim32
						 : (1UL << 36) - 1, true);
			if (!pfn[i])
				w->failures++;
		}
		w->ops++;
	}
	for (unsigned int i = 0; i < WORKING_SET; i++)
		if (pfn[i])
			free_iova_fast(w->iovad, pfn[i], size[i]);
	return NULL;
}

static void *space_worker(void *arg)
{
	struct worker *w = arg;
	struct prng rng = { w->seed };
	uint64_t iova[WORKING_SET] = { 0 }, size[WORKING_SET] = { 0 };

	while (!stop) {
		unsigned int i = (unsigned int)prng_below(&rng, WORKING_SET);
		struct iova_range r;

		if (iova[i]) {
			if (iova_space_lookup(w->space, iova[i] + size[i] - 1,
					      &r) ||
			    r.start != iova[i] || r.last != iova[i] + size[i] - 1)
				w->failures++;
			/* (no double free here: another thread may own the
			 * address again by then) */
			if (iova_space_free(w->space, iova[i]))
				w->failures++;
			iova[i] = 0;
		} else {
			size[i] = 4096 * (1 + prng_below(&rng, 32));
			if (iova_space_alloc(w->space, size[i],
					     4096ULL << prng_below(&rng, 4), 0,
					     prng_below(&rng, 2) ? 0xffffffffULL
								 : UINT64_MAX,
					     0, &iova[i]))
				w->failures++;
		}
		w->ops++;
	}
	for (unsigned int i = 0; i < WORKING_SET; i++)
		if (iova[i] && iova_space_free(w->space, iova[i]))
			w->failures++;
	return NULL;
}

/* Readers: lookups must return a range that contains the address. */
static void *space_reader(void *arg)
{
	struct worker *w = arg;
	struct prng rng = { w->seed };

	while (!stop) {
		uint64_t addr = prng_below(&rng, 1ULL << 32);
		struct iova_range r;

		if (!iova_space_lookup(w->space, addr, &r) &&
		    (r.start > addr || r.last < addr))
			w->failures++;
		w->ops++;
	}
	return NULL;
}

static void run(struct worker *w, unsigned int n, void *(*fn)(void *))
{
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(pthread_create(&w[i].thread, NULL, fn, &w[i]),
				 0);
}

static void run_for_a_while(struct worker *w, unsigned int n)
{
	struct timespec t = {
		.tv_sec = (time_t)prng_seed_from_env("IOVA_STRESS_SECONDS", 1),
	};

	nanosleep(&t, NULL);
	stop = true;
	for (unsigned int i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		assert_int_equal(w[i].failures, 0);
		assert_true(w[i].ops > 0);
	}
	stop = false;
}

static void test_kernel_api_threads(void **state)
{
	struct iova_domain iovad;
	struct worker w[WRITERS];

	(void)state;
	assert_int_equal(init_iova_domain(&iovad, 4096, 1), 0);
	assert_int_equal(iova_domain_init_rcaches(&iovad), 0);
	for (unsigned int i = 0; i < WRITERS; i++)
		w[i] = (struct worker){ .seed = base_seed + i, .iovad = &iovad };
	run(w, WRITERS, kernel_worker);
	run_for_a_while(w, WRITERS);
	/* everything freed: a failing request flushes the caches, and the
	 * tree must then hold nothing below the domain's ceiling marker */
	assert_int_equal(alloc_iova_fast(&iovad, 1UL << 40, 1UL << 20, true),
			 0);
	assert_true(tree_empty_below_ceiling(&iovad));
	assert_int_equal(mt_validate(&iovad.tree), 0);
	put_iova_domain(&iovad);
}

static int count(void *arg, const struct iova_range *r)
{
	(void)r;
	++*(unsigned long *)arg;
	return 0;
}

static void test_space_threads(void **state)
{
	struct iova_range win[] = { { 0, 0xfedfffffULL },
				    { 0xfef00000ULL, (1ULL << 40) - 1 } };
	struct iova_space_config c = { .windows = win, .nr_windows = 2 };
	struct worker w[WRITERS + 1];
	struct iova_space_stats st;
	struct iova_space *s;
	unsigned long n = 0;
	struct iova_range r;
	uint64_t largest;

	(void)state;
	assert_int_equal(iova_space_create(&c, &s), 0);
	for (unsigned int i = 0; i <= WRITERS; i++)
		w[i] = (struct worker){ .seed = base_seed + 100 + i,
					.space = s };
	run(w, WRITERS, space_worker);
	run(w + WRITERS, 1, space_reader);
	run_for_a_while(w, WRITERS + 1);
	assert_int_equal(iova_space_flush_cache(s), 0);
	assert_int_equal(iova_space_stats(s, &st), 0);
	assert_int_equal(st.allocations, 0);
	assert_int_equal(st.bytes_allocated, 0);
	assert_int_equal(st.cached, 0);
	assert_int_equal(iova_space_for_each(s, count, &n), 0);
	assert_int_equal(n, 0);
	/* the windows are whole again (IOVA 0 never handed out) */
	assert_int_equal(iova_space_window(s, 0, &r, &largest), 0);
	assert_int_equal(largest, 0xfedfffffULL + 1 - 4096);
	assert_int_equal(iova_space_window(s, 1, &r, &largest), 0);
	assert_int_equal(largest, (1ULL << 40) - 0xfef00000ULL);
	iova_space_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_api_threads),
		cmocka_unit_test(test_space_threads),
	};

	base_seed = prng_seed_from_env("IOVA_SEED", (uint64_t)time(NULL));
	printf("# IOVA_SEED=%" PRIu64 "\n", base_seed);
	return cmocka_run_group_tests_name("iova_threads", tests, NULL, NULL);
}

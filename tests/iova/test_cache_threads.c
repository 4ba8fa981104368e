/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The size caches are per thread: what happens to a thread's cached IOVAs
 * when the thread exits, when another thread flushes, and when the domain
 * goes away while the thread lives on; and, under load, that no IOVA is
 * ever handed to two holders while flushes take magazines from threads in
 * the middle of their calls.
 *
 * IOVA_SEED re-runs the randomized case with the seed it printed.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <libiova/iova.h>
#include <libiova/iova_space.h>

#include "prng.h"

#define GRANULE 4096ull
#define BATCH 10

static struct iova_space *new_space(void)
{
	struct iova_range win = { 0, (1ull << 32) - 1 };
	struct iova_space_config c = { .windows = &win, .nr_windows = 1 };
	struct iova_space *s;

	assert_int_equal(iova_space_create(&c, &s), 0);
	return s;
}

static struct iova_space_stats stats(struct iova_space *s)
{
	struct iova_space_stats st;

	assert_int_equal(iova_space_stats(s, &st), 0);
	return st;
}

/* A thread that allocates BATCH granules and frees them into its cache,
 * then (if asked) waits until told to go on and does it once more. */
struct holder {
	pthread_t thread;
	struct iova_space *space;
	uint64_t iova[BATCH];
	bool wait;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stage; /* 1: cached, waiting; 2: go on; 3: done */
	struct iova_space *next_space; /* for stage 2, if set */
	int errors;
	uint64_t again;
};

static void set_stage(struct holder *h, int stage)
{
	pthread_mutex_lock(&h->lock);
	h->stage = stage;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static void wait_stage(struct holder *h, int stage)
{
	pthread_mutex_lock(&h->lock);
	while (h->stage < stage)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

static void *holder_main(void *arg)
{
	struct holder *h = arg;
	struct iova_space *s;

	for (int i = 0; i < BATCH; i++)
		h->errors += iova_space_alloc(h->space, GRANULE, 0, 0,
					      UINT64_MAX, 0, &h->iova[i]) != 0;
	for (int i = 0; i < BATCH; i++)
		h->errors += iova_space_free(h->space, h->iova[i]) != 0;
	if (!h->wait)
		return NULL;
	set_stage(h, 1);
	wait_stage(h, 2);
	s = h->next_space ? h->next_space : h->space;
	/* a fresh set of magazines if a flush took the old one */
	h->errors += iova_space_alloc(s, GRANULE, 0, 0, UINT64_MAX, 0,
				      &h->again) != 0;
	h->errors += iova_space_free(s, h->again) != 0;
	h->errors += iova_space_alloc(s, GRANULE, 0, 0, UINT64_MAX, 0,
				      &h->again) != 0;
	set_stage(h, 3);
	return NULL;
}

static void holder_start(struct holder *h, struct iova_space *s, bool wait)
{
	memset(h, 0, sizeof(*h));
	h->space = s;
	h->wait = wait;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	assert_int_equal(pthread_create(&h->thread, NULL, holder_main, h), 0);
	if (wait)
		wait_stage(h, 1);
}

static void holder_join(struct holder *h)
{
	assert_int_equal(pthread_join(h->thread, NULL), 0);
	assert_int_equal(h->errors, 0);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* A thread's cached IOVAs outlive it: they go to the depot, and another
 * thread's allocations take exactly those. */
static void test_exit_leaves_cache_to_depot(void **state)
{
	struct iova_space *s = new_space();
	struct holder h;
	uint64_t got[BATCH];
	struct iova_space_stats st;

	(void)state;
	holder_start(&h, s, false);
	holder_join(&h);
	st = stats(s);
	assert_int_equal(st.cached, BATCH);
	assert_int_equal(st.allocations, 0);
	assert_int_equal(st.cache_misses, BATCH);
	for (int i = 0; i < BATCH; i++)
		assert_int_equal(iova_space_alloc(s, GRANULE, 0, 0, UINT64_MAX,
						  0, &got[i]),
				 0);
	st = stats(s);
	assert_int_equal(st.cache_hits, BATCH);
	assert_int_equal(st.cached, 0);
	qsort(got, BATCH, sizeof(got[0]), cmp_u64);
	qsort(h.iova, BATCH, sizeof(h.iova[0]), cmp_u64);
	assert_memory_equal(got, h.iova, sizeof(got));
	for (int i = 0; i < BATCH; i++)
		assert_int_equal(iova_space_free(s, got[i]), 0);
	iova_space_destroy(s);
}

/* A flush takes the magazines of a thread that is alive and idle: after
 * it, nothing is cached anywhere, and that thread's next calls work from
 * a fresh set. */
static void test_flush_reaches_live_thread(void **state)
{
	struct iova_space *s = new_space();
	struct iova_space_stats st;
	struct holder h;
	uint64_t iova;

	(void)state;
	holder_start(&h, s, true);
	assert_int_equal(stats(s).cached, BATCH);
	assert_int_equal(iova_space_flush_cache(s), 0);
	st = stats(s);
	assert_int_equal(st.cached, 0);
	assert_int_equal(st.allocations, 0);
	/* nothing cached is left for this thread to hit */
	assert_int_equal(iova_space_alloc(s, GRANULE, 0, 0, UINT64_MAX, 0,
					  &iova),
			 0);
	assert_int_equal(stats(s).cache_hits, 0);
	set_stage(&h, 2);
	holder_join(&h);
	st = stats(s);
	/* the holder: a miss, then a hit on what it had just freed */
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.allocations, 2);
	assert_true(h.again != iova);
	assert_int_equal(iova_space_free(s, iova), 0);
	assert_int_equal(iova_space_free(s, h.again), 0);
	iova_space_destroy(s);
}

/* A space destroyed while a thread that cached in it lives on: the
 * thread's later calls on another space, and its exit, must not touch
 * what was freed (the sanitizer builds check that). */
static void test_destroy_with_live_thread(void **state)
{
	struct iova_space *s = new_space(), *s2;
	struct iova_space_stats st;
	struct holder h;

	(void)state;
	holder_start(&h, s, true);
	iova_space_destroy(s);
	s2 = new_space(); /* may well sit where s was */
	h.next_space = s2;
	set_stage(&h, 2);
	holder_join(&h);
	st = stats(s2);
	assert_int_equal(st.cache_misses, 1);
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.allocations, 1);
	assert_int_equal(iova_space_free(s2, h.again), 0);
	iova_space_destroy(s2);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* The depot's documented shape (docs/iova.md, "Size caches"). */
#define MAG_PFNS 125
#define DEPOT_KEEP 32

/* Frees beyond what the depot keeps are not given back by the freeing
 * thread: the depot holds them for a while, and the timer service then
 * gives the excess back to the tree. */
static void test_depot_trimmed_later(void **state)
{
	const unsigned long n = (DEPOT_KEEP + 8) * MAG_PFNS + 2 * MAG_PFNS;
	uint64_t *iova = calloc(n, sizeof(*iova));
	struct iova_space *s = new_space();
	struct iova_space_stats st;
	struct timespec nap = { 0, 10000000 };
	uint64_t overfull_ns = 0;

	(void)state;
	assert_non_null(iova);
	for (unsigned long i = 0; i < n; i++)
		assert_int_equal(iova_space_alloc(s, GRANULE, 0, 0, UINT64_MAX,
						  0, &iova[i]),
				 0);
	for (unsigned long i = 0; i < n; i++) {
		if (i == (DEPOT_KEEP + 2) * MAG_PFNS)
			overfull_ns = now_ns(); /* the trim is armed from here */
		assert_int_equal(iova_space_free(s, iova[i]), 0);
	}
	/* everything still cached (2 magazines here, 40 in the depot), if
	 * the trim delay (100 ms) has not passed yet on a slow machine */
	if (now_ns() - overfull_ns < 90000000ull)
		assert_int_equal(stats(s).cached, n);
	else
		printf("# frees took over 90 ms: not checking they all stayed\n");
	for (int i = 0; i < 200 && stats(s).cached > (DEPOT_KEEP + 2) * MAG_PFNS;
	     i++)
		nanosleep(&nap, NULL);
	st = stats(s);
	assert_int_equal(st.cached, (DEPOT_KEEP + 2) * MAG_PFNS);
	assert_int_equal(st.allocations, 0);
	/* what the trim gave back is free in the tree again: a flush then
	 * leaves the whole window one hole */
	assert_int_equal(iova_space_flush_cache(s), 0);
	{
		struct iova_range r;
		uint64_t largest;

		assert_int_equal(iova_space_window(s, 0, &r, &largest), 0);
		assert_int_equal(largest, (1ull << 32) - GRANULE);
	}
	iova_space_destroy(s);
	free(iova);
}

/* ---- under load ------------------------------------------------------ */

#define LOAD_THREADS 3
#define LOAD_LIVE 48
#define LOAD_PFNS (1ul << 14) /* the domain's whole space, in pfns */

static _Atomic unsigned char claimed[LOAD_PFNS];
static atomic_bool load_stop;
static uint64_t load_seed;

struct loader {
	pthread_t thread;
	struct iova_domain *iovad;
	uint64_t seed;
	unsigned long ops;
	int errors;
};

/* Take @size pfns at @pfn for this holder: none may be held already. */
static bool claim(unsigned long pfn, unsigned long size, bool take)
{
	bool ok = true;

	for (unsigned long i = 0; i < size; i++) {
		unsigned char want = take ? 0 : 1;

		if (pfn + i >= LOAD_PFNS ||
		    !atomic_compare_exchange_strong(&claimed[pfn + i], &want,
						    take ? 1 : 0))
			ok = false;
	}
	return ok;
}

static void *loader_main(void *arg)
{
	struct loader *l = arg;
	struct prng rng = { l->seed };
	unsigned long pfn[LOAD_LIVE] = { 0 }, size[LOAD_LIVE] = { 0 };

	while (!atomic_load(&load_stop)) {
		unsigned int i = (unsigned int)prng_below(&rng, LOAD_LIVE);

		if (pfn[i]) {
			l->errors += !claim(pfn[i], size[i], false);
			free_iova_fast(l->iovad, pfn[i], size[i]);
			pfn[i] = 0;
		} else {
			size[i] = 1ul << prng_below(&rng, 4);
			pfn[i] = alloc_iova_fast(l->iovad, size[i],
						 LOAD_PFNS - 1, true);
			if (pfn[i])
				l->errors += !claim(pfn[i], size[i], true);
		}
		l->ops++;
	}
	for (unsigned int i = 0; i < LOAD_LIVE; i++)
		if (pfn[i]) {
			l->errors += !claim(pfn[i], size[i], false);
			free_iova_fast(l->iovad, pfn[i], size[i]);
		}
	return NULL;
}

/* Threads allocate and free through their caches in a small domain while
 * another thread flushes again and again: every IOVA handed out is held
 * by one holder only, and at the end everything is back in the tree. */
static void test_flush_under_load(void **state)
{
	struct loader l[LOAD_THREADS];
	struct iova_domain iovad;
	uint64_t end_ns;
	unsigned long flushes = 0;
	struct iova *probe;

	(void)state;
	load_seed = prng_seed_from_env("IOVA_SEED", (uint64_t)time(NULL));
	printf("# seed %" PRIu64 " (IOVA_SEED re-runs it)\n", load_seed);
	memset(claimed, 0, sizeof(claimed));
	atomic_store(&load_stop, false);
	assert_int_equal(init_iova_domain(&iovad, 4096, 1), 0);
	assert_int_equal(iova_domain_init_rcaches(&iovad), 0);
	for (unsigned int i = 0; i < LOAD_THREADS; i++) {
		l[i] = (struct loader){ .iovad = &iovad,
					.seed = load_seed + i };
		assert_int_equal(pthread_create(&l[i].thread, NULL,
						loader_main, &l[i]),
				 0);
	}
	end_ns = now_ns() + 500000000ull;
	do {
		assert_int_equal(iova_domain_flush_rcaches(&iovad), 0);
		flushes++;
	} while (now_ns() < end_ns);
	atomic_store(&load_stop, true);
	for (unsigned int i = 0; i < LOAD_THREADS; i++) {
		assert_int_equal(pthread_join(l[i].thread, NULL), 0);
		assert_int_equal(l[i].errors, 0);
		assert_true(l[i].ops > 0);
	}
	assert_true(flushes > 0);
	/* all freed: after a flush the whole space is one free range again */
	assert_int_equal(iova_domain_flush_rcaches(&iovad), 0);
	probe = alloc_iova(&iovad, LOAD_PFNS - 1, LOAD_PFNS - 1, false);
	assert_non_null(probe);
	assert_int_equal(probe->pfn_lo, 1);
	__free_iova(&iovad, probe);
	put_iova_domain(&iovad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_leaves_cache_to_depot),
		cmocka_unit_test(test_flush_reaches_live_thread),
		cmocka_unit_test(test_destroy_with_live_thread),
		cmocka_unit_test(test_depot_trimmed_later),
		cmocka_unit_test(test_flush_under_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

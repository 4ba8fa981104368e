/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_deferral_fx.h - what the deferred-erase tests share: node
 * allocation that fails on command (a fault allocator whose decision the
 * test sets: nothing, non-blocking requests only, everything, or a seeded
 * 30%), the cmocka setup and teardown that check every node came back,
 * and small helpers (a domain with a policy, its counters, parking one
 * range, waiting for a condition on the counters).
 */
#ifndef LIBIOVA_TEST_DEFERRAL_FX_H
#define LIBIOVA_TEST_DEFERRAL_FX_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include <libiova/iova.h>

#include "prng.h"

#define MS 1000000ull
#define LIMIT ((1ul << 20) - 1)

/* ---- failing on command ------------------------------------------------ */

enum fail_mode { FAIL_NONE, FAIL_NONBLOCKING, FAIL_ALL, FAIL_RANDOM };

static enum fail_mode fail_mode __attribute__((unused));
static uint64_t fail_seed __attribute__((unused));

static inline void set_fail(enum fail_mode m)
{
	__atomic_store_n(&fail_mode, m, __ATOMIC_SEQ_CST);
}

static inline int decide(void *arg, uint64_t request, gfp_t gfp)
{
	enum fail_mode m = __atomic_load_n(&fail_mode, __ATOMIC_SEQ_CST);
	struct prng p = { fail_seed ^ (request * 0x9e3779b97f4a7c15ull) };

	(void)arg;
	switch (m) {
	case FAIL_NONBLOCKING:
		return !(gfp & __GFP_DIRECT_RECLAIM);
	case FAIL_ALL:
		return 1;
	case FAIL_RANDOM:
		return prng_below(&p, 100) < 30;
	default:
		return 0;
	}
}

struct fx {
	struct mt_allocator *cache, *fault;
};

static struct fx fx __attribute__((unused));

static inline int setup(void **state)
{
	struct mt_fault_config cfg = { .mode = MT_FAULT_CALLBACK,
				       .decide = decide };

	fx.cache = mt_node_cache_create(NULL);
	fx.fault = mt_fault_allocator_create(fx.cache);
	assert_non_null(fx.fault);
	assert_int_equal(mt_fault_allocator_set(fx.fault, &cfg), 0);
	set_fail(FAIL_NONE);
	*state = &fx;
	return 0;
}

/* Every node came back (after the pending RCU frees ran). */
static inline int teardown(void **state)
{
	struct mt_alloc_stats st;

	(void)state;
	set_fail(FAIL_NONE);
	urcu_memb_barrier();
	mt_allocator_stats(fx.cache, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(mt_allocator_destroy(fx.fault), 0);
	assert_int_equal(mt_allocator_destroy(fx.cache), 0);
	return 0;
}

static inline void domain_init(struct iova_domain *iovad,
			       uint64_t first_ns, uint64_t max_ns,
			       struct iova_backoff *policy)
{
	struct iova_backoff p = { 0 };

	if (!policy)
		policy = &p;
	policy->first_delay_ns = first_ns;
	policy->max_delay_ns = max_ns;
	assert_int_equal(init_iova_domain(iovad, 4096, 1), 0);
	assert_int_equal(mt_set_allocator(&iovad->tree, fx.fault), 0);
	assert_int_equal(iova_domain_set_backoff(iovad, policy), 0);
}

static inline struct iova_deferral_stats stats_of(struct iova_domain *iovad)
{
	struct iova_deferral_stats st;

	assert_int_equal(iova_domain_deferral_stats(iovad, &st), 0);
	return st;
}

/*
 * Allocate @n size-1 IOVAs from @limit down and park the lowest: its
 * erase merges with the free space below, which needs a node.  Returns
 * the parked pfn.
 */
static inline unsigned long park_lowest(struct iova_domain *iovad,
					unsigned int n, unsigned long limit)
{
	unsigned long pfn = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct iova *iova = alloc_iova(iovad, 1, limit, true);

		assert_non_null(iova);
		pfn = iova->pfn_lo;
	}
	set_fail(FAIL_ALL);
	free_iova(iovad, pfn);
	return pfn;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull),
			       (long)(ns % 1000000000ull) };

	nanosleep(&ts, NULL);
}

/* Wait (polling the stats every ms) until @cond holds, at most @max_ns. */
#define WAIT_FOR(iovad, cond, max_ns)                                        \
	do {                                                                  \
		uint64_t until_ = now_ns() + (max_ns);                        \
		struct iova_deferral_stats st;                                \
		for (;;) {                                                    \
			st = stats_of(iovad);                                 \
			if ((cond) || now_ns() > until_)                      \
				break;                                        \
			sleep_ns(MS);                                         \
		}                                                             \
		assert_true(cond);                                            \
	} while (0)


#endif /* LIBIOVA_TEST_DEFERRAL_FX_H */

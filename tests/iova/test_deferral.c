/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The deferred erase: frees that find no tree node are parked, never
 * lost, and drained by the next calls, by the timer worker on its backoff
 * policy, by a flush and at teardown.  Node allocation fails on command
 * through a fault allocator whose decision the test controls.
 *
 * IOVA_SEED replays the randomized load test.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include <libiova/iova.h>
#include <libiova/iova_space.h>

#include "prng.h"
#include "test_deferral_fx.h"

/* ---- parking ----------------------------------------------------------- */

static void test_park_is_not_lost(void **state)
{
	struct iova_domain iovad, other;
	struct iova_deferral_stats cur;
	unsigned long parked, other_parked;
	struct iova *iova;
	uint64_t left = 99;

	(void)state;
	/* no worker retry during the test: flush and drains only */
	domain_init(&iovad, 10000 * MS, 10000 * MS, NULL);
	domain_init(&other, 10000 * MS, 10000 * MS, NULL);
	other_parked = park_lowest(&other, 4, LIMIT);
	set_fail(FAIL_NONE);
	parked = park_lowest(&iovad, 8, LIMIT);

	cur = stats_of(&iovad);
	assert_int_equal(cur.parked_now, 1);
	assert_int_equal(cur.parked_total, 1);
	assert_null(find_iova(&iovad, parked));
	/* freeing it again is a free of an unknown pfn: nothing happens */
	free_iova(&iovad, parked);
	assert_int_equal(stats_of(&iovad).parked_total, 1);

	/* with no memory at all a reservation over it fails (its erase
	 * merges with the free space below), changing nothing */
	assert_null(reserve_iova(&iovad, parked, parked));
	assert_int_equal(stats_of(&iovad).parked_now, 1);
	/* with blocking allocation only: an allocation with room elsewhere
	 * goes around it (its non-blocking drain fails) */
	set_fail(FAIL_NONBLOCKING);
	iova = alloc_iova(&iovad, 1, parked, true);
	assert_non_null(iova);
	assert_int_equal(iova->pfn_lo, parked - 1);
	assert_int_equal(stats_of(&iovad).parked_now, 1);

	/* a flush completes it; the other domain keeps its own */
	set_fail(FAIL_NONE);
	assert_int_equal(iova_domain_flush_deferred(&iovad, &left), 0);
	assert_int_equal(left, 0);
	cur = stats_of(&iovad);
	assert_int_equal(cur.parked_now, 0);
	assert_int_equal(cur.drained_flush, 1);
	assert_int_equal(stats_of(&other).parked_now, 1);
	assert_null(find_iova(&other, other_parked));
	iova = alloc_iova(&iovad, 1, parked, true);
	assert_non_null(iova);
	assert_int_equal(iova->pfn_lo, parked);
	assert_int_equal(mt_validate(&iovad.tree), 0);

	/* a flush that finds no memory says how much is left */
	set_fail(FAIL_ALL);
	assert_int_equal(iova_domain_flush_deferred(&other, &left), -ENOMEM);
	assert_int_equal(left, 1);
	set_fail(FAIL_NONE);
	put_iova_domain(&iovad);
	assert_int_equal(stats_of(&other).parked_now, 1);
	put_iova_domain(&other);
}

static void test_opportunistic_drain(void **state)
{
	struct iova_domain iovad;
	struct iova_deferral_stats cur;

	(void)state;
	domain_init(&iovad, 10000 * MS, 10000 * MS, NULL);
	park_lowest(&iovad, 4, LIMIT);
	set_fail(FAIL_NONE);
	assert_non_null(alloc_iova(&iovad, 1, LIMIT, true));
	cur = stats_of(&iovad);
	assert_int_equal(cur.parked_now, 0);
	assert_int_equal(cur.drained_opportunistic, 1);
	assert_int_equal(cur.worker_wakeups, 0);
	assert_int_equal(mt_validate(&iovad.tree), 0);
	put_iova_domain(&iovad);
}

/* More parked ranges than the side list holds: found through the window. */
static void test_many_parked(void **state)
{
	struct iova_domain iovad;
	struct iova *iova[400], *again;
	uint64_t left = 1;

	(void)state;
	domain_init(&iovad, 10000 * MS, 10000 * MS, NULL);
	for (unsigned int i = 0; i < 400; i++) {
		iova[i] = alloc_iova(&iovad, 1, LIMIT - 2 * i, true);
		assert_non_null(iova[i]);
	}
	/* every other one freed: holes of one, each merge needs a node */
	set_fail(FAIL_ALL);
	for (unsigned int i = 0; i < 400; i += 2)
		__free_iova(&iovad, iova[i]);
	assert_int_equal(stats_of(&iovad).parked_now, 200);
	assert_int_equal(stats_of(&iovad).parked_max, 200);
	set_fail(FAIL_NONE);
	/* opportunistic drains are bounded: one allocation drains a few */
	again = alloc_iova(&iovad, 1, LIMIT, true);
	assert_non_null(again);
	assert_true(stats_of(&iovad).parked_now < 200);
	assert_true(stats_of(&iovad).parked_now > 100);
	assert_int_equal(iova_domain_flush_deferred(&iovad, &left), 0);
	assert_int_equal(left, 0);
	for (unsigned int i = 0; i < 400; i += 2)
		if (LIMIT - 2 * i != again->pfn_lo)
			assert_null(find_iova(&iovad, LIMIT - 2 * i));
	assert_int_equal(mt_validate(&iovad.tree), 0);
	put_iova_domain(&iovad);
}

/* ---- the worker and its policy ---------------------------------------- */

#define MAX_RETRIES 64

static struct {
	pthread_mutex_t lock;
	uint64_t when[MAX_RETRIES];
	bool ok[MAX_RETRIES];
	unsigned int n, warnings;
} seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void on_retry(void *arg, uint64_t when, bool ok,
		     const struct iova_deferral_stats *st)
{
	(void)arg;
	(void)st;
	pthread_mutex_lock(&seen.lock);
	if (seen.n < MAX_RETRIES) {
		seen.when[seen.n] = when;
		seen.ok[seen.n] = ok;
		seen.n++;
	}
	pthread_mutex_unlock(&seen.lock);
}

static void on_warn(void *arg, struct iova_domain *iovad,
		    const struct iova_deferral_stats *st)
{
	(void)arg;
	(void)iovad;
	(void)st;
	__atomic_add_fetch(&seen.warnings, 1, __ATOMIC_SEQ_CST);
}

static unsigned int seen_count(void)
{
	unsigned int n;

	pthread_mutex_lock(&seen.lock);
	n = seen.n;
	pthread_mutex_unlock(&seen.lock);
	return n;
}

/* Timers never fire early; late by at most this on a loaded machine. */
#define LATE_NS (60 * MS)

static void test_backoff_policy(void **state)
{
	struct iova_backoff policy = { .warn_after = 5, .retried = on_retry,
				       .warn = on_warn };
	/* the default steps scaled down 10x: 1, 5, 20, then the 30 ms cap */
	const uint64_t want[] = { 1 * MS, 5 * MS, 20 * MS, 30 * MS, 30 * MS,
				  30 * MS, 30 * MS, 30 * MS };
	struct iova_domain iovad;
	struct iova_deferral_stats cur;
	uint64_t parked_at, prev;

	(void)state;
	memset(seen.when, 0, sizeof(seen.when));
	seen.n = seen.warnings = 0;
	domain_init(&iovad, 1 * MS, 30 * MS, &policy);
	for (unsigned int i = 0; i < 4; i++)
		assert_non_null(alloc_iova(&iovad, 1, LIMIT, true));
	set_fail(FAIL_ALL);
	parked_at = now_ns();
	free_iova(&iovad, LIMIT - 3);
	while (seen_count() < 8)
		sleep_ns(MS);

	/* each retry after the delay the policy gives, never before */
	prev = parked_at;
	for (unsigned int i = 0; i < 8; i++) {
		uint64_t gap = seen.when[i] - prev;

		assert_false(seen.ok[i]);
		if (gap + MS / 10 < want[i] || gap > want[i] + LATE_NS)
			fail_msg("retry %u came %llu us after the last, want %llu",
				 i, (unsigned long long)(gap / 1000),
				 (unsigned long long)(want[i] / 1000));
		prev = seen.when[i];
	}
	cur = stats_of(&iovad);
	assert_true(cur.failures_now >= 8);
	assert_int_equal(cur.delay_ns, 30 * MS);
	assert_int_equal(cur.warnings, 1);
	assert_int_equal(__atomic_load_n(&seen.warnings, __ATOMIC_SEQ_CST), 1);
	assert_int_equal(cur.parked_now, 1);

	/* recovery: drained by the next retry, within one cap interval */
	set_fail(FAIL_NONE);
	WAIT_FOR(&iovad, st.parked_now == 0, 30 * MS + LATE_NS);
	cur = stats_of(&iovad);
	assert_int_equal(cur.drained_worker, 1);
	assert_int_equal(cur.failures_now, 0);
	assert_true(cur.failures_max >= 8);
	assert_int_equal(cur.delay_ns, 1 * MS);
	assert_int_equal(cur.worker_wakeups, seen_count());
	assert_true(seen.ok[seen_count() - 1]);

	/* nothing parked: nothing scheduled */
	sleep_ns(40 * MS);
	assert_int_equal(stats_of(&iovad).worker_wakeups, seen_count());

	/* a new episode warns once more */
	for (unsigned int i = 0; i < 2; i++)
		assert_non_null(alloc_iova(&iovad, 1, LIMIT, true));
	set_fail(FAIL_ALL);
	free_iova(&iovad, LIMIT - 4); /* the lowest: next to free space */
	WAIT_FOR(&iovad, st.failures_now >= 6, 2000 * MS);
	assert_int_equal(stats_of(&iovad).warnings, 2);
	assert_int_equal(__atomic_load_n(&seen.warnings, __ATOMIC_SEQ_CST), 2);
	set_fail(FAIL_NONE);
	put_iova_domain(&iovad);
}

/* A user policy: constant 2 ms steps. */
static uint64_t constant_delay(void *arg, uint64_t failures, uint64_t delay)
{
	(void)arg;
	(void)failures;
	(void)delay;
	return 2 * MS;
}

/* A user policy that shortens the delay: 0.1 ms after any failure. */
static uint64_t short_delay(void *arg, uint64_t failures, uint64_t delay)
{
	(void)arg;
	(void)failures;
	(void)delay;
	return MS / 10;
}

static void test_user_policy_and_bad_policy(void **state)
{
	struct iova_backoff policy = { .next_delay = constant_delay };
	struct iova_backoff bad = { .first_delay_ns = 2000 * MS,
				    .max_delay_ns = 1000 * MS };
	struct iova_domain iovad;

	(void)state;
	domain_init(&iovad, 1 * MS, 100 * MS, &policy);
	assert_int_equal(iova_domain_set_backoff(&iovad, &bad), -EINVAL);
	assert_int_equal(iova_domain_set_backoff(NULL, NULL), -EINVAL);
	assert_int_equal(iova_domain_deferral_stats(&iovad, NULL), -EINVAL);
	assert_int_equal(iova_domain_flush_deferred(NULL, NULL), -EINVAL);
	park_lowest(&iovad, 3, LIMIT);
	WAIT_FOR(&iovad, st.failures_now >= 3, 1000 * MS);
	assert_int_equal(stats_of(&iovad).delay_ns, 2 * MS);
	/* a policy may also shorten the delay (below the first one too) */
	policy = (struct iova_backoff){ .first_delay_ns = 8 * MS,
					.max_delay_ns = 100 * MS,
					.next_delay = short_delay };
	assert_int_equal(iova_domain_set_backoff(&iovad, &policy), 0);
	WAIT_FOR(&iovad, st.delay_ns == MS / 10, 1000 * MS);
	/* the default policy again: the next failure steps up from there */
	assert_int_equal(iova_domain_set_backoff(&iovad, NULL), 0);
	set_fail(FAIL_NONE);
	WAIT_FOR(&iovad, st.parked_now == 0, 1000 * MS + LATE_NS);
	put_iova_domain(&iovad);
}

/* ---- teardown and many domains ---------------------------------------- */

static void test_teardown_with_worker_running(void **state)
{
	struct iova_domain iovad;

	(void)state;
	domain_init(&iovad, 1 * MS, 2 * MS, NULL);
	park_lowest(&iovad, 16, LIMIT);
	free_iova(&iovad, LIMIT - 14);
	WAIT_FOR(&iovad, st.worker_wakeups >= 3, 1000 * MS);
	/* the worker is retrying every 2 ms: teardown stops it, frees all */
	put_iova_domain(&iovad);
	set_fail(FAIL_NONE);
}

static unsigned int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	unsigned int n = 0;
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

#define NR_DOMAINS 1000

static void test_thousand_domains_one_thread(void **state)
{
	struct iova_domain *dom = calloc(NR_DOMAINS, sizeof(*dom));
	unsigned int before;

	(void)state;
	for (unsigned int i = 0; i < NR_DOMAINS; i++) {
		domain_init(&dom[i], 1 * MS, 5 * MS, NULL);
		for (unsigned int k = 0; k < 3; k++)
			assert_non_null(alloc_iova(&dom[i], 1, LIMIT, true));
	}
	urcu_memb_barrier();
	before = thread_count();
	set_fail(FAIL_ALL);
	for (unsigned int i = 0; i < NR_DOMAINS; i++)
		free_iova(&dom[i], LIMIT - 2);
	for (unsigned int i = 0; i < NR_DOMAINS; i++)
		WAIT_FOR(&dom[i], st.worker_wakeups >= 1, 5000 * MS);
	/* every domain retried, all by one timer thread */
	assert_true(thread_count() <= before + 1);
	set_fail(FAIL_NONE);
	for (unsigned int i = 0; i < NR_DOMAINS; i++)
		WAIT_FOR(&dom[i], st.parked_now == 0, 5000 * MS);
	for (unsigned int i = 0; i < NR_DOMAINS; i++)
		put_iova_domain(&dom[i]);
	free(dom);
}

/* ---- the userspace API --------------------------------------------------- */

static int count_one(void *arg, const struct iova_range *r)
{
	(void)r;
	(*(unsigned int *)arg)++;
	return 0;
}

static void test_space_parks(void **state)
{
	struct iova_space_config cfg = { .address_width = 32,
					 .flags = IOVA_SPACE_NO_CACHE,
					 .node_allocator = fx.fault };
	struct iova_backoff policy = { .first_delay_ns = 10000 * MS,
				       .max_delay_ns = 10000 * MS };
	struct iova_deferral_stats st;
	struct iova_range r;
	struct iova_space *s;
	uint64_t a, b, left;
	unsigned int n = 0;

	(void)state;
	assert_int_equal(iova_space_create(&cfg, &s), 0);
	assert_int_equal(iova_space_set_backoff(s, &policy), 0);
	assert_int_equal(iova_space_alloc(s, 4096, 0, 0, UINT32_MAX, 0, &a), 0);
	assert_int_equal(iova_space_alloc(s, 4096, 0, 0, UINT32_MAX, 0, &b), 0);
	set_fail(FAIL_ALL);
	assert_int_equal(iova_space_free(s, b), 0);
	assert_int_equal(iova_space_deferral_stats(s, &st), 0);
	assert_int_equal(st.parked_now, 1);
	assert_int_equal(iova_space_lookup(s, b, &r), -ENOENT);
	assert_int_equal(iova_space_free(s, b), -ENOENT); /* double free */
	assert_int_equal(iova_space_for_each(s, count_one, &n), 0);
	assert_int_equal(n, 1);
	set_fail(FAIL_NONE);
	/* exact placement over it completes the parked free first */
	assert_int_equal(iova_space_alloc_at(s, b, 4096), 0);
	assert_int_equal(iova_space_deferral_stats(s, &st), 0);
	assert_int_equal(st.parked_now, 0);
	assert_int_equal(st.drained_opportunistic, 1);
	assert_int_equal(iova_space_flush_deferred(s, &left), 0);
	assert_int_equal(iova_space_flush_deferred(NULL, &left), -EINVAL);
	iova_space_destroy(s);
}

/* ---- no loss under load ------------------------------------------------ */

#define LOAD_THREADS 4
#define LOAD_LIVE 256

struct load {
	struct iova_domain *iovad;
	uint64_t seed;
	unsigned long frees, target;
	unsigned long live[LOAD_LIVE];
};

static void *load_thread(void *p)
{
	struct load *l = p;
	struct prng rng = { l->seed };

	while (l->frees < l->target) {
		unsigned int i = (unsigned int)prng_below(&rng, LOAD_LIVE);

		if (l->live[i]) {
			free_iova(l->iovad, l->live[i]);
			l->live[i] = 0;
			l->frees++;
		} else {
			struct iova *iova = alloc_iova(
				l->iovad, 1 + prng_below(&rng, 8), LIMIT, false);

			l->live[i] = iova ? iova->pfn_lo : 0;
		}
	}
	return NULL;
}

static void test_no_loss_under_load(void **state)
{
	uint64_t seed = prng_seed_from_env("IOVA_SEED", (uint64_t)time(NULL));
	struct load l[LOAD_THREADS];
	pthread_t tid[LOAD_THREADS];
	struct iova_domain iovad;
	struct iova_deferral_stats st;
	unsigned long live = 0, index = 0, entries = 0;
	bool done = false;
	void *entry;

	(void)state;
	printf("# seed %llu (replay with IOVA_SEED=%llu)\n",
	       (unsigned long long)seed, (unsigned long long)seed);
	fail_seed = seed;
	domain_init(&iovad, 1 * MS, 20 * MS, NULL);
	for (unsigned int t = 0; t < LOAD_THREADS; t++) {
		memset(&l[t], 0, sizeof(l[t]));
		l[t].iovad = &iovad;
		l[t].seed = seed + t;
		l[t].target = 30000;
		pthread_create(&tid[t], NULL, load_thread, &l[t]);
	}
	/* random failures, with stretches of total failure */
	for (unsigned int round = 0; !done; round++) {
		uint64_t left;
		int ret;

		set_fail(round % 3 == 2 ? FAIL_ALL : FAIL_RANDOM);
		sleep_ns(10 * MS);
		/* a flush racing the frees, allocations and the worker */
		ret = iova_domain_flush_deferred(&iovad, &left);
		assert_true(ret == 0 || (ret == -ENOMEM && left > 0));
		sleep_ns(10 * MS);
		done = true;
		for (unsigned int t = 0; t < LOAD_THREADS; t++)
			done &= __atomic_load_n(&l[t].frees, __ATOMIC_RELAXED) >=
				l[t].target;
	}
	for (unsigned int t = 0; t < LOAD_THREADS; t++)
		pthread_join(tid[t], NULL);
	st = stats_of(&iovad);
	printf("# parked %llu in all, at most %llu at once; drained: worker "
	       "%llu, opportunistic %llu; %llu wakeups\n",
	       (unsigned long long)st.parked_total,
	       (unsigned long long)st.parked_max,
	       (unsigned long long)st.drained_worker,
	       (unsigned long long)st.drained_opportunistic,
	       (unsigned long long)st.worker_wakeups);
	assert_true(st.parked_total > 0);

	set_fail(FAIL_NONE);
	assert_int_equal(iova_domain_flush_deferred(&iovad, NULL), 0);
	assert_int_equal(mt_validate(&iovad.tree), 0);
	/* the tree holds exactly the live IOVAs: everything freed is free */
	for (unsigned int t = 0; t < LOAD_THREADS; t++)
		for (unsigned int i = 0; i < LOAD_LIVE; i++)
			if (l[t].live[i]) {
				struct iova *iova = find_iova(&iovad,
							      l[t].live[i]);

				assert_non_null(iova);
				assert_int_equal(iova->pfn_lo, l[t].live[i]);
				live++;
			}
	/* above the ceiling lies only the domain's own marker */
	mt_for_each(&iovad.tree, entry, index, iovad.ceiling_pfn)
		entries++;
	assert_int_equal(entries, live);
	put_iova_domain(&iovad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_park_is_not_lost, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_opportunistic_drain, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_parked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_backoff_policy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_user_policy_and_bad_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_teardown_with_worker_running, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_thousand_domains_one_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_space_parks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_loss_under_load, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("iova_deferral", tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the node cache and of the allocator interface around it. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <libiova/mt_alloc.h>

static struct mt_alloc_stats stats_of(struct mt_allocator *a)
{
	struct mt_alloc_stats st;

	assert_int_equal(mt_allocator_stats(a, &st), 0);
	return st;
}

static void test_alignment_and_distinct(void **state)
{
	enum { N = 2000 };
	struct mt_allocator *a = mt_node_cache_create(NULL);
	static void *nodes[N];

	(void)state;
	assert_non_null(a);
	for (int i = 0; i < N; i++) {
		nodes[i] = mt_node_alloc(a, GFP_KERNEL);
		assert_non_null(nodes[i]);
		assert_int_equal((uintptr_t)nodes[i] % MT_NODE_SIZE, 0);
		/* the whole node is ours to write */
		memset(nodes[i], i & 0xff, MT_NODE_SIZE);
	}
	for (int i = 0; i < N; i++) {
		const unsigned char *p = nodes[i];

		/* no two nodes overlap: each still holds its own pattern */
		for (int b = 0; b < MT_NODE_SIZE; b++)
			assert_int_equal(p[b], i & 0xff);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(mt_node_free(a, nodes[i]), 0);
	assert_int_equal(mt_allocator_destroy(a), 0);
}

static void test_accounting_exact(void **state)
{
	struct mt_allocator *a = mt_node_cache_create(NULL);
	void *bulk[40], *one;
	struct mt_alloc_stats st;

	(void)state;
	st = stats_of(a);
	assert_int_equal(st.live, 0);
	assert_int_equal(st.allocs, 0);
	assert_int_equal(st.bytes_reserved, 0);

	one = mt_node_alloc(a, GFP_ATOMIC);
	assert_non_null(one);
	assert_int_equal(mt_node_alloc_bulk(a, GFP_KERNEL, 40, bulk), 0);
	st = stats_of(a);
	assert_int_equal(st.allocs, 41);
	assert_int_equal(st.live, 41);
	assert_int_equal(st.frees, 0);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.bytes_reserved, 64 * 1024);

	for (int i = 0; i < 40; i++)
		assert_int_equal(mt_node_free(a, bulk[i]), 0);
	st = stats_of(a);
	assert_int_equal(st.live, 1);
	assert_int_equal(st.frees, 40);

	assert_int_equal(mt_allocator_destroy(a), -EBUSY);
	assert_int_equal(mt_node_free(a, one), 0);
	assert_int_equal(stats_of(a).live, 0);
	assert_int_equal(mt_allocator_destroy(a), 0);
}

/* Freed nodes are reused: churn does not grow the memory held. */
static void test_reuse(void **state)
{
	struct mt_allocator *a = mt_node_cache_create(NULL);
	void *nodes[300];
	uint64_t held;

	(void)state;
	for (int i = 0; i < 300; i++)
		nodes[i] = mt_node_alloc(a, GFP_KERNEL);
	held = stats_of(a).bytes_reserved;
	assert_int_equal(held, 2 * 64 * 1024);
	for (int round = 0; round < 100; round++) {
		for (int i = 0; i < 300; i++)
			mt_node_free(a, nodes[i]);
		for (int i = 0; i < 300; i++)
			assert_non_null(nodes[i] = mt_node_alloc(a, GFP_NOWAIT));
	}
	assert_int_equal(stats_of(a).bytes_reserved, held);
	for (int i = 0; i < 300; i++)
		mt_node_free(a, nodes[i]);
	assert_int_equal(mt_allocator_destroy(a), 0);
}

/*
 * Fresh nodes come out in ascending address order, one right after the
 * other: a tree built in key order then lies in memory in the order an
 * in-order walk reads it.  200 nodes stay inside the first 64 KiB chunk
 * (whose first node, in debug builds, the cache keeps for itself).
 */
static void test_carved_ascending(void **state)
{
	enum { N = 200 };
	struct mt_allocator *a = mt_node_cache_create(NULL);
	static void *nodes[N];

	(void)state;
	for (int i = 0; i < N; i++) {
		nodes[i] = mt_node_alloc(a, GFP_KERNEL);
		assert_non_null(nodes[i]);
		if (i)
			assert_ptr_equal(nodes[i],
					 (char *)nodes[i - 1] + MT_NODE_SIZE);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(mt_node_free(a, nodes[i]), 0);
	assert_int_equal(mt_allocator_destroy(a), 0);
}

static void test_gfp_zero(void **state)
{
	struct mt_allocator *a = mt_node_cache_create(NULL);
	unsigned char *p = mt_node_alloc(a, GFP_KERNEL);

	(void)state;
	memset(p, 0xa5, MT_NODE_SIZE);
	mt_node_free(a, p);
	p = mt_node_alloc(a, GFP_KERNEL | __GFP_ZERO);
	for (int i = 0; i < MT_NODE_SIZE; i++)
		assert_int_equal(p[i], 0);
	mt_node_free(a, p);
	assert_int_equal(mt_allocator_destroy(a), 0);
}

static void test_limit_nonblocking(void **state)
{
	struct mt_node_cache_config cfg = { .max_nodes = 10 };
	struct mt_allocator *a = mt_node_cache_create(&cfg);
	void *nodes[10], *bulk[3];

	(void)state;
	for (int i = 0; i < 10; i++)
		assert_non_null(nodes[i] = mt_node_alloc(a, GFP_ATOMIC));
	errno = 0;
	assert_null(mt_node_alloc(a, GFP_ATOMIC));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(stats_of(a).failures, 1);

	/* bulk: all or nothing, nothing leaked */
	mt_node_free(a, nodes[9]);
	mt_node_free(a, nodes[8]);
	assert_int_equal(mt_node_alloc_bulk(a, GFP_NOWAIT, 3, bulk), -ENOMEM);
	assert_int_equal(stats_of(a).live, 8);
	assert_int_equal(stats_of(a).failures, 2);
	assert_int_equal(mt_node_alloc_bulk(a, GFP_NOWAIT, 2, bulk), 0);
	assert_int_equal(stats_of(a).live, 10);
	mt_node_free(a, bulk[0]);
	mt_node_free(a, bulk[1]);
	for (int i = 0; i < 8; i++)
		mt_node_free(a, nodes[i]);
	assert_int_equal(mt_allocator_destroy(a), 0);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_limit_blocking_times_out(void **state)
{
	struct mt_node_cache_config cfg = { .max_nodes = 1,
					    .block_timeout_ms = 30 };
	struct mt_allocator *a = mt_node_cache_create(&cfg);
	void *n0 = mt_node_alloc(a, GFP_KERNEL);
	double t0, waited;

	(void)state;
	assert_non_null(n0);
	t0 = now_ms();
	assert_null(mt_node_alloc(a, GFP_KERNEL));
	waited = now_ms() - t0;
	/* a blocking request waits for memory before failing ... */
	assert_true(waited >= 29.0);
	/* ... a non-blocking one does not */
	t0 = now_ms();
	assert_null(mt_node_alloc(a, GFP_ATOMIC));
	assert_true(now_ms() - t0 < 20.0);
	mt_node_free(a, n0);
	assert_int_equal(mt_allocator_destroy(a), 0);
}

struct hold_arg {
	struct mt_allocator *a;
	void *nodes[16];
	int count;
	int delay_ms;
};

/* Free the nodes after a delay; the thread's magazine goes back on exit. */
static void *free_later(void *p)
{
	struct hold_arg *h = p;
	struct timespec d = { 0, h->delay_ms * 1000000L };

	nanosleep(&d, NULL);
	for (int i = 0; i < h->count; i++)
		mt_node_free(h->a, h->nodes[i]);
	return NULL;
}

static void test_limit_blocking_wakes_on_free(void **state)
{
	struct mt_node_cache_config cfg = { .max_nodes = 16,
					    .block_timeout_ms = 5000 };
	struct mt_allocator *a = mt_node_cache_create(&cfg);
	struct hold_arg h = { .a = a, .count = 16, .delay_ms = 20 };
	pthread_t t;
	void *n;

	(void)state;
	for (int i = 0; i < 16; i++)
		assert_non_null(h.nodes[i] = mt_node_alloc(a, GFP_KERNEL));
	assert_int_equal(pthread_create(&t, NULL, free_later, &h), 0);
	/* waits until the other thread's frees reach the depot */
	n = mt_node_alloc(a, GFP_KERNEL);
	assert_non_null(n);
	pthread_join(t, NULL);
	mt_node_free(a, n);
	assert_int_equal(stats_of(a).live, 0);
	assert_int_equal(mt_allocator_destroy(a), 0);
}

/* Nodes freed on another thread (the call_rcu pattern) are reusable. */
static void test_cross_thread_free(void **state)
{
	struct mt_node_cache_config cfg = { .max_nodes = 64 };
	struct mt_allocator *a = mt_node_cache_create(&cfg);
	struct hold_arg h = { .a = a, .count = 16, .delay_ms = 0 };
	void *rest[48];
	pthread_t t;

	(void)state;
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 16; i++)
			assert_non_null(h.nodes[i] =
					mt_node_alloc(a, GFP_NOWAIT));
		assert_int_equal(pthread_create(&t, NULL, free_later, &h), 0);
		pthread_join(t, NULL);
	}
	/* all 64 nodes of the budget are still there to be had */
	for (int i = 0; i < 48; i++)
		assert_non_null(rest[i] = mt_node_alloc(a, GFP_NOWAIT));
	for (int i = 0; i < 16; i++)
		assert_non_null(h.nodes[i] = mt_node_alloc(a, GFP_NOWAIT));
	assert_int_equal(stats_of(a).live, 64);
	for (int i = 0; i < 48; i++)
		mt_node_free(a, rest[i]);
	for (int i = 0; i < 16; i++)
		mt_node_free(a, h.nodes[i]);
	assert_int_equal(mt_allocator_destroy(a), 0);
}

struct churn_arg {
	struct mt_allocator *a;
	unsigned int seed;
};

static void *churn(void *p)
{
	struct churn_arg *c = p;
	void *held[64] = { 0 };

	for (int i = 0; i < 200000; i++) {
		int k = rand_r(&c->seed) % 64;

		if (held[k]) {
			mt_node_free(c->a, held[k]);
			held[k] = NULL;
		} else {
			held[k] = mt_node_alloc(c->a, GFP_KERNEL);
			assert_non_null(held[k]);
			*(volatile int *)held[k] = k;
		}
	}
	for (int k = 0; k < 64; k++)
		if (held[k])
			mt_node_free(c->a, held[k]);
	return NULL;
}

static void test_threads_share_cache(void **state)
{
	struct mt_allocator *caches[2] = { mt_node_cache_create(NULL),
					   mt_allocator_default() };
	struct churn_arg args[4];
	pthread_t t[4];
	struct mt_alloc_stats before = stats_of(caches[1]);

	(void)state;
	for (int i = 0; i < 4; i++) {
		args[i].a = caches[i % 2];
		args[i].seed = 1234u + (unsigned int)i;
		assert_int_equal(pthread_create(&t[i], NULL, churn, &args[i]),
				 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(stats_of(caches[0]).live, 0);
	assert_int_equal(stats_of(caches[1]).live, before.live);
	assert_int_equal(mt_allocator_destroy(caches[0]), 0);
}

/* A thread using more caches than it has magazine slots stays correct. */
static void test_many_caches_one_thread(void **state)
{
	enum { C = 9 };
	struct mt_allocator *a[C];
	void *n[C][40];

	(void)state;
	for (int c = 0; c < C; c++)
		assert_non_null(a[c] = mt_node_cache_create(NULL));
	for (int r = 0; r < 3; r++) {
		for (int c = 0; c < C; c++)
			for (int i = 0; i < 40; i++)
				assert_non_null(n[c][i] =
						mt_node_alloc(a[c], GFP_NOWAIT));
		for (int c = 0; c < C; c++)
			for (int i = 0; i < 40; i++)
				assert_int_equal(mt_node_free(a[c], n[c][i]), 0);
	}
	for (int c = 0; c < C; c++) {
		assert_int_equal(stats_of(a[c]).live, 0);
		/* 40 nodes never needed a second chunk */
		assert_int_equal(stats_of(a[c]).bytes_reserved, 64 * 1024);
		assert_int_equal(mt_allocator_destroy(a[c]), 0);
	}
}

static void test_bad_input(void **state)
{
	struct mt_allocator *a = mt_node_cache_create(NULL);
	struct mt_alloc_stats st;
	void *nodes[2];
	void *n = mt_node_alloc(a, GFP_KERNEL);

	(void)state;
	errno = 0;
	assert_null(mt_node_alloc(NULL, GFP_KERNEL));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mt_node_alloc_bulk(NULL, GFP_KERNEL, 2, nodes), -EINVAL);
	assert_int_equal(mt_node_alloc_bulk(a, GFP_KERNEL, 0, nodes), -EINVAL);
	assert_int_equal(mt_node_alloc_bulk(a, GFP_KERNEL, 2, NULL), -EINVAL);
	assert_int_equal(mt_node_free(NULL, n), -EINVAL);
	assert_int_equal(mt_node_free(a, NULL), -EINVAL);
	assert_int_equal(mt_node_free(a, (char *)n + 8), -EINVAL);
	assert_int_equal(mt_allocator_stats(NULL, &st), -EINVAL);
	assert_int_equal(mt_allocator_stats(a, NULL), -EINVAL);
	assert_int_equal(mt_allocator_destroy(mt_allocator_default()), -EPERM);
	assert_int_equal(mt_allocator_destroy(NULL), 0);
	errno = 0;
	assert_null(mt_allocator_create(NULL, NULL));
	assert_int_equal(errno, EINVAL);
#ifndef NDEBUG
	{
		/* debug builds catch foreign pointers and double frees */
		void *foreign = aligned_alloc(MT_NODE_SIZE, MT_NODE_SIZE);

		assert_int_equal(mt_node_free(a, foreign), -EINVAL);
		free(foreign);
		assert_int_equal(mt_node_free(a, n), 0);
		assert_int_equal(mt_node_free(a, n), -EINVAL);
		/* carved into a magazine but never handed out: the first
		 * allocation carved 16 nodes and handed out the last */
		assert_int_equal(mt_node_free(a, (char *)n - 8 * MT_NODE_SIZE),
				 -EINVAL);
		/* inside the chunk but past what was carved */
		assert_int_equal(mt_node_free(a, (char *)n + 200 * MT_NODE_SIZE),
				 -EINVAL);
		n = NULL;
	}
#endif
	st = stats_of(a);
	assert_int_equal(st.live, n ? 1 : 0);
	assert_int_equal(st.failures, 0);
	if (n)
		mt_node_free(a, n);
	assert_int_equal(mt_allocator_destroy(a), 0);
}

/* A user allocator gets the library's accounting and bulk semantics. */
struct user_pool {
	int budget;
	int outstanding;
};

static void *user_alloc(void *priv, gfp_t gfp)
{
	struct user_pool *p = priv;

	(void)gfp;
	if (!p->budget)
		return NULL;
	p->budget--;
	p->outstanding++;
	return aligned_alloc(MT_NODE_SIZE, MT_NODE_SIZE);
}

static void user_free(void *priv, void *node)
{
	struct user_pool *p = priv;

	p->budget++;
	p->outstanding--;
	free(node);
}

/*
 * What a node holds is its user's: no value in any word may make the debug
 * build's double-free check think it free.  The check once kept a poison
 * word inside the node, and a node holding that value (a tree's first
 * pivot) could not be freed.
 */
static void test_node_contents_are_data(void **state)
{
	static const uint64_t patterns[] = {
		0x6672656564656164ull, /* the old poison */
		0, ~0ull, 0x0101010101010101ull,
	};
	struct mt_allocator *a = mt_node_cache_create(NULL);
	void *nodes[40];

	(void)state;
	for (unsigned int p = 0; p < sizeof(patterns) / sizeof(patterns[0]);
	     p++) {
		assert_int_equal(mt_node_alloc_bulk(a, GFP_KERNEL, 40, nodes), 0);
		for (unsigned int i = 0; i < 40; i++) {
			uint64_t *w = nodes[i];

			for (unsigned int k = 0; k < MT_NODE_SIZE / 8; k++)
				w[k] = patterns[p];
			/* and the node's own address, in every word */
			if (i % 2)
				for (unsigned int k = 0; k < MT_NODE_SIZE / 8; k++)
					w[k] = (uint64_t)(uintptr_t)nodes[i];
		}
		for (unsigned int i = 0; i < 40; i++)
			assert_int_equal(mt_node_free(a, nodes[i]), 0);
	}
	assert_int_equal(stats_of(a).live, 0);
#ifndef NDEBUG
	/* the check still works: a second free is refused */
	nodes[0] = mt_node_alloc(a, GFP_KERNEL);
	assert_int_equal(mt_node_free(a, nodes[0]), 0);
	assert_int_equal(mt_node_free(a, nodes[0]), -EINVAL);
	assert_int_equal(stats_of(a).live, 0);
#endif
	assert_int_equal(mt_allocator_destroy(a), 0);
}

static void test_user_allocator(void **state)
{
	static const struct mt_allocator_ops ops = { .alloc = user_alloc,
						     .free = user_free };
	static const struct mt_allocator_ops no_free = { .alloc = user_alloc };
	struct user_pool pool = { .budget = 5 };
	struct mt_allocator *a = mt_allocator_create(&ops, &pool);
	void *nodes[8];

	(void)state;
	assert_null(mt_allocator_create(&no_free, &pool));
	assert_non_null(a);
	assert_int_equal(mt_node_alloc_bulk(a, GFP_KERNEL, 6, nodes), -ENOMEM);
	assert_int_equal(pool.outstanding, 0);
	assert_int_equal(stats_of(a).live, 0);
	assert_int_equal(stats_of(a).failures, 1);
	assert_int_equal(mt_node_alloc_bulk(a, GFP_KERNEL, 5, nodes), 0);
	assert_int_equal(stats_of(a).live, 5);
	for (int i = 0; i < 5; i++)
		mt_node_free(a, nodes[i]);
	assert_int_equal(pool.outstanding, 0);
	assert_int_equal(mt_allocator_destroy(a), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alignment_and_distinct),
		cmocka_unit_test(test_accounting_exact),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_carved_ascending),
		cmocka_unit_test(test_gfp_zero),
		cmocka_unit_test(test_limit_nonblocking),
		cmocka_unit_test(test_limit_blocking_times_out),
		cmocka_unit_test(test_limit_blocking_wakes_on_free),
		cmocka_unit_test(test_cross_thread_free),
		cmocka_unit_test(test_threads_share_cache),
		cmocka_unit_test(test_many_caches_one_thread),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_node_contents_are_data),
		cmocka_unit_test(test_user_allocator),
	};

	return cmocka_run_group_tests_name("node_cache", tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the fault-injecting allocator: each mode fails exactly what it
 * should, at its boundaries, and never leaks. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <libiova/mt_alloc.h>

struct fixture {
	struct mt_allocator *inner;
	struct mt_allocator *fault;
};

static int setup(void **state)
{
	static struct fixture f;

	f.inner = mt_node_cache_create(NULL);
	f.fault = mt_fault_allocator_create(f.inner);
	if (!f.inner || !f.fault)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct mt_alloc_stats st;

	/* every test leaves nothing live in either allocator */
	mt_allocator_stats(f->fault, &st);
	assert_int_equal(st.live, 0);
	mt_allocator_stats(f->inner, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(mt_allocator_destroy(f->fault), 0);
	assert_int_equal(mt_allocator_destroy(f->inner), 0);
	return 0;
}

/*
 * Make @count single requests with @gfp and record in @failed which ones
 * failed (1-based numbering in failed[1..count]).  Frees what succeeded.
 */
static int run_requests(struct mt_allocator *a, gfp_t gfp, int count,
			char *failed)
{
	void *nodes[256];
	int nfail = 0;

	assert_true(count <= 256);
	for (int i = 1; i <= count; i++) {
		nodes[i - 1] = mt_node_alloc(a, gfp);
		failed[i] = nodes[i - 1] == NULL;
		nfail += failed[i];
	}
	for (int i = 0; i < count; i++)
		if (nodes[i])
			mt_node_free(a, nodes[i]);
	return nfail;
}

static void set_mode(struct mt_allocator *a, enum mt_fault_mode mode,
		     uint64_t n)
{
	struct mt_fault_config cfg = { .mode = mode, .n = n };

	assert_int_equal(mt_fault_allocator_set(a, &cfg), 0);
}

static void test_nth(void **state)
{
	struct fixture *f = *state;
	char failed[257];
	struct mt_alloc_stats st;

	/* N = 1, a middle N, and the last request of the run */
	const uint64_t ns[] = { 1, 7, 20 };

	for (unsigned int k = 0; k < 3; k++) {
		set_mode(f->fault, MT_FAULT_NTH, ns[k]);
		assert_int_equal(run_requests(f->fault, GFP_KERNEL, 20, failed),
				 1);
		for (int i = 1; i <= 20; i++)
			assert_int_equal(failed[i], (uint64_t)i == ns[k]);
		mt_allocator_stats(f->fault, &st);
		assert_int_equal(st.requests, 20);
		assert_int_equal(st.injected, 1);
	}
	/* N past the end of the run fails nothing */
	set_mode(f->fault, MT_FAULT_NTH, 21);
	assert_int_equal(run_requests(f->fault, GFP_KERNEL, 20, failed), 0);
}

static void test_from_nth(void **state)
{
	struct fixture *f = *state;
	char failed[257];

	set_mode(f->fault, MT_FAULT_FROM_NTH, 1);
	assert_int_equal(run_requests(f->fault, GFP_ATOMIC, 10, failed), 10);
	set_mode(f->fault, MT_FAULT_FROM_NTH, 4);
	assert_int_equal(run_requests(f->fault, GFP_ATOMIC, 10, failed), 7);
	for (int i = 1; i <= 10; i++)
		assert_int_equal(failed[i], i >= 4);
	set_mode(f->fault, MT_FAULT_FROM_NTH, 10);
	assert_int_equal(run_requests(f->fault, GFP_ATOMIC, 10, failed), 1);
	assert_true(failed[10]);
}

static void test_every_kth(void **state)
{
	struct fixture *f = *state;
	char failed[257];

	set_mode(f->fault, MT_FAULT_EVERY_KTH, 1);
	assert_int_equal(run_requests(f->fault, GFP_KERNEL, 9, failed), 9);
	set_mode(f->fault, MT_FAULT_EVERY_KTH, 3);
	assert_int_equal(run_requests(f->fault, GFP_KERNEL, 10, failed), 3);
	for (int i = 1; i <= 10; i++)
		assert_int_equal(failed[i], i % 3 == 0);
}

static void test_always_and_none(void **state)
{
	struct fixture *f = *state;
	char failed[257];
	struct mt_alloc_stats st;

	set_mode(f->fault, MT_FAULT_ALWAYS, 0);
	assert_int_equal(run_requests(f->fault, GFP_KERNEL, 5, failed), 5);
	mt_allocator_stats(f->fault, &st);
	assert_int_equal(st.failures, 5);
	assert_int_equal(st.injected, 5);
	assert_int_equal(mt_fault_allocator_set(f->fault, NULL), 0);
	assert_int_equal(run_requests(f->fault, GFP_KERNEL, 5, failed), 0);
	mt_allocator_stats(f->fault, &st);
	assert_int_equal(st.requests, 5);
	assert_int_equal(st.injected, 0);
}

static void random_pattern(struct mt_allocator *a, double p, uint64_t seed,
			   char *failed, int count)
{
	struct mt_fault_config cfg = { .mode = MT_FAULT_RANDOM,
				       .probability = p, .seed = seed };

	assert_int_equal(mt_fault_allocator_set(a, &cfg), 0);
	run_requests(a, GFP_KERNEL, count, failed);
}

static void test_random(void **state)
{
	struct fixture *f = *state;
	char a[257], b[257], c[257];
	int n;

	random_pattern(f->fault, 0.0, 42, a, 256);
	for (int i = 1; i <= 256; i++)
		assert_false(a[i]);
	random_pattern(f->fault, 1.0, 42, a, 256);
	for (int i = 1; i <= 256; i++)
		assert_true(a[i]);

	/* the same seed gives the same sequence; another seed does not */
	random_pattern(f->fault, 0.5, 42, a, 256);
	random_pattern(f->fault, 0.5, 42, b, 256);
	random_pattern(f->fault, 0.5, 43, c, 256);
	assert_memory_equal(a + 1, b + 1, 256);
	assert_memory_not_equal(a + 1, c + 1, 256);
	n = 0;
	for (int i = 1; i <= 256; i++)
		n += a[i];
	/* 256 fair coin flips: far outside 64..192 means a broken generator */
	assert_in_range(n, 64, 192);
}

static void test_only_nonblocking(void **state)
{
	struct fixture *f = *state;
	struct mt_fault_config cfg = { .mode = MT_FAULT_NTH, .n = 2,
				       .flags = MT_FAULT_ONLY_NONBLOCKING };
	void *n1, *k1, *n2, *k2;
	struct mt_alloc_stats st;

	assert_int_equal(mt_fault_allocator_set(f->fault, &cfg), 0);
	n1 = mt_node_alloc(f->fault, GFP_NOWAIT);  /* non-blocking #1 */
	k1 = mt_node_alloc(f->fault, GFP_KERNEL);  /* not numbered */
	n2 = mt_node_alloc(f->fault, GFP_ATOMIC);  /* non-blocking #2: fails */
	k2 = mt_node_alloc(f->fault, GFP_KERNEL);
	assert_non_null(n1);
	assert_non_null(k1);
	assert_null(n2);
	assert_non_null(k2);
	mt_allocator_stats(f->fault, &st);
	assert_int_equal(st.requests, 2);
	assert_int_equal(st.injected, 1);
	mt_node_free(f->fault, n1);
	mt_node_free(f->fault, k1);
	mt_node_free(f->fault, k2);

	/* the GFP_ATOMIC case of the kernel discussion: every atomic fails */
	cfg.mode = MT_FAULT_ALWAYS;
	assert_int_equal(mt_fault_allocator_set(f->fault, &cfg), 0);
	assert_null(mt_node_alloc(f->fault, GFP_ATOMIC));
	k1 = mt_node_alloc(f->fault, GFP_KERNEL);
	assert_non_null(k1);
	mt_node_free(f->fault, k1);
}

struct decide_log {
	uint64_t seen[8];
	gfp_t gfp[8];
	int calls;
};

static int decide_odd_atomic(void *arg, uint64_t request, gfp_t gfp)
{
	struct decide_log *log = arg;

	log->seen[log->calls] = request;
	log->gfp[log->calls] = gfp;
	log->calls++;
	return (request & 1) && !gfpflags_allow_blocking(gfp);
}

static void test_callback(void **state)
{
	struct fixture *f = *state;
	struct decide_log log = { .calls = 0 };
	struct mt_fault_config cfg = { .mode = MT_FAULT_CALLBACK,
				       .decide = decide_odd_atomic,
				       .arg = &log };
	void *p[4];

	assert_int_equal(mt_fault_allocator_set(f->fault, &cfg), 0);
	p[0] = mt_node_alloc(f->fault, GFP_ATOMIC); /* 1, odd, atomic: fail */
	p[1] = mt_node_alloc(f->fault, GFP_ATOMIC); /* 2 */
	p[2] = mt_node_alloc(f->fault, GFP_KERNEL); /* 3, blocking */
	p[3] = mt_node_alloc(f->fault, GFP_NOWAIT); /* 4 */
	assert_null(p[0]);
	assert_non_null(p[1]);
	assert_non_null(p[2]);
	assert_non_null(p[3]);
	assert_int_equal(log.calls, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(log.seen[i], (uint64_t)i + 1);
	assert_int_equal(log.gfp[2], GFP_KERNEL);
	for (int i = 1; i < 4; i++)
		mt_node_free(f->fault, p[i]);
}

static void test_bulk_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	void *nodes[10];
	struct mt_alloc_stats st;

	/* the 4th node of the bulk fails: no node is left taken */
	set_mode(f->fault, MT_FAULT_NTH, 4);
	assert_int_equal(mt_node_alloc_bulk(f->fault, GFP_KERNEL, 10, nodes),
			 -ENOMEM);
	mt_allocator_stats(f->fault, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.requests, 4);  /* the bulk stopped at the failure */
	mt_allocator_stats(f->inner, &st);
	assert_int_equal(st.live, 0);

	/* the next bulk goes through whole */
	assert_int_equal(mt_node_alloc_bulk(f->fault, GFP_KERNEL, 10, nodes), 0);
	mt_allocator_stats(f->fault, &st);
	assert_int_equal(st.live, 10);
	assert_int_equal(st.requests, 14);
	for (int i = 0; i < 10; i++) {
		assert_int_equal((uintptr_t)nodes[i] % MT_NODE_SIZE, 0);
		assert_int_equal(mt_node_free(f->fault, nodes[i]), 0);
	}

	/* last node of the bulk */
	set_mode(f->fault, MT_FAULT_NTH, 10);
	assert_int_equal(mt_node_alloc_bulk(f->fault, GFP_KERNEL, 10, nodes),
			 -ENOMEM);
	mt_allocator_stats(f->inner, &st);
	assert_int_equal(st.live, 0);
}

static void test_bad_config(void **state)
{
	struct fixture *f = *state;
	const struct mt_fault_config bad[] = {
		{ .mode = MT_FAULT_NTH, .n = 0 },
		{ .mode = MT_FAULT_FROM_NTH, .n = 0 },
		{ .mode = MT_FAULT_EVERY_KTH, .n = 0 },
		{ .mode = MT_FAULT_RANDOM, .probability = -0.1 },
		{ .mode = MT_FAULT_RANDOM, .probability = 1.5 },
		{ .mode = MT_FAULT_CALLBACK, .decide = NULL },
		{ .mode = (enum mt_fault_mode)99 },
		{ .mode = MT_FAULT_NONE, .flags = 0x80 },
	};
	char failed[257];

	/* the configuration in force survives every rejected one */
	set_mode(f->fault, MT_FAULT_EVERY_KTH, 2);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mt_fault_allocator_set(f->fault, &bad[i]),
				 -EINVAL);
	assert_int_equal(run_requests(f->fault, GFP_KERNEL, 10, failed), 5);
	/* not a fault allocator, or none at all */
	assert_int_equal(mt_fault_allocator_set(f->inner, NULL), -EINVAL);
	assert_int_equal(mt_fault_allocator_set(NULL, NULL), -EINVAL);
	errno = 0;
	assert_null(mt_fault_allocator_create(NULL));
	assert_int_equal(errno, EINVAL);
}

static void test_free_checks_forwarded(void **state)
{
	struct fixture *f = *state;
	void *n;

	assert_int_equal(mt_fault_allocator_set(f->fault, NULL), 0);
	n = mt_node_alloc(f->fault, GFP_KERNEL);
	assert_int_equal(mt_node_free(f->fault, (char *)n + 1), -EINVAL);
	assert_int_equal(mt_node_free(f->fault, n), 0);
#ifndef NDEBUG
	assert_int_equal(mt_node_free(f->fault, n), -EINVAL);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_nth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_kth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_always_and_none, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_random, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_nonblocking, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bulk_all_or_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_config, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_free_checks_forwarded,
						setup, teardown),
	};

	return cmocka_run_group_tests_name("fault_alloc", tests, NULL, NULL);
}

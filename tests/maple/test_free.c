/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Giving nodes back (lib/maple/free.c, and the node supply's hand-over):
 * nodes retired in RCU mode reach call_rcu in batches, and a tree
 * hands its pending batch over wherever someone might wait for nodes to
 * come back.  Each test starts from a tree whose allocator has only a few
 * free nodes left, so a node stuck in a pending batch shows up as a write
 * that fails or as a live count that stays high after a grace period.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include <libiova/maple_tree.h>
#include <libiova/mt_alloc.h>

#define V(n) xa_mk_value(n)
#define RANGES 100
#define MAX_NODES 128

struct fixture {
	struct mt_allocator *a;
	struct maple_tree mt;
	void *held[MAX_NODES];
	unsigned int nheld;
};

static uint64_t live_of(struct mt_allocator *a)
{
	struct mt_alloc_stats st;

	assert_int_equal(mt_allocator_stats(a, &st), 0);
	return st.live;
}

/*
 * A tree of RANGES ranges [10 i, 10 i + 4] built outside RCU mode (so
 * nothing is retired yet), then every free node of its allocator held
 * but @spare, then RCU mode on.
 */
static void setup(struct fixture *f, unsigned int spare,
		  unsigned int block_ms)
{
	struct mt_node_cache_config cfg = { .max_nodes = MAX_NODES,
					    .block_timeout_ms = block_ms };
	void *node;

	f->a = mt_node_cache_create(&cfg);
	assert_non_null(f->a);
	mt_init_flags(&f->mt, 0);
	assert_int_equal(mt_set_allocator(&f->mt, f->a), 0);
	for (unsigned long i = 0; i < RANGES; i++)
		assert_int_equal(mtree_store_range(&f->mt, 10 * i, 10 * i + 4,
						   V(i), GFP_KERNEL),
				 0);
	f->nheld = 0;
	while ((node = mt_node_alloc(f->a, GFP_NOWAIT)))
		f->held[f->nheld++] = node;
	assert_true(f->nheld >= spare);
	for (unsigned int i = 0; i < spare; i++)
		mt_node_free(f->a, f->held[--f->nheld]);
	mt_set_in_rcu(&f->mt);
}

/* Erase range @i (@on false) or store it back: each copies a leaf. */
static int toggle(struct fixture *f, unsigned long i, bool on, gfp_t gfp)
{
	return mtree_store_range(&f->mt, 10 * i, 10 * i + 4,
				 on ? V(i) : NULL, gfp);
}

static void teardown(struct fixture *f)
{
	assert_int_equal(mt_validate(&f->mt), 0);
	mtree_destroy(&f->mt);
	urcu_memb_barrier();
	while (f->nheld)
		mt_node_free(f->a, f->held[--f->nheld]);
	/* the batch pending at destruction came back too */
	assert_int_equal(live_of(f->a), 0);
	assert_int_equal(mt_allocator_destroy(f->a), 0);
}

/* A write that finds no node hands the batch over, so after a grace
 * period the same write succeeds. */
static void test_failure_hands_batch_over(void **state)
{
	struct fixture f;
	int ret = 0;
	unsigned long i;

	(void)state;
	setup(&f, 4, 0);
	/* four spare nodes: a few leaf copies use them up, and the nodes
	 * they replaced wait in the pending batch */
	for (i = 0; i < 20; i++) {
		ret = toggle(&f, i, false, GFP_NOWAIT);
		if (ret)
			break;
	}
	assert_int_equal(ret, -ENOMEM);
	/* the failed write changed nothing */
	assert_ptr_equal(mtree_load(&f.mt, 10 * i + 2), V(i));
	urcu_memb_barrier();
	assert_int_equal(toggle(&f, i, false, GFP_NOWAIT), 0);
	assert_null(mtree_load(&f.mt, 10 * i + 2));
	teardown(&f);
}

/* A blocking write waits for the batch it hands over instead of timing
 * out: every write succeeds, far inside the allocator's 3 s timeout. */
static void test_blocking_write_waits_for_batch(void **state)
{
	struct fixture f;
	struct timespec t0, t1;
	double ms;

	(void)state;
	setup(&f, 6, 3000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long i = 0; i < 50; i++)
		assert_int_equal(toggle(&f, i % 10, i % 20 >= 10, GFP_KERNEL),
				 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	assert_true(ms < 3000.0);
	for (unsigned long i = 0; i < RANGES; i++)
		assert_ptr_equal(mtree_load(&f.mt, 10 * i + 2),
				 i < 10 ? NULL : V(i));
	teardown(&f);
}

/* Leaving RCU mode hands the batch over: the retired nodes come back
 * after the grace period, and the live count is what it was. */
static void test_rcu_off_hands_batch_over(void **state)
{
	struct fixture f;
	uint64_t before;

	(void)state;
	setup(&f, 8, 0);
	before = live_of(f.a);
	assert_int_equal(toggle(&f, 50, false, GFP_NOWAIT), 0);
	assert_int_equal(toggle(&f, 50, true, GFP_NOWAIT), 0);
	urcu_memb_barrier();
	/* still pending: the batch holds the two replaced leaves */
	assert_int_equal(live_of(f.a), before + 2);
	mt_clear_in_rcu(&f.mt);
	urcu_memb_barrier();
	assert_int_equal(live_of(f.a), before);
	teardown(&f);
}

/* A full batch goes to call_rcu without any other hand-over point. */
static void test_full_batch_goes_alone(void **state)
{
	struct fixture f;
	uint64_t before;
	unsigned int n = 0;

	(void)state;
	setup(&f, 40, 0);
	before = live_of(f.a);
	/* each copy leaves one more node live until its batch comes back */
	do {
		assert_int_equal(toggle(&f, 60, n % 2, GFP_NOWAIT), 0);
		n++;
		urcu_memb_barrier();
	} while (live_of(f.a) > before && n < 200);
	/* the first batch is its holder and 25 more nodes: 26 copies */
	assert_int_equal(n, 26);
	teardown(&f);
}

/* A tree emptied in RCU mode changes allocators: the pending batch goes
 * back to the allocator its nodes came from. */
static void test_set_allocator_hands_batch_over(void **state)
{
	struct mt_allocator *a = mt_node_cache_create(NULL);
	struct mt_allocator *b = mt_node_cache_create(NULL);
	struct maple_tree mt;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	mt_init_flags(&mt, MT_FLAGS_USE_RCU);
	assert_int_equal(mt_set_allocator(&mt, a), 0);
	for (unsigned long i = 0; i < RANGES; i++)
		assert_int_equal(mtree_store_range(&mt, 10 * i + 1, 10 * i + 4,
						   V(i), GFP_KERNEL),
				 0);
	for (unsigned long i = 0; i < RANGES; i++)
		assert_ptr_equal(mtree_erase(&mt, 10 * i + 2), V(i));
	assert_true(mtree_empty(&mt));
	assert_int_equal(mt_set_allocator(&mt, b), 0);
	urcu_memb_barrier();
	assert_int_equal(live_of(a), 0);
	assert_int_equal(mtree_store_range(&mt, 5, 9, V(5), GFP_KERNEL), 0);
	mtree_destroy(&mt);
	urcu_memb_barrier();
	assert_int_equal(live_of(b), 0);
	assert_int_equal(mt_allocator_destroy(a), 0);
	assert_int_equal(mt_allocator_destroy(b), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure_hands_batch_over),
		cmocka_unit_test(test_blocking_write_waits_for_batch),
		cmocka_unit_test(test_rcu_off_hands_batch_over),
		cmocka_unit_test(test_full_batch_goes_alone),
		cmocka_unit_test(test_set_allocator_hands_batch_over),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The node supply's reserve (lib/maple/supply.c) and the never-failing
 * erase: writes with __GFP_HIGH
 * draw on the reserve when the allocator fails, blocking writes refill
 * it, and mtree_erase() with neither memory nor reserve leaves
 * XA_ZERO_ENTRY behind - counted and reported, never silent.
 *
 * RCU mode makes every erase that is not an exact fit build a node, so
 * the allocator's failures reach every case here.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include <libiova/maple_tree.h>

#define V(n) xa_mk_value(n)

struct fx {
	struct maple_tree mt;
	struct mt_allocator *cache, *fault;
	unsigned long failed_index;
	void *failed_entry;
	int failed_calls;
};

static void on_erase_failed(struct maple_tree *mt, unsigned long index,
			    void *entry, void *arg)
{
	struct fx *f = arg;

	(void)mt;
	f->failed_index = index;
	f->failed_entry = entry;
	f->failed_calls++;
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.cache = mt_node_cache_create(NULL);
	f.fault = mt_fault_allocator_create(f.cache);
	mt_init_flags(&f.mt, MT_FLAGS_USE_RCU);
	mt_set_allocator(&f.mt, f.fault);
	mt_set_erase_failed(&f.mt, on_erase_failed, &f);
	for (unsigned long i = 0; i < 1000; i++)
		mtree_store_range(&f.mt, 10 * i, 10 * i + 5, V(i), GFP_KERNEL);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct mt_alloc_stats st;

	mt_fault_allocator_set(f->fault, NULL);
	assert_int_equal(mt_validate(&f->mt), 0);
	mtree_destroy(&f->mt);
	urcu_memb_barrier();
	mt_allocator_stats(f->cache, &st);
	assert_int_equal(st.live, 0);
	mt_allocator_destroy(f->fault);
	mt_allocator_destroy(f->cache);
	return 0;
}

static void fail_all(struct fx *f)
{
	struct mt_fault_config always = { .mode = MT_FAULT_ALWAYS };

	mt_fault_allocator_set(f->fault, &always);
}

static struct mt_tree_stats tstats(struct fx *f)
{
	struct mt_tree_stats st;

	assert_int_equal(mt_tree_stats(&f->mt, &st), 0);
	return st;
}

static void test_reserve_feeds_atomic_writes(void **state)
{
	struct fx *f = *state;
	struct mt_tree_stats st;

	assert_int_equal(mt_reserve_nodes(&f->mt, 8, GFP_KERNEL), 0);
	st = tstats(f);
	assert_int_equal(st.reserve_target, 8);
	assert_int_equal(st.reserve_now, 8);
	fail_all(f);
	/* GFP_NOWAIT does not touch the reserve */
	assert_int_equal(mtree_store(&f->mt, 10 * 5 + 7, V(1), GFP_NOWAIT),
			 -ENOMEM);
	assert_int_equal(tstats(f).reserve_now, 8);
	/* GFP_ATOMIC does */
	assert_int_equal(mtree_store(&f->mt, 10 * 5 + 7, V(1), GFP_ATOMIC), 0);
	st = tstats(f);
	assert_true(st.reserve_now < 8);
	assert_int_equal(st.reserve_draws, 8 - st.reserve_now);
	assert_int_equal(st.reserve_low, st.reserve_now);
	assert_ptr_equal(mtree_load(&f->mt, 57), V(1));
	/* the allocator recovers: the next blocking write refills */
	mt_fault_allocator_set(f->fault, NULL);
	assert_int_equal(mtree_store(&f->mt, 10 * 6 + 7, V(2), GFP_KERNEL), 0);
	st = tstats(f);
	assert_int_equal(st.reserve_now, 8);
	assert_int_equal(st.reserve_refills, st.reserve_draws);
	/* a lower target gives nodes back; 0 gives all */
	assert_int_equal(mt_reserve_nodes(&f->mt, 0, GFP_KERNEL), 0);
	assert_int_equal(tstats(f).reserve_now, 0);
}

static void test_erase_uses_reserve(void **state)
{
	struct fx *f = *state;

	assert_int_equal(mt_reserve_nodes(&f->mt, 4, GFP_KERNEL), 0);
	fail_all(f);
	/* the allocator fails even blocking requests: the reserve serves */
	assert_ptr_equal(mtree_erase(&f->mt, 10 * 300 + 2), V(300));
	assert_null(mtree_load(&f->mt, 10 * 300));
	assert_true(tstats(f).reserve_draws >= 1);
	assert_int_equal(tstats(f).erase_zeroed, 0);
	assert_int_equal(f->failed_calls, 0);
	mt_fault_allocator_set(f->fault, NULL);
	/* the range is free again */
	assert_int_equal(mtree_insert_range(&f->mt, 10 * 300, 10 * 300 + 5,
					    V(1), GFP_KERNEL), 0);
}

static void test_erase_exhausted_is_loud(void **state)
{
	struct fx *f = *state;

	fail_all(f);
	/* no memory, no reserve: the erase still happens for readers */
	assert_ptr_equal(mtree_erase(&f->mt, 10 * 400 + 3), V(400));
	assert_null(mtree_load(&f->mt, 10 * 400 + 3));
	assert_int_equal(tstats(f).erase_zeroed, 1);
	assert_int_equal(f->failed_calls, 1);
	assert_int_equal(f->failed_index, 10 * 400 + 3);
	assert_ptr_equal(f->failed_entry, V(400));
	/* ... but the range stays occupied, never silently reused */
	mt_fault_allocator_set(f->fault, NULL);
	assert_int_equal(mtree_insert(&f->mt, 10 * 400 + 3, V(1), GFP_KERNEL),
			 -EEXIST);
	/* a later erase inside it, with memory, frees it */
	assert_null(mtree_erase(&f->mt, 10 * 400));
	assert_int_equal(mtree_insert_range(&f->mt, 10 * 400, 10 * 400 + 5,
					    V(1), GFP_KERNEL), 0);
	assert_int_equal(f->failed_calls, 1);
}

/* The advanced API reports a failed erase and leaves the entry in place. */
static void test_advanced_erase_reports(void **state)
{
	struct fx *f = *state;
	struct mt_fault_config atomic_fails = {
		.mode = MT_FAULT_ALWAYS, .flags = MT_FAULT_ONLY_NONBLOCKING,
	};
	MA_STATE(mas, &f->mt, 10 * 200, 10 * 200 + 5);

	mt_fault_allocator_set(f->fault, &atomic_fails);
	mtree_lock(&f->mt);
	/* the GFP_ATOMIC erase of the kernel discussion */
	assert_int_equal(mas_store_gfp(&mas, NULL, GFP_ATOMIC), -ENOMEM);
	mtree_unlock(&f->mt);
	assert_ptr_equal(mtree_load(&f->mt, 10 * 200 + 3), V(200));
	assert_int_equal(mt_validate(&f->mt), 0);

	/* mas_erase records the failure; mas_nomem() then gets the nodes */
	fail_all(f);
	mtree_lock(&f->mt);
	mas_set(&mas, 10 * 200 + 1);
	assert_null(mas_erase(&mas));
	assert_true(mas_is_err(&mas));
	assert_int_equal(xa_err(mas.node), -ENOMEM);
	assert_false(mas_nomem(&mas, GFP_KERNEL)); /* still no memory */
	mt_fault_allocator_set(f->fault, NULL);
	assert_true(mas_nomem(&mas, GFP_KERNEL));
	mas_set(&mas, 10 * 200 + 1);
	assert_ptr_equal(mas_erase(&mas), V(200));
	assert_false(mas_is_err(&mas));
	assert_int_equal(mas.index, 10 * 200);
	assert_int_equal(mas.last, 10 * 200 + 5);
	mas_destroy(&mas);
	mtree_unlock(&f->mt);
	assert_null(mtree_load(&f->mt, 10 * 200 + 3));
	assert_int_equal(tstats(f).erase_zeroed, 0);
}

static void test_reserve_bad_input(void **state)
{
	struct fx *f = *state;

	(void)f;
	assert_int_equal(mt_reserve_nodes(NULL, 4, GFP_KERNEL), -EINVAL);
	assert_int_equal(mt_tree_stats(NULL, NULL), -EINVAL);
	assert_int_equal(mt_tree_stats(&f->mt, NULL), -EINVAL);
	/* filling fails: the target stays as it was, nothing is half-counted */
	fail_all(f);
	assert_int_equal(mt_reserve_nodes(&f->mt, 4, GFP_KERNEL), -ENOMEM);
	assert_int_equal(tstats(f).reserve_target, 0);
	assert_int_equal(tstats(f).reserve_now, 0);
}

/*
 * Live nodes of the cache once every node the tree has replaced is back:
 * the tree is in RCU mode, so replaced nodes wait in a batch and then for
 * a grace period, and a count taken while one is in flight drifts by the
 * time of the next (switching RCU mode off and on hands the batch over).
 */
static uint64_t cache_live(struct fx *f)
{
	struct mt_alloc_stats st;

	mt_clear_in_rcu(&f->mt);
	mt_set_in_rcu(&f->mt);
	urcu_memb_barrier();
	mt_allocator_stats(f->cache, &st);
	return st.live;
}

/*
 * The reserve is bounded (MT_RESERVE_MAX) and a call that fails changes
 * nothing: no target a later write would try to reach, no node kept.  A
 * reserve of UINT_MAX nodes once kept its target after -ENOMEM, and an
 * uncapped cache would have tried for a terabyte.
 */
static void test_reserve_bounded_all_or_nothing(void **state)
{
	struct fx *f = *state;
	struct mt_fault_config third = { .mode = MT_FAULT_FROM_NTH, .n = 3 };
	uint64_t live;

	assert_int_equal(mt_reserve_nodes(&f->mt, 8, GFP_KERNEL), 0);
	live = cache_live(f);
	assert_int_equal(mt_reserve_nodes(&f->mt, UINT_MAX, GFP_KERNEL),
			 -EINVAL);
	assert_int_equal(mt_reserve_nodes(&f->mt, MT_RESERVE_MAX + 1,
					  GFP_KERNEL), -EINVAL);
	assert_int_equal(tstats(f).reserve_target, 8);
	assert_int_equal(tstats(f).reserve_now, 8);
	assert_int_equal(cache_live(f), live);

	/* a partial fill gives back what it took: 2 nodes here */
	mt_fault_allocator_set(f->fault, &third);
	assert_int_equal(mt_reserve_nodes(&f->mt, 20, GFP_KERNEL), -ENOMEM);
	assert_int_equal(tstats(f).reserve_target, 8);
	assert_int_equal(tstats(f).reserve_now, 8);
	assert_int_equal(cache_live(f), live);
	/* and later blocking writes aim for the old target only */
	mt_fault_allocator_set(f->fault, NULL);
	assert_int_equal(mtree_store_range(&f->mt, 20000, 20005, V(1),
					   GFP_KERNEL), 0);
	assert_int_equal(tstats(f).reserve_now, 8);

	/* the bound itself is allowed; a smaller target gives nodes back */
	live = cache_live(f);
	assert_int_equal(mt_reserve_nodes(&f->mt, MT_RESERVE_MAX, GFP_KERNEL),
			 0);
	assert_int_equal(tstats(f).reserve_now, MT_RESERVE_MAX);
	assert_int_equal(mt_reserve_nodes(&f->mt, 3, GFP_KERNEL), 0);
	assert_int_equal(tstats(f).reserve_target, 3);
	assert_int_equal(tstats(f).reserve_now, 3);
	assert_int_equal(tstats(f).reserve_low, 3);
	assert_int_equal(cache_live(f), live - 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reserve_feeds_atomic_writes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_erase_uses_reserve, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_erase_exhausted_is_loud,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_advanced_erase_reports,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_bad_input, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_reserve_bounded_all_or_nothing, setup, teardown),
	};

	return cmocka_run_group_tests_name("supply", tests, NULL, NULL);
}

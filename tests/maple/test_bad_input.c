/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bad input, table-driven: every write and search call with every kind of
 * bad argument returns its documented error, changes nothing, allocates
 * nothing and does not crash - on a regular tree and on an allocation tree.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include <libiova/maple_tree.h>

#define V(n) xa_mk_value(n)
#define RESERVED xa_mk_internal(3) /* internal and below 4096 */

static struct maple_tree other; /* a second, non-empty tree */

/* Each case: one call, its result as an errno (0 if none). */
struct bad_case {
	const char *what;
	int (*call)(struct maple_tree *mt);
	int err_regular; /* expected on a regular tree */
	int err_alloc;   /* expected on an allocation tree */
};

#define CASE(name, expr)                                                      \
	static int name(struct maple_tree *mt)                                \
	{                                                                     \
		unsigned long s = 77, nx = 5;                                 \
		(void)s;                                                      \
		(void)nx;                                                     \
		return (expr);                                                \
	}

static int mas_call(struct maple_tree *mt, int which)
{
	MA_STATE(mas, mt, 10, 5); /* index > last */

	switch (which) {
	case 0:
		mas_store(&mas, V(1));
		return mas_is_err(&mas) ? xa_err(mas.node) : 0;
	case 1:
		return mas_store_gfp(&mas, V(1), GFP_KERNEL);
	case 2:
		return mas_preallocate(&mas, V(1), GFP_KERNEL);
	case 3:
		mas_set(&mas, 0);
		return mas_empty_area(&mas, 10, 5, 1);
	case 4:
		mas_set(&mas, 0);
		return mas_empty_area(&mas, 0, 100, 0);
	case 5:
		mas_set(&mas, 0);
		return mas_empty_area(&mas, 0, 9, 11);
	case 6:
		mas_set(&mas, 0);
		return mas_empty_area_rev(&mas, 10, 5, 1);
	case 7:
		mas_set(&mas, 0);
		return mas_empty_area_rev(&mas, 0, 100, 0);
	case 8:
		mas_set(&mas, 0);
		return mas_empty_area_rev(&mas, 5, ULONG_MAX - 1, ULONG_MAX);
	case 9:
		mas_set(&mas, 0);
		return mas_empty_area_aligned(&mas, 0, 100, 4, 3, 0, true);
	case 10:
		mas_set(&mas, 0);
		return mas_empty_area_aligned(&mas, 0, 100, 4, 0, 0, false);
	default:
		mas_set(&mas, 0);
		return mas_empty_area_aligned(&mas, 50, 10, 4, 4, 1, false);
	}
}

CASE(store_order, mtree_store_range(mt, 10, 5, V(1), GFP_KERNEL))
CASE(store_reserved, mtree_store_range(mt, 10, 20, RESERVED, GFP_KERNEL))
CASE(store_one_reserved, mtree_store(mt, 10, RESERVED, GFP_KERNEL))
CASE(store_zero_entry, mtree_store(mt, 10, XA_ZERO_ENTRY, GFP_KERNEL))
CASE(insert_order, mtree_insert_range(mt, 10, 5, V(1), GFP_KERNEL))
CASE(insert_null, mtree_insert_range(mt, 1000, 1005, NULL, GFP_KERNEL))
CASE(insert_reserved, mtree_insert(mt, 1000, RESERVED, GFP_KERNEL))
CASE(insert_over, mtree_insert_range(mt, 0, ULONG_MAX, V(1), GFP_KERNEL))
CASE(alloc_size0, mtree_alloc_range(mt, &s, V(1), 0, 0, 1000, GFP_KERNEL))
CASE(alloc_minmax, mtree_alloc_range(mt, &s, V(1), 1, 1000, 10, GFP_KERNEL))
CASE(alloc_window, mtree_alloc_range(mt, &s, V(1), 20, 0, 9, GFP_KERNEL))
CASE(alloc_null, mtree_alloc_range(mt, &s, NULL, 1, 0, 1000, GFP_KERNEL))
CASE(alloc_reserved, mtree_alloc_range(mt, &s, RESERVED, 1, 0, 1000,
				       GFP_KERNEL))
CASE(alloc_full, mtree_alloc_range(mt, &s, V(1), 4, 100, 103, GFP_KERNEL))
CASE(ralloc_size0, mtree_alloc_rrange(mt, &s, V(1), 0, 0, 1000, GFP_KERNEL))
CASE(ralloc_minmax, mtree_alloc_rrange(mt, &s, V(1), 1, 1000, 10,
				       GFP_KERNEL))
CASE(ralloc_window, mtree_alloc_rrange(mt, &s, V(1), 20, 0, 9, GFP_KERNEL))
CASE(ralloc_null, mtree_alloc_rrange(mt, &s, NULL, 1, 0, 1000, GFP_KERNEL))
CASE(cyclic_order, mtree_alloc_cyclic(mt, &s, V(1), 100, 10, &nx,
				      GFP_KERNEL))
CASE(cyclic_null, mtree_alloc_cyclic(mt, &s, NULL, 0, 100, &nx, GFP_KERNEL))
CASE(cyclic_full, mtree_alloc_cyclic(mt, &s, V(1), 100, 103, &nx,
				     GFP_KERNEL))
CASE(mas_store_order, mas_call(mt, 0))
CASE(mas_store_gfp_order, mas_call(mt, 1))
CASE(mas_prealloc_order, mas_call(mt, 2))
CASE(empty_area_minmax, mas_call(mt, 3))
CASE(empty_area_size0, mas_call(mt, 4))
CASE(empty_area_window, mas_call(mt, 5))
CASE(empty_area_rev_minmax, mas_call(mt, 6))
CASE(empty_area_rev_size0, mas_call(mt, 7))
CASE(empty_area_rev_huge, mas_call(mt, 8))
CASE(empty_area_align3, mas_call(mt, 9))
CASE(empty_area_align0, mas_call(mt, 10))
CASE(empty_area_aligned_minmax, mas_call(mt, 11))
CASE(dup_self, mtree_dup(mt, mt, GFP_KERNEL))
CASE(dup_into_nonempty, mtree_dup(mt, &other, GFP_KERNEL))
CASE(dup_null, mtree_dup(mt, NULL, GFP_KERNEL))
CASE(set_allocator_busy, mt_set_allocator(mt, NULL))

static int find_past_max(struct maple_tree *mt)
{
	unsigned long index = 500;
	void *entry = mt_find(mt, &index, 100);

	/* NULL, and the index left alone */
	return entry == NULL && index == 500 ? -EINVAL : 0;
}

static const struct bad_case cases[] = {
	{ "store: first > last", store_order, -EINVAL, -EINVAL },
	{ "store: reserved entry", store_reserved, -EINVAL, -EINVAL },
	{ "store one: reserved entry", store_one_reserved, -EINVAL, -EINVAL },
	{ "store: XA_ZERO_ENTRY (normal API)", store_zero_entry, -EINVAL,
	  -EINVAL },
	{ "insert: first > last", insert_order, -EINVAL, -EINVAL },
	{ "insert: NULL entry", insert_null, -EINVAL, -EINVAL },
	{ "insert: reserved entry", insert_reserved, -EINVAL, -EINVAL },
	{ "insert: over existing entries", insert_over, -EEXIST, -EEXIST },
	{ "alloc_range: size 0", alloc_size0, -EINVAL, -EINVAL },
	{ "alloc_range: min > max", alloc_minmax, -EINVAL, -EINVAL },
	{ "alloc_range: window < size", alloc_window, -EINVAL, -EINVAL },
	{ "alloc_range: NULL entry", alloc_null, -EINVAL, -EINVAL },
	{ "alloc_range: reserved entry", alloc_reserved, -EINVAL, -EINVAL },
	{ "alloc_range: no room", alloc_full, -EINVAL, -EBUSY },
	{ "alloc_rrange: size 0", ralloc_size0, -EINVAL, -EINVAL },
	{ "alloc_rrange: min > max", ralloc_minmax, -EINVAL, -EINVAL },
	{ "alloc_rrange: window < size", ralloc_window, -EINVAL, -EINVAL },
	{ "alloc_rrange: NULL entry", ralloc_null, -EINVAL, -EINVAL },
	{ "alloc_cyclic: lo > hi", cyclic_order, -EINVAL, -EINVAL },
	{ "alloc_cyclic: NULL entry", cyclic_null, -EINVAL, -EINVAL },
	{ "alloc_cyclic: no room", cyclic_full, -EINVAL, -EBUSY },
	{ "mas_store: index > last", mas_store_order, -EINVAL, -EINVAL },
	{ "mas_store_gfp: index > last", mas_store_gfp_order, -EINVAL,
	  -EINVAL },
	{ "mas_preallocate: index > last", mas_prealloc_order, -EINVAL,
	  -EINVAL },
	{ "mas_empty_area: min > max", empty_area_minmax, -EINVAL, -EINVAL },
	{ "mas_empty_area: size 0", empty_area_size0, -EINVAL, -EINVAL },
	{ "mas_empty_area: window < size", empty_area_window, -EINVAL,
	  -EINVAL },
	{ "mas_empty_area_rev: min > max", empty_area_rev_minmax, -EINVAL,
	  -EINVAL },
	{ "mas_empty_area_rev: size 0", empty_area_rev_size0, -EINVAL,
	  -EINVAL },
	{ "mas_empty_area_rev: window < size", empty_area_rev_huge, -EINVAL,
	  -EINVAL },
	{ "mas_empty_area_aligned: align 3", empty_area_align3, -EINVAL,
	  -EINVAL },
	{ "mas_empty_area_aligned: align 0", empty_area_align0, -EINVAL,
	  -EINVAL },
	{ "mas_empty_area_aligned: min > max", empty_area_aligned_minmax,
	  -EINVAL, -EINVAL },
	{ "mtree_dup: into itself", dup_self, -EINVAL, -EINVAL },
	{ "mtree_dup: into a non-empty tree", dup_into_nonempty, -EINVAL,
	  -EINVAL },
	{ "mtree_dup: NULL tree", dup_null, -EINVAL, -EINVAL },
	{ "mt_set_allocator: tree holds nodes", set_allocator_busy, -EBUSY,
	  -EBUSY },
	{ "mt_find: index past max", find_past_max, -EINVAL, -EINVAL },
};

/* The tree's ranges, to compare before and after. */
static size_t snapshot(struct maple_tree *mt, unsigned long *out, size_t cap)
{
	MA_STATE(mas, mt, 0, 0);
	size_t n = 0;
	void *entry;

	mas_for_each(&mas, entry, ULONG_MAX) {
		if (n + 3 > cap)
			break;
		out[n++] = mas.index;
		out[n++] = mas.last;
		out[n++] = (unsigned long)entry;
	}
	return n;
}

static void run_cases(unsigned int flags)
{
	static unsigned long before[30000], after[30000];
	struct mt_allocator *alloc = mt_node_cache_create(NULL);
	struct maple_tree mt;
	struct mt_alloc_stats s0, s1;

	mt_init_flags(&mt, flags);
	mt_set_allocator(&mt, alloc);
	for (unsigned long i = 0; i < 2000; i++)
		mtree_store_range(&mt, 10 * i, 10 * i + 5, V(i), GFP_KERNEL);
	mt_init(&other);
	mtree_store(&other, 1, V(1), GFP_KERNEL);

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		int want = flags & MT_FLAGS_ALLOC_RANGE ? cases[c].err_alloc
							 : cases[c].err_regular;
		size_t nb = snapshot(&mt, before, 30000), na;
		unsigned int height = mt_height(&mt);
		int got;

		mt_allocator_stats(alloc, &s0);
		got = cases[c].call(&mt);
		mt_allocator_stats(alloc, &s1);
		na = snapshot(&mt, after, 30000);
		if (got != want)
			fail_msg("%s (flags %#x): returned %d, expected %d",
				 cases[c].what, flags, got, want);
		if (s1.allocs != s0.allocs || s1.failures != s0.failures)
			fail_msg("%s (flags %#x): allocated", cases[c].what,
				 flags);
		if (na != nb || memcmp(before, after, nb * sizeof(before[0])) ||
		    mt_height(&mt) != height || mt_validate(&mt))
			fail_msg("%s (flags %#x): the tree changed",
				 cases[c].what, flags);
	}
	mtree_destroy(&other);
	mtree_destroy(&mt);
	mt_allocator_stats(alloc, &s1);
	assert_int_equal(s1.live, 0);
	assert_int_equal(mt_allocator_destroy(alloc), 0);
}

static void test_bad_input_regular(void **state)
{
	(void)state;
	run_cases(0);
}

static void test_bad_input_alloc(void **state)
{
	(void)state;
	run_cases(MT_FLAGS_ALLOC_RANGE);
}

/*
 * A broken user allocator: while `skew` is set it hands out nodes 64 bytes
 * off their alignment.  Each block is a 512-byte aligned allocation, so a
 * skewed pointer still finds its block when it comes back; `outstanding`
 * counts what it has handed out and not had back.
 */
struct skewed_pool {
	bool skew;
	long outstanding;
};

static void *skewed_alloc(void *priv, gfp_t gfp)
{
	struct skewed_pool *p = priv;
	char *block = aligned_alloc(2 * MT_NODE_SIZE, 2 * MT_NODE_SIZE);

	(void)gfp;
	if (!block)
		return NULL;
	p->outstanding++;
	return p->skew ? block + 64 : block;
}

static void skewed_free(void *priv, void *node)
{
	struct skewed_pool *p = priv;

	p->outstanding--;
	free((void *)((uintptr_t)node & ~(uintptr_t)(2 * MT_NODE_SIZE - 1)));
}

/*
 * A misaligned node is caught where it would enter the tree, whichever way
 * it comes (a write's own allocation, preallocation, the retry after a
 * failed attempt, the node reserve, dup, bulk requests), and fails the
 * call with -EINVAL through the allocation-failure path: the tree as it
 * was, the node handed back, nothing lost.  mtree_erase still never fails.
 */
static void misaligned_allocator(unsigned int flags)
{
	static const struct mt_allocator_ops ops = { .alloc = skewed_alloc,
						     .free = skewed_free };
	static unsigned long before[3000], after[3000];
	struct skewed_pool pool = { 0 };
	struct mt_allocator *a = mt_allocator_create(&ops, &pool);
	struct mt_allocator *fault = mt_fault_allocator_create(a);
	struct maple_tree mt, copy;
	struct mt_tree_stats ts;
	void *nodes[4];
	unsigned long start;
	size_t nb;

	assert_non_null(fault);
	mt_init_flags(&mt, flags);
	assert_int_equal(mt_set_allocator(&mt, a), 0);
	pool.skew = true;
	/* the very first store (it used to crash) */
	assert_int_equal(mtree_store_range(&mt, 5, 9, V(1), GFP_KERNEL),
			 -EINVAL);
	assert_true(mtree_empty(&mt));
	assert_int_equal(pool.outstanding, 0);
	errno = 0;
	assert_null(mt_node_alloc(a, GFP_KERNEL));
	assert_int_equal(errno, EINVAL);
	assert_null(mt_node_alloc(fault, GFP_KERNEL));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mt_node_alloc_bulk(a, GFP_KERNEL, 4, nodes), -EINVAL);
	assert_int_equal(mt_node_alloc_bulk(fault, GFP_KERNEL, 4, nodes),
			 -EINVAL);
	assert_int_equal(pool.outstanding, 0);

	pool.skew = false;
	for (unsigned long i = 0; i < 300; i++)
		assert_int_equal(mtree_store_range(&mt, 10 * i, 10 * i + 5,
						   V(i), GFP_KERNEL), 0);
	pool.skew = true;
	nb = snapshot(&mt, before, 3000);
	{
		MA_STATE(mas, &mt, 10 * 100 + 6, 10 * 200);

		mtree_lock(&mt);
		assert_int_equal(mas_store_gfp(&mas, V(7), GFP_KERNEL),
				 -EINVAL);
		assert_int_equal(mas_preallocate(&mas, V(7), GFP_KERNEL),
				 -EINVAL);
		mas_destroy(&mas);
		mtree_unlock(&mt);
	}
	assert_int_equal(mtree_store_range(&mt, 10 * 100 + 6, 10 * 200, V(7),
					   GFP_KERNEL), -EINVAL);
	assert_int_equal(mtree_insert(&mt, 10 * 50 + 7, V(8), GFP_KERNEL),
			 -EINVAL);
	if (flags & MT_FLAGS_ALLOC_RANGE)
		assert_int_equal(mtree_alloc_range(&mt, &start, V(9), 3, 0,
						   ULONG_MAX, GFP_KERNEL),
				 -EINVAL);
	assert_int_equal(mt_reserve_nodes(&mt, 4, GFP_KERNEL), -EINVAL);
	assert_int_equal(mt_tree_stats(&mt, &ts), 0);
	assert_int_equal(ts.reserve_target, 0);
	assert_int_equal(ts.reserve_now, 0);
	mt_init_flags(&copy, 0);
	assert_int_equal(mt_set_allocator(&copy, a), 0);
	assert_int_equal(mtree_dup(&mt, &copy, GFP_KERNEL), -EINVAL);
	assert_true(mtree_empty(&copy));
	assert_int_equal(mt_validate(&mt), 0);
	assert_int_equal(snapshot(&mt, after, 3000), nb);
	assert_memory_equal(before, after, nb * sizeof(before[0]));

	/* an erase that needs a node still takes the entry away */
	mt_set_in_rcu(&mt);
	assert_ptr_equal(mtree_erase(&mt, 10 * 150 + 2), V(150));
	assert_null(mtree_load(&mt, 10 * 150 + 2));
	assert_int_equal(mt_validate(&mt), 0);

	pool.skew = false;
	mtree_destroy(&mt);
	urcu_memb_barrier();
	assert_int_equal(pool.outstanding, 0);
	assert_int_equal(mt_allocator_destroy(fault), 0);
	assert_int_equal(mt_allocator_destroy(a), 0);
}

static void test_misaligned_allocator(void **state)
{
	(void)state;
	misaligned_allocator(0);
	misaligned_allocator(MT_FLAGS_ALLOC_RANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_input_regular),
		cmocka_unit_test(test_bad_input_alloc),
		cmocka_unit_test(test_misaligned_allocator),
	};

	return cmocka_run_group_tests_name("bad_input", tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * White-box tests of gap.c, linked against the library's internal static
 * archive so they can call what the shared library hides:
 *
 *   - ma_max_gap() of leaves built item by item, against sizes computed
 *     here, saturation at ULONG_MAX included;
 *   - the O(1) gap update of a slot store (path_slot_gap_changed): exact
 *     fits that fill and free gaps, in random order, with every arange
 *     node's gaps, end and largest-gap slot checked after each against a
 *     recomputation of this file's own from the leaves up.
 *
 * Randomized: the seed is printed and MT_SEED re-runs one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "gap.h"
#include "rebuild.h"

#include "prng.h"

#define V(i) xa_mk_value(i)

static uint64_t seed;

/* ---- the reference: the largest NULL range below a node ---------------- */

/* Check an arange node's metadata against its children, recursively;
 * count every difference in *@bad.  Returns the node's largest gap. */
static unsigned long ref_gap(struct maple_enode *enode, unsigned long min,
			     unsigned long max, unsigned int *bad)
{
	enum maple_type type = mte_node_type(enode);
	struct maple_node *node = mte_to_node(enode);
	unsigned long *pivots = ma_pivots(node, type);
	void **slots = ma_slots(node, type);
	unsigned int end = ma_data_end(node, type, max);
	unsigned long best = 0, lo = min;

	for (unsigned int i = 0; i <= end; i++) {
		unsigned long hi = i < end ? pivots[i] : max;
		unsigned long g;

		if (ma_is_leaf(type)) {
			g = slots[i] ? 0 : range_size(lo, hi);
		} else {
			g = ref_gap(slots[i], lo, hi, bad);
			if (node->a.gap[i] != g)
				(*bad)++;
		}
		if (g > best)
			best = g;
		lo = hi + 1;
	}
	if (type == maple_arange_64) {
		if (node->a.end != end)
			(*bad)++;
		/* any slot holding the largest gap will do */
		if (node->a.gap_off > end ||
		    node->a.gap[node->a.gap_off] != best)
			(*bad)++;
	}
	/* and the library's own answer for this node */
	if (ma_max_gap(node, type, min, max) != best)
		(*bad)++;
	return best;
}

static unsigned int tree_gap_errors(struct maple_tree *mt)
{
	unsigned int bad = 0;

	if (ma_root_is_node(mt->ma_root))
		ref_gap(mt->ma_root, 0, ULONG_MAX, &bad);
	return bad;
}

/* ---- ma_max_gap on leaves built item by item ---------------------------- */

static void test_leaf_max_gap(void **state)
{
	static struct maple_node leaf;
	struct maple_big_node b = { .count = 0, .min = 100 };

	(void)state;
	/* [100,104] NULL (5), [105,109] x, [110,199] NULL (90), [200,300] x */
	big_node_push(&b, 104, NULL, 0);
	big_node_push(&b, 109, V(1), 0);
	big_node_push(&b, 199, NULL, 0);
	big_node_push(&b, 300, V(2), 0);
	ma_node_write(&leaf, maple_leaf_64, &b, 0, b.count, 300);
	assert_int_equal(ma_max_gap(&leaf, maple_leaf_64, 100, 300), 90);
	assert_int_equal(ma_node_count(ma_mk_enode(&leaf, maple_leaf_64), 300),
			 4);

	/* the last slot's range ends at the node's max, not at a pivot */
	b.count = 0;
	b.min = 0;
	big_node_push(&b, 9, V(1), 0);
	big_node_push(&b, 5000, NULL, 0);
	ma_node_write(&leaf, maple_leaf_64, &b, 0, b.count, 5000);
	assert_int_equal(ma_max_gap(&leaf, maple_leaf_64, 0, 5000), 4991);

	/* the whole index space free: 2^64 saturates at ULONG_MAX */
	b.count = 0;
	big_node_push(&b, ULONG_MAX, NULL, 0);
	ma_node_write(&leaf, maple_leaf_64, &b, 0, b.count, ULONG_MAX);
	assert_true(ma_max_gap(&leaf, maple_leaf_64, 0, ULONG_MAX) ==
		    ULONG_MAX);

	/* no NULL at all */
	b.count = 0;
	big_node_push(&b, 7, V(1), 0);
	big_node_push(&b, 8, V(2), 0);
	ma_node_write(&leaf, maple_leaf_64, &b, 0, b.count, 8);
	assert_int_equal(ma_max_gap(&leaf, maple_leaf_64, 0, 8), 0);
}

/* ---- slot stores keep every gap exact ------------------------------------ */

/*
 * Slot i covers [32i, 32i + 31]: an entry, a gap of gap[i] indices (1 to
 * 25, drawn at random) and another entry.  Storing an entry exactly over
 * a gap, or NULL exactly over it again (its neighbours are entries), is
 * an exact fit: one slot store and the O(1) gap update, which must notice
 * when the leaf's largest gap grows, shrinks or moves.
 */
static void slot_store_run(unsigned int flags, unsigned long n)
{
	struct prng rng = { seed };
	struct maple_tree mt;
	unsigned char *filled = calloc(n, 1);
	unsigned char *gap = calloc(n, 1);
	unsigned int bad;

	assert_non_null(filled);
	assert_non_null(gap);
	mt_init_flags(&mt, MT_FLAGS_ALLOC_RANGE | flags);
	for (unsigned long i = 0; i < n; i++) {
		gap[i] = (unsigned char)(1 + prng_below(&rng, 25));
		assert_int_equal(mtree_store_range(&mt, 32 * i, 32 * i + 5,
						   V(2 * i), GFP_KERNEL), 0);
		assert_int_equal(mtree_store_range(&mt, 32 * i + 6 + gap[i],
						   32 * i + 31, V(2 * i + 1),
						   GFP_KERNEL), 0);
	}
	/* the tail beyond the last slot would be one big gap: fill it */
	assert_int_equal(mtree_store_range(&mt, 32 * n, ULONG_MAX, V(0),
					   GFP_KERNEL), 0);
	assert_int_equal(tree_gap_errors(&mt), 0);

	for (unsigned int op = 0; op < 6000; op++) {
		unsigned long i = prng_below(&rng, n);
		unsigned long first = 32 * i + 6, last = first + gap[i] - 1;
		uint64_t allocs;
		struct mt_alloc_stats st;

		/* fill a gap, or free it again */
		mt_allocator_stats(mt_allocator_default(), &st);
		allocs = st.allocs;
		assert_int_equal(mtree_store_range(&mt, first, last,
						   filled[i] ? NULL : V(i),
						   GFP_KERNEL), 0);
		filled[i] = !filled[i];
		/* an exact fit, in RCU mode too: no node taken */
		mt_allocator_stats(mt_allocator_default(), &st);
		if (st.allocs != allocs)
			fail_msg("seed %llu op %u: an exact fit took %llu "
				 "nodes", (unsigned long long)seed, op,
				 (unsigned long long)(st.allocs - allocs));
		bad = tree_gap_errors(&mt);
		if (bad)
			fail_msg("seed %llu op %u (slot %lu, %s): %u gap "
				 "metadata differ", (unsigned long long)seed,
				 op, i, filled[i] ? "filled" : "freed", bad);
	}
	assert_int_equal(mt_validate(&mt), 0);
	mtree_destroy(&mt);
	free(filled);
	free(gap);
}

static void test_slot_store_gaps(void **state)
{
	(void)state;
	slot_store_run(0, 3000);
}

static void test_slot_store_gaps_rcu(void **state)
{
	(void)state;
	slot_store_run(MT_FLAGS_USE_RCU, 3000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf_max_gap),
		cmocka_unit_test(test_slot_store_gaps),
		cmocka_unit_test(test_slot_store_gaps_rcu),
	};

	seed = prng_seed_from_env("MT_SEED", (uint64_t)time(NULL));
	printf("# seed %llu (MT_SEED=%llu to re-run)\n",
	       (unsigned long long)seed, (unsigned long long)seed);
	return cmocka_run_group_tests_name("gap", tests, NULL, NULL);
}

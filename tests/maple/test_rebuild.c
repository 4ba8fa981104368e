/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * White-box tests of rebuild.c, linked against the library's internal
 * static archive so they can call and inspect what the shared library
 * hides:
 *
 *   - ma_node_write() fills every pivot, slot and gap of a node, so a
 *     node need not be cleared first (written over a node full of junk);
 *   - where packing leaves its room: appends fill every node of a level
 *     but the rightmost, descending stores (top-down allocation) every
 *     node but the leftmost, and random stores keep every node other than
 *     the root and the rightmost at least at its minimum, at every depth;
 *   - the node count of a rebuild, taken dry (wr_node_count), is what the
 *     store then takes from the allocator.
 *
 * Randomized: the seed is printed and MT_SEED re-runs one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "rebuild.h"
#include "write.h"

#include "prng.h"

#define V(i) xa_mk_value(i)

static uint64_t seed;

/* ---- ma_node_write ------------------------------------------------------- */

static void test_node_write_whole(void **state)
{
	static struct maple_node node;
	struct maple_big_node b = { .count = 0, .min = 0 };

	(void)state;
	for (unsigned int i = 0; i < 3; i++)
		big_node_push(&b, 100 * (i + 1), V(i), 7 * i);

	memset(&node, 0xa5, sizeof(node));
	ma_node_write(&node, maple_leaf_64, &b, 0, 3, 1000);
	for (unsigned int i = 0; i < 2; i++)
		assert_int_equal(node.r.pivot[i], 100 * (i + 1));
	/* the last item's pivot and every unused one hold the node's max */
	for (unsigned int i = 2; i < MAPLE_RANGE64_SLOTS - 1; i++)
		assert_int_equal(node.r.pivot[i], 1000);
	for (unsigned int i = 0; i < MAPLE_RANGE64_SLOTS; i++)
		assert_ptr_equal(node.r.slot[i], i < 3 ? V(i) : NULL);
	assert_int_equal(ma_data_end(&node, maple_leaf_64, 1000), 2);

	memset(&node, 0xa5, sizeof(node));
	ma_node_write(&node, maple_arange_64, &b, 1, 2, 1000);
	assert_int_equal(node.a.pivot[0], 200);
	for (unsigned int i = 1; i < MAPLE_ARANGE64_SLOTS - 1; i++)
		assert_int_equal(node.a.pivot[i], 1000);
	for (unsigned int i = 0; i < MAPLE_ARANGE64_SLOTS; i++) {
		assert_ptr_equal(node.a.slot[i], i < 2 ? V(i + 1) : NULL);
		assert_int_equal(node.a.gap[i], i < 2 ? 7 * (i + 1) : 0);
	}
	assert_int_equal(node.a.end, 1);
	assert_int_equal(node.a.gap_off, 1);
}

/* ---- where packing leaves its room ---------------------------------------- */

struct level_census {
	unsigned int nodes, under_min, not_full;
};

/* Count, per depth, the nodes under their minimum and those not full,
 * leaving out the root and the rightmost (or leftmost) node of a level. */
static void census(struct maple_enode *enode, unsigned long min,
		   unsigned long max, unsigned int depth, bool skip_left,
		   struct level_census *lv)
{
	enum maple_type type = mte_node_type(enode);
	struct maple_node *node = mte_to_node(enode);
	unsigned int count = ma_node_count(enode, max);
	bool edge = skip_left ? min == 0 : max == ULONG_MAX;

	lv[depth].nodes++;
	if (depth > 0 && !edge) {
		if (count < ma_type_min_slots(type))
			lv[depth].under_min++;
		if (count < ma_type_slots(type))
			lv[depth].not_full++;
	}
	if (ma_is_leaf(type))
		return;
	unsigned long *pivots = ma_pivots(node, type);
	void **slots = ma_slots(node, type);
	unsigned long lo = min;

	for (unsigned int i = 0; i < count; i++) {
		unsigned long hi = i + 1 < count ? pivots[i] : max;

		census(slots[i], lo, hi, depth + 1, skip_left, lv);
		lo = hi + 1;
	}
}

static void take_census(struct maple_tree *mt, bool skip_left,
			struct level_census *lv)
{
	memset(lv, 0, MAPLE_HEIGHT_MAX * sizeof(*lv));
	assert_true(ma_root_is_node(mt->ma_root));
	census(mt->ma_root, 0, ULONG_MAX, 0, skip_left, lv);
}

static void test_append_fills_nodes(void **state)
{
	struct level_census lv[MAPLE_HEIGHT_MAX];
	static const unsigned int flags[] = { 0, MT_FLAGS_ALLOC_RANGE,
					      MT_FLAGS_USE_RCU };

	(void)state;
	for (unsigned int f = 0; f < 3; f++) {
		struct maple_tree mt;

		mt_init_flags(&mt, flags[f]);
		for (unsigned long i = 0; i < 20000; i++)
			assert_int_equal(mtree_store_range(&mt, 10 * i,
							   10 * i + 5, V(i),
							   GFP_KERNEL), 0);
		take_census(&mt, false, lv);
		for (unsigned int d = 0; d < mt_height(&mt); d++)
			if (lv[d].not_full)
				fail_msg("flags %#x depth %u: %u of %u nodes "
					 "left with room by appends", flags[f],
					 d, lv[d].not_full, lv[d].nodes);
		mtree_destroy(&mt);
	}
}

/* Top-down allocation: each range just below the last one.  The room is
 * left in the first node, so every other leaf leaves full. */
static void test_descending_fills_leaves(void **state)
{
	struct level_census lv[MAPLE_HEIGHT_MAX];
	struct maple_tree mt;
	unsigned int leaf;

	(void)state;
	mt_init_flags(&mt, MT_FLAGS_ALLOC_RANGE);
	for (unsigned long i = 20000; i-- > 0;)
		assert_int_equal(mtree_store_range(&mt, 10 * i, 10 * i + 5,
						   V(i), GFP_KERNEL), 0);
	take_census(&mt, true, lv);
	leaf = mt_height(&mt) - 1;
	if (lv[leaf].not_full)
		fail_msg("%u of %u leaves left with room by descending stores",
			 lv[leaf].not_full, lv[leaf].nodes);
	mtree_destroy(&mt);
}

static void test_random_keeps_minimum(void **state)
{
	struct level_census lv[MAPLE_HEIGHT_MAX];
	struct prng rng = { seed };
	struct maple_tree mt;

	(void)state;
	mt_init_flags(&mt, MT_FLAGS_ALLOC_RANGE);
	for (unsigned int op = 0; op < 60000; op++) {
		unsigned long first = prng_below(&rng, 1000000);
		unsigned long last = first + prng_below(&rng, 20);

		assert_int_equal(mtree_store_range(&mt, first, last,
						   prng_below(&rng, 3)
							   ? V(op) : NULL,
						   GFP_KERNEL), 0);
		if (op % 5000 == 4999) {
			take_census(&mt, false, lv);
			for (unsigned int d = 1; d < mt_height(&mt); d++)
				if (lv[d].under_min)
					fail_msg("seed %llu op %u depth %u: %u "
						 "nodes under the minimum",
						 (unsigned long long)seed, op,
						 d, lv[d].under_min);
		}
	}
	mtree_destroy(&mt);
}

/* ---- a dry rebuild counts what the store takes ---------------------------- */

static uint64_t allocs_now(void)
{
	struct mt_alloc_stats st;

	mt_allocator_stats(mt_allocator_default(), &st);
	return st.allocs;
}

static void test_dry_count_is_taken(void **state)
{
	struct prng rng = { seed ^ 0x5bd1e995 };
	struct maple_tree mt;
	unsigned int rebuilds = 0;

	(void)state;
	mt_init_flags(&mt, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU);
	for (unsigned int op = 0; op < 20000; op++) {
		unsigned long first = prng_below(&rng, 400000);
		unsigned long last = first + (prng_below(&rng, 40)
						      ? prng_below(&rng, 10)
						      : prng_below(&rng, 5000));
		void *entry = prng_below(&rng, 4) ? V(op) : NULL;
		MA_STATE(mas, &mt, first, last);
		unsigned int counted;
		uint64_t before;

		mtree_lock(&mt);
		counted = wr_node_count(&mas, entry);
		before = allocs_now();
		mas_set_range(&mas, first, last);
		wr_store(&mas, entry, GFP_NOWAIT);
		assert_false(mas_is_err(&mas));
		if (allocs_now() - before != counted)
			fail_msg("seed %llu op %u: counted %u, the store took "
				 "%llu", (unsigned long long)seed, op, counted,
				 (unsigned long long)(allocs_now() - before));
		rebuilds += counted > 1;
		mtree_unlock(&mt);
	}
	/* the run reached rebuilds, not only one-leaf stores */
	assert_true(rebuilds > 100);
	assert_int_equal(mt_validate(&mt), 0);
	mtree_destroy(&mt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_write_whole),
		cmocka_unit_test(test_append_fills_nodes),
		cmocka_unit_test(test_descending_fills_leaves),
		cmocka_unit_test(test_random_keeps_minimum),
		cmocka_unit_test(test_dry_count_is_taken),
	};

	seed = prng_seed_from_env("MT_SEED", (uint64_t)time(NULL));
	printf("# seed %llu (MT_SEED=%llu to re-run)\n",
	       (unsigned long long)seed, (unsigned long long)seed);
	return cmocka_run_group_tests_name("rebuild", tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The write path (lib/maple/write.c, rebuild.c): each kind of store
 * forced on purpose, at heights 1 to 4
 * and more, and seen through what it must do: the allocator's counts (an
 * in-place store takes no node, a node store takes one), the height, the
 * contents (against the reference model) and mt_validate().
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include <libiova/maple_tree.h>

#include "model.h"

#define V(n) xa_mk_value(n)

struct t {
	struct maple_tree mt;
	struct mt_allocator *alloc;
	struct model model;
};

static void t_init(struct t *t, unsigned int flags)
{
	t->alloc = mt_node_cache_create(NULL);
	assert_non_null(t->alloc);
	mt_init_flags(&t->mt, flags);
	assert_int_equal(mt_set_allocator(&t->mt, t->alloc), 0);
	model_init(&t->model);
}

static uint64_t allocs(struct t *t)
{
	struct mt_alloc_stats st;

	mt_allocator_stats(t->alloc, &st);
	return st.allocs;
}

static uint64_t live(struct t *t)
{
	struct mt_alloc_stats st;

	mt_allocator_stats(t->alloc, &st);
	return st.live;
}

/* The tree equals the model, range for range, and is valid. */
static void t_check(struct t *t)
{
	MA_STATE(mas, &t->mt, 0, 0);
	size_t k = 0;
	void *entry;

	assert_int_equal(mt_validate(&t->mt), 0);
	mas_for_each(&mas, entry, ULONG_MAX) {
		assert_true(k < t->model.count);
		assert_ptr_equal(entry, t->model.r[k].entry);
		assert_int_equal(mas.index, t->model.r[k].first);
		assert_int_equal(mas.last, t->model.r[k].last);
		k++;
	}
	assert_int_equal(k, t->model.count);
}

static void t_store(struct t *t, unsigned long first, unsigned long last,
		    void *entry)
{
	assert_int_equal(mtree_store_range(&t->mt, first, last, entry,
					   GFP_KERNEL), 0);
	model_store(&t->model, first, last, entry);
}

static void t_fini(struct t *t)
{
	mtree_destroy(&t->mt);
	urcu_memb_barrier();
	assert_int_equal(live(t), 0);
	assert_int_equal(mt_allocator_destroy(t->alloc), 0);
	model_free(&t->model);
}

/* Entries [10i, 10i + 5] for i < n, appended in order. */
static void t_fill(struct t *t, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		t_store(t, 10 * i, 10 * i + 5, V(i));
}

/* Appending grows the tree a new root at a time; each step is valid. */
static void test_new_root_each_height(void **state)
{
	struct t t;
	unsigned int height = 0, seen = 0;

	(void)state;
	t_init(&t, 0);
	for (unsigned long i = 0; seen < 5; i++) {
		t_store(&t, 10 * i, 10 * i + 5, V(i));
		if (mt_height(&t.mt) != height) {
			/* a new root: exactly one level more */
			assert_int_equal(mt_height(&t.mt), height + 1);
			height = mt_height(&t.mt);
			seen++;
			t_check(&t);
		}
	}
	assert_int_equal(height, 5);
	t_fini(&t);
}

/* What mas_preallocate() reserves for storing @entry over [first, last]. */
static unsigned int prealloc_count(struct t *t, unsigned long first,
				   unsigned long last, void *entry)
{
	MA_STATE(mas, &t->mt, first, last);
	unsigned int n;

	mtree_lock(&t->mt);
	assert_int_equal(mas_preallocate(&mas, entry, GFP_KERNEL), 0);
	n = mas.alloc_count;
	mas_destroy(&mas);
	mtree_unlock(&t->mt);
	return n;
}

/* Outside RCU mode a store that fits its leaf takes no node. */
static void test_in_place_paths(void **state)
{
	struct t t;
	uint64_t before;

	(void)state;
	t_init(&t, 0);
	t_fill(&t, 2000);
	/* sequential fill leaves full leaves: the first append may split */
	t_store(&t, 10 * 2000, 10 * 2000 + 1, V(9001));
	before = allocs(&t);
	/* erase that merges NULLs inside a leaf: two slots freed in the
	 * leaf of entries 496..503 */
	assert_int_equal(prealloc_count(&t, 10 * 501, 10 * 501 + 5, NULL), 0);
	t_store(&t, 10 * 501, 10 * 501 + 5, NULL);
	/* preallocation for in-place stores and exact fits: none */
	assert_int_equal(prealloc_count(&t, 10 * 500 + 2, 10 * 500 + 3,
					V(1)), 0);
	assert_int_equal(prealloc_count(&t, 10 * 700, 10 * 700 + 5, V(1)), 0);
	/* slot store into that room: a range split in three */
	t_store(&t, 10 * 500 + 2, 10 * 500 + 3, V(9000));
	/* append: the tail of the rightmost leaf */
	t_store(&t, 10 * 2001, 10 * 2001 + 1, V(9003));
	/* exact fit */
	t_store(&t, 10 * 700, 10 * 700 + 5, V(9002));
	assert_int_equal(allocs(&t), before);
	t_check(&t);
	t_fini(&t);
}

/*
 * An entry over part of a leaf's last range: the one or two new items go
 * after the data end (an append), with what was there kept before and
 * after the entry, in leaves that end in NULL and in an entry, at the
 * tree's right edge and inside it.  No node is taken outside RCU mode.
 */
static void test_append_shapes(void **state)
{
	static const unsigned int flags[] = { 0, MT_FLAGS_ALLOC_RANGE };
	struct t t;

	(void)state;
	for (unsigned int f = 0; f < 2; f++) {
		uint64_t before;

		t_init(&t, flags[f]);
		/* a root leaf: NULL tail split after, before and around */
		t_store(&t, 100, 199, V(1));
		before = allocs(&t);
		t_store(&t, 200, 209, V(2));          /* at the tail's start */
		t_store(&t, 300, ULONG_MAX, V(3));    /* to the tree's end */
		t_store(&t, 250, 259, V(4));          /* inside the NULL */
		t_store(&t, 400, 409, V(5));          /* inside an entry */
		assert_int_equal(allocs(&t), before);
		t_check(&t);
		t_fini(&t);

		/* the last range of a leaf that is not the rightmost */
		t_init(&t, flags[f]);
		t_fill(&t, 3000);
		for (unsigned long i = 0; i < 3000; i += 97) {
			/* the gap after entry i is [10i + 6, 10i + 9] */
			t_store(&t, 10 * i + 7, 10 * i + 7, V(100000 + i));
			t_check(&t);
		}
		t_fini(&t);
	}
}

/* In RCU mode the same stores build a new node (one each) instead. */
static void test_node_store_rcu(void **state)
{
	struct t t;
	uint64_t before;

	(void)state;
	t_init(&t, MT_FLAGS_USE_RCU);
	t_fill(&t, 2000);
	/* make room in the leaf of entries 496..503: one new node */
	before = allocs(&t);
	t_store(&t, 10 * 501, 10 * 501 + 5, NULL);
	assert_int_equal(allocs(&t), before + 1);
	/* a store that now fits that leaf: one new node again, and that is
	 * what preallocation reserves; an exact fit reserves none */
	assert_int_equal(prealloc_count(&t, 10 * 500 + 2, 10 * 500 + 3,
					V(9000)), 1);
	assert_int_equal(prealloc_count(&t, 10 * 700, 10 * 700 + 5, V(1)), 0);
	before = allocs(&t);
	t_store(&t, 10 * 500 + 2, 10 * 500 + 3, V(9000));
	assert_int_equal(allocs(&t), before + 1);
	/* exact fit still takes nothing */
	t_store(&t, 10 * 700, 10 * 700 + 5, V(9002));
	assert_int_equal(allocs(&t), before + 1);
	t_check(&t);
	t_fini(&t);
}

/*
 * Split a full leaf in the middle of trees of height 1 to 4: insert into
 * it until it must split, then check.  With sequential fill every leaf
 * but the last is full, so the first extra range splits (or pushes).
 */
static void test_split_each_height(void **state)
{
	static const unsigned long sizes[] = { 6, 60, 1000, 16000, 300000 };

	(void)state;
	for (unsigned int h = 0; h < 5; h++) {
		struct t t;
		unsigned long n = sizes[h], mid = n / 2;
		uint64_t before;

		t_init(&t, h % 2 ? MT_FLAGS_ALLOC_RANGE : 0);
		t_fill(&t, n);
		before = allocs(&t);
		/* split a range into three: the leaf gains two slots */
		t_store(&t, 10 * mid + 2, 10 * mid + 3, V(7777));
		t_store(&t, 10 * (mid + 1) + 2, 10 * (mid + 1) + 3, V(7778));
		if (h > 0)
			assert_true(allocs(&t) > before);
		t_check(&t);
		t_fini(&t);
	}
}

/* Erasing from one leaf until it underflows rebalances with a sibling. */
static void test_rebalance(void **state)
{
	(void)state;
	for (unsigned int flags = 0; flags <= MT_FLAGS_ALLOC_RANGE; flags++) {
		struct t t;
		uint64_t nodes;

		t_init(&t, flags);
		t_fill(&t, 20000);
		nodes = live(&t);
		/* empty a stretch in the middle, entry by entry */
		for (unsigned long i = 5000; i < 5200; i++) {
			assert_ptr_equal(mtree_erase(&t.mt, 10 * i), V(i));
			model_store(&t.model, 10 * i, 10 * i + 5, NULL);
		}
		/* the emptied leaves were merged away */
		assert_true(live(&t) < nodes);
		t_check(&t);
		t_fini(&t);
	}
}

/*
 * Spanning stores whose two ends share a parent, a grandparent, or only
 * the root: spans of growing width in a tree of height 4 or more.
 */
static void test_spanning(void **state)
{
	static const unsigned long spans[] = { 12, 200, 3000, 50000 };

	(void)state;
	for (unsigned int k = 0; k < 4; k++) {
		for (unsigned int flags = 0; flags <= MT_FLAGS_ALLOC_RANGE;
		     flags++) {
			struct t t;
			unsigned long a = 30007, b = a + 10 * spans[k];

			t_init(&t, flags);
			t_fill(&t, 100000);
			assert_true(mt_height(&t.mt) >= 4);
			t_store(&t, a, b, V(123456));
			t_check(&t);
			/* and a NULL one across the same kind of span */
			t_store(&t, b + 1003, b + 1003 + 10 * spans[k], NULL);
			t_check(&t);
			t_fini(&t);
		}
	}
}

/* A NULL store over nearly everything drops several levels at once. */
static void test_shrink(void **state)
{
	struct t t;

	(void)state;
	t_init(&t, 0);
	t_fill(&t, 100000);
	assert_true(mt_height(&t.mt) >= 4);
	t_store(&t, 15, 10 * 99999 - 1, NULL);
	assert_true(mt_height(&t.mt) <= 2);
	t_check(&t);
	/* and to nothing */
	t_store(&t, 0, ULONG_MAX, NULL);
	assert_true(mtree_empty(&t.mt));
	assert_int_equal(mt_height(&t.mt), 0);
	assert_int_equal(live(&t), 0);
	t_fini(&t);
}

/*
 * A tree whose contents become all NULL frees its nodes, whatever its
 * height and however the NULL got there: one store over everything, one
 * over just the entries, two spanning halves, the advanced API (plain and
 * preallocated), erases in either order.  It is empty again (height 0),
 * may change allocators, and, once RCU has given back what it retired,
 * holds no node.
 */
enum null_way { NW_ALL, NW_ENTRIES, NW_HALVES, NW_MAS, NW_PREALLOC,
		NW_ERASE_UP, NW_ERASE_DOWN, NW_COUNT };

static void make_all_null(struct t *t, unsigned long n, enum null_way way)
{
	unsigned long end = 10 * (n - 1) + 5, mid = 10 * (n / 2) + 2;
	MA_STATE(mas, &t->mt, 0, end);

	switch (way) {
	case NW_ALL:
		t_store(t, 0, ULONG_MAX, NULL);
		break;
	case NW_ENTRIES:
		t_store(t, 0, end, NULL);
		break;
	case NW_HALVES:
		t_store(t, mid, ULONG_MAX, NULL);
		t_check(t);
		t_store(t, 0, mid, NULL);
		break;
	case NW_MAS:
		mtree_lock(&t->mt);
		assert_int_equal(mas_store_gfp(&mas, NULL, GFP_KERNEL), 0);
		mtree_unlock(&t->mt);
		model_store(&t->model, 0, end, NULL);
		break;
	case NW_PREALLOC:
		mtree_lock(&t->mt);
		assert_int_equal(mas_preallocate(&mas, NULL, GFP_KERNEL), 0);
		mas_store_prealloc(&mas, NULL);
		mtree_unlock(&t->mt);
		model_store(&t->model, 0, end, NULL);
		break;
	case NW_ERASE_UP:
	case NW_ERASE_DOWN:
		for (unsigned long k = 0; k < n; k++) {
			unsigned long i = way == NW_ERASE_UP ? k : n - 1 - k;

			assert_ptr_equal(mtree_erase(&t->mt, 10 * i + 1), V(i));
			model_store(&t->model, 10 * i, 10 * i + 5, NULL);
		}
		break;
	case NW_COUNT:
		break;
	}
}

static void test_all_null_frees_nodes(void **state)
{
	static const unsigned int flags[] = { 0, MT_FLAGS_ALLOC_RANGE,
					       MT_FLAGS_USE_RCU };
	static const unsigned long sizes[] = { 1, 2, 20, 300, 5000 };

	(void)state;
	for (unsigned int f = 0; f < 3; f++) {
		for (unsigned int z = 0; z < 5; z++) {
			for (int way = 0; way < NW_COUNT; way++) {
				struct t t;

				t_init(&t, flags[f]);
				t_fill(&t, sizes[z]);
				make_all_null(&t, sizes[z], (enum null_way)way);
				t_check(&t);
				assert_true(mtree_empty(&t.mt));
				assert_int_equal(mt_height(&t.mt), 0);
				/* hands the retired batch over, too */
				assert_int_equal(mt_set_allocator(&t.mt,
								  t.alloc), 0);
				urcu_memb_barrier();
				assert_int_equal(live(&t), 0);
				/* and it is a tree like any other */
				t_fill(&t, 3);
				t_check(&t);
				t_fini(&t);
			}
		}
	}
}

/*
 * Where splits leave their room: ranges stored from the top down (what
 * top-down IOVA allocation does) pack as densely as ranges appended from
 * the bottom up, in plain and allocation trees, and so do ranges stored
 * bottom-up below an entry at the top (no rightmost node to grow).
 * Half-full nodes, what an even split leaves behind, need ~1.5x as many.
 */
static uint64_t nodes_after(unsigned int flags, int order, unsigned long n)
{
	struct t t;
	uint64_t nodes;

	t_init(&t, flags);
	if (order == 2)
		t_store(&t, 1ul << 40, 1ul << 40, V(0));
	for (unsigned long i = 0; i < n; i++) {
		unsigned long at = order == 1 ? 10 * (n - i) : 10 * i + 10;

		t_store(&t, at, at + 5, V(i + 1));
	}
	t_check(&t);
	nodes = live(&t);
	t_fini(&t);
	return nodes;
}

static void test_directional_fill(void **state)
{
	static const unsigned int flags[] = { 0, MT_FLAGS_ALLOC_RANGE };

	(void)state;
	for (unsigned int f = 0; f < 2; f++) {
		uint64_t up = nodes_after(flags[f], 0, 20000);
		uint64_t down = nodes_after(flags[f], 1, 20000);
		uint64_t below_top = nodes_after(flags[f], 2, 20000);

		print_message("flags %#x: nodes up %llu, down %llu, "
			      "up below an entry %llu\n",
			      flags[f], (unsigned long long)up,
			      (unsigned long long)down,
			      (unsigned long long)below_top);
		assert_true(down * 20 <= up * 21);
		assert_true(below_top * 20 <= up * 21);
	}
}

/*
 * Sequential appends need no more nodes than the items take: range i is
 * [10i, 10i + 5], so N ranges are 2N items (each range and the NULL gap
 * after it, the last one up to ULONG_MAX), 16 to a leaf, and each level
 * above has one slot per node below (16 to a node in a regular tree, 10
 * in an allocation tree).  Every node but the last of each level full is
 * the floor; the count must be exactly that, in RCU mode too (once RCU
 * mode is off, which hands over the last partial batch of replaced nodes,
 * and their grace period has passed).  An even split on append, or
 * a split one item short, shows here as a few percent more nodes.
 */
static uint64_t packed_floor(unsigned long items, unsigned int fanout)
{
	uint64_t total = 0, level = (items + 15) / 16;

	for (;;) {
		total += level;
		if (level == 1)
			return total;
		level = (level + fanout - 1) / fanout;
	}
}

static void test_append_floor(void **state)
{
	static const unsigned int flags[] = {
		0, MT_FLAGS_ALLOC_RANGE, MT_FLAGS_USE_RCU,
		MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU,
	};
	static const unsigned long sizes[] = { 8, 9, 128, 129, 2049, 20000 };

	(void)state;
	for (unsigned int f = 0; f < 4; f++)
		for (unsigned int s = 0; s < 6; s++) {
			unsigned long n = sizes[s];
			unsigned int fanout =
				flags[f] & MT_FLAGS_ALLOC_RANGE ? 10 : 16;
			uint64_t want = packed_floor(2 * n, fanout), got;
			struct t t;

			t_init(&t, flags[f]);
			for (unsigned long i = 0; i < n; i++)
				t_store(&t, 10 * i, 10 * i + 5, V(i + 1));
			t_check(&t);
			mt_clear_in_rcu(&t.mt);
			urcu_memb_barrier();
			got = live(&t);
			if (got != want)
				print_message("flags %#x, %lu ranges: %llu nodes, "
					      "floor %llu\n", flags[f], n,
					      (unsigned long long)got,
					      (unsigned long long)want);
			assert_true(got == want);
			t_fini(&t);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_root_each_height),
		cmocka_unit_test(test_in_place_paths),
		cmocka_unit_test(test_append_shapes),
		cmocka_unit_test(test_node_store_rcu),
		cmocka_unit_test(test_split_each_height),
		cmocka_unit_test(test_rebalance),
		cmocka_unit_test(test_spanning),
		cmocka_unit_test(test_shrink),
		cmocka_unit_test(test_all_null_frees_nodes),
		cmocka_unit_test(test_directional_fill),
		cmocka_unit_test(test_append_floor),
	};

	return cmocka_run_group_tests_name("write", tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the maple tree API, call by call, at the edges: the empty
 * tree, the root entry, index 0 and ULONG_MAX, [0, ULONG_MAX], the
 * iteration states, allocation trees, bad input.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include <urcu/urcu-memb.h>

#include <libiova/maple_tree.h>

#define V(n) xa_mk_value(n)

struct fixture {
	struct mt_allocator *alloc;
	struct maple_tree mt;
};

static int setup_flags(void **state, unsigned int flags)
{
	static struct fixture f;

	f.alloc = mt_node_cache_create(NULL);
	if (!f.alloc)
		return -1;
	mt_init_flags(&f.mt, flags);
	if (mt_set_allocator(&f.mt, f.alloc))
		return -1;
	*state = &f;
	return 0;
}

static int setup(void **state)
{
	return setup_flags(state, 0);
}

static int setup_alloc(void **state)
{
	return setup_flags(state, MT_FLAGS_ALLOC_RANGE);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct mt_alloc_stats st;

	/* a test that failed while holding the lock must not hang us */
	pthread_mutex_trylock(&f->mt.ma_lock);
	pthread_mutex_unlock(&f->mt.ma_lock);
	assert_int_equal(mt_validate(&f->mt), 0);
	mtree_destroy(&f->mt);
	assert_true(mtree_empty(&f->mt));
	mt_allocator_stats(f->alloc, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(mt_allocator_destroy(f->alloc), 0);
	return 0;
}

static void test_empty_tree(void **state)
{
	struct fixture *f = *state;
	MA_STATE(mas, &f->mt, 12345, 12345);
	unsigned long index = 0;

	assert_true(mtree_empty(&f->mt));
	assert_int_equal(mt_height(&f->mt), 0);
	assert_null(mtree_load(&f->mt, 0));
	assert_null(mtree_load(&f->mt, ULONG_MAX));
	assert_null(mt_find(&f->mt, &index, ULONG_MAX));
	assert_int_equal(index, 0);
	assert_null(mtree_erase(&f->mt, 7));
	assert_null(mas_walk(&mas));
	assert_int_equal(mas.status, ma_none);
	assert_int_equal(mas.index, 0);
	assert_int_equal(mas.last, ULONG_MAX);
	/* storing NULL into an empty tree allocates nothing */
	assert_int_equal(mtree_store_range(&f->mt, 5, 10, NULL, GFP_KERNEL), 0);
	assert_true(mtree_empty(&f->mt));
}

static void test_root_entry(void **state)
{
	struct fixture *f = *state;
	MA_STATE(mas, &f->mt, 0, 0);
	struct mt_alloc_stats st;

	/* a lone entry at 0 lives in the root: height 0, no node */
	assert_int_equal(mtree_store(&f->mt, 0, V(1), GFP_KERNEL), 0);
	assert_int_equal(mt_height(&f->mt), 0);
	mt_allocator_stats(f->alloc, &st);
	assert_int_equal(st.live, 0);
	assert_ptr_equal(mtree_load(&f->mt, 0), V(1));
	assert_null(mtree_load(&f->mt, 1));
	assert_ptr_equal(mas_walk(&mas), V(1));
	assert_int_equal(mas.status, ma_root);
	assert_int_equal(mas.last, 0);
	mas_set(&mas, 9);
	assert_null(mas_walk(&mas));
	assert_int_equal(mas.index, 1);
	assert_int_equal(mas.last, ULONG_MAX);

	/* a second entry makes a leaf */
	assert_int_equal(mtree_store(&f->mt, 5, V(5), GFP_KERNEL), 0);
	assert_int_equal(mt_height(&f->mt), 1);
	assert_ptr_equal(mtree_load(&f->mt, 0), V(1));
	assert_ptr_equal(mtree_load(&f->mt, 5), V(5));
	assert_ptr_equal(mtree_erase(&f->mt, 5), V(5));
	assert_ptr_equal(mtree_erase(&f->mt, 0), V(1));
	assert_true(mtree_empty(&f->mt));
	assert_int_equal(mt_height(&f->mt), 0);
}

static void test_whole_range(void **state)
{
	struct fixture *f = *state;
	unsigned long index = 0;

	assert_int_equal(mtree_store_range(&f->mt, 0, ULONG_MAX, V(9),
					   GFP_KERNEL), 0);
	assert_ptr_equal(mtree_load(&f->mt, 0), V(9));
	assert_ptr_equal(mtree_load(&f->mt, ULONG_MAX / 3), V(9));
	assert_ptr_equal(mtree_load(&f->mt, ULONG_MAX), V(9));
	/* mt_find over a range ending at ULONG_MAX wraps the index to 0 */
	assert_ptr_equal(mt_find(&f->mt, &index, ULONG_MAX), V(9));
	assert_int_equal(index, 0);
	assert_null(mt_find_after(&f->mt, &index, ULONG_MAX));
	/* erase by any index inside the range takes it all */
	assert_ptr_equal(mtree_erase(&f->mt, 123456), V(9));
	assert_true(mtree_empty(&f->mt));
}

static void test_extreme_indices(void **state)
{
	struct fixture *f = *state;
	MA_STATE(mas, &f->mt, ULONG_MAX, ULONG_MAX);

	assert_int_equal(mtree_store(&f->mt, ULONG_MAX, V(2), GFP_KERNEL), 0);
	assert_int_equal(mtree_store(&f->mt, 0, V(1), GFP_KERNEL), 0);
	assert_ptr_equal(mtree_load(&f->mt, ULONG_MAX), V(2));
	assert_null(mtree_load(&f->mt, ULONG_MAX - 1));
	assert_ptr_equal(mas_walk(&mas), V(2));
	assert_int_equal(mas.index, ULONG_MAX);
	assert_ptr_equal(mt_prev(&f->mt, ULONG_MAX, 0), V(1));
	assert_ptr_equal(mt_next(&f->mt, 0, ULONG_MAX), V(2));
	assert_null(mt_next(&f->mt, ULONG_MAX, ULONG_MAX));
	assert_null(mt_prev(&f->mt, 0, 0));
	assert_int_equal(mtree_insert(&f->mt, ULONG_MAX, V(3), GFP_KERNEL),
			 -EEXIST);
}

/* Stores that straddle, swallow and exactly cover existing ranges. */
/*
 * Indices are the user's: a pivot of any value, the value the node cache's
 * debug check once kept in freed nodes included, must not make a node
 * look free when the tree gives it back.
 */
static void test_index_values_are_data(void **state)
{
	struct fixture *f = *state;
	const unsigned long poison = 0x6672656564656164ul;

	assert_int_equal(mtree_store_range(&f->mt, 0, poison, V(1), GFP_KERNEL),
			 0);
	assert_int_equal(mt_validate(&f->mt), 0);
	mtree_destroy(&f->mt);
	/* many leaves, each with the value as a pivot, and rebuilt */
	for (unsigned long i = 0; i < 2000; i++)
		assert_int_equal(mtree_store_range(&f->mt, poison + i * 4,
						   poison + i * 4 + 1, V(i),
						   GFP_KERNEL), 0);
	for (unsigned long i = 0; i < 2000; i += 3)
		mtree_erase(&f->mt, poison + i * 4);
	assert_int_equal(mt_validate(&f->mt), 0);
	mtree_destroy(&f->mt);
	assert_int_equal(mtree_store_range(&f->mt, poison, ULONG_MAX, V(2),
					   GFP_KERNEL), 0);
}

static void test_overlapping_stores(void **state)
{
	struct fixture *f = *state;
	MA_STATE(mas, &f->mt, 0, 0);

	assert_int_equal(mtree_store_range(&f->mt, 10, 19, V(1), GFP_KERNEL), 0);
	assert_int_equal(mtree_store_range(&f->mt, 20, 29, V(2), GFP_KERNEL), 0);
	assert_int_equal(mtree_store_range(&f->mt, 30, 39, V(3), GFP_KERNEL), 0);
	/* straddle 1 and 2 */
	assert_int_equal(mtree_store_range(&f->mt, 15, 24, V(4), GFP_KERNEL), 0);
	assert_ptr_equal(mtree_load(&f->mt, 14), V(1));
	assert_ptr_equal(mtree_load(&f->mt, 15), V(4));
	assert_ptr_equal(mtree_load(&f->mt, 24), V(4));
	assert_ptr_equal(mtree_load(&f->mt, 25), V(2));
	/* swallow everything */
	assert_int_equal(mtree_store_range(&f->mt, 5, 45, V(5), GFP_KERNEL), 0);
	mas_set(&mas, 20);
	assert_ptr_equal(mas_walk(&mas), V(5));
	assert_int_equal(mas.index, 5);
	assert_int_equal(mas.last, 45);
	/* exactly cover: mas_store returns what it overwrote */
	mtree_lock(&f->mt);
	mas_set_range(&mas, 5, 45);
	assert_ptr_equal(mas_store(&mas, V(6)), V(5));
	mtree_unlock(&f->mt);
	assert_ptr_equal(mtree_load(&f->mt, 45), V(6));
	/* NULL in the middle splits the range */
	assert_int_equal(mtree_store_range(&f->mt, 20, 29, NULL, GFP_KERNEL), 0);
	assert_ptr_equal(mtree_load(&f->mt, 19), V(6));
	assert_null(mtree_load(&f->mt, 20));
	assert_ptr_equal(mtree_load(&f->mt, 30), V(6));
	mas_set(&mas, 25);
	assert_null(mas_walk(&mas));
	assert_int_equal(mas.index, 20);
	assert_int_equal(mas.last, 29);
}

static void test_insert(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(mtree_insert_range(&f->mt, 100, 200, V(1), GFP_KERNEL), 0);
	assert_int_equal(mtree_insert_range(&f->mt, 50, 100, V(2), GFP_KERNEL),
			 -EEXIST);
	assert_int_equal(mtree_insert_range(&f->mt, 200, 300, V(2), GFP_KERNEL),
			 -EEXIST);
	assert_int_equal(mtree_insert_range(&f->mt, 0, ULONG_MAX, V(2),
					    GFP_KERNEL), -EEXIST);
	assert_int_equal(mtree_insert_range(&f->mt, 201, 300, V(2), GFP_KERNEL), 0);
	assert_int_equal(mtree_insert(&f->mt, 99, V(3), GFP_KERNEL), 0);
	assert_ptr_equal(mtree_load(&f->mt, 150), V(1));
	assert_ptr_equal(mtree_load(&f->mt, 250), V(2));
	assert_ptr_equal(mtree_load(&f->mt, 99), V(3));
}

static void test_zero_entry(void **state)
{
	struct fixture *f = *state;
	MA_STATE(mas, &f->mt, 10, 20);
	unsigned long index = 0;

	/* only the advanced API stores XA_ZERO_ENTRY */
	assert_int_equal(mtree_store_range(&f->mt, 10, 20, XA_ZERO_ENTRY,
					   GFP_KERNEL), -EINVAL);
	mtree_lock(&f->mt);
	assert_int_equal(mas_store_gfp(&mas, XA_ZERO_ENTRY, GFP_KERNEL), 0);
	mtree_unlock(&f->mt);
	assert_int_equal(mtree_store(&f->mt, 30, V(30), GFP_KERNEL), 0);
	/* reads as NULL, but occupies its range */
	assert_null(mtree_load(&f->mt, 15));
	assert_int_equal(mtree_insert(&f->mt, 15, V(1), GFP_KERNEL), -EEXIST);
	assert_ptr_equal(mt_find(&f->mt, &index, ULONG_MAX), V(30));
	mas_set(&mas, 15);
	assert_ptr_equal(mas_walk(&mas), XA_ZERO_ENTRY);
	assert_null(mtree_erase(&f->mt, 12));
	assert_int_equal(mtree_insert(&f->mt, 15, V(1), GFP_KERNEL), 0);
}

static void test_for_each(void **state)
{
	struct fixture *f = *state;
	unsigned long index = 0, n = 0;
	void *entry;

	for (unsigned long i = 0; i < 1000; i++)
		assert_int_equal(mtree_store_range(&f->mt, i * 10, i * 10 + 5,
						   V(i), GFP_KERNEL), 0);
	mt_for_each(&f->mt, entry, index, ULONG_MAX) {
		assert_ptr_equal(entry, V(n));
		assert_int_equal(index, n * 10 + 6);
		n++;
	}
	assert_int_equal(n, 1000);

	/* a window starting inside a range returns that range */
	index = 23;
	n = 0;
	mt_for_each(&f->mt, entry, index, 55) {
		assert_ptr_equal(entry, V(2 + n));
		n++;
	}
	assert_int_equal(n, 4);
}

/* The advanced iterator, including pausing with the lock dropped. */
static void test_mas_iteration(void **state)
{
	struct fixture *f = *state;
	MA_STATE(mas, &f->mt, 0, 0);
	unsigned long n = 0;
	void *entry;

	for (unsigned long i = 1; i <= 500; i++)
		mtree_store_range(&f->mt, i * 4, i * 4 + 1, V(i), GFP_KERNEL);
	mtree_lock(&f->mt);
	mas_for_each(&mas, entry, ULONG_MAX) {
		n++;
		assert_ptr_equal(entry, V(n));
		assert_int_equal(mas.index, n * 4);
		assert_int_equal(mas.last, n * 4 + 1);
		if (n % 50 == 0) {
			mas_pause(&mas);
			mtree_unlock(&f->mt);
			mtree_lock(&f->mt);
		}
	}
	assert_int_equal(n, 500);
	mas_set(&mas, ULONG_MAX);
	mas_for_each_rev(&mas, entry, 0) {
		assert_ptr_equal(entry, V(n));
		n--;
	}
	assert_int_equal(n, 0);
	/* mas_find_range steps through the NULL ranges too */
	mas_set(&mas, 4);
	assert_ptr_equal(mas_find_range(&mas, 20), V(1));
	assert_null(mas_find_range(&mas, 20));
	assert_int_equal(mas.index, 6);
	assert_int_equal(mas.last, 7);
	assert_ptr_equal(mas_find_range(&mas, 20), V(2));
	assert_ptr_equal(mas_prev_range(&mas, 0), NULL);
	assert_int_equal(mas.index, 6);
	mtree_unlock(&f->mt);
}

/* The overflow and underflow states of mas_next and mas_prev. */
static void test_mas_states(void **state)
{
	struct fixture *f = *state;
	MA_STATE(mas, &f->mt, 0, 0);
	unsigned long index;
	void *entry;

	for (unsigned long i = 0; i < 30; i++)
		mtree_store(&f->mt, i, V(i), GFP_KERNEL);
	mtree_lock(&f->mt);

	/* underflow at the start; mas_find then returns the entry again */
	mas_set(&mas, 0);
	entry = mas_walk(&mas);
	mas_set(&mas, 0);
	assert_null(mas_prev(&mas, 0));
	assert_int_equal(mas.status, ma_underflow);
	assert_ptr_equal(mas_find(&mas, ULONG_MAX), entry);

	/* mas_next after an underflow returns the entry it left */
	entry = mas_next(&mas, ULONG_MAX);
	index = mas.index;
	assert_null(mas_prev(&mas, index));
	assert_int_equal(mas.status, ma_underflow);
	assert_ptr_equal(mas_next(&mas, ULONG_MAX), entry);

	/* overflow, then a larger limit returns the entry past the old one */
	assert_ptr_equal(mas_prev(&mas, 0), V(index - 1));
	assert_null(mas_next(&mas, index - 1));
	assert_int_equal(mas.status, ma_overflow);
	assert_ptr_equal(mas_next(&mas, ULONG_MAX), entry);

	/* off the end of the tree: overflow, and it stays there */
	mas_set(&mas, 29);
	mas_walk(&mas);
	assert_null(mas_next(&mas, ULONG_MAX));
	assert_int_equal(mas.status, ma_overflow);
	assert_null(mas_next(&mas, ULONG_MAX));
	/* stepping back from past the end finds the last entry */
	assert_ptr_equal(mas_prev(&mas, 0), V(29));
	mtree_unlock(&f->mt);
}

/*
 * mas_find from a fresh state, each way the first call can end: on the
 * range holding the index, further along the same leaf, past the limit
 * inside the leaf (and a later call with a larger limit then returns that
 * entry), in the next leaf, and off the end of the tree.
 */
static void test_mas_find_from_start(void **state)
{
	struct fixture *f = *state;
	MA_STATE(mas, &f->mt, 0, 0);

	/* entries at 10 * i .. 10 * i + 5, NULL in between, many leaves */
	for (unsigned long i = 0; i < 100; i++)
		mtree_store_range(&f->mt, 10 * i, 10 * i + 5, V(i), GFP_KERNEL);
	mtree_lock(&f->mt);

	mas_set(&mas, 23);
	assert_ptr_equal(mas_find(&mas, ULONG_MAX), V(2));
	assert_int_equal(mas.index, 20);
	assert_int_equal(mas.last, 25);

	mas_set(&mas, 27);
	assert_ptr_equal(mas_find(&mas, ULONG_MAX), V(3));
	assert_int_equal(mas.index, 30);
	assert_int_equal(mas.last, 35);
	assert_ptr_equal(mas_find(&mas, ULONG_MAX), V(4));

	mas_set(&mas, 27);
	assert_null(mas_find(&mas, 29));
	assert_int_equal(mas.status, ma_overflow);
	assert_ptr_equal(mas_find(&mas, ULONG_MAX), V(3));
	assert_int_equal(mas.index, 30);

	/* a start past the limit finds nothing, and moves nowhere */
	mas_set(&mas, 40);
	assert_null(mas_find(&mas, 30));
	assert_int_equal(mas.status, ma_overflow);

	/* the gap at the end of every leaf leads into the next one */
	for (unsigned long i = 0; i < 99; i++) {
		mas_set(&mas, 10 * i + 6);
		assert_ptr_equal(mas_find(&mas, ULONG_MAX), V(i + 1));
		assert_int_equal(mas.index, 10 * i + 10);
		assert_int_equal(mas.last, 10 * i + 15);
	}

	mas_set(&mas, 996);
	assert_null(mas_find(&mas, ULONG_MAX));
	assert_int_equal(mas.status, ma_overflow);
	mtree_unlock(&f->mt);
}

static void test_bad_input(void **state)
{
	struct fixture *f = *state;
	MA_STATE(mas, &f->mt, 10, 5);
	unsigned long start = 77;
	void *reserved = xa_mk_internal(1);

	mtree_store_range(&f->mt, 100, 200, V(1), GFP_KERNEL);
	assert_int_equal(mtree_store_range(&f->mt, 10, 5, V(1), GFP_KERNEL),
			 -EINVAL);
	assert_int_equal(mtree_store(&f->mt, 3, reserved, GFP_KERNEL), -EINVAL);
	assert_int_equal(mtree_insert_range(&f->mt, 10, 5, V(1), GFP_KERNEL),
			 -EINVAL);
	assert_int_equal(mtree_insert(&f->mt, 3, NULL, GFP_KERNEL), -EINVAL);
	assert_int_equal(mtree_insert(&f->mt, 3, reserved, GFP_KERNEL), -EINVAL);
	assert_int_equal(mas_store_gfp(&mas, V(1), GFP_KERNEL), -EINVAL);
	/* the alloc calls need an allocation tree */
	assert_int_equal(mtree_alloc_range(&f->mt, &start, V(1), 1, 0, 1000,
					   GFP_KERNEL), -EINVAL);
	assert_int_equal(mtree_alloc_rrange(&f->mt, &start, V(1), 1, 0, 1000,
					    GFP_KERNEL), -EINVAL);
	assert_int_equal(start, 77);
	/* gap search arguments */
	assert_int_equal(mas_empty_area(&mas, 10, 5, 1), -EINVAL);
	assert_int_equal(mas_empty_area(&mas, 0, 10, 0), -EINVAL);
	assert_int_equal(mas_empty_area(&mas, 0, 10, 12), -EINVAL);
	assert_int_equal(mas_empty_area_rev(&mas, 0, 10, 12), -EINVAL);
	/* nothing changed */
	assert_ptr_equal(mtree_load(&f->mt, 150), V(1));
	assert_null(mtree_load(&f->mt, 3));
	assert_null(mtree_load(&f->mt, 7));
}

static void test_alloc_range(void **state)
{
	struct fixture *f = *state;
	unsigned long start, next = 0;

	assert_int_equal(mtree_store_range(&f->mt, 0, 99, V(0), GFP_KERNEL), 0);
	assert_int_equal(mtree_store_range(&f->mt, 110, 199, V(0), GFP_KERNEL), 0);
	/* lowest fit: the hole [100, 109] */
	assert_int_equal(mtree_alloc_range(&f->mt, &start, V(1), 10, 0, 1000,
					   GFP_KERNEL), 0);
	assert_int_equal(start, 100);
	/* now only above 199 */
	assert_int_equal(mtree_alloc_range(&f->mt, &start, V(2), 5, 0, 1000,
					   GFP_KERNEL), 0);
	assert_int_equal(start, 200);
	/* highest fit below a limit */
	assert_int_equal(mtree_alloc_rrange(&f->mt, &start, V(3), 8, 0, 1000,
					    GFP_KERNEL), 0);
	assert_int_equal(start, 993);
	/* a window with no room */
	assert_int_equal(mtree_alloc_range(&f->mt, &start, V(4), 20, 0, 199,
					   GFP_KERNEL), -EBUSY);
	/* the window's edges are inclusive */
	assert_int_equal(mtree_alloc_range(&f->mt, &start, V(5), 3, 205, 207,
					   GFP_KERNEL), 0);
	assert_int_equal(start, 205);

	/* cyclic: 1000..1002 in turn, then wrap */
	next = 2000;
	for (unsigned long i = 0; i < 3; i++) {
		assert_int_equal(mtree_alloc_cyclic(&f->mt, &start, V(6), 2000,
						    2002, &next, GFP_KERNEL), 0);
		assert_int_equal(start, 2000 + i);
	}
	assert_int_equal(next, 2003);
	assert_int_equal(mtree_alloc_cyclic(&f->mt, &start, V(6), 2000, 2002,
					    &next, GFP_KERNEL), -EBUSY);
	mtree_erase(&f->mt, 2001);
	assert_int_equal(mtree_alloc_cyclic(&f->mt, &start, V(7), 2000, 2002,
					    &next, GFP_KERNEL), 1);
	assert_int_equal(start, 2001);
	assert_int_equal(next, 2002);
}

/*
 * mtree_alloc_cyclic stores inside [range_lo, range_hi] whatever *next
 * holds: above range_hi it starts over at range_lo (a wrap), and a full
 * range is -EBUSY with nothing stored.  Also at the top of the index space,
 * where *next wraps to 0.
 */
static void test_alloc_cyclic_bounds(void **state)
{
	struct fixture *f = *state;
	unsigned long start = 77, next;
	const unsigned long top = ULONG_MAX;

	for (unsigned long i = 100; i <= 102; i++)
		assert_int_equal(mtree_store(&f->mt, i, V(i), GFP_KERNEL), 0);
	/* full, with *next above the range, at it, and below it */
	for (unsigned long n = 0; n < 4; n++) {
		next = n == 0 ? 500 : n == 1 ? 103 : n == 2 ? 101 : 0;
		assert_int_equal(mtree_alloc_cyclic(&f->mt, &start, V(9), 100,
						    102, &next, GFP_KERNEL),
				 -EBUSY);
		assert_int_equal(start, 77);
		assert_null(mtree_load(&f->mt, 103));
		assert_null(mtree_load(&f->mt, 99));
	}
	assert_int_equal(next, 0);
	/* room again: *next above the range finds it, as a wrap */
	mtree_erase(&f->mt, 101);
	next = 500;
	assert_int_equal(mtree_alloc_cyclic(&f->mt, &start, V(8), 100, 102,
					    &next, GFP_KERNEL), 1);
	assert_int_equal(start, 101);
	assert_int_equal(next, 102);
	assert_null(mtree_load(&f->mt, 103));

	/* the top of the index space: the last index, then full */
	next = top - 1;
	assert_int_equal(mtree_alloc_cyclic(&f->mt, &start, V(7), top - 1, top,
					    &next, GFP_KERNEL), 0);
	assert_int_equal(start, top - 1);
	assert_int_equal(mtree_alloc_cyclic(&f->mt, &start, V(7), top - 1, top,
					    &next, GFP_KERNEL), 0);
	assert_int_equal(start, top);
	assert_int_equal(next, 0);
	assert_int_equal(mtree_alloc_cyclic(&f->mt, &start, V(7), top - 1, top,
					    &next, GFP_KERNEL), -EBUSY);
	assert_int_equal(start, top);
	assert_null(mtree_load(&f->mt, top - 2));
}

/* A narrow window low in a tree whose free space is mostly above it. */
static void test_gap_search_low_window(void **state)
{
	struct fixture *f = *state;
	MA_STATE(mas, &f->mt, 0, 0);
	unsigned long base = 1ul << 32;

	/* dense allocations below 2^32 with one hole, sparse ones above */
	for (unsigned long i = 0; i < 20000; i++)
		assert_int_equal(mtree_store_range(&f->mt, i * 4, i * 4 + 3,
						   V(i), GFP_KERNEL), 0);
	mtree_erase(&f->mt, 4 * 12345);
	for (unsigned long i = 0; i < 20000; i++)
		assert_int_equal(mtree_store_range(&f->mt, base + i * 1000,
						   base + i * 1000 + 3, V(i),
						   GFP_KERNEL), 0);
	mtree_lock(&f->mt);
	assert_int_equal(mas_empty_area(&mas, 0, 80000 - 1, 4), 0);
	assert_int_equal(mas.index, 4 * 12345);
	assert_int_equal(mas_empty_area_rev(&mas, 0, 80000 - 1, 4), 0);
	assert_int_equal(mas.index, 4 * 12345);
	assert_int_equal(mas_empty_area(&mas, 0, 80000 - 1, 5), -EBUSY);
	assert_int_equal(mas_empty_area_rev(&mas, 0, base + 999, 900), 0);
	assert_int_equal(mas.last, base + 999);
	mtree_unlock(&f->mt);
}

static void test_height_up_and_down(void **state)
{
	struct fixture *f = *state;
	unsigned int max_height = 0;

	for (unsigned long i = 0; i < 100000; i++) {
		assert_int_equal(mtree_store_range(&f->mt, i * 2, i * 2, V(i),
						   GFP_KERNEL), 0);
		if (mt_height(&f->mt) > max_height)
			max_height = mt_height(&f->mt);
	}
	assert_true(max_height >= 4);
	assert_int_equal(mt_validate(&f->mt), 0);
	/* erase from the middle outwards: rebalances and shrinks */
	for (unsigned long k = 0; k < 100000; k++) {
		unsigned long i = (k * 7919) % 100000;

		assert_ptr_equal(mtree_erase(&f->mt, i * 2), V(i));
		if (k % 9973 == 0)
			assert_int_equal(mt_validate(&f->mt), 0);
	}
	assert_true(mtree_empty(&f->mt));
	assert_int_equal(mt_height(&f->mt), 0);
}

static void test_dup(void **state)
{
	struct fixture *f = *state;
	struct maple_tree copy;
	struct mt_allocator *fault = mt_fault_allocator_create(f->alloc);
	struct mt_fault_config fail_5th = { .mode = MT_FAULT_NTH, .n = 5 };
	struct mt_alloc_stats st;
	unsigned long index = 0, n = 0;
	void *entry;

	for (unsigned long i = 0; i < 10000; i++)
		mtree_store_range(&f->mt, i * 3, i * 3 + 1, V(i), GFP_KERNEL);
	mt_init_flags(&copy, 0);
	assert_int_equal(mt_set_allocator(&copy, fault), 0);
	/* a failed copy leaves the new tree empty and allocates nothing */
	mt_fault_allocator_set(fault, &fail_5th);
	assert_int_equal(mtree_dup(&f->mt, &copy, GFP_KERNEL), -ENOMEM);
	assert_true(mtree_empty(&copy));
	mt_allocator_stats(fault, &st);
	assert_int_equal(st.live, 0);
	mt_fault_allocator_set(fault, NULL);
	assert_int_equal(mtree_dup(&f->mt, &copy, GFP_KERNEL), 0);
	assert_int_equal(mt_validate(&copy), 0);
	assert_int_equal(mt_height(&copy), mt_height(&f->mt));
	mt_for_each(&copy, entry, index, ULONG_MAX) {
		assert_ptr_equal(entry, V(n));
		n++;
	}
	assert_int_equal(n, 10000);
	/* the copy is independent */
	mtree_erase(&f->mt, 0);
	assert_ptr_equal(mtree_load(&copy, 0), V(0));
	assert_int_equal(mtree_dup(&f->mt, &copy, GFP_KERNEL), -EINVAL);
	mtree_destroy(&copy);
	mt_allocator_stats(fault, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(mt_allocator_destroy(fault), 0);
}

/* Storing over exactly one existing range never calls the allocator. */
static void exact_fit_no_alloc(struct fixture *f, unsigned int flags)
{
	struct mt_allocator *fault = mt_fault_allocator_create(f->alloc);
	struct mt_fault_config always = { .mode = MT_FAULT_ALWAYS };
	struct maple_tree t;
	struct mt_alloc_stats st;
	MA_STATE(mas, &t, 0, 0);

	mt_init_flags(&t, flags);
	mt_set_allocator(&t, fault);
	for (unsigned long i = 0; i < 5000; i++)
		mtree_store_range(&t, i * 10, i * 10 + 4, V(i), GFP_KERNEL);
	mt_fault_allocator_set(fault, &always);
	mtree_lock(&t);
	for (unsigned long i = 0; i < 5000; i += 7) {
		mas_set_range(&mas, i * 10, i * 10 + 4);
		assert_ptr_equal(mas_store(&mas, V(i + 1000000)), V(i));
		assert_false(mas_is_err(&mas));
	}
	mtree_unlock(&t);
	mt_allocator_stats(fault, &st);
	assert_int_equal(st.requests, 0);
	assert_ptr_equal(mtree_load(&t, 70), V(1000007));
	assert_int_equal(mt_validate(&t), 0);
	mt_fault_allocator_set(fault, NULL);
	mtree_destroy(&t);
	/* an RCU tree's nodes go back after a grace period */
	urcu_memb_barrier();
	mt_allocator_stats(fault, &st);
	assert_int_equal(st.live, 0);
	mt_allocator_destroy(fault);
}

static void test_exact_fit_no_alloc(void **state)
{
	exact_fit_no_alloc(*state, 0);
	exact_fit_no_alloc(*state, MT_FLAGS_ALLOC_RANGE);
	/* RCU mode: the library registers this thread with liburcu */
	exact_fit_no_alloc(*state, MT_FLAGS_USE_RCU);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TA(fn) cmocka_unit_test_setup_teardown(fn, setup_alloc, teardown)
	const struct CMUnitTest tests[] = {
		T(test_empty_tree),
		T(test_root_entry),
		T(test_whole_range),
		T(test_extreme_indices),
		T(test_index_values_are_data),
		TA(test_index_values_are_data),
		T(test_overlapping_stores),
		T(test_insert),
		T(test_zero_entry),
		T(test_for_each),
		T(test_mas_iteration),
		T(test_mas_states),
		T(test_mas_find_from_start),
		T(test_bad_input),
		TA(test_alloc_range),
		TA(test_alloc_cyclic_bounds),
		TA(test_gap_search_low_window),
		T(test_height_up_and_down),
		TA(test_height_up_and_down),
		T(test_dup),
		T(test_exact_fit_no_alloc),
	};

	return cmocka_run_group_tests_name("maple_api", tests, NULL, NULL);
}

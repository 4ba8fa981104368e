/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Randomized differential test: mixed operations on a maple tree and on
 * the reference model, every result compared, mt_validate run regularly,
 * and zero live nodes after destroy.
 *
 * Environment: MT_SEED (default: time-based, printed), MT_OPS (operations
 * per tree type), MT_TARGET (entries to grow to).  A failing run prints
 * its seed; MT_SEED=<seed> replays it.  To narrow a failure down to one
 * operation: MT_CHECK_EVERY=n with MT_CHECK_FROM/MT_CHECK_TO compare the
 * whole tree with the model every n operations in that window (and trace
 * each operation's kind), and MT_DUMP_OP=op dumps the allocation tree
 * before and after that operation.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>

#include <libiova/maple_tree.h>

#include "model.h"
#include "prng.h"

static uint64_t seed;
static unsigned long ops = 300000;
static unsigned long target = 20000;
/* full comparisons: every check_every ops from op check_from (to narrow a
 * failure down: MT_CHECK_EVERY, MT_CHECK_FROM) */
static unsigned long check_every = 65536;
static unsigned long check_from, check_to = ULONG_MAX;

struct run {
	struct maple_tree mt;
	struct model model;
	struct prng rng;
	struct mt_allocator *alloc;
	unsigned long universe;
	unsigned long next_id;
	unsigned long op;
	size_t peak;
	unsigned int peak_height;
};

static void fail_here(struct run *r, const char *what)
{
	fail_msg("seed %" PRIu64 " op %lu: %s", seed, r->op, what);
}

#define CHECK(r, cond, what)                                                  \
	do {                                                                  \
		if (!(cond))                                                  \
			fail_here(r, what);                                   \
	} while (0)

/* An index: mostly inside the universe, sometimes at the extremes. */
static unsigned long pick_index(struct run *r)
{
	switch (prng_below(&r->rng, 64)) {
	case 0:
		return 0;
	case 1:
		return ULONG_MAX - prng_below(&r->rng, 4);
	case 2:
		return prng_next(&r->rng);
	default:
		return prng_below(&r->rng, r->universe);
	}
}

static void pick_range(struct run *r, unsigned long *first,
		       unsigned long *last)
{
	unsigned long a = pick_index(r), len;

	switch (prng_below(&r->rng, 512)) {
	case 0: /* a wide span: spanning stores across many nodes */
		len = prng_below(&r->rng, r->universe / 64 + 1);
		break;
	case 1 ... 15:
		len = prng_below(&r->rng, 1000);
		break;
	default:
		len = prng_below(&r->rng, 8);
	}
	*first = a;
	*last = a + len < a ? ULONG_MAX : a + len;
}

static void *new_entry(struct run *r)
{
	return xa_mk_value(r->next_id++);
}

static void check_walk(struct run *r, unsigned long index)
{
	MA_STATE(mas, &r->mt, index, index);
	unsigned long f, l;
	void *want = model_load(&r->model, index, &f, &l);
	void *got = mas_walk(&mas);

	if (got != want || mas.index != f || mas.last != l) {
		printf("# mas_walk(%lu): got %p [%lu, %lu], want %p [%lu, %lu]\n",
		       index, got, mas.index, mas.last, want, f, l);
		if (getenv("MT_DUMP"))
			mt_dump(&r->mt, mt_dump_dec);
		fail_here(r, "mas_walk");
	}
}

static void check_find(struct run *r)
{
	unsigned long index = pick_index(r), max = pick_index(r);
	unsigned long i2 = index;
	size_t k = model_lower(&r->model, index);
	void *want = NULL, *got;

	if (k < r->model.count && r->model.r[k].first <= max && index <= max)
		want = r->model.r[k].entry;
	got = mt_find(&r->mt, &i2, max);
	CHECK(r, got == want, "mt_find entry");
	if (want)
		CHECK(r, i2 == r->model.r[k].last + 1, "mt_find index");
	else
		CHECK(r, i2 == index, "mt_find index untouched");
}

static void check_next_prev(struct run *r)
{
	unsigned long index = pick_index(r), f, l;
	size_t k;
	void *want, *got;

	/* next: first entry starting after the range holding index */
	model_load(&r->model, index, &f, &l);
	k = l == ULONG_MAX ? r->model.count : model_lower(&r->model, l + 1);
	want = k < r->model.count ? r->model.r[k].entry : NULL;
	got = mt_next(&r->mt, index, ULONG_MAX);
	CHECK(r, got == want, "mt_next");

	/* prev: last entry ending before the range holding index */
	k = model_lower(&r->model, f);
	want = (f > 0 && k > 0) ? r->model.r[k - 1].entry : NULL;
	got = mt_prev(&r->mt, index, 0);
	CHECK(r, got == want, "mt_prev");
}

/* A window [*min, *max] between two random indices. */
static void pick_window(struct run *r, unsigned long *min, unsigned long *max)
{
	unsigned long a = pick_index(r), b = pick_index(r);

	*min = a < b ? a : b;
	*max = a < b ? b : a;
}

static void check_empty_area(struct run *r)
{
	MA_STATE(mas, &r->mt, 0, 0);
	unsigned long min, max, start;
	unsigned long size = 1 + prng_below(&r->rng, 64);
	bool rev = prng_below(&r->rng, 2);
	int ret;
	bool ok;

	pick_window(r, &min, &max);
	mtree_lock(&r->mt);
	ret = rev ? mas_empty_area_rev(&mas, min, max, size)
		  : mas_empty_area(&mas, min, max, size);
	mtree_unlock(&r->mt);
	if (max - min < size - 1) {
		CHECK(r, ret == -EINVAL, "empty_area -EINVAL");
		return;
	}
	ok = model_empty_area(&r->model, min, max, size, rev, &start);
	CHECK(r, ok ? ret == 0 : ret == -EBUSY, "empty_area result");
	if (ok)
		CHECK(r, mas.index == start && mas.last == start + size - 1,
		      "empty_area range");
}

/*
 * The aligned search: unbounded, it must find exactly the model's aligned
 * placement; bounded, it finds that same one, or says none, or gives up
 * with a remaining window that holds the model's placement if any.
 */
static void check_empty_area_aligned(struct run *r)
{
	MA_STATE(mas, &r->mt, 0, 0);
	unsigned long min, max, start;
	unsigned long size = 1 + prng_below(&r->rng, 64);
	unsigned long align = 1ul << prng_below(&r->rng, 8);
	unsigned int max_misses = (unsigned int)prng_below(&r->rng, 4);
	bool rev = prng_below(&r->rng, 2);
	int ret;
	bool ok;

	pick_window(r, &min, &max);
	mtree_lock(&r->mt);
	ret = mas_empty_area_aligned(&mas, min, max, size, align, max_misses,
				     rev);
	mtree_unlock(&r->mt);
	if (max - min < size - 1) {
		CHECK(r, ret == -EINVAL, "aligned empty_area -EINVAL");
		return;
	}
	ok = model_empty_area_aligned(&r->model, min, max, size, align, rev,
				      &start);
	if (ret == -EAGAIN) {
		CHECK(r, max_misses > 0, "aligned: gave up without a bound");
		CHECK(r, mas.min <= mas.max && mas.min >= min && mas.max <= max,
		      "aligned: window left");
		CHECK(r, !ok || (start >= mas.min && start <= mas.max),
		      "aligned: placement in the window left");
		/* and the part passed holds none */
		if (rev ? mas.max < max : mas.min > min)
			CHECK(r, !model_empty_area_aligned(
					 &r->model, rev ? mas.max + 1 : min,
					 rev ? max : mas.min - 1, size, align,
					 rev, &start),
			      "aligned: a placement passed");
		return;
	}
	CHECK(r, ok ? ret == 0 : ret == -EBUSY, "aligned empty_area result");
	if (ok)
		CHECK(r, mas.index == start && mas.last == start + size - 1 &&
			 mas.min <= start && mas.max >= mas.last,
		      "aligned empty_area range");
}

static void check_alloc_range(struct run *r)
{
	unsigned long min = prng_below(&r->rng, r->universe);
	unsigned long max = min + prng_below(&r->rng, r->universe / 4 + 64);
	unsigned long size = 1 + prng_below(&r->rng, 16), start, got;
	bool rev = prng_below(&r->rng, 2);
	void *e = new_entry(r);
	bool ok;
	int ret;

	ok = model_empty_area(&r->model, min, max, size, rev, &start);
	ret = rev ? mtree_alloc_rrange(&r->mt, &got, e, size, min, max,
				       GFP_KERNEL)
		  : mtree_alloc_range(&r->mt, &got, e, size, min, max,
				      GFP_KERNEL);
	if (!mt_is_alloc(&r->mt) || max - min < size - 1) {
		CHECK(r, ret == -EINVAL, "alloc_range: bad arguments");
		return;
	}
	if ((ok ? ret != 0 : ret != -EBUSY) || (ok && got != start)) {
		printf("# alloc%s_range(size %lu, [%lu, %lu]): ret %d got %lu, "
		       "model %d start %lu\n", rev ? "_r" : "", size, min, max,
		       ret, got, ok, start);
		if (getenv("MT_DUMP"))
			mt_dump(&r->mt, mt_dump_dec);
		fail_here(r, "alloc_range");
	}
	if (ok) {
		model_store(&r->model, start, start + size - 1, e);
	}
}

static void check_all(struct run *r)
{
	unsigned long index = 0;
	size_t k = 0;
	void *entry;

	mt_for_each(&r->mt, entry, index, ULONG_MAX) {
		CHECK(r, k < r->model.count, "mt_for_each: extra entry");
		if (entry != r->model.r[k].entry) {
			printf("# mt_for_each #%zu: got %p (next index %lu), "
			       "want %p [%lu, %lu]\n", k, entry, index,
			       r->model.r[k].entry, r->model.r[k].first,
			       r->model.r[k].last);
			if (k > 0)
				printf("# previous: %p [%lu, %lu]\n",
				       r->model.r[k - 1].entry,
				       r->model.r[k - 1].first,
				       r->model.r[k - 1].last);
			fail_here(r, "mt_for_each entry");
		}
		k++;
	}
	CHECK(r, k == r->model.count, "mt_for_each: missing entries");

	/* the advanced iterator, backwards */
	MA_STATE(mas, &r->mt, ULONG_MAX, ULONG_MAX);
	k = r->model.count;
	mas_for_each_rev(&mas, entry, 0) {
		CHECK(r, k > 0, "mas_for_each_rev: extra entry");
		k--;
		CHECK(r, entry == r->model.r[k].entry &&
				 mas.index == r->model.r[k].first &&
				 mas.last == r->model.r[k].last,
		      "mas_for_each_rev range");
	}
	CHECK(r, k == 0, "mas_for_each_rev: missing entries");
}

static void one_op(struct run *r)
{
	unsigned long first, last, f, l;
	void *e, *want;
	/* grow to the target, shrink to 1% of it, and again: heights go up
	 * and down */
	unsigned long goal = (r->op / (ops / 4 + 1)) % 2 ? target / 100 : target;
	bool grow = r->model.count < goal;
	/* the weights of each kind of operation, growing and shrinking */
	static const unsigned int grow_w[] = { 30, 12, 4, 2, 18, 10, 8, 6, 5, 5 };
	static const unsigned int shrink_w[] = { 4, 4, 30, 10, 18, 10, 8, 6, 5, 5 };
	enum { OP_STORE, OP_INSERT, OP_ERASE, OP_STORE_NULL, OP_LOAD, OP_FIND,
	       OP_NEXT_PREV, OP_WALK, OP_EMPTY_AREA, OP_ALLOC_RANGE };
	const unsigned int *w = NULL;
	unsigned int dice, kind = 0;
	char msg[256];

	w = grow ? grow_w : shrink_w;
	dice = (unsigned int)prng_below(&r->rng, 100);
	while (dice >= w[kind]) {
		dice -= w[kind];
		kind++;
	}

	if (check_from && r->op >= check_from && r->op <= check_to)
		printf("# op %lu kind %u\n", r->op, kind);
	if (getenv("MT_DUMP_OP") && r->op == strtoul(getenv("MT_DUMP_OP"), NULL, 0)
	    && mt_is_alloc(&r->mt)) {
		printf("# DUMP BEFORE\n");
		mt_dump(&r->mt, mt_dump_dec);
	}
	switch (kind) {
	case OP_STORE:
		pick_range(r, &first, &last);
		e = new_entry(r);
		CHECK(r, mtree_store_range(&r->mt, first, last, e,
					   GFP_KERNEL) == 0, "store");
		model_store(&r->model, first, last, e);
		break;
	case OP_INSERT: {
		pick_range(r, &first, &last);
		e = new_entry(r);
		int ret = mtree_insert_range(&r->mt, first, last, e,
					     GFP_KERNEL);
		if (model_any(&r->model, first, last)) {
			CHECK(r, ret == -EEXIST, "insert over an entry");
		} else {
			CHECK(r, ret == 0, "insert");
			model_store(&r->model, first, last, e);
		}
		break;
	}
	case OP_ERASE: {
		unsigned long index = pick_index(r);

		if (r->model.count && prng_below(&r->rng, 4)) {
			/* erase a live entry */
			size_t k = prng_below(&r->rng, r->model.count);

			index = r->model.r[k].first +
				prng_below(&r->rng, r->model.r[k].last -
							    r->model.r[k].first +
						    1);
		}
		want = model_load(&r->model, index, &f, &l);
		CHECK(r, mtree_erase(&r->mt, index) == want, "erase");
		if (want)
			model_store(&r->model, f, l, NULL);
		break;
	}
	case OP_STORE_NULL:
		pick_range(r, &first, &last);
		CHECK(r, mtree_store_range(&r->mt, first, last, NULL,
					   GFP_KERNEL) == 0, "store NULL");
		model_store(&r->model, first, last, NULL);
		break;
	case OP_LOAD: {
		unsigned long index = pick_index(r);

		want = model_load(&r->model, index, &f, &l);
		CHECK(r, mtree_load(&r->mt, index) == want, "load");
		break;
	}
	case OP_FIND:
		check_find(r);
		break;
	case OP_NEXT_PREV:
		check_next_prev(r);
		break;
	case OP_WALK:
		check_walk(r, pick_index(r));
		break;
	case OP_EMPTY_AREA:
		check_empty_area(r);
		check_empty_area_aligned(r);
		break;
	default:
		check_alloc_range(r);
	}
	if (getenv("MT_DUMP_OP") && r->op == strtoul(getenv("MT_DUMP_OP"), NULL, 0)
	    && mt_is_alloc(&r->mt)) {
		printf("# DUMP AFTER\n");
		mt_dump(&r->mt, mt_dump_dec);
	}
	if (r->model.count > r->peak)
		r->peak = r->model.count;
	if (mt_height(&r->mt) > r->peak_height)
		r->peak_height = mt_height(&r->mt);
	if (r->op % 4096 == 0 || r->model.count < 64) {
		if (mt_validate_msg(&r->mt, msg, sizeof(msg)))
			fail_msg("seed %" PRIu64 " op %lu: invalid tree: %s",
				 seed, r->op, msg);
	}
	if (r->op >= check_from && r->op <= check_to &&
	    r->op % check_every == 0)
		check_all(r);
}

static void run_random(unsigned int flags)
{
	struct run r = { .universe = target * 20 };
	struct mt_alloc_stats st;
	char msg[256];

	r.rng.state = seed ^ flags;
	r.alloc = mt_node_cache_create(NULL);
	mt_init_flags(&r.mt, flags);
	assert_int_equal(mt_set_allocator(&r.mt, r.alloc), 0);
	model_init(&r.model);
	for (r.op = 1; r.op <= ops; r.op++)
		one_op(&r);
	if (mt_validate_msg(&r.mt, msg, sizeof(msg)))
		fail_msg("seed %" PRIu64 " at end: invalid tree: %s", seed,
			 msg);
	check_all(&r);
	printf("# flags %#x: %lu ops, at most %zu entries, height up to %u\n",
	       flags, ops, r.peak, r.peak_height);
	mtree_destroy(&r.mt);
	assert_true(mtree_empty(&r.mt));
	mt_allocator_stats(r.alloc, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(mt_allocator_destroy(r.alloc), 0);
	model_free(&r.model);
}

static void test_random_regular(void **state)
{
	(void)state;
	run_random(0);
}

static void test_random_alloc(void **state)
{
	(void)state;
	run_random(MT_FLAGS_ALLOC_RANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_regular),
		cmocka_unit_test(test_random_alloc),
	};
	const char *s;

	seed = prng_seed_from_env("MT_SEED", (uint64_t)time(NULL));
	if ((s = getenv("MT_OPS")))
		ops = strtoul(s, NULL, 0);
	if ((s = getenv("MT_TARGET")))
		target = strtoul(s, NULL, 0);
	if ((s = getenv("MT_CHECK_EVERY")) && strtoul(s, NULL, 0))
		check_every = strtoul(s, NULL, 0);
	if ((s = getenv("MT_CHECK_FROM")))
		check_from = strtoul(s, NULL, 0);
	if ((s = getenv("MT_CHECK_TO")))
		check_to = strtoul(s, NULL, 0);
	printf("# seed %" PRIu64 " (replay with MT_SEED=%" PRIu64 ")\n", seed,
	       seed);
	return cmocka_run_group_tests_name("maple_random", tests, NULL, NULL);
}

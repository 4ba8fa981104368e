/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_maple.c - the maple tree against the reference model (model.h).
 *
 * The input chooses the tree (allocation tree or not, RCU on or off,
 * internal or external lock, node faults or none), then a sequence of
 * operations through the normal and the advanced API: stores, inserts,
 * erases, gap searches (lowest, highest, aligned), allocations (range,
 * reverse, cyclic), lookups and iteration both ways, mtree_dup, the node
 * reserve, RCU switched on and off.  With faults on, each operation reads
 * a 64-bit mask from the input: bit i fails the (i+1)-th node request the
 * operation makes.
 *
 * After every write: mt_validate, the whole tree compared with the model
 * (XA_ZERO_ENTRY left by an erase that got no node included), an empty
 * model means an empty tree, -ENOMEM only when a fault was injected, and
 * the node count the same through the fault allocator and the node cache
 * below it.  At the end: no live node in either allocator.
 *
 * Defects of issue 19 these checks catch: a pivot equal to the node
 * cache's old poison word (item 1; pick_index reaches any value through
 * fz_num), alloc_cyclic storing above range_hi (item 2), an all-NULL tree
 * keeping a leaf (item 3), a reserve target past the bound (item 7).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <urcu/urcu-memb.h>

#include <libiova/maple_tree.h>

#include "faults.h"
#include "fuzz.h"
#include "model.h"

struct run {
	struct fz in;
	struct maple_tree mt;
	struct model model;
	struct mt_allocator *cache, *fault;
	pthread_mutex_t ext;
	bool ext_lock, faults;
	struct fz_faults fl;  /* over r->fault when faults are on */
	unsigned long next_id;
	unsigned long cyclic_next;
	uint64_t zeroed_calls; /* erase-failed callbacks seen */
	bool rcu_used;         /* a tree was in RCU mode: nodes may wait
				* for call_rcu */
};

/* ---- faults ------------------------------------------------------- */

/* Arm this operation's failures, read from the input. */
static void faults_begin(struct run *r)
{
	if (r->faults)
		fz_faults_arm(&r->fl, fz_bool(&r->in) ? fz_u64(&r->in) : 0);
}

static bool faults_injected(struct run *r)
{
	return fz_faults_injected(&r->fl);
}

/* ---- locks --------------------------------------------------------- */

/* Around a normal-API write: the external lock if there is one. */
static void nlock(struct run *r)
{
	if (r->ext_lock)
		pthread_mutex_lock(&r->ext);
}

static void nunlock(struct run *r)
{
	if (r->ext_lock)
		pthread_mutex_unlock(&r->ext);
}

/* Around advanced-API use: the lock that protects writes. */
static void alock(struct run *r)
{
	if (r->ext_lock)
		pthread_mutex_lock(&r->ext);
	else
		mtree_lock(&r->mt);
}

static void aunlock(struct run *r)
{
	if (r->ext_lock)
		pthread_mutex_unlock(&r->ext);
	else
		mtree_unlock(&r->mt);
}

/* mt_tree_stats takes the write lock: with an external one, ours. */
static void tree_stats(struct run *r, struct mt_tree_stats *st)
{
	int ret;

	nlock(r);
	ret = mt_tree_stats(&r->mt, st);
	nunlock(r);
	FZ_CHECK(ret == 0, "mt_tree_stats %d", ret);
}

/* ---- input shapes -------------------------------------------------- */

/* An index: mostly small (so ranges meet), sometimes anywhere. */
static unsigned long pick_index(struct run *r)
{
	uint8_t shape = fz_u8(&r->in);

	if (shape < 160)
		return fz_u8(&r->in);
	if (shape < 224)
		return fz_u16(&r->in);
	return fz_num(&r->in);
}

static void pick_range(struct run *r, unsigned long *first,
		       unsigned long *last)
{
	unsigned long a = pick_index(r), len;

	len = fz_u8(&r->in);
	if (len >= 240)
		len = fz_num(&r->in);
	else
		len &= 15;
	*first = a;
	*last = a + len < a ? ULONG_MAX : a + len;
}

static void pick_window(struct run *r, unsigned long *min,
			unsigned long *max)
{
	unsigned long a = pick_index(r), b = pick_index(r);

	*min = a < b ? a : b;
	*max = a < b ? b : a;
}

static gfp_t pick_gfp(struct run *r)
{
	static const gfp_t gfps[] = { GFP_KERNEL, GFP_ATOMIC, GFP_NOWAIT,
				      GFP_KERNEL };

	return gfps[fz_below(&r->in, 4)];
}

static void *new_entry(struct run *r)
{
	return xa_mk_value(++r->next_id);
}

/* ---- the model ----------------------------------------------------- */

static void *model_at(const struct run *r, unsigned long index,
		      unsigned long *first, unsigned long *last)
{
	return model_load(&r->model, index, first, last);
}

/* First range ending at or after @index that the normal API sees (not
 * XA_ZERO_ENTRY), or count. */
static size_t model_visible_from(const struct run *r, size_t k)
{
	while (k < r->model.count && xa_is_zero(r->model.r[k].entry))
		k++;
	return k;
}

/* The whole tree, range by range, raw entries, against the model. */
static void check_all(struct run *r)
{
	MA_STATE(mas, &r->mt, 0, 0);
	size_t k = 0;
	void *entry;

	alock(r);
	mas_for_each(&mas, entry, ULONG_MAX) {
		FZ_CHECK(k < r->model.count, "extra entry %p at [%lu, %lu]",
			 entry, mas.index, mas.last);
		FZ_CHECK(entry == r->model.r[k].entry &&
			 mas.index == r->model.r[k].first &&
			 mas.last == r->model.r[k].last,
			 "range %zu: tree %p [%lu, %lu], model %p [%lu, %lu]",
			 k, entry, mas.index, mas.last, r->model.r[k].entry,
			 r->model.r[k].first, r->model.r[k].last);
		k++;
	}
	aunlock(r);
	FZ_CHECK(k == r->model.count, "tree has %zu ranges, model %zu", k,
		 r->model.count);
	/* issue 19 item 3: a tree whose contents are all NULL has no node */
	FZ_CHECK(r->model.count || mtree_empty(&r->mt),
		 "all NULL but not empty");
}

static void check_alloc_counts(struct run *r)
{
	struct mt_alloc_stats c, f;

	if (!r->faults)
		return;
	FZ_CHECK(mt_allocator_stats(r->cache, &c) == 0 &&
		 mt_allocator_stats(r->fault, &f) == 0, "stats");
	FZ_CHECK(c.live == f.live, "cache live %lu, fault allocator %lu",
		 (unsigned long)c.live, (unsigned long)f.live);
}

/* After every write: the tree is valid and holds what the model does. */
static void after_write(struct run *r)
{
	char msg[256];
	int ret;

	alock(r);
	ret = mt_validate_msg(&r->mt, msg, sizeof(msg));
	aunlock(r);
	FZ_CHECK(ret == 0, "mt_validate: %s", msg);
	check_all(r);
	check_alloc_counts(r);
}

/* A write's error: -ENOMEM only when a fault was injected. */
static void check_nomem(struct run *r, int ret, const char *what)
{
	FZ_CHECK(ret != -ENOMEM || faults_injected(r),
		 "%s: -ENOMEM with no failure injected", what);
}

/* ---- operations ---------------------------------------------------- */

static void op_store(struct run *r, bool insert)
{
	unsigned long first, last;
	uint8_t kind = fz_u8(&r->in);
	void *e = kind < 200 ? new_entry(r) : kind < 250 ? NULL
					     : xa_mk_internal(kind & 7);
	gfp_t gfp = pick_gfp(r);
	int ret, want;

	pick_range(r, &first, &last);
	if (fz_u8(&r->in) == 0xff) { /* reversed: -EINVAL */
		unsigned long t = first;

		first = last;
		last = t;
	}
	nlock(r);
	ret = insert ? mtree_insert_range(&r->mt, first, last, e, gfp)
		     : mtree_store_range(&r->mt, first, last, e, gfp);
	nunlock(r);
	if (first > last || mt_is_reserved(e) || (insert && !e))
		want = -EINVAL;
	else if (insert && model_any(&r->model, first, last))
		want = -EEXIST;
	else
		want = 0;
	if (ret == -ENOMEM && want == 0) {
		check_nomem(r, ret, "store");
	} else {
		FZ_CHECK(ret == want, "%s [%lu, %lu] %p: %d, want %d",
			 insert ? "insert" : "store", first, last, e, ret,
			 want);
		if (!ret)
			model_store(&r->model, first, last, e);
	}
	after_write(r);
}

static void erase_failed(struct maple_tree *mt, unsigned long index,
			 void *entry, void *arg)
{
	struct run *r = arg;

	(void)mt;
	(void)index;
	FZ_CHECK(entry && !xa_is_zero(entry), "erase_failed entry");
	r->zeroed_calls++;
}

static void op_erase(struct run *r)
{
	unsigned long index = pick_index(r), f, l;
	void *want = model_at(r, index, &f, &l), *got;
	struct mt_tree_stats before, after;

	tree_stats(r, &before);
	nlock(r);
	got = mtree_erase(&r->mt, index);
	nunlock(r);
	tree_stats(r, &after);
	FZ_CHECK(got == (xa_is_zero(want) ? NULL : want),
		 "erase %lu: %p, want %p", index, got, want);
	if (after.erase_zeroed != before.erase_zeroed) {
		FZ_CHECK(after.erase_zeroed == before.erase_zeroed + 1 &&
			 faults_injected(r) && want && !xa_is_zero(want),
			 "erase %lu zeroed", index);
		FZ_CHECK(r->zeroed_calls == after.erase_zeroed,
			 "erase_failed calls %lu, zeroed %lu",
			 (unsigned long)r->zeroed_calls,
			 (unsigned long)after.erase_zeroed);
		model_store(&r->model, f, l, XA_ZERO_ENTRY);
	} else if (want) {
		model_store(&r->model, f, l, NULL);
	}
	after_write(r);
}

static void op_load(struct run *r)
{
	unsigned long index = pick_index(r), f, l;
	void *want = model_at(r, index, &f, &l);
	MA_STATE(mas, &r->mt, index, index);
	void *got;

	got = mtree_load(&r->mt, index);
	FZ_CHECK(got == (xa_is_zero(want) ? NULL : want),
		 "load %lu: %p, want %p", index, got, want);
	alock(r);
	got = mas_walk(&mas);
	aunlock(r);
	FZ_CHECK(got == want && mas.index == f && mas.last == l,
		 "mas_walk %lu: %p [%lu, %lu], want %p [%lu, %lu]", index,
		 got, mas.index, mas.last, want, f, l);
}

static void op_find(struct run *r)
{
	unsigned long min, max, index;
	size_t k;
	void *entry;

	pick_window(r, &min, &max);
	/* mt_for_each: every visible entry intersecting [min, max] */
	index = min;
	k = model_visible_from(r, model_lower(&r->model, min));
	mt_for_each(&r->mt, entry, index, max) {
		FZ_CHECK(k < r->model.count && r->model.r[k].first <= max,
			 "mt_for_each [%lu, %lu]: extra %p", min, max, entry);
		FZ_CHECK(entry == r->model.r[k].entry,
			 "mt_for_each [%lu, %lu]: %p, want %p", min, max,
			 entry, r->model.r[k].entry);
		FZ_CHECK(index == r->model.r[k].last + 1,
			 "mt_for_each index %lu, want %lu", index,
			 r->model.r[k].last + 1);
		k = model_visible_from(r, k + 1);
	}
	FZ_CHECK(k == r->model.count || r->model.r[k].first > max ||
		 (index == 0 && k > 0),
		 "mt_for_each [%lu, %lu]: stopped early", min, max);
}

static void op_next_prev(struct run *r)
{
	unsigned long index = pick_index(r), bound = pick_index(r), f, l;
	size_t k;
	void *want, *got;

	model_at(r, index, &f, &l);
	k = l == ULONG_MAX ? r->model.count : model_lower(&r->model, l + 1);
	k = model_visible_from(r, k);
	want = k < r->model.count && r->model.r[k].first <= bound
		       ? r->model.r[k].entry : NULL;
	got = mt_next(&r->mt, index, bound);
	FZ_CHECK(got == want, "mt_next(%lu, %lu): %p, want %p", index, bound,
		 got, want);

	k = f ? model_lower(&r->model, f) : 0;
	while (k > 0 && xa_is_zero(r->model.r[k - 1].entry))
		k--;
	want = k > 0 && r->model.r[k - 1].last >= bound
		       ? r->model.r[k - 1].entry : NULL;
	got = mt_prev(&r->mt, index, bound);
	FZ_CHECK(got == want, "mt_prev(%lu, %lu): %p, want %p", index, bound,
		 got, want);
}

/* mas_find forward (with pauses) and mas_find_rev backward, raw. */
static void op_iterate(struct run *r)
{
	unsigned long min, max;
	size_t k;
	void *entry;

	pick_window(r, &min, &max);
	{
		MA_STATE(mas, &r->mt, min, min);
		uint8_t pause = fz_u8(&r->in);
		unsigned int n = 0;

		k = model_lower(&r->model, min);
		alock(r);
		while ((entry = mas_find(&mas, max)) != NULL) {
			FZ_CHECK(k < r->model.count &&
				 r->model.r[k].first <= max &&
				 entry == r->model.r[k].entry &&
				 mas.index == r->model.r[k].first &&
				 mas.last == r->model.r[k].last,
				 "mas_find [%lu, %lu] #%u: %p [%lu, %lu]", min,
				 max, n, entry, mas.index, mas.last);
			k++;
			if (pause && ++n % pause == 0) {
				mas_pause(&mas);
				aunlock(r);
				alock(r);
			}
		}
		aunlock(r);
		FZ_CHECK(k == r->model.count || r->model.r[k].first > max,
			 "mas_find [%lu, %lu]: stopped early", min, max);
	}
	{
		MA_STATE(mas, &r->mt, max, max);

		/* k: the ranges starting at or below max */
		k = model_lower(&r->model, max);
		if (k < r->model.count && r->model.r[k].first <= max)
			k++;
		alock(r);
		while ((entry = mas_find_rev(&mas, min)) != NULL) {
			FZ_CHECK(k > 0 && r->model.r[k - 1].last >= min &&
				 entry == r->model.r[k - 1].entry &&
				 mas.index == r->model.r[k - 1].first &&
				 mas.last == r->model.r[k - 1].last,
				 "mas_find_rev [%lu, %lu]: %p [%lu, %lu]", min,
				 max, entry, mas.index, mas.last);
			k--;
		}
		aunlock(r);
		FZ_CHECK(k == 0 || r->model.r[k - 1].last < min,
			 "mas_find_rev [%lu, %lu]: stopped early", min, max);
	}
}

/* Advanced-API writes: mas_store_gfp, mas_preallocate + store, mas_store
 * with mas_nomem, mas_erase. */
static void op_mas_write(struct run *r)
{
	unsigned long first, last, f, l;
	uint8_t how = fz_u8(&r->in) % 4;
	void *e = fz_u8(&r->in) < 200 ? new_entry(r) : NULL;
	gfp_t gfp = pick_gfp(r);
	void *want, *old;
	int ret;

	pick_range(r, &first, &last);
	MA_STATE(mas, &r->mt, first, last);
	want = model_at(r, first, &f, &l);
	alock(r);
	switch (how) {
	case 0:
		ret = mas_store_gfp(&mas, e, gfp);
		check_nomem(r, ret, "mas_store_gfp");
		FZ_CHECK(ret == 0 || ret == -ENOMEM, "mas_store_gfp %d", ret);
		if (!ret)
			model_store(&r->model, first, last, e);
		break;
	case 1:
		ret = mas_preallocate(&mas, e, gfp);
		check_nomem(r, ret, "mas_preallocate");
		FZ_CHECK(ret == 0 || ret == -ENOMEM, "mas_preallocate %d", ret);
		if (!ret) {
			mas_store_prealloc(&mas, e);
			FZ_CHECK(!mas_is_err(&mas), "mas_store_prealloc failed");
			model_store(&r->model, first, last, e);
		}
		mas_destroy(&mas);
		break;
	case 2:
		for (int tries = 0;; tries++) {
			old = mas_store(&mas, e);
			if (!mas_is_err(&mas)) {
				FZ_CHECK(old == want, "mas_store old %p, want %p",
					 old, want);
				model_store(&r->model, first, last, e);
				break;
			}
			check_nomem(r, xa_err(mas.node), "mas_store");
			if (tries == 2 || !mas_nomem(&mas, GFP_ATOMIC))
				break;
		}
		mas_destroy(&mas);
		break;
	default:
		mas_set(&mas, first);
		old = mas_erase(&mas);
		if (mas_is_err(&mas)) {
			check_nomem(r, xa_err(mas.node), "mas_erase");
		} else {
			FZ_CHECK(old == want, "mas_erase %lu: %p, want %p",
				 first, old, want);
			if (want)
				FZ_CHECK(mas.index == f && mas.last == l,
					 "mas_erase range [%lu, %lu], want "
					 "[%lu, %lu]", mas.index, mas.last, f,
					 l);
			model_store(&r->model, f, l, NULL);
		}
		break;
	}
	aunlock(r);
	after_write(r);
}

static void op_empty_area(struct run *r)
{
	MA_STATE(mas, &r->mt, 0, 0);
	unsigned long min, max, start;
	unsigned long size = 1 + (fz_u8(&r->in) & 31);
	uint8_t mode = fz_u8(&r->in);
	bool rev = mode & 1, aligned = mode & 2;
	unsigned long align = 1ul << ((mode >> 2) & 7);
	unsigned int max_misses = mode >> 5;
	bool ok;
	int ret;

	pick_window(r, &min, &max);
	alock(r);
	if (aligned)
		ret = mas_empty_area_aligned(&mas, min, max, size, align,
					     max_misses, rev);
	else
		ret = rev ? mas_empty_area_rev(&mas, min, max, size)
			  : mas_empty_area(&mas, min, max, size);
	aunlock(r);
	if (max - min < size - 1) {
		FZ_CHECK(ret == -EINVAL, "empty_area small window: %d", ret);
		return;
	}
	if (aligned)
		ok = model_empty_area_aligned(&r->model, min, max, size, align,
					      rev, &start);
	else
		ok = model_empty_area(&r->model, min, max, size, rev, &start);
	if (ret == -EAGAIN) {
		FZ_CHECK(aligned && max_misses > 0, "-EAGAIN without a bound");
		FZ_CHECK(mas.min <= mas.max && mas.min >= min &&
			 mas.max <= max, "-EAGAIN window");
		FZ_CHECK(!ok || (start >= mas.min && start <= mas.max),
			 "-EAGAIN: placement %lu outside [%lu, %lu]", start,
			 mas.min, mas.max);
		return;
	}
	FZ_CHECK(ok ? ret == 0 : ret == -EBUSY,
		 "empty_area%s%s(%lu, %lu, %lu): %d, model %d",
		 rev ? "_rev" : "", aligned ? "_aligned" : "", min, max, size,
		 ret, ok);
	if (ok)
		FZ_CHECK(mas.index == start && mas.last == start + size - 1 &&
			 mas.min <= start && mas.max >= mas.last &&
			 mas.min >= min && mas.max <= max,
			 "empty_area [%lu, %lu] in [%lu, %lu], want %lu",
			 mas.index, mas.last, mas.min, mas.max, start);
}

static void op_alloc_range(struct run *r)
{
	unsigned long min, max, start = 0, got = 0;
	unsigned long size = 1 + (fz_u8(&r->in) & 15);
	bool rev = fz_bool(&r->in);
	gfp_t gfp = pick_gfp(r);
	void *e = new_entry(r);
	bool ok;
	int ret;

	pick_window(r, &min, &max);
	ok = model_empty_area(&r->model, min, max, size, rev, &start);
	nlock(r);
	ret = rev ? mtree_alloc_rrange(&r->mt, &got, e, size, min, max, gfp)
		  : mtree_alloc_range(&r->mt, &got, e, size, min, max, gfp);
	nunlock(r);
	if (!mt_is_alloc(&r->mt) || max - min < size - 1) {
		FZ_CHECK(ret == -EINVAL, "alloc_range bad args: %d", ret);
	} else if (ret == -ENOMEM && ok) {
		check_nomem(r, ret, "alloc_range");
	} else {
		FZ_CHECK(ok ? ret == 0 && got == start : ret == -EBUSY,
			 "alloc%s_range(%lu, [%lu, %lu]): %d at %lu, model "
			 "%d at %lu", rev ? "_r" : "", size, min, max, ret,
			 got, ok, start);
		if (ok)
			model_store(&r->model, start, start + size - 1, e);
	}
	after_write(r);
}

static void op_alloc_cyclic(struct run *r)
{
	unsigned long lo, hi, got = 0, next, top, start = 0;
	bool ok, wrapped = false;
	gfp_t gfp = pick_gfp(r);
	void *e = new_entry(r);
	int ret;

	pick_window(r, &lo, &hi);
	if (fz_bool(&r->in))
		r->cyclic_next = pick_index(r);
	next = r->cyclic_next;
	/* the first free index at or after max(next, lo) up to hi, else
	 * from lo up to it */
	top = next > lo ? next : lo;
	ok = top <= hi && model_empty_area(&r->model, top, hi, 1, false,
					   &start);
	if (!ok && top > lo) {
		ok = model_empty_area(&r->model, lo, top - 1 < hi ? top - 1 : hi,
				      1, false, &start);
		wrapped = true;
	}
	nlock(r);
	ret = mtree_alloc_cyclic(&r->mt, &got, e, lo, hi, &r->cyclic_next, gfp);
	nunlock(r);
	if (!mt_is_alloc(&r->mt)) {
		FZ_CHECK(ret == -EINVAL, "alloc_cyclic not alloc tree: %d", ret);
	} else if (ret == -ENOMEM && ok) {
		check_nomem(r, ret, "alloc_cyclic");
		FZ_CHECK(r->cyclic_next == next, "alloc_cyclic moved next");
	} else {
		FZ_CHECK(ok ? ret == (int)wrapped && got == start
			    : ret == -EBUSY,
			 "alloc_cyclic([%lu, %lu], next %lu): %d at %lu, "
			 "model %d at %lu", lo, hi, next, ret, got, ok, start);
		if (ok) {
			FZ_CHECK(r->cyclic_next == got + 1, "alloc_cyclic next");
			model_store(&r->model, got, got, e);
		} else {
			FZ_CHECK(r->cyclic_next == next, "alloc_cyclic next");
		}
	}
	after_write(r);
}

static void op_dup(struct run *r)
{
	struct maple_tree copy;
	MA_STATE(mas, &copy, 0, 0);
	gfp_t gfp = pick_gfp(r);
	size_t k = 0;
	char msg[256];
	void *entry;
	int ret;

	if (fz_bool(&r->in)) {
		mt_init_flags(&copy, MT_FLAGS_USE_RCU);
		r->rcu_used = true;
	} else {
		mt_init_flags(&copy, 0);
	}
	FZ_CHECK(mt_set_allocator(&copy, r->faults ? r->fault : r->cache) == 0,
		 "dup allocator");
	nlock(r);
	ret = mtree_dup(&r->mt, &copy, gfp);
	nunlock(r);
	if (ret) {
		check_nomem(r, ret, "mtree_dup");
		FZ_CHECK(ret == -ENOMEM && mtree_empty(&copy),
			 "mtree_dup %d, copy not empty", ret);
		check_alloc_counts(r);
		return;
	}
	FZ_CHECK(mt_is_alloc(&copy) == mt_is_alloc(&r->mt), "dup flags");
	mtree_lock(&copy);
	FZ_CHECK(mt_validate_msg(&copy, msg, sizeof(msg)) == 0,
		 "dup mt_validate: %s", msg);
	mas_for_each(&mas, entry, ULONG_MAX) {
		FZ_CHECK(k < r->model.count && entry == r->model.r[k].entry &&
			 mas.index == r->model.r[k].first &&
			 mas.last == r->model.r[k].last,
			 "dup range %zu: %p [%lu, %lu]", k, entry, mas.index,
			 mas.last);
		k++;
	}
	mtree_unlock(&copy);
	FZ_CHECK(k == r->model.count, "dup has %zu ranges, model %zu", k,
		 r->model.count);
	/* the copy is its own: writing it leaves the original alone */
	if (fz_bool(&r->in))
		mtree_store_range(&copy, 0, pick_index(r), new_entry(r),
				  GFP_KERNEL);
	mtree_destroy(&copy);
	FZ_CHECK(mtree_empty(&copy), "dup destroyed, not empty");
	after_write(r);
}

static void op_reserve(struct run *r)
{
	uint8_t b = fz_u8(&r->in);
	unsigned int nr = b & 63;
	struct mt_tree_stats before, after;
	gfp_t gfp = pick_gfp(r);
	int ret;

	tree_stats(r, &before);
	/* issue 19 item 7: a target past the bound fails and changes
	 * nothing */
	if (b >= 250)
		nr = UINT_MAX - (b & 3);
	else if (b >= 248)
		nr = MT_RESERVE_MAX + (b & 1);
	nlock(r);
	ret = mt_reserve_nodes(&r->mt, nr, gfp);
	nunlock(r);
	tree_stats(r, &after);
	if (nr > MT_RESERVE_MAX) {
		FZ_CHECK(ret == -EINVAL, "reserve %u past the bound: %d", nr, ret);
	} else if (ret == 0) {
		FZ_CHECK(after.reserve_target == nr && after.reserve_now == nr,
			 "reserve %u: target %u, now %u", nr,
			 after.reserve_target, after.reserve_now);
	} else {
		FZ_CHECK(ret == -ENOMEM, "reserve %u: %d", nr, ret);
		check_nomem(r, ret, "mt_reserve_nodes");
	}
	/* on every error: target and reserve as they were */
	FZ_CHECK(!ret || (after.reserve_target == before.reserve_target &&
			  after.reserve_now == before.reserve_now),
		 "reserve %u failed (%d): target %u -> %u, now %u -> %u", nr, ret,
		 before.reserve_target, after.reserve_target,
		 before.reserve_now, after.reserve_now);
	check_alloc_counts(r);
}

static void op_rcu(struct run *r)
{
	nlock(r);
	if (fz_bool(&r->in)) {
		mt_set_in_rcu(&r->mt);
		r->rcu_used = true;
	} else {
		mt_clear_in_rcu(&r->mt);
	}
	nunlock(r);
	if (fz_bool(&r->in))
		urcu_memb_barrier();
	after_write(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run run;
	struct run *r = &run;
	unsigned int nops = 0;
	uint8_t setup;

	memset(r, 0, sizeof(*r));
	fz_init(&r->in, data, size);
	setup = fz_u8(&r->in);
	r->faults = setup & 8;
	r->ext_lock = setup & 4;
	r->rcu_used = setup & 2;
	model_init(&r->model);
	pthread_mutex_init(&r->ext, NULL);
	r->cache = mt_node_cache_create(NULL);
	FZ_CHECK(r->cache, "node cache");
	if (r->faults) {
		r->fault = mt_fault_allocator_create(r->cache);
		FZ_CHECK(r->fault, "fault allocator");
		r->fl.a = r->fault;
	}
	mt_init_flags(&r->mt, (setup & 1 ? MT_FLAGS_ALLOC_RANGE : 0) |
				      (setup & 2 ? MT_FLAGS_USE_RCU : 0));
	if (r->ext_lock)
		mt_set_external_lock(&r->mt, &r->ext);
	FZ_CHECK(mt_set_allocator(&r->mt, r->faults ? r->fault : r->cache) ==
			 0, "set allocator");
	nlock(r);
	mt_set_erase_failed(&r->mt, erase_failed, r);
	nunlock(r);

	while (fz_more(&r->in) && nops++ < 2000) {
		uint8_t op = fz_u8(&r->in);

		faults_begin(r);
		switch (op % 16) {
		case 0:
		case 1:
		case 2:
			op_store(r, false);
			break;
		case 3:
			op_store(r, true);
			break;
		case 4:
		case 5:
			op_erase(r);
			break;
		case 6:
			op_load(r);
			break;
		case 7:
			op_find(r);
			break;
		case 8:
			op_next_prev(r);
			break;
		case 9:
			op_iterate(r);
			break;
		case 10:
			op_mas_write(r);
			break;
		case 11:
			op_empty_area(r);
			break;
		case 12:
			op_alloc_range(r);
			break;
		case 13:
			op_alloc_cyclic(r);
			break;
		case 14:
			if (op & 0x80)
				op_reserve(r);
			else
				op_dup(r);
			break;
		default:
			op_rcu(r);
			break;
		}
	}

	/* exact accounting: every node back once the tree is gone */
	if (r->faults)
		FZ_CHECK(mt_fault_allocator_set(r->fault, NULL) == 0, "faults");
	nlock(r);
	mtree_destroy(&r->mt);
	nunlock(r);
	FZ_CHECK(mtree_empty(&r->mt), "destroyed, not empty");
	if (r->rcu_used)
		urcu_memb_barrier(); /* the retired nodes come back */
	fz_allocators_done(r->fault, r->cache);
	pthread_mutex_destroy(&r->ext);
	model_free(&r->model);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * alloc_range.c - storing into free space of an allocation tree: the
 * lowest, the highest, or the next one cyclically.  Each is a gap search
 * (gap.c) and a store, under the tree lock, so nothing can take the space
 * between the two; a retry after allocating searches again.
 */
#include <errno.h>

#include "gap.h"
#include "supply.h"
#include "write.h"

static int alloc_checks(struct maple_tree *mt, void *entry)
{
	if (!mt_is_alloc(mt))
		return -EINVAL;
	if (!entry || mt_is_reserved(entry))
		return -EINVAL;
	return 0;
}

/* An allocation: each attempt searches again (the tree may have changed
 * while the write loop allocated with the lock dropped). */
struct alloc_args {
	void *entry;
	unsigned long size, min, max;
	bool rev;
	unsigned long *next;   /* cyclic only: min is range_lo */
	bool wrapped;
};

static int alloc_op(struct ma_state *mas, gfp_t gfp, void *arg)
{
	struct alloc_args *a = arg;
	struct maple_path path;
	int ret;

	mas_reset(mas);
	/* the search's way down to the free range is the store's: it is
	 * not walked twice */
	ret = gap_find(mas, a->min, a->max, a->size, a->rev, &path);
	if (ret)
		return ret;
	wr_store_walked(mas, a->entry, gfp, &path);
	return mas_is_err(mas) ? xa_err(mas->node) : 0;
}

static int alloc_in(struct maple_tree *mt, unsigned long *startp, void *entry,
		    unsigned long size, unsigned long min, unsigned long max,
		    gfp_t gfp, bool rev)
{
	MA_STATE(mas, mt, 0, 0);
	struct alloc_args a = { entry, size, min, max, rev, NULL, false };
	int ret = alloc_checks(mt, entry);

	if (ret)
		return ret;
	ret = supply_locked_write(&mas, gfp, alloc_op, &a);
	if (!ret)
		*startp = mas.index;
	return ret;
}

LIBIOVA_EXPORT int mtree_alloc_range(struct maple_tree *mt,
				     unsigned long *startp, void *entry,
				     unsigned long size, unsigned long min,
				     unsigned long max, gfp_t gfp)
{
	return alloc_in(mt, startp, entry, size, min, max, gfp, false);
}

LIBIOVA_EXPORT int mtree_alloc_rrange(struct maple_tree *mt,
				      unsigned long *startp, void *entry,
				      unsigned long size, unsigned long min,
				      unsigned long max, gfp_t gfp)
{
	return alloc_in(mt, startp, entry, size, min, max, gfp, true);
}

/*
 * The first free index at or after *next, wrapping to range_lo once.  Both
 * searches stay inside [range_lo, range_hi]: *next may lie anywhere, above
 * range_hi too (then the search starts over at range_lo).
 */
static int cyclic_op(struct ma_state *mas, gfp_t gfp, void *arg)
{
	struct alloc_args *a = arg;
	unsigned long lo = a->min, hi = a->max;
	unsigned long min = *a->next > lo ? *a->next : lo;
	struct maple_path path;
	int ret;

	mas_reset(mas);
	a->wrapped = false;
	ret = min <= hi ? gap_find(mas, min, hi, 1, false, &path) : -EBUSY;
	if (ret == -EBUSY && min > lo) {
		/* below where the first search began, and never above hi */
		ret = gap_find(mas, lo, min - 1 < hi ? min - 1 : hi, 1, false,
			       &path);
		a->wrapped = true;
	}
	if (ret)
		return ret;
	wr_store_walked(mas, a->entry, gfp, &path);
	if (mas_is_err(mas))
		return xa_err(mas->node);
	/* the lock is still held: record the wrap while it is */
	if (mas->index == ULONG_MAX)
		mas->tree->ma_flags |= MT_FLAGS_ALLOC_WRAPPED;
	return 0;
}

LIBIOVA_EXPORT int mtree_alloc_cyclic(struct maple_tree *mt,
				      unsigned long *startp, void *entry,
				      unsigned long range_lo,
				      unsigned long range_hi,
				      unsigned long *next, gfp_t gfp)
{
	MA_STATE(mas, mt, 0, 0);
	struct alloc_args a = { entry, 1, range_lo, range_hi, false, next,
				false };
	int ret = alloc_checks(mt, entry);

	if (ret)
		return ret;
	if (range_lo > range_hi)
		return -EINVAL;
	ret = supply_locked_write(&mas, gfp, cyclic_op, &a);
	if (ret)
		return ret;
	*startp = mas.index;
	*next = mas.index + 1;
	return a.wrapped;
}

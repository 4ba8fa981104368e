/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * alloc_range.c - storing into free space of an allocation tree: the
 * lowest, the highest, or the next one cyclically.  Each is a gap search
 * (gap.c) and a store, under the tree lock, so nothing can take the space
 * between the two.
 */
#include <errno.h>

#include "mas.h"

static int alloc_checks(struct maple_tree *mt, void *entry)
{
	if (!mt_is_alloc(mt))
		return -EINVAL;
	if (!entry || mt_is_reserved(entry))
		return -EINVAL;
	return 0;
}

static int alloc_in(struct maple_tree *mt, unsigned long *startp, void *entry,
		    unsigned long size, unsigned long min, unsigned long max,
		    gfp_t gfp, bool rev)
{
	MA_STATE(mas, mt, 0, 0);
	int ret = alloc_checks(mt, entry);

	if (ret)
		return ret;
	mtree_lock(mt);
	ret = rev ? mas_empty_area_rev(&mas, min, max, size)
		  : mas_empty_area(&mas, min, max, size);
	if (!ret) {
		mt_write(&mas, entry, gfp);
		if (mas_is_err(&mas))
			ret = xa_err(mas.node);
		else
			*startp = mas.index;
	}
	mtree_unlock(mt);
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

LIBIOVA_EXPORT int mtree_alloc_cyclic(struct maple_tree *mt,
				      unsigned long *startp, void *entry,
				      unsigned long range_lo,
				      unsigned long range_hi,
				      unsigned long *next, gfp_t gfp)
{
	MA_STATE(mas, mt, 0, 0);
	unsigned long min;
	bool wrapped = false;
	int ret = alloc_checks(mt, entry);

	if (ret)
		return ret;
	if (range_lo > range_hi)
		return -EINVAL;
	mtree_lock(mt);
	min = *next > range_lo ? *next : range_lo;
	ret = min <= range_hi ? mas_empty_area(&mas, min, range_hi, 1) : -EBUSY;
	if (ret == -EBUSY && min > range_lo) {
		ret = mas_empty_area(&mas, range_lo, min - 1, 1);
		wrapped = true;
	}
	if (!ret) {
		mt_write(&mas, entry, gfp);
		if (mas_is_err(&mas)) {
			ret = xa_err(mas.node);
		} else {
			*startp = mas.index;
			*next = mas.index + 1;
			if (*next == 0)
				mt->ma_flags |= MT_FLAGS_ALLOC_WRAPPED;
			ret = wrapped;
		}
	}
	mtree_unlock(mt);
	return ret;
}

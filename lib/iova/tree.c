/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tree.c - floor 1 of lib/iova (tree.h): the primitives on a domain's
 * allocation tree, the aligned gap search and the writes (store, insert,
 * replace, a plain erase).  Nothing here drains or parks: that is the
 * deferral's (deferral.c), one floor up.
 *
 * The tree holds pfns, is in RCU mode (lookups run lock-free) and is
 * protected by the domain lock as its external lock.
 */
#include "tree.h"

/*
 * The aligned search.  The tree's aligned gap search takes the highest
 * (lowest) aligned placement in one descent, passing free ranges that are
 * large enough but cannot take the alignment.  Such misses are bounded:
 * after EXACT_CANDIDATES of them, one search asks for a free range of
 * size + align - 1, which holds an aligned placement wherever it lies,
 * below (above) the ranges passed; only if there is none does an
 * unbounded aligned search finish the job, so that a failure always means
 * there is no room.  With align 1 nothing is ever missed.
 */
#define EXACT_CANDIDATES 4

int iova_find_free(struct iova_domain *iovad, unsigned long size,
		   unsigned long align, unsigned long min, unsigned long max,
		   bool top_down, unsigned long *pfn)
{
	MA_STATE(mas, &iovad->tree, 0, 0);
	unsigned long wide = size + align - 1;
	int ret;

	if (top_down && max != ULONG_MAX) {
		struct iova_filled_top *t = iova_filled_top_of(iovad, max);

		if (t->limit >= max && t->from <= max) {
			if (!t->from)
				return -ENOSPC; /* all of [0, max] taken */
			max = t->from - 1;
		} else if (t->limit != max) {
			/* another limit of this class: know it from now on */
			*t = (struct iova_filled_top){ max, max + 1 };
		}
	}
	if (!iova_find_fits(size, min, max))
		return -ENOSPC;
	ret = mas_empty_area_aligned(&mas, min, max, size, align,
				     EXACT_CANDIDATES, top_down);
	if (ret == -EAGAIN) {
		min = mas.min;
		max = mas.max;
		/* a wide range fits the window and did not wrap */
		if (wide > size && max - min >= wide - 1 &&
		    !mas_empty_area_aligned(&mas, min, max, wide, 1, 0,
					    top_down)) {
			*pfn = top_down ? (mas.last - size + 1) & ~(align - 1)
					: (mas.index + align - 1) & ~(align - 1);
			return 0;
		}
		ret = mas_empty_area_aligned(&mas, min, max, size, align, 0,
					     top_down);
	}
	if (ret)
		return -ENOSPC;
	*pfn = mas.index;
	return 0;
}

void iova_replace(struct iova_domain *iovad, unsigned long lo,
		  unsigned long hi, void *entry)
{
	MA_STATE(mas, &iovad->tree, lo, hi);

	/* an exact fit over one range: a slot store, no node needed */
	mas_store_gfp(&mas, entry, GFP_NOWAIT);
}

void *iova_lookup(struct iova_domain *iovad, unsigned long pfn,
		  unsigned long *lo, unsigned long *hi)
{
	MA_STATE(mas, &iovad->tree, pfn, pfn);
	void *entry = mas_walk(&mas);

	*lo = mas.index;
	*hi = mas.last;
	return entry;
}

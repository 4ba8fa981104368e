/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tree.h - floor 1 of lib/iova (docs/iova.md, "Layers"): what tree.c
 * offers, the primitives on a domain's allocation tree under the domain
 * lock: store, insert, replace, a plain erase that may fail, lookup, and
 * the aligned gap search.  None of them knows about parked ranges: the
 * deferral (deferral.h, floor 2) builds the erase that never fails and
 * the search that drains on these.  Includes iova_base.h only.
 *
 * Locking: every tree write and every gap search runs under
 * domain->iova_lock (the tree's external lock).  Readers that only look
 * an address up use the RCU read lock (the tree is in RCU mode).
 */
#ifndef LIBIOVA_TREE_H
#define LIBIOVA_TREE_H

#include <pthread.h>

#include "iova_base.h"

static inline void iova_lock(struct iova_domain *iovad)
{
	pthread_mutex_lock(&iovad->iova_lock);
}

static inline void iova_unlock(struct iova_domain *iovad)
{
	pthread_mutex_unlock(&iovad->iova_lock);
}

/* Whether [@min, @max] is wide enough for @size (> 0) pfns at all. */
static inline bool iova_find_fits(unsigned long size, unsigned long min,
				  unsigned long max)
{
	return size && min <= max && max - min >= size - 1;
}

/*
 * Filled tops.  Top-down allocation fills the pfns just below a limit
 * first; after that, a search under the limit still goes down toward it
 * at every level, where the child that holds the limit reports a large
 * gap that lies above the limit, and it finds that out only at the
 * leaves (the case the kernel's rbtree keeps its cached32_node for).  So
 * a domain remembers, for one limit below 4 GiB and one above, a pfn
 * @from such that [from, limit] holds no free pfn, and a top-down search
 * under a limit @max inside that range searches below @from instead,
 * which finds the same placement, the pfns above being taken.
 *
 * The rule is exact, not a guess: an insert of [lo, hi] with hi + 1 ==
 * from lowers @from to lo, and a range freed (erased or parked) that meets
 * [from, limit] raises @from above it.  Both under the lock.  A limit of
 * ULONG_MAX has no filled top (from would not fit).
 */
static inline struct iova_filled_top *
iova_filled_top_of(struct iova_domain *iovad, unsigned long limit)
{
	return &iovad->filled_top[limit >= iovad->dma_32bit_pfn];
}

/* The domain's filled tops know nothing yet. */
static inline void iova_filled_tops_reset(struct iova_domain *iovad)
{
	for (unsigned int i = 0; i < 2; i++)
		iovad->filled_top[i] = (struct iova_filled_top){ 0, 1 };
}

/* [@lo, @hi] was stored taken (allocated or reserved). */
static inline void iova_filled_top_taken(struct iova_domain *iovad,
					 unsigned long lo, unsigned long hi)
{
	struct iova_filled_top *t = iova_filled_top_of(iovad, hi);

	if (hi + 1 == t->from && hi <= t->limit)
		t->from = lo;
}

/* [@lo, @hi] became free (erased, or parked: free for the allocations). */
static inline void iova_filled_top_freed(struct iova_domain *iovad,
					 unsigned long lo, unsigned long hi)
{
	for (unsigned int i = 0; i < 2; i++) {
		struct iova_filled_top *t = &iovad->filled_top[i];

		if (lo <= t->limit && hi >= t->from)
			t->from = hi < t->limit ? hi + 1 : t->limit + 1;
	}
}

/*
 * Find a free range of @size pfns inside [@min, @max] whose first pfn is a
 * multiple of @align (a power of two), as high as possible (@top_down) or
 * as low as possible.  Under the lock.  Returns 0 with *@pfn set, or
 * -ENOSPC.  A top-down search starts below the filled top of @max, if
 * known.  O(log n): a few exact candidates are checked, then a search
 * for a gap large enough for any placement (docs/iova.md).  Only finds: a
 * parked range is not free here, and nothing is erased; the allocation
 * calls use iova_find_free_draining (deferral.h).
 */
int iova_find_free(struct iova_domain *iovad, unsigned long size,
		   unsigned long align, unsigned long min, unsigned long max,
		   bool top_down, unsigned long *pfn);

/*
 * Store @entry over [@lo, @hi] with @gfp: a non-blocking @gfp tries once,
 * a blocking one allocates until the store fits or memory runs out (the
 * retry is mas_store_gfp's; the domain lock, the tree's external lock,
 * stays held).  Under the lock.  Returns 0 or -ENOMEM (nothing changed).
 * Inline: every allocation and free of both APIs stores through it.
 */
static inline int iova_store(struct iova_domain *iovad, unsigned long lo,
			     unsigned long hi, void *entry, gfp_t gfp)
{
	MA_STATE(mas, &iovad->tree, lo, hi);
	int ret = mas_store_gfp(&mas, entry, gfp);

	if (mas.alloc)
		mas_destroy(&mas);
	return ret;
}

/* Store @entry over [@lo, @hi], which must be free.  Under the lock.
 * Returns 0 or -ENOMEM (nothing changed).  May block.  No drain here:
 * the search before an allocation drained already, reservations and
 * exact placements clear their range first. */
static inline int iova_insert(struct iova_domain *iovad, unsigned long lo,
			      unsigned long hi, void *entry)
{
	int ret = iova_store(iovad, lo, hi, entry, GFP_KERNEL);

	if (!ret)
		iova_filled_top_taken(iovad, lo, hi);
	return ret;
}

/* Overwrite exactly the existing range [@lo, @hi] with @entry: needs no
 * memory, never fails.  Under the lock. */
void iova_replace(struct iova_domain *iovad, unsigned long lo,
		  unsigned long hi, void *entry);

/* Erase the existing range [@lo, @hi] without blocking (GFP_ATOMIC: a
 * free may come from a context that cannot wait, and may use the tree's
 * node reserve).  Under the lock.  Returns 0 or -ENOMEM (nothing
 * changed).  A free goes through iova_erase (deferral.h), which parks the
 * range when this fails. */
static inline int iova_erase_atomic(struct iova_domain *iovad,
				    unsigned long lo, unsigned long hi)
{
	return iova_store(iovad, lo, hi, NULL, GFP_ATOMIC);
}

/* The entry at @pfn and its range, under the lock or the RCU read lock. */
void *iova_lookup(struct iova_domain *iovad, unsigned long pfn,
		  unsigned long *lo, unsigned long *hi);

#endif /* LIBIOVA_TREE_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * domain.c - the core both APIs share: a domain's allocation tree, the
 * aligned gap search, and the three writes (insert, replace, erase).
 *
 * The tree holds pfns, is in RCU mode (lookups run lock-free) and is
 * protected by the domain lock as its external lock.
 */
#include <urcu/urcu-memb.h> /* urcu_memb_barrier */

#include "iova_internal.h"

int iova_domain_setup(struct iova_domain *iovad, unsigned long granule,
		      unsigned long start_pfn)
{
	pthread_mutexattr_t attr;

	iovad->deferral = iova_deferral_create(iovad);
	if (!iovad->deferral) {
		iovad->magic = 0;
		return -ENOMEM;
	}
	/* adaptive: writers hold it for a microsecond or less, and on a
	 * virtual machine a writer that slept in the kernel on it woke up to
	 * hundreds of microseconds later */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&iovad->iova_lock, &attr);
	pthread_mutexattr_destroy(&attr);
	mt_init_flags(&iovad->tree, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU);
	mt_set_external_lock(&iovad->tree, &iovad->iova_lock);
	iovad->granule = granule;
	iovad->start_pfn = start_pfn;
	iovad->dma_32bit_pfn = (unsigned long)(1ULL << 32) >>
			       __builtin_ctzl(granule);
	iovad->max32_alloc_size = iovad->dma_32bit_pfn;
	iovad->ceiling_pfn = ULONG_MAX;
	iovad->rcaches = NULL;
	iovad->nr_spare = 0;
	iovad->magic = IOVA_DOMAIN_MAGIC;
	return 0;
}

void iova_domain_teardown(struct iova_domain *iovad)
{
	bool own_allocator = iovad->tree.ma_alloc != NULL;

	iova_deferral_destroy(iovad->deferral);
	iovad->deferral = NULL;
	iova_lock(iovad);
	mtree_destroy(&iovad->tree);
	iovad->magic = 0;
	iova_unlock(iovad);
	pthread_mutex_destroy(&iovad->iova_lock);
	/* The tree is in RCU mode: its nodes, those mtree_destroy just freed
	 * and those retired before, reach their allocator after a grace
	 * period, from liburcu's call_rcu thread.  A node allocator of the
	 * user's own is waited for, so that it can be destroyed (or checked
	 * for leaks) as soon as this returns; the default allocator lives as
	 * long as the process and is not. */
	if (own_allocator)
		urcu_memb_barrier();
}

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

static int find_once(struct iova_domain *iovad, unsigned long size,
		     unsigned long align, unsigned long min, unsigned long max,
		     bool top_down, unsigned long *pfn)
{
	MA_STATE(mas, &iovad->tree, 0, 0);
	unsigned long wide = size + align - 1;
	int ret;

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

/*
 * A parked range is free space: a search that finds no room while ranges
 * are parked erases some of them (blocking allowed, as the allocation
 * calls' contracts allow) and searches again, until it finds room or no
 * erase succeeds.  Each round erases at least one range for good, so the
 * rounds are bounded by the parked set; with nothing parked the cost is
 * the inline check.  What is left parked when memory ran out may be the
 * room asked for: -ENOMEM then, not -ENOSPC.
 */
int iova_find_free(struct iova_domain *iovad, unsigned long size,
		   unsigned long align, unsigned long min, unsigned long max,
		   bool top_down, unsigned long *pfn)
{
	if (!size || min > max || max - min < size - 1)
		return -ENOSPC;
	iova_deferral_drain_some(iovad);
	do {
		if (!find_once(iovad, size, align, min, max, top_down, pfn))
			return 0;
	} while (iova_deferral_drain_blocking(iovad));
	return iova_deferral_parked_in(iovad, min, max) ? -ENOMEM : -ENOSPC;
}

/* Inlined into the hot paths (iova_insert, iova_erase). */
static inline __attribute__((always_inline)) int
store(struct iova_domain *iovad, unsigned long lo, unsigned long hi,
      void *entry, gfp_t gfp)
{
	MA_STATE(mas, &iovad->tree, lo, hi);
	bool blocking = gfp & __GFP_DIRECT_RECLAIM;
	int ret;

	/* without waiting first: the common case needs no wait; a retry
	 * stores the same range again with the nodes mas_nomem() got (the
	 * domain lock stays held: it is the tree's external lock) */
	ret = mas_store_gfp(&mas, entry, blocking ? GFP_NOWAIT : gfp);
	while (blocking && ret == -ENOMEM && mas_nomem(&mas, gfp)) {
		mas_set_range(&mas, lo, hi);
		ret = mas_store_gfp(&mas, entry, GFP_NOWAIT);
	}
	mas_destroy(&mas);
	return ret;
}

int iova_store(struct iova_domain *iovad, unsigned long lo,
	       unsigned long hi, void *entry, gfp_t gfp)
{
	return store(iovad, lo, hi, entry, gfp);
}

int iova_insert(struct iova_domain *iovad, unsigned long lo,
		unsigned long hi, void *entry)
{
	/* no drain here: the search before an allocation drained already,
	 * reservations and exact placements clear their range first */
	return store(iovad, lo, hi, entry, GFP_KERNEL);
}

void iova_replace(struct iova_domain *iovad, unsigned long lo,
		  unsigned long hi, void *entry)
{
	MA_STATE(mas, &iovad->tree, lo, hi);

	/* an exact fit over one range: a slot store, no node needed */
	mas_store_gfp(&mas, entry, GFP_NOWAIT);
}

void iova_erase(struct iova_domain *iovad, unsigned long lo,
		unsigned long hi)
{
	/* GFP_ATOMIC: a free may come from a context that cannot wait, and
	 * may use the tree's node reserve */
	if (store(iovad, lo, hi, NULL, GFP_ATOMIC)) {
		iova_deferral_park(iovad, lo, hi);
		return;
	}
	iova_deferral_drain_some(iovad);
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * domain.c - the core both APIs share: a domain's allocation tree, the
 * aligned gap search, and the three writes (insert, replace, erase).
 *
 * The tree holds pfns, is in RCU mode (lookups run lock-free) and is
 * protected by the domain lock as its external lock.
 */
#include "iova_internal.h"

int iova_domain_setup(struct iova_domain *iovad, unsigned long granule,
		      unsigned long start_pfn)
{
	iovad->deferral = iova_deferral_create(iovad);
	if (!iovad->deferral) {
		iovad->magic = 0;
		return -ENOMEM;
	}
	pthread_mutex_init(&iovad->iova_lock, NULL);
	mt_init_flags(&iovad->tree, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU);
	mt_set_external_lock(&iovad->tree, &iovad->iova_lock);
	iovad->granule = granule;
	iovad->start_pfn = start_pfn;
	iovad->dma_32bit_pfn = (unsigned long)(1ULL << 32) >>
			       __builtin_ctzl(granule);
	iovad->max32_alloc_size = iovad->dma_32bit_pfn;
	iovad->rcaches = NULL;
	iovad->magic = IOVA_DOMAIN_MAGIC;
	return 0;
}

void iova_domain_teardown(struct iova_domain *iovad)
{
	iova_deferral_destroy(iovad->deferral);
	iovad->deferral = NULL;
	iova_lock(iovad);
	mtree_destroy(&iovad->tree);
	iovad->magic = 0;
	iova_unlock(iovad);
	pthread_mutex_destroy(&iovad->iova_lock);
}

/*
 * The aligned search.  The tree finds the highest (lowest) gap of a given
 * size in O(log n), but not whether an aligned range fits in it.  So:
 * check the gaps of at least @size one after the other for an aligned
 * fit, from the top (bottom); after EXACT_CANDIDATES misses, ask once for
 * a gap of size + align - 1, which holds an aligned range wherever it
 * lies; only if there is none, keep checking the remaining smaller gaps
 * one by one, so that a failure always means there is no room.  With
 * align 1 the first candidate always fits.
 */
#define EXACT_CANDIDATES 4

struct gap_search {
	struct iova_domain *iovad;
	unsigned long size, mask, min, max;
	unsigned int misses;
	bool wide_tried;
};

/* The size to ask the tree for next; 0 when the request cannot fit. */
static unsigned long next_need(struct gap_search *g)
{
	unsigned long align = ~g->mask + 1;
	unsigned long need = g->size;

	if (g->max < g->min || g->max - g->min < need - 1)
		return 0;
	if (g->misses >= EXACT_CANDIDATES && !g->wide_tried) {
		unsigned long wide = g->size + align - 1;

		g->wide_tried = true;
		/* only if it can fit the window at all (and did not wrap) */
		if (wide > g->size && g->max - g->min >= wide - 1)
			need = wide;
	}
	return need;
}

static int find_top(struct gap_search *g, unsigned long *pfn)
{
	MA_STATE(mas, &g->iovad->tree, 0, 0);

	for (;;) {
		unsigned long need = next_need(g);
		unsigned long top, first, gap_lo;

		if (!need)
			return -ENOSPC;
		mas_reset(&mas);
		if (mas_empty_area_rev(&mas, g->min, g->max, need)) {
			if (need != g->size)
				continue;  /* no wide gap: back to exact */
			return -ENOSPC;
		}
		top = mas.last;
		first = (top - g->size + 1) & g->mask;
		/* mas.min: where the free range holding it starts (clipped) */
		gap_lo = mas.min;
		if (first >= gap_lo)
			break;
		/* this gap cannot take the alignment: look below it */
		if (gap_lo == 0 || gap_lo - 1 < g->min)
			return -ENOSPC;
		g->max = gap_lo - 1;
		g->misses++;
	}
	*pfn = (mas.last - g->size + 1) & g->mask;
	return 0;
}

static int find_bottom(struct gap_search *g, unsigned long *pfn)
{
	MA_STATE(mas, &g->iovad->tree, 0, 0);
	unsigned long first;

	for (;;) {
		unsigned long need = next_need(g);
		unsigned long gap_hi;

		if (!need)
			return -ENOSPC;
		mas_reset(&mas);
		if (mas_empty_area(&mas, g->min, g->max, need)) {
			if (need != g->size)
				continue;
			return -ENOSPC;
		}
		first = (mas.index + ~g->mask) & g->mask;
		if (first < mas.index)
			return -ENOSPC;  /* aligning up wrapped past the top */
		/* mas.max: where the free range holding it ends (clipped) */
		gap_hi = mas.max;
		if (first <= gap_hi && gap_hi - first >= g->size - 1)
			break;
		if (gap_hi == ULONG_MAX || gap_hi + 1 > g->max)
			return -ENOSPC;
		g->min = gap_hi + 1;
		g->misses++;
	}
	*pfn = first;
	return 0;
}

int iova_find_free(struct iova_domain *iovad, unsigned long size,
		   unsigned long align, unsigned long min, unsigned long max,
		   bool top_down, unsigned long *pfn)
{
	struct gap_search g = { iovad, size, ~(align - 1), min, max, 0,
				false };

	if (!size || min > max)
		return -ENOSPC;
	iova_deferral_drain_some(iovad);
	return top_down ? find_top(&g, pfn) : find_bottom(&g, pfn);
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

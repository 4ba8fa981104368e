/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * deferral.h - floor 2 of lib/iova (docs/iova.md, "Layers"): what
 * deferral.c offers, the free path over the tree primitives.  A free is
 * an erase that never fails (iova_erase: erase, or park the range when
 * the erase finds no node); parked ranges are drained later; every range
 * that becomes free passes one hook (range_freed, in deferral.c); and the
 * allocations' search, iova_find_free_draining, drains parked ranges when
 * it finds no room.  Includes tree.h and timer.h (floors 1 and 0) and
 * iova_base.h, never a header above it.
 *
 * Locking: struct iova_deferral is under the domain lock, except what the
 * timer service keeps in the timer.
 */
#ifndef LIBIOVA_DEFERRAL_H
#define LIBIOVA_DEFERRAL_H

#include "iova_base.h"
#include "timer.h"
#include "tree.h"

#define IOVA_DEFERRAL_LISTED 64 /* parked ranges remembered one by one */

struct iova_parked_range {
	unsigned long lo, hi;
};

/* A domain's deferred erase; every field under the domain lock. */
struct iova_deferral {
	struct iova_domain *iovad;
	struct iova_timer timer;
	bool armed;          /* a retry is scheduled: iff something is parked */
	uint64_t due_ns;     /* when (CLOCK_MONOTONIC), while armed */
	bool warned;         /* the warn callback ran in this episode */
	struct iova_backoff policy;
	struct iova_deferral_stats st;
	struct iova_parked_range listed[IOVA_DEFERRAL_LISTED];
	unsigned int nr_listed;
	bool overflow;       /* some parked ranges are only in the window */
	unsigned long win_lo, win_hi, scan_from; /* covers every parked one */
};

/* For iova_domain_setup (domain.c): NULL on no memory. */
struct iova_deferral *iova_deferral_create(struct iova_domain *iovad);
/* For iova_domain_teardown: stop the worker for @iovad and erase what is
 * parked (blocking); what still is goes with the tree.  Without the
 * domain lock. */
void iova_deferral_destroy(struct iova_deferral *d);

/*
 * Erase the existing range [@lo, @hi].  Under the lock.  Never fails,
 * never blocks for memory and never loses the range: without a node for
 * the erase the range is parked.  The one place a free reaches the tree;
 * the range counts as free from then on either way (deferral.c's
 * range_freed, which the drain of a parked range calls too).
 */
void iova_erase(struct iova_domain *iovad, unsigned long lo,
		unsigned long hi);

/* Under the lock, with something parked: erase a few without blocking. */
void iova_deferral_drain_parked(struct iova_domain *iovad);

/* Under the lock: erase a few parked ranges without blocking, if any.
 * Inline: on every allocation and free, where nothing is parked. */
static inline void iova_deferral_drain_some(struct iova_domain *iovad)
{
	if (__builtin_expect(iovad->deferral->st.parked_now != 0, 0))
		iova_deferral_drain_parked(iovad);
}
/* Under the lock: drain a few without blocking, then erase with @gfp
 * every parked range that meets [@lo, @hi]; false if one is left (no
 * memory).  Blocks if @gfp does. */
bool iova_deferral_clear(struct iova_domain *iovad, unsigned long lo,
			 unsigned long hi, gfp_t gfp);
/* Under the lock: may a parked range lie in [@lo, @hi]?  (The window
 * that covers every parked range meets it.)  Inline: the kernel API's
 * 32-bit shortcut asks it on every answer it gives. */
static inline bool iova_deferral_parked_in(struct iova_domain *iovad,
					   unsigned long lo, unsigned long hi)
{
	const struct iova_deferral *d = iovad->deferral;

	return d->st.parked_now && d->win_lo <= hi && lo <= d->win_hi;
}

/*
 * iova_find_free (tree.h) for an allocation, where a parked range counts
 * as free: a search that finds no room while ranges are parked erases
 * some of them, blocking allowed, and searches again.  Under the lock.
 * Returns 0 with *@pfn set, -ENOSPC, or -ENOMEM (no room, but ranges that
 * may hold it are still parked and memory ran out erasing them).  May
 * block.
 */
int iova_find_free_after_drain(struct iova_domain *iovad,
			       unsigned long size, unsigned long align,
			       unsigned long min, unsigned long max,
			       bool top_down, unsigned long *pfn);

/* Inline: the first search nearly always finds room; the drains and the
 * searches after them are iova_find_free_after_drain's. */
static inline int iova_find_free_draining(struct iova_domain *iovad,
					  unsigned long size,
					  unsigned long align,
					  unsigned long min, unsigned long max,
					  bool top_down, unsigned long *pfn)
{
	iova_deferral_drain_some(iovad);
	if (likely(!iova_find_free(iovad, size, align, min, max, top_down,
				   pfn)))
		return 0;
	return iova_find_free_after_drain(iovad, size, align, min, max,
					  top_down, pfn);
}

#endif /* LIBIOVA_DEFERRAL_H */

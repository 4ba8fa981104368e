/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rcache.h - floor 1 of lib/iova (docs/iova.md, "Layers"): what rcache.c
 * offers, the size caches (per-thread magazines and a depot) that
 * kernel_api.c and space.c put freed IOVAs in.  It never touches the
 * tree, and gives pfns back through the release callback its user
 * passes.  Includes iova_base.h; rcache.c also magazine.h and timer.h
 * (floor 0).
 */
#ifndef LIBIOVA_RCACHE_H
#define LIBIOVA_RCACHE_H

#include "iova_base.h"

/*
 * Called to give a cached pfn back for good (a flush, or the trim of a
 * depot over its bound, on the timer service's thread), without the
 * domain lock held; @log_size is its size class.
 */
typedef void (*iova_rcache_release_fn)(struct iova_domain *iovad,
				       unsigned long pfn,
				       unsigned int log_size);

/* Caches for sizes 1 .. 2^(@nr_classes - 1) of @iovad, which release
 * gets.  NULL on no memory. */
struct iova_rcaches *iova_rcaches_create(struct iova_domain *iovad,
					 unsigned int nr_classes,
					 iova_rcache_release_fn release);

/* Free the caches, dropping the cached pfns: the caller is about to
 * destroy the tree they are allocated in.  Waits for a trim in progress;
 * must not be called with the domain lock held.  No other call on @rc may run
 * (threads may exit meanwhile: their caches of @rc are freed here or by
 * their exit, whichever comes first). */
void iova_rcaches_destroy(struct iova_rcaches *rc);

/* Number of size classes (0 for NULL). */
unsigned int iova_rcaches_classes(const struct iova_rcaches *rc);

/*
 * A cached pfn of class @log_size whose range lies inside [@min, @max], or
 * 0 (also when @rc is NULL or has no such class, or without memory for
 * the calling thread's cache).  Takes no lock on its way, only the
 * thread's own magazines (rcache.c: the handshake with a flush); now and
 * then a depot's lock.  May allocate.
 */
unsigned long iova_rcache_get(struct iova_rcaches *rc, unsigned int log_size,
			      unsigned long min, unsigned long max);

/* Cache @pfn of class @log_size; false if there is no room or no such
 * class, @rc is NULL, or @pfn is 0, which get could not tell from "none"
 * (the caller frees it then).  The same locking as
 * iova_rcache_get; never calls release (a depot over its bound is
 * trimmed later). */
bool iova_rcache_put(struct iova_rcaches *rc, unsigned int log_size,
		     unsigned long pfn);

/*
 * Give back (release) every pfn cached when the call starts, every
 * thread's and the depots'; the caches stay usable.  Waits for every
 * thread that is inside a get or put of @rc to leave it, so that none
 * still uses magazines taken from it.  Must not be called with the domain
 * lock held (release takes it).
 */
void iova_rcaches_flush(struct iova_rcaches *rc);

struct iova_rcache_counts {
	uint64_t hits, misses;
	unsigned long cached; /* pfns in the caches now */
};
void iova_rcaches_counts(struct iova_rcaches *rc,
			 struct iova_rcache_counts *out);

#endif /* LIBIOVA_RCACHE_H */

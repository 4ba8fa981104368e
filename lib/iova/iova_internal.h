/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iova_internal.h - what the files of lib/iova share: the domain core
 * (domain.c), the size caches (rcache.c), and how tree entries encode
 * what a range is.  Nothing outside lib/iova includes this.
 *
 * A domain's allocation tree maps pfn ranges to entries:
 *   - a struct iova * (the kernel API's allocations and reservations); a
 *     reservation has IOVA_TAG_RESERVED set in the pointer's low bits, an
 *     allocation in a size cache (checked fast-free mode only)
 *     IOVA_TAG_CACHED;
 *   - an xa_mk_value(kind) marker (enum iova_kind): the userspace API's
 *     allocations carry no heap object, only this.
 * Every range not in the tree is free.
 *
 * Locking: every tree write and every gap search runs under
 * domain->iova_lock (the tree's external lock).  Readers that only look
 * an address up use the RCU read lock (the tree is in RCU mode).
 */
#ifndef LIBIOVA_IOVA_INTERNAL_H
#define LIBIOVA_IOVA_INTERNAL_H

#include <errno.h>
#include <stdint.h>

#include <libiova/iova.h>

#include "compiler.h"

#define IOVA_DOMAIN_MAGIC 0x69766f612d646f6dUL /* "iova-dom" */

/* Low bits of a struct iova * entry: a reservation, and (checked
 * fast-free mode) an allocation sitting in a size cache.  struct iovas
 * are allocated 16-byte aligned, so bits 2 and 3 are free and the entry
 * stays a pointer. */
#define IOVA_TAG_RESERVED 0x4UL
#define IOVA_TAG_CACHED 0x8UL
#define IOVA_TAG_MASK (IOVA_TAG_RESERVED | IOVA_TAG_CACHED)

enum iova_kind {
	IOVA_KIND_ALLOCATED = 1, /* userspace API: handed out */
	IOVA_KIND_CACHED,        /* userspace API: freed into a size cache */
	IOVA_KIND_RESERVED,      /* userspace API: reserved range */
	IOVA_KIND_HOLE,          /* userspace API: outside every window */
	IOVA_KIND_PARKED,        /* both APIs: freed, erase deferred */
};

static inline void *iova_marker(enum iova_kind kind)
{
	return xa_mk_value((unsigned long)kind);
}

static inline bool iova_entry_is_struct(const void *entry)
{
	return entry && !xa_is_value(entry) && !xa_is_internal(entry);
}

static inline struct iova *iova_entry_struct(const void *entry)
{
	return (struct iova *)((uintptr_t)entry & ~IOVA_TAG_MASK);
}

static inline bool iova_domain_ready(const struct iova_domain *iovad)
{
	return iovad && iovad->magic == IOVA_DOMAIN_MAGIC;
}

static inline unsigned long iova_ulong_log2_ceil(unsigned long x)
{
	return x <= 1 ? 0 : 64 - (unsigned long)__builtin_clzl(x - 1);
}

/* ---- domain.c: the tree under the domain lock ---------------------- */

static inline void iova_lock(struct iova_domain *iovad)
{
	pthread_mutex_lock(&iovad->iova_lock);
}

static inline void iova_unlock(struct iova_domain *iovad)
{
	pthread_mutex_unlock(&iovad->iova_lock);
}

/* Set up the lock, the tree and the deferred-erase state of a domain.
 * Returns 0 or -ENOMEM (nothing to undo then). */
int iova_domain_setup(struct iova_domain *iovad, unsigned long granule,
		      unsigned long start_pfn);

/* Undo iova_domain_setup once the tree is empty of heap objects: stops
 * the domain's deferral worker, erases what is parked, destroys the tree.
 * No other call on the domain may run. */
void iova_domain_teardown(struct iova_domain *iovad);

/*
 * Find a free range of @size pfns inside [@min, @max] whose first pfn is a
 * multiple of @align (a power of two), as high as possible (@top_down) or
 * as low as possible.  Under the lock.  Returns 0 with *@pfn set, -ENOSPC,
 * or -ENOMEM (no room, but ranges that may hold it are still parked and
 * memory ran out erasing them).  O(log n): a few exact candidates are
 * checked, then a search for a gap large enough for any placement
 * (docs/iova.md).  Parked ranges count as free: a search that fails while
 * some are parked erases them first, so it may block.
 */
int iova_find_free(struct iova_domain *iovad, unsigned long size,
		   unsigned long align, unsigned long min, unsigned long max,
		   bool top_down, unsigned long *pfn);

/* Store @entry over [@lo, @hi], which must be free.  Under the lock.
 * Returns 0 or -ENOMEM (nothing changed).  May block. */
int iova_insert(struct iova_domain *iovad, unsigned long lo,
		unsigned long hi, void *entry);

/* Store @entry over [@lo, @hi] with @gfp: a non-blocking @gfp tries once,
 * a blocking one allocates until the store fits or memory runs out.
 * Under the lock.  Returns 0 or -ENOMEM (nothing changed). */
int iova_store(struct iova_domain *iovad, unsigned long lo,
	       unsigned long hi, void *entry, gfp_t gfp);

/* Overwrite exactly the existing range [@lo, @hi] with @entry: needs no
 * memory, never fails.  Under the lock. */
void iova_replace(struct iova_domain *iovad, unsigned long lo,
		  unsigned long hi, void *entry);

/*
 * Erase the existing range [@lo, @hi].  Under the lock.  Never fails,
 * never blocks for memory and never loses the range: without a node for
 * the erase the range is parked (deferral.c).  The one place a free
 * reaches the tree.
 */
void iova_erase(struct iova_domain *iovad, unsigned long lo,
		unsigned long hi);

/* The entry at @pfn and its range, under the lock or the RCU read lock. */
void *iova_lookup(struct iova_domain *iovad, unsigned long pfn,
		  unsigned long *lo, unsigned long *hi);

/* ---- timer.c: one thread for every domain's retries ---------------- */

/* A one-shot timer; the fields are timer.c's. */
struct iova_timer {
	uint64_t deadline_ns;
	void (*fn)(struct iova_timer *t);
	struct iova_timer *next;
	bool armed, running, dead;
};

/* CLOCK_MONOTONIC in ns. */
uint64_t iova_monotonic_ns(void);
void iova_timer_init(struct iova_timer *t, void (*fn)(struct iova_timer *));
/* Run @t's callback at @deadline_ns (earlier or later than a pending one:
 * the new deadline wins).  Starts the service thread if needed.  Never
 * blocks for long; may be called with a domain lock held. */
void iova_timer_arm(struct iova_timer *t, uint64_t deadline_ns);
/* Disarm @t if it is armed; a callback already running is not waited
 * for (it may be blocked on the caller's domain lock: it must check that
 * it is still wanted).  Never blocks for long; may be called with a domain
 * lock held. */
void iova_timer_cancel(struct iova_timer *t);
/* Disarm @t for good and wait for a running callback to return.  Must not
 * be called with a lock the callback takes. */
void iova_timer_shutdown(struct iova_timer *t);

/* ---- deferral.c: parked erases --------------------------------------- */

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

struct iova_deferral *iova_deferral_create(struct iova_domain *iovad);
/* Stop the worker for @iovad and erase what is parked (blocking); what
 * still is goes with the tree.  Without the domain lock. */
void iova_deferral_destroy(struct iova_deferral *d);
/* Park [@lo, @hi], whose erase just failed for want of memory.  Under the
 * lock; needs no memory. */
void iova_deferral_park(struct iova_domain *iovad, unsigned long lo,
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
/* Under the lock, for an allocation that found no room: erase a few
 * parked ranges, blocking allowed, looking through the whole window;
 * true if any was (search again then).  May block. */
bool iova_deferral_drain_blocking(struct iova_domain *iovad);
/* Under the lock: may a parked range lie in [@lo, @hi]?  (The window
 * that covers every parked range meets it.) */
bool iova_deferral_parked_in(struct iova_domain *iovad, unsigned long lo,
			     unsigned long hi);

/* ---- rcache.c: size caches ----------------------------------------- */

/*
 * Called to give a cached pfn back for good (flush, or a full depot),
 * without the domain lock held; @log_size is its size class.
 */
typedef void (*iova_rcache_release_fn)(struct iova_domain *iovad,
				       unsigned long pfn,
				       unsigned int log_size);

/* Caches for sizes 1 .. 2^(@nr_classes - 1).  NULL on no memory. */
struct iova_rcaches *iova_rcaches_create(unsigned int nr_classes,
					 iova_rcache_release_fn release);

/* Free the caches, dropping the cached pfns: the caller is about to
 * destroy the tree they are allocated in.  No other call may run. */
void iova_rcaches_destroy(struct iova_rcaches *rc);

/* Number of size classes (0 for NULL). */
unsigned int iova_rcaches_classes(const struct iova_rcaches *rc);

/*
 * A cached pfn of class @log_size whose range lies inside [@min, @max], or
 * 0.  Lock-free of the domain lock; takes the CPU slot's lock.
 */
unsigned long iova_rcache_get(struct iova_rcaches *rc, unsigned int log_size,
			      unsigned long min, unsigned long max);

/* Cache @pfn of class @log_size; false if there is no room (the caller
 * frees it then).  May call release for a full magazine's pfns. */
bool iova_rcache_put(struct iova_domain *iovad, struct iova_rcaches *rc,
		     unsigned int log_size, unsigned long pfn);

/* Give back every cached pfn (release); the caches stay usable. */
void iova_rcaches_flush(struct iova_domain *iovad, struct iova_rcaches *rc);

struct iova_rcache_counts {
	uint64_t hits, misses;
	unsigned long cached; /* pfns in the caches now */
};
void iova_rcaches_counts(struct iova_rcaches *rc,
			 struct iova_rcache_counts *out);

#endif /* LIBIOVA_IOVA_INTERNAL_H */

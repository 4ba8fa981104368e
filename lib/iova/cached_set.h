/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cached_set.h - floor 1 of lib/iova (docs/iova.md, "Layers"): what
 * cached_set.c offers, the cached set of a space: the first pfns of the
 * allocations that sit in its size caches.  A leaf: it knows nothing of
 * the tree or the caches, only pfns.  Includes iova_base.h only.
 *
 * Why it exists: a space leaves a cached allocation ALLOCATED in its tree
 * (so no gap search hands it out) and records here, not in the tree, that
 * it is cached, so that the caches' paths take no domain lock.  A second
 * free of a cached allocation finds its pfn here and is caught.
 *
 * An entry is cached, or live: an allocation a cache handed out keeps its
 * entry, flipped to live, while its stripe has room, so that its next
 * free learns from the set alone (no tree lookup) that it is an
 * allocation, of which size.  A live entry may be dropped at any time: a
 * free that finds no entry asks the tree.  So the user must keep: a pfn
 * in the set, cached or live, starts an allocation of its size class in
 * the tree (space.c says how).
 *
 * The set is split into stripes by a hash of the pfn.  Locking: a
 * stripe's lock for every change of that stripe (and the user holds it
 * across its own check of the tree, see space.c); iova_cached_has reads
 * without it.  Lock order: a stripe's lock, then the domain lock (with
 * the domain lock held, a stripe's lock is only tried); a thread holds
 * at most one stripe's lock, and never a size cache's lock with it.
 */
#ifndef LIBIOVA_CACHED_SET_H
#define LIBIOVA_CACHED_SET_H

#include <stdatomic.h>

#include <urcu/arch.h> /* caa_cpu_relax */

#include <libiova/mt_alloc.h>

#include "iova_base.h"

struct iova_cached_table;

/* One stripe, on a cache line of its own: two threads freeing pfns of
 * different stripes share nothing.  cached and pages change under the
 * lock and are read without it (the stats). */
struct iova_cached_stripe {
	_Alignas(CACHELINE_SIZE) atomic_int lock;
	/* odd while entries move: iova_cached_has retries then */
	atomic_uint seq;
	struct iova_cached_table *_Atomic table; /* NULL: empty, none yet */
	unsigned int entries; /* cached and live, under the lock */
	atomic_ulong cached;  /* cached entries */
	atomic_ulong pages;   /* the granules of their allocations */
};

struct iova_cached_set {
	struct mt_allocator *alloc; /* the blocks are nodes from here */
	unsigned int shift;         /* 64 - log2(number of stripes) */
	struct iova_cached_stripe *stripes;
};

/* A set able to hold at least @members pfns (more if memory allows).
 * Its memory comes from @alloc (the space's node allocator) as members
 * arrive.  NULL on no memory. */
struct iova_cached_set *iova_cached_set_create(struct mt_allocator *alloc,
					       unsigned long members);

/* Give every block back to the allocator.  No other call may run. */
void iova_cached_set_destroy(struct iova_cached_set *cs);

/* Mixes every bit of @pfn into the high bits: sizes are powers of two at
 * aligned addresses, so the low bits of a cached pfn are mostly 0. */
static inline uint64_t iova_cached_hash(unsigned long pfn)
{
	return (uint64_t)pfn * 0x9e3779b97f4a7c15ULL;
}

static inline struct iova_cached_stripe *
iova_cached_stripe(struct iova_cached_set *cs, unsigned long pfn)
{
	return &cs->stripes[iova_cached_hash(pfn) >> cs->shift];
}

void iova_cached_lock_wait(struct iova_cached_stripe *st);

/* A stripe's lock: an exchange; a holder keeps it a few dozen
 * instructions, except a release or a free that asks the tree, which
 * wait for the domain lock with it held (space.c): past a short spin a
 * waiter yields its CPU. */
static inline void iova_cached_lock(struct iova_cached_stripe *st)
{
	if (unlikely(atomic_exchange_explicit(&st->lock, 1,
					      memory_order_acquire)))
		iova_cached_lock_wait(st);
}

/* The lock if it is free, else false at once. */
static inline bool iova_cached_trylock(struct iova_cached_stripe *st)
{
	return !atomic_load_explicit(&st->lock, memory_order_relaxed) &&
	       !atomic_exchange_explicit(&st->lock, 1, memory_order_acquire);
}

static inline void iova_cached_unlock(struct iova_cached_stripe *st)
{
	atomic_store_explicit(&st->lock, 0, memory_order_release);
}

/*
 * Under @st's lock (@st is @pfn's stripe): add @pfn as cached, the first
 * of an allocation of 2^@log granules.  Returns 0, -EEXIST (already in,
 * cached or live: the caller checks first, iova_cached_park) or -ENOMEM
 * (no room, and no node to grow: the caller does not cache the
 * allocation).  Never blocks.
 */
int iova_cached_add(struct iova_cached_set *cs, struct iova_cached_stripe *st,
		    unsigned long pfn, unsigned int log);

/*
 * Under @st's lock: if @pfn has a live entry, make it cached and return
 * its log2 size; -EEXIST if it is cached; -ENOENT if it has no entry.
 * Never allocates.
 */
int iova_cached_park(struct iova_cached_set *cs, struct iova_cached_stripe *st,
		     unsigned long pfn);

/* Under @st's lock: @pfn's cached entry becomes live (or goes, when the
 * stripe has no room to spare).  Never allocates. */
void iova_cached_unpark(struct iova_cached_set *cs,
			struct iova_cached_stripe *st, unsigned long pfn);

/* Under @st's lock: give @pfn, the first of a handed-out allocation of
 * 2^@log granules, a live entry if it has no entry yet (one it has stays
 * as it is) and there is room to spare, growing the stripe's table for
 * it if need be: a node taken without blocking, none if that fails (a
 * space allocates tree nodes the same way under its domain lock). */
void iova_cached_add_live(struct iova_cached_set *cs,
			  struct iova_cached_stripe *st, unsigned long pfn,
			  unsigned int log);

/* Under @st's lock: take @pfn's entry, cached or live, out; false if it
 * had none.  Never allocates. */
bool iova_cached_del(struct iova_cached_set *cs, struct iova_cached_stripe *st,
		     unsigned long pfn);

/*
 * A write section of @st, under its lock: the sequence count stays odd
 * from begin to end, across the changes of the set made in it and
 * whatever the user changes with them (space.c: a range's erase from
 * the tree with its entry's removal), so that a reader between
 * iova_cached_read_begin and _end sees all of it or none.  Keep it
 * short: readers spin while it lasts.
 */
void iova_cached_write_begin(struct iova_cached_stripe *st);
void iova_cached_write_end(struct iova_cached_stripe *st);

/*
 * A read of @pfn's stripe without its lock: iova_cached_read_begin
 * returns the sequence count (waiting out a write section);
 * iova_cached_peek is whether @pfn has a cached entry, read racily;
 * iova_cached_read_end is whether nothing moved since begin (else the
 * caller reads again).  Whatever else the caller reads in between (the
 * tree) is consistent with the set when _end says so.
 */
unsigned int iova_cached_read_begin(struct iova_cached_set *cs,
				    unsigned long pfn);
bool iova_cached_peek(struct iova_cached_set *cs, unsigned long pfn);
bool iova_cached_read_end(struct iova_cached_set *cs, unsigned long pfn,
			  unsigned int seq);

/*
 * Is @pfn in the set, cached?  Without the lock, never blocks for a lock holder:
 * retries only while a change of the stripe's table is under way (a few
 * stores).  The answer is exact at some moment during the call.
 */
bool iova_cached_has(struct iova_cached_set *cs, unsigned long pfn);

/* The cached pfns and the granules of their allocations, summed over
 * the stripes without their locks: exact when nothing changes
 * meanwhile. */
void iova_cached_totals(struct iova_cached_set *cs, unsigned long *count,
			unsigned long *pages);

#endif /* LIBIOVA_CACHED_SET_H */

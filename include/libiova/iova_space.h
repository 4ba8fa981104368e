/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iova_space.h - IOVA spaces: libiova's own API for userspace VFIO
 * drivers, in bytes.
 *
 * A space is the set of IOVAs one IOMMU domain (a VFIO container, an
 * iommufd IOAS) can translate: several disjoint valid windows, as VFIO's
 * IOVA-range capability or iommufd report them, minus explicit reserved
 * ranges, cut at an address width.  Allocations take any power-of-two
 * alignment and a per-call [min, max] window (one device with a 32-bit
 * DMA mask next to one with 48 bits), top-down or bottom-up.
 *
 * Rules every call follows:
 *   - sizes are rounded up to whole granules; addresses given to
 *     alloc_at/free must be granule-aligned;
 *   - IOVA 0 is never handed out (drivers may use it as "no mapping");
 *   - errors are negative errno values and change nothing: -EINVAL (bad
 *     argument), -ENOSPC (no room), -EEXIST (range taken), -ENOENT (no
 *     such allocation), -ERANGE (outside every window), -ENOMEM;
 *   - every call may be made from any thread at any time; lookups and
 *     iteration are lock-free (RCU); allocations and frees through the
 *     tree serialize on the space's lock and may block briefly to
 *     allocate tree nodes; those a size cache serves take no space-wide
 *     lock (the calling thread's own magazines, and the lock of one group
 *     of addresses, which catches double frees).
 *
 * No per-allocation heap object exists: the space's tree entry is the
 * whole record of an allocation.
 */
#ifndef LIBIOVA_IOVA_SPACE_H
#define LIBIOVA_IOVA_SPACE_H

#include <stdint.h>

#include <libiova/iova_deferral.h>
#include <libiova/mt_alloc.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iova_space;

/* An inclusive range of bytes [start, last]. */
struct iova_range {
	uint64_t start;
	uint64_t last;
};

/* iova_space_config.flags */
#define IOVA_SPACE_NO_CACHE 0x1u /* no size caches */

struct iova_space_config {
	/* bytes per granule, a power of two >= 1; 0 means 4096 */
	uint64_t granule;
	/*
	 * The valid windows: disjoint, non-empty, granule-aligned (start a
	 * multiple of the granule, last + 1 too), inside the address width,
	 * in any order.  nr_windows 0 means one window covering the whole
	 * address width.  Windows that touch (one ends just below where
	 * another starts) are one range to the IOMMU and are merged into
	 * one window when the space is created: an allocation may span
	 * the seam, and iova_space_window and the stats count the merged
	 * windows.
	 */
	const struct iova_range *windows;
	unsigned int nr_windows;
	/* ranges never to hand out (e.g. the MSI window); may overlap each
	 * other; widened to whole granules */
	const struct iova_range *reserved;
	unsigned int nr_reserved;
	/* bits of IOVA the IOMMU translates, 1..64; 0 means 64 */
	unsigned int address_width;
	/* largest size, in granules, the size caches serve: a power of two
	 * up to 2^20; 0 means 32 */
	unsigned int cache_max_granules;
	unsigned int flags;                  /* IOVA_SPACE_* */
	/* tree nodes, and the blocks that record which allocations sit in
	 * a size cache, come from here; NULL: mt_allocator_default() */
	struct mt_allocator *node_allocator;
};

/*
 * iova_space_create - a new space per @config.  Returns 0 with *@out set,
 * or -EINVAL (NULL argument; granule not a power of two; a window empty,
 * misaligned, overlapping another or beyond the address width; a reserved
 * range empty; bad width or cache size) or -ENOMEM.  Allocates.
 */
int iova_space_create(const struct iova_space_config *config,
		      struct iova_space **out);

/*
 * iova_space_destroy - free @space and everything in it.  No other call
 * on @space may run or follow.  NULL does nothing.  With a node_allocator
 * of the caller's own in the config, waits until every node of the space
 * is back in it (the tree frees nodes after an RCU grace period, from
 * liburcu's call_rcu thread; this waits for those callbacks, an
 * rcu_barrier), so the allocator can be destroyed with
 * mt_allocator_destroy, or checked for leaks, as soon as this returns;
 * then it must not be called under mt_read_lock() or from an RCU
 * callback.  With the default allocator it does not wait.  Blocks.
 */
void iova_space_destroy(struct iova_space *space);

/* iova_space_alloc flags */
#define IOVA_ALLOC_BOTTOM_UP 0x1u /* lowest address instead of highest */

/*
 * iova_space_alloc - allocate @size bytes (rounded up to granules) at an
 * address that is a multiple of @align (a power of two; 0 or less than
 * the granule means the granule), inside [@min, @max] (inclusive) and a
 * valid window, as high as possible (or as low, IOVA_ALLOC_BOTTOM_UP).
 * Returns 0 with *@iova set; -EINVAL (size 0 or too large, @align not a
 * power of two, min > max, unknown flags, NULL argument); -ENOSPC;
 * -ENOMEM (also: the room may be in parked ranges whose erase found no
 * memory, <libiova/iova_deferral.h>).  A size-cache hit may return any fitting address, not the
 * highest.  May block briefly.
 */
int iova_space_alloc(struct iova_space *space, uint64_t size, uint64_t align,
		     uint64_t min, uint64_t max, unsigned int flags,
		     uint64_t *iova);

/*
 * iova_space_alloc_at - allocate exactly [@iova, @iova + @size - 1] (size
 * rounded up to granules).  Returns 0; -EINVAL (@iova misaligned, size 0,
 * wraps); -ERANGE (not inside one valid window, or IOVA 0); -EEXIST (part
 * of it is allocated or reserved); -ENOMEM (also: a parked free in it
 * could not be erased).  A parked range is free space: its erase is
 * completed first, with blocking allowed.  May block briefly.
 */
int iova_space_alloc_at(struct iova_space *space, uint64_t iova,
			uint64_t size);

/*
 * iova_space_free - free the allocation that starts at @iova.  Returns 0;
 * -ENOENT (no allocation starts there: never allocated, already freed,
 * or reserved); -EINVAL (@iova inside an allocation but not its start, or
 * misaligned); -ERANGE (outside every window).  Never fails for want of
 * memory.
 */
int iova_space_free(struct iova_space *space, uint64_t iova);

/*
 * iova_space_lookup - the allocation containing @addr, into *@range.
 * Returns 0 or -ENOENT.  Lock-free; never blocks.
 */
int iova_space_lookup(struct iova_space *space, uint64_t addr,
		      struct iova_range *range);

/*
 * Called for each range by the iterators; a nonzero return stops the
 * iteration and is returned by it.  The callback may call any function
 * of the space; changes made meanwhile may or may not be seen.
 */
typedef int (*iova_range_fn)(void *arg, const struct iova_range *range);

/* Every allocation, in address order.  Lock-free.  Returns 0 or what
 * @fn returned. */
int iova_space_for_each(struct iova_space *space, iova_range_fn fn,
			void *arg);

/* Every free hole inside a window that intersects [@min, @max], clipped
 * to it byte for byte, in address order: a hole that meets [@min, @max]
 * in only part of a granule is reported as that part.  Lock-free.
 * -EINVAL if min > max. */
int iova_space_for_each_hole(struct iova_space *space, uint64_t min,
			     uint64_t max, iova_range_fn fn, void *arg);

/*
 * The size caches' counters.  An allocation request is cacheable when it
 * is top-down (no IOVA_ALLOC_BOTTOM_UP), its size in granules is a power
 * of two no larger than cache_max_granules, and its alignment (in
 * granules) is at most that size; it is then a hit (served by a cache) or
 * a miss (a cache had nothing inside [min, max]; it went to the tree).
 * Other requests - bottom-up, over-aligned, other sizes - skip the caches
 * and count as neither.  Frees fill the caches independently of how the
 * allocation was made: freeing any allocation whose size in granules is
 * such a power of two and whose address is aligned to that size puts it
 * in a cache (so bottom-up and over-aligned allocations may fill a cache
 * they never take from).
 */
struct iova_space_stats {
	uint64_t allocations;     /* live allocations */
	uint64_t bytes_allocated; /* their total size */
	uint64_t cached;          /* freed allocations held by size caches */
	uint64_t cache_hits;      /* cacheable requests a cache served */
	uint64_t cache_misses;    /* cacheable requests that went to the
				   * tree */
	unsigned int nr_windows;  /* after merging touching windows */
};

/* Counters of @space.  Returns 0 or -EINVAL.  Never blocks for long. */
int iova_space_stats(struct iova_space *space, struct iova_space_stats *st);

/*
 * iova_space_window - window @index (in address order; touching windows
 * of the config count as one, merged) into *@window and
 * its largest free hole into *@largest_hole (0 when full).  Returns 0 or
 * -EINVAL (no such window).  Walks the window: O(allocations in it).
 */
int iova_space_window(struct iova_space *space, unsigned int index,
		      struct iova_range *window, uint64_t *largest_hole);

/* Give every cached allocation back to the tree, every thread's (as
 * iova_domain_flush_rcaches in <libiova/iova.h>, which says how it waits
 * for the threads).  Returns 0 or -EINVAL. */
int iova_space_flush_cache(struct iova_space *space);

#ifdef __cplusplus
}
#endif

#endif /* LIBIOVA_IOVA_SPACE_H */

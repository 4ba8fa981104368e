/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iova.h - IOVA domains: the Linux kernel's <linux/iova.h> API in
 * userspace, on an allocation maple tree.
 *
 * Units are the kernel's: sizes and addresses in granules ("pfns"); a
 * granule is a power of two of bytes.  Code written against the kernel
 * header compiles against this one unchanged, with these differences, all
 * documented in docs/iova.md:
 *   - where the kernel BUGs on bad input, a call returns an error or
 *     NULL/0 and changes nothing (init_iova_domain returns -EINVAL for a
 *     granule that is not a power of two);
 *   - reserve_iova() merges overlapping reservations but refuses (NULL) a
 *     range that overlaps an allocation rather than stretching it.
 *
 * Locking: a domain may be used from many threads at once.  find_iova()
 * is a lock-free RCU read; writers serialize on the domain's lock, which
 * is the tree's external lock.  No call takes a lock the caller holds.
 *
 * Memory: alloc_iova() and reserve_iova() allocate a struct iova (two
 * pfns) with malloc and tree nodes with blocking allocation; they may
 * block briefly.  A domain keeps up to IOVA_SPARE_STRUCTS freed struct
 * iovas and hands them to its next allocations; put_iova_domain() frees
 * them.  A struct iova must not be used after it is freed: its memory may
 * already hold another allocation.  The fast path (alloc_iova_fast/free_iova_fast) allocates
 * nothing when its size cache hits.
 */
#ifndef LIBIOVA_IOVA_H
#define LIBIOVA_IOVA_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libiova/iova_deferral.h>
#include <libiova/maple_tree.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An allocated or reserved range of pfns, inclusive. */
struct iova {
	unsigned long pfn_hi;
	unsigned long pfn_lo;
};

struct iova_domain;
struct iova_rcaches;  /* the size caches: opaque */
struct iova_deferral; /* the deferred erase: opaque */

/* Sizes the cache serves by default: 1 to 32 granules (6 classes). */
#define IOVA_RANGE_CACHE_MAX_SIZE 6

/* Freed struct iovas a domain keeps for its next allocations: a free and
 * the allocation after it need one; 4 also covers short bursts of frees
 * (and keeps sizeof(struct iova_domain) at 416 bytes, docs/abi.md). */
#define IOVA_SPARE_STRUCTS 4

/*
 * Called by a domain in checked fast-free mode (iova_domain_set_checked_free)
 * for each misuse it caught: a free of @size pfns at @pfn that was not
 * carried out.  @error is -ENOENT (nothing allocated at @pfn: never
 * allocated, or freed already - a double free) or -EINVAL (@pfn inside an
 * allocation but not its first pfn, or @size not the allocation's size).
 * Called without the domain lock: it may call into the library.
 */
typedef void (*iova_misuse_fn)(void *arg, struct iova_domain *iovad,
			       unsigned long pfn, unsigned long size,
			       int error);

/* The library's: a limit's top known to hold no free pfn (see tree.h). */
struct iova_filled_top {
	unsigned long limit;
	unsigned long from; /* [from, limit] holds no free pfn; limit + 1:
			     * nothing known */
};

/*
 * A domain.  Initialize with init_iova_domain(); the fields granule,
 * start_pfn and dma_32bit_pfn may be read; the rest is the library's.
 */
struct iova_domain {
	/* Read by every call, written only by setup and teardown: a cache
	 * line's worth of padding keeps them off the lines writers change,
	 * wherever the domain sits (no alignment is asked of it), so the
	 * size caches' fast path on one CPU does not miss when another
	 * CPU's writer takes the lock. */
	unsigned long magic;         /* set while initialized */
	unsigned long granule;       /* bytes per pfn, a power of two */
	unsigned long start_pfn;     /* lowest pfn handed out */
	unsigned long dma_32bit_pfn; /* first pfn above 4 GiB */
	struct iova_rcaches *rcaches;
	struct iova_deferral *deferral; /* parked frees (iova_deferral.h) */
	bool checked_free;           /* iova_domain_set_checked_free */
	iova_misuse_fn misuse_report;
	void *misuse_arg;
	char read_mostly_pad[64];

	/* Written by writers, under the lock. */
	pthread_mutex_t iova_lock;
	struct maple_tree tree;      /* pfn ranges -> struct iova * */
	unsigned long max32_alloc_size; /* smallest size that failed below
					 * 4 GiB since the last free there */
	unsigned long ceiling_pfn;   /* kernel API: above, a hole marker */
	struct iova_filled_top filled_top[2]; /* limits below 4 GiB, above */
	struct iova *spare[IOVA_SPARE_STRUCTS]; /* freed, kept for reuse */
	unsigned int nr_spare;
};

static inline unsigned long iova_shift(const struct iova_domain *iovad)
{
	return (unsigned long)__builtin_ctzl(iovad->granule);
}

static inline unsigned long iova_mask(const struct iova_domain *iovad)
{
	return iovad->granule - 1;
}

static inline size_t iova_offset(const struct iova_domain *iovad,
				 uint64_t iova)
{
	return (size_t)(iova & iova_mask(iovad));
}

static inline size_t iova_align(const struct iova_domain *iovad, size_t size)
{
	return (size + iova_mask(iovad)) & ~(size_t)iova_mask(iovad);
}

static inline uint64_t iova_align_down(const struct iova_domain *iovad,
				       uint64_t iova)
{
	return iova & ~(uint64_t)iova_mask(iovad);
}

static inline uint64_t iova_dma_addr(const struct iova_domain *iovad,
				     const struct iova *iova)
{
	return (uint64_t)iova->pfn_lo << iova_shift(iovad);
}

static inline unsigned long iova_pfn(const struct iova_domain *iovad,
				     uint64_t iova)
{
	return (unsigned long)(iova >> iova_shift(iovad));
}

static inline unsigned long iova_size(const struct iova *iova)
{
	return iova->pfn_hi - iova->pfn_lo + 1;
}

/* The largest size in bytes the size caches serve for a 4 KiB granule
 * domain with the default classes (as in the kernel: PAGE_SIZE << 5). */
static inline unsigned long iova_rcache_range(void)
{
	return 4096UL << (IOVA_RANGE_CACHE_MAX_SIZE - 1);
}

/*
 * iova_cache_get / iova_cache_put - the kernel's reference on the struct
 * iova allocator.  Kept for source compatibility: struct iova comes from
 * malloc, so these only count.  iova_cache_get returns 0.
 */
int iova_cache_get(void);
void iova_cache_put(void);

/*
 * init_iova_domain - make @iovad an empty domain of @granule bytes per pfn
 * that hands out pfns from @start_pfn up.  Returns 0, or -EINVAL (NULL
 * @iovad, @granule not a power of two, @start_pfn 0 is accepted) or
 * -ENOMEM (the deferred-erase state, a few hundred bytes, is allocated
 * here so that parking a free never needs memory).  After an error every
 * call on @iovad fails harmlessly (NULL, 0, nothing freed).  The kernel's
 * returns void; ignoring the result is fine when the arguments are right.
 * Never blocks.  The domain's tree may be given its own node allocator
 * (mt_set_allocator) until the first allocation or reservation, which
 * stores a marker over the space above its limit (docs/iova.md, "The
 * ceiling").
 */
int init_iova_domain(struct iova_domain *iovad, unsigned long granule,
		     unsigned long start_pfn);

/*
 * iova_domain_init_rcaches - give @iovad its size caches (per-thread
 * magazines and a shared depot for 1 to 32 granules).  Returns 0, -EINVAL
 * (not initialized), -EEXIST (already has them), -ENOMEM.  Allocates.
 * A thread's magazines are made on its first fast call on the domain and
 * go to the depot when it exits (docs/iova.md, "Size caches").
 */
int iova_domain_init_rcaches(struct iova_domain *iovad);

/*
 * iova_domain_flush_rcaches - give every IOVA held by @iovad's size caches
 * back to the domain, as alloc_iova_fast(..., flush_rcache = true) does
 * before its retry: afterwards the tree holds only live allocations and
 * reservations (IOVAs that other threads free while the flush runs may
 * be cached again).  Returns 0 (also when the domain has no caches) or
 * -EINVAL (not initialized).  Takes the caches' process-wide lock, waits
 * for each thread that is inside a fast call on @iovad to leave it (a
 * few dozen instructions, unless that thread is preempted there), then
 * takes the domain lock once per IOVA given back; may block briefly;
 * allocates nothing.  Must not be called with the domain lock held.
 */
int iova_domain_flush_rcaches(struct iova_domain *iovad);

/*
 * iova_domain_set_checked_free - the checked fast-free mode.  The kernel
 * trusts free_iova_fast(): a second free of an IOVA, or a free with a
 * size other than the one allocated, puts it in a size cache again (or
 * in the wrong one), and the same IOVA is later handed out twice.  In
 * checked mode every free_iova_fast() is verified against the tree under
 * the domain lock: an allocation must start at @pfn with the size
 * alloc_iova_fast() gave it (@size rounded as there), and must not be in
 * a size cache already; free_iova() and __free_iova() of an IOVA that
 * sits in a size cache are refused too.  A misuse frees nothing and is
 * passed to @report (NULL: one line on stderr), with @arg.  The cost is
 * the domain lock and a tree walk on every fast free, and on every cache
 * hit of alloc_iova_fast().
 *
 * @on: checked or not.  init_iova_domain() turns it on when libiova was
 * built without NDEBUG (every build type but release) and off otherwise,
 * the kernel's behaviour.
 * Returns 0; -EINVAL (not initialized); -EBUSY (the domain has allocated
 * or reserved something already: the mode is chosen before that, so that
 * every cached IOVA is known to the check).  Never blocks.
 */
int iova_domain_set_checked_free(struct iova_domain *iovad, bool on,
				 iova_misuse_fn report, void *arg);

/*
 * put_iova_domain - free every IOVA, cached and parked ones included, and
 * every node; the domain must then be initialized again before use.  The
 * caller guarantees no other call on @iovad runs or follows.  The tree is
 * in RCU mode, so its nodes reach their allocator from liburcu's call_rcu
 * thread after a grace period: when the tree was given a node allocator
 * of the caller's own (mt_set_allocator), put_iova_domain waits for that
 * (an rcu_barrier), so the allocator can be destroyed with
 * mt_allocator_destroy, or checked for leaks, as soon as it returns.
 * Then it must not be called under mt_read_lock() or from an RCU
 * callback.  With the default allocator it does not wait.  Blocks.
 */
void put_iova_domain(struct iova_domain *iovad);

/*
 * alloc_iova - allocate @size pfns, as high as possible with the last pfn
 * at or below @limit_pfn (inclusive) and the first at or above start_pfn.
 * @size_aligned: the first pfn is a multiple of @size rounded up to a
 * power of two.  Returns the new struct iova, or NULL (no room, bad
 * arguments, no memory).  May block to allocate.
 *
 * As in the kernel, a request at or below dma_32bit_pfn (a 32-bit limit)
 * fails at once when its size is at least the smallest size that failed
 * there since the last free below 4 GiB; on a fresh domain that bound is
 * dma_32bit_pfn itself, so a request for all of the 4 GiB (size
 * dma_32bit_pfn) under a 32-bit limit fails even on an empty domain with
 * start_pfn 0.  Kept for fidelity; such a request cannot fit anyway when
 * start_pfn is above 0, as it is in practice.
 */
struct iova *alloc_iova(struct iova_domain *iovad, unsigned long size,
			unsigned long limit_pfn, bool size_aligned);

/* find_iova - the IOVA containing @pfn, or NULL.  Lock-free (RCU). */
struct iova *find_iova(struct iova_domain *iovad, unsigned long pfn);

/*
 * __free_iova - free @iova (as returned by alloc_iova/find_iova).
 * free_iova - free the IOVA containing @pfn; nothing if there is none.
 * Neither fails: an erase that gets no memory is parked and completed
 * later (docs/iova.md).  In checked fast-free mode an IOVA that sits in a
 * size cache (freed by free_iova_fast) is not freed again but reported
 * (-ENOENT).  May block briefly.
 */
void __free_iova(struct iova_domain *iovad, struct iova *iova);
void free_iova(struct iova_domain *iovad, unsigned long pfn);

/*
 * reserve_iova - keep [@pfn_lo, @pfn_hi] from ever being allocated.
 * Overlapping reservations merge into one.  A parked free in the range
 * is free space: its erase is completed first, with blocking allowed.
 * Returns the reservation covering the range, or NULL (pfn_lo > pfn_hi,
 * the range overlaps an allocation, no memory).  May block briefly.
 */
struct iova *reserve_iova(struct iova_domain *iovad, unsigned long pfn_lo,
			  unsigned long pfn_hi);

/*
 * alloc_iova_fast - allocate @size pfns at or below @limit_pfn, size
 * aligned, from the size cache if it has one, else as alloc_iova().  Sizes
 * below 32 are rounded up to a power of two (free with the same @size).
 * If that fails and @flush_rcache is true, every cached IOVA is given back
 * (as iova_domain_flush_rcaches) and the allocation retried once.
 * Returns the first pfn, or 0.  The cache's part takes no lock (the
 * calling thread's own magazines); may allocate (a thread's first
 * magazines).
 */
unsigned long alloc_iova_fast(struct iova_domain *iovad, unsigned long size,
			      unsigned long limit_pfn, bool flush_rcache);

/*
 * free_iova_fast - free the IOVA at @pfn of @size pfns (as passed to
 * alloc_iova_fast): into the size cache when it has room, else as
 * free_iova().  Like the kernel's, unchecked by default in release
 * builds: see iova_domain_set_checked_free() for what a wrong call does
 * and how debug builds catch it.
 */
void free_iova_fast(struct iova_domain *iovad, unsigned long pfn,
		    unsigned long size);

#ifdef __cplusplus
}
#endif

#endif /* LIBIOVA_IOVA_H */

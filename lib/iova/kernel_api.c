/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * kernel_api.c - floor 4 of lib/iova (docs/iova.md, "Layers"): the
 * kernel's <linux/iova.h> calls: every allocation is a struct iova (two
 * pfns) stored in the domain's tree over its range.  On top of the
 * domain's life cycle (domain.h), the free path and the draining search
 * (deferral.h), the tree primitives (tree.h) and the size caches
 * (rcache.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "deferral.h"
#include "domain.h"
#include "iova_base.h"
#include "rcache.h"
#include "tree.h"

static unsigned long iova_cache_users;

LIBIOVA_EXPORT int iova_cache_get(void)
{
	__atomic_add_fetch(&iova_cache_users, 1, __ATOMIC_RELAXED);
	return 0;
}

LIBIOVA_EXPORT void iova_cache_put(void)
{
	unsigned long users = __atomic_load_n(&iova_cache_users,
					      __ATOMIC_RELAXED);

	/* an unbalanced put is ignored, as a put of nothing */
	while (users && !__atomic_compare_exchange_n(&iova_cache_users, &users,
						     users - 1, false,
						     __ATOMIC_RELAXED,
						     __ATOMIC_RELAXED))
		;
}

/*
 * The struct iovas of a domain's allocations and reservations.  A freed
 * one is kept as a spare (up to IOVA_SPARE_STRUCTS) and handed to the next
 * allocation: taking or keeping a spare never reads it, where free() would
 * read the heap's header beside it, a cache miss per free in a domain of
 * many live IOVAs.  Both run under the domain lock.
 */
static struct iova *iova_struct_get(struct iova_domain *iovad)
{
	if (iovad->nr_spare)
		return iovad->spare[--iovad->nr_spare];
	/* 16-byte aligned for the entry's tag bits (iova_base.h): what
	 * glibc's malloc gives anyway, asked for because not every malloc
	 * (a sanitizer's) does */
	return aligned_alloc(16, sizeof(struct iova));
}

static void iova_struct_put(struct iova_domain *iovad, struct iova *iova)
{
	if (!iova)
		return;
	if (iovad->nr_spare < IOVA_SPARE_STRUCTS) {
		/* the next allocation writes it: fetch it for writing now,
		 * while the free goes on, so that allocation (the latency a
		 * DMA map sees) does not wait for it */
		__builtin_prefetch(iova, 1);
		iovad->spare[iovad->nr_spare++] = iova;
	} else {
		free(iova);
	}
}

/*
 * The ceiling.  The kernel API has no upper bound of its own, so the space
 * above every limit asked for would be one free range at the right edge of
 * the tree, and its size, recorded in every node on that edge, would draw
 * each top-down search down the whole edge before it turned to where the
 * request can fit.  So that space is held by a marker instead,
 * [ceiling_pfn + 1, ULONG_MAX] (a hole, as outside the userspace API's
 * windows), and the ceiling is lifted when an allocation's limit or a
 * reservation's end reaches above it.  Nothing is ever stored above the
 * ceiling, so lookups and frees there find nothing, as they would without
 * it.  Under the lock (or before the domain is shared).  Returns 0, or
 * -ENOMEM with nothing changed.
 */
static int raise_ceiling(struct iova_domain *iovad, unsigned long pfn)
{
	unsigned long ceiling;
	int ret;

	if (mtree_empty(&iovad->tree)) {
		/* the first write places the marker, into the empty tree
		 * (so that until then the tree may get another allocator):
		 * at 4 GiB, or above @pfn */
		ceiling = iovad->dma_32bit_pfn ? iovad->dma_32bit_pfn - 1 : 0;
		if (pfn > ceiling)
			ceiling = pfn;
		if (ceiling == ULONG_MAX)
			return 0;
		ret = iova_store(iovad, ceiling + 1, ULONG_MAX,
				 iova_marker(IOVA_KIND_HOLE), GFP_KERNEL);
	} else {
		if (pfn <= iovad->ceiling_pfn)
			return 0;
		ceiling = pfn;
		ret = iova_store(iovad, iovad->ceiling_pfn + 1, pfn, NULL,
				 GFP_KERNEL);
		if (!ret)
			iova_filled_top_freed(iovad, iovad->ceiling_pfn + 1,
					      pfn);
	}
	if (!ret)
		iovad->ceiling_pfn = ceiling;
	return ret;
}

LIBIOVA_EXPORT int init_iova_domain(struct iova_domain *iovad,
				    unsigned long granule,
				    unsigned long start_pfn)
{
	int ret;

	if (!iovad || !granule || (granule & (granule - 1)))
		return -EINVAL;
	ret = iova_domain_setup(iovad, granule, start_pfn);
	if (ret)
		return ret;
#ifdef NDEBUG
	iovad->checked_free = false; /* the kernel's behaviour */
#else
	iovad->checked_free = true;
#endif
	iovad->misuse_report = NULL;
	iovad->misuse_arg = NULL;
	return 0;
}

/*
 * Checked fast-free mode.  A fast free that the check refuses is recorded
 * here under the domain lock and reported after it is dropped, so that
 * the report callback may call into the library.
 */
struct free_misuse {
	unsigned long pfn, size;
	int error; /* 0: none */
};

static void report_misuse(struct iova_domain *iovad,
			  const struct free_misuse *m)
{
	if (!m->error)
		return;
	if (iovad->misuse_report) {
		iovad->misuse_report(iovad->misuse_arg, iovad, m->pfn, m->size,
				     m->error);
		return;
	}
	fprintf(stderr,
		"libiova: domain %p: free of %lu pfns at pfn %#lx refused: %s\n",
		(void *)iovad, m->size, m->pfn,
		m->error == -ENOENT ? "not allocated (a double free?)"
				    : "not the start and size of an allocation");
}

LIBIOVA_EXPORT int iova_domain_set_checked_free(struct iova_domain *iovad,
						bool on, iova_misuse_fn report,
						void *arg)
{
	int ret = 0;

	if (!iova_domain_ready(iovad))
		return -EINVAL;
	iova_lock(iovad);
	/* the first allocation or reservation makes the tree non-empty (the
	 * ceiling marker), so nothing can be cached yet */
	if (!mtree_empty(&iovad->tree)) {
		ret = -EBUSY;
	} else {
		iovad->checked_free = on;
		iovad->misuse_report = report;
		iovad->misuse_arg = arg;
	}
	iova_unlock(iovad);
	return ret;
}

static bool is_cached(const void *entry)
{
	return iova_entry_is_struct(entry) &&
	       ((uintptr_t)entry & IOVA_TAG_CACHED);
}

static void free_pfn(struct iova_domain *iovad, unsigned long pfn,
		     bool from_cache);

/* Give a cached pfn back for good: free the struct iova holding it. */
static void release_cached(struct iova_domain *iovad, unsigned long pfn,
			   unsigned int log_size)
{
	(void)log_size;
	free_pfn(iovad, pfn, true);
}

LIBIOVA_EXPORT int iova_domain_init_rcaches(struct iova_domain *iovad)
{
	struct iova_rcaches *rc;

	if (!iova_domain_ready(iovad))
		return -EINVAL;
	if (iovad->rcaches)
		return -EEXIST;
	rc = iova_rcaches_create(iovad, IOVA_RANGE_CACHE_MAX_SIZE,
				 release_cached);
	if (!rc)
		return -ENOMEM;
	iovad->rcaches = rc;
	return 0;
}

LIBIOVA_EXPORT int iova_domain_flush_rcaches(struct iova_domain *iovad)
{
	if (!iova_domain_ready(iovad))
		return -EINVAL;
	if (iovad->rcaches)
		iova_rcaches_flush(iovad->rcaches);
	return 0;
}

LIBIOVA_EXPORT void put_iova_domain(struct iova_domain *iovad)
{
	MA_STATE(mas, &iovad->tree, 0, 0);
	void *entry;

	if (!iova_domain_ready(iovad))
		return;
	/* cached pfns are struct iovas in the tree: freed with it below */
	iova_rcaches_destroy(iovad->rcaches);
	iovad->rcaches = NULL;
	iova_lock(iovad);
	mas_for_each(&mas, entry, ULONG_MAX)
		if (iova_entry_is_struct(entry))
			free(iova_entry_struct(entry));
	while (iovad->nr_spare)
		free(iovad->spare[--iovad->nr_spare]);
	iova_unlock(iovad);
	iova_domain_teardown(iovad);
}

/* The allocation itself, under the lock; NULL when there is no room. */
static struct iova *alloc_locked(struct iova_domain *iovad,
				 struct iova *new_iova, unsigned long size,
				 unsigned long limit_pfn, bool size_aligned)
{
	unsigned long align = 1, pfn;
	bool below_4g = limit_pfn <= iovad->dma_32bit_pfn;
	int ret;

	/* what already failed below 4 GiB fails again at once, until a free
	 * there (the kernel's max32_alloc_size); not while a parked range
	 * might be the room: the search erases those first */
	if (below_4g && size >= iovad->max32_alloc_size &&
	    !iova_deferral_parked_in(iovad, iovad->start_pfn, limit_pfn))
		return NULL;
	if (limit_pfn < iovad->start_pfn ||
	    limit_pfn - iovad->start_pfn < size - 1)
		return NULL; /* no room under the limit at all */
	if (size_aligned)
		align = 1UL << iova_ulong_log2_ceil(size);
	if (raise_ceiling(iovad, limit_pfn))
		return NULL;
	ret = iova_find_free_draining(iovad, size, align, iovad->start_pfn,
				      limit_pfn, true, &pfn);
	if (ret) {
		/* only a true "no room" is remembered */
		if (below_4g && ret == -ENOSPC)
			iovad->max32_alloc_size = size;
		return NULL;
	}
	new_iova->pfn_lo = pfn;
	new_iova->pfn_hi = pfn + size - 1;
	if (iova_insert(iovad, pfn, pfn + size - 1, new_iova))
		return NULL;
	return new_iova;
}

LIBIOVA_EXPORT struct iova *alloc_iova(struct iova_domain *iovad,
				       unsigned long size,
				       unsigned long limit_pfn,
				       bool size_aligned)
{
	struct iova *new_iova, *ret;

	if (!iova_domain_ready(iovad) || !size ||
	    (size_aligned && size > (ULONG_MAX >> 1) + 1))
		return NULL;
	iova_lock(iovad);
	new_iova = iova_struct_get(iovad);
	ret = new_iova ? alloc_locked(iovad, new_iova, size, limit_pfn,
				      size_aligned)
		       : NULL;
	if (!ret)
		iova_struct_put(iovad, new_iova);
	iova_unlock(iovad);
	return ret;
}

LIBIOVA_EXPORT struct iova *find_iova(struct iova_domain *iovad,
				      unsigned long pfn)
{
	void *entry;

	if (!iova_domain_ready(iovad))
		return NULL;
	entry = mtree_load(&iovad->tree, pfn);
	return iova_entry_is_struct(entry) ? iova_entry_struct(entry) : NULL;
}

/*
 * Remove the struct iova at @pfn, under the lock; returns it.  Nothing if
 * there is none, or if @expect is set and the tree holds another one.
 * One that sits in a size cache (tagged in checked mode) is removed only
 * by the cache giving it back (@from_cache); any other free of it is a
 * double free, recorded in *@m.
 */
static struct iova *remove_locked(struct iova_domain *iovad,
				  unsigned long pfn, struct iova *expect,
				  bool from_cache, struct free_misuse *m)
{
	unsigned long lo, hi;
	void *entry = iova_lookup(iovad, pfn, &lo, &hi);

	if (!iova_entry_is_struct(entry) ||
	    (expect && iova_entry_struct(entry) != expect))
		return NULL;
	if (!from_cache && is_cached(entry)) {
		*m = (struct free_misuse){ pfn, hi - lo + 1, -ENOENT };
		return NULL;
	}
	iova_erase(iovad, lo, hi); /* a free below 4 GiB resets max32 */
	return iova_entry_struct(entry);
}

/* free_iova, or (@from_cache) a size cache giving @pfn back for good. */
static void free_pfn(struct iova_domain *iovad, unsigned long pfn,
		     bool from_cache)
{
	struct free_misuse m = { 0 };
	struct iova *iova;

	iova_lock(iovad);
	iova = remove_locked(iovad, pfn, NULL, from_cache, &m);
	iova_struct_put(iovad, iova);
	iova_unlock(iovad);
	report_misuse(iovad, &m);
}

LIBIOVA_EXPORT void free_iova(struct iova_domain *iovad, unsigned long pfn)
{
	if (!iova_domain_ready(iovad))
		return;
	free_pfn(iovad, pfn, false);
}

LIBIOVA_EXPORT void __free_iova(struct iova_domain *iovad, struct iova *iova)
{
	struct free_misuse m = { 0 };
	struct iova *removed;

	if (!iova_domain_ready(iovad) || !iova)
		return;
	iova_lock(iovad);
	/* only the struct the tree holds: a stale pointer frees nothing */
	removed = remove_locked(iovad, iova->pfn_lo, iova, false, &m);
	iova_struct_put(iovad, removed);
	iova_unlock(iovad);
	report_misuse(iovad, &m);
}

static bool is_reservation(const void *entry)
{
	return iova_entry_is_struct(entry) &&
	       ((uintptr_t)entry & IOVA_TAG_RESERVED);
}

/*
 * Reserve [lo, hi] under the lock: one reservation covering it and every
 * reservation it overlaps, which merge into the first of them.  NULL if
 * the range overlaps an allocation, or on no memory (nothing changed).
 */
static struct iova *reserve_locked(struct iova_domain *iovad,
				   unsigned long lo, unsigned long hi)
{
	MA_STATE(mas, &iovad->tree, lo, lo);
	struct iova *keep = NULL, *fresh = NULL, **merged = NULL;
	unsigned long new_lo = lo, new_hi = hi;
	unsigned int nr = 0, i = 0;
	void *entry;

	if (raise_ceiling(iovad, hi))
		return NULL;
	/* a parked range is free space: its erase is completed first,
	 * blocking allowed; without memory for it the call fails */
	if (!iova_deferral_clear(iovad, lo, hi, GFP_KERNEL))
		return NULL;
	mas_for_each(&mas, entry, hi) {
		struct iova *r = iova_entry_struct(entry);

		if (!is_reservation(entry))
			return NULL;
		if (r->pfn_lo <= lo && r->pfn_hi >= hi)
			return r;  /* reserved already, as a whole */
		if (!keep)
			keep = r;
		if (r->pfn_lo < new_lo)
			new_lo = r->pfn_lo;
		if (r->pfn_hi > new_hi)
			new_hi = r->pfn_hi;
		nr++;
	}
	if (nr > 1) {
		/* the structs the merge makes unreachable, freed after it */
		merged = malloc((nr - 1) * sizeof(*merged));
		if (!merged)
			return NULL;
		mas_set(&mas, lo);
		mas_for_each(&mas, entry, hi)
			if (iova_entry_struct(entry) != keep)
				merged[i++] = iova_entry_struct(entry);
	} else if (!keep) {
		keep = fresh = iova_struct_get(iovad);
		if (!keep)
			return NULL;
		keep->pfn_lo = lo;
		keep->pfn_hi = hi;
	}
	if (iova_insert(iovad, new_lo, new_hi,
			(void *)((uintptr_t)keep | IOVA_TAG_RESERVED))) {
		iova_struct_put(iovad, fresh);
		free(merged);
		return NULL;
	}
	keep->pfn_lo = new_lo;
	keep->pfn_hi = new_hi;
	for (i = 0; i + 1 < nr; i++)
		iova_struct_put(iovad, merged[i]);
	free(merged);
	return keep;
}

LIBIOVA_EXPORT struct iova *reserve_iova(struct iova_domain *iovad,
					 unsigned long pfn_lo,
					 unsigned long pfn_hi)
{
	struct iova *r;

	if (!iova_domain_ready(iovad) || pfn_lo > pfn_hi)
		return NULL;
	iova_lock(iovad);
	r = reserve_locked(iovad, pfn_lo, pfn_hi);
	iova_unlock(iovad);
	return r;
}

/*
 * Checked mode: tag (@cached) or untag the tree entry of the allocation at
 * @pfn as sitting in a size cache.  An exact-range store: no memory.
 */
static __attribute__((noinline, cold)) void
set_cached(struct iova_domain *iovad, unsigned long pfn, bool cached)
{
	unsigned long lo, hi;
	void *entry;

	iova_lock(iovad);
	entry = iova_lookup(iovad, pfn, &lo, &hi);
	if (iova_entry_is_struct(entry) && is_cached(entry) != cached)
		iova_replace(iovad, lo, hi,
			     (void *)((uintptr_t)entry ^ IOVA_TAG_CACHED));
	iova_unlock(iovad);
}

/* The size alloc_iova_fast gives a request of @size pfns. */
static unsigned long fast_size(unsigned long size)
{
	/* small sizes go by power-of-two classes, as in the kernel */
	if (size < (1UL << (IOVA_RANGE_CACHE_MAX_SIZE - 1)))
		size = 1UL << iova_ulong_log2_ceil(size);
	return size;
}

LIBIOVA_EXPORT unsigned long alloc_iova_fast(struct iova_domain *iovad,
					     unsigned long size,
					     unsigned long limit_pfn,
					     bool flush_rcache)
{
	unsigned int log_size;
	unsigned long pfn;
	struct iova *iova;

	if (!iova_domain_ready(iovad) || !size)
		return 0;
	size = fast_size(size);
	log_size = (unsigned int)iova_ulong_log2_ceil(size);
	/* 0 also when the domain has no caches, or none of this size */
	pfn = iova_rcache_get(iovad->rcaches, log_size, iovad->start_pfn,
			      limit_pfn);
	if (pfn) {
		if (unlikely(iovad->checked_free))
			set_cached(iovad, pfn, false);
		return pfn;
	}
	for (;;) {
		iova = alloc_iova(iovad, size, limit_pfn, true);
		if (iova)
			return iova->pfn_lo;
		if (!flush_rcache || !iovad->rcaches)
			return 0;
		flush_rcache = false;
		iova_rcaches_flush(iovad->rcaches);
	}
}

/*
 * free_iova_fast in checked mode: the allocation must start at @pfn with
 * the size alloc_iova_fast gave @size, and must not be cached already.
 * One that goes to a cache is tagged first, under the same lock, so a
 * second free of it is caught from then on.  Out of line (as is
 * set_cached): the unchecked fast path stays as short as it was.
 */
static __attribute__((noinline, cold)) void
free_fast_checked(struct iova_domain *iovad, unsigned long pfn,
		  unsigned long size, unsigned int log_size)
{
	bool cache = log_size < iova_rcaches_classes(iovad->rcaches);
	struct free_misuse m = { 0 };
	struct iova *freed = NULL;
	unsigned long lo, hi;
	void *entry;

	iova_lock(iovad);
	entry = iova_lookup(iovad, pfn, &lo, &hi);
	if (!iova_entry_is_struct(entry) ||
	    ((uintptr_t)entry & IOVA_TAG_MASK))
		m = (struct free_misuse){ pfn, size, -ENOENT };
	else if (lo != pfn || hi - lo + 1 != fast_size(size))
		m = (struct free_misuse){ pfn, size, -EINVAL };
	else if (cache)
		iova_replace(iovad, lo, hi,
			     (void *)((uintptr_t)entry | IOVA_TAG_CACHED));
	else
		freed = remove_locked(iovad, pfn, NULL, false, &m);
	iova_struct_put(iovad, freed);
	iova_unlock(iovad);
	if (m.error)
		report_misuse(iovad, &m);
	else if (cache &&
		 !iova_rcache_put(iovad->rcaches, log_size, pfn))
		free_pfn(iovad, pfn, true);
}

LIBIOVA_EXPORT void free_iova_fast(struct iova_domain *iovad,
				   unsigned long pfn, unsigned long size)
{
	unsigned int log_size;

	if (!iova_domain_ready(iovad) || !size)
		return;
	log_size = (unsigned int)iova_ulong_log2_ceil(size);
	if (unlikely(iovad->checked_free)) {
		free_fast_checked(iovad, pfn, size, log_size);
		return;
	}
	if (iova_rcache_put(iovad->rcaches, log_size, pfn))
		return;
	free_iova(iovad, pfn);
}

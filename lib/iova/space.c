/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * space.c - floor 4 of lib/iova (docs/iova.md, "Layers"): IOVA spaces
 * (<libiova/iova_space.h>): windows, reservations, per-call limits and
 * alignment, in bytes, over a domain's tree.  On top of the domain's life
 * cycle (domain.h), the free path and the draining search (deferral.h),
 * the tree primitives (tree.h) and the size caches (rcache.h).
 *
 * The tree covers every pfn.  Outside the windows (and at pfn 0) it holds
 * HOLE markers, over reserved ranges RESERVED markers and over allocations
 * ALLOCATED markers; free space is NULL.  So a gap search inside any
 * [min, max] finds only valid free space, and an allocation needs no heap
 * object.
 *
 * An allocation freed into a size cache keeps its ALLOCATED marker (no
 * search hands it out); that it is cached is recorded in the cached set
 * (cached_set.h), by its first pfn, so the caches' paths never take the
 * domain lock.  An allocation a cache hands out keeps an entry there,
 * live, while there is room: its next free needs no tree lookup.
 * Invariants, for a space with caches:
 *   (1) a pfn in a size cache has a cached entry in the set;
 *   (2) a pfn with an entry in the set, cached or live, starts an
 *       ALLOCATED range of the tree of the entry's size class;
 *   (3) only a thread holding the pfn's stripe lock adds, flips or
 *       removes its entry, or erases a cacheable ALLOCATED range starting
 *       there from the tree.
 * An ALLOCATED range whose first pfn has no cached entry is handed out;
 * one whose first pfn has one is free (cached).  The protocol is laid
 * out by the functions that follow it: iova_space_free,
 * alloc_from_cache, release_locked.
 *
 * Locking: the domain lock for every tree write and search; the RCU read
 * lock for lookups and iteration; a stripe lock, then the domain lock,
 * for the cached set (under the domain lock a stripe lock is only ever
 * tried, note_live); the tree counters under the domain lock, the cached
 * set's in its stripes.
 */
#include <stdlib.h>
#include <string.h>

#include <libiova/iova_space.h>

#include "cached_set.h"
#include "deferral.h"
#include "domain.h"
#include "iova_base.h"
#include "rcache.h"
#include "tree.h"

/* The defaults of struct iova_space_config (<libiova/iova_space.h>) for
 * fields left 0, and the limits the others are checked against. */
/* bytes per granule: the common 4 KiB IOMMU page */
#define SPACE_DEFAULT_GRANULE 4096
/* IOVA bits the IOMMU translates: the widest an address can be */
#define SPACE_MAX_ADDRESS_WIDTH 64
/* with none given, the whole 64-bit space */
#define SPACE_DEFAULT_ADDRESS_WIDTH SPACE_MAX_ADDRESS_WIDTH
/* largest size, in granules, the size caches serve: as the kernel's
 * caches, which serve up to 2^5 pages */
#define SPACE_DEFAULT_CACHE_MAX_GRANULES 32
/* the largest cache_max_granules accepted: 2^20 granules (4 GiB of 4 KiB
 * granules), 21 size classes */
#define SPACE_CACHE_MAX_GRANULES_LIMIT (1u << 20)
/* cached allocations per size class the cached set is sized for: a
 * depot at its bound (32 magazines of 125) and some threads' magazines.
 * More only make its tables grow, up to their limit; past it a free does
 * not cache (cached_set.c) */
#define SPACE_CACHED_PER_CLASS 8192

struct iova_space {
	struct iova_domain dom;  /* first: release callbacks get &dom */
	unsigned int shift;
	unsigned long top_pfn;   /* last pfn inside the address width */
	struct iova_range *windows; /* sorted by address */
	unsigned int nr_windows;
	/* what the caches' pfns are recorded in; NULL without caches */
	struct iova_cached_set *cached;
	/* the size caches' classes, 0 without caches: asked on every
	 * allocation and free, kept here */
	unsigned int nr_classes;
	/* ALLOCATED ranges in the tree (cached ones too) and their bytes,
	 * under the domain lock; the stats subtract the cached set's */
	uint64_t allocations, bytes;
};

static uint64_t pfn_addr(const struct iova_space *s, unsigned long pfn)
{
	return (uint64_t)pfn << s->shift;
}

/* The last byte of @pfn. */
static uint64_t pfn_last_byte(const struct iova_space *s, unsigned long pfn)
{
	return ((uint64_t)pfn << s->shift) | (s->dom.granule - 1);
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* ---- creation ---------------------------------------------------------- */

static int cmp_range(const void *a, const void *b)
{
	const struct iova_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int check_config(const struct iova_space_config *c, uint64_t granule,
			uint64_t width_last)
{
	if (!is_pow2(granule))
		return -EINVAL;
	if (c->nr_windows && !c->windows)
		return -EINVAL;
	if (c->nr_reserved && !c->reserved)
		return -EINVAL;
	if (c->flags & ~IOVA_SPACE_NO_CACHE)
		return -EINVAL;
	if (c->cache_max_granules &&
	    (!is_pow2(c->cache_max_granules) ||
	     c->cache_max_granules > SPACE_CACHE_MAX_GRANULES_LIMIT))
		return -EINVAL;
	for (unsigned int i = 0; i < c->nr_windows; i++) {
		const struct iova_range *w = &c->windows[i];

		if (w->start > w->last || w->last > width_last ||
		    (w->start & (granule - 1)) ||
		    ((w->last + 1) & (granule - 1)))
			return -EINVAL;
	}
	for (unsigned int i = 0; i < c->nr_reserved; i++)
		if (c->reserved[i].start > c->reserved[i].last)
			return -EINVAL;
	return 0;
}

/*
 * Sorted windows: -EINVAL if two overlap; windows that touch (one's last
 * byte just below the next one's first) are merged into one, since to the
 * IOMMU they are one range: an allocation may span the seam, so alloc_at,
 * the holes and iova_space_window must see one window there too.
 */
static int merge_windows(struct iova_range *w, unsigned int *nr)
{
	unsigned int n = 0;

	for (unsigned int i = 1; i < *nr; i++) {
		if (w[i].start <= w[n].last)
			return -EINVAL;
		if (w[i].start == w[n].last + 1)
			w[n].last = w[i].last;
		else
			w[++n] = w[i];
	}
	*nr = n + 1;
	return 0;
}

/* Mark [lo, hi] (pfns) with @kind; under the lock. */
static int mark(struct iova_space *s, unsigned long lo, unsigned long hi,
		enum iova_kind kind)
{
	if (lo > hi)
		return 0;
	return iova_insert(&s->dom, lo, hi, iova_marker(kind));
}

/* HOLE over everything outside the windows and at pfn 0, then RESERVED. */
static int mark_layout(struct iova_space *s,
		       const struct iova_space_config *c)
{
	unsigned long next = 0; /* first pfn not yet covered */
	int ret = 0;

	for (unsigned int i = 0; i < s->nr_windows && !ret; i++) {
		unsigned long lo = (unsigned long)(s->windows[i].start >>
						   s->shift);
		unsigned long hi = (unsigned long)(s->windows[i].last >>
						   s->shift);

		if (lo > next)
			ret = mark(s, next, lo - 1, IOVA_KIND_HOLE);
		next = hi + 1;
		if (next == 0)
			break;  /* the window reaches the top of the index space */
	}
	if (!ret && next != 0)
		ret = mark(s, next, ULONG_MAX, IOVA_KIND_HOLE);
	if (!ret)
		ret = mark(s, 0, 0, IOVA_KIND_HOLE);
	for (unsigned int i = 0; i < c->nr_reserved && !ret; i++)
		ret = mark(s, (unsigned long)(c->reserved[i].start >> s->shift),
			   (unsigned long)(c->reserved[i].last >> s->shift),
			   IOVA_KIND_RESERVED);
	return ret;
}

static void space_release(struct iova_domain *dom, unsigned long pfn,
			  unsigned int log_size);

LIBIOVA_EXPORT int iova_space_create(const struct iova_space_config *config,
				     struct iova_space **out)
{
	struct iova_space_config c;
	struct iova_space *s;
	uint64_t granule, width_last;
	unsigned int width;
	int ret;

	if (!config || !out)
		return -EINVAL;
	c = *config;
	granule = c.granule ? c.granule : SPACE_DEFAULT_GRANULE;
	width = c.address_width ? c.address_width
				: SPACE_DEFAULT_ADDRESS_WIDTH;
	if (width > SPACE_MAX_ADDRESS_WIDTH)
		return -EINVAL;
	width_last = width == SPACE_MAX_ADDRESS_WIDTH ? UINT64_MAX
						      : (1ULL << width) - 1;
	ret = check_config(&c, granule, width_last);
	if (ret)
		return ret;
	if (width_last < granule)
		return -EINVAL;  /* not even one granule besides IOVA 0 */
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->shift = (unsigned int)__builtin_ctzll(granule);
	s->top_pfn = (unsigned long)(width_last >> s->shift);
	s->nr_windows = c.nr_windows ? c.nr_windows : 1;
	s->windows = malloc(s->nr_windows * sizeof(*s->windows));
	if (!s->windows) {
		free(s);
		return -ENOMEM;
	}
	if (c.nr_windows) {
		memcpy(s->windows, c.windows,
		       c.nr_windows * sizeof(*s->windows));
		qsort(s->windows, s->nr_windows, sizeof(*s->windows),
		      cmp_range);
	} else {
		s->windows[0].start = 0;
		s->windows[0].last = width_last;
	}
	if (merge_windows(s->windows, &s->nr_windows)) {
		free(s->windows);
		free(s);
		return -EINVAL;
	}
	if (iova_domain_setup(&s->dom, (unsigned long)granule, 1)) {
		free(s->windows);
		free(s);
		return -ENOMEM;
	}
	mt_set_allocator(&s->dom.tree, c.node_allocator);
	if (!(c.flags & IOVA_SPACE_NO_CACHE)) {
		unsigned int max = c.cache_max_granules
					   ? c.cache_max_granules
					   : SPACE_DEFAULT_CACHE_MAX_GRANULES;

		s->dom.rcaches = iova_rcaches_create(
			&s->dom, (unsigned int)__builtin_ctz(max) + 1,
			space_release);
		if (s->dom.rcaches)
			s->cached = iova_cached_set_create(
				c.node_allocator ? c.node_allocator
						 : mt_allocator_default(),
				SPACE_CACHED_PER_CLASS *
					iova_rcaches_classes(s->dom.rcaches));
		if (!s->cached)
			ret = -ENOMEM;
		else
			s->nr_classes =
				iova_rcaches_classes(s->dom.rcaches);
	}
	if (!ret) {
		iova_lock(&s->dom);
		ret = mark_layout(s, &c);
		iova_unlock(&s->dom);
	}
	if (ret) {
		iova_space_destroy(s);
		return ret;
	}
	*out = s;
	return 0;
}

LIBIOVA_EXPORT void iova_space_destroy(struct iova_space *s)
{
	if (!s)
		return;
	iova_rcaches_destroy(s->dom.rcaches);
	/* before the teardown: a node allocator of the user's own is
	 * checked for leaks once it returns */
	iova_cached_set_destroy(s->cached);
	iova_domain_teardown(&s->dom);
	free(s->windows);
	free(s);
}

/* ---- the size caches ------------------------------------------------- */

static void count_alloc(struct iova_space *s, unsigned long pages, int sign)
{
	s->allocations += (uint64_t)(int64_t)sign;
	s->bytes += (uint64_t)(int64_t)sign * ((uint64_t)pages << s->shift);
}

/*
 * Give the cached allocation at @pfn back to the tree, with
 * @st (its stripe) locked: erase its range, then take it out of the set.
 *
 * The stripe lock is held across the erase (and the removal is made
 * under the domain lock too: see inside), and this is why.  Taken only
 * after the erase, a window would open between the two in which the
 * range is free in the tree but its pfn still in the set: a search may
 * hand the range out again, and its new owner's free would meet the
 * stale pfn and be refused with -ENOENT (and the range leak).  Taken out
 * of the set before the erase instead, a free in between would find the
 * range ALLOCATED and not in the set, cache it, and the erase would then
 * free a range a cache holds: handed out twice.  Held across both, no
 * free of this pfn runs in between: a free that locks the stripe first
 * finds the pfn in the set (-ENOENT), one that locks it after finds the
 * range erased or handed out anew, and judges the tree as it is then.
 */
static void release_locked(struct iova_space *s,
			   struct iova_cached_stripe *st, unsigned long pfn)
{
	unsigned long lo, hi;

	iova_lock(&s->dom);
	/* One write section over the erase and the removal, under the
	 * domain lock: a search hands the range out again only after both,
	 * and a lock-free reader (read_entry) sees both or neither. */
	iova_cached_write_begin(st);
	/* by (2) the range is there; checked all the same */
	if (iova_lookup(&s->dom, pfn, &lo, &hi) ==
		    iova_marker(IOVA_KIND_ALLOCATED) &&
	    lo == pfn) {
		iova_erase(&s->dom, lo, hi);
		count_alloc(s, hi - lo + 1, -1);
	}
	iova_cached_del(s->cached, st, pfn);
	iova_cached_write_end(st);
	iova_unlock(&s->dom);
}

/* The caches' release callback: a pfn leaves a cache for good (a flush,
 * the trim of a depot over its bound on the timer service's thread, a
 * refused put); no cache lock held. */
static void space_release(struct iova_domain *dom, unsigned long pfn,
			  unsigned int log_size)
{
	struct iova_space *s = (struct iova_space *)dom;
	struct iova_cached_stripe *st = iova_cached_stripe(s->cached, pfn);

	(void)log_size;
	iova_cached_lock(st);
	release_locked(s, st, pfn);
	iova_cached_unlock(st);
}

/* The cache class of an allocation of @pages at @pfn, or -1: only sizes
 * that are powers of two, at addresses aligned to their size (so a reuse
 * meets any alignment up to the size). */
static int cache_class(const struct iova_space *s, unsigned long pfn,
		       unsigned long pages)
{
	unsigned int log;

	if (!is_pow2(pages) || (pfn & (pages - 1)))
		return -1;
	log = (unsigned int)__builtin_ctzl(pages);
	return log < s->nr_classes ? (int)log : -1;
}

/* ---- allocation ------------------------------------------------------ */

/* The pfn window inside [min, max] bytes; false if not one granule. */
static bool pfn_window(const struct iova_space *s, uint64_t min, uint64_t max,
		       unsigned long *lo, unsigned long *hi)
{
	uint64_t mask = s->dom.granule - 1;
	uint64_t first, last;

	if (min > UINT64_MAX - mask)
		return false;
	first = (min + mask) >> s->shift;
	if ((max & mask) == mask)
		last = max >> s->shift;
	else if (max >> s->shift)
		last = (max >> s->shift) - 1;
	else
		return false;
	if (last > s->top_pfn)
		last = s->top_pfn;
	if (first < 1)
		first = 1;
	if (first > last)
		return false;
	*lo = (unsigned long)first;
	*hi = (unsigned long)last;
	return true;
}

/* Size in granules, or 0 when @size is 0 or too large. */
static unsigned long size_pages(const struct iova_space *s, uint64_t size)
{
	uint64_t mask = s->dom.granule - 1;

	if (!size || size > UINT64_MAX - mask)
		return 0;
	return (unsigned long)((size + mask) >> s->shift);
}

static int alloc_from_cache(struct iova_space *s, unsigned long pages,
			    unsigned long align, unsigned long lo,
			    unsigned long hi, unsigned long *pfn)
{
	int cls = cache_class(s, 0, pages);
	struct iova_cached_stripe *st;

	if (cls < 0 || align > pages)
		return -ENOSPC;
	*pfn = iova_rcache_get(s->dom.rcaches, (unsigned int)cls, lo, hi);
	if (!*pfn)
		return -ENOSPC;
	/* Taken from the cache, the pfn is ours alone, and still cached in
	 * the set by (1): a free of it meanwhile is a double free and is
	 * refused.  Live (or out of the set), the range is handed out; the
	 * tree says so already. */
	st = iova_cached_stripe(s->cached, *pfn);
	iova_cached_lock(st);
	iova_cached_unpark(s->cached, st, *pfn);
	iova_cached_unlock(st);
	return 0;
}

/*
 * Under the domain lock: give a cacheable allocation the tree just handed
 * out a live entry, so that its free needs no tree lookup, if its stripe
 * is free to take.  A trylock: the lock order is a stripe's lock, then
 * the domain lock, and a release holds them so.  Under both, the range is
 * in the tree and nobody has freed it yet, so (2) holds for the entry.
 */
static void note_live(struct iova_space *s, unsigned long pfn,
		      unsigned long pages)
{
	int cls = cache_class(s, pfn, pages);
	struct iova_cached_stripe *st;

	if (cls < 0)
		return;
	st = iova_cached_stripe(s->cached, pfn);
	if (iova_cached_trylock(st)) {
		iova_cached_add_live(s->cached, st, pfn, (unsigned int)cls);
		iova_cached_unlock(st);
	}
}

static int alloc_from_tree(struct iova_space *s, unsigned long pages,
			   unsigned long align, unsigned long lo,
			   unsigned long hi, bool top_down,
			   unsigned long *pfn)
{
	int ret;

	iova_lock(&s->dom);
	ret = iova_find_free_draining(&s->dom, pages, align, lo, hi, top_down,
				      pfn);
	if (!ret)
		ret = iova_insert(&s->dom, *pfn, *pfn + pages - 1,
				  iova_marker(IOVA_KIND_ALLOCATED));
	if (!ret) {
		count_alloc(s, pages, 1);
		note_live(s, *pfn, pages);
	}
	iova_unlock(&s->dom);
	return ret;
}

LIBIOVA_EXPORT int iova_space_alloc(struct iova_space *s, uint64_t size,
				    uint64_t align, uint64_t min,
				    uint64_t max, unsigned int flags,
				    uint64_t *iova)
{
	bool top_down = !(flags & IOVA_ALLOC_BOTTOM_UP);
	unsigned long pages, align_pages, lo, hi, pfn;
	int ret;

	if (!s || !iova || (flags & ~IOVA_ALLOC_BOTTOM_UP) || min > max)
		return -EINVAL;
	if (align && !is_pow2(align))
		return -EINVAL;
	pages = size_pages(s, size);
	if (!pages)
		return -EINVAL;
	align_pages = align > s->dom.granule ? (unsigned long)(align >>
								 s->shift)
					     : 1;
	if (!pfn_window(s, min, max, &lo, &hi))
		return -ENOSPC;
	ret = top_down ? alloc_from_cache(s, pages, align_pages, lo, hi, &pfn)
		       : -ENOSPC;
	if (ret)
		ret = alloc_from_tree(s, pages, align_pages, lo, hi, top_down,
				      &pfn);
	if (ret == -ENOSPC && s->dom.rcaches) {
		/* cached allocations may be what is in the way */
		iova_rcaches_flush(s->dom.rcaches);
		ret = alloc_from_tree(s, pages, align_pages, lo, hi, top_down,
				      &pfn);
	}
	if (!ret)
		*iova = pfn_addr(s, pfn);
	return ret;
}

/* The window holding [first, last] bytes, or NULL. */
static const struct iova_range *window_of(const struct iova_space *s,
					  uint64_t first, uint64_t last)
{
	for (unsigned int i = 0; i < s->nr_windows; i++)
		if (s->windows[i].start <= first && last <= s->windows[i].last)
			return &s->windows[i];
	return NULL;
}

/* Is the range [@lo, @hi] an allocation a size cache may hold? */
static bool cacheable(const struct iova_space *s, unsigned long lo,
		      unsigned long hi)
{
	return s->cached && cache_class(s, lo, hi - lo + 1) >= 0;
}

/* Is the ALLOCATED range [@lo, @hi] in a size cache (free), rather than
 * handed out?  Exact at some moment during the call; no lock needed. */
static bool is_cached(struct iova_space *s, unsigned long lo,
		      unsigned long hi)
{
	return cacheable(s, lo, hi) && iova_cached_has(s->cached, lo);
}

/* allocations in the way of an alloc_at that are checked one by one for
 * being cached; past that many the caches are flushed without a look */
#define SPACE_AT_CHECKS 8

/* Is [lo, hi] free?  Under the lock.  Otherwise the first pfns of the
 * allocations in the way that a cache may hold go to @maybe (up to
 * SPACE_AT_CHECKS), their number to *@nr_maybe. */
static bool range_free(struct iova_space *s, unsigned long lo,
		       unsigned long hi, unsigned long *maybe,
		       unsigned int *nr_maybe)
{
	MA_STATE(mas, &s->dom.tree, lo, lo);
	bool taken = false;
	void *entry;

	*nr_maybe = 0;
	mas_for_each(&mas, entry, hi) {
		taken = true;
		if (entry == iova_marker(IOVA_KIND_ALLOCATED) &&
		    cacheable(s, mas.index, mas.last)) {
			if (*nr_maybe < SPACE_AT_CHECKS)
				maybe[*nr_maybe] = mas.index;
			(*nr_maybe)++;
		}
	}
	return !taken;
}

/* Is one of the allocations range_free found in the way cached?  Asked
 * without the domain lock (the set is read lock-free). */
static bool any_cached(struct iova_space *s, const unsigned long *maybe,
		       unsigned int nr_maybe)
{
	if (nr_maybe > SPACE_AT_CHECKS)
		return true;
	for (unsigned int i = 0; i < nr_maybe; i++)
		if (iova_cached_has(s->cached, maybe[i]))
			return true;
	return false;
}

LIBIOVA_EXPORT int iova_space_alloc_at(struct iova_space *s, uint64_t iova,
				       uint64_t size)
{
	unsigned long pages, lo, hi, maybe[SPACE_AT_CHECKS];
	unsigned int nr_maybe;
	int ret;

	if (!s || (iova & (s->dom.granule - 1)))
		return -EINVAL;
	pages = size_pages(s, size);
	if (!pages || iova + pfn_addr(s, pages) - 1 < iova)
		return -EINVAL;
	if (!iova || !window_of(s, iova, iova + pfn_addr(s, pages) - 1))
		return -ERANGE;
	lo = (unsigned long)(iova >> s->shift);
	hi = lo + pages - 1;
	for (int pass = 0;; pass++) {
		iova_lock(&s->dom);
		/* a parked range is free space: its erase is completed
		 * first, blocking allowed; -ENOMEM without memory for it */
		nr_maybe = 0;
		if (!iova_deferral_clear(&s->dom, lo, hi, GFP_KERNEL))
			ret = -ENOMEM;
		else
			ret = range_free(s, lo, hi, maybe, &nr_maybe) ? 0
								      : -EEXIST;
		if (!ret)
			ret = iova_insert(&s->dom, lo, hi,
					  iova_marker(IOVA_KIND_ALLOCATED));
		if (!ret)
			count_alloc(s, pages, 1);
		iova_unlock(&s->dom);
		if (ret != -EEXIST || !nr_maybe || pass ||
		    !any_cached(s, maybe, nr_maybe))
			return ret;
		/* freed allocations parked in a cache: give them back */
		iova_rcaches_flush(s->dom.rcaches);
	}
}

/* -ENOENT or -EINVAL if @entry, over [@lo, @hi], is not an allocation
 * that starts at @pfn; 0 if it is.  Whether it is cached is the caller's
 * to check when it starts there; inside, a cached range is no
 * allocation (-ENOENT, as inside any free range). */
static int check_free(struct iova_space *s, void *entry, unsigned long lo,
		      unsigned long hi, unsigned long pfn)
{
	if (entry != iova_marker(IOVA_KIND_ALLOCATED))
		return -ENOENT;
	if (lo == pfn)
		return 0;
	return is_cached(s, lo, hi) ? -ENOENT : -EINVAL;
}

/*
 * The free of the allocation at @pfn that the cached set has no entry
 * for, or of a space without caches (@st NULL): the tree, under the
 * domain lock, says what is there.  Returns 0 or the error, and in
 * *@cls the size class the allocation now has a cached entry of (the
 * caller puts it in that cache), or -1 if it was erased.
 *
 * With caches, @st is @pfn's stripe, locked by the caller, who found no
 * entry there; only a holder of @st adds one (3), so none appears
 * meanwhile, and the tree's answer holds while the entry is added
 * under both locks.  A cacheable allocation is cached; when the set has
 * no room for it, it is erased instead: the free itself never fails for
 * memory.  The erase is a write section of @st, as a release's
 * (release_locked), for read_entry.
 */
static int free_in_tree(struct iova_space *s, struct iova_cached_stripe *st,
			unsigned long pfn, int *cls)
{
	unsigned long lo, hi;
	void *entry;
	int ret;

	*cls = -1;
	iova_lock(&s->dom);
	entry = iova_lookup(&s->dom, pfn, &lo, &hi);
	ret = check_free(s, entry, lo, hi, pfn);
	if (!ret && st) {
		*cls = cache_class(s, lo, hi - lo + 1);
		/* -EEXIST cannot be: no entry, see above */
		if (*cls >= 0 &&
		    iova_cached_add(s->cached, st, pfn, (unsigned int)*cls))
			*cls = -1;
		if (*cls < 0) {
			iova_cached_write_begin(st);
			iova_erase(&s->dom, lo, hi);
			iova_cached_write_end(st);
		}
	} else if (!ret) {
		iova_erase(&s->dom, lo, hi);
	}
	if (!ret && *cls < 0)
		count_alloc(s, hi - lo + 1, -1);
	iova_unlock(&s->dom);
	return ret;
}

/*
 * The cached free of an allocation with an entry takes no domain lock.
 * Under the pfn's stripe lock:
 *   - a live entry: the pfn starts a handed-out allocation of the
 *     entry's size by (2); the entry becomes cached, and the pfn goes to
 *     a cache: no tree lookup at all;
 *   - a cached entry: a double free, -ENOENT;
 *   - no entry: free_in_tree asks the tree, under the domain lock; a
 *     cacheable allocation gets a cached entry and goes to a cache,
 *     any other is erased.  One locked lookup: under the lock a size the
 *     caches do not serve is erased at once, where a lookup under RCU
 *     would have to be made again under the lock to erase.
 */
LIBIOVA_EXPORT int iova_space_free(struct iova_space *s, uint64_t iova)
{
	struct iova_cached_stripe *st;
	unsigned long pfn;
	int cls, ret = 0;

	if (!s || (iova & (s->dom.granule - 1)))
		return -EINVAL;
	if (!window_of(s, iova, iova))
		return -ERANGE;
	pfn = (unsigned long)(iova >> s->shift);
	if (!s->cached)
		return free_in_tree(s, NULL, pfn, &cls);
	st = iova_cached_stripe(s->cached, pfn);
	iova_cached_lock(st);
	cls = iova_cached_park(s->cached, st, pfn);
	if (cls == -EEXIST)
		ret = -ENOENT; /* cached already: a double free */
	else if (cls == -ENOENT)
		ret = free_in_tree(s, st, pfn, &cls);
	iova_cached_unlock(st);
	if (ret || cls < 0)
		return ret;
	/* By (1) a pfn has a cached entry before it enters a cache.
	 * Refused, it is released as any cached pfn is. */
	if (!iova_rcache_put(s->dom.rcaches, (unsigned int)cls, pfn))
		space_release(&s->dom, pfn, (unsigned int)cls);
	return 0;
}

/* ---- reading --------------------------------------------------------- */

/*
 * The tree's entry at @pfn and its range, read under RCU, and whether it
 * is a cached allocation (*@cached), as one snapshot.  The tree and the
 * set are read apart, so a release of the range in between (its erase
 * and its removal from the set) could pair the range still ALLOCATED
 * with no entry (a free range read as allocated) or a new allocation
 * with the old entry (read as free).  The stripe's sequence count (a
 * release is one write section, release_locked) rules both out: the tree
 * is read again inside the read, and both reads count only if no write
 * section of the range's stripe began or ran meanwhile.
 */
static void *read_entry(struct iova_space *s, unsigned long pfn,
			unsigned long *lo, unsigned long *hi, bool *cached)
{
	for (;;) {
		unsigned long lo2 = 0, hi2 = 0;
		unsigned int seq;
		void *entry, *again;

		mt_read_lock();
		entry = iova_lookup(&s->dom, pfn, lo, hi);
		mt_read_unlock();
		*cached = false;
		if (entry != iova_marker(IOVA_KIND_ALLOCATED) ||
		    !cacheable(s, *lo, *hi))
			return entry;
		seq = iova_cached_read_begin(s->cached, *lo);
		mt_read_lock();
		again = iova_lookup(&s->dom, pfn, &lo2, &hi2);
		mt_read_unlock();
		if (again != entry || lo2 != *lo || hi2 != *hi)
			continue;
		*cached = iova_cached_peek(s->cached, *lo);
		if (iova_cached_read_end(s->cached, *lo, seq))
			return entry;
	}
}

LIBIOVA_EXPORT int iova_space_lookup(struct iova_space *s, uint64_t addr,
				     struct iova_range *range)
{
	unsigned long pfn, lo = 0, hi = 0;
	bool cached;
	void *entry;

	if (!s || !range)
		return -EINVAL;
	pfn = (unsigned long)(addr >> s->shift);
	entry = read_entry(s, pfn, &lo, &hi, &cached);
	if (entry != iova_marker(IOVA_KIND_ALLOCATED) || cached)
		return -ENOENT;
	range->start = pfn_addr(s, lo);
	range->last = pfn_last_byte(s, hi);
	return 0;
}

/* Is the range at @pfn (read by an iterator) cached, by read_entry's
 * snapshot? */
static bool allocation_cached(struct iova_space *s, unsigned long pfn)
{
	unsigned long lo, hi;
	bool cached;

	read_entry(s, pfn, &lo, &hi, &cached);
	return cached;
}

/* The next range at or after @mas->index up to @hi that is a free hole
 * (@holes) or an ALLOCATED range, cached or not; false when there is
 * none.  RCU read lock. */
static bool next_visit(struct ma_state *mas, unsigned long hi, bool holes)
{
	void *entry;

	if (holes)
		return mas_walk(mas) == NULL;
	do
		entry = mas_find(mas, hi);
	while (entry && entry != iova_marker(IOVA_KIND_ALLOCATED));
	return entry != NULL;
}

/*
 * Visit the free holes (@holes) or the allocations that meet [min, max]
 * (bytes), clipped to it, in address order: every granule [min, max]
 * touches is looked at, so a hole that meets it in part of a granule is
 * reported too (clipped to the bytes inside).  Each range is read under
 * the RCU read lock; the callback runs outside it, so it may call
 * anything.  The tree has no two adjacent NULL ranges, so each NULL range
 * is a whole hole.  An ALLOCATED range that is cached is neither an
 * allocation nor a hole: it is skipped.
 */
static int visit(struct iova_space *s, uint64_t min, uint64_t max,
		 bool holes, iova_range_fn fn, void *arg)
{
	unsigned long pos = (unsigned long)(min >> s->shift);
	unsigned long hi = (unsigned long)(max >> s->shift);

	if (hi > s->top_pfn)
		hi = s->top_pfn;  /* above it everything is a HOLE marker */
	for (; pos <= hi;) {
		MA_STATE(mas, &s->dom.tree, pos, pos);
		struct iova_range r;
		bool found;
		int ret;

		mt_read_lock();
		found = next_visit(&mas, hi, holes);
		mt_read_unlock();
		if (!holes && !found)
			return 0;
		if (found && !holes && allocation_cached(s, mas.index))
			found = false;
		if (found) {
			r.start = pfn_addr(s, mas.index);
			r.last = pfn_last_byte(s, mas.last > hi ? hi : mas.last);
			if (r.start < min)
				r.start = min;
			if (r.last > max)
				r.last = max;
			ret = fn(arg, &r);
			if (ret)
				return ret;
		}
		if (mas.last >= hi)
			return 0;
		pos = mas.last + 1;
	}
	return 0;
}

LIBIOVA_EXPORT int iova_space_for_each(struct iova_space *s, iova_range_fn fn,
				       void *arg)
{
	if (!s || !fn)
		return -EINVAL;
	return visit(s, 0, UINT64_MAX, false, fn, arg);
}

LIBIOVA_EXPORT int iova_space_for_each_hole(struct iova_space *s,
					    uint64_t min, uint64_t max,
					    iova_range_fn fn, void *arg)
{
	if (!s || !fn || min > max)
		return -EINVAL;
	return visit(s, min, max, true, fn, arg);
}

struct largest {
	uint64_t size;
};

static int note_largest(void *arg, const struct iova_range *r)
{
	struct largest *l = arg;

	if (r->last - r->start + 1 > l->size || !l->size)
		l->size = r->last - r->start + 1;
	return 0;
}

LIBIOVA_EXPORT int iova_space_window(struct iova_space *s, unsigned int index,
				     struct iova_range *window,
				     uint64_t *largest_hole)
{
	struct largest l = { 0 };

	if (!s || !window || !largest_hole || index >= s->nr_windows)
		return -EINVAL;
	*window = s->windows[index];
	iova_space_for_each_hole(s, window->start, window->last, note_largest,
				 &l);
	*largest_hole = l.size;
	return 0;
}

LIBIOVA_EXPORT int iova_space_stats(struct iova_space *s,
				    struct iova_space_stats *st)
{
	struct iova_rcache_counts rc;
	unsigned long nr_cached = 0, cached_pages = 0;
	uint64_t cached_bytes;

	if (!s || !st)
		return -EINVAL;
	/* The tree's ALLOCATED ranges less the cached ones, which by (2)
	 * are among them: counted apart (the tree's under the domain lock,
	 * the cached set's in its stripes, under their locks), so no cached
	 * path touches a counter shared by the whole space.  Exact when no
	 * call runs meanwhile, else from slightly different moments (so
	 * kept from going below 0). */
	iova_rcaches_counts(s->dom.rcaches, &rc);
	if (s->cached)
		iova_cached_totals(s->cached, &nr_cached, &cached_pages);
	cached_bytes = (uint64_t)cached_pages << s->shift;
	iova_lock(&s->dom);
	st->allocations = s->allocations > nr_cached
				  ? s->allocations - nr_cached
				  : 0;
	st->bytes_allocated = s->bytes > cached_bytes ? s->bytes - cached_bytes
						      : 0;
	iova_unlock(&s->dom);
	st->cached = rc.cached;
	st->cache_hits = rc.hits;
	st->cache_misses = rc.misses;
	st->nr_windows = s->nr_windows;
	return 0;
}

LIBIOVA_EXPORT int iova_space_flush_cache(struct iova_space *s)
{
	if (!s)
		return -EINVAL;
	if (s->dom.rcaches)
		iova_rcaches_flush(s->dom.rcaches);
	return 0;
}

/* ---- deferred erase (iova_deferral.h) -------------------------------- */

LIBIOVA_EXPORT int iova_space_set_backoff(struct iova_space *s,
					  const struct iova_backoff *policy)
{
	return s ? iova_domain_set_backoff(&s->dom, policy) : -EINVAL;
}

LIBIOVA_EXPORT int iova_space_deferral_stats(struct iova_space *s,
					     struct iova_deferral_stats *st)
{
	return s ? iova_domain_deferral_stats(&s->dom, st) : -EINVAL;
}

LIBIOVA_EXPORT int iova_space_flush_deferred(struct iova_space *s,
					     uint64_t *remaining)
{
	return s ? iova_domain_flush_deferred(&s->dom, remaining) : -EINVAL;
}

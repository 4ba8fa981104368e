/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_kernel_api.c - the kernel IOVA API (iova.h) against a model of the
 * pfn space.
 *
 * The input chooses the granule, start_pfn and whether the domain has
 * size caches, then a sequence of alloc_iova, alloc_iova_fast,
 * free_iova_fast, free_iova, __free_iova, reserve_iova and find_iova
 * calls with limits near start_pfn, in the middle, at 4 GiB and at the
 * top.
 *
 * The model holds every live allocation and reservation exactly.  A range
 * given to free_iova_fast may sit in a size cache (still taken) or be back
 * in the tree (free): the model keeps it as "maybe free" until an
 * allocation or reservation overlaps it, or a flush gives every cached
 * range back.  Checked on every call: results inside [start_pfn, limit],
 * size-aligned where asked, never over a live range or a reservation;
 * alloc_iova at the highest placement when nothing is maybe free (and
 * never below the highest placement in surely free space otherwise);
 * failure only when the surely free space has no placement or the
 * kernel's 32-bit rule (a size that failed under 4 GiB fails again until
 * a free there) allows it; reservations merge exactly; find_iova finds
 * exactly the live ranges.  At the end, right after put_iova_domain: no
 * live tree node (put waits for the RCU callbacks that return them).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <libiova/iova.h>

#include "faults.h"
#include "fuzz.h"
#include "model.h"

/* Model entries: a kind and a number, as xarray values. */
enum kind { LIVE = 1, RESV = 2, MAYBE = 3 };

#define MAX_LIVE 512

struct run {
	struct fz in;
	struct iova_domain iovad;
	struct mt_allocator *cache;
	/* every taken range: live, reserved, maybe free */
	struct model occ;
	/* the ranges surely taken: live and reserved */
	struct model hard;
	bool rcaches;
	unsigned long next_id;
	/* the smallest size that may have failed under 4 GiB since the
	 * last free there that surely reached the tree */
	unsigned long max32;
};

static enum kind kind_of(void *e)
{
	return (enum kind)(xa_to_value(e) & 3);
}

/* Bit 2 of an entry: allocated by alloc_iova_fast (only those go to
 * free_iova_fast: a cache hands out what it holds, aligned or not). */
#define FAST 4ul

static void *mk(struct run *r, unsigned long k)
{
	return xa_mk_value((++r->next_id << 3) | k);
}

static bool is_fast(void *e)
{
	return xa_to_value(e) & FAST;
}

static unsigned long log2_ceil(unsigned long n)
{
	return n <= 1 ? 0 : 64 - (unsigned long)__builtin_clzl(n - 1);
}

static unsigned long pick_pfn(struct run *r)
{
	uint8_t shape = fz_u8(&r->in);
	unsigned long d32 = r->iovad.dma_32bit_pfn;

	if (shape < 128)
		return fz_u8(&r->in);
	if (shape < 192)
		return fz_u16(&r->in);
	if (shape < 224)
		return d32 + (unsigned long)(int8_t)fz_u8(&r->in);
	return fz_num(&r->in);
}

static unsigned long pick_size(struct run *r)
{
	uint8_t s = fz_u8(&r->in);

	if (s < 200)
		return (s & 63) + (s < 8 ? 0 : 1);
	return fz_num(&r->in);
}

/* Forget the maybe-free ranges overlapping [lo, hi]: they were free. */
static void drop_maybe(struct run *r, unsigned long lo, unsigned long hi)
{
	size_t k = model_lower(&r->occ, lo);

	while (k < r->occ.count && r->occ.r[k].first <= hi) {
		struct model_range m = r->occ.r[k];

		if (kind_of(m.entry) == MAYBE) {
			model_store(&r->occ, m.first, m.last, NULL);
			k = model_lower(&r->occ, lo);
			continue;
		}
		k++;
	}
}

/* What a successful allocation of [lo, hi] must satisfy. */
static void took(struct run *r, unsigned long lo, unsigned long hi,
		 unsigned long limit, unsigned long align, bool fast,
		 const char *what)
{
	FZ_CHECK(lo <= hi && lo >= r->iovad.start_pfn && hi <= limit,
		 "%s: [%lu, %lu] outside [%lu, %lu]", what, lo, hi,
		 r->iovad.start_pfn, limit);
	FZ_CHECK((lo & (align - 1)) == 0, "%s: %lu not aligned to %lu", what,
		 lo, align);
	FZ_CHECK(!model_any(&r->hard, lo, hi), "%s: [%lu, %lu] taken", what,
		 lo, hi);
	drop_maybe(r, lo, hi);
	{
		void *e = mk(r, LIVE | (fast ? FAST : 0));

		model_store(&r->occ, lo, hi, e);
		model_store(&r->hard, lo, hi, e);
	}
}

/* A free that surely reached the tree. */
static void freed(struct run *r, unsigned long lo, unsigned long hi,
		  enum kind k)
{
	model_store(&r->hard, lo, hi, NULL);
	if (k == MAYBE) {
		model_store(&r->occ, lo, hi, mk(r, MAYBE));
	} else {
		model_store(&r->occ, lo, hi, NULL);
		if (lo < r->iovad.dma_32bit_pfn)
			r->max32 = r->iovad.dma_32bit_pfn;
	}
}

/* May an allocation of @size under @limit fail? */
static void check_failure(struct run *r, unsigned long size,
			  unsigned long limit, unsigned long align,
			  const struct model *space, const char *what)
{
	unsigned long start;
	bool below_4g = limit <= r->iovad.dma_32bit_pfn;

	if (below_4g && size >= r->max32)
		return;
	FZ_CHECK(!model_empty_area_aligned(space, r->iovad.start_pfn, limit,
					   size, align, true, &start),
		 "%s(%lu, limit %lu): failed, but [%lu, +%lu) is free", what,
		 size, limit, start, size);
	if (below_4g && size < r->max32)
		r->max32 = size;
}

/* A random live range (the model's k-th LIVE), or false. */
static bool pick_live(struct run *r, unsigned long *lo, unsigned long *hi,
		      bool fast)
{
	size_t n = 0, want;

	for (size_t k = 0; k < r->hard.count; k++)
		n += kind_of(r->hard.r[k].entry) == LIVE &&
		     (!fast || is_fast(r->hard.r[k].entry));
	if (!n)
		return false;
	want = fz_u16(&r->in) % n;
	for (size_t k = 0; k < r->hard.count; k++)
		if (kind_of(r->hard.r[k].entry) == LIVE &&
		    (!fast || is_fast(r->hard.r[k].entry)) && !want--) {
			*lo = r->hard.r[k].first;
			*hi = r->hard.r[k].last;
			return true;
		}
	return false;
}

static void op_alloc(struct run *r)
{
	unsigned long size = pick_size(r), limit = pick_pfn(r), start;
	bool aligned = fz_bool(&r->in), ok, has_maybe;
	struct iova *iova = alloc_iova(&r->iovad, size, limit, aligned);
	unsigned long align = 1;

	if (!size || (aligned && size > (ULONG_MAX >> 1) + 1)) {
		FZ_CHECK(!iova, "alloc_iova(%lu) bad size succeeded", size);
		return;
	}
	if (aligned)
		align = 1ul << log2_ceil(size);
	if (!iova) {
		check_failure(r, size, limit, align, &r->occ, "alloc_iova");
		return;
	}
	FZ_CHECK(iova_size(iova) == size, "alloc_iova size %lu, want %lu",
		 iova_size(iova), size);
	/* top-down: the highest placement, exactly when no cached range
	 * blurs the picture */
	has_maybe = r->occ.count != r->hard.count;
	ok = model_empty_area_aligned(has_maybe ? &r->occ : &r->hard,
				      r->iovad.start_pfn, limit, size, align,
				      true, &start);
	if (!has_maybe)
		FZ_CHECK(ok && iova->pfn_lo == start,
			 "alloc_iova(%lu, %lu, %d) at %lu, model %d at %lu",
			 size, limit, aligned, iova->pfn_lo, ok, start);
	else if (ok)
		FZ_CHECK(iova->pfn_lo >= start,
			 "alloc_iova(%lu, %lu) at %lu, below free %lu", size,
			 limit, iova->pfn_lo, start);
	took(r, iova->pfn_lo, iova->pfn_hi, limit, align, false,
	     "alloc_iova");
	FZ_CHECK(find_iova(&r->iovad, iova->pfn_lo) == iova &&
		 find_iova(&r->iovad, iova->pfn_hi) == iova,
		 "find_iova of a new allocation");
}

static void op_alloc_fast(struct run *r)
{
	unsigned long size = pick_size(r), limit = pick_pfn(r), pfn, want;
	bool flush = fz_bool(&r->in);
	struct iova *iova;

	if (size > (1ul << 20) || !size)
		size = (size & 63) + 1; /* keep clear of the alignment limit */
	want = size < 32 ? 1ul << log2_ceil(size) : size;
	pfn = alloc_iova_fast(&r->iovad, size, limit, flush);
	/* with start_pfn 0, pfn 0 is an allocation as well as the failure
	 * value (as in the kernel): tell them apart by the tree.  A struct at
	 * 0 of another size is a freed range still cached there, and the 0 a
	 * failure (the size caches, holding more since their depot is
	 * trimmed later, made that reachable) */
	if (!pfn && !r->iovad.start_pfn && !model_any(&r->hard, 0, 0)) {
		struct iova *at0 = find_iova(&r->iovad, 0);

		if (at0 && at0->pfn_lo == 0 && iova_size(at0) == want)
			goto got;
	}
	if (!pfn) {
		if (flush) {
			/* every cached range went back first.  One the model
			 * knew only as maybe cached may have reached the tree
			 * before the failure that set max32_alloc_size (a
			 * free the caches could not keep), and then the flush
			 * did not reset it: keep the model's bound */
			unsigned long max32 = r->max32;

			for (size_t k = 0; k < r->occ.count;) {
				struct model_range m = r->occ.r[k];

				if (kind_of(m.entry) == MAYBE) {
					freed(r, m.first, m.last, LIVE);
					k = 0;
					continue;
				}
				k++;
			}
			r->max32 = max32;
		}
		check_failure(r, want, limit, 1ul << log2_ceil(want),
			      &r->occ, "alloc_iova_fast");
		return;
	}
got:
	iova = find_iova(&r->iovad, pfn);
	FZ_CHECK(iova && iova->pfn_lo == pfn && iova_size(iova) == want,
		 "alloc_iova_fast(%lu) = %lu: find_iova %p", size, pfn,
		 (void *)iova);
	took(r, pfn, pfn + want - 1, limit, 1ul << log2_ceil(want), true,
	     "alloc_iova_fast");
}

static void op_free_fast(struct run *r)
{
	unsigned long lo, hi, size;
	bool cacheable;

	if (!pick_live(r, &lo, &hi, true))
		return;
	size = hi - lo + 1;
	/* as allocated: the size given to alloc_iova_fast, which we do not
	 * keep, maps to the same size class; the rounded size is one of
	 * them */
	free_iova_fast(&r->iovad, lo, size);
	/* a size no cache takes (over 32 granules) goes to the tree */
	cacheable = r->rcaches &&
		    size <= 1ul << (IOVA_RANGE_CACHE_MAX_SIZE - 1);
	freed(r, lo, hi, cacheable ? MAYBE : LIVE);
	if (!cacheable)
		FZ_CHECK(!find_iova(&r->iovad, lo), "free_iova_fast left it");
}

static void op_free(struct run *r)
{
	unsigned long lo, hi, pfn;

	if (fz_u8(&r->in) < 32) {
		/* a pfn nothing is allocated at: nothing happens */
		pfn = pick_pfn(r);
		if (model_any(&r->occ, pfn, pfn))
			return;
		free_iova(&r->iovad, pfn);
		return;
	}
	if (!pick_live(r, &lo, &hi, false))
		return;
	pfn = lo + fz_u16(&r->in) % (hi - lo + 1);
	if (fz_bool(&r->in)) {
		struct iova *iova = find_iova(&r->iovad, pfn);

		FZ_CHECK(iova && iova->pfn_lo == lo && iova->pfn_hi == hi,
			 "find_iova(%lu) in [%lu, %lu]", pfn, lo, hi);
		__free_iova(&r->iovad, iova);
	} else {
		free_iova(&r->iovad, pfn);
	}
	freed(r, lo, hi, LIVE);
	FZ_CHECK(!find_iova(&r->iovad, pfn), "freed, still found");
}

static void op_reserve(struct run *r)
{
	unsigned long lo = pick_pfn(r), hi = lo + fz_u8(&r->in), ulo, uhi;
	struct iova *res;
	bool live = false, maybe = false;
	size_t k;

	if (hi < lo)
		hi = ULONG_MAX;
	if (fz_u8(&r->in) == 0xff) {
		unsigned long t = lo;

		lo = hi;
		hi = t;
	}
	res = reserve_iova(&r->iovad, lo, hi);
	if (lo > hi) {
		FZ_CHECK(!res, "reserve_iova(%lu, %lu) reversed", lo, hi);
		return;
	}
	/* the union with the reservations it overlaps */
	ulo = lo;
	uhi = hi;
	for (k = model_lower(&r->occ, lo);
	     k < r->occ.count && r->occ.r[k].first <= hi; k++) {
		struct model_range m = r->occ.r[k];

		switch (kind_of(m.entry)) {
		case LIVE:
			live = true;
			break;
		case MAYBE:
			maybe = true;
			break;
		case RESV:
			if (m.first < ulo)
				ulo = m.first;
			if (m.last > uhi)
				uhi = m.last;
			break;
		}
	}
	if (live) {
		FZ_CHECK(!res, "reserve_iova(%lu, %lu) over an allocation", lo,
			 hi);
		return;
	}
	if (!res) {
		FZ_CHECK(maybe, "reserve_iova(%lu, %lu) failed on free space",
			 lo, hi);
		return;
	}
	FZ_CHECK(res->pfn_lo == ulo && res->pfn_hi == uhi,
		 "reserve_iova(%lu, %lu) = [%lu, %lu], want [%lu, %lu]", lo,
		 hi, res->pfn_lo, res->pfn_hi, ulo, uhi);
	drop_maybe(r, ulo, uhi);
	{
		void *e = mk(r, RESV);

		model_store(&r->occ, ulo, uhi, e);
		model_store(&r->hard, ulo, uhi, e);
	}
}

static void op_find(struct run *r)
{
	unsigned long pfn = pick_pfn(r), f, l;
	void *e = model_load(&r->occ, pfn, &f, &l);
	struct iova *iova = find_iova(&r->iovad, pfn);

	if (!e) {
		FZ_CHECK(!iova, "find_iova(%lu) in free space: [%lu, %lu]", pfn,
			 iova->pfn_lo, iova->pfn_hi);
		return;
	}
	if (kind_of(e) == LIVE)
		FZ_CHECK(iova && iova->pfn_lo == f && iova->pfn_hi == l,
			 "find_iova(%lu): want [%lu, %lu]", pfn, f, l);
	else if (iova)
		FZ_CHECK(iova->pfn_lo == f && iova->pfn_hi == l,
			 "find_iova(%lu) = [%lu, %lu], want [%lu, %lu]", pfn,
			 iova->pfn_lo, iova->pfn_hi, f, l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run run;
	struct run *r = &run;
	uint8_t setup;
	unsigned int nops = 0;

	memset(r, 0, sizeof(*r));
	fz_init(&r->in, data, size);
	setup = fz_u8(&r->in);
	model_init(&r->occ);
	model_init(&r->hard);
	r->cache = mt_node_cache_create(NULL);
	FZ_CHECK(r->cache, "node cache");
	FZ_CHECK(init_iova_domain(&r->iovad, 1ul << ((setup & 0x1f) % 17),
				  (setup >> 5) & 3) == 0, "init_iova_domain");
	FZ_CHECK(mt_set_allocator(&r->iovad.tree, r->cache) == 0,
		 "set allocator");
	r->rcaches = setup & 0x80;
	if (r->rcaches)
		FZ_CHECK(iova_domain_init_rcaches(&r->iovad) == 0, "rcaches");
	r->max32 = r->iovad.dma_32bit_pfn;

	while (fz_more(&r->in) && nops++ < 2000) {
		switch (fz_u8(&r->in) % 8) {
		case 0:
		case 1:
			op_alloc(r);
			break;
		case 2:
		case 3:
			op_alloc_fast(r);
			break;
		case 4:
			op_free_fast(r);
			break;
		case 5:
			op_free(r);
			break;
		case 6:
			op_reserve(r);
			break;
		default:
			op_find(r);
			break;
		}
	}

	/* put waits for the RCU callbacks owed to our allocator */
	put_iova_domain(&r->iovad);
	fz_allocators_done(NULL, r->cache);
	model_free(&r->occ);
	model_free(&r->hard);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel-compatible IOVA API: the kernel's semantics (top-down
 * allocation, inclusive limit, the size-alignment rule, reserve merging,
 * unknown frees, exhaustion under a 32-bit limit, the size cache and its
 * flush-and-retry) and bad input; and that the filled tops (the
 * remembered full tops under a limit) never change a placement: a
 * randomized run against a domain that forgets them before every search
 * (IOVA_SEED=<n> re-runs a seed, printed at start).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include <libiova/iova.h>
#include <libiova/iova_deferral.h>

#include "prng.h"

struct fx {
	struct iova_domain iovad;
	struct mt_allocator *cache;
};

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.cache = mt_node_cache_create(NULL);
	assert_int_equal(init_iova_domain(&f.iovad, 4096, 1), 0);
	/* count the domain's nodes so teardown can see every one returned */
	assert_int_equal(mt_set_allocator(&f.iovad.tree, f.cache), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct mt_alloc_stats st;

	put_iova_domain(&f->iovad);
	urcu_memb_barrier();
	mt_allocator_stats(f->cache, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(mt_allocator_destroy(f->cache), 0);
	return 0;
}

static void test_helpers(void **state)
{
	struct fx *f = *state;
	struct iova iova = { .pfn_hi = 0x12, .pfn_lo = 0x10 };

	assert_int_equal(iova_shift(&f->iovad), 12);
	assert_int_equal(iova_mask(&f->iovad), 0xfff);
	assert_int_equal(iova_offset(&f->iovad, 0x12345), 0x345);
	assert_int_equal(iova_align(&f->iovad, 1), 4096);
	assert_int_equal(iova_align(&f->iovad, 4096), 4096);
	assert_int_equal(iova_align_down(&f->iovad, 0x12345), 0x12000);
	assert_int_equal(iova_pfn(&f->iovad, 0x12345), 0x12);
	assert_int_equal(iova_dma_addr(&f->iovad, &iova), 0x10000);
	assert_int_equal(iova_size(&iova), 3);
	assert_int_equal(iova_rcache_range(), 128 * 1024);
	assert_int_equal(f->iovad.dma_32bit_pfn, 1UL << 20);
	assert_int_equal(iova_cache_get(), 0);
	iova_cache_put();
}

static void test_top_down_inclusive_limit(void **state)
{
	struct fx *f = *state;
	struct iova *a, *b, *c;

	a = alloc_iova(&f->iovad, 1, 0x1000, false);
	assert_non_null(a);
	assert_int_equal(a->pfn_lo, 0x1000);  /* the limit itself */
	assert_int_equal(a->pfn_hi, 0x1000);
	b = alloc_iova(&f->iovad, 4, 0x1000, false);
	assert_int_equal(b->pfn_lo, 0xffc);
	assert_int_equal(b->pfn_hi, 0xfff);
	c = alloc_iova(&f->iovad, 3, 0x1000, false);
	assert_int_equal(c->pfn_hi, 0xffb);
	assert_ptr_equal(find_iova(&f->iovad, 0xffa), c);
	assert_ptr_equal(find_iova(&f->iovad, 0xffd), b);
	assert_null(find_iova(&f->iovad, 0x1001));
	assert_null(find_iova(&f->iovad, 0xff8));
}

static void test_size_alignment(void **state)
{
	struct fx *f = *state;
	struct iova *a, *b;

	/* size 3: aligned to 4, as high as fits under the limit */
	a = alloc_iova(&f->iovad, 3, 0x100, true);
	assert_int_equal(a->pfn_lo, 0xfc);
	assert_int_equal(a->pfn_hi, 0xfe);
	/* size 5 aligned to 8: [0xf0, 0xf4]; 0xf8 would hit a */
	b = alloc_iova(&f->iovad, 5, 0x100, true);
	assert_int_equal(b->pfn_lo, 0xf0);
	for (unsigned long size = 1; size <= 100; size++) {
		struct iova *x = alloc_iova(&f->iovad, size, 0xfffff, true);
		unsigned long pow = 1;

		while (pow < size)
			pow <<= 1;
		assert_non_null(x);
		assert_int_equal(x->pfn_lo % pow, 0);
		assert_int_equal(iova_size(x), size);
		assert_true(x->pfn_hi <= 0xfffff);
	}
}

static void test_start_pfn_and_exhaustion(void **state)
{
	struct fx *f = *state;
	struct iova_domain d;
	struct iova *got[8];

	(void)f;
	assert_int_equal(init_iova_domain(&d, 4096, 16), 0);
	for (int i = 0; i < 5; i++) {
		got[i] = alloc_iova(&d, 1, 20, false);
		assert_non_null(got[i]);
		assert_int_equal(got[i]->pfn_lo, 20 - i);
	}
	assert_null(alloc_iova(&d, 1, 20, false));  /* below start_pfn */
	__free_iova(&d, got[2]);
	got[2] = alloc_iova(&d, 1, 20, false);
	assert_int_equal(got[2]->pfn_lo, 18);
	put_iova_domain(&d);
}

/*
 * A domain remembers the filled top of a limit (lib/iova/tree.h) and
 * searches below it: every answer must still be the highest free
 * placement, whatever was freed, reserved or asked for with another limit.
 */
static unsigned long pfn_of(struct iova_domain *d, unsigned long size,
			    unsigned long limit, bool aligned)
{
	struct iova *a = alloc_iova(d, size, limit, aligned);

	assert_non_null(a);
	return a->pfn_lo;
}

static void test_filled_top_stays_exact(void **state)
{
	struct fx *f = *state;
	const unsigned long lim = (1UL << 20) - 1, hi = (1UL << 40) - 1;
	struct iova_domain *d = &f->iovad;

	for (unsigned long i = 0; i < 10; i++)
		assert_int_equal(pfn_of(d, 1, lim, false), lim - i);
	/* a free inside the filled top is the next placement */
	free_iova(d, lim - 4);
	assert_int_equal(pfn_of(d, 1, lim, false), lim - 4);
	assert_int_equal(pfn_of(d, 1, lim, false), lim - 10);
	/* a lower limit inside the filled top, and one below it */
	assert_int_equal(pfn_of(d, 1, lim - 3, false), lim - 11);
	assert_int_equal(pfn_of(d, 1, lim - 100, false), lim - 100);
	assert_int_equal(pfn_of(d, 1, lim - 100, false), lim - 101);
	assert_int_equal(pfn_of(d, 1, lim, false), lim - 12);
	/* an aligned placement leaves a hole above it: found afterwards */
	assert_int_equal(pfn_of(d, 4, lim, true), lim - 19); /* 8-aligned */
	assert_int_equal(pfn_of(d, 1, lim, false), lim - 13);
	assert_int_equal(pfn_of(d, 1, lim, false), lim - 14);
	assert_int_equal(pfn_of(d, 1, lim, false), lim - 15);
	assert_int_equal(pfn_of(d, 1, lim, false), lim - 20);
	/* a reservation, freed (the kernel frees the range holding the pfn):
	 * free space again, the highest of it taken first */
	assert_non_null(reserve_iova(d, lim - 30, lim - 21));
	assert_int_equal(pfn_of(d, 1, lim, false), lim - 31);
	free_iova(d, lim - 25);
	assert_int_equal(pfn_of(d, 2, lim, false), lim - 22);
	/* the class above 4 GiB keeps its own */
	assert_int_equal(pfn_of(d, 1, hi, false), hi);
	assert_int_equal(pfn_of(d, 1, hi, false), hi - 1);
	free_iova(d, hi);
	assert_int_equal(pfn_of(d, 1, hi, false), hi);
	assert_int_equal(pfn_of(d, 1, lim, false), lim - 23);
	assert_int_equal(mt_validate(&d->tree), 0);
}

/* A failing non-blocking node allocation (frees park their range) when
 * set; both domains of the differential run see the same decisions. */
static bool fail_nowait;

static int decide_nowait(void *arg, uint64_t request, gfp_t gfp)
{
	(void)arg;
	(void)request;
	return fail_nowait && !(gfp & __GFP_DIRECT_RECLAIM);
}

/* Forget what the filled tops know: the next search covers the whole
 * window (reaching into the domain on purpose, as nothing else can). */
static void forget_filled_tops(struct iova_domain *d)
{
	for (unsigned int i = 0; i < 2; i++)
		d->filled_top[i] = (struct iova_filled_top){ 0, 1 };
}

/*
 * The same random allocations (sizes, alignment, several limits in both
 * classes and near ULONG_MAX), frees, reservations, parked frees and
 * drains on two domains, one of which forgets its filled tops before
 * each allocation: every placement and every failure must agree.
 */
static void test_filled_tops_match_full_search(void **state)
{
	enum { OPS = 40000, MAX_LIVE = 4096, NR_LIMITS = 6 };
	static unsigned long live[MAX_LIVE];
	const struct mt_fault_config cfg = { .mode = MT_FAULT_CALLBACK,
					     .decide = decide_nowait };
	/* no retry of a parked range while the run lasts: both domains drain
	 * only when told, so they stay in step */
	const struct iova_backoff hour = {
		.first_delay_ns = 3600000000000ull,
		.max_delay_ns = 3600000000000ull,
	};
	struct mt_allocator *cache = mt_node_cache_create(NULL), *fault[2];
	struct iova_domain d[2];
	struct prng rng = { prng_run_seed("IOVA_SEED") };
	unsigned long limits[NR_LIMITS], d32;
	unsigned int nr_live = 0;

	(void)state;
	print_message("IOVA_SEED=%llu\n", (unsigned long long)rng.state);
	assert_non_null(cache);
	for (unsigned int i = 0; i < 2; i++) {
		fault[i] = mt_fault_allocator_create(cache);
		assert_non_null(fault[i]);
		assert_int_equal(mt_fault_allocator_set(fault[i], &cfg), 0);
		assert_int_equal(init_iova_domain(&d[i], 4096, 1), 0);
		assert_int_equal(mt_set_allocator(&d[i].tree, fault[i]), 0);
		assert_int_equal(iova_domain_set_backoff(&d[i], &hour), 0);
	}
	d32 = d[0].dma_32bit_pfn;
	limits[0] = d32 - 1;
	limits[1] = d32 - 200;
	limits[2] = d32;
	limits[3] = d32 + 100;
	limits[4] = (1UL << 36) - 1;
	limits[5] = (1UL << 36) - 300;
	for (unsigned int op = 0; op < OPS; op++) {
		unsigned int k = (unsigned int)prng_below(&rng, 100);

		fail_nowait = prng_below(&rng, 4) == 0;
		if (k < 60 && nr_live < MAX_LIVE) {
			unsigned long size =
				1 + prng_below(&rng,
					       prng_below(&rng, 3) ? 8 : 300);
			unsigned long lim = limits[prng_below(&rng, NR_LIMITS)];
			bool aligned = prng_below(&rng, 2);
			struct iova *got[2];

			if (!prng_below(&rng, 50))
				lim = ULONG_MAX - prng_below(&rng, 3);
			forget_filled_tops(&d[1]);
			for (unsigned int i = 0; i < 2; i++)
				got[i] = alloc_iova(&d[i], size, lim, aligned);
			assert_int_equal(!got[0], !got[1]);
			if (got[0]) {
				assert_int_equal(got[0]->pfn_lo, got[1]->pfn_lo);
				live[nr_live++] = got[0]->pfn_lo;
			}
		} else if (k < 92 && nr_live) {
			unsigned int i = (unsigned int)prng_below(&rng, nr_live);

			for (unsigned int j = 0; j < 2; j++)
				free_iova(&d[j], live[i]);
			live[i] = live[--nr_live];
		} else if (k < 96) {
			unsigned long lim = limits[prng_below(&rng, NR_LIMITS)];
			unsigned long lo = lim - prng_below(&rng, 400);
			unsigned long hi = lo + prng_below(&rng, 20);

			fail_nowait = false;
			assert_int_equal(!reserve_iova(&d[0], lo, hi),
					 !reserve_iova(&d[1], lo, hi));
		} else {
			fail_nowait = false;
			for (unsigned int i = 0; i < 2; i++)
				assert_int_equal(
					iova_domain_flush_deferred(&d[i], NULL),
					0);
		}
		fail_nowait = false;
		if (op % 1000 == 0)
			for (unsigned int i = 0; i < 2; i++)
				assert_int_equal(mt_validate(&d[i].tree), 0);
	}
	for (unsigned int i = 0; i < 2; i++) {
		put_iova_domain(&d[i]);
		urcu_memb_barrier();
		assert_int_equal(mt_allocator_destroy(fault[i]), 0);
	}
	assert_int_equal(mt_allocator_destroy(cache), 0);
}

static void test_exhaust_32bit(void **state)
{
	struct fx *f = *state;
	unsigned long top = f->iovad.dma_32bit_pfn - 1;
	struct iova_domain d;
	struct iova *last = NULL;
	unsigned long n = 0;

	(void)f;
	/* a domain whose 32-bit space holds 64 pfns */
	assert_int_equal(init_iova_domain(&d, 4096, top - 63), 0);
	while ((last = alloc_iova(&d, 1, top, true)) != NULL) {
		n++;
		free_iova(&d, 0);  /* unknown pfn: nothing happens */
	}
	assert_int_equal(n, 64);
	/* full: fails at once, bigger sizes too; above 4 GiB still fine */
	assert_null(alloc_iova(&d, 1, top, true));
	assert_null(alloc_iova(&d, 2, top, true));
	assert_non_null(alloc_iova(&d, 1, top + 100, true));
	/* a free below 4 GiB makes room again */
	free_iova(&d, top - 10);
	last = alloc_iova(&d, 1, top, true);
	assert_non_null(last);
	assert_int_equal(last->pfn_lo, top - 10);
	put_iova_domain(&d);
}

static void test_unknown_and_double_free(void **state)
{
	struct fx *f = *state;
	struct iova *a = alloc_iova(&f->iovad, 8, 0x10000, true);
	unsigned long lo = a->pfn_lo;

	free_iova(&f->iovad, lo - 1);     /* nothing there */
	free_iova(&f->iovad, 0x20000);
	assert_ptr_equal(find_iova(&f->iovad, lo + 3), a);
	free_iova(&f->iovad, lo + 3);     /* the pfn inside frees it all */
	assert_null(find_iova(&f->iovad, lo));
	free_iova(&f->iovad, lo);         /* again: nothing */
	assert_int_equal(mt_validate(&f->iovad.tree), 0);
	a = alloc_iova(&f->iovad, 8, 0x10000, true);
	assert_int_equal(a->pfn_lo, lo);
}

/* Freed struct iovas come back as new allocations and reservations with
 * their own pfns; more frees than the domain keeps are freed for good
 * (ASan's leak check in CI sees any that put_iova_domain misses). */
static void test_struct_reuse(void **state)
{
	struct fx *f = *state;
	enum { N = 3 * IOVA_SPARE_STRUCTS };
	struct iova *a[N], *r;
	unsigned long top = 0x10000;

	for (int i = 0; i < N; i++) {
		a[i] = alloc_iova(&f->iovad, 2, top, false);
		assert_non_null(a[i]);
	}
	for (int i = 0; i < N; i++)
		__free_iova(&f->iovad, a[i]);
	assert_int_equal(f->iovad.nr_spare, IOVA_SPARE_STRUCTS);
	for (int i = 0; i < N; i++) {
		a[i] = alloc_iova(&f->iovad, 1, top, false);
		assert_non_null(a[i]);
		assert_int_equal(a[i]->pfn_lo, top - i);
		assert_int_equal(a[i]->pfn_hi, top - i);
		assert_ptr_equal(find_iova(&f->iovad, top - i), a[i]);
	}
	assert_int_equal(f->iovad.nr_spare, 0);
	free_iova(&f->iovad, top);
	r = reserve_iova(&f->iovad, 10, 20);
	assert_ptr_equal(r, a[0]); /* the spare, holding the reservation */
	assert_int_equal(r->pfn_lo, 10);
	assert_int_equal(r->pfn_hi, 20);
	assert_ptr_equal(find_iova(&f->iovad, 15), r);
	assert_int_equal(mt_validate(&f->iovad.tree), 0);
}

/* The domain keeps the space above every limit asked for under a marker
 * (the ceiling); allocations, reservations, lookups and frees above and
 * across it behave as if it were not there. */
static void test_ceiling(void **state)
{
	struct fx *f = *state;
	struct iova *a, *b, *r, *top;
	unsigned long index = 0;
	void *entry;

	a = alloc_iova(&f->iovad, 1, 1UL << 40, false);
	assert_non_null(a);
	assert_int_equal(a->pfn_lo, 1UL << 40);
	b = alloc_iova(&f->iovad, 4, (1UL << 20) - 1, true);
	assert_non_null(b);
	assert_int_equal(b->pfn_lo, (1UL << 20) - 4);
	/* nothing above the highest limit yet: lookups and frees find nothing */
	assert_null(find_iova(&f->iovad, 1UL << 50));
	free_iova(&f->iovad, 1UL << 50);
	/* a reservation far above */
	r = reserve_iova(&f->iovad, 1UL << 50, (1UL << 50) + 10);
	assert_non_null(r);
	assert_ptr_equal(find_iova(&f->iovad, (1UL << 50) + 5), r);
	/* a higher limit reaches past it, and the space in between is free */
	assert_int_equal(alloc_iova(&f->iovad, 1, (1UL << 50) + 20,
				    false)->pfn_lo,
			 (1UL << 50) + 20);
	assert_int_equal(alloc_iova(&f->iovad, 1, (1UL << 50) + 5,
				    false)->pfn_lo,
			 (1UL << 50) - 1);
	/* the very top */
	top = alloc_iova(&f->iovad, 1, ULONG_MAX, false);
	assert_non_null(top);
	assert_int_equal(top->pfn_lo, ULONG_MAX);
	assert_ptr_equal(find_iova(&f->iovad, ULONG_MAX), top);
	assert_int_equal(mt_validate(&f->iovad.tree), 0);
	/* all gone: nothing left below the ceiling */
	free_iova(&f->iovad, ULONG_MAX);
	free_iova(&f->iovad, (1UL << 50) + 20);
	free_iova(&f->iovad, (1UL << 50) - 1);
	free_iova(&f->iovad, (1UL << 50));
	__free_iova(&f->iovad, b);
	__free_iova(&f->iovad, a);
	mt_for_each(&f->iovad.tree, entry, index, f->iovad.ceiling_pfn)
		fail_msg("entry left at %lu", index);
	assert_int_equal(mt_validate(&f->iovad.tree), 0);
}

static void test_reserve_merging(void **state)
{
	struct fx *f = *state;
	struct iova *r1, *r2, *r3, *a;

	r1 = reserve_iova(&f->iovad, 100, 200);
	assert_non_null(r1);
	assert_ptr_equal(reserve_iova(&f->iovad, 120, 150), r1); /* inside */
	r2 = reserve_iova(&f->iovad, 150, 300);                  /* overlap */
	assert_ptr_equal(r2, r1);
	assert_int_equal(r1->pfn_lo, 100);
	assert_int_equal(r1->pfn_hi, 300);
	r3 = reserve_iova(&f->iovad, 400, 500);
	assert_ptr_not_equal(r3, r1);
	/* spanning both: one reservation [50, 600] */
	r2 = reserve_iova(&f->iovad, 50, 600);
	assert_non_null(r2);
	assert_int_equal(r2->pfn_lo, 50);
	assert_int_equal(r2->pfn_hi, 600);
	assert_ptr_equal(find_iova(&f->iovad, 450), r2);
	assert_ptr_equal(find_iova(&f->iovad, 75), r2);
	/* allocation never lands in it */
	a = alloc_iova(&f->iovad, 1, 600, false);
	assert_int_equal(a->pfn_lo, 49);
	/* a reservation over an allocation is refused, nothing changes */
	assert_null(reserve_iova(&f->iovad, 40, 49));
	assert_ptr_equal(find_iova(&f->iovad, 49), a);
	assert_null(find_iova(&f->iovad, 40));
	assert_null(reserve_iova(&f->iovad, 10, 5));
	assert_int_equal(mt_validate(&f->iovad.tree), 0);
}

static void test_fast_path_and_flush(void **state)
{
	struct fx *f = *state;
	struct iova_domain d;
	unsigned long pfns[8], p;

	(void)f;
	assert_int_equal(alloc_iova_fast(NULL, 1, 100, false), 0);
	/* 8 pfns in all: [93, 100] */
	assert_int_equal(init_iova_domain(&d, 4096, 93), 0);
	assert_int_equal(iova_domain_init_rcaches(&d), 0);
	assert_int_equal(iova_domain_init_rcaches(&d), -EEXIST);
	for (int i = 0; i < 8; i++) {
		pfns[i] = alloc_iova_fast(&d, 1, 100, false);
		assert_true(pfns[i] >= 93 && pfns[i] <= 100);
	}
	assert_int_equal(alloc_iova_fast(&d, 1, 100, false), 0);
	/* a hit returns the freed pfn; it stayed allocated in the tree */
	free_iova_fast(&d, pfns[3], 1);
	assert_non_null(find_iova(&d, pfns[3]));
	assert_int_equal(alloc_iova_fast(&d, 1, 100, false), pfns[3]);
	for (int i = 0; i < 8; i++)
		free_iova_fast(&d, pfns[i], 1);
	/* everything is cached: a size-2 request fails without a flush */
	assert_int_equal(alloc_iova_fast(&d, 2, 100, false), 0);
	p = alloc_iova_fast(&d, 2, 100, true);
	assert_true(p >= 93 && p <= 99);
	assert_int_equal(p % 2, 0);
	/* the cache was emptied: 6 pfns left free in the tree */
	for (int i = 0; i < 6; i++)
		assert_true(alloc_iova_fast(&d, 1, 100, false) != 0);
	assert_int_equal(alloc_iova_fast(&d, 1, 100, true), 0);
	put_iova_domain(&d);
}

static void test_fast_rounds_small_sizes(void **state)
{
	struct fx *f = *state;
	unsigned long p;
	struct iova *x;

	assert_int_equal(iova_domain_init_rcaches(&f->iovad), 0);
	p = alloc_iova_fast(&f->iovad, 3, 0xffff, false);
	x = find_iova(&f->iovad, p);
	assert_int_equal(iova_size(x), 4);
	assert_int_equal(p % 4, 0);
	/* 32 and above are not rounded, but aligned */
	p = alloc_iova_fast(&f->iovad, 33, 0xffff, false);
	x = find_iova(&f->iovad, p);
	assert_int_equal(iova_size(x), 33);
	assert_int_equal(p % 64, 0);
	free_iova_fast(&f->iovad, p, 33);
	assert_null(find_iova(&f->iovad, p));
	/* a cached pfn is handed out only under the limit asked for */
	p = alloc_iova_fast(&f->iovad, 1, 0xffff, false);
	free_iova_fast(&f->iovad, p, 1);
	assert_true(alloc_iova_fast(&f->iovad, 1, 0x1000, false) <= 0x1000);
}

/* Misuse the checked mode reported. */
struct misuses {
	unsigned int n;
	unsigned long pfn, size;
	int error;
};

static void note_misuse(void *arg, struct iova_domain *iovad,
			unsigned long pfn, unsigned long size, int error)
{
	struct misuses *m = arg;

	(void)iovad;
	m->n++;
	m->pfn = pfn;
	m->size = size;
	m->error = error;
}

#define assert_misuse(m, count, p, sz, err)            \
	do {                                           \
		assert_int_equal((m).n, (count));      \
		assert_int_equal((m).pfn, (p));        \
		assert_int_equal((m).size, (sz));      \
		assert_int_equal((m).error, (err));    \
	} while (0)

/*
 * Checked fast-free mode: a double free, a free of the wrong size or from
 * inside an allocation, and a free of what is not allocated are reported
 * and change nothing; no IOVA is handed out twice.
 */
static void test_checked_fast_free(void **state)
{
	struct misuses m = { 0 };
	struct iova_domain d;
	struct iova *r, *x;
	unsigned long p, q, a, b;

	(void)state;
	assert_int_equal(init_iova_domain(&d, 4096, 1), 0);
#ifdef NDEBUG
	assert_false(d.checked_free); /* the kernel's behaviour */
#else
	assert_true(d.checked_free);  /* debug builds check */
#endif
	assert_int_equal(iova_domain_set_checked_free(&d, true, note_misuse,
						      &m), 0);
	assert_int_equal(iova_domain_init_rcaches(&d), 0);
	/* a double free through the cache */
	p = alloc_iova_fast(&d, 1, 0xfffff, false);
	assert_true(p != 0);
	free_iova_fast(&d, p, 1);
	assert_int_equal(m.n, 0);
	free_iova_fast(&d, p, 1);
	assert_misuse(m, 1, p, 1, -ENOENT);
	/* nor may the slow free take it out from under the cache */
	free_iova(&d, p);
	assert_misuse(m, 2, p, 1, -ENOENT);
	assert_non_null(find_iova(&d, p)); /* cached: still in the tree */
	assert_int_equal(alloc_iova_fast(&d, 1, 0xfffff, false), p);
	q = alloc_iova_fast(&d, 1, 0xfffff, false);
	assert_true(q != 0 && q != p);
	/* a hit is a live allocation again: one free of it is fine */
	free_iova_fast(&d, p, 1);
	free_iova_fast(&d, q, 1);
	assert_int_equal(m.n, 2);
	/* the wrong size, from inside, and what is not allocated */
	a = alloc_iova_fast(&d, 4, 0xfffff, false);
	free_iova_fast(&d, a, 8);
	assert_misuse(m, 3, a, 8, -EINVAL);
	free_iova_fast(&d, a + 1, 4);
	assert_misuse(m, 4, a + 1, 4, -EINVAL);
	free_iova_fast(&d, 0x1234, 1);
	assert_misuse(m, 5, 0x1234, 1, -ENOENT);
	x = find_iova(&d, a);
	assert_non_null(x);
	assert_int_equal(x->pfn_lo, a);
	assert_int_equal(iova_size(x), 4);
	free_iova_fast(&d, a, 3); /* 3 is what alloc_iova_fast made 4 */
	assert_int_equal(m.n, 5);
	/* sizes above the caches: checked, then freed in the tree */
	b = alloc_iova_fast(&d, 64, 0xfffff, false);
	free_iova_fast(&d, b, 32);
	assert_misuse(m, 6, b, 32, -EINVAL);
	assert_non_null(find_iova(&d, b));
	free_iova_fast(&d, b, 64);
	assert_null(find_iova(&d, b));
	free_iova_fast(&d, b, 64);
	assert_misuse(m, 7, b, 64, -ENOENT);
	/* a reservation is not an allocation */
	r = reserve_iova(&d, 0x5000, 0x5000);
	assert_non_null(r);
	free_iova_fast(&d, 0x5000, 1);
	assert_misuse(m, 8, 0x5000, 1, -ENOENT);
	assert_ptr_equal(find_iova(&d, 0x5000), r);
	/* the cache gives its IOVAs back to the tree */
	assert_int_equal(iova_domain_flush_rcaches(&d), 0);
	assert_null(find_iova(&d, p));
	assert_null(find_iova(&d, q));
	assert_null(find_iova(&d, a));
	assert_int_equal(mt_validate(&d.tree), 0);
	assert_int_equal(m.n, 8);
	/* chosen before the first allocation only */
	assert_int_equal(iova_domain_set_checked_free(&d, false, NULL, NULL),
			 -EBUSY);
	assert_true(d.checked_free);
	put_iova_domain(&d);
	memset(&d, 0, sizeof(d));
	assert_int_equal(iova_domain_set_checked_free(&d, true, NULL, NULL),
			 -EINVAL);
}

/* Unchecked (release builds' default), a double free is the kernel's:
 * the IOVA is cached twice and handed out twice. */
static void test_unchecked_fast_free_is_the_kernels(void **state)
{
	struct iova_domain d;
	unsigned long p;

	(void)state;
	assert_int_equal(init_iova_domain(&d, 4096, 1), 0);
	assert_int_equal(iova_domain_set_checked_free(&d, false, NULL, NULL),
			 0);
	assert_int_equal(iova_domain_init_rcaches(&d), 0);
	p = alloc_iova_fast(&d, 1, 0xfffff, false);
	free_iova_fast(&d, p, 1);
	free_iova_fast(&d, p, 1);
	assert_int_equal(alloc_iova_fast(&d, 1, 0xfffff, false), p);
	assert_int_equal(alloc_iova_fast(&d, 1, 0xfffff, false), p);
	put_iova_domain(&d);
}

/* The public flush: cached IOVAs go back to the tree. */
static void test_flush_rcaches(void **state)
{
	struct fx *f = *state;
	struct iova_domain d;
	unsigned long p;

	assert_int_equal(iova_domain_flush_rcaches(&f->iovad), 0); /* none */
	assert_int_equal(iova_domain_init_rcaches(&f->iovad), 0);
	p = alloc_iova_fast(&f->iovad, 8, 0xfffff, false);
	free_iova_fast(&f->iovad, p, 8);
	assert_non_null(find_iova(&f->iovad, p));
	assert_int_equal(iova_domain_flush_rcaches(&f->iovad), 0);
	assert_null(find_iova(&f->iovad, p));
	assert_int_equal(mt_validate(&f->iovad.tree), 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(iova_domain_flush_rcaches(&d), -EINVAL);
	assert_int_equal(iova_domain_flush_rcaches(NULL), -EINVAL);
}

/* The kernel's initial max32_alloc_size: all of the 4 GiB under a 32-bit
 * limit fails even on an empty domain that starts at pfn 0; one granule
 * less fits. */
static void test_whole_4g_under_32bit_limit(void **state)
{
	struct iova_domain d;
	struct iova *x;

	(void)state;
	assert_int_equal(init_iova_domain(&d, 4096, 0), 0);
	assert_null(alloc_iova(&d, d.dma_32bit_pfn, d.dma_32bit_pfn - 1,
			       false));
	assert_null(alloc_iova(&d, d.dma_32bit_pfn, d.dma_32bit_pfn, false));
	x = alloc_iova(&d, d.dma_32bit_pfn - 1, d.dma_32bit_pfn - 1, false);
	assert_non_null(x);
	assert_int_equal(x->pfn_lo, 1); /* top-down: as high as it goes */
	assert_int_equal(x->pfn_hi, d.dma_32bit_pfn - 1);
	put_iova_domain(&d);
}

/* A domain on a node allocator of its own: once put_iova_domain returns,
 * every node is back and the allocator can be destroyed, with no RCU
 * barrier of the caller's. */
static void test_put_returns_every_node(void **state)
{
	struct mt_allocator *a = mt_node_cache_create(NULL);
	struct mt_alloc_stats st;
	struct iova_domain d;
	struct iova *got[300];

	(void)state;
	assert_non_null(a);
	assert_int_equal(init_iova_domain(&d, 4096, 1), 0);
	assert_int_equal(mt_set_allocator(&d.tree, a), 0);
	assert_int_equal(iova_domain_init_rcaches(&d), 0);
	for (int i = 0; i < 300; i++) {
		got[i] = alloc_iova(&d, 1 + i % 5, 0xfffff, false);
		assert_non_null(got[i]);
	}
	for (int i = 0; i < 300; i += 2)
		__free_iova(&d, got[i]);
	free_iova_fast(&d, alloc_iova_fast(&d, 1, 0xfffff, false), 1);
	mt_allocator_stats(a, &st);
	assert_true(st.live > 1);
	put_iova_domain(&d);
	mt_allocator_stats(a, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(mt_allocator_destroy(a), 0);
}

static void test_bad_input(void **state)
{
	struct fx *f = *state;
	struct iova_domain d;

	(void)f;
	memset(&d, 0, sizeof(d));
	assert_int_equal(init_iova_domain(NULL, 4096, 1), -EINVAL);
	assert_int_equal(init_iova_domain(&d, 0, 1), -EINVAL);
	assert_int_equal(init_iova_domain(&d, 3000, 1), -EINVAL);
	/* an uninitialized domain refuses everything, crashes on nothing */
	assert_null(alloc_iova(&d, 1, 100, false));
	assert_null(find_iova(&d, 1));
	assert_null(reserve_iova(&d, 1, 2));
	assert_int_equal(alloc_iova_fast(&d, 1, 100, true), 0);
	assert_int_equal(iova_domain_init_rcaches(&d), -EINVAL);
	free_iova(&d, 1);
	free_iova_fast(&d, 1, 1);
	put_iova_domain(&d);
	/* size 0 */
	assert_null(alloc_iova(&f->iovad, 0, 100, false));
	assert_int_equal(alloc_iova_fast(&f->iovad, 0, 100, false), 0);
	__free_iova(&f->iovad, NULL);
	/* a limit below start_pfn */
	assert_null(alloc_iova(&f->iovad, 1, 0, false));
	assert_true(mtree_empty(&f->iovad.tree));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_helpers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_top_down_inclusive_limit,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_alignment, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_start_pfn_and_exhaustion,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_filled_top_stays_exact,
						setup, teardown),
		cmocka_unit_test(test_filled_tops_match_full_search),
		cmocka_unit_test_setup_teardown(test_exhaust_32bit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unknown_and_double_free,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ceiling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_struct_reuse, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reserve_merging, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fast_path_and_flush, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fast_rounds_small_sizes,
						setup, teardown),
		cmocka_unit_test(test_put_returns_every_node),
		cmocka_unit_test(test_checked_fast_free),
		cmocka_unit_test(test_unchecked_fast_free_is_the_kernels),
		cmocka_unit_test_setup_teardown(test_flush_rcaches, setup,
						teardown),
		cmocka_unit_test(test_whole_4g_under_32bit_limit),
		cmocka_unit_test_setup_teardown(test_bad_input, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("iova_kernel_api", tests, NULL,
					   NULL);
}

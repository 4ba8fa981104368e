/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The IOVA space API: windows with holes, reserved ranges, per-call
 * limits and alignment, both directions, exact placement, lookup,
 * iteration, the size cache (and double frees through it), stats, and a
 * table of bad input that must change nothing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include <libiova/iova_space.h>

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define GiB (1024 * MiB)

/* A typical AMD host: HyperTransport hole below 1 TiB, MSI at 0xfee00000
 * (between the first two windows here), 48-bit width. */
static const struct iova_range amd_windows[] = {
	{ 0xfef00000ULL, 0xfcffffffffULL },
	{ 0x0ULL, 0xfedfffffULL },
	{ 0x10000000000ULL, 0xffffffffffffULL },
};
static const struct iova_range amd_reserved[] = {
	{ 0xfee00000ULL, 0xfeefffffULL }, /* MSI */
	{ 0x80000000ULL, 0x8fffffffULL }, /* a range the driver keeps */
};

struct fx {
	struct iova_space *s;
	struct mt_allocator *cache;
};

static int setup(void **state)
{
	static struct fx f;
	struct iova_space_config c = {
		.windows = amd_windows, .nr_windows = 3,
		.reserved = amd_reserved, .nr_reserved = 2,
		.address_width = 48,
	};

	f.cache = mt_node_cache_create(NULL);
	c.node_allocator = f.cache;
	assert_int_equal(iova_space_create(&c, &f.s), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	struct mt_alloc_stats st;

	iova_space_destroy(f->s);
	urcu_memb_barrier();
	mt_allocator_stats(f->cache, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(mt_allocator_destroy(f->cache), 0);
	return 0;
}

static void test_two_devices_two_masks(void **state)
{
	struct fx *f = *state;
	uint64_t a, b, c, d;
	struct iova_range r;

	/* 32-bit device: the top of the second window, below 4 GiB */
	assert_int_equal(iova_space_alloc(f->s, 4096, 0, 0, 0xffffffffULL, 0,
					  &a), 0);
	assert_int_equal(a, 0xfffff000ULL);
	/* 48-bit device: the top of the address width */
	assert_int_equal(iova_space_alloc(f->s, 8192, 0, 0, UINT64_MAX, 0,
					  &b), 0);
	assert_int_equal(b, 0xffffffffe000ULL);
	/* 2 MiB aligned, bytes rounded up to granules */
	assert_int_equal(iova_space_alloc(f->s, 3 * MiB + 1, 2 * MiB, 0,
					  0xffffffffULL, 0, &c), 0);
	assert_int_equal(c % (2 * MiB), 0);
	assert_int_equal(iova_space_lookup(f->s, c + 3 * MiB, &r), 0);
	assert_int_equal(r.start, c);
	assert_int_equal(r.last, c + 3 * MiB + 4095);
	assert_true(r.last < a);
	/* bottom-up: IOVA 0 is never handed out */
	assert_int_equal(iova_space_alloc(f->s, 4096, 0, 0, UINT64_MAX,
					  IOVA_ALLOC_BOTTOM_UP, &d), 0);
	assert_int_equal(d, 4096);
	/* per-call window inside the reserved range: nothing there */
	assert_int_equal(iova_space_alloc(f->s, 4096, 0, 0x80000000ULL,
					  0x8fffffffULL, 0, &d), -ENOSPC);
	/* a window across the MSI hole: only the valid parts are used,
	 * 512 KiB below it and 1 MiB above, or the other way round */
	assert_int_equal(iova_space_alloc(f->s, 1 * MiB, 0, 0xfed80000ULL,
					  0xfeffffffULL, 0, &d), 0);
	assert_int_equal(d, 0xfef00000ULL);
	assert_int_equal(iova_space_alloc(f->s, 1 * MiB, 0, 0xfed00000ULL,
					  0xfef7ffffULL, 0, &d), 0);
	assert_int_equal(d, 0xfed00000ULL);
	assert_int_equal(iova_space_alloc(f->s, 1 * MiB, 0, 0xfed00000ULL,
					  0xfeffffffULL, 0, &d), -ENOSPC);
}

static void test_alloc_at_free_lookup(void **state)
{
	struct fx *f = *state;
	struct iova_range r;
	struct iova_space_stats st;

	assert_int_equal(iova_space_alloc_at(f->s, 1 * GiB, 64 * KiB), 0);
	assert_int_equal(iova_space_alloc_at(f->s, 1 * GiB + 60 * KiB, 4096),
			 -EEXIST);
	assert_int_equal(iova_space_alloc_at(f->s, 0x80001000ULL, 4096),
			 -EEXIST);  /* reserved */
	assert_int_equal(iova_space_alloc_at(f->s, 0xfe00000000ULL, 4096),
			 -ERANGE);  /* HyperTransport hole */
	assert_int_equal(iova_space_alloc_at(f->s, 0xfed00000ULL, 2 * MiB),
			 -ERANGE);  /* runs out of its window */
	assert_int_equal(iova_space_alloc_at(f->s, 0, 4096), -ERANGE);
	assert_int_equal(iova_space_lookup(f->s, 1 * GiB + 5000, &r), 0);
	assert_int_equal(r.start, 1 * GiB);
	assert_int_equal(r.last, 1 * GiB + 64 * KiB - 1);
	assert_int_equal(iova_space_lookup(f->s, 1 * GiB + 64 * KiB, &r),
			 -ENOENT);
	assert_int_equal(iova_space_lookup(f->s, 0x80000000ULL, &r), -ENOENT);
	assert_int_equal(iova_space_free(f->s, 1 * GiB + 4096), -EINVAL);
	assert_int_equal(iova_space_free(f->s, 1 * GiB + 1), -EINVAL);
	assert_int_equal(iova_space_free(f->s, 0xfe00000000ULL), -ERANGE);
	assert_int_equal(iova_space_free(f->s, 0x80000000ULL), -ENOENT);
	iova_space_stats(f->s, &st);
	assert_int_equal(st.allocations, 1);
	assert_int_equal(st.bytes_allocated, 64 * KiB);
	assert_int_equal(iova_space_free(f->s, 1 * GiB), 0);
	assert_int_equal(iova_space_free(f->s, 1 * GiB), -ENOENT);
	assert_int_equal(iova_space_lookup(f->s, 1 * GiB, &r), -ENOENT);
	iova_space_stats(f->s, &st);
	assert_int_equal(st.allocations, 0);
	assert_int_equal(st.bytes_allocated, 0);
	/* the range is free again, even though it sat in the cache */
	assert_int_equal(iova_space_alloc_at(f->s, 1 * GiB, 64 * KiB), 0);
}

static void test_cache_hits_and_double_free(void **state)
{
	struct fx *f = *state;
	struct iova_space_stats st;
	uint64_t a, b;

	assert_int_equal(iova_space_alloc(f->s, 16 * KiB, 0, 0, UINT64_MAX, 0,
					  &a), 0);
	assert_int_equal(iova_space_free(f->s, a), 0);
	iova_space_stats(f->s, &st);
	assert_int_equal(st.cached, 1);
	/* a second free of a cached allocation is caught */
	assert_int_equal(iova_space_free(f->s, a), -ENOENT);
	assert_int_equal(iova_space_alloc(f->s, 16 * KiB, 0, 0, UINT64_MAX, 0,
					  &b), 0);
	assert_int_equal(b, a);
	iova_space_stats(f->s, &st);
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.cached, 0);
	/* a cached range outside the caller's limits is not handed out */
	assert_int_equal(iova_space_free(f->s, b), 0);
	assert_int_equal(iova_space_alloc(f->s, 16 * KiB, 0, 0, 0xffffffffULL,
					  0, &b), 0);
	assert_true(b <= 0xffffffffULL);
	assert_int_equal(iova_space_flush_cache(f->s), 0);
	iova_space_stats(f->s, &st);
	assert_int_equal(st.cached, 0);
	assert_int_equal(st.allocations, 1);
}

/* Which requests count in cache_hits / cache_misses, and which frees fill
 * the caches, as iova_space_stats documents. */
static void test_cacheable_requests(void **state)
{
	struct iova_space_config c = { .address_width = 40 };
	struct iova_space_stats st;
	struct iova_space *s;
	uint64_t a, b, x;

	(void)state;
	assert_int_equal(iova_space_create(&c, &s), 0);
	/* not cacheable: bottom-up, over-aligned, not a power of two, too
	 * large (64 granules > 32) */
	assert_int_equal(iova_space_alloc(s, 4 * 4096, 16 * KiB, 0, UINT64_MAX,
					  IOVA_ALLOC_BOTTOM_UP, &a), 0);
	assert_int_equal(a, 16 * KiB);
	assert_int_equal(iova_space_alloc(s, 4096, 64 * KiB, 0, UINT64_MAX, 0,
					  &b), 0);
	assert_int_equal(iova_space_alloc(s, 3 * 4096, 0, 0, UINT64_MAX, 0,
					  &x), 0);
	assert_int_equal(iova_space_alloc(s, 64 * 4096, 0, 0, UINT64_MAX, 0,
					  &x), 0);
	iova_space_stats(s, &st);
	assert_int_equal(st.cache_hits, 0);
	assert_int_equal(st.cache_misses, 0);
	/* cacheable: top-down, a power of two, aligned at most to its size */
	assert_int_equal(iova_space_alloc(s, 4 * 4096, 16 * KiB, 0, UINT64_MAX,
					  0, &x), 0);
	iova_space_stats(s, &st);
	assert_int_equal(st.cache_misses, 1);
	/* the bottom-up and the over-aligned allocation fill the caches */
	assert_int_equal(iova_space_free(s, a), 0);
	assert_int_equal(iova_space_free(s, b), 0);
	iova_space_stats(s, &st);
	assert_int_equal(st.cached, 2);
	/* and a cacheable request takes from them */
	assert_int_equal(iova_space_alloc(s, 4 * 4096, 0, 0, UINT64_MAX, 0,
					  &x), 0);
	assert_int_equal(x, a);
	iova_space_stats(s, &st);
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.cache_misses, 1);
	iova_space_destroy(s);
}

static int count_range(void *arg, const struct iova_range *r)
{
	uint64_t *sum = arg;

	sum[0]++;
	sum[1] += r->last - r->start + 1;
	if (sum[2] && r->start <= sum[2])
		sum[3]++;  /* out of order */
	sum[2] = r->last;
	return 0;
}

static void test_iteration_and_windows(void **state)
{
	struct fx *f = *state;
	uint64_t alloc[4] = { 0 }, holes[4] = { 0 }, iova, largest;
	struct iova_range w;

	for (int i = 0; i < 100; i++)
		assert_int_equal(iova_space_alloc(f->s, 4096 * (1 + i % 3), 0,
						  0, 0xffffffffULL, 0, &iova),
				 0);
	assert_int_equal(iova_space_for_each(f->s, count_range, alloc), 0);
	assert_int_equal(alloc[0], 100);
	assert_int_equal(alloc[1], 4096ULL * (34 * 1 + 33 * 2 + 33 * 3));
	assert_int_equal(alloc[3], 0);
	/* holes + allocations + reserved = the windows below 4 GiB */
	assert_int_equal(iova_space_for_each_hole(f->s, 0, 0xffffffffULL,
						  count_range, holes), 0);
	assert_int_equal(holes[3], 0);
	assert_int_equal(holes[1] + alloc[1] + 256 * MiB + 4096,
			 (0xfedfffffULL + 1) + (0xffffffffULL - 0xfef00000ULL +
						1));
	/* windows in address order, largest holes */
	assert_int_equal(iova_space_window(f->s, 0, &w, &largest), 0);
	assert_int_equal(w.start, 0);
	assert_int_equal(largest, 0x80000000ULL - 4096);
	assert_int_equal(iova_space_window(f->s, 2, &w, &largest), 0);
	assert_int_equal(largest, 0xffffffffffffULL - 0x10000000000ULL + 1);
	assert_int_equal(iova_space_window(f->s, 3, &w, &largest), -EINVAL);
}

/* Up to 8 ranges an iterator reported, in order. */
struct seen {
	unsigned int n;
	struct iova_range r[8];
};

static int note_range(void *arg, const struct iova_range *r)
{
	struct seen *seen = arg;

	if (seen->n < 8)
		seen->r[seen->n] = *r;
	seen->n++;
	return 0;
}

#define assert_range(range, s, l)                                  \
	do {                                                       \
		assert_int_equal((range).start, (s));              \
		assert_int_equal((range).last, (l));               \
	} while (0)

/*
 * Windows that touch are one window: merged at creation, so alloc (which
 * may span the seam), alloc_at, the holes and the window info agree.  A
 * reservation across the seam and one that touches a window's edge from
 * outside change nothing about that.
 */
static void test_touching_windows_merge(void **state)
{
	/* unsorted; B touches A's end, C stands apart, D touches C's start */
	struct iova_range win[] = {
		{ 0x20000, 0x2ffff }, /* B */
		{ 0x60000, 0x6ffff }, /* C */
		{ 0x10000, 0x1ffff }, /* A */
		{ 0x70000, 0x77fff }, /* D */
	};
	struct iova_range res[] = {
		{ 0x1f000, 0x20fff }, /* across the A|B seam */
		{ 0x30000, 0x3ffff }, /* just above A+B, outside any window */
	};
	struct iova_space_config c = {
		.windows = win, .nr_windows = 4,
		.reserved = res, .nr_reserved = 2,
		.flags = IOVA_SPACE_NO_CACHE,
	};
	struct iova_space_stats st;
	struct iova_range w;
	struct seen seen = { 0 };
	struct iova_space *s;
	uint64_t largest, iova;

	(void)state;
	assert_int_equal(iova_space_create(&c, &s), 0);
	assert_int_equal(iova_space_stats(s, &st), 0);
	assert_int_equal(st.nr_windows, 2);
	assert_int_equal(iova_space_window(s, 0, &w, &largest), 0);
	assert_range(w, 0x10000, 0x2ffff);
	assert_int_equal(largest, 0xf000); /* each side of the reservation */
	assert_int_equal(iova_space_window(s, 1, &w, &largest), 0);
	assert_range(w, 0x60000, 0x77fff);
	assert_int_equal(largest, 0x18000); /* C and D as one hole */
	assert_int_equal(iova_space_window(s, 2, &w, &largest), -EINVAL);
	assert_int_equal(iova_space_for_each_hole(s, 0, UINT64_MAX, note_range,
						  &seen), 0);
	assert_int_equal(seen.n, 3);
	assert_range(seen.r[0], 0x10000, 0x1efff);
	assert_range(seen.r[1], 0x21000, 0x2ffff);
	assert_range(seen.r[2], 0x60000, 0x77fff);
	/* the largest hole is allocatable by both calls, across the C|D
	 * seam, and nothing larger is */
	assert_int_equal(iova_space_alloc(s, 0x18001, 0, 0, UINT64_MAX, 0,
					  &iova), -ENOSPC);
	assert_int_equal(iova_space_alloc(s, 0x18000, 0, 0, UINT64_MAX, 0,
					  &iova), 0);
	assert_int_equal(iova, 0x60000);
	assert_int_equal(iova_space_free(s, iova), 0);
	assert_int_equal(iova_space_alloc_at(s, 0x6f000, 0x2000), 0);
	assert_int_equal(iova_space_free(s, 0x6f000), 0);
	assert_int_equal(iova_space_alloc_at(s, 0x60000, 0x18000), 0);
	assert_int_equal(iova_space_free(s, 0x60000), 0);
	assert_int_equal(iova_space_alloc_at(s, 0x60000, 0x19000), -ERANGE);
	/* at the edges the reservations touch */
	assert_int_equal(iova_space_alloc_at(s, 0x1e000, 0x1000), 0);
	assert_int_equal(iova_space_alloc_at(s, 0x1f000, 0x1000), -EEXIST);
	assert_int_equal(iova_space_alloc_at(s, 0x20000, 0x1000), -EEXIST);
	assert_int_equal(iova_space_alloc_at(s, 0x21000, 0x1000), 0);
	assert_int_equal(iova_space_alloc_at(s, 0x2f000, 0x1000), 0);
	assert_int_equal(iova_space_alloc_at(s, 0x2f000, 0x2000), -ERANGE);
	assert_int_equal(iova_space_alloc_at(s, 0x30000, 0x1000), -ERANGE);
	assert_int_equal(iova_space_free(s, 0x30000), -ERANGE);
	/* the span of A and B with the seam reserved: no hole that large */
	assert_int_equal(iova_space_alloc(s, 0x10000, 0, 0, 0x3ffff, 0, &iova),
			 -ENOSPC);
	iova_space_destroy(s);
}

/*
 * The iterators at granule edges: every hole that meets [min, max] is
 * reported, clipped to the byte, also when it meets it in part of a
 * granule; lookup finds an allocation from any of its bytes and nothing
 * from the bytes beside it.
 */
static void test_hole_and_lookup_edges(void **state)
{
	struct iova_range win = { 0x10000, 0x1ffff };
	struct iova_space_config c = { .windows = &win, .nr_windows = 1,
				       .address_width = 20 };
	struct seen seen;
	struct iova_range r;
	struct iova_space *s;

	(void)state;
	assert_int_equal(iova_space_create(&c, &s), 0);
	assert_int_equal(iova_space_alloc_at(s, 0x12000, 0x1000), 0);
	/* one hole ends at 0x11fff, the next starts at 0x13000 */
	seen = (struct seen){ 0 };
	assert_int_equal(iova_space_for_each_hole(s, 0x11800, 0x13800,
						  note_range, &seen), 0);
	assert_int_equal(seen.n, 2);
	assert_range(seen.r[0], 0x11800, 0x11fff);
	assert_range(seen.r[1], 0x13000, 0x13800);
	/* inside one granule of a hole: that part of it */
	seen = (struct seen){ 0 };
	assert_int_equal(iova_space_for_each_hole(s, 0x13123, 0x13123,
						  note_range, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_range(seen.r[0], 0x13123, 0x13123);
	seen = (struct seen){ 0 };
	assert_int_equal(iova_space_for_each_hole(s, 0x13ff0, 0x14010,
						  note_range, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_range(seen.r[0], 0x13ff0, 0x14010);
	/* inside the allocation, or outside the window: nothing */
	seen = (struct seen){ 0 };
	assert_int_equal(iova_space_for_each_hole(s, 0x12001, 0x12ffe,
						  note_range, &seen), 0);
	assert_int_equal(iova_space_for_each_hole(s, 0, 0xffff, note_range,
						  &seen), 0);
	assert_int_equal(iova_space_for_each_hole(s, 0x20000, UINT64_MAX,
						  note_range, &seen), 0);
	assert_int_equal(seen.n, 0);
	/* the window's last byte, and past the address width */
	assert_int_equal(iova_space_for_each_hole(s, 0x1fffe, UINT64_MAX,
						  note_range, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_range(seen.r[0], 0x1fffe, 0x1ffff);
	/* lookup from the first and last byte, not from the ones beside */
	assert_int_equal(iova_space_lookup(s, 0x12000, &r), 0);
	assert_range(r, 0x12000, 0x12fff);
	assert_int_equal(iova_space_lookup(s, 0x12fff, &r), 0);
	assert_range(r, 0x12000, 0x12fff);
	assert_int_equal(iova_space_lookup(s, 0x11fff, &r), -ENOENT);
	assert_int_equal(iova_space_lookup(s, 0x13000, &r), -ENOENT);
	assert_int_equal(iova_space_lookup(s, UINT64_MAX, &r), -ENOENT);
	/* for_each reports the allocation whole */
	seen = (struct seen){ 0 };
	assert_int_equal(iova_space_for_each(s, note_range, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_range(seen.r[0], 0x12000, 0x12fff);
	iova_space_destroy(s);
}

/* A space on a node allocator of its own: once iova_space_destroy
 * returns, every node is back and the allocator can be destroyed, with
 * no RCU barrier of the caller's. */
static void test_destroy_returns_every_node(void **state)
{
	struct iova_space_config c = { .address_width = 48 };
	struct mt_alloc_stats st;
	struct iova_space *s;
	uint64_t iova[300];

	(void)state;
	c.node_allocator = mt_node_cache_create(NULL);
	assert_non_null(c.node_allocator);
	assert_int_equal(iova_space_create(&c, &s), 0);
	/* enough entries for a tree of several levels, and frees in RCU
	 * mode that retire nodes */
	for (int i = 0; i < 300; i++)
		assert_int_equal(iova_space_alloc(s, 4096 * (1 + i % 5), 0, 0,
						  UINT64_MAX, 0, &iova[i]), 0);
	for (int i = 0; i < 300; i += 2)
		assert_int_equal(iova_space_free(s, iova[i]), 0);
	mt_allocator_stats(c.node_allocator, &st);
	assert_true(st.live > 1);
	iova_space_destroy(s);
	mt_allocator_stats(c.node_allocator, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(mt_allocator_destroy(c.node_allocator), 0);
}

static void test_exhaustion_small_space(void **state)
{
	struct iova_range win = { 0x10000, 0x1ffff }; /* 16 pages */
	struct iova_space_config c = { .windows = &win, .nr_windows = 1 };
	struct iova_space *s;
	uint64_t iova, got[16];

	(void)state;
	assert_int_equal(iova_space_create(&c, &s), 0);
	for (int i = 0; i < 16; i++)
		assert_int_equal(iova_space_alloc(s, 4096, 0, 0, UINT64_MAX, 0,
						  &got[i]), 0);
	assert_int_equal(iova_space_alloc(s, 4096, 0, 0, UINT64_MAX, 0,
					  &iova), -ENOSPC);
	/* free 8 single pages into the cache; an 8-page request flushes
	 * the cache and still finds no 8 contiguous pages (every other) */
	for (int i = 0; i < 16; i += 2)
		assert_int_equal(iova_space_free(s, got[i]), 0);
	assert_int_equal(iova_space_alloc(s, 2 * 4096, 0, 0, UINT64_MAX, 0,
					  &iova), -ENOSPC);
	for (int i = 1; i < 16; i += 2)
		assert_int_equal(iova_space_free(s, got[i]), 0);
	assert_int_equal(iova_space_alloc(s, 16 * 4096, 0, 0, UINT64_MAX, 0,
					  &iova), 0);
	assert_int_equal(iova, 0x10000);
	iova_space_destroy(s);
}

/* Bad input: a clear error, and nothing changed. */
static void test_bad_input(void **state)
{
	struct fx *f = *state;
	struct iova_range overlap[] = { { 0, 0x1ffff }, { 0x10000, 0x2ffff } };
	struct iova_range empty[] = { { 0x2000, 0x1000 } };
	struct iova_range misaligned[] = { { 0x1000, 0x1800 } };
	struct iova_range wide[] = { { 0x1000, 1ULL << 40 } };
	struct iova_space_config bad[] = {
		{ .granule = 3000 },
		{ .windows = overlap, .nr_windows = 2 },
		{ .windows = empty, .nr_windows = 1 },
		{ .windows = misaligned, .nr_windows = 1 },
		{ .windows = wide, .nr_windows = 1, .address_width = 39 },
		{ .address_width = 65 },
		{ .reserved = empty, .nr_reserved = 1 },
		{ .nr_windows = 1 },
		{ .cache_max_granules = 24 },
		{ .flags = 0x80 },
	};
	struct iova_space_stats before, after;
	struct iova_space *s = NULL;
	uint64_t iova = 42;

	/* compared bytewise below: padding included */
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(iova_space_create(&bad[i], &s), -EINVAL);
		assert_null(s);
	}
	assert_int_equal(iova_space_create(NULL, &s), -EINVAL);
	iova_space_stats(f->s, &before);
	assert_int_equal(iova_space_alloc(f->s, 0, 0, 0, UINT64_MAX, 0, &iova),
			 -EINVAL);
	assert_int_equal(iova_space_alloc(f->s, 4096, 3 * 4096, 0, UINT64_MAX,
					  0, &iova), -EINVAL);
	assert_int_equal(iova_space_alloc(f->s, 4096, 0, 10, 5, 0, &iova),
			 -EINVAL);
	assert_int_equal(iova_space_alloc(f->s, 4096, 0, 0, UINT64_MAX, 0x10,
					  &iova), -EINVAL);
	assert_int_equal(iova_space_alloc(f->s, UINT64_MAX, 0, 0, UINT64_MAX,
					  0, &iova), -EINVAL);
	assert_int_equal(iova_space_alloc(f->s, 4096, 0, 0, UINT64_MAX, 0,
					  NULL), -EINVAL);
	assert_int_equal(iova_space_alloc(NULL, 4096, 0, 0, UINT64_MAX, 0,
					  &iova), -EINVAL);
	assert_int_equal(iova, 42);
	assert_int_equal(iova_space_alloc_at(f->s, 0x1001, 4096), -EINVAL);
	assert_int_equal(iova_space_alloc_at(f->s, 0x1000, 0), -EINVAL);
	assert_int_equal(iova_space_alloc_at(f->s, 0xfffffffff000ULL,
					     UINT64_MAX - 0x1000), -EINVAL);
	assert_int_equal(iova_space_free(NULL, 0x1000), -EINVAL);
	assert_int_equal(iova_space_lookup(f->s, 0x1000, NULL), -EINVAL);
	assert_int_equal(iova_space_for_each(f->s, NULL, NULL), -EINVAL);
	assert_int_equal(iova_space_for_each_hole(f->s, 5, 1, count_range,
						  NULL), -EINVAL);
	assert_int_equal(iova_space_stats(NULL, &after), -EINVAL);
	iova_space_stats(f->s, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	iova_space_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_devices_two_masks,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_alloc_at_free_lookup,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_hits_and_double_free,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_iteration_and_windows,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion_small_space,
						setup, teardown),
		cmocka_unit_test(test_touching_windows_merge),
		cmocka_unit_test(test_hole_and_lookup_edges),
		cmocka_unit_test(test_destroy_returns_every_node),
		cmocka_unit_test(test_cacheable_requests),
		cmocka_unit_test_setup_teardown(test_bad_input, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("iova_space", tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Page-size-aware placement in iova_vfio_map against the fake container
 * (test_vfio_fake.c), whose IOMMU has 4 KiB, 2 MiB and 1 GiB pages: the
 * IOVA is congruent to the buffer's address modulo the largest page size
 * that fits in the buffer and has a hole in [min, max], then the next
 * smaller, then any placement; IOVA_VFIO_ANY_OFFSET turns it off.
 * Made-up virtual addresses: the library never touches the memory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <libiova/iova_vfio.h>

#include "test_vfio_fake.h"

#define RW (IOVA_VFIO_READ | IOVA_VFIO_WRITE)
#define VA(x) ((void *)(uintptr_t)(x))
#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

static uint64_t map_in(struct iova_vfio *v, uint64_t va, uint64_t size,
		       uint64_t align, uint64_t min, uint64_t max,
		       unsigned int flags)
{
	uint64_t iova = 0;

	assert_int_equal(iova_vfio_map(v, VA(va), size, align, min, max,
				       flags, &iova), 0);
	assert_true(iova >= min && iova + size - 1 <= max);
	return iova;
}

static void test_largest_page_first(void **state)
{
	struct fake f;
	struct iova_vfio *v;
	uint64_t iova;

	(void)state;
	x86_host(&f);
	v = open_fake(&f);
	/* 1 GiB-aligned, 1 GiB: on a 1 GiB IOVA boundary */
	iova = map_in(v, GiB(0x7f00), GiB(1), 0, 0, UINT64_MAX, RW);
	assert_int_equal(iova % GiB(1), 0);
	/* 2 MiB-aligned, 6 MiB: a 2 MiB boundary (1 GiB does not fit) */
	iova = map_in(v, GiB(0x7f10), MiB(6), 0, 0, UINT64_MAX, RW);
	assert_int_equal(iova % MiB(2), 0);
	/* 12 KiB into a 2 MiB page, 4 MiB long: the same 12 KiB into one,
	 * found by walking the holes */
	iova = map_in(v, GiB(0x7f20) + KiB(12), MiB(4), 0, 0, UINT64_MAX, RW);
	assert_int_equal(iova % MiB(2), KiB(12));
	/* 2 MiB + 8 KiB into a 1 GiB page, 1 GiB + 1 MiB long: congruent
	 * modulo 1 GiB */
	iova = map_in(v, GiB(0x7f30) + MiB(2) + KiB(8), GiB(1) + MiB(1), 0, 0,
		      UINT64_MAX, RW);
	assert_int_equal(iova % GiB(1), MiB(2) + KiB(8));
	/* smaller than any large page: the plain top-down placement */
	iova = map_in(v, GiB(0x7f40), MiB(1), 0, MiB(512), MiB(520) - 1, RW);
	assert_int_equal(iova, MiB(519));
	iova_vfio_close(v);
}

static void test_fallback_order(void **state)
{
	struct fake f;
	struct iova_vfio *v;
	uint64_t iova, min, max;

	(void)state;
	x86_host(&f);
	v = open_fake(&f);
	/* no 1 GiB boundary with room for 1 GiB in [min, max]: 2 MiB */
	min = GiB(2) + MiB(2);
	max = GiB(3) + MiB(500) - 1;
	iova = map_in(v, GiB(0x7f00), GiB(1), 0, min, max, RW);
	assert_int_equal(iova % MiB(2), 0);
	assert_int_not_equal(iova % GiB(1), 0);
	/* and with no 2 MiB boundary either: the granule, top-down */
	min = MiB(256) + KiB(4);
	max = MiB(258) + KiB(8) - 1;
	iova = map_in(v, GiB(0x7f10), MiB(2), 0, min, max, RW);
	assert_int_equal(iova, MiB(256) + KiB(8));
	/* an offset placement falls back the same way */
	min = MiB(600);
	max = MiB(602) + KiB(8) - 1; /* 2 MiB + 8 KiB: no room at 12 KiB */
	iova = map_in(v, GiB(0x7f20) + KiB(12), MiB(2), 0, min, max, RW);
	assert_int_equal(iova, MiB(600) + KiB(8));
	/* a hole taken by others: the next hole of the right residue */
	assert_int_equal(iova_vfio_map_at(v, VA(GiB(0x7f30)), MiB(2),
					  GiB(8) - MiB(2), RW), 0);
	iova = map_in(v, GiB(0x7f40), MiB(2), 0, GiB(6), GiB(8) - 1, RW);
	assert_int_equal(iova, GiB(8) - MiB(4));
	iova_vfio_close(v);
}

static void test_any_offset_and_align(void **state)
{
	struct fake f;
	struct iova_vfio *v;
	uint64_t iova;

	(void)state;
	x86_host(&f);
	v = open_fake(&f);
	/* [1 GiB, 1 GiB + 5 MiB - 4 KiB): top-down the plain placement is not
	 * on a 2 MiB boundary; the default is */
	iova = map_in(v, GiB(0x7f00), MiB(2), 0, GiB(1),
		      GiB(1) + MiB(5) - KiB(4) - 1, RW | IOVA_VFIO_ANY_OFFSET);
	assert_int_equal(iova, GiB(1) + MiB(3) - KiB(4));
	iova = map_in(v, GiB(0x7f10), MiB(2), 0, GiB(1),
		      GiB(1) + MiB(5) - KiB(4) - 1, RW);
	assert_int_equal(iova, GiB(1));
	/* the offset flag off for an unaligned buffer too */
	iova = map_in(v, GiB(0x7f20) + KiB(12), MiB(4), 0, GiB(2),
		      GiB(2) + MiB(16) - 1, RW | IOVA_VFIO_ANY_OFFSET);
	assert_int_equal(iova, GiB(2) + MiB(12));
	/* an alignment above the page sizes that fit: the plain aligned
	 * placement */
	iova = map_in(v, GiB(0x7f30), MiB(4), GiB(1), 0, UINT64_MAX, RW);
	assert_int_equal(iova % GiB(1), 0);
	/* 64 KiB alignment and an address 12 KiB into a 2 MiB page: the
	 * two cannot both hold, so the alignment wins */
	iova = map_in(v, GiB(0x7f40) + KiB(12), MiB(4), KiB(64), 0,
		      UINT64_MAX, RW);
	assert_int_equal(iova % KiB(64), 0);
	/* 64 KiB alignment, 128 KiB into a 2 MiB page: both */
	iova = map_in(v, GiB(0x7f50) + KiB(128), MiB(4), KiB(64), 0,
		      UINT64_MAX, RW);
	assert_int_equal(iova % MiB(2), KiB(128));
	iova_vfio_close(v);
}

static void test_small_pages_only(void **state)
{
	struct fake f;
	struct iova_vfio *v;
	uint64_t iova;

	(void)state;
	x86_host(&f);
	f.pgsizes = KiB(4); /* an IOMMU without large pages */
	v = open_fake(&f);
	iova = map_in(v, GiB(0x7f00), MiB(2), 0, GiB(1),
		      GiB(1) + MiB(5) - KiB(4) - 1, RW);
	assert_int_equal(iova, GiB(1) + MiB(3) - KiB(4));
	iova_vfio_close(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_largest_page_first),
		cmocka_unit_test(test_fallback_order),
		cmocka_unit_test(test_any_offset_and_align),
		cmocka_unit_test(test_small_pages_only),
	};

	return cmocka_run_group_tests_name("iova_vfio_place", tests, NULL,
					   NULL);
}

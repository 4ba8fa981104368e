/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VFIO helpers against a fake type1 container (test_vfio_fake.c):
 * windows, map and unmap, the budget, open's errors.
 */
#include <errno.h>
#include <linux/vfio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <libiova/iova_vfio.h>

#include "test_vfio_fake.h"

static char buf[1 << 22] __attribute__((aligned(4096)));

static void test_windows_from_the_kernel(void **state)
{
	struct fake f;
	struct iova_vfio *v;
	struct iova_vfio_info info;
	struct iova_range w;
	uint64_t largest, iova;

	(void)state;
	x86_host(&f);
	f.have_avail = true;
	f.avail = 1000;
	v = open_fake(&f);
	assert_int_equal(iova_vfio_get_info(v, &info), 0);
	assert_int_equal(info.granule, 4096);
	assert_int_equal(info.pgsizes, 0x40201000ull);
	assert_int_equal(info.nr_windows, 2);
	assert_int_equal(info.budget, 1000);
	assert_int_equal(info.budget_reported, 1);
	assert_int_equal(info.limit, 1000);
	assert_int_equal(iova_space_window(iova_vfio_space(v), 0, &w,
					   &largest), 0);
	assert_int_equal(w.start, 0);
	assert_int_equal(w.last, MSI_START - 1);
	assert_int_equal(iova_space_window(iova_vfio_space(v), 1, &w,
					   &largest), 0);
	assert_int_equal(w.start, MSI_LAST + 1);
	assert_int_equal(w.last, (1ull << 39) - 1);
	/* below 4 GiB, top-down: right under the MSI window, never in it */
	for (int i = 0; i < 16; i++) {
		/* made-up addresses: the library never touches the memory */
		void *va = (void *)(uintptr_t)(0x7f0000000000ull +
					       ((uint64_t)i << 20));

		assert_int_equal(iova_vfio_map(v, va, 1 << 20, 0, 0,
					       UINT32_MAX, IOVA_VFIO_READ |
					       IOVA_VFIO_WRITE, &iova), 0);
		assert_true(iova + (1 << 20) - 1 < MSI_START ||
			    iova > MSI_LAST);
		assert_true(iova + (1 << 20) - 1 <= UINT32_MAX);
	}
	assert_int_equal(f.nr_maps, 16);
	assert_int_equal(iova_vfio_get_info(v, &info), 0);
	assert_int_equal(info.mappings, 16);
	assert_int_equal(info.budget, 1000 - 16);
	assert_int_equal(info.limit, 1000);
	iova_vfio_close(v);
}

/* Ranges that touch are one window to the IOMMU: the space merges them,
 * and the info counts the windows iova_space_window indexes. */
static void test_touching_ranges_are_one_window(void **state)
{
	struct fake f;
	struct iova_vfio *v;
	struct iova_vfio_info info;
	struct iova_range w;
	uint64_t largest;

	(void)state;
	x86_host(&f);
	f.ranges[0] = (struct vfio_iova_range){ 0, 0x3fffffffull };
	f.ranges[1] = (struct vfio_iova_range){ 0x40000000ull, MSI_START - 1 };
	f.ranges[2] = (struct vfio_iova_range){ MSI_LAST + 1,
						(1ull << 39) - 1 };
	f.nr_ranges = 3;
	v = open_fake(&f);
	assert_int_equal(iova_vfio_get_info(v, &info), 0);
	assert_int_equal(info.nr_windows, 2);
	assert_int_equal(iova_space_window(iova_vfio_space(v), 0, &w,
					   &largest), 0);
	assert_int_equal(w.start, 0);
	assert_int_equal(w.last, MSI_START - 1);
	assert_int_equal(iova_space_window(iova_vfio_space(v), 2, &w,
					   &largest), -EINVAL);
	iova_vfio_close(v);
}

static void test_map_unmap_round_trip(void **state)
{
	struct fake f;
	struct iova_vfio *v;
	struct iova_vfio_info info;
	struct iova_range r;
	uint64_t a, b;

	(void)state;
	x86_host(&f);
	v = open_fake(&f);
	assert_int_equal(iova_vfio_get_info(v, &info), 0);
	assert_int_equal(info.budget, 65535); /* not reported: the default */
	assert_int_equal(info.budget_reported, 0);
	assert_int_equal(iova_vfio_map(v, buf, 8192, 0, 0, UINT64_MAX,
				       IOVA_VFIO_READ, &a), 0);
	assert_int_equal(iova_vfio_map(v, buf + 8192, 4096, 1 << 21, 0,
				       UINT64_MAX, IOVA_VFIO_WRITE, &b), 0);
	assert_int_equal(b % (1 << 21), 0);
	assert_int_equal(f.maps[0].iova, a);
	assert_int_equal(f.maps[0].vaddr, (uintptr_t)buf);
	assert_int_equal(iova_space_lookup(iova_vfio_space(v), a + 100, &r), 0);
	assert_int_equal(r.start, a);
	assert_int_equal(r.last, a + 8191);
	assert_int_equal(iova_vfio_unmap(v, a, 8192), 0);
	assert_int_equal(iova_space_lookup(iova_vfio_space(v), a, &r), -ENOENT);
	assert_int_equal(iova_vfio_unmap(v, b, 4096), 0);
	assert_int_equal(f.nr_maps, 0);
	assert_int_equal(iova_vfio_get_info(v, &info), 0);
	assert_int_equal(info.mappings, 0);
	assert_int_equal(info.budget, 65535);
	iova_vfio_close(v);
}

static void test_all_or_nothing(void **state)
{
	struct fake f;
	struct iova_vfio *v;
	struct iova_vfio_info info;
	struct iova_space_stats st;
	uint64_t iova, first, scratch;

	(void)state;
	x86_host(&f);
	f.have_avail = true;
	f.avail = 2;
	v = open_fake(&f);
	/* the kernel refuses: the IOVA is free again, the budget back */
	f.map_errno = ENOMEM;
	assert_int_equal(iova_vfio_map(v, buf, 4096, 0, 0, UINT64_MAX,
				       IOVA_VFIO_READ, &iova), -ENOMEM);
	assert_int_equal(iova_space_stats(iova_vfio_space(v), &st), 0);
	assert_int_equal(st.allocations, 0);
	assert_int_equal(iova_vfio_get_info(v, &info), 0);
	assert_int_equal(info.budget, 2);
	/* budget: two mappings, then -ENOSPC before the kernel is asked */
	assert_int_equal(iova_vfio_map(v, buf, 4096, 0, 0, UINT64_MAX,
				       IOVA_VFIO_READ, &first), 0);
	assert_int_equal(iova_vfio_map(v, buf + 4096, 4096, 0, 0, UINT64_MAX,
				       IOVA_VFIO_READ, &iova), 0);
	f.map_calls = 0;
	assert_int_equal(iova_vfio_map(v, buf + 8192, 4096, 0, 0, UINT64_MAX,
				       IOVA_VFIO_READ, &iova), -ENOSPC);
	assert_int_equal(f.map_calls, 0);
	/* the virtual range is checked before the budget: a buffer already
	 * mapped gets -EEXIST at budget 0 too */
	assert_int_equal(iova_vfio_map(v, buf + 4096, 4096, 0, 0, UINT64_MAX,
				       IOVA_VFIO_READ, &scratch), -EEXIST);
	assert_int_equal(f.map_calls, 0);
	/* a mapping made behind our back: EEXIST, nothing changes */
	assert_int_equal(iova_vfio_unmap(v, first, 4096), 0);
	f.maps[f.nr_maps].iova = 0x100000;
	f.maps[f.nr_maps].size = 0x1000;
	f.nr_maps++;
	assert_int_equal(iova_vfio_map_at(v, buf, 4096, 0x100000,
					  IOVA_VFIO_READ), -EEXIST);
	assert_int_equal(iova_space_stats(iova_vfio_space(v), &st), 0);
	assert_int_equal(st.allocations, 1);
	assert_int_equal(f.nr_maps, 2);
	/* and a taken range of ours: EEXIST without asking the kernel */
	f.map_calls = 0;
	assert_int_equal(iova_vfio_map_at(v, buf + 8192, 4096, iova,
					  IOVA_VFIO_READ), -EEXIST);
	assert_int_equal(f.map_calls, 0);
	iova_vfio_close(v);
}

static void test_short_unmap_and_bad_input(void **state)
{
	struct fake f;
	struct iova_vfio *v;
	struct iova_vfio_info info;
	struct iova_range r;
	uint64_t iova;

	(void)state;
	x86_host(&f);
	v = open_fake(&f);
	/* bad input, nothing asked of the kernel */
	assert_int_equal(iova_vfio_map(v, buf + 1, 4096, 0, 0, UINT64_MAX,
				       IOVA_VFIO_READ, &iova), -EINVAL);
	assert_int_equal(iova_vfio_map(v, buf, 4095, 0, 0, UINT64_MAX,
				       IOVA_VFIO_READ, &iova), -EINVAL);
	assert_int_equal(iova_vfio_map(v, buf, 0, 0, 0, UINT64_MAX,
				       IOVA_VFIO_READ, &iova), -EINVAL);
	assert_int_equal(iova_vfio_map(v, buf, 4096, 0, 0, UINT64_MAX, 0,
				       &iova), -EINVAL);
	assert_int_equal(iova_vfio_map(v, buf, 4096, 0, 0, UINT64_MAX, 0x10,
				       &iova), -EINVAL);
	assert_int_equal(iova_vfio_map(v, buf, 4096, 3, 0, UINT64_MAX,
				       IOVA_VFIO_READ, &iova), -EINVAL);
	/* larger than every window */
	assert_int_equal(iova_vfio_map(v, buf, 1ull << 40, 0, 0, UINT64_MAX,
				       IOVA_VFIO_READ, &iova), -ENOSPC);
	assert_int_equal(iova_vfio_map_at(v, buf, 4096, MSI_START,
					  IOVA_VFIO_READ), -ERANGE);
	assert_int_equal(f.map_calls, 0);
	assert_int_equal(iova_vfio_unmap(v, 0x123000, 4096), -ENOENT);
	assert_int_equal(iova_vfio_map(v, buf, 8192, 0, 0, UINT64_MAX,
				       IOVA_VFIO_READ, &iova), 0);
	assert_int_equal(iova_vfio_unmap(v, iova + 4096, 4096), -ENOENT);
	assert_int_equal(iova_vfio_unmap(v, iova, 4096), -EINVAL);
	assert_int_equal(f.unmap_calls, 0);
	/* the kernel unmaps less: an error, and the IOVA stays taken */
	f.unmap_cut = 4096;
	assert_int_equal(iova_vfio_unmap(v, iova, 8192), -EIO);
	assert_int_equal(iova_space_lookup(iova_vfio_space(v), iova, &r), 0);
	assert_int_equal(iova_vfio_get_info(v, &info), 0);
	assert_int_equal(info.mappings, 1);
	/* and it still translates: part of it may still be mapped */
	assert_int_equal(iova_vfio_translate(v, buf + 4096, 1, &r.start), 0);
	assert_int_equal(r.start, iova + 4096);
	assert_int_equal(iova_vfio_get_info(NULL, &info), -EINVAL);
	assert_null(iova_vfio_space(NULL));
	iova_vfio_close(v);
	iova_vfio_close(NULL);
}

static void test_open_errors(void **state)
{
	struct fake f;
	struct iova_vfio_config cfg = { .container_fd = FAKE_FD,
					.ioctl = fake_ioctl, .ioctl_ctx = &f };
	struct iova_vfio *v = NULL;

	(void)state;
	assert_int_equal(iova_vfio_open(NULL, &v), -EINVAL);
	assert_int_equal(iova_vfio_open(&cfg, NULL), -EINVAL);
	x86_host(&f);
	f.info_errno = EINVAL; /* no IOMMU set on the container */
	assert_int_equal(iova_vfio_open(&cfg, &v), -ENODEV);
	x86_host(&f);
	f.no_iova_cap = true; /* no windows: nothing is known to be safe */
	assert_int_equal(iova_vfio_open(&cfg, &v), -ENODEV);
	x86_host(&f);
	f.pgsizes = 0;
	assert_int_equal(iova_vfio_open(&cfg, &v), -EINVAL);
	f.pgsizes = 0x1001; /* a 1-byte page */
	assert_int_equal(iova_vfio_open(&cfg, &v), -EINVAL);
	x86_host(&f);
	f.ranges[1].start = MSI_LAST - 10; /* overlapping windows */
	assert_int_equal(iova_vfio_open(&cfg, &v), -EINVAL);
	assert_null(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_windows_from_the_kernel),
		cmocka_unit_test(test_touching_ranges_are_one_window),
		cmocka_unit_test(test_map_unmap_round_trip),
		cmocka_unit_test(test_all_or_nothing),
		cmocka_unit_test(test_short_unmap_and_bad_input),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests_name("iova_vfio", tests, NULL, NULL);
}

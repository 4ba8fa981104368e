/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VFIO helpers against a fake type1 container: an ioctl function that
 * answers VFIO_IOMMU_GET_INFO with a chosen capability chain and keeps
 * the DMA mappings in a table, refusing overlaps (EEXIST) as the kernel
 * does, and failing or short-unmapping on command.  (The real kernel is
 * the end-to-end test's job.)
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

#define MAX_MAPS 64
#define MSI_START 0xfee00000ull
#define MSI_LAST 0xfeefffffull

struct fake {
	/* what GET_INFO reports */
	uint64_t pgsizes;
	struct vfio_iova_range ranges[4];
	unsigned int nr_ranges;
	bool no_iova_cap, have_avail;
	uint32_t avail;
	int info_errno;
	/* the IOMMU */
	struct { uint64_t iova, size, vaddr; } maps[MAX_MAPS];
	unsigned int nr_maps;
	int map_errno;      /* fail the next map with this */
	uint64_t unmap_cut; /* unmap this much less than asked */
	unsigned int map_calls, unmap_calls;
};

static int fake_info(struct fake *f, struct vfio_iommu_type1_info *info)
{
	size_t need = sizeof(*info);
	size_t range_cap = sizeof(struct vfio_iommu_type1_info_cap_iova_range) +
			   f->nr_ranges * sizeof(struct vfio_iova_range);
	size_t avail_cap = sizeof(struct vfio_iommu_type1_info_dma_avail);
	char *p = (char *)info;
	uint32_t off = sizeof(*info);

	if (!f->no_iova_cap)
		need += range_cap;
	if (f->have_avail)
		need += avail_cap;
	info->flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
	info->iova_pgsizes = f->pgsizes;
	if (info->argsz < need) {
		info->argsz = (uint32_t)need; /* ask for more, as the kernel */
		info->cap_offset = 0;
		return 0;
	}
	info->cap_offset = 0;
	if (!f->no_iova_cap) {
		struct vfio_iommu_type1_info_cap_iova_range *c = (void *)(p + off);

		c->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
		c->header.version = 1;
		c->nr_iovas = f->nr_ranges;
		memcpy(c->iova_ranges, f->ranges,
		       f->nr_ranges * sizeof(f->ranges[0]));
		info->cap_offset = off;
		off += (uint32_t)range_cap;
		c->header.next = f->have_avail ? off : 0;
	}
	if (f->have_avail) {
		struct vfio_iommu_type1_info_dma_avail *a = (void *)(p + off);

		a->header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
		a->header.version = 1;
		a->header.next = 0;
		a->avail = f->avail;
		if (!info->cap_offset)
			info->cap_offset = off;
	}
	return 0;
}

static int fake_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	struct fake *f = ctx;

	assert_int_equal(fd, 42);
	if (request == VFIO_IOMMU_GET_INFO) {
		if (f->info_errno) {
			errno = f->info_errno;
			return -1;
		}
		return fake_info(f, arg);
	}
	if (request == VFIO_IOMMU_MAP_DMA) {
		struct vfio_iommu_type1_dma_map *m = arg;

		f->map_calls++;
		assert_true(m->flags & (VFIO_DMA_MAP_FLAG_READ |
					VFIO_DMA_MAP_FLAG_WRITE));
		if (f->map_errno) {
			errno = f->map_errno;
			f->map_errno = 0;
			return -1;
		}
		for (unsigned int i = 0; i < f->nr_maps; i++)
			if (m->iova < f->maps[i].iova + f->maps[i].size &&
			    f->maps[i].iova < m->iova + m->size) {
				errno = EEXIST;
				return -1;
			}
		assert_true(f->nr_maps < MAX_MAPS);
		f->maps[f->nr_maps].iova = m->iova;
		f->maps[f->nr_maps].size = m->size;
		f->maps[f->nr_maps].vaddr = m->vaddr;
		f->nr_maps++;
		return 0;
	}
	if (request == VFIO_IOMMU_UNMAP_DMA) {
		struct vfio_iommu_type1_dma_unmap *u = arg;

		f->unmap_calls++;
		for (unsigned int i = 0; i < f->nr_maps; i++)
			if (f->maps[i].iova == u->iova &&
			    f->maps[i].size == u->size) {
				f->maps[i] = f->maps[--f->nr_maps];
				u->size -= f->unmap_cut;
				return 0;
			}
		u->size = 0;
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

/* An x86 host with the MSI window carved out, 39-bit address width. */
static void x86_host(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->pgsizes = 0x40201000ull; /* 4 KiB, 2 MiB, 1 GiB */
	f->ranges[0] = (struct vfio_iova_range){ 0, MSI_START - 1 };
	f->ranges[1] = (struct vfio_iova_range){ MSI_LAST + 1,
						 (1ull << 39) - 1 };
	f->nr_ranges = 2;
}

static struct iova_vfio *open_fake(struct fake *f)
{
	struct iova_vfio_config cfg = { .container_fd = 42,
					.ioctl = fake_ioctl, .ioctl_ctx = f };
	struct iova_vfio *v = NULL;

	assert_int_equal(iova_vfio_open(&cfg, &v), 0);
	return v;
}

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
		assert_int_equal(iova_vfio_map(v, buf, 1 << 20, 0, 0,
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
	uint64_t iova, first;

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
	assert_int_equal(iova_vfio_map(v, buf, 4096, 0, 0, UINT64_MAX,
				       IOVA_VFIO_READ, &iova), 0);
	f.map_calls = 0;
	assert_int_equal(iova_vfio_map(v, buf, 4096, 0, 0, UINT64_MAX,
				       IOVA_VFIO_READ, &iova), -ENOSPC);
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
	assert_int_equal(iova_vfio_map_at(v, buf, 4096, iova, IOVA_VFIO_READ),
			 -EEXIST);
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
	assert_int_equal(iova_vfio_get_info(NULL, &info), -EINVAL);
	assert_null(iova_vfio_space(NULL));
	iova_vfio_close(v);
	iova_vfio_close(NULL);
}

static void test_open_errors(void **state)
{
	struct fake f;
	struct iova_vfio_config cfg = { .container_fd = 42,
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
	x86_host(&f);
	f.ranges[1].start = MSI_LAST - 10; /* overlapping windows */
	assert_int_equal(iova_vfio_open(&cfg, &v), -EINVAL);
	assert_null(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_windows_from_the_kernel),
		cmocka_unit_test(test_map_unmap_round_trip),
		cmocka_unit_test(test_all_or_nothing),
		cmocka_unit_test(test_short_unmap_and_bad_input),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests_name("iova_vfio", tests, NULL, NULL);
}

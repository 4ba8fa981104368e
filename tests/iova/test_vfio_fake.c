/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_vfio_fake.c - the fake VFIO container (see test_vfio_fake.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "test_vfio_fake.h"

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

static int fake_dma(struct fake *f, unsigned long request, void *arg);

int fake_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	struct fake *f = ctx;

	assert_int_equal(fd, FAKE_FD);
	if (f->closed) {
		errno = EBADF;
		return -1;
	}
	if (request == VFIO_IOMMU_GET_INFO) {
		if (f->info_errno) {
			errno = f->info_errno;
			return -1;
		}
		return fake_info(f, arg);
	}
	if (request == VFIO_IOMMU_MAP_DMA || request == VFIO_IOMMU_UNMAP_DMA) {
		int ret;

		pthread_mutex_lock(&f->lock);
		ret = fake_dma(f, request, arg);
		pthread_mutex_unlock(&f->lock);
		return ret;
	}
	errno = ENOTTY;
	return -1;
}

static int fake_dma(struct fake *f, unsigned long request, void *arg)
{
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
void x86_host(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->pgsizes = 0x40201000ull; /* 4 KiB, 2 MiB, 1 GiB */
	f->ranges[0] = (struct vfio_iova_range){ 0, MSI_START - 1 };
	f->ranges[1] = (struct vfio_iova_range){ MSI_LAST + 1,
						 (1ull << 39) - 1 };
	f->nr_ranges = 2;
}

struct iova_vfio *open_fake(struct fake *f)
{
	struct iova_vfio_config cfg = { .container_fd = FAKE_FD,
					.ioctl = fake_ioctl, .ioctl_ctx = f };
	struct iova_vfio *v = NULL;

	assert_int_equal(iova_vfio_open(&cfg, &v), 0);
	return v;
}


int fake_find(const struct fake *f, uint64_t iova)
{
	for (unsigned int i = 0; i < f->nr_maps; i++)
		if (f->maps[i].iova == iova)
			return (int)i;
	return -1;
}

bool fake_iommu_vaddr(struct fake *f, uint64_t iova, uint64_t *vaddr)
{
	bool found = false;

	pthread_mutex_lock(&f->lock);
	for (unsigned int i = 0; i < f->nr_maps && !found; i++)
		if (iova - f->maps[i].iova < f->maps[i].size) {
			*vaddr = f->maps[i].vaddr + (iova - f->maps[i].iova);
			found = true;
		}
	pthread_mutex_unlock(&f->lock);
	return found;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio.c - IOVA spaces for VFIO type1 containers (<libiova/iova_vfio.h>).
 *
 * The space's windows are the kernel's valid IOVA ranges, read once at
 * open from the capability chain of VFIO_IOMMU_GET_INFO (the info struct
 * is read twice: once to learn argsz with the capabilities, once whole).
 * A map reserves a unit of the mapping budget, allocates, then asks the
 * kernel; any failure undoes the steps before it in reverse order.
 *
 * Locking: the space is thread-safe on its own; the budget and the
 * mapping count are atomics.
 */
#include <errno.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <libiova/iova_vfio.h>

#include "compiler.h"

#define DEFAULT_DMA_ENTRY_LIMIT 65535 /* vfio_iommu_type1's default */

struct iova_vfio {
	int fd;
	iova_vfio_ioctl_fn ioctl;
	void *ioctl_ctx;
	struct iova_space *space;
	uint64_t pgsizes, granule;
	unsigned int nr_windows;
	uint64_t budget;   /* atomic: mappings the kernel still allows */
	uint64_t mappings; /* atomic: live mappings made here */
	int budget_reported;
};

static int sys_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	(void)ctx;
	return ioctl(fd, request, arg);
}

/* The ioctl's result as 0 or a negative errno. */
static int call(const struct iova_vfio *v, unsigned long request, void *arg)
{
	if (v->ioctl(v->ioctl_ctx, v->fd, request, arg) == 0)
		return 0;
	return errno ? -errno : -EIO;
}

/* ---- reading the container's info ------------------------------------- */

static struct vfio_iommu_type1_info *get_info(const struct iova_vfio *v,
					      int *err)
{
	struct vfio_iommu_type1_info head = { .argsz = sizeof(head) };
	struct vfio_iommu_type1_info *info;

	*err = call(v, VFIO_IOMMU_GET_INFO, &head);
	if (*err)
		return NULL;
	if (head.argsz < sizeof(head))
		head.argsz = sizeof(head);
	info = calloc(1, head.argsz);
	if (!info) {
		*err = -ENOMEM;
		return NULL;
	}
	info->argsz = head.argsz;
	*err = call(v, VFIO_IOMMU_GET_INFO, info);
	if (*err) {
		free(info);
		return NULL;
	}
	return info;
}

/* The capability @id of @info, bounds-checked against argsz; or NULL. */
static const struct vfio_info_cap_header *
find_cap(const struct vfio_iommu_type1_info *info, uint16_t id, size_t min)
{
	uint32_t off;
	unsigned int hops = 0;

	if (!(info->flags & VFIO_IOMMU_INFO_CAPS))
		return NULL;
	for (off = info->cap_offset; off && hops < 64; hops++) {
		const struct vfio_info_cap_header *h;

		if (off < sizeof(*info) || off > info->argsz ||
		    info->argsz - off < sizeof(*h))
			return NULL;
		h = (const void *)((const char *)info + off);
		if (h->id == id)
			return info->argsz - off >= min ? h : NULL;
		off = h->next;
	}
	return NULL;
}

/* The IOVA ranges as windows; -ENODEV if the capability is missing. */
static int read_windows(const struct vfio_iommu_type1_info *info,
			struct iova_range **out, unsigned int *nr)
{
	const struct vfio_iommu_type1_info_cap_iova_range *cap;
	const struct vfio_info_cap_header *h;
	size_t room;

	h = find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, sizeof(*cap));
	if (!h)
		return -ENODEV;
	cap = (const void *)h;
	room = info->argsz - (size_t)((const char *)h - (const char *)info) -
	       sizeof(*cap);
	if (!cap->nr_iovas ||
	    cap->nr_iovas > room / sizeof(struct vfio_iova_range))
		return -ENODEV;
	*out = calloc(cap->nr_iovas, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (unsigned int i = 0; i < cap->nr_iovas; i++) {
		(*out)[i].start = cap->iova_ranges[i].start;
		(*out)[i].last = cap->iova_ranges[i].end; /* inclusive */
	}
	*nr = cap->nr_iovas;
	return 0;
}

LIBIOVA_EXPORT int iova_vfio_open(const struct iova_vfio_config *config,
				  struct iova_vfio **out)
{
	const struct vfio_iommu_type1_info_dma_avail *avail;
	struct vfio_iommu_type1_info *info;
	struct iova_space_config sc;
	struct iova_range *windows = NULL;
	struct iova_vfio *v;
	int err;

	if (!config || !out)
		return -EINVAL;
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->fd = config->container_fd;
	v->ioctl = config->ioctl ? config->ioctl : sys_ioctl;
	v->ioctl_ctx = config->ioctl_ctx;
	info = get_info(v, &err);
	if (!info) {
		free(v);
		/* EINVAL from the kernel: no IOMMU set on the container */
		return err == -EINVAL ? -ENODEV : err;
	}
	v->pgsizes = info->flags & VFIO_IOMMU_INFO_PGSIZES ? info->iova_pgsizes
							   : 0;
	err = v->pgsizes ? read_windows(info, &windows, &v->nr_windows)
			 : -EINVAL;
	avail = (const void *)find_cap(info, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
				       sizeof(*avail));
	v->budget = avail ? avail->avail : DEFAULT_DMA_ENTRY_LIMIT;
	v->budget_reported = avail != NULL;
	free(info);
	if (err) {
		free(v);
		return err;
	}
	v->granule = v->pgsizes & -v->pgsizes; /* the lowest bit set */
	sc = (struct iova_space_config){
		.granule = v->granule,
		.windows = windows,
		.nr_windows = v->nr_windows,
		.reserved = config->reserved,
		.nr_reserved = config->nr_reserved,
		.flags = config->flags,
		.node_allocator = config->node_allocator,
	};
	err = iova_space_create(&sc, &v->space);
	free(windows);
	if (err) {
		free(v);
		return err;
	}
	*out = v;
	return 0;
}

LIBIOVA_EXPORT void iova_vfio_close(struct iova_vfio *v)
{
	if (!v)
		return;
	iova_space_destroy(v->space);
	free(v);
}

LIBIOVA_EXPORT struct iova_space *iova_vfio_space(struct iova_vfio *v)
{
	return v ? v->space : NULL;
}

LIBIOVA_EXPORT int iova_vfio_get_info(struct iova_vfio *v,
				      struct iova_vfio_info *info)
{
	if (!v || !info)
		return -EINVAL;
	*info = (struct iova_vfio_info){
		.pgsizes = v->pgsizes,
		.granule = v->granule,
		.nr_windows = v->nr_windows,
		.mappings = __atomic_load_n(&v->mappings, __ATOMIC_RELAXED),
		.budget = __atomic_load_n(&v->budget, __ATOMIC_RELAXED),
		.budget_reported = v->budget_reported,
	};
	return 0;
}

/* ---- map and unmap ------------------------------------------------------ */

static bool take_budget(struct iova_vfio *v)
{
	uint64_t left = __atomic_load_n(&v->budget, __ATOMIC_RELAXED);

	do {
		if (!left)
			return false;
	} while (!__atomic_compare_exchange_n(&v->budget, &left, left - 1,
					      true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

static void give_budget(struct iova_vfio *v)
{
	__atomic_add_fetch(&v->budget, 1, __ATOMIC_RELAXED);
}

static int check_map_args(const struct iova_vfio *v, const void *vaddr,
			  uint64_t size, unsigned int flags)
{
	if (!size || (size & (v->granule - 1)) ||
	    ((uintptr_t)vaddr & (v->granule - 1)) ||
	    !(flags & (IOVA_VFIO_READ | IOVA_VFIO_WRITE)) ||
	    (flags & ~(IOVA_VFIO_READ | IOVA_VFIO_WRITE)))
		return -EINVAL;
	return 0;
}

/* Check a map's arguments and take a unit of the budget for it. */
static int map_begin(struct iova_vfio *v, const void *vaddr, uint64_t size,
		     unsigned int flags)
{
	int err = check_map_args(v, vaddr, size, flags);

	if (err)
		return err;
	return take_budget(v) ? 0 : -ENOSPC;
}

/*
 * After the IOVA allocation (@alloc_err): map [@iova, +@size), undoing
 * the allocation and the budget unit on any error.
 */
static int map_finish(struct iova_vfio *v, int alloc_err, void *vaddr,
		      uint64_t size, uint64_t iova, unsigned int flags)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = (flags & IOVA_VFIO_READ ? VFIO_DMA_MAP_FLAG_READ : 0) |
			 (flags & IOVA_VFIO_WRITE ? VFIO_DMA_MAP_FLAG_WRITE : 0),
		.vaddr = (uintptr_t)vaddr,
		.iova = iova,
		.size = size,
	};
	int err = alloc_err;

	if (!err) {
		err = call(v, VFIO_IOMMU_MAP_DMA, &map);
		if (err)
			iova_space_free(v->space, iova);
	}
	if (err) {
		give_budget(v);
		return err;
	}
	__atomic_add_fetch(&v->mappings, 1, __ATOMIC_RELAXED);
	return 0;
}

LIBIOVA_EXPORT int iova_vfio_map(struct iova_vfio *v, void *vaddr,
				 uint64_t size, uint64_t align, uint64_t min,
				 uint64_t max, unsigned int flags,
				 uint64_t *iova)
{
	int err;

	if (!v || !iova)
		return -EINVAL;
	err = map_begin(v, vaddr, size, flags);
	if (err)
		return err;
	err = iova_space_alloc(v->space, size, align, min, max, 0, iova);
	return map_finish(v, err, vaddr, size, err ? 0 : *iova, flags);
}

LIBIOVA_EXPORT int iova_vfio_map_at(struct iova_vfio *v, void *vaddr,
				    uint64_t size, uint64_t iova,
				    unsigned int flags)
{
	int err;

	if (!v)
		return -EINVAL;
	err = map_begin(v, vaddr, size, flags);
	if (err)
		return err;
	err = iova_space_alloc_at(v->space, iova, size);
	return map_finish(v, err, vaddr, size, iova, flags);
}

LIBIOVA_EXPORT int iova_vfio_unmap(struct iova_vfio *v, uint64_t iova,
				   uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};
	struct iova_range r;
	int err;

	if (!v)
		return -EINVAL;
	if (iova_space_lookup(v->space, iova, &r) || r.start != iova)
		return -ENOENT;
	if (size != r.last - r.start + 1)
		return -EINVAL;
	err = call(v, VFIO_IOMMU_UNMAP_DMA, &unmap);
	if (err)
		return err;
	if (unmap.size != size)
		return -EIO; /* part may still be mapped: keep the IOVA */
	iova_space_free(v->space, iova);
	__atomic_sub_fetch(&v->mappings, 1, __ATOMIC_RELAXED);
	give_budget(v);
	return 0;
}

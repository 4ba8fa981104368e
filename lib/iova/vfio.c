/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio.c - IOVA spaces for VFIO type1 containers (<libiova/iova_vfio.h>):
 * open, info, map and unmap.  VFIO floor 2 (vfio.h): above the
 * translation trees and the placement (vfio_xlate.c, vfio_place.c), below
 * the pools (vfio_pool.c), which map and unmap through vfio_map and
 * vfio_unmap with an owner; close releases owners through their callback.
 *
 * The space's windows are the kernel's valid IOVA ranges, read once at
 * open from the capability chain of VFIO_IOMMU_GET_INFO (the info struct
 * is read twice: once to learn argsz with the capabilities, once whole).
 * A map reserves a unit of the mapping budget, places and allocates the
 * IOVA (vfio_place.c), asks the kernel, then publishes the mapping for
 * translation (vfio_xlate.c); any failure undoes the steps before it in
 * reverse order.
 *
 * Locking: the space is thread-safe on its own; the budget and the
 * mapping count are atomics; the translation trees have their own lock
 * (vfio_xlate.c).
 */
#include <errno.h>
#include <linux/vfio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <libiova/iova_vfio.h>

#include "compiler.h"
#include "vfio.h"
#include "vfio_internal.h"
#include "vfio_place.h"
#include "vfio_xlate.h"

#define DEFAULT_DMA_ENTRY_LIMIT 65535 /* vfio_iommu_type1's default */

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

/* The offset in @info of the capability @id with at least @min bytes
 * inside argsz; or 0.  Nothing promises that a capability sits at an
 * aligned offset (requiring 8 made the Debian 6.1 guest kernel's reply
 * unreadable, and a malformed reply may point anywhere), so every field is
 * copied out with memcpy instead of read in place. */
static uint32_t find_cap(const struct vfio_iommu_type1_info *info,
			 uint16_t id, size_t min)
{
	const char *base = (const char *)info;
	struct vfio_info_cap_header h;
	uint32_t off;
	unsigned int hops = 0;

	if (!(info->flags & VFIO_IOMMU_INFO_CAPS))
		return 0;
	for (off = info->cap_offset; off && hops < 64; hops++) {
		if (off < sizeof(*info) || off > info->argsz ||
		    info->argsz - off < sizeof(h))
			return 0;
		memcpy(&h, base + off, sizeof(h));
		if (h.id == id)
			return info->argsz - off >= min ? off : 0;
		off = h.next;
	}
	return 0;
}

/* The IOVA ranges as windows; -ENODEV if the capability is missing. */
static int read_windows(const struct vfio_iommu_type1_info *info,
			struct iova_range **out, unsigned int *nr)
{
	const char *base = (const char *)info;
	struct vfio_iommu_type1_info_cap_iova_range cap;
	struct vfio_iova_range range;
	uint32_t off;
	size_t room;

	off = find_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, sizeof(cap));
	if (!off)
		return -ENODEV;
	memcpy(&cap, base + off, sizeof(cap));
	room = info->argsz - off - sizeof(cap);
	if (!cap.nr_iovas || cap.nr_iovas > room / sizeof(range))
		return -ENODEV;
	*out = calloc(cap.nr_iovas, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (unsigned int i = 0; i < cap.nr_iovas; i++) {
		memcpy(&range, base + off + sizeof(cap) + i * sizeof(range),
		       sizeof(range));
		(*out)[i].start = range.start;
		(*out)[i].last = range.end; /* inclusive */
	}
	*nr = cap.nr_iovas;
	return 0;
}

LIBIOVA_EXPORT int iova_vfio_open(const struct iova_vfio_config *config,
				  struct iova_vfio **out)
{
	struct vfio_iommu_type1_info_dma_avail avail;
	uint32_t avail_off;
	struct vfio_iommu_type1_info *info;
	struct iova_space_config sc;
	struct iova_space_stats st;
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
	/* a 1-byte page would leave by_va's encoding no spare bit */
	err = v->pgsizes && !(v->pgsizes & 1)
		      ? read_windows(info, &windows, &v->nr_windows)
		      : -EINVAL;
	avail_off = find_cap(info, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
			     sizeof(avail));
	if (avail_off)
		memcpy(&avail, (const char *)info + avail_off, sizeof(avail));
	v->budget = avail_off ? avail.avail : DEFAULT_DMA_ENTRY_LIMIT;
	v->limit = v->budget;
	v->budget_reported = avail_off != 0;
	free(info);
	if (err) {
		free(v);
		return err;
	}
	v->granule = v->pgsizes & -v->pgsizes; /* the lowest bit set */
	v->shift = (unsigned int)__builtin_ctzll(v->granule);
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
	/* the space merges ranges that touch: count the windows it has, as
	 * iova_space_window indexes them */
	iova_space_stats(v->space, &st);
	v->nr_windows = st.nr_windows;
	vfio_xlate_init(v);
	*out = v;
	return 0;
}

LIBIOVA_EXPORT void iova_vfio_close(struct iova_vfio *v)
{
	if (!v)
		return;
	vfio_xlate_destroy(v);
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
		.limit = v->limit,
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
	const unsigned int known = IOVA_VFIO_READ | IOVA_VFIO_WRITE |
				   IOVA_VFIO_ANY_OFFSET | IOVA_VFIO_ALIAS;

	if (!size || (size & (v->granule - 1)) ||
	    ((uintptr_t)vaddr & (v->granule - 1)) ||
	    (uintptr_t)vaddr + size - 1 < (uintptr_t)vaddr ||
	    !(flags & (IOVA_VFIO_READ | IOVA_VFIO_WRITE)) || (flags & ~known))
		return -EINVAL;
	/* the common mistake caught before the kernel is asked; publishing
	 * decides under the translation lock */
	if (!(flags & IOVA_VFIO_ALIAS) &&
	    vfio_xlate_overlaps((struct iova_vfio *)v, (uintptr_t)vaddr, size))
		return -EEXIST;
	return 0;
}

static int kernel_map(struct iova_vfio *v, const struct vfio_mapping *m)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = (m->flags & IOVA_VFIO_READ ? VFIO_DMA_MAP_FLAG_READ
						    : 0) |
			 (m->flags & IOVA_VFIO_WRITE ? VFIO_DMA_MAP_FLAG_WRITE
						     : 0),
		.vaddr = m->vaddr,
		.iova = m->iova,
		.size = m->size,
	};

	return call(v, VFIO_IOMMU_MAP_DMA, &map);
}

/* 0, the kernel's error, or -EIO when it unmapped less than asked. */
static int kernel_unmap(struct iova_vfio *v, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};
	int err = call(v, VFIO_IOMMU_UNMAP_DMA, &unmap);

	if (!err && unmap.size != size)
		err = -EIO; /* part may still be mapped: keep the IOVA */
	return err;
}

/*
 * Map and publish the record @m, whose IOVA is allocated.  On failure the
 * kernel mapping is undone; the caller frees the IOVA.
 */
static int map_publish(struct iova_vfio *v, struct vfio_mapping *m)
{
	int err = kernel_map(v, m);

	if (err)
		return err;
	err = vfio_xlate_publish(v, m);
	if (err)
		(void)kernel_unmap(v, m->iova, m->size);
	return err;
}

/*
 * The common map: arguments, a unit of the budget, the IOVA (placed, or
 * @at when @exact), the kernel, the trees; undone in reverse on failure.
 */
static int map_common(struct iova_vfio *v, void *vaddr, uint64_t size,
		      uint64_t align, uint64_t min, uint64_t max,
		      unsigned int flags, bool exact, uint64_t at,
		      struct vfio_mapping_owner *owner,
		      struct vfio_mapping **out)
{
	struct vfio_mapping *m;
	int err = check_map_args(v, vaddr, size, flags);

	if (err)
		return err;
	if (!take_budget(v))
		return -ENOSPC;
	m = calloc(1, sizeof(*m));
	if (!m) {
		give_budget(v);
		return -ENOMEM;
	}
	*m = (struct vfio_mapping){ .vaddr = (uintptr_t)vaddr, .size = size,
				    .flags = flags, .owner = owner };
	if (exact) {
		m->iova = at;
		err = iova_space_alloc_at(v->space, at, size);
	} else {
		err = vfio_place(v, m->vaddr, size, align, min, max, flags,
				 &m->iova);
	}
	if (!err) {
		err = map_publish(v, m);
		if (err) {
			/* a failed publish may have shown @m to readers of
			 * by_iova for a moment */
			vfio_xlate_sync();
			iova_space_free(v->space, m->iova);
		}
	}
	if (err) {
		free(m);
		give_budget(v);
		return err;
	}
	__atomic_add_fetch(&v->mappings, 1, __ATOMIC_RELAXED);
	if (out)
		*out = m;
	return 0;
}

int vfio_map(struct iova_vfio *v, void *vaddr, uint64_t size, uint64_t align,
	     uint64_t min, uint64_t max, unsigned int flags,
	     struct vfio_mapping_owner *owner, struct vfio_mapping **out)
{
	return map_common(v, vaddr, size, align, min, max, flags, false, 0,
			  owner, out);
}

LIBIOVA_EXPORT int iova_vfio_map(struct iova_vfio *v, void *vaddr,
				 uint64_t size, uint64_t align, uint64_t min,
				 uint64_t max, unsigned int flags,
				 uint64_t *iova)
{
	struct vfio_mapping *m;
	int err;

	if (!v || !iova)
		return -EINVAL;
	err = vfio_map(v, vaddr, size, align, min, max, flags, NULL, &m);
	if (!err)
		*iova = m->iova;
	return err;
}

LIBIOVA_EXPORT int iova_vfio_map_at(struct iova_vfio *v, void *vaddr,
				    uint64_t size, uint64_t iova,
				    unsigned int flags)
{
	if (!v)
		return -EINVAL;
	return map_common(v, vaddr, size, 0, 0, UINT64_MAX, flags, true, iova,
			  NULL, NULL);
}

int vfio_unmap(struct iova_vfio *v, uint64_t iova, uint64_t size,
	       struct vfio_mapping_owner *owner)
{
	struct vfio_mapping *m = vfio_xlate_claim(v, iova);
	int err;

	if (!m)
		return -ENOENT;
	err = m->owner != owner ? -EBUSY : size != m->size ? -EINVAL : 0;
	if (!err)
		err = kernel_unmap(v, iova, size);
	if (err) {
		vfio_xlate_unclaim(m);
		return err;
	}
	/* gone for new readers; after the grace period for every reader:
	 * only then may the IOVA be handed out again */
	vfio_xlate_remove(v, m);
	vfio_xlate_sync();
	iova_space_free(v->space, iova);
	free(m);
	__atomic_sub_fetch(&v->mappings, 1, __ATOMIC_RELAXED);
	give_budget(v);
	return 0;
}

LIBIOVA_EXPORT int iova_vfio_unmap(struct iova_vfio *v, uint64_t iova,
				   uint64_t size)
{
	if (!v)
		return -EINVAL;
	return vfio_unmap(v, iova, size, NULL);
}

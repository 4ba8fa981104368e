/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iova_vfio.h - IOVA spaces for VFIO type1 containers: the valid windows
 * read from the kernel, and map+allocate / unmap+free as single calls.
 *
 * iova_vfio_open() reads VFIO_IOMMU_GET_INFO with its capability chain
 * (the IOVA-range capability, the DMA-available count, the supported
 * page sizes) and builds an IOVA space whose windows are exactly the
 * ranges the kernel reports (so the x86 MSI window and every other
 * reserved region are never handed out) and whose granule is the
 * smallest IOMMU page size.  iova_vfio_map() allocates an IOVA and maps
 * it with VFIO_IOMMU_MAP_DMA, all or nothing; iova_vfio_unmap() unmaps
 * with VFIO_IOMMU_UNMAP_DMA, checks the size the kernel reports, and
 * frees the IOVA.  The remaining mapping budget (the kernel's
 * dma_entry_limit, 65,535 by default) is tracked, and a map past it fails
 * before the kernel is asked.
 *
 * iommufd (IOMMU_IOAS_IOVA_RANGES) is not supported yet: the Debian 12
 * kernel headers this was built against do not have it.
 *
 * Errors are negative errno values; a failed call leaves the space and
 * the IOMMU as they were, except where said.  Every call may be made from
 * any thread; map and unmap may block (allocation, the ioctl).
 */
#ifndef LIBIOVA_IOVA_VFIO_H
#define LIBIOVA_IOVA_VFIO_H

#include <stdint.h>

#include <libiova/iova_space.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iova_vfio;

/* How the library talks to the container: ioctl(2) by default; tests and
 * wrappers may put their own here.  Returns what ioctl returns (-1 with
 * errno set on failure). */
typedef int (*iova_vfio_ioctl_fn)(void *ctx, int fd, unsigned long request,
				  void *arg);

struct iova_vfio_config {
	int container_fd; /* a VFIO container with an IOMMU set */
	/* more ranges never to hand out, on top of what VFIO excludes */
	const struct iova_range *reserved;
	unsigned int nr_reserved;
	unsigned int flags;               /* IOVA_SPACE_* */
	struct mt_allocator *node_allocator; /* NULL: the default */
	iova_vfio_ioctl_fn ioctl;         /* NULL: ioctl(2) */
	void *ioctl_ctx;
};

/* What the container reported, and the budget now. */
struct iova_vfio_info {
	uint64_t pgsizes;            /* supported IOMMU page sizes, bitmap */
	uint64_t granule;            /* the smallest of them: the space's */
	unsigned int nr_windows;     /* valid IOVA ranges (iova_space_window) */
	uint64_t mappings;           /* live mappings made through us */
	uint64_t budget;             /* mappings the kernel still allows */
	int budget_reported;         /* 1: from the DMA-available capability;
	                              * 0: the kernel's default assumed */
};

/*
 * iova_vfio_open - an IOVA space for @config's container.  Returns 0 with
 * *@out set; -EINVAL (NULL argument, bad reserved range, no page size);
 * -ENODEV (the container has no IOMMU set, or no IOVA-range capability
 * and so no safe windows); the ioctl's error; -ENOMEM.  Allocates.
 */
int iova_vfio_open(const struct iova_vfio_config *config,
		   struct iova_vfio **out);

/* Free @v and its space (NULL: nothing).  Unmaps nothing: mappings still
 * live stay in the container (closing the container fd removes them).  No
 * other call on @v may run or follow. */
void iova_vfio_close(struct iova_vfio *v);

/* The space, for lookups, iteration, stats (not for alloc/free: use the
 * calls below, which keep the IOMMU in step); NULL for NULL. */
struct iova_space *iova_vfio_space(struct iova_vfio *v);

/* iova_vfio_get_info - what the container reported and the budget now,
 * into *@info.  Returns 0 or -EINVAL.  Never blocks; does not allocate. */
int iova_vfio_get_info(struct iova_vfio *v, struct iova_vfio_info *info);

/* iova_vfio_map flags */
#define IOVA_VFIO_READ 0x1u  /* the device may read the buffer */
#define IOVA_VFIO_WRITE 0x2u /* the device may write it */

/*
 * iova_vfio_map - allocate an IOVA for [@vaddr, @vaddr + @size) (as
 * iova_space_alloc: @align, [@min, @max], top-down) and map it.  Returns
 * 0 with *@iova set; -EINVAL (@vaddr or @size not a multiple of the
 * granule, size 0, no access flag, unknown flags); -ENOSPC (no room in
 * the windows, or no mapping budget left); the kernel's error (the IOVA
 * is freed again).  May block.
 */
int iova_vfio_map(struct iova_vfio *v, void *vaddr, uint64_t size,
		  uint64_t align, uint64_t min, uint64_t max,
		  unsigned int flags, uint64_t *iova);

/*
 * iova_vfio_map_at - the same at exactly @iova.  -EEXIST when the range
 * is taken: in the space, or in the IOMMU (a mapping made outside this
 * library; the IOVA is freed again); -ERANGE outside the windows.
 */
int iova_vfio_map_at(struct iova_vfio *v, void *vaddr, uint64_t size,
		     uint64_t iova, unsigned int flags);

/*
 * iova_vfio_unmap - unmap the mapping made at @iova of @size bytes and
 * free the IOVA.  Returns 0; -ENOENT (no mapping of ours starts there);
 * -EINVAL (@size is not that mapping's size); the kernel's error; -EIO
 * when the kernel unmapped less than @size: the IOVA then stays allocated
 * (part of it may still be mapped) and the mapping counts as live.
 */
int iova_vfio_unmap(struct iova_vfio *v, uint64_t iova, uint64_t size);

#ifdef __cplusplus
}
#endif

#endif /* LIBIOVA_IOVA_VFIO_H */

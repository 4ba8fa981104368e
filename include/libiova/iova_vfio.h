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
 * Every mapping made here is also recorded twice, in a range tree keyed
 * by virtual address and in one keyed by IOVA, so that a driver can ask
 * for the IOVA of any byte of a mapped buffer (iova_vfio_translate) and
 * the reverse (iova_vfio_vaddr) on every I/O, lock-free, from any thread.
 * iova_vfio_map() places a buffer, by default, at an IOVA congruent to its
 * virtual address modulo the IOMMU's largest usable page size, so that a
 * buffer on huge pages can be mapped with huge IOMMU pages.  A pool
 * (iova_vfio_map_pool) is one mapping that many buffers are carved from:
 * the answer to the mapping budget.  docs/vfio.md says how it is built.
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
	/* valid IOVA windows, as iova_space_window indexes them: ranges
	 * the kernel reports that touch count as one */
	unsigned int nr_windows;
	uint64_t mappings;           /* live mappings made through us */
	uint64_t budget;             /* mappings the kernel still allows */
	int budget_reported;         /* 1: from the DMA-available capability;
	                              * 0: the kernel's default assumed */
	uint64_t limit;              /* the budget at open: mappings + budget
	                              * while only we map in the container */
};

/*
 * iova_vfio_open - an IOVA space for @config's container.  Returns 0 with
 * *@out set; -EINVAL (NULL argument, bad reserved range, no page size, or
 * a 1-byte one);
 * -ENODEV (the container has no IOMMU set, or no IOVA-range capability
 * and so no safe windows); the ioctl's error; -ENOMEM.  Allocates.
 */
int iova_vfio_open(const struct iova_vfio_config *config,
		   struct iova_vfio **out);

/* Free @v, its space, its translation records and its pools (NULL:
 * nothing).  Unmaps nothing: mappings still live stay in the container
 * (closing the container fd removes them).  No other call on @v or on one
 * of its pools may run or follow.  May block (a grace period). */
void iova_vfio_close(struct iova_vfio *v);

/* The space, for lookups, iteration, stats (not for alloc/free: use the
 * calls below, which keep the IOMMU in step); NULL for NULL. */
struct iova_space *iova_vfio_space(struct iova_vfio *v);

/* iova_vfio_get_info - what the container reported and the budget now,
 * into *@info.  mappings counts every live mapping made here (a pool is
 * one); budget is what the kernel still allows, counted down by each
 * mapping and up by each unmap, and a map at budget 0 fails with -ENOSPC
 * before the kernel is asked.  Returns 0 or -EINVAL.  Lock-free; never
 * blocks; does not allocate. */
int iova_vfio_get_info(struct iova_vfio *v, struct iova_vfio_info *info);

/* iova_vfio_map flags */
#define IOVA_VFIO_READ 0x1u  /* the device may read the buffer */
#define IOVA_VFIO_WRITE 0x2u /* the device may write it */
/* Place as iova_space_alloc does, without matching the buffer's offset in
 * the IOMMU's large pages (iova_vfio_map, iova_vfio_map_pool). */
#define IOVA_VFIO_ANY_OFFSET 0x4u
/* The virtual range may overlap other mappings made here (the same memory
 * mapped at two IOVAs): this mapping is left out of the virtual-address
 * tree, so iova_vfio_translate does not find it (iova_vfio_vaddr does). */
#define IOVA_VFIO_ALIAS 0x8u

/*
 * iova_vfio_map - allocate an IOVA for [@vaddr, @vaddr + @size) (as
 * iova_space_alloc: @align, [@min, @max], top-down) and map it.
 *
 * Placement: unless IOVA_VFIO_ANY_OFFSET is given, the IOVA is congruent
 * to @vaddr modulo the largest IOMMU page size P (from the reported
 * pgsizes) with granule < P <= @size for which [@min, @max] has such a
 * hole, trying each smaller P in turn, and finally any placement; a P
 * that cannot be combined with @align (@vaddr mod P not a multiple of
 * @align) is passed over.  When @vaddr is a multiple of P this is one
 * aligned search, O(log n); otherwise the holes of [@min, @max] are
 * walked, O(holes).
 *
 * Once it returns, iova_vfio_translate and iova_vfio_vaddr find the
 * mapping (unless IOVA_VFIO_ALIAS: then only iova_vfio_vaddr).
 *
 * Returns 0 with *@iova set; -EINVAL (NULL @v or @iova, @vaddr or @size
 * not a multiple of the granule, size 0, [@vaddr, @vaddr + @size) wraps,
 * @align not a power of two, no access flag, unknown flags); -EEXIST
 * (the virtual range overlaps a mapping made here, without
 * IOVA_VFIO_ALIAS); -ENOSPC (no room in the windows, or no mapping budget
 * left: the kernel is not asked); -ENOMEM; the kernel's error (e.g.
 * -EBADF for a closed container fd).  Where several apply, the first in
 * this order is returned: the arguments (-EINVAL), the virtual range
 * (-EEXIST), the budget (-ENOSPC), the placement, the kernel.  Any error
 * leaves the space, the budget and the IOMMU as they were.  Takes the
 * space's lock and the translation trees' lock; may block (allocation,
 * the ioctl, and on a failure after the ioctl a grace period).
 */
int iova_vfio_map(struct iova_vfio *v, void *vaddr, uint64_t size,
		  uint64_t align, uint64_t min, uint64_t max,
		  unsigned int flags, uint64_t *iova);

/*
 * iova_vfio_map_at - the same at exactly @iova (no placement: the
 * offset flag is ignored).  -EEXIST when the range is taken: in the
 * space, or in the IOMMU (a mapping made outside this library; the IOVA
 * is freed again), or when the virtual range overlaps a mapping made
 * here; -ERANGE outside the windows.
 */
int iova_vfio_map_at(struct iova_vfio *v, void *vaddr, uint64_t size,
		     uint64_t iova, unsigned int flags);

/*
 * iova_vfio_unmap - unmap the mapping made at @iova of @size bytes and
 * free the IOVA.
 *
 * Order, which is what makes translation safe without a reader lock: the
 * kernel unmaps; the mapping leaves both translation trees; a grace
 * period passes (synchronize_rcu), so no translation that started before
 * can still be using the record; only then is the IOVA freed and may be
 * handed out again.  A translation that runs meanwhile returns the old
 * mapping or -ENOENT, never an IOVA that belongs to a newer mapping.
 * (What a caller does with an answer after an unmap of that buffer has
 * returned is the caller's race.)
 *
 * Returns 0; -EINVAL (NULL @v; @size is not that mapping's size);
 * -ENOENT (no mapping of ours starts at @iova, or another unmap of it is
 * under way); -EBUSY (it is a pool's mapping: iova_vfio_unmap_pool); the
 * kernel's error, with nothing changed; -EIO when the kernel unmapped
 * less than @size: the IOVA then stays allocated (part of it may still
 * be mapped), the mapping stays translatable and counts as live.  Must
 * not be called inside an RCU read-side critical section: blocks for a
 * grace period.
 */
int iova_vfio_unmap(struct iova_vfio *v, uint64_t iova, uint64_t size);

/*
 * iova_vfio_translate - the IOVA of the byte at @vaddr, a mapped buffer's
 * virtual address, into *@iova; [@vaddr, @vaddr + @len) must lie inside
 * that one mapping.  Returns 0; -EINVAL (NULL @v, @vaddr or @iova, @len
 * 0, or [@vaddr, @vaddr + @len) wraps); -ENOENT (@vaddr is in no mapping
 * made here without IOVA_VFIO_ALIAS); -ERANGE (the range crosses the end
 * of the mapping @vaddr is in).  Lock-free (the RCU read lock, taken
 * here; the thread need not be registered with liburcu); never blocks;
 * does not allocate (except liburcu's registration, once per thread).
 * Needs no ioctl: it answers the same whether the container fd is open.
 */
int iova_vfio_translate(struct iova_vfio *v, const void *vaddr, uint64_t len,
			uint64_t *iova);

/*
 * iova_vfio_vaddr - the reverse: the virtual address that IOVA @iova is
 * mapped from, into *@vaddr, [@iova, @iova + @len) inside one mapping
 * made here (aliases included).  Returns 0; -EINVAL (NULL @v or @vaddr,
 * @len 0, wraps); -ENOENT; -ERANGE.  Locking as iova_vfio_translate.
 */
int iova_vfio_vaddr(struct iova_vfio *v, uint64_t iova, uint64_t len,
		    void **vaddr);

/*
 * Pools.  The kernel allows each container a fixed number of mappings
 * (dma_entry_limit, 65,535 by default; see iova_vfio_info.budget), so a
 * driver that maps every I/O buffer on its own runs out.  The answer is to
 * map one large region once - on huge pages, ideally - and carve buffers
 * from it: a pool.  A pool takes one unit of the budget whatever the
 * number of buffers; its buffers need no ioctl to allocate or free, and
 * translate (both ways) through the pool's mapping.
 */
struct iova_vfio_pool;

/*
 * iova_vfio_map_pool - map [@vaddr, @vaddr + @size) as iova_vfio_map does
 * (placement, [@min, @max], @flags; no @align: the placement decides) and
 * make it a pool.  Returns 0 with *@pool set; iova_vfio_map's errors, and
 * -EINVAL for a NULL @pool.  May block; allocates.
 */
int iova_vfio_map_pool(struct iova_vfio *v, void *vaddr, uint64_t size,
		       uint64_t min, uint64_t max, unsigned int flags,
		       struct iova_vfio_pool **pool);

/*
 * iova_vfio_pool_alloc - a buffer of @size bytes (rounded up to the
 * granule) from @pool whose IOVA is a multiple of @align (as
 * iova_space_alloc); its address into *@vaddr, its IOVA into *@iova.
 * Returns 0; -EINVAL (NULL argument, size 0, bad @align); -ENOSPC (no
 * room in the pool); -ENOMEM.  No ioctl; takes the pool's space lock;
 * may block briefly (tree nodes).  Any thread.
 */
int iova_vfio_pool_alloc(struct iova_vfio_pool *pool, uint64_t size,
			 uint64_t align, void **vaddr, uint64_t *iova);

/*
 * iova_vfio_pool_free - give back the buffer that starts at @vaddr.
 * Returns 0; -EINVAL (NULL @pool; @vaddr inside a buffer but not its
 * start); -ENOENT (no buffer of @pool starts there).  No ioctl; never
 * fails for want of memory.  A translation of the buffer still succeeds
 * afterwards (the pool stays mapped): the driver must not let the device
 * use a freed buffer.
 */
int iova_vfio_pool_free(struct iova_vfio_pool *pool, void *vaddr);

/*
 * iova_vfio_unmap_pool - unmap @pool's region (iova_vfio_unmap's order
 * and grace period) and free @pool.  Returns 0; -EINVAL (NULL); -EBUSY
 * (buffers still allocated from it: nothing changes); the kernel's
 * error and -EIO as iova_vfio_unmap, with @pool left as it was.  No other
 * call on @pool may run or follow a success.  Blocks for a grace period.
 */
int iova_vfio_unmap_pool(struct iova_vfio_pool *pool);

#ifdef __cplusplus
}
#endif

#endif /* LIBIOVA_IOVA_VFIO_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio_pool.c - pools: one VFIO mapping that many buffers are carved
 * from (iova_vfio_map_pool and friends).  VFIO floor 3, the top: it maps
 * and unmaps through vfio.c (vfio.h) and offers the floors below nothing
 * but the release callback in each pool's mapping owner.
 *
 * A pool is a mapping whose record points at the pool, plus an IOVA space
 * of its own whose one window is the pool's IOVA range: the buffers are
 * that space's allocations, and a buffer's virtual address is the pool's
 * plus its IOVA's offset into the pool.  Translation needs nothing more:
 * every byte of the pool is in the pool's record.  The sub-space has its
 * own lock; the pool struct itself is written only at creation.
 */
#include <errno.h>
#include <stdlib.h>

#include "compiler.h"
#include "vfio.h"
#include "vfio_internal.h"

struct iova_vfio_pool {
	struct vfio_mapping_owner owner; /* in the pool's mapping record */
	struct iova_vfio *v;
	uint64_t vaddr, iova, size;
	struct iova_space *space; /* the buffers, inside [iova, +size) */
};

/* Free a pool's own parts: for unmap_pool, and (as the owner's release
 * callback) for close. */
static void pool_release(struct vfio_mapping_owner *owner)
{
	struct iova_vfio_pool *pool = (struct iova_vfio_pool *)
		((char *)owner - __builtin_offsetof(struct iova_vfio_pool,
						    owner));

	iova_space_destroy(pool->space);
	free(pool);
}

LIBIOVA_EXPORT int iova_vfio_map_pool(struct iova_vfio *v, void *vaddr,
				      uint64_t size, uint64_t min,
				      uint64_t max, unsigned int flags,
				      struct iova_vfio_pool **out)
{
	struct iova_space_config sc = { 0 };
	struct iova_vfio_pool *pool;
	struct vfio_mapping *m;
	struct iova_range window;
	int err;

	if (!v || !out)
		return -EINVAL;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->owner.release = pool_release;
	err = vfio_map(v, vaddr, size, 0, min, max, flags, &pool->owner, &m);
	if (err) {
		free(pool);
		return err;
	}
	pool->v = v;
	pool->vaddr = m->vaddr;
	pool->iova = m->iova;
	pool->size = m->size;
	window = (struct iova_range){ m->iova, m->iova + m->size - 1 };
	sc.granule = v->granule;
	sc.windows = &window;
	sc.nr_windows = 1;
	err = iova_space_create(&sc, &pool->space);
	if (err) {
		/* the record still names the pool: unmap it as a pool */
		if (vfio_unmap(v, pool->iova, pool->size, &pool->owner))
			return err; /* the kernel kept it: so do we */
		free(pool);
		return err;
	}
	*out = pool;
	return 0;
}

LIBIOVA_EXPORT int iova_vfio_pool_alloc(struct iova_vfio_pool *pool,
					uint64_t size, uint64_t align,
					void **vaddr, uint64_t *iova)
{
	uint64_t at;
	int err;

	if (!pool || !vaddr || !iova)
		return -EINVAL;
	err = iova_space_alloc(pool->space, size, align, 0, UINT64_MAX, 0, &at);
	if (err)
		return err;
	*iova = at;
	*vaddr = (void *)(uintptr_t)(pool->vaddr + (at - pool->iova));
	return 0;
}

LIBIOVA_EXPORT int iova_vfio_pool_free(struct iova_vfio_pool *pool,
				       void *vaddr)
{
	uint64_t va = (uintptr_t)vaddr;

	if (!pool)
		return -EINVAL;
	if (va < pool->vaddr || va - pool->vaddr >= pool->size)
		return -ENOENT;
	return iova_space_free(pool->space, pool->iova + (va - pool->vaddr));
}

LIBIOVA_EXPORT int iova_vfio_unmap_pool(struct iova_vfio_pool *pool)
{
	struct iova_space_stats st;
	int err;

	if (!pool)
		return -EINVAL;
	if (iova_space_stats(pool->space, &st) || st.allocations)
		return -EBUSY;
	err = vfio_unmap(pool->v, pool->iova, pool->size, &pool->owner);
	if (err)
		return err;
	pool_release(&pool->owner);
	return 0;
}

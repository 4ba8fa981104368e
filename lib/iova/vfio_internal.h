/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio_internal.h - what the VFIO files share: the container object, the
 * mapping record, and the calls between vfio.c (open, map, unmap),
 * vfio_xlate.c (the translation trees), vfio_place.c (page-size-aware
 * placement) and vfio_pool.c (pools).
 */
#ifndef LIBIOVA_VFIO_INTERNAL_H
#define LIBIOVA_VFIO_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <libiova/iova_vfio.h>
#include <libiova/maple_tree.h>

/*
 * One live mapping.  Published in by_iova (always) and by_va (unless
 * IOVA_VFIO_ALIAS) once the kernel has mapped it; readers find it under
 * the RCU read lock.  Freed only after it has left both trees and a grace
 * period has passed, so a reader holding it never reads freed memory.
 */
struct vfio_mapping {
	uint64_t vaddr, iova, size;
	unsigned int flags;          /* IOVA_VFIO_* as mapped */
	int claimed;                 /* atomic: 1 while an unmap owns it */
	struct iova_vfio_pool *pool; /* the pool this mapping is, or NULL */
};

struct iova_vfio {
	int fd;
	iova_vfio_ioctl_fn ioctl;
	void *ioctl_ctx;
	struct iova_space *space;
	uint64_t pgsizes, granule;
	unsigned int shift; /* log2(granule), at least 1 */
	unsigned int nr_windows;
	uint64_t budget;   /* atomic: mappings the kernel still allows */
	uint64_t mappings; /* atomic: live mappings made here */
	uint64_t limit;    /* the budget at open */
	int budget_reported;
	/*
	 * The translation trees, in RCU mode: by_iova's entries are struct
	 * vfio_mapping *, by_va's the distance to the IOVA (vfio_xlate.c).
	 * xlate_lock serializes publishing and removal so that the overlap
	 * check of by_va and the stores that follow it are one step; readers
	 * take no lock.
	 */
	struct maple_tree by_va;   /* indexed by virtual address */
	struct maple_tree by_iova; /* indexed by IOVA */
	pthread_mutex_t xlate_lock;
};

/* vfio.c: map with @pool recorded in the mapping (NULL: a plain map);
 * *@out gets the published record. */
int vfio_map(struct iova_vfio *v, void *vaddr, uint64_t size, uint64_t align,
	     uint64_t min, uint64_t max, unsigned int flags,
	     struct iova_vfio_pool *pool, struct vfio_mapping **out);
/* vfio.c: unmap @iova of @size; @pool must be the mapping's pool (NULL
 * for a plain mapping, which is then the only kind accepted). */
int vfio_unmap(struct iova_vfio *v, uint64_t iova, uint64_t size,
	       struct iova_vfio_pool *pool);

/* vfio_xlate.c */
void vfio_xlate_init(struct iova_vfio *v);
/* Free every record (and its pool) and both trees.  No reader may run. */
void vfio_xlate_destroy(struct iova_vfio *v);
/* Whether [vaddr, vaddr + size) overlaps a published mapping (a hint:
 * vfio_xlate_publish decides). */
bool vfio_xlate_overlaps(struct iova_vfio *v, uint64_t vaddr, uint64_t size);
/* Enter @m in both trees.  -EEXIST (virtual overlap) or -ENOMEM, with
 * neither tree changed. */
int vfio_xlate_publish(struct iova_vfio *v, struct vfio_mapping *m);
/* Take @m out of both trees; readers may still hold it until a grace
 * period has passed. */
void vfio_xlate_remove(struct iova_vfio *v, struct vfio_mapping *m);
/* The record of the mapping that starts at @iova, claimed for an unmap;
 * NULL (-ENOENT) if none or already claimed. */
struct vfio_mapping *vfio_xlate_claim(struct iova_vfio *v, uint64_t iova);
static inline void vfio_xlate_unclaim(struct vfio_mapping *m)
{
	__atomic_store_n(&m->claimed, 0, __ATOMIC_RELEASE);
}
/* Wait until no reader can hold a record removed before the call. */
void vfio_xlate_sync(void);

/* vfio_place.c: choose and allocate the IOVA for a map (the placement
 * rule of iova_vfio_map); returns iova_space_alloc's errors. */
int vfio_place(struct iova_vfio *v, uint64_t vaddr, uint64_t size,
	       uint64_t align, uint64_t min, uint64_t max, unsigned int flags,
	       uint64_t *iova);

/* vfio_pool.c: free a pool's own parts (for close). */
void vfio_pool_release(struct iova_vfio_pool *pool);

#endif /* LIBIOVA_VFIO_INTERNAL_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio_internal.h - the base of the VFIO files' floors (docs/iova.md,
 * "Layers"): the container object and the mapping record, which every
 * one of them uses.  It declares no calls: each file's calls are in its
 * own header, vfio_xlate.h and vfio_place.h (the floor above this one),
 * then vfio.h; vfio_pool.c, on top, offers none.  Includes only public
 * and system headers: the VFIO files sit above the whole IOVA core and
 * use it through <libiova/iova_space.h> alone.
 */
#ifndef LIBIOVA_VFIO_INTERNAL_H
#define LIBIOVA_VFIO_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <libiova/iova_vfio.h>
#include <libiova/maple_tree.h>

/*
 * What a mapping may belong to: a pool (vfio_pool.c).  Closing the
 * container releases the owner of every mapping still live through
 * @release, so the floors below the pools never call into vfio_pool.c.
 */
struct vfio_mapping_owner {
	void (*release)(struct vfio_mapping_owner *owner);
};

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
	struct vfio_mapping_owner *owner; /* its pool, or NULL */
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

#endif /* LIBIOVA_VFIO_INTERNAL_H */

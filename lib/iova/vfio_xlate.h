/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio_xlate.h - VFIO floor 1 (docs/iova.md, "Layers"): what vfio_xlate.c
 * offers, the translation trees (by_va, by_iova) and the records in them.
 * The mapping calls (vfio.c) publish, claim and remove records here.
 * Includes vfio_internal.h only.
 */
#ifndef LIBIOVA_VFIO_XLATE_H
#define LIBIOVA_VFIO_XLATE_H

#include <stdbool.h>
#include <stdint.h>

#include "vfio_internal.h"

void vfio_xlate_init(struct iova_vfio *v);
/* Free every record (releasing its owner, a pool, if it has one) and
 * both trees.  No reader may run. */
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

#endif /* LIBIOVA_VFIO_XLATE_H */

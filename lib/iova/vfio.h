/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio.h - VFIO floor 2 (docs/iova.md, "Layers"): what vfio.c offers the
 * floor above it, the pools (vfio_pool.c): map and unmap with an owner
 * recorded in the mapping.  Includes vfio_internal.h only; vfio.c itself
 * uses vfio_xlate.h and vfio_place.h, one floor down.
 */
#ifndef LIBIOVA_VFIO_H
#define LIBIOVA_VFIO_H

#include <stdint.h>

#include "vfio_internal.h"

/* Map with @owner recorded in the mapping (NULL: a plain map); *@out
 * gets the published record. */
int vfio_map(struct iova_vfio *v, void *vaddr, uint64_t size, uint64_t align,
	     uint64_t min, uint64_t max, unsigned int flags,
	     struct vfio_mapping_owner *owner, struct vfio_mapping **out);
/* Unmap @iova of @size; @owner must be the mapping's owner (NULL for a
 * plain mapping, which is then the only kind accepted). */
int vfio_unmap(struct iova_vfio *v, uint64_t iova, uint64_t size,
	       struct vfio_mapping_owner *owner);

#endif /* LIBIOVA_VFIO_H */

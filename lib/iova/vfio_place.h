/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio_place.h - VFIO floor 1 (docs/iova.md, "Layers"): what vfio_place.c
 * offers, page-size-aware placement of a map's IOVA in the container's
 * space.  Includes vfio_internal.h only.
 */
#ifndef LIBIOVA_VFIO_PLACE_H
#define LIBIOVA_VFIO_PLACE_H

#include <stdint.h>

#include "vfio_internal.h"

/* Choose and allocate the IOVA for a map (the placement rule of
 * iova_vfio_map); returns iova_space_alloc's errors. */
int vfio_place(struct iova_vfio *v, uint64_t vaddr, uint64_t size,
	       uint64_t align, uint64_t min, uint64_t max, unsigned int flags,
	       uint64_t *iova);

#endif /* LIBIOVA_VFIO_PLACE_H */

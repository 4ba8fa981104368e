/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio_place.c - VFIO floor 1 (vfio_place.h): page-size-aware placement
 * for iova_vfio_map.
 *
 * The IOMMU can map a run of memory with one large page of size P only if
 * the IOVA and the virtual address (hence, for pinned huge pages, the
 * physical address) have the same offset modulo P.  So for each reported
 * page size P, largest first, with granule < P <= size, we look for an
 * IOVA congruent to the buffer's address modulo P; the first P that has
 * a hole wins, and with none the placement is the plain one.
 *
 * Offset 0 (a buffer that starts on a large page: the usual case for
 * hugetlbfs and THP) is an aligned allocation, one search of the space's
 * tree.  Any other offset walks the holes of [min, max] for the highest
 * address of the right residue that fits, then allocates it exactly;
 * another thread can take it in between, so that is retried a few times.
 */
#include <errno.h>
#include <stdbool.h>

#include "compiler.h"
#include "vfio_internal.h"
#include "vfio_place.h"

#define OFFSET_RETRIES 4 /* holes taken under us before we give a P up */

struct offset_search {
	uint64_t size, page, offset;
	bool found;
	uint64_t best; /* the highest fitting start seen */
};

/* The highest start in @hole congruent to offset mod page that fits. */
static int offset_hole(void *arg, const struct iova_range *hole)
{
	struct offset_search *s = arg;
	uint64_t top, start;

	if (hole->last - hole->start + 1 < s->size)
		return 0;
	top = hole->last - (s->size - 1); /* the highest start that fits */
	if (top < s->offset)
		return 0;
	start = ((top - s->offset) & ~(s->page - 1)) + s->offset;
	if (start < hole->start)
		return 0;
	if (!s->found || start > s->best) {
		s->found = true;
		s->best = start;
	}
	return 0;
}

static int alloc_at_offset(struct iova_vfio *v, uint64_t size, uint64_t page,
			   uint64_t offset, uint64_t min, uint64_t max,
			   uint64_t *iova)
{
	for (int tries = 0; tries < OFFSET_RETRIES; tries++) {
		struct offset_search s = { .size = size, .page = page,
					   .offset = offset };
		int err = iova_space_for_each_hole(v->space, min, max,
						   offset_hole, &s);

		if (err)
			return err;
		if (!s.found)
			return -ENOSPC;
		err = iova_space_alloc_at(v->space, s.best, size);
		if (err != -EEXIST) {
			if (!err)
				*iova = s.best;
			return err;
		}
	}
	return -ENOSPC;
}

int vfio_place(struct iova_vfio *v, uint64_t vaddr, uint64_t size,
	       uint64_t align, uint64_t min, uint64_t max, unsigned int flags,
	       uint64_t *iova)
{
	uint64_t floor = align > v->granule ? align : v->granule;

	if (align & (align - 1))
		return -EINVAL;
	/*
	 * Sizes above the alignment only: at P <= align every placement is a
	 * multiple of P, and the plain aligned allocation below is all there
	 * is.  Highest bit first.
	 */
	for (int bit = 63; !(flags & IOVA_VFIO_ANY_OFFSET) && bit >= 0;
	     bit--) {
		uint64_t page = 1ull << bit, offset;
		int err;

		if (!(v->pgsizes & page) || page <= floor || page > size)
			continue;
		offset = vaddr & (page - 1);
		/* iova = offset mod page forces iova = offset mod align */
		if (align > 1 && (offset & (align - 1)))
			continue;
		if (!offset)
			err = iova_space_alloc(v->space, size, page, min, max, 0,
					       iova);
		else
			err = alloc_at_offset(v, size, page, offset, min, max,
					      iova);
		if (err != -ENOSPC)
			return err;
	}
	return iova_space_alloc(v->space, size, align, min, max, 0, iova);
}

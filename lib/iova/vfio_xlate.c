/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio_xlate.c - VFIO floor 1 (vfio_xlate.h): translation between a
 * mapped buffer's virtual address and its IOVA: iova_vfio_translate,
 * iova_vfio_vaddr, and the two range trees they read.  The bottom of the
 * VFIO files: a pool's record is released at close through its owner's
 * callback, not by calling up into vfio_pool.c.
 *
 * Each live mapping has one record (struct vfio_mapping), stored over its
 * IOVA range in by_iova; by_va holds over its virtual range not the
 * record but the distance to its IOVA, (iova - vaddr) >> shift as a value
 * entry (both addresses are multiples of the granule, 2 bytes or more),
 * so that the hot lookup, translate, reads tree nodes only: the range
 * comes from the walk, the IOVA from the entry, and no record is touched
 * (one cache miss fewer per translation with a million mappings).  Both
 * trees are in RCU mode; readers walk them under the RCU read lock, take
 * no lock and write nothing shared.  Writers (publish, remove) hold
 * xlate_lock, so that the overlap check of a new virtual range and its
 * store are one step; each tree also takes its own internal lock for the
 * store.
 *
 * Lifetime: a record leaves both trees, then vfio_xlate_sync() waits for
 * a grace period, then the IOVA is freed and the record with it (see
 * vfio_unmap).  A reader that found the record before it left therefore
 * finishes before the IOVA can be handed out again.
 */
#include <errno.h>
#include <stdlib.h>
#include <urcu/urcu-memb.h>

#include "compiler.h"
#include "vfio_internal.h"
#include "vfio_xlate.h"

void vfio_xlate_init(struct iova_vfio *v)
{
	mt_init_flags(&v->by_va, MT_FLAGS_USE_RCU);
	mt_init_flags(&v->by_iova, MT_FLAGS_USE_RCU);
	pthread_mutex_init(&v->xlate_lock, NULL);
}

void vfio_xlate_destroy(struct iova_vfio *v)
{
	unsigned long index = 0;
	struct vfio_mapping *m;

	/* by_iova holds every record, aliases included */
	mt_for_each(&v->by_iova, m, index, ULONG_MAX) {
		if (m->owner)
			m->owner->release(m->owner);
		free(m);
	}
	mtree_destroy(&v->by_va);
	mtree_destroy(&v->by_iova);
	pthread_mutex_destroy(&v->xlate_lock);
}

static inline unsigned long last_of(uint64_t start, uint64_t size)
{
	return (unsigned long)(start + size - 1);
}

bool vfio_xlate_overlaps(struct iova_vfio *v, uint64_t vaddr, uint64_t size)
{
	unsigned long index = (unsigned long)vaddr;

	return mt_find(&v->by_va, &index, last_of(vaddr, size)) != NULL;
}

int vfio_xlate_publish(struct iova_vfio *v, struct vfio_mapping *m)
{
	bool translate = !(m->flags & IOVA_VFIO_ALIAS);
	int err = 0;

	pthread_mutex_lock(&v->xlate_lock);
	/*
	 * mt_find skips XA_ZERO_ENTRY, which an erase short of memory may
	 * leave behind: such a range is free for us, so the stores below
	 * overwrite (mtree_store_range) rather than insert.  The IOVA range
	 * is ours alone (the space handed it out), so by_iova needs no check.
	 */
	if (translate && vfio_xlate_overlaps(v, m->vaddr, m->size))
		err = -EEXIST;
	if (!err)
		err = mtree_store_range(&v->by_iova, (unsigned long)m->iova,
					last_of(m->iova, m->size), m,
					GFP_KERNEL);
	if (!err && translate) {
		err = mtree_store_range(&v->by_va, (unsigned long)m->vaddr,
					last_of(m->vaddr, m->size),
					xa_mk_value((unsigned long)
						    ((m->iova - m->vaddr) >>
						     v->shift)),
					GFP_KERNEL);
		if (err)
			mtree_erase(&v->by_iova, (unsigned long)m->iova);
	}
	pthread_mutex_unlock(&v->xlate_lock);
	return err;
}

void vfio_xlate_remove(struct iova_vfio *v, struct vfio_mapping *m)
{
	pthread_mutex_lock(&v->xlate_lock);
	/* the virtual address first: from then on translate finds nothing,
	 * and vaddr only until the next erase */
	if (!(m->flags & IOVA_VFIO_ALIAS))
		mtree_erase(&v->by_va, (unsigned long)m->vaddr);
	mtree_erase(&v->by_iova, (unsigned long)m->iova);
	pthread_mutex_unlock(&v->xlate_lock);
}

struct vfio_mapping *vfio_xlate_claim(struct iova_vfio *v, uint64_t iova)
{
	struct vfio_mapping *m;
	int expect = 0;

	mt_read_lock();
	m = mtree_load(&v->by_iova, (unsigned long)iova);
	if (m && (m->iova != iova ||
		  !__atomic_compare_exchange_n(&m->claimed, &expect, 1, false,
					       __ATOMIC_ACQUIRE,
					       __ATOMIC_RELAXED)))
		m = NULL;
	mt_read_unlock();
	/* a claimed record stays allocated: only its claimer frees it */
	return m;
}

void vfio_xlate_sync(void)
{
	urcu_memb_synchronize_rcu();
}

static bool bad_len(uint64_t addr, uint64_t len)
{
	return !len || addr + len - 1 < addr;
}

LIBIOVA_EXPORT int iova_vfio_translate(struct iova_vfio *v, const void *vaddr,
				       uint64_t len, uint64_t *iova)
{
	uint64_t va = (uintptr_t)vaddr;
	void *entry;
	int err = 0;

	if (!v || !vaddr || !iova || bad_len(va, len))
		return -EINVAL;
	MA_STATE(mas, &v->by_va, (unsigned long)va, (unsigned long)va);
	mt_read_lock();
	entry = mas_walk(&mas);
	if (!entry || !xa_is_value(entry))
		err = -ENOENT; /* nothing, or an erase's XA_ZERO_ENTRY */
	else if (va + len - 1 > mas.last)
		err = -ERANGE;
	else
		*iova = va + ((uint64_t)xa_to_value(entry) << v->shift);
	mt_read_unlock();
	return err;
}

LIBIOVA_EXPORT int iova_vfio_vaddr(struct iova_vfio *v, uint64_t iova,
				   uint64_t len, void **vaddr)
{
	const struct vfio_mapping *m;
	int err = 0;

	if (!v || !vaddr || bad_len(iova, len))
		return -EINVAL;
	/* the record is read whole inside the read-side section */
	mt_read_lock();
	m = mtree_load(&v->by_iova, (unsigned long)iova);
	if (!m)
		err = -ENOENT;
	else if (iova + len - 1 > m->iova + m->size - 1)
		err = -ERANGE;
	else
		*vaddr = (void *)(uintptr_t)(m->vaddr + (iova - m->iova));
	mt_read_unlock();
	return err;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * domain.c - floor 3 of lib/iova (domain.h): a domain's life cycle, the
 * part of the core both APIs share that sets a domain up and tears it
 * down: its lock, its allocation tree (tree.c works on it) and its
 * deferred erase (deferral.c, created and destroyed here).
 *
 * The tree holds pfns, is in RCU mode (lookups run lock-free) and is
 * protected by the domain lock as its external lock.
 */
#include <urcu/urcu-memb.h> /* urcu_memb_barrier */

#include "deferral.h"
#include "domain.h"
#include "tree.h"

int iova_domain_setup(struct iova_domain *iovad, unsigned long granule,
		      unsigned long start_pfn)
{
	pthread_mutexattr_t attr;

	iovad->deferral = iova_deferral_create(iovad);
	if (!iovad->deferral) {
		iovad->magic = 0;
		return -ENOMEM;
	}
	/* adaptive: writers hold it for a microsecond or less, and on a
	 * virtual machine a writer that slept in the kernel on it woke up to
	 * hundreds of microseconds later */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&iovad->iova_lock, &attr);
	pthread_mutexattr_destroy(&attr);
	mt_init_flags(&iovad->tree, MT_FLAGS_ALLOC_RANGE | MT_FLAGS_USE_RCU);
	mt_set_external_lock(&iovad->tree, &iovad->iova_lock);
	iovad->granule = granule;
	iovad->start_pfn = start_pfn;
	iovad->dma_32bit_pfn = (unsigned long)(1ULL << 32) >>
			       __builtin_ctzl(granule);
	iovad->max32_alloc_size = iovad->dma_32bit_pfn;
	iovad->ceiling_pfn = ULONG_MAX;
	iova_filled_tops_reset(iovad);
	iovad->rcaches = NULL;
	iovad->nr_spare = 0;
	iovad->magic = IOVA_DOMAIN_MAGIC;
	return 0;
}

void iova_domain_teardown(struct iova_domain *iovad)
{
	bool own_allocator = iovad->tree.ma_alloc != NULL;

	iova_deferral_destroy(iovad->deferral);
	iovad->deferral = NULL;
	iova_lock(iovad);
	mtree_destroy(&iovad->tree);
	iovad->magic = 0;
	iova_unlock(iovad);
	pthread_mutex_destroy(&iovad->iova_lock);
	/* The tree is in RCU mode: its nodes, those mtree_destroy just freed
	 * and those retired before, reach their allocator after a grace
	 * period, from liburcu's call_rcu thread.  A node allocator of the
	 * user's own is waited for, so that it can be destroyed (or checked
	 * for leaks) as soon as this returns; the default allocator lives as
	 * long as the process and is not. */
	if (own_allocator)
		urcu_memb_barrier();
}

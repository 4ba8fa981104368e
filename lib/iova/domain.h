/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * domain.h - floor 3 of lib/iova (docs/iova.md, "Layers"): what domain.c
 * offers, a domain's life cycle (its lock, its tree and its deferral set
 * up and torn down), for the two front ends above it (kernel_api.c,
 * space.c).  Includes deferral.h (floor 2) and the headers below it,
 * never a header above it.
 */
#ifndef LIBIOVA_DOMAIN_H
#define LIBIOVA_DOMAIN_H

#include "deferral.h"
#include "iova_base.h"

/* Set up the lock, the tree and the deferred-erase state of a domain.
 * Returns 0 or -ENOMEM (nothing to undo then). */
int iova_domain_setup(struct iova_domain *iovad, unsigned long granule,
		      unsigned long start_pfn);

/* Undo iova_domain_setup once the tree is empty of heap objects: stops
 * the domain's deferral worker, erases what is parked, destroys the tree.
 * No other call on the domain may run. */
void iova_domain_teardown(struct iova_domain *iovad);

#endif /* LIBIOVA_DOMAIN_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * alloc_internal.h - the node allocator core's interface to the rest of
 * lib/maple.
 *
 * Offers struct mt_allocator (the descriptor every allocator is reached
 * through), struct alloc_extra (what the library's own allocators
 * add to the public struct mt_allocator_ops), alloc_build() (the one
 * way to make a descriptor), and two calls the rest of the library needs
 * beyond <libiova/mt_alloc.h>.  All of it is defined in alloc.c.
 *
 * Included by alloc.c, by the backends beside it (node_cache.c,
 * fault_alloc.c), which each keep their operations tables to themselves
 * and reach the core only through this header and the public calls, and
 * by lib/maple/free.c for alloc_free_many().  alloc.c includes no
 * backend: dependencies go from the backends to the core only.
 */
#ifndef LIBIOVA_ALLOC_INTERNAL_H
#define LIBIOVA_ALLOC_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libiova/mt_alloc.h>

#include "compiler.h"

/*
 * What the library's own allocators add to struct mt_allocator_ops.  Every
 * member is optional; a user allocator (mt_allocator_create) has none.
 */
struct alloc_extra {
	/*
	 * Debug builds only: return -EINVAL, changing nothing, if @node
	 * cannot be a live node of this allocator.
	 */
	int (*check_free)(void *priv, void *node);
	/*
	 * Take back @nodes[0 .. @n - 1], all checked, from a thread that will
	 * not allocate them again.  Without it, alloc_free_many() frees
	 * them one by one.
	 */
	void (*free_many)(void *priv, void **nodes, unsigned int n);
	/*
	 * The allocator counts its own allocations and frees (the node cache
	 * does, per thread, with no locked instruction); read them.  Without
	 * it, the descriptor's atomics count.
	 */
	void (*counts)(void *priv, uint64_t *allocs, uint64_t *frees);
	/* Every node alloc returns is MT_NODE_SIZE-aligned: not checked. */
	bool aligned;
	/*
	 * A NULL from alloc comes with errno set, EINVAL or ENOMEM, and the
	 * request fails with it (the fault allocator passes on its inner
	 * allocator's EINVAL).  Otherwise a NULL means ENOMEM.
	 */
	bool sets_errno;
};

/*
 * An allocator: operations, their private pointer and, when the allocator
 * does not count for itself, the call counters.  These are atomics on
 * separate cache lines: allocations come from a writer thread while frees
 * of RCU trees come from liburcu's call_rcu thread.
 */
struct mt_allocator {
	const struct mt_allocator_ops *ops;
	void *priv;
	struct alloc_extra extra;
	bool is_static; /* built in its owner's storage: never destroyed */

	_Alignas(CACHELINE_SIZE) _Atomic uint64_t allocs;
	_Atomic uint64_t failures;
	_Alignas(CACHELINE_SIZE) _Atomic uint64_t frees;
};

/*
 * Build a descriptor for @ops and @priv, with @extra's additions (NULL for
 * none).  @ops must have alloc and free.  With @storage NULL the
 * descriptor is allocated, and mt_allocator_destroy() frees it; otherwise
 * it is built in @storage, for an allocator that lives as long as the
 * process (mt_allocator_destroy() refuses it).  Returns the descriptor, or
 * NULL with errno EINVAL (@ops incomplete) or ENOMEM.
 */
struct mt_allocator *alloc_build(struct mt_allocator *storage,
				 const struct mt_allocator_ops *ops,
				 void *priv,
				 const struct alloc_extra *extra);

/* The checks mt_node_free() makes, for allocators that forward frees. */
int alloc_check_free(struct mt_allocator *a, void *node);

/*
 * Free @nodes[0 .. @n - 1], all checked as mt_node_free() checks (one
 * that fails is skipped), from a thread that will not allocate them
 * again: the node cache puts them where every thread finds them.
 */
void alloc_free_many(struct mt_allocator *a, void **nodes, unsigned int n);

#endif /* LIBIOVA_ALLOC_INTERNAL_H */

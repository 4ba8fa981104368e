/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * alloc_internal.h - what the allocator files of lib/maple share.
 *
 * struct mt_allocator is the one dispatch point for every node allocator:
 * it holds the operations and the call counters.  The node cache counts
 * in its per-thread magazines instead (no locked instruction on its fast
 * path); for other allocators the counters here are atomics, on separate
 * cache lines because allocations come from a writer thread while frees
 * of RCU trees come from liburcu's call_rcu thread.
 */
#ifndef LIBIOVA_ALLOC_INTERNAL_H
#define LIBIOVA_ALLOC_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libiova/mt_alloc.h>

#include "compiler.h"

enum mt_allocator_kind {
	MT_ALLOCATOR_USER,
	MT_ALLOCATOR_NODE_CACHE,
	MT_ALLOCATOR_FAULT,
};

struct mt_allocator {
	const struct mt_allocator_ops *ops;
	void *priv;
	/*
	 * Optional, debug builds only: return -EINVAL, changing nothing, if
	 * @node cannot be a live node of this allocator.
	 */
	int (*check_free)(void *priv, void *node);
	enum mt_allocator_kind kind;
	bool is_static; /* the process-wide default: never destroyed */

	_Alignas(CACHELINE_SIZE) _Atomic uint64_t allocs;
	_Atomic uint64_t failures;
	_Alignas(CACHELINE_SIZE) _Atomic uint64_t frees;
};

/* Set up @a in place; used for heap and static descriptors alike. */
void mt_allocator_init(struct mt_allocator *a,
		       const struct mt_allocator_ops *ops, void *priv,
		       enum mt_allocator_kind kind);

/* The checks mt_node_free() makes, for allocators that forward frees. */
int mt_allocator_check_free(struct mt_allocator *a, void *node);

/*
 * Free @nodes[0 .. @n - 1], all checked as mt_node_free() checks (one
 * that fails is skipped), from a thread that will not allocate them
 * again: the node cache puts them where every thread finds them.
 */
void mt_node_free_many(struct mt_allocator *a, void **nodes, unsigned int n);

/* node_cache.c */
struct node_cache;
extern const struct mt_allocator_ops node_cache_ops;
struct node_cache *node_cache_new(const struct mt_node_cache_config *config);
void node_cache_init(struct node_cache *c,
		     const struct mt_node_cache_config *config);
int node_cache_check_free(void *priv, void *node);
void *node_cache_alloc(void *priv, gfp_t gfp);
void node_cache_free(void *priv, void *node);
void node_cache_free_many(void *priv, void **nodes, unsigned int n);
/* node_cache.c counts its own allocations and frees (see there). */
void node_cache_counts(void *priv, uint64_t *allocs, uint64_t *frees);

#endif /* LIBIOVA_ALLOC_INTERNAL_H */

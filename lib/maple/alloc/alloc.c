/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * alloc.c - the node allocator interface: argument checks, accounting and
 * dispatch, the same for every kind of allocator.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_internal.h"

void mt_allocator_init(struct mt_allocator *a,
		       const struct mt_allocator_ops *ops, void *priv,
		       enum mt_allocator_kind kind)
{
	memset(a, 0, sizeof(*a));
	a->ops = ops;
	a->priv = priv;
	a->kind = kind;
	atomic_init(&a->allocs, 0);
	atomic_init(&a->failures, 0);
	atomic_init(&a->frees, 0);
}

LIBIOVA_EXPORT struct mt_allocator *
mt_allocator_create(const struct mt_allocator_ops *ops, void *priv)
{
	struct mt_allocator *a;

	if (!ops || !ops->alloc || !ops->free) {
		errno = EINVAL;
		return NULL;
	}
	a = aligned_alloc(CACHELINE_SIZE, sizeof(*a));
	if (!a) {
		errno = ENOMEM;
		return NULL;
	}
	mt_allocator_init(a, ops, priv, MT_ALLOCATOR_USER);
	return a;
}

LIBIOVA_EXPORT int mt_allocator_destroy(struct mt_allocator *a)
{
	struct mt_alloc_stats st;

	if (!a)
		return 0;
	if (a->is_static)
		return -EPERM;
	mt_allocator_stats(a, &st);
	if (st.live)
		return -EBUSY;
	if (a->ops->release)
		a->ops->release(a->priv);
	free(a);
	return 0;
}

/*
 * The node cache is called directly rather than through its operations
 * table: it is the allocator of almost every tree, and a direct call lets
 * the compiler inline the magazine fast path.
 */
static inline void *allocator_call_alloc(struct mt_allocator *a, gfp_t gfp)
{
	if (likely(a->kind == MT_ALLOCATOR_NODE_CACHE))
		return node_cache_alloc(a->priv, gfp);
	return a->ops->alloc(a->priv, gfp);
}

static inline void allocator_call_free(struct mt_allocator *a, void *node)
{
	if (likely(a->kind == MT_ALLOCATOR_NODE_CACHE))
		node_cache_free(a->priv, node);
	else
		a->ops->free(a->priv, node);
}

/*
 * Every node reaches a tree through mt_node_alloc() or
 * mt_node_alloc_bulk(), so this is where the alignment the tree's tagged
 * pointers rely on is checked (the node cache's carving guarantees it).  A
 * misaligned node is handed straight back to the allocator that gave it
 * and the request fails with EINVAL: the caller's allocation-failure path
 * then undoes whatever it had started, and nothing is lost.
 */
static inline bool node_misaligned(const struct mt_allocator *a,
				   const void *node)
{
	return a->kind != MT_ALLOCATOR_NODE_CACHE &&
	       unlikely((uintptr_t)node & (MT_NODE_SIZE - 1));
}

/* A failed request's errno: a fault allocator passes on its own (EINVAL
 * from its inner allocator, ENOMEM when it injects); other allocators
 * return NULL only for want of memory. */
static inline int failure_errno(const struct mt_allocator *a)
{
	if (a->kind == MT_ALLOCATOR_FAULT && errno == EINVAL)
		return EINVAL;
	return ENOMEM;
}

LIBIOVA_EXPORT void *mt_node_alloc(struct mt_allocator *a, gfp_t gfp)
{
	void *node;
	int err;

	if (unlikely(!a)) {
		errno = EINVAL;
		return NULL;
	}
	node = allocator_call_alloc(a, gfp);
	if (unlikely(!node || node_misaligned(a, node))) {
		err = node ? EINVAL : failure_errno(a);
		if (node)
			a->ops->free(a->priv, node);
		atomic_fetch_add_explicit(&a->failures, 1, memory_order_relaxed);
		errno = err;
		return NULL;
	}
	if (a->kind != MT_ALLOCATOR_NODE_CACHE)
		atomic_fetch_add_explicit(&a->allocs, 1, memory_order_relaxed);
	if (gfp & __GFP_ZERO)
		memset(node, 0, MT_NODE_SIZE);
	return node;
}

LIBIOVA_EXPORT int mt_node_alloc_bulk(struct mt_allocator *a, gfp_t gfp,
				      size_t count, void **nodes)
{
	size_t i;
	int err = ENOMEM;

	if (!a || !nodes || !count)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		nodes[i] = allocator_call_alloc(a, gfp);
		if (unlikely(!nodes[i])) {
			err = failure_errno(a);
			goto undo;
		}
		if (node_misaligned(a, nodes[i])) {
			a->ops->free(a->priv, nodes[i]);
			err = EINVAL;
			goto undo;
		}
		if (gfp & __GFP_ZERO)
			memset(nodes[i], 0, MT_NODE_SIZE);
	}
	if (a->kind != MT_ALLOCATOR_NODE_CACHE)
		atomic_fetch_add_explicit(&a->allocs, count,
					  memory_order_relaxed);
	return 0;
undo:
	/* Give back what was taken: no net change in the counters. */
	while (i--)
		allocator_call_free(a, nodes[i]);
	atomic_fetch_add_explicit(&a->failures, 1, memory_order_relaxed);
	return -err;
}

int mt_allocator_check_free(struct mt_allocator *a, void *node)
{
	if (!a || !node || ((uintptr_t)node & (MT_NODE_SIZE - 1)))
		return -EINVAL;
	if (LIBIOVA_DEBUG && a->check_free)
		return a->check_free(a->priv, node);
	return 0;
}

LIBIOVA_EXPORT int mt_node_free(struct mt_allocator *a, void *node)
{
	int ret = mt_allocator_check_free(a, node);

	if (unlikely(ret))
		return ret;
	allocator_call_free(a, node);
	if (a->kind != MT_ALLOCATOR_NODE_CACHE)
		atomic_fetch_add_explicit(&a->frees, 1, memory_order_relaxed);
	return 0;
}

void mt_node_free_many(struct mt_allocator *a, void **nodes, unsigned int n)
{
	unsigned int kept = 0;

	if (a->kind != MT_ALLOCATOR_NODE_CACHE) {
		for (unsigned int i = 0; i < n; i++)
			mt_node_free(a, nodes[i]);
		return;
	}
	for (unsigned int i = 0; i < n; i++)
		if (likely(mt_allocator_check_free(a, nodes[i]) == 0))
			nodes[kept++] = nodes[i];
	node_cache_free_many(a->priv, nodes, kept);
}

LIBIOVA_EXPORT int mt_allocator_stats(struct mt_allocator *a,
				      struct mt_alloc_stats *st)
{
	if (!a || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	if (a->kind == MT_ALLOCATOR_NODE_CACHE) {
		node_cache_counts(a->priv, &st->allocs, &st->frees);
	} else {
		/* frees first: allocs read later is at least as large */
		st->frees = atomic_load_explicit(&a->frees,
						 memory_order_acquire);
		st->allocs = atomic_load_explicit(&a->allocs,
						  memory_order_acquire);
	}
	st->failures = atomic_load_explicit(&a->failures, memory_order_relaxed);
	st->live = st->allocs - st->frees;
	if (a->ops->stats)
		a->ops->stats(a->priv, st);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * alloc.c - the node allocator core: descriptors, argument checks,
 * accounting and dispatch, the same for every kind of allocator.  Every
 * allocator is reached through its operations table; the backends beside
 * this file (node_cache.c, fault_alloc.c) build their descriptors with
 * alloc_build() and this file knows nothing else of them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_internal.h"

struct mt_allocator *alloc_build(struct mt_allocator *storage,
				 const struct mt_allocator_ops *ops,
				 void *priv,
				 const struct alloc_extra *extra)
{
	struct mt_allocator *a = storage;

	if (!ops || !ops->alloc || !ops->free) {
		errno = EINVAL;
		return NULL;
	}
	if (!a) {
		a = aligned_alloc(CACHELINE_SIZE, sizeof(*a));
		if (!a) {
			errno = ENOMEM;
			return NULL;
		}
	}
	memset(a, 0, sizeof(*a));
	a->ops = ops;
	a->priv = priv;
	if (extra)
		a->extra = *extra;
	a->is_static = storage != NULL;
	atomic_init(&a->allocs, 0);
	atomic_init(&a->failures, 0);
	atomic_init(&a->frees, 0);
	return a;
}

LIBIOVA_EXPORT struct mt_allocator *
mt_allocator_create(const struct mt_allocator_ops *ops, void *priv)
{
	return alloc_build(NULL, ops, priv, NULL);
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
 * Every allocator, the node cache included, is called through its
 * operations table.  A direct call to the node cache would not be inlined
 * either: it is in another translation unit and the library is built
 * without link-time optimisation, so it would save only the indirect
 * branch, at the price of the core knowing its backend.
 *
 * Every node reaches a tree through mt_node_alloc() or
 * mt_node_alloc_bulk(), so this is where the alignment the tree's tagged
 * pointers rely on is checked, for allocators that do not guarantee it
 * (the node cache's carving does: extra.aligned).  A
 * misaligned node is handed straight back to the allocator that gave it
 * and the request fails with EINVAL: the caller's allocation-failure path
 * then undoes whatever it had started, and nothing is lost.
 */
static inline bool node_misaligned(const struct mt_allocator *a,
				   const void *node)
{
	return !a->extra.aligned &&
	       unlikely((uintptr_t)node & (MT_NODE_SIZE - 1));
}

/* A failed request's errno: an allocator that sets errno (the fault
 * allocator: EINVAL from its inner allocator, ENOMEM when it injects) has
 * it passed on; other allocators return NULL only for want of memory. */
static inline int failure_errno(const struct mt_allocator *a)
{
	if (a->extra.sets_errno && errno == EINVAL)
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
	node = a->ops->alloc(a->priv, gfp);
	if (unlikely(!node || node_misaligned(a, node))) {
		err = node ? EINVAL : failure_errno(a);
		if (node)
			a->ops->free(a->priv, node);
		atomic_fetch_add_explicit(&a->failures, 1, memory_order_relaxed);
		errno = err;
		return NULL;
	}
	if (!a->extra.counts)
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
		nodes[i] = a->ops->alloc(a->priv, gfp);
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
	if (!a->extra.counts)
		atomic_fetch_add_explicit(&a->allocs, count,
					  memory_order_relaxed);
	return 0;
undo:
	/* Give back what was taken: no net change in the counters. */
	while (i--)
		a->ops->free(a->priv, nodes[i]);
	atomic_fetch_add_explicit(&a->failures, 1, memory_order_relaxed);
	return -err;
}

int alloc_check_free(struct mt_allocator *a, void *node)
{
	if (!a || !node || ((uintptr_t)node & (MT_NODE_SIZE - 1)))
		return -EINVAL;
	if (LIBIOVA_DEBUG && a->extra.check_free)
		return a->extra.check_free(a->priv, node);
	return 0;
}

LIBIOVA_EXPORT int mt_node_free(struct mt_allocator *a, void *node)
{
	int ret = alloc_check_free(a, node);

	if (unlikely(ret))
		return ret;
	a->ops->free(a->priv, node);
	if (!a->extra.counts)
		atomic_fetch_add_explicit(&a->frees, 1, memory_order_relaxed);
	return 0;
}

void alloc_free_many(struct mt_allocator *a, void **nodes, unsigned int n)
{
	unsigned int kept = 0;

	if (!a->extra.free_many) {
		for (unsigned int i = 0; i < n; i++)
			mt_node_free(a, nodes[i]);
		return;
	}
	for (unsigned int i = 0; i < n; i++)
		if (likely(alloc_check_free(a, nodes[i]) == 0))
			nodes[kept++] = nodes[i];
	a->extra.free_many(a->priv, nodes, kept);
	if (!a->extra.counts)
		atomic_fetch_add_explicit(&a->frees, kept,
					  memory_order_relaxed);
}

LIBIOVA_EXPORT int mt_allocator_stats(struct mt_allocator *a,
				      struct mt_alloc_stats *st)
{
	if (!a || !st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	if (a->extra.counts) {
		a->extra.counts(a->priv, &st->allocs, &st->frees);
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

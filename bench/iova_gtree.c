/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iova_gtree.c - the IOVA baseline: allocations in a GLib GTree in address
 * order and a first-fit hole search walking it, the way QEMU's iova-tree
 * (iova_tree_alloc_map) works.  Keys are malloc'd range records compared
 * so that overlapping ranges are equal, as QEMU's are, which makes a
 * lookup by any address find its range.
 *
 * One difference, so that every implementation produces the same state:
 * QEMU searches from the bottom; the I workloads are defined by the
 * kernel's top-down semantics, so this walks down from the limit.  The
 * cost is the same linear walk over the allocations in the way.
 * A mutex makes it usable from several threads, as QEMU's callers do.
 */
#include <glib.h>
#include <pthread.h>
#include <stdlib.h>

#include "bench.h"

struct map_rec {
	unsigned long lo, hi;
};

struct gt_dom {
	GTree *tree;
	pthread_mutex_t lock;
	unsigned long count;
	size_t heap0;
};

static gint rec_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
	const struct map_rec *x = a, *y = b;

	(void)unused;
	if (x->hi < y->lo)
		return -1;
	return x->lo > y->hi;
}

static void *gt_create(bool fast)
{
	struct gt_dom *g = malloc(sizeof(*g));

	(void)fast;
	g->heap0 = bench_heap_in_use();
	g->tree = g_tree_new_full(rec_cmp, NULL, free, NULL);
	pthread_mutex_init(&g->lock, NULL);
	g->count = 0;
	return g;
}

static void gt_destroy(void *d)
{
	struct gt_dom *g = d;

	g_tree_destroy(g->tree);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static void gt_insert(struct gt_dom *g, unsigned long lo, unsigned long hi)
{
	struct map_rec *r = malloc(sizeof(*r));

	r->lo = lo;
	r->hi = hi;
	g_tree_insert(g->tree, r, r);
	g->count++;
}

static unsigned long gt_alloc(void *d, unsigned long size, unsigned long limit,
			      bool size_aligned)
{
	struct gt_dom *g = d;
	unsigned long align = 1, top = limit, pfn = 0;
	struct map_rec key = { limit, limit };
	GTreeNode *n;

	if (size_aligned)
		while (align < size)
			align <<= 1;
	pthread_mutex_lock(&g->lock);
	n = g_tree_upper_bound(g->tree, &key);
	n = n ? g_tree_node_previous(n) : g_tree_node_last(g->tree);
	/* holes from the limit down: (below the range at n, top] */
	for (;; n = g_tree_node_previous(n)) {
		const struct map_rec *r = n ? g_tree_node_key(n) : NULL;
		unsigned long bottom = r ? r->hi + 1 : 1, first;

		if (!r || r->hi < top) {
			if (top >= size - 1) {
				first = (top - (size - 1)) & ~(align - 1);
				if (first >= bottom && first >= 1) {
					pfn = first;
					break;
				}
			}
		}
		if (!r || r->lo <= 1)
			break;
		if (r->lo - 1 < top)
			top = r->lo - 1;
	}
	if (pfn)
		gt_insert(g, pfn, pfn + size - 1);
	pthread_mutex_unlock(&g->lock);
	return pfn;
}

static void gt_free(void *d, unsigned long pfn)
{
	struct gt_dom *g = d;
	struct map_rec key = { pfn, pfn };

	pthread_mutex_lock(&g->lock);
	if (g_tree_remove(g->tree, &key))
		g->count--;
	pthread_mutex_unlock(&g->lock);
}

static void gt_place(void *d, unsigned long pfn, unsigned long size)
{
	struct gt_dom *g = d;

	pthread_mutex_lock(&g->lock);
	gt_insert(g, pfn, pfn + size - 1);
	pthread_mutex_unlock(&g->lock);
}

static unsigned long gt_count(void *d)
{
	return ((struct gt_dom *)d)->count;
}

/* Counted allocations: GTree nodes and the range records. */
static size_t gt_bytes(void *d)
{
	return bench_heap_in_use() - ((struct gt_dom *)d)->heap0;
}

const struct iova_impl iova_gtree_first_fit = {
	.name = "gtree",
	.baseline = true,
	.round_cap = 1000,
	.create = gt_create,
	.destroy = gt_destroy,
	.alloc = gt_alloc,
	.free = gt_free,
	.place = gt_place,
	.count = gt_count,
	.bytes = gt_bytes,
};

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rmap_gtree.c - GLib's GTree, the balanced tree behind QEMU's iova-tree:
 * keyed by a range's first index, the value a small record with its last
 * index.
 */
#include <glib.h>
#include <stdlib.h>

#include "bench.h"

struct gt_map {
	struct omap_head head;
	GTree *tree;
};

struct range_rec {
	unsigned long last, value;
};

static gint key_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
	unsigned long x = GPOINTER_TO_SIZE(a), y = GPOINTER_TO_SIZE(b);

	(void)unused;
	return (x > y) - (x < y);
}

static void gt_set(struct omap_cursor *c, GTreeNode *n)
{
	struct range_rec *r;

	c->pos = n;
	c->valid = n != NULL;
	if (!n)
		return;
	r = g_tree_node_value(n);
	c->first = GPOINTER_TO_SIZE(g_tree_node_key(n));
	c->last = r->last;
	c->value = r->value;
}

static void gt_pred(void *m, unsigned long index, struct omap_cursor *c)
{
	GTree *t = ((struct gt_map *)m)->tree;
	GTreeNode *n = g_tree_upper_bound(t, GSIZE_TO_POINTER(index));

	gt_set(c, n ? g_tree_node_previous(n) : g_tree_node_last(t));
}

static void gt_first(void *m, struct omap_cursor *c)
{
	gt_set(c, g_tree_node_first(((struct gt_map *)m)->tree));
}

static void gt_next(void *m, struct omap_cursor *c)
{
	(void)m;
	gt_set(c, g_tree_node_next(c->pos));
}

static void gt_prev(void *m, struct omap_cursor *c)
{
	(void)m;
	gt_set(c, g_tree_node_previous(c->pos));
}

static const struct omap_cursor_ops gt_cursor = {
	gt_pred, gt_first, gt_next, gt_prev,
};

static void gt_store(void *m, unsigned long first, unsigned long last,
		     unsigned long value)
{
	struct range_rec *r = malloc(sizeof(*r));

	r->last = last;
	r->value = value;
	g_tree_insert(((struct gt_map *)m)->tree, GSIZE_TO_POINTER(first), r);
}

static void *gt_create(bool alloc_tree)
{
	struct gt_map *m = malloc(sizeof(*m));

	(void)alloc_tree;
	m->head.cursor = &gt_cursor;
	m->head.store = gt_store;
	m->tree = g_tree_new_full(key_cmp, NULL, NULL, free);
	return m;
}

static void gt_destroy(void *m)
{
	g_tree_destroy(((struct gt_map *)m)->tree);
	free(m);
}

static gboolean sum_one(gpointer key, gpointer value, gpointer data)
{
	unsigned long *acc = data;

	(void)key;
	acc[0] += ((struct range_rec *)value)->value;
	acc[1]++;
	return FALSE;
}

/* g_tree_foreach: how most GTree users walk a tree */
static unsigned long gt_iterate_simple(void *m, unsigned long *sum)
{
	unsigned long acc[2] = { 0, 0 };

	g_tree_foreach(((struct gt_map *)m)->tree, sum_one, acc);
	*sum += acc[0];
	return acc[1];
}

static unsigned long gt_erase(void *m, unsigned long first)
{
	GTree *t = ((struct gt_map *)m)->tree;
	struct range_rec *r = g_tree_lookup(t, GSIZE_TO_POINTER(first));
	unsigned long v;

	if (!r)
		return 0;
	v = r->value;
	g_tree_remove(t, GSIZE_TO_POINTER(first));
	return v;
}

const struct rmap_ops rmap_gtree = {
	.name = "gtree",
	.baseline = true,
	.create = gt_create,
	.destroy = gt_destroy,
	.store = gt_store,
	.load = omap_load,
	.iterate = omap_iterate,
	.iterate_simple = gt_iterate_simple,
	.erase = gt_erase,
	.alloc_range = omap_alloc_range,
	.empty_area_rev = omap_empty_area_rev,
	.search_cap = 20000,
};

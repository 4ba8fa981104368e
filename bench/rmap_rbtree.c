/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rmap_rbtree.c - the BSD <sys/tree.h> red-black tree (from libbsd), an
 * intrusive tree of range records keyed by first index.
 */
#include <stdlib.h>

#include "bench.h"

/* libbsd leaves __unused undefined (it clashes with Linux headers), but
 * RB_GENERATE_STATIC uses it; system headers are all in by now. */
#define __unused __attribute__((unused))
#include <sys/tree.h>

struct rb_range {
	RB_ENTRY(rb_range) link;
	unsigned long first, last, value;
};

static int rb_range_cmp(struct rb_range *a, struct rb_range *b)
{
	return (a->first > b->first) - (a->first < b->first);
}

RB_HEAD(rb_ranges, rb_range);
RB_GENERATE_STATIC(rb_ranges, rb_range, link, rb_range_cmp)

struct rb_map {
	struct omap_head head;
	struct rb_ranges root;
};

static void rb_set(struct omap_cursor *c, struct rb_range *n)
{
	c->pos = n;
	c->valid = n != NULL;
	if (n) {
		c->first = n->first;
		c->last = n->last;
		c->value = n->value;
	}
}

static void rb_pred(void *m, unsigned long index, struct omap_cursor *c)
{
	struct rb_map *map = m;
	struct rb_range *n = RB_ROOT(&map->root), *best = NULL;

	/* descend: the last node with first <= index */
	while (n) {
		if (n->first <= index) {
			best = n;
			n = RB_RIGHT(n, link);
		} else {
			n = RB_LEFT(n, link);
		}
	}
	rb_set(c, best);
}

static void rb_first(void *m, struct omap_cursor *c)
{
	rb_set(c, RB_MIN(rb_ranges, &((struct rb_map *)m)->root));
}

static void rb_next(void *m, struct omap_cursor *c)
{
	(void)m;
	rb_set(c, RB_NEXT(rb_ranges, NULL, (struct rb_range *)c->pos));
}

static void rb_prev(void *m, struct omap_cursor *c)
{
	(void)m;
	rb_set(c, RB_PREV(rb_ranges, NULL, (struct rb_range *)c->pos));
}

static const struct omap_cursor_ops rb_cursor = {
	rb_pred, rb_first, rb_next, rb_prev,
};

static void rb_store(void *m, unsigned long first, unsigned long last,
		     unsigned long value)
{
	struct rb_range *n = malloc(sizeof(*n));

	n->first = first;
	n->last = last;
	n->value = value;
	RB_INSERT(rb_ranges, &((struct rb_map *)m)->root, n);
}

static void *rb_create(bool alloc_tree)
{
	struct rb_map *m = malloc(sizeof(*m));

	(void)alloc_tree;
	m->head.cursor = &rb_cursor;
	m->head.store = rb_store;
	RB_INIT(&m->root);
	return m;
}

static void rb_destroy(void *p)
{
	struct rb_map *m = p;
	struct rb_range *n, *next;

	for (n = RB_MIN(rb_ranges, &m->root); n; n = next) {
		next = RB_NEXT(rb_ranges, &m->root, n);
		RB_REMOVE(rb_ranges, &m->root, n);
		free(n);
	}
	free(m);
}

static unsigned long rb_erase(void *p, unsigned long first)
{
	struct rb_map *m = p;
	struct rb_range key = { .first = first };
	struct rb_range *n = RB_FIND(rb_ranges, &m->root, &key);
	unsigned long v;

	if (!n)
		return 0;
	v = n->value;
	RB_REMOVE(rb_ranges, &m->root, n);
	free(n);
	return v;
}

const struct rmap_ops rmap_rbtree = {
	.name = "rbtree",
	.baseline = true,
	.create = rb_create,
	.destroy = rb_destroy,
	.store = rb_store,
	.load = omap_load,
	.iterate = omap_iterate,
	.erase = rb_erase,
	.alloc_range = omap_alloc_range,
	.empty_area_rev = omap_empty_area_rev,
	.search_cap = 20000,
};

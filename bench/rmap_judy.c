/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rmap_judy.c - JudyL (libjudy): a 256-ary digital tree from index to
 * word; the word points at a range record, as a JudyL user keeps objects.
 */
#include <Judy.h>
#include <stdlib.h>

#include "bench.h"

struct judy_map {
	struct omap_head head;
	Pvoid_t array;
};

struct range_rec {
	unsigned long last, value;
};

static void judy_set(struct omap_cursor *c, PWord_t pv, Word_t index)
{
	const struct range_rec *r;

	c->valid = pv != NULL;
	if (!pv)
		return;
	r = (const struct range_rec *)*pv;
	c->first = index;
	c->last = r->last;
	c->value = r->value;
}

static void judy_pred(void *m, unsigned long index, struct omap_cursor *c)
{
	Word_t i = index;

	PWord_t pv = (PWord_t)JudyLLast(((struct judy_map *)m)->array, &i,
				     PJE0);

	/* Judy moves i: read it only after the call */
	judy_set(c, pv, i);
}

static void judy_first(void *m, struct omap_cursor *c)
{
	Word_t i = 0;

	PWord_t pv = (PWord_t)JudyLFirst(((struct judy_map *)m)->array, &i,
				     PJE0);

	/* Judy moves i: read it only after the call */
	judy_set(c, pv, i);
}

static void judy_next(void *m, struct omap_cursor *c)
{
	Word_t i = c->first;

	PWord_t pv = (PWord_t)JudyLNext(((struct judy_map *)m)->array, &i,
				     PJE0);

	/* Judy moves i: read it only after the call */
	judy_set(c, pv, i);
}

static void judy_prev(void *m, struct omap_cursor *c)
{
	Word_t i = c->first;

	PWord_t pv = (PWord_t)JudyLPrev(((struct judy_map *)m)->array, &i,
				     PJE0);

	/* Judy moves i: read it only after the call */
	judy_set(c, pv, i);
}

static const struct omap_cursor_ops judy_cursor = {
	judy_pred, judy_first, judy_next, judy_prev,
};

static void judy_store(void *m, unsigned long first, unsigned long last,
		       unsigned long value)
{
	struct range_rec *r = malloc(sizeof(*r));
	PWord_t pv = (PWord_t)JudyLIns(&((struct judy_map *)m)->array, first,
				       PJE0);

	r->last = last;
	r->value = value;
	*pv = (Word_t)r;
}

static void *judy_create(bool alloc_tree)
{
	struct judy_map *m = malloc(sizeof(*m));

	(void)alloc_tree;
	m->head.cursor = &judy_cursor;
	m->head.store = judy_store;
	m->array = NULL;
	return m;
}

static void judy_destroy(void *p)
{
	struct judy_map *m = p;
	Word_t i = 0;
	PWord_t pv;

	for (pv = (PWord_t)JudyLFirst(m->array, &i, PJE0); pv;
	     pv = (PWord_t)JudyLNext(m->array, &i, PJE0))
		free((void *)*pv);
	JudyLFreeArray(&m->array, PJE0);
	free(m);
}

static unsigned long judy_erase(void *p, unsigned long first)
{
	struct judy_map *m = p;
	PWord_t pv = (PWord_t)JudyLGet(m->array, first, PJE0);
	struct range_rec *r;
	unsigned long v;

	if (!pv)
		return 0;
	r = (struct range_rec *)*pv;
	v = r->value;
	free(r);
	JudyLDel(&m->array, first, PJE0);
	return v;
}

const struct rmap_ops rmap_judy = {
	.name = "judyl",
	.baseline = true,
	.create = judy_create,
	.destroy = judy_destroy,
	.store = judy_store,
	.load = omap_load,
	.iterate = omap_iterate,
	.erase = judy_erase,
	.alloc_range = omap_alloc_range,
	.empty_area_rev = omap_empty_area_rev,
	.search_cap = 20000,
};

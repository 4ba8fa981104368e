/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rmap_maple.c - our maple tree behind the benchmark interface, as
 * "maple" (the default mode: writers alone under the tree's lock) and as
 * "maple-rcu" (RCU mode: writers copy what they change so that readers
 * may run at the same time, and free replaced nodes after a grace
 * period).  The workloads are the same; the second row shows what RCU
 * mode costs each of them.
 */
#include <stdlib.h>
#include <string.h>

#include <libiova/maple_tree.h>
#include <urcu/urcu-memb.h>

#include "bench.h"

struct maple_map {
	struct maple_tree mt;
	struct mt_allocator *alloc; /* its own cache: exact node accounting */
};

static void *create_flags(unsigned int flags)
{
	struct maple_map *m = malloc(sizeof(*m));

	m->alloc = mt_node_cache_create(NULL);
	mt_init_flags(&m->mt, flags);
	mt_set_allocator(&m->mt, m->alloc);
	return m;
}

static void *maple_create(bool alloc_tree)
{
	return create_flags(alloc_tree ? MT_FLAGS_ALLOC_RANGE : 0);
}

static void *maple_rcu_create(bool alloc_tree)
{
	return create_flags((alloc_tree ? MT_FLAGS_ALLOC_RANGE : 0) |
			    MT_FLAGS_USE_RCU);
}

static void maple_destroy(void *p)
{
	struct maple_map *m = p;
	bool rcu = mt_in_rcu(&m->mt);

	mtree_destroy(&m->mt);
	/* RCU mode: the nodes go back after a grace period; until then
	 * the allocator is busy (-EBUSY) and would be left behind */
	if (rcu)
		urcu_memb_barrier();
	if (mt_allocator_destroy(m->alloc))
		abort();
	free(m);
}

static void maple_store(void *p, unsigned long first, unsigned long last,
			unsigned long value)
{
	struct maple_map *m = p;

	mtree_store_range(&m->mt, first, last, xa_mk_value(value), GFP_KERNEL);
}

static void maple_insert(void *p, unsigned long first, unsigned long last,
			 unsigned long value)
{
	struct maple_map *m = p;

	mtree_insert_range(&m->mt, first, last, xa_mk_value(value), GFP_KERNEL);
}

static unsigned long maple_load(void *p, unsigned long index)
{
	struct maple_map *m = p;
	void *entry = mtree_load(&m->mt, index);

	return entry ? xa_to_value(entry) : 0;
}

static unsigned long maple_iterate(void *p, unsigned long *sum)
{
	struct maple_map *m = p;
	MA_STATE(mas, &m->mt, 0, 0);
	unsigned long n = 0;
	void *entry;

	mtree_lock(&m->mt);
	mas_for_each(&mas, entry, ULONG_MAX) {
		*sum += xa_to_value(entry);
		n++;
	}
	mtree_unlock(&m->mt);
	return n;
}

static unsigned long maple_iterate_simple(void *p, unsigned long *sum)
{
	struct maple_map *m = p;
	unsigned long index = 0, n = 0;
	void *entry;

	mt_for_each(&m->mt, entry, index, ULONG_MAX) {
		*sum += xa_to_value(entry);
		n++;
	}
	return n;
}

static unsigned long maple_erase(void *p, unsigned long first)
{
	struct maple_map *m = p;
	void *entry = mtree_erase(&m->mt, first);

	return entry ? xa_to_value(entry) : 0;
}

static bool maple_alloc_range(void *p, unsigned long size, unsigned long min,
			      unsigned long max, unsigned long value,
			      unsigned long *start)
{
	struct maple_map *m = p;

	return mtree_alloc_range(&m->mt, start, xa_mk_value(value), size, min,
				 max, GFP_KERNEL) == 0;
}

static bool maple_empty_area_rev(void *p, unsigned long min, unsigned long max,
				 unsigned long size, unsigned long *start)
{
	struct maple_map *m = p;
	MA_STATE(mas, &m->mt, 0, 0);
	int ret;

	mtree_lock(&m->mt);
	ret = mas_empty_area_rev(&mas, min, max, size);
	mtree_unlock(&m->mt);
	*start = mas.index;
	return ret == 0;
}

static size_t maple_bytes(void *p)
{
	struct maple_map *m = p;
	struct mt_alloc_stats st;

	/*
	 * RCU mode: replaced nodes wait for a grace period, and up to a
	 * batch of them (26) wait to be handed to call_rcu at all.  Count
	 * after the grace periods, so that the figure is the tree's nodes
	 * plus at most that batch (0.007 bytes/entry at N = 1,000,000).
	 */
	if (mt_in_rcu(&m->mt))
		urcu_memb_barrier();
	mt_allocator_stats(m->alloc, &st);
	return st.live * MT_NODE_SIZE;
}

static void maple_settle(void *p)
{
	struct maple_map *m = p;

	if (mt_in_rcu(&m->mt))
		urcu_memb_barrier();
}

static int cmp_uptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return (x > y) - (x < y);
}

/*
 * The leaves' addresses in key order come from the iterator: after each
 * step the maple state is on the leaf holding the range it returned, and
 * a node's address is its encoded pointer with the type bits (below
 * MT_NODE_SIZE) cleared.
 */
static bool maple_layout(void *p, struct rmap_layout *l)
{
	struct maple_map *m = p;
	MA_STATE(mas, &m->mt, 0, 0);
	size_t cap = 1024, count = 0;
	uintptr_t *leaf = malloc(cap * sizeof(*leaf)), *dist, prev = 0;
	unsigned long next = 0;
	struct mt_alloc_stats st;
	void *entry;

	if (!leaf)
		return false;
	mtree_lock(&m->mt);
	mas_for_each(&mas, entry, ULONG_MAX) {
		uintptr_t node = (uintptr_t)mas.node &
				 ~(uintptr_t)(MT_NODE_SIZE - 1);

		if (!node || node == prev)
			continue;
		if (count == cap) {
			uintptr_t *grown = realloc(leaf, 2 * cap * sizeof(*leaf));

			if (!grown) {
				mtree_unlock(&m->mt);
				free(leaf);
				return false;
			}
			leaf = grown;
			cap *= 2;
		}
		leaf[count++] = prev = node;
	}
	mtree_unlock(&m->mt);
	(void)entry;
	memset(l, 0, sizeof(*l));
	l->nodes = maple_bytes(m) / MT_NODE_SIZE;
	l->leaves = count;
	mt_allocator_stats(m->alloc, &st);
	l->reserved = st.bytes_reserved / MT_NODE_SIZE;
	if (count < 2) {
		l->pages = count;
		free(leaf);
		return true;
	}
	dist = malloc((count - 1) * sizeof(*dist));
	if (!dist) {
		free(leaf);
		return false;
	}
	for (size_t i = 1; i < count; i++) {
		uintptr_t a = leaf[i - 1], b = leaf[i];

		next += b == a + MT_NODE_SIZE;
		dist[i - 1] = (b > a ? b - a : a - b) / MT_NODE_SIZE;
	}
	qsort(dist, count - 1, sizeof(*dist), cmp_uptr);
	l->next_pct = 100.0 * (double)next / (double)(count - 1);
	l->median_dist = (double)dist[(count - 1) / 2];
	/* the pages: the leaves' addresses sorted, page numbers counted */
	for (size_t i = 0; i < count; i++)
		leaf[i] /= 4096;
	qsort(leaf, count, sizeof(*leaf), cmp_uptr);
	l->pages = 1;
	for (size_t i = 1; i < count; i++)
		l->pages += leaf[i] != leaf[i - 1];
	free(dist);
	free(leaf);
	return true;
}

static uint64_t maple_node_allocs(void *p)
{
	struct maple_map *m = p;
	struct mt_alloc_stats st;

	mt_allocator_stats(m->alloc, &st);
	return st.allocs;
}

static unsigned int maple_height(void *p)
{
	struct maple_map *m = p;

	return mt_height(&m->mt);
}

/* Both modes run the same calls; only the tree's flags differ. */
#define MAPLE_OPS                                                       \
	.destroy = maple_destroy, .store = maple_store,                 \
	.insert = maple_insert, .load = maple_load,                     \
	.iterate = maple_iterate, .iterate_simple = maple_iterate_simple, \
	.erase = maple_erase, .alloc_range = maple_alloc_range,         \
	.empty_area_rev = maple_empty_area_rev, .bytes = maple_bytes,   \
	.height = maple_height, .settle = maple_settle,                 \
	.layout = maple_layout, .node_allocs = maple_node_allocs

const struct rmap_ops rmap_maple = {
	.name = "maple",
	.create = maple_create,
	MAPLE_OPS,
};

const struct rmap_ops rmap_maple_rcu = {
	.name = "maple-rcu",
	.create = maple_rcu_create,
	.variant_of = "maple",
	MAPLE_OPS,
};

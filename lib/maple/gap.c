/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gap.c - gaps in allocation trees: keeping them exact, and searching them.
 *
 * An arange node records, for each child, the size of the largest NULL
 * range below it, and which child has the largest.  A leaf's gaps are
 * read from its NULL slots.  Sizes saturate at ULONG_MAX (the empty tree's
 * 2^64 does not fit), which still satisfies any request.
 *
 * A search for @size free indices inside [min, max] descends only into
 * children that intersect the window and whose gap is large enough.  Such
 * a child can fail only if the window clips it, which happens to at most
 * the two children at the window's edges per level, so a search visits
 * O(height) nodes wherever the window lies (no scan when the big gaps are
 * outside the window).  Trees without MT_FLAGS_ALLOC_RANGE have no gaps to
 * prune with and are searched exhaustively.
 *
 * Locking: gaps are written in place under the write lock, and searches
 * need that lock too; RCU readers never look at gaps.
 */
#include <errno.h>

#include "mas.h"

unsigned long mt_node_max_gap(struct maple_node *node, enum mt_node_type type,
			      unsigned long min, unsigned long max)
{
	unsigned long gap = 0, start = min;
	unsigned int end;

	if (type == mt_arange)
		return node->a.gap[node->a.gap_off];
	if (type != mt_leaf)
		return 0;
	end = mt_node_end(node, type, max);
	for (unsigned int i = 0; i <= end; i++) {
		unsigned long last = i < end ? node->r.pivot[i] : max;

		if (!node->r.slot[i]) {
			unsigned long g = mt_range_size(start, last);

			if (g > gap)
				gap = g;
		}
		start = last + 1;
	}
	return gap;
}

void mt_arange_set_meta(struct maple_node *node, unsigned int end)
{
	unsigned int best = 0;

	for (unsigned int i = 1; i <= end; i++)
		if (node->a.gap[i] > node->a.gap[best])
			best = i;
	node->a.end = (unsigned char)end;
	node->a.gap_off = (unsigned char)best;
}

void mt_path_update_gaps(struct maple_tree *mt, struct mt_path *path,
			 unsigned int depth)
{
	if (!mt_is_alloc(mt))
		return;
	for (unsigned int d = depth; d > 0; d--) {
		struct maple_enode *enode = path->node[d];
		struct maple_node *parent = mt_to_node(path->node[d - 1]);
		unsigned int off = path->offset[d - 1];
		unsigned long gap, old_max;

		gap = mt_node_max_gap(mt_to_node(enode), mt_enode_type(enode),
				      path->min[d], path->max[d]);
		if (parent->a.gap[off] == gap)
			return;
		old_max = parent->a.gap[parent->a.gap_off];
		parent->a.gap[off] = gap;
		mt_arange_set_meta(parent, parent->a.end);
		if (parent->a.gap[parent->a.gap_off] == old_max)
			return;
	}
}

/* ---- searching -------------------------------------------------------- */

struct gap_search {
	unsigned long min, max, size;
	bool rev;
	bool use_gaps;
	unsigned long found; /* first index of the result */
};

/*
 * Fit @size inside the free range [first, last] clipped to the window:
 * the lowest (or, reversed, highest) placement.
 */
static bool fit(struct gap_search *s, unsigned long first, unsigned long last)
{
	unsigned long lo = first > s->min ? first : s->min;
	unsigned long hi = last < s->max ? last : s->max;

	if (lo > hi || hi - lo < s->size - 1)
		return false;
	s->found = s->rev ? hi - (s->size - 1) : lo;
	return true;
}

static bool search_node(struct gap_search *s, struct maple_enode *enode,
			unsigned long min, unsigned long max)
{
	enum mt_node_type type = mt_enode_type(enode);
	struct maple_node *node = mt_to_node(enode);
	unsigned long *pivots = mt_node_pivots(node, type);
	void **slots = mt_node_slots(node, type);
	unsigned int npivots = mt_type_slots(type) - 1;
	unsigned long edge;
	unsigned int i;

	mt_prefetch_node(node);
	/*
	 * Start at the child holding the window's near edge, clamped into
	 * this node.  Unused pivots hold the node's max, so the scan stops at
	 * the data end at the latest, a slot's last index is its pivot (or
	 * max past the pivots), and the data end is where that reaches max:
	 * no separate scan for it.
	 */
	if (s->rev)
		edge = s->max < max ? s->max : max;
	else
		edge = s->min > min ? s->min : min;
	i = mt_slot_of(pivots, npivots, edge);
	for (;;) {
		unsigned long first = i ? pivots[i - 1] + 1 : min;
		unsigned long last = i < npivots ? pivots[i] : max;

		/* past the window's far edge: nothing more here */
		if (s->rev ? last < s->min : first > s->max)
			return false;
		if (mt_type_is_leaf(type)) {
			if (!slots[i] && fit(s, first, last))
				return true;
		} else if (!(s->use_gaps && type == mt_arange &&
			     node->a.gap[i] < s->size) &&
			   search_node(s, slots[i], first, last)) {
			return true;
		}
		if (s->rev ? i == 0 : last >= max)
			return false;
		i = s->rev ? i - 1 : i + 1;
	}
}

static int empty_area(struct ma_state *mas, unsigned long min,
		      unsigned long max, unsigned long size, bool rev)
{
	struct maple_tree *mt = mas->tree;
	struct gap_search s = { .min = min, .max = max, .size = size,
				.rev = rev, .use_gaps = mt_is_alloc(mt) };
	void *root = mt->ma_root;
	bool ok;

	if (size == 0 || min > max || max - min < size - 1)
		return -EINVAL;
	if (!root) {
		ok = fit(&s, 0, ULONG_MAX);
	} else if (!mt_root_is_node(root)) {
		/* the root entry occupies index 0 */
		ok = fit(&s, 1, ULONG_MAX);
	} else {
		ok = search_node(&s, root, 0, ULONG_MAX);
	}
	if (!ok)
		return -EBUSY;
	mas->index = s.found;
	mas->last = s.found + size - 1;
	mas->node = NULL;
	mas->status = ma_pause;
	mas_clear_edge(mas);
	return 0;
}

LIBIOVA_EXPORT int mas_empty_area(struct ma_state *mas, unsigned long min,
				  unsigned long max, unsigned long size)
{
	return empty_area(mas, min, max, size, false);
}

LIBIOVA_EXPORT int mas_empty_area_rev(struct ma_state *mas, unsigned long min,
				      unsigned long max, unsigned long size)
{
	return empty_area(mas, min, max, size, true);
}

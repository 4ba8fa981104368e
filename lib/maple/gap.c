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

#include "gap.h"

unsigned long ma_max_gap(struct maple_node *node, enum maple_type type,
			      unsigned long min, unsigned long max)
{
	unsigned long gap = 0, start = min;
	unsigned int end;

	if (type == maple_arange_64)
		return node->a.gap[node->a.gap_off];
	if (type != maple_leaf_64)
		return 0;
	end = ma_data_end(node, type, max);
	for (unsigned int i = 0; i <= end; i++) {
		unsigned long last = i < end ? node->r.pivot[i] : max;

		if (!node->r.slot[i]) {
			unsigned long g = range_size(start, last);

			if (g > gap)
				gap = g;
		}
		start = last + 1;
	}
	return gap;
}

void ma_set_meta(struct maple_node *node, unsigned int end)
{
	unsigned long best = node->a.gap[0], next = 0;
	unsigned int best_off = 0;

	for (unsigned int i = 1; i <= end; i++) {
		unsigned long g = node->a.gap[i];

		if (g > best) {
			next = best;
			best = g;
			best_off = i;
		} else if (g > next) {
			next = g;
		}
	}
	node->a.end = (unsigned char)end;
	node->a.gap_off = (unsigned char)best_off;
	node->a.gap_bound = next;
}

/*
 * Set the gap of child @off of an arange node, keeping gap_off on a largest
 * gap and gap_bound at or above all the others.  Only a largest gap that
 * shrinks below the bound makes the node be scanned again: a leaf filled
 * from its largest gap (an allocator filling the free space above or
 * below what it handed out) shrinks the same slot's gap at every level,
 * and that slot stays the largest.
 */
static inline void arange_gap_set(struct maple_node *node, unsigned int off,
				  unsigned long gap)
{
	unsigned long best = node->a.gap[node->a.gap_off];

	node->a.gap[off] = gap;
	if (off == node->a.gap_off) {
		if (gap < node->a.gap_bound)
			ma_set_meta(node, node->a.end);
	} else if (gap > best) {
		node->a.gap_off = (unsigned char)off;
		if (best > node->a.gap_bound)
			node->a.gap_bound = best;
	} else if (gap > node->a.gap_bound) {
		node->a.gap_bound = gap;
	}
}

void path_update_gaps(struct maple_tree *mt, struct maple_path *path,
			 unsigned int depth)
{
	if (!mt_is_alloc(mt))
		return;
	for (unsigned int d = depth; d > 0; d--) {
		struct maple_enode *enode = path->node[d];
		struct maple_node *parent = mte_to_node(path->node[d - 1]);
		unsigned int off = path->offset[d - 1];
		unsigned long gap, old_max;

		gap = ma_max_gap(mte_to_node(enode), mte_node_type(enode),
				      path->min[d], path->max[d]);
		if (parent->a.gap[off] == gap)
			return;
		old_max = parent->a.gap[parent->a.gap_off];
		arange_gap_set(parent, off, gap);
		if (parent->a.gap[parent->a.gap_off] == old_max)
			return;
	}
}

void path_slot_gap_changed(struct maple_tree *mt, struct maple_path *path,
			      unsigned int depth, unsigned long size,
			      bool freed)
{
	struct maple_node *parent;
	unsigned int off;
	unsigned long cur, old_max;

	if (!mt_is_alloc(mt) || depth == 0)
		return;
	parent = mte_to_node(path->node[depth - 1]);
	off = path->offset[depth - 1];
	cur = parent->a.gap[off]; /* the leaf's largest gap until now */
	/* a new gap no larger, or a filled one smaller, than the largest
	 * leaves the largest as it was */
	if (freed ? size <= cur : size < cur)
		return;
	if (!freed) {
		/* the largest may be gone: rescan the leaf */
		path_update_gaps(mt, path, depth);
		return;
	}
	old_max = parent->a.gap[parent->a.gap_off];
	arange_gap_set(parent, off, size);
	if (size > old_max)
		/* a new largest for the parent too: tell the levels above */
		path_update_gaps(mt, path, depth - 1);
}

/* ---- searching -------------------------------------------------------- */

struct gap_search {
	unsigned long min, max, size;
	unsigned long mask;     /* ~(align - 1): the result's first index */
	unsigned int misses;    /* ranges >= size with no aligned fit, if bounded */
	unsigned int max_misses; /* 0: unbounded */
	bool gave_up;           /* max_misses reached: unwinding */
	unsigned long found;    /* first index of the result */
	unsigned long free_lo, free_hi; /* the free range it lies in; after
					 * giving up, the last one passed */
	/* optional: the path from the root to the result's leaf, recorded
	 * on the way down (a failed branch is overwritten by the next) */
	struct maple_path *path;
	unsigned int depth;     /* of the node being searched */
};

/*
 * Place @size aligned indices inside the free range [first, last] clipped
 * to the window: the lowest (or, reversed, highest) placement.  A range
 * large enough whose alignment does not fit counts as a miss; once the
 * misses reach the search's bound, this returns true with gave_up set, so
 * the recursion unwinds at once.
 */
static inline bool fit(struct gap_search *s, unsigned long first,
		       unsigned long last, bool rev)
{
	unsigned long lo = first > s->min ? first : s->min;
	unsigned long hi = last < s->max ? last : s->max;
	unsigned long at;

	if (lo > hi || hi - lo < s->size - 1)
		return false;
	s->free_lo = lo;
	s->free_hi = hi;
	if (rev) {
		at = (hi - (s->size - 1)) & s->mask;
		if (at >= lo)
			goto found;
	} else {
		at = (lo + ~s->mask) & s->mask;
		/* aligning up may wrap past the top */
		if (at >= lo && at <= hi && hi - at >= s->size - 1)
			goto found;
	}
	if (s->max_misses && ++s->misses == s->max_misses)
		return s->gave_up = true;
	return false;
found:
	s->found = at;
	return true;
}

static bool search_fwd(struct gap_search *s, struct maple_enode *enode,
		       unsigned long min, unsigned long max);
static bool search_rev(struct gap_search *s, struct maple_enode *enode,
		       unsigned long min, unsigned long max);
static bool search_fwd_rec(struct gap_search *s, struct maple_enode *enode,
			   unsigned long min, unsigned long max);
static bool search_rev_rec(struct gap_search *s, struct maple_enode *enode,
			   unsigned long min, unsigned long max);

/*
 * One node, scanned from the child holding the window's near edge towards
 * the far edge.  Unused pivots hold the node's max, so the start clamps to
 * the data end by itself.  A leaf is scanned for NULL slots, an internal
 * node for children whose gap (in allocation trees) is large enough; the
 * bounds of a slot are computed only for those.  Specialised per
 * direction and per recording of the path (@rev and @rec are constants
 * in each caller): this loop is the gap search's whole cost, and a
 * search that records nothing pays nothing for the ones that do.
 */
static inline __attribute__((always_inline)) bool
search_typed(struct gap_search *s, struct maple_enode *enode,
	     unsigned long min, unsigned long max, const bool rev,
	     const bool rec, const enum maple_type type)
{
	struct maple_node *node = mte_to_node(enode);
	const unsigned long *pivots = ma_pivots(node, type);
	void **slots = ma_slots(node, type);
	const unsigned int npivots = ma_type_slots(type) - 1;
	const unsigned long *gap = type == maple_arange_64 ? node->a.gap : NULL;
	const bool leaf = ma_is_leaf(type);
	unsigned long edge;
	unsigned int i;

	ma_prefetch(node);
	if (rec) {
		s->path->node[s->depth] = enode;
		s->path->min[s->depth] = min;
		s->path->max[s->depth] = max;
	}
	/* the slot holding the window's near edge; a forward search whose
	 * window starts at or before the node starts at its first slot
	 * without counting (the reversed mirror, the data end, measured no
	 * faster: its windows seldom cover a node's end) */
	if (rev) {
		edge = s->max < max ? s->max : max;
		i = ma_pivot_slot(pivots, npivots, edge);
	} else {
		edge = s->min > min ? s->min : min;
		i = edge == min ? 0 : ma_pivot_slot(pivots, npivots, edge);
	}
	for (;;) {
		bool candidate = leaf ? !slots[i] : !gap || gap[i] >= s->size;

		if (candidate) {
			unsigned long first = i ? pivots[i - 1] + 1 : min;
			unsigned long last = i < npivots ? pivots[i] : max;

			bool found;

			/* past the window's far edge: nothing more here */
			if (rev ? last < s->min : first > s->max)
				return false;
			if (rec)
				s->path->offset[s->depth] = (unsigned char)i;
			if (leaf) {
				found = fit(s, first, last, rev);
				if (found && rec)
					s->path->depth = s->depth + 1;
			} else if (rec) {
				s->depth++;
				found = rev ? search_rev_rec(s, slots[i], first,
							     last)
					    : search_fwd_rec(s, slots[i], first,
							     last);
				s->depth--;
			} else {
				found = rev ? search_rev(s, slots[i], first, last)
					    : search_fwd(s, slots[i], first, last);
			}
			if (found)
				return true;
		}
		if (rev ? i == 0 : i >= npivots || pivots[i] >= max)
			return false;
		i = rev ? i - 1 : i + 1;
	}
}

/* One loop per node type, so that what the type decides (where the
 * pivots and slots are, their number, leaf or gap tests) is constant in
 * it. */
static inline __attribute__((always_inline)) bool
search_node(struct gap_search *s, struct maple_enode *enode,
	    unsigned long min, unsigned long max, const bool rev,
	    const bool rec)
{
	switch (mte_node_type(enode)) {
	case maple_leaf_64:
		return search_typed(s, enode, min, max, rev, rec,
				    maple_leaf_64);
	case maple_arange_64:
		return search_typed(s, enode, min, max, rev, rec,
				    maple_arange_64);
	default:
		return search_typed(s, enode, min, max, rev, rec,
				    maple_range_64);
	}
}

static bool search_fwd(struct gap_search *s, struct maple_enode *enode,
		       unsigned long min, unsigned long max)
{
	return search_node(s, enode, min, max, false, false);
}

static bool search_rev(struct gap_search *s, struct maple_enode *enode,
		       unsigned long min, unsigned long max)
{
	return search_node(s, enode, min, max, true, false);
}

static bool search_fwd_rec(struct gap_search *s, struct maple_enode *enode,
			   unsigned long min, unsigned long max)
{
	return search_node(s, enode, min, max, false, true);
}

static bool search_rev_rec(struct gap_search *s, struct maple_enode *enode,
			   unsigned long min, unsigned long max)
{
	return search_node(s, enode, min, max, true, true);
}

static int empty_area(struct ma_state *mas, unsigned long min,
		      unsigned long max, unsigned long size, unsigned long align,
		      unsigned int max_misses, bool rev, struct maple_path *path)
{
	struct maple_tree *mt = mas->tree;
	struct gap_search s = { .min = min, .max = max, .size = size,
				.mask = ~(align - 1),
				.max_misses = max_misses, .path = path };
	void *root = mt->ma_root;
	bool ok;

	if (size == 0 || min > max || max - min < size - 1 || !align ||
	    (align & (align - 1)))
		return -EINVAL;
	if (path)
		path->depth = 0; /* no leaf: a tree without a root node */
	if (!root) {
		ok = fit(&s, 0, ULONG_MAX, rev);
	} else if (!ma_root_is_node(root)) {
		/* the root entry occupies index 0 */
		ok = fit(&s, 1, ULONG_MAX, rev);
	} else if (path) {
		ok = rev ? search_rev_rec(&s, root, 0, ULONG_MAX)
			 : search_fwd_rec(&s, root, 0, ULONG_MAX);
	} else {
		ok = rev ? search_rev(&s, root, 0, ULONG_MAX)
			 : search_fwd(&s, root, 0, ULONG_MAX);
	}
	if (!ok || (s.gave_up && (rev ? s.free_lo == min : s.free_hi == max)))
		return -EBUSY;
	mas->node = NULL;
	mas->status = ma_pause;
	ma_clear_edge(mas);
	if (s.gave_up) {
		/* what is left to search: beyond the last range passed */
		mas->min = rev ? min : s.free_hi + 1;
		mas->max = rev ? s.free_lo - 1 : max;
		return -EAGAIN;
	}
	mas->index = s.found;
	mas->last = s.found + size - 1;
	mas->min = s.free_lo;
	mas->max = s.free_hi;
	return 0;
}

int gap_find(struct ma_state *mas, unsigned long min, unsigned long max,
	     unsigned long size, bool rev, struct maple_path *path)
{
	return empty_area(mas, min, max, size, 1, 0, rev, path);
}

LIBIOVA_EXPORT int mas_empty_area(struct ma_state *mas, unsigned long min,
				  unsigned long max, unsigned long size)
{
	return empty_area(mas, min, max, size, 1, 0, false, NULL);
}

LIBIOVA_EXPORT int mas_empty_area_rev(struct ma_state *mas, unsigned long min,
				      unsigned long max, unsigned long size)
{
	return empty_area(mas, min, max, size, 1, 0, true, NULL);
}

LIBIOVA_EXPORT int mas_empty_area_aligned(struct ma_state *mas,
					  unsigned long min, unsigned long max,
					  unsigned long size, unsigned long align,
					  unsigned int max_misses, bool rev)
{
	return empty_area(mas, min, max, size, align, max_misses, rev, NULL);
}

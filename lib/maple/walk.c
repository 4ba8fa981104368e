/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * walk.c - descending the tree: the read path of every lookup, and the
 * path walk writers start from.
 *
 * Readers in RCU mode may meet a node that a writer has just replaced.
 * The writer marks such a node dead before anyone can reach it through a
 * new path, so a reader checks the mark after reading what it needs from a
 * node and, when set, starts again from the root.
 */
#include "walk.h"

/*
 * One step down from @node (of @type; leaves are laid out as range
 * nodes) towards @index: the slot taken, its bounds in *@min and *@max
 * and its content in *@next.  For a leaf, what it writes beyond the slot
 * is not used.
 */
static inline __attribute__((always_inline)) unsigned int
descend_step(struct maple_node *node, const enum maple_type type,
	     unsigned long index, unsigned long *min, unsigned long *max,
	     struct maple_enode **next)
{
	const unsigned long *pivots = ma_pivots(node, type);
	const unsigned int npivots = ma_type_slots(type) - 1;
	unsigned int off = ma_pivot_slot(pivots, npivots, index);

	*next = rcu_dereference(ma_slots(node, type)[off]);
	if (off > 0)
		*min = pivots[off - 1] + 1;
	if (off < npivots)
		*max = pivots[off];
	return off;
}

void path_walk(struct maple_tree *mt, unsigned long index,
		  struct maple_path *path, unsigned int stop)
{
	struct maple_enode *enode = mt->ma_root;
	unsigned long min = 0, max = ULONG_MAX;
	unsigned int d = 0;

	for (;;) {
		enum maple_type type = mte_node_type(enode);
		struct maple_node *node = mte_to_node(enode);
		struct maple_enode *next;
		unsigned int off;

		ma_prefetch(node);
		path->node[d] = enode;
		path->min[d] = min;
		path->max[d] = max;
		if (ma_is_leaf(type)) {
			/* the slot only: its entry is the writer's to read */
			path->offset[d++] = (unsigned char)ma_pivot_slot(
				node->r.pivot, MAPLE_RANGE64_SLOTS - 1, index);
			break;
		}
		/* the node's shape a constant in each branch */
		if (type == maple_arange_64)
			off = descend_step(node, maple_arange_64, index, &min,
					   &max, &next);
		else
			off = descend_step(node, maple_range_64, index, &min,
					   &max, &next);
		path->offset[d] = (unsigned char)off;
		d++;
		if (d == stop)
			break;
		enode = next;
	}
	path->depth = d;
}

bool path_sibling(struct maple_path *path, unsigned int d, bool left)
{
	struct maple_enode *penode = path->node[d - 1];
	enum maple_type ptype = mte_node_type(penode);
	struct maple_node *parent = mte_to_node(penode);
	const unsigned long *pivots = ma_pivots(parent, ptype);
	const unsigned int npivots = ma_type_slots(ptype) - 1;
	unsigned int o = path->offset[d - 1], s;
	unsigned long pmax = path->max[d - 1], max;
	struct maple_enode *sibling;

	if (left ? o == 0 : o >= ma_data_end(parent, ptype, pmax))
		return false;
	s = left ? o - 1 : o + 1;
	/* pivots from the data end on hold the parent's max */
	max = s < npivots ? pivots[s] : pmax;
	sibling = rcu_dereference(ma_slots(parent, ptype)[s]);
	ma_prefetch(mte_to_node(sibling));
	path->offset[d - 1] = (unsigned char)s;
	path->node[d] = sibling;
	path->min[d] = s ? pivots[s - 1] + 1 : path->min[d - 1];
	path->max[d] = max;
	/* the slot of the index just beyond the old node */
	path->offset[d] = left ? (unsigned char)ma_data_end(
					 mte_to_node(sibling),
					 mte_node_type(sibling), max)
			       : 0;
	path->depth = d + 1;
	return true;
}

/*
 * Position @mas on the range holding @index and return its entry.  Sets
 * status (ma_none, ma_root or ma_active), index and last; for ma_active
 * also node (the leaf), min, max, offset and end.
 */
void *ma_descend(struct ma_state *mas, unsigned long index)
{
	struct maple_tree *mt = mas->tree;
	void *entry;

retry:
	entry = rcu_dereference(mt->ma_root);
	ma_clear_edge(mas);
	if (!entry) {
		mas->status = ma_none;
		mas->index = 0;
		mas->last = ULONG_MAX;
		mas->node = NULL;
		return NULL;
	}
	if (!ma_root_is_node(entry)) {
		mas->status = ma_root;
		mas->node = NULL;
		if (index == 0) {
			mas->index = mas->last = 0;
			return entry;
		}
		mas->index = 1;
		mas->last = ULONG_MAX;
		return NULL;
	}

	unsigned long min = 0, max = ULONG_MAX;
	for (;;) {
		struct maple_enode *enode = entry, *next;
		enum maple_type type = mte_node_type(enode);
		struct maple_node *node = mte_to_node(enode);

		ma_prefetch(node);
		if (ma_is_leaf(type)) {
			unsigned int end, off;

			off = ma_leaf_slot_end(node->r.pivot, index, max, &end);
			entry = rcu_dereference(node->r.slot[off]);
			mas->node = enode;
			mas->min = min;
			mas->max = max;
			mas->offset = (unsigned char)off;
			mas->end = (unsigned char)end;
			ma_set_slot_range(mas);
			/* all read from the leaf: was it whole? */
			if (unlikely(ma_dead_node(node)))
				goto retry;
			mas->status = ma_active;
			return entry;
		}
		/* the node's shape a constant in each branch */
		if (type == maple_arange_64)
			descend_step(node, maple_arange_64, index, &min, &max,
				     &next);
		else
			descend_step(node, maple_range_64, index, &min, &max,
				     &next);
		entry = next;
		if (unlikely(ma_dead_node(node)))
			goto retry;
	}
}

LIBIOVA_EXPORT void *mas_walk(struct ma_state *mas)
{
	return ma_descend(mas, mas->index);
}

/* The slot of @node (of @type: leaves are laid out as range nodes)
 * holding @index. */
static inline __attribute__((always_inline)) void *
lookup_slot(struct maple_node *node, const enum maple_type type,
	    unsigned long index)
{
	unsigned int off = ma_pivot_slot(ma_pivots(node, type),
					 ma_type_slots(type) - 1, index);

	return rcu_dereference(ma_slots(node, type)[off]);
}

/*
 * The lookup of mtree_load(): the same descent without a maple state, kept
 * separate because it is the hottest path of the library.
 */
void *ma_lookup(struct maple_tree *mt, unsigned long index)
{
	void *entry;

retry:
	entry = rcu_dereference(mt->ma_root);
	if (!ma_root_is_node(entry))
		return index == 0 ? entry : NULL;
	for (;;) {
		struct maple_enode *enode = entry;
		enum maple_type type = mte_node_type(enode);
		struct maple_node *node = mte_to_node(enode);

		ma_prefetch(node);
		/* the node's shape a constant in each branch */
		if (type == maple_arange_64)
			entry = lookup_slot(node, maple_arange_64, index);
		else
			entry = lookup_slot(node, maple_range_64, index);
		if (unlikely(ma_dead_node(node)))
			goto retry;
		if (ma_is_leaf(type))
			return entry;
	}
}

/*
 * mt_find's walk: the first entry, not a zero entry, of a range that ends
 * at or after @index and starts at or before @limit (>= @index), with the
 * range's last index in *@last; NULL if there is none.  Like ma_lookup it
 * keeps no maple state, and of a node's bounds only the upper one: a range
 * found after the slot of @index starts past @index, so no lower bound is
 * ever needed.  A leaf whose ranges end before an entry is found sends the
 * walk down again from the first index after the leaf.
 */
void *ma_lookup_first(struct maple_tree *mt, unsigned long index,
		      unsigned long limit, unsigned long *last)
{
	void *entry;

retry:
	entry = rcu_dereference(mt->ma_root);
	if (!ma_root_is_node(entry)) {
		/* the root entry is the range [0, 0] */
		if (index || !entry || xa_is_zero(entry))
			return NULL;
		*last = 0;
		return entry;
	}
	for (unsigned long max = ULONG_MAX;;) {
		struct maple_enode *enode = entry;
		enum maple_type type = mte_node_type(enode);
		struct maple_node *node = mte_to_node(enode);
		const unsigned long *pivots;
		unsigned int off;

		ma_prefetch(node);
		if (!ma_is_leaf(type)) {
			struct maple_enode *next;
			unsigned long min = 0;

			/* the node's shape a constant in each branch */
			if (type == maple_arange_64)
				descend_step(node, maple_arange_64, index,
					     &min, &max, &next);
			else
				descend_step(node, maple_range_64, index,
					     &min, &max, &next);
			if (unlikely(ma_dead_node(node)))
				goto retry;
			entry = next;
			continue;
		}
		/* the leaf: from the slot of @index on, to the one ending
		 * at max (those after it are unused) */
		pivots = node->r.pivot;
		off = ma_pivot_slot(pivots, MAPLE_RANGE64_SLOTS - 1, index);
		for (;;) {
			unsigned long end = off < MAPLE_RANGE64_SLOTS - 1
						    ? pivots[off] : max;

			entry = rcu_dereference(node->r.slot[off]);
			if (entry && !xa_is_zero(entry)) {
				if (unlikely(ma_dead_node(node)))
					goto retry;
				*last = end;
				return entry;
			}
			if (end >= max || end >= limit)
				break;
			off++;
			/* the next range starts at end + 1 */
		}
		if (unlikely(ma_dead_node(node)))
			goto retry;
		if (max >= limit)
			return NULL;
		index = max + 1;
		goto retry;
	}
}


/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * walk.h - descending the tree (walk.c): the read path of every lookup,
 * positioning a maple state, and the recorded path writers start from.
 *
 * Floor 3 of lib/maple (docs/maple-tree.md): includes node.h and mas.h.
 *
 * Locking: ma_descend() and ma_lookup() run under the RCU read lock or the
 * write lock; path_walk() under the write lock (its path is only good
 * while nothing changes the tree).
 */
#ifndef LIBIOVA_MAPLE_WALK_H
#define LIBIOVA_MAPLE_WALK_H

#include "mas.h"

/*
 * A path from the root to a node: what a walk saw at each depth (0 is the
 * root).  Writers keep it so they never need to climb parent links.
 */
struct maple_path {
	struct maple_enode *node[MAPLE_HEIGHT_MAX];
	unsigned long min[MAPLE_HEIGHT_MAX];
	unsigned long max[MAPLE_HEIGHT_MAX];
	unsigned char offset[MAPLE_HEIGHT_MAX]; /* slot taken at that depth */
	unsigned int depth; /* entries filled: the leaf is node[depth - 1] */
};

/* Copy @src's filled depths to @dst: a whole struct is some 780 bytes,
 * a path of a tree a million entries high about 160. */
static inline void path_copy(struct maple_path *dst,
			     const struct maple_path *src)
{
	unsigned int n = src->depth;

	memcpy(dst->node, src->node, n * sizeof(src->node[0]));
	memcpy(dst->min, src->min, n * sizeof(src->min[0]));
	memcpy(dst->max, src->max, n * sizeof(src->max[0]));
	memcpy(dst->offset, src->offset, n * sizeof(src->offset[0]));
	dst->depth = n;
}

/* Descend from the root to the leaf holding @index, to depth @stop (or
 * the leaf if @stop is 0), recording the path.  The root must be a node. */
void path_walk(struct maple_tree *mt, unsigned long index,
	       struct maple_path *path, unsigned int stop);

/*
 * Move depth @d (>= 1) of @path to the node beside it under the same
 * parent, to the left or the right: @path becomes what path_walk() to the
 * index just beyond the old node, stopping at depth @d + 1, would make of
 * it, without the walk from the root.  False, with nothing changed, when
 * the node is its parent's first (last) child.  Under the write lock.
 */
bool path_sibling(struct maple_path *path, unsigned int d, bool left);

/*
 * Position @mas on the range holding @index and return its entry.  Sets
 * status (ma_none, ma_root or ma_active), index and last; for ma_active
 * also node (the leaf), min, max, offset and end.
 */
void *ma_descend(struct ma_state *mas, unsigned long index);

/* Set mas->index and mas->last to the range of the leaf slot mas is on.
 * Inline: an iteration calls it on every step. */
static inline void ma_set_slot_range(struct ma_state *mas)
{
	struct maple_node *node = mte_to_node(mas->node);
	unsigned long *pivots = ma_pivots(node, maple_leaf_64);

	mas->index = mas->offset ? pivots[mas->offset - 1] + 1 : mas->min;
	mas->last = mas->offset < mas->end ? pivots[mas->offset] : mas->max;
}

/* The entry at @index, without a maple state: mtree_load's descent. */
void *ma_lookup(struct maple_tree *mt, unsigned long index);

/* mt_find's walk (walk.c): the first entry (not a zero entry) of a range
 * meeting [@index, @limit], its last index in *@last; NULL if none.
 * Under the RCU read lock or the write lock. */
void *ma_lookup_first(struct maple_tree *mt, unsigned long index,
		      unsigned long limit, unsigned long *last);

#endif /* LIBIOVA_MAPLE_WALK_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gap.h - the gaps of allocation trees (gap.c): keeping them exact after
 * a write.  The gap search itself is public (mas_empty_area*).
 *
 * Floor 4 of lib/maple (docs/maple-tree.md): includes walk.h (a write
 * hands over the path it changed).
 *
 * Locking: under the tree's write lock; gaps are written in place.
 */
#ifndef LIBIOVA_MAPLE_GAP_H
#define LIBIOVA_MAPLE_GAP_H

#include "walk.h"

/* The largest gap of a node covering [min, max]. */
unsigned long ma_max_gap(struct maple_node *node, enum maple_type type,
			 unsigned long min, unsigned long max);

/* After child @offset of path node @depth changed, update the gaps of
 * that node and above (allocation trees only; in place). */
void path_update_gaps(struct maple_tree *mt, struct maple_path *path,
		      unsigned int depth);

/* A slot store in leaf @depth turned the range of @size indices into a
 * gap (@freed) or filled it: the same update in O(1) when the leaf's
 * largest gap is known not to need a rescan. */
void path_slot_gap_changed(struct maple_tree *mt, struct maple_path *path,
			   unsigned int depth, unsigned long size,
			   bool freed);

/* Fill an arange node's end and largest-gap metadata. */
void ma_set_meta(struct maple_node *node, unsigned int end);

/*
 * mas_empty_area (@rev false) or mas_empty_area_rev, recording in @path
 * the way from the root to the leaf holding the result (path->depth 0:
 * the tree has no root node), as path_walk() to mas->index would: a
 * store of the result under the same lock hold need not walk again
 * (wr_store_walked, write.h).  Under the write lock.
 */
int gap_find(struct ma_state *mas, unsigned long min, unsigned long max,
	     unsigned long size, bool rev, struct maple_path *path);

#endif /* LIBIOVA_MAPLE_GAP_H */

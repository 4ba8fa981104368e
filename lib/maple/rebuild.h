/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rebuild.h - phase 1 of a write that cannot be done in place (rebuild.c):
 * gather the items of a level into the big node, pack them into new
 * nodes, climb.  Phase 2 (publishing) is write.c's.
 *
 * Floor 6 of lib/maple (docs/maple-tree.md): includes wr_state.h.
 *
 * Allocation: every new node comes from the node supply (supply.h).  When
 * one cannot be had, the rebuild records the error in the write state and
 * goes on without allocating, counting, so that wr->needed ends as the
 * number of nodes the whole write takes: what a retry asks for.  A write
 * state whose dry_run is set from the start only counts.
 *
 * The write state comes as write.c's wr_init leaves it (no levels, no
 * swap node, nothing to drop), with the leaf-level items gathered.
 *
 * Locking: under the tree's write lock; nothing visible changes here.
 */
#ifndef LIBIOVA_MAPLE_REBUILD_H
#define LIBIOVA_MAPLE_REBUILD_H

#include "wr_state.h"

/* The structural write: from the leaf-level items in wr->big (with
 * wr->lo and wr->hi the paths to the first and last leaf they replace, or
 * wr->lo.depth 0 for a tree with no root node) up to one slot store in a
 * parent (wr->swap_node) or a new root (wr->new_root). */
void rebuild(struct ma_wr_state *wr);

/* The one-leaf shortcut: wr->big fits one leaf and replaces wr->lo's leaf
 * alone (the caller checked the bounds rebuild() would apply). */
void rebuild_leaf(struct ma_wr_state *wr);

/* Write items [@s, @s + @n) of @b into @node as a node of @type covering
 * up to @max: every pivot, slot and gap (the node need not be cleared). */
void ma_node_write(struct maple_node *node, enum maple_type type,
		   const struct maple_big_node *b, unsigned int s,
		   unsigned int n, unsigned long max);

/* The number of slots in use in a node covering up to @max. */
unsigned int ma_node_count(struct maple_enode *enode, unsigned long max);

#endif /* LIBIOVA_MAPLE_REBUILD_H */

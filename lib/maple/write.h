/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * write.h - the write core behind every store, insert and erase
 * (write.c): classify the write, then do it.
 *
 * Floor 7 of lib/maple (docs/maple-tree.md): includes walk.h; write.c
 * itself uses every floor below.
 *
 * Locking: the caller holds the tree's write lock.  Allocation: only with
 * @gfp, through the node supply; these calls do not retry (supply_write
 * does).  On failure they return NULL with the error in @mas
 * (mas_is_err, xa_err(mas->node)), the tree exactly as it was, and for
 * -ENOMEM the number of nodes the write needs in mas->alloc_req.
 */
#ifndef LIBIOVA_MAPLE_WRITE_H
#define LIBIOVA_MAPLE_WRITE_H

#include "walk.h"

/* Store @entry over [mas->index, mas->last].  Returns the entry that was
 * at mas->index. */
void *wr_store(struct ma_state *mas, void *entry, gfp_t gfp);

/* wr_store() of a range whose leaf @walked leads to, from the root, as
 * path_walk() to mas->index would: a search under the same lock hold
 * recorded it (gap_find), so the store need not walk again.  @walked with
 * depth 0 (no root node) walks as wr_store() does. */
void *wr_store_walked(struct ma_state *mas, void *entry, gfp_t gfp,
		      const struct maple_path *walked);

/* wr_store(), failing with -EEXIST if the range holds anything (an entry
 * or XA_ZERO_ENTRY). */
void *wr_insert(struct ma_state *mas, void *entry, gfp_t gfp);

/* Erase the range holding mas->index, in one walk.  Returns the entry
 * erased (NULL: nothing there) with index and last set to its range. */
void *wr_erase(struct ma_state *mas, gfp_t gfp);

/* How many nodes storing @entry over [mas->index, mas->last] would take
 * now (0: none): what mas_preallocate() reserves.  Changes nothing. */
unsigned int wr_node_count(struct ma_state *mas, void *entry);

#endif /* LIBIOVA_MAPLE_WRITE_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * free.h - giving nodes back (free.c): at once when no reader can see
 * them, after a grace period (batched) in RCU mode.
 *
 * Floor 3 of lib/maple (docs/maple-tree.md): includes node.h and the
 * allocators' internal header.
 *
 * Locking: under the tree's write lock (the pending batch is the tree's).
 */
#ifndef LIBIOVA_MAPLE_FREE_H
#define LIBIOVA_MAPLE_FREE_H

#include "node.h"

/* Give back a node that readers may still see (grace period in RCU mode,
 * batched) or that nobody can see (immediately). */
void ma_free_node(struct maple_tree *mt, struct maple_node *node);

/* Hand the tree's pending batch of retired nodes to call_rcu now: before
 * anything may wait for nodes to come back. */
void ma_retired_flush(struct maple_tree *mt);

/* Free a whole subtree.  Unused slots of internal nodes are NULL, so no
 * node limits are needed to find the children. */
void ma_free_subtree(struct maple_tree *mt, struct maple_enode *enode);

#endif /* LIBIOVA_MAPLE_FREE_H */

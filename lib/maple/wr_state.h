/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wr_state.h - the state of one write (struct ma_wr_state) and the big
 * node it gathers items in (struct maple_big_node), shared by write.c
 * (classification, fast paths, publishing) and rebuild.c (phase 1 below).
 *
 * Floor 5 of lib/maple (docs/maple-tree.md): includes walk.h (a write
 * keeps the paths it walked).
 *
 * A write that cannot be done in place is done in two phases:
 *
 *   1. build: starting from the leaves, the items that replace a run of
 *      old nodes are gathered in a "big node" and packed into a few new
 *      nodes; the level above then gathers its own items around them, and
 *      so on up to the first level where one new node replaces exactly one
 *      old node, or to the root.  Nothing visible changes; every node is
 *      allocated here, and a failed allocation frees the new nodes and
 *      leaves the tree exactly as it was.
 *   2. publish: children learn their new parents, one pointer store makes
 *      the new nodes reachable (a parent slot, or the root), gaps above are
 *      updated in place, and the replaced nodes are freed (after a grace
 *      period in RCU mode).
 *
 * The same two phases serve splits, pushes into a sibling, rebalancing,
 * spanning stores, new roots and height shrinking: they differ only in
 * how many items a level gathers.
 */
#ifndef LIBIOVA_MAPLE_WR_STATE_H
#define LIBIOVA_MAPLE_WR_STATE_H

#include <string.h>

#include "walk.h"

/* Most items a level gathers (see rebuild.c for the bound) and nodes it
 * packs them into. */
#define MAPLE_BIG_NODE_SLOTS 64
/* enough for a full big node even in 10-slot nodes */
#define MAPLE_PACK_MAX                                                         \
	((MAPLE_BIG_NODE_SLOTS + MAPLE_ARANGE64_SLOTS - 1) / MAPLE_ARANGE64_SLOTS)
#define MAPLE_WR_MAX_NEW (MAPLE_PACK_MAX * (MAPLE_HEIGHT_MAX + 1))

/* Items replacing a run of old nodes: item i covers
 * [i ? pivot[i - 1] + 1 : min, pivot[i]]. */
struct maple_big_node {
	unsigned long pivot[MAPLE_BIG_NODE_SLOTS];
	void *slot[MAPLE_BIG_NODE_SLOTS];
	/* internal levels of alloc trees */
	unsigned long gap[MAPLE_BIG_NODE_SLOTS];
	unsigned int count;
	unsigned long min;
};

/*
 * What a rebuilt level replaced, freed once the write is published.
 * Absorbed nodes had their items copied into the level's big node: each is
 * freed alone (its children live on, or were absorbed a level below).
 * Children of the parents that the parent level's items skip, and that
 * were not absorbed, lie wholly inside the stored range: each is freed with
 * its whole subtree.
 */
#define MAPLE_ABSORB_MAX 4
struct wr_level {
	struct maple_enode *absorbed[MAPLE_ABSORB_MAX];
	unsigned int nr_absorbed;
	bool has_parent;
	struct maple_enode *lparent, *rparent;
	unsigned char loff, roff; /* first and last skipped slot */
};

/*
 * What a write does, decided before anything is allocated or changed
 * (write.c's classification; the kernel's store types are the model for
 * the idea).  Each kind fixes how many nodes the write takes, but for
 * wr_rebuild, whose count a dry rebuild gives.
 */
enum wr_store_type {
	wr_none,       /* an erase of a NULL range: nothing to do, 0 nodes */
	wr_exists,     /* an insert over something: -EEXIST, 0 nodes */
	wr_exact_fit,  /* exactly one existing range: a slot store, 0 nodes */
	wr_append,     /* an entry over the tail of a leaf's last range,
			* with room, not in RCU mode: the slots after the
			* data end are written, 0 nodes */
	wr_in_place,   /* fits its leaf, not in RCU mode: the leaf is
			* rewritten where it is, 0 nodes */
	wr_node_store, /* fits its leaf, RCU mode: a new leaf, 1 node */
	wr_store_root, /* no root node, and the result needs none (an empty
			* tree, or one entry at index 0 in the root) */
	wr_new_root,   /* no root node yet: the first leaf, 1 node */
	wr_clear_tree, /* NULL over everything: every node goes, 0 nodes */
	wr_rebuild,    /* split, rebalance or spanning store: rebuild.c */
};

struct ma_wr_state {
	struct ma_state *mas;
	struct maple_tree *mt;
	gfp_t gfp;
	bool dry_run;          /* count the nodes needed, allocate nothing */
	unsigned int needed;   /* nodes this write took (or would take) */
	int alloc_err;         /* set when a node could not be had: -ENOMEM,
				* or -EINVAL (the allocator's node misaligned) */
	unsigned int height;

	/* what the classification found */
	enum wr_store_type type;
	void *entry;           /* to store */
	unsigned long first, last; /* stored over, NULL neighbours absorbed */
	void *content;         /* returned: the entry at mas->index before, or
				* for an erase the entry erased */
	bool erased;           /* an erase: mas is left on the erased range */
	unsigned long erased_first, erased_last;

	struct maple_path lo, hi; /* paths to the first and last leaf touched */
	struct maple_big_node big;

	struct maple_node *new_nodes[MAPLE_WR_MAX_NEW];
	struct maple_enode *new_enodes[MAPLE_WR_MAX_NEW];
	unsigned int nr_new;
	struct wr_level levels[MAPLE_HEIGHT_MAX];
	unsigned int nr_levels;

	/* the outcome of phase 1: either one node to store in a parent slot
	 * (swap_node, at path depth swap_depth), or a new root */
	struct maple_enode *swap_node;
	unsigned int swap_depth;
	void *new_root;
	/* a write that leaves nothing but NULL: the old root node, whose
	 * whole tree goes once the root is NULL (else NULL) */
	struct maple_enode *drop_root;
};

/* Append an item to a big node. */
static inline void big_node_push(struct maple_big_node *b, unsigned long pivot,
			       void *slot, unsigned long gap)
{
	b->pivot[b->count] = pivot;
	b->slot[b->count] = slot;
	b->gap[b->count] = gap;
	b->count++;
}

/*
 * Items @i - 1 and @i of a leaf-level big node as one, if both are NULL.
 * The tree never holds two adjacent NULL ranges, so a run of items copied
 * from leaves has none either: only where a write or a join put items
 * side by side can two meet, and the writers ask here at those places.
 */
static inline void big_node_join_nulls(struct maple_big_node *b,
				       unsigned int i)
{
	unsigned int tail;

	if (i == 0 || i >= b->count || b->slot[i - 1] || b->slot[i])
		return;
	b->pivot[i - 1] = b->pivot[i];
	tail = b->count - i - 1;
	memmove(&b->pivot[i], &b->pivot[i + 1], tail * sizeof(b->pivot[0]));
	memmove(&b->slot[i], &b->slot[i + 1], tail * sizeof(b->slot[0]));
	memmove(&b->gap[i], &b->gap[i + 1], tail * sizeof(b->gap[0]));
	b->count--;
}

#endif /* LIBIOVA_MAPLE_WR_STATE_H */

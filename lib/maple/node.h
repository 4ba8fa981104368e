/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * node.h - the maple tree's node layout and what every file of lib/maple
 * shares about it.  Nothing outside lib/maple includes this.
 *
 * Nodes are 256 bytes, 256-byte aligned.  Three types:
 *
 *   leaf    16 slots of entries, 15 pivots
 *   range   internal node of a regular tree: 16 child slots, 15 pivots
 *   arange  internal node of an allocation tree: 10 child slots, 9 pivots,
 *           the largest gap below each child, and metadata (the last used
 *           slot and the slot of the largest gap)
 *
 * Slot i of a node covering [min, max] holds the range
 * [pivot[i-1] + 1, pivot[i]], with pivot[-1] = min - 1 and the pivot of
 * the last used slot ("end") equal to max.  Pivots from end onwards hold
 * max: a lookup stops at the first pivot >= index without knowing end, and
 * end is the first slot whose pivot is max (or the last slot).  Every
 * pivot before end is below max, so end is never ambiguous.
 *
 * Tagged node pointers ("enodes", what slots of internal nodes and the
 * tree root hold): node address | type << 3 | 2.  The low bits 10 make an
 * enode an internal entry, which users cannot store through the normal
 * API, and the address is above 4096, so it is never a reserved value.
 *
 * Parent links: the root's parent is the tree's address | 1; any other
 * node's parent is the parent node's address | slot << 3 | (parent is an
 * arange node) << 1.  A dead node (replaced, waiting for a grace period)
 * has itself as parent: an RCU reader that finds this restarts its walk.
 *
 * Occupancy: a node other than the root holds at least MT_MIN_SLOTS of its
 * type, unless it is the rightmost node of its level (max == ULONG_MAX):
 * sequential appends then fill nodes completely.  Splits leave the room
 * at the end where the write happened (rebuild.c, pack_room), so stores
 * in descending order fill nodes completely too.  A leaf never holds two
 * adjacent NULL ranges.
 */
#ifndef LIBIOVA_MAPLE_NODE_H
#define LIBIOVA_MAPLE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rcu.h"

#include <libiova/maple_tree.h>

#include "compiler.h"

#define MT_RANGE_SLOTS 16
#define MT_ARANGE_SLOTS 10
#define MT_MAX_SLOTS MT_RANGE_SLOTS

enum mt_node_type {
	mt_leaf = 1,
	mt_range = 2,
	mt_arange = 3,
};

struct mt_range_node {
	uintptr_t parent;
	unsigned long pivot[MT_RANGE_SLOTS - 1];
	void *slot[MT_RANGE_SLOTS];
};

struct mt_arange_node {
	uintptr_t parent;
	unsigned long pivot[MT_ARANGE_SLOTS - 1];
	void *slot[MT_ARANGE_SLOTS];
	unsigned long gap[MT_ARANGE_SLOTS];
	unsigned char end;     /* last used slot */
	unsigned char gap_off; /* slot with the largest gap */
};

/*
 * A replaced node waiting for its grace period.  The first node a tree
 * retires after handing a batch to call_rcu holds the next batch: the
 * addresses of up to MT_DEAD_BATCH nodes retired after it (free.c).  All
 * of this overlays pivots and slots a late reader may still load; it sees
 * the dead mark (written first) when it checks the parent afterwards, and
 * restarts.  The batch stops short of an arange node's end and gap_off,
 * which a reader may use as bounds.
 */
#define MT_DEAD_BATCH 25
struct mt_dead_node {
	uintptr_t parent;
	struct rcu_head rcu;
	struct mt_allocator *alloc;
	unsigned int count;
	struct maple_node *batch[MT_DEAD_BATCH];
};

struct maple_node {
	union {
		uintptr_t parent;
		struct mt_range_node r;
		struct mt_arange_node a;
		struct mt_dead_node dead;
	};
} __attribute__((aligned(MT_NODE_SIZE)));

_Static_assert(sizeof(struct maple_node) == MT_NODE_SIZE,
	       "a node is 256 bytes");
_Static_assert(sizeof(struct mt_dead_node) <=
		       offsetof(struct mt_arange_node, end),
	       "a batch leaves an arange node's metadata alone");

/* ---- tagged pointers ------------------------------------------------- */

#define MT_ENODE_TAG 2ul
#define MT_ENODE_TYPE_SHIFT 3
#define MT_ENODE_TYPE_MASK (3ul << MT_ENODE_TYPE_SHIFT)
#define MT_ENODE_ADDR_MASK (~(uintptr_t)(MT_NODE_SIZE - 1))

static inline struct maple_enode *mt_mk_enode(struct maple_node *node,
					      enum mt_node_type type)
{
	return (struct maple_enode *)((uintptr_t)node |
				      ((uintptr_t)type << MT_ENODE_TYPE_SHIFT) |
				      MT_ENODE_TAG);
}

static inline struct maple_node *mt_to_node(const struct maple_enode *enode)
{
	return (struct maple_node *)((uintptr_t)enode & MT_ENODE_ADDR_MASK);
}

static inline enum mt_node_type mt_enode_type(const struct maple_enode *enode)
{
	return (enum mt_node_type)(((uintptr_t)enode & MT_ENODE_TYPE_MASK) >>
				   MT_ENODE_TYPE_SHIFT);
}

/*
 * Is the root a node?  The root holds an entry directly only for a tree
 * whose one entry sits at index 0, and never an internal entry, so every
 * internal value in the root is a node.
 */
static inline bool mt_root_is_node(const void *root)
{
	return xa_is_internal(root);
}

static inline bool mt_type_is_leaf(enum mt_node_type type)
{
	return type == mt_leaf;
}

static inline unsigned int mt_type_slots(enum mt_node_type type)
{
	return type == mt_arange ? MT_ARANGE_SLOTS : MT_RANGE_SLOTS;
}

/* Fewest slots a node other than the root or the rightmost may hold. */
static inline unsigned int mt_type_min_slots(enum mt_node_type type)
{
	return mt_type_slots(type) / 2 - 2;
}

static inline unsigned long *mt_node_pivots(struct maple_node *node,
					    enum mt_node_type type)
{
	return type == mt_arange ? node->a.pivot : node->r.pivot;
}

static inline void **mt_node_slots(struct maple_node *node,
				   enum mt_node_type type)
{
	return type == mt_arange ? node->a.slot : node->r.slot;
}

/*
 * The slot of a node holding @index: the first pivot >= @index, which is
 * the number of pivots below @index, as pivots ascend and those from end
 * on hold the node's max (>= @index).  Counted without a branch: where a
 * random lookup stops is unpredictable, and a loop that stopped there
 * cost a branch mispredict per level.  A dead node's pivots may be
 * anything; the count still stays within the node.
 */
static inline unsigned int mt_slot_of(const unsigned long *pivots,
				   unsigned int npivots, unsigned long index)
{
	unsigned int lo = 0, hi = 0, i;

	/* two sums, so the adds do not wait on one another */
	for (i = 0; i + 1 < npivots; i += 2) {
		lo += pivots[i] < index;
		hi += pivots[i + 1] < index;
	}
	if (i < npivots)
		lo += pivots[i] < index;
	return lo + hi;
}

/* The last used slot of a node whose maximum is @max. */
static inline unsigned int mt_node_end(struct maple_node *node,
				       enum mt_node_type type,
				       unsigned long max)
{
	if (type == mt_arange)
		return node->a.end;
	/* the first pivot that is max: the slot of max */
	return mt_slot_of(mt_node_pivots(node, type), mt_type_slots(type) - 1,
			  max);
}

/*
 * A node is four cache lines: pivots in the first two, slots (and gaps) in
 * the last two.  Asking for all four at once overlaps their misses instead
 * of paying for them one after the other.
 */
static inline void mt_prefetch_node(const struct maple_node *node)
{
	const char *p = (const char *)node;

	__builtin_prefetch(p + 64);
	__builtin_prefetch(p + 128);
	__builtin_prefetch(p + 192);
}

/* ---- parent links ---------------------------------------------------- */

#define MT_PARENT_ROOT 1ul
#define MT_PARENT_ARANGE 2ul
#define MT_PARENT_SLOT_SHIFT 3
#define MT_PARENT_SLOT_MASK (0x1ful << MT_PARENT_SLOT_SHIFT)

static inline void mt_set_parent_root(struct maple_node *node,
				      struct maple_tree *mt)
{
	node->parent = (uintptr_t)mt | MT_PARENT_ROOT;
}

static inline void mt_set_parent(struct maple_node *node,
				 struct maple_enode *parent, unsigned int slot)
{
	node->parent = (uintptr_t)mt_to_node(parent) |
		       ((uintptr_t)slot << MT_PARENT_SLOT_SHIFT) |
		       (mt_enode_type(parent) == mt_arange ? MT_PARENT_ARANGE
							   : 0);
}

static inline bool mt_parent_is_root(const struct maple_node *node)
{
	return node->parent & MT_PARENT_ROOT;
}

static inline unsigned int mt_parent_slot(const struct maple_node *node)
{
	return (node->parent & MT_PARENT_SLOT_MASK) >> MT_PARENT_SLOT_SHIFT;
}

static inline struct maple_node *mt_parent_node(const struct maple_node *node)
{
	return (struct maple_node *)(node->parent & MT_ENODE_ADDR_MASK);
}

/*
 * Has @node been replaced?  Readers call this *after* reading what they
 * need from the node, and discard those reads if it is dead: a writer
 * marks a node dead before anything else about it changes, so reads
 * ordered before a "not dead" answer saw it whole.  The read barrier keeps
 * that order.
 */
static inline bool mt_node_is_dead(const struct maple_node *node)
{
	cmm_smp_rmb();
	return CMM_LOAD_SHARED(node->parent) == (uintptr_t)node;
}

/* ---- tree flags ------------------------------------------------------- */

static inline unsigned int mt_flags_height(unsigned int flags)
{
	return (flags & MT_FLAGS_HEIGHT_MASK) >> MT_FLAGS_HEIGHT_OFFSET;
}

static inline void mt_set_height(struct maple_tree *mt, unsigned int height)
{
	mt->ma_flags = (mt->ma_flags & ~MT_FLAGS_HEIGHT_MASK) |
		       (height << MT_FLAGS_HEIGHT_OFFSET);
}

static inline enum mt_node_type mt_internal_type(const struct maple_tree *mt)
{
	return mt_is_alloc(mt) ? mt_arange : mt_range;
}

static inline struct mt_allocator *mt_allocator_of(struct maple_tree *mt)
{
	return mt->ma_alloc ? mt->ma_alloc : mt_allocator_default();
}

/* Saturating size of [first, last]: 2^64 does not fit, ULONG_MAX does. */
static inline unsigned long mt_range_size(unsigned long first,
					  unsigned long last)
{
	unsigned long n = last - first;

	return n == ULONG_MAX ? ULONG_MAX : n + 1;
}

/* ---- shared between the files of lib/maple ---------------------------- */

/*
 * A path from the root to a node: what a walk saw at each depth (0 is the
 * root).  Writers keep it so they never need to climb parent links.
 */
struct mt_path {
	struct maple_enode *node[MAPLE_HEIGHT_MAX];
	unsigned long min[MAPLE_HEIGHT_MAX];
	unsigned long max[MAPLE_HEIGHT_MAX];
	unsigned char offset[MAPLE_HEIGHT_MAX]; /* slot taken at that depth */
	unsigned int depth; /* entries filled: the leaf is node[depth - 1] */
};

/* walk.c: descend from the root to the leaf holding @index, to depth
 * @stop (or the leaf if @stop is 0), recording the path.  The root must be
 * a node. */
void mt_path_walk(struct maple_tree *mt, unsigned long index,
		  struct mt_path *path, unsigned int stop);

/* gap.c: the largest gap of a node covering [min, max]. */
unsigned long mt_node_max_gap(struct maple_node *node, enum mt_node_type type,
			      unsigned long min, unsigned long max);
/* gap.c: after child @offset of path node @depth changed, update the gaps
 * of that node and above (allocation trees only; in place). */
void mt_path_update_gaps(struct maple_tree *mt, struct mt_path *path,
			 unsigned int depth);
/* gap.c: a slot store in leaf @depth turned the range of @size indices
 * into a gap (@freed) or filled it: the same update in O(1) when the
 * leaf's largest gap is known not to need a rescan. */
void mt_path_slot_gap_changed(struct maple_tree *mt, struct mt_path *path,
			      unsigned int depth, unsigned long size,
			      bool freed);
/* gap.c: fill an arange node's end and largest-gap metadata. */
void mt_arange_set_meta(struct maple_node *node, unsigned int end);

/* free.c: give back a node that readers may still see (grace period in
 * RCU mode, batched) or that nobody can see (immediately). */
void mt_free_node(struct maple_tree *mt, struct maple_node *node);
/* free.c: hand the tree's pending batch of retired nodes to call_rcu now.
 * Under the tree lock; before anything may wait for nodes to come back. */
void mt_retired_flush(struct maple_tree *mt);
/* free.c: free a whole subtree.  Unused slots of internal nodes are NULL,
 * so no node limits are needed to find the children. */
void mt_free_subtree(struct maple_tree *mt, struct maple_enode *enode);

/* reserve.c: the tree's node reserve (under the tree lock). */
void *mt_reserve_take(struct maple_tree *mt);
void mt_reserve_refill(struct maple_tree *mt, gfp_t gfp);
void mt_reserve_release(struct maple_tree *mt);

/* write.c: the write core behind every store: store @entry over
 * [mas->index, mas->last].  Returns the entry that was at mas->index; on
 * failure NULL with the error in @mas and the tree unchanged. */
void *mt_write(struct ma_state *mas, void *entry, gfp_t gfp);
/* write.c: mt_write(), failing with -EEXIST if the range holds anything
 * (an entry or XA_ZERO_ENTRY). */
void *mt_insert(struct ma_state *mas, void *entry, gfp_t gfp);
/* write.c: erase the range holding mas->index, in one walk.  Returns the
 * entry erased (NULL: nothing there) with index and last set to its
 * range. */
void *mt_erase(struct ma_state *mas, gfp_t gfp);
/* write.c: how many nodes that write would take now (0: none). */
unsigned int mt_write_count(struct ma_state *mas, void *entry);

#endif /* LIBIOVA_MAPLE_NODE_H */

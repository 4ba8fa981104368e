/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * node.h - the maple tree's node layout: node types, tagged node pointers,
 * parent links, the tree's flags.  Layout only: what each file does with
 * nodes is declared in that file's own header.
 *
 * Floor 1 of lib/maple (docs/maple-tree.md): includes only rcu.h and the
 * common and public headers.  Nothing outside lib/maple includes this.
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
 * Occupancy: a node other than the root holds at least MAPLE_MIN_SLOTS of its
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

#define MAPLE_RANGE64_SLOTS 16
#define MAPLE_ARANGE64_SLOTS 10
#define MAPLE_NODE_SLOTS MAPLE_RANGE64_SLOTS

enum maple_type {
	maple_leaf_64 = 1,
	maple_range_64 = 2,
	maple_arange_64 = 3,
};

struct maple_range_64 {
	uintptr_t parent;
	unsigned long pivot[MAPLE_RANGE64_SLOTS - 1];
	void *slot[MAPLE_RANGE64_SLOTS];
};

struct maple_arange_64 {
	uintptr_t parent;
	unsigned long pivot[MAPLE_ARANGE64_SLOTS - 1];
	void *slot[MAPLE_ARANGE64_SLOTS];
	unsigned long gap[MAPLE_ARANGE64_SLOTS];
	unsigned char end;     /* last used slot */
	unsigned char gap_off; /* slot with the largest gap */
	/* At least the largest gap of every used slot but gap_off's: a bound,
	 * not the value, so raising a gap keeps it in O(1); only a largest gap
	 * that shrinks below it needs the node scanned (gap.c).  Writers
	 * only, under the write lock. */
	unsigned long gap_bound;
};

/*
 * A replaced node waiting for its grace period.  The first node a tree
 * retires after handing a batch to call_rcu holds the next batch: the
 * addresses of up to MAPLE_DEAD_BATCH nodes retired after it (free.c).  All
 * of this overlays pivots and slots a late reader may still load; it sees
 * the dead mark (written first) when it checks the parent afterwards, and
 * restarts.  The batch stops short of an arange node's end and gap_off,
 * which a reader may use as bounds.
 */
#define MAPLE_DEAD_BATCH 25
struct maple_dead_node {
	uintptr_t parent;
	struct rcu_head rcu;
	struct mt_allocator *alloc;
	unsigned int count;
	struct maple_node *batch[MAPLE_DEAD_BATCH];
};

struct maple_node {
	union {
		uintptr_t parent;
		struct maple_range_64 r;
		struct maple_arange_64 a;
		struct maple_dead_node dead;
	};
} __attribute__((aligned(MT_NODE_SIZE)));

_Static_assert(sizeof(struct maple_node) == MT_NODE_SIZE,
	       "a node is 256 bytes");
_Static_assert(sizeof(struct maple_dead_node) <=
		       offsetof(struct maple_arange_64, end),
	       "a batch leaves an arange node's metadata alone");

/* ---- tagged pointers ------------------------------------------------- */

#define MAPLE_ENODE_TAG 2ul
#define MAPLE_ENODE_TYPE_SHIFT 3
#define MAPLE_ENODE_TYPE_MASK (3ul << MAPLE_ENODE_TYPE_SHIFT)
#define MAPLE_ENODE_ADDR_MASK (~(uintptr_t)(MT_NODE_SIZE - 1))

static inline struct maple_enode *ma_mk_enode(struct maple_node *node,
					      enum maple_type type)
{
	return (struct maple_enode *)((uintptr_t)node |
				      ((uintptr_t)type
				       << MAPLE_ENODE_TYPE_SHIFT) |
				      MAPLE_ENODE_TAG);
}

static inline struct maple_node *mte_to_node(const struct maple_enode *enode)
{
	return (struct maple_node *)((uintptr_t)enode & MAPLE_ENODE_ADDR_MASK);
}

static inline enum maple_type mte_node_type(const struct maple_enode *enode)
{
	return (enum maple_type)(((uintptr_t)enode & MAPLE_ENODE_TYPE_MASK) >>
				   MAPLE_ENODE_TYPE_SHIFT);
}

/*
 * Is the root a node?  The root holds an entry directly only for a tree
 * whose one entry sits at index 0, and never an internal entry, so every
 * internal value in the root is a node.
 */
static inline bool ma_root_is_node(const void *root)
{
	return xa_is_internal(root);
}

static inline bool ma_is_leaf(enum maple_type type)
{
	return type == maple_leaf_64;
}

static inline unsigned int ma_type_slots(enum maple_type type)
{
	return type == maple_arange_64 ? MAPLE_ARANGE64_SLOTS
				       : MAPLE_RANGE64_SLOTS;
}

/* Fewest slots a node other than the root or the rightmost may hold. */
static inline unsigned int ma_type_min_slots(enum maple_type type)
{
	return ma_type_slots(type) / 2 - 2;
}

static inline unsigned long *ma_pivots(struct maple_node *node,
					    enum maple_type type)
{
	return type == maple_arange_64 ? node->a.pivot : node->r.pivot;
}

static inline void **ma_slots(struct maple_node *node,
				   enum maple_type type)
{
	return type == maple_arange_64 ? node->a.slot : node->r.slot;
}

/*
 * The slot of a node holding @index: the first pivot >= @index, which is
 * the number of pivots below @index, as pivots ascend and those from end
 * on hold the node's max (>= @index).  Counted without a branch: where a
 * random lookup stops is unpredictable, and a loop that stopped there
 * cost a branch mispredict per level.  A dead node's pivots may be
 * anything; the count still stays within the node.
 */
static inline unsigned int ma_pivot_slot(const unsigned long *pivots,
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

/*
 * A leaf's slot for @index and its data end (the slot of @max) in one
 * pass over its pivots: a positioned maple state needs both, and the
 * second count read the same pivots again.  The same sums as
 * ma_pivot_slot.
 */
static inline unsigned int ma_leaf_slot_end(const unsigned long *pivots,
					    unsigned long index,
					    unsigned long max,
					    unsigned int *end)
{
	unsigned int lo = 0, hi = 0, elo = 0, ehi = 0, i;
	const unsigned int npivots = MAPLE_RANGE64_SLOTS - 1;

	for (i = 0; i + 1 < npivots; i += 2) {
		lo += pivots[i] < index;
		hi += pivots[i + 1] < index;
		elo += pivots[i] < max;
		ehi += pivots[i + 1] < max;
	}
	lo += pivots[i] < index;
	elo += pivots[i] < max;
	*end = elo + ehi;
	return lo + hi;
}

/* The last used slot of a node whose maximum is @max. */
static inline unsigned int ma_data_end(struct maple_node *node,
				       enum maple_type type,
				       unsigned long max)
{
	if (type == maple_arange_64)
		return node->a.end;
	/* the first pivot that is max: the slot of max */
	return ma_pivot_slot(ma_pivots(node, type), ma_type_slots(type) - 1,
			  max);
}

/*
 * A node is four cache lines: pivots in the first two, slots (and gaps) in
 * the last two.  Asking for all four at once overlaps their misses instead
 * of paying for them one after the other.
 */
static inline void ma_prefetch(const struct maple_node *node)
{
	const char *p = (const char *)node;

	/* the first line is the one being read already */
	__builtin_prefetch(p + 1 * CACHELINE_SIZE);
	__builtin_prefetch(p + 2 * CACHELINE_SIZE);
	__builtin_prefetch(p + 3 * CACHELINE_SIZE);
}

/* ---- parent links ---------------------------------------------------- */

#define MAPLE_PARENT_ROOT 1ul
#define MAPLE_PARENT_ARANGE 2ul
#define MAPLE_PARENT_SLOT_SHIFT 3
#define MAPLE_PARENT_SLOT_MASK (0x1ful << MAPLE_PARENT_SLOT_SHIFT)

static inline void mte_set_parent_root(struct maple_node *node,
				      struct maple_tree *mt)
{
	node->parent = (uintptr_t)mt | MAPLE_PARENT_ROOT;
}

static inline void mte_set_parent(struct maple_node *node,
				 struct maple_enode *parent, unsigned int slot)
{
	node->parent = (uintptr_t)mte_to_node(parent) |
		       ((uintptr_t)slot << MAPLE_PARENT_SLOT_SHIFT) |
		       (mte_node_type(parent) == maple_arange_64
				? MAPLE_PARENT_ARANGE
				: 0);
}

static inline bool ma_parent_is_root(const struct maple_node *node)
{
	return node->parent & MAPLE_PARENT_ROOT;
}

static inline unsigned int ma_parent_slot(const struct maple_node *node)
{
	return (node->parent & MAPLE_PARENT_SLOT_MASK) >>
	       MAPLE_PARENT_SLOT_SHIFT;
}

static inline struct maple_node *ma_parent_node(const struct maple_node *node)
{
	return (struct maple_node *)(node->parent & MAPLE_ENODE_ADDR_MASK);
}

/*
 * Has @node been replaced?  Readers call this *after* reading what they
 * need from the node, and discard those reads if it is dead: a writer
 * marks a node dead before anything else about it changes, so reads
 * ordered before a "not dead" answer saw it whole.  The read barrier keeps
 * that order.
 */
static inline bool ma_dead_node(const struct maple_node *node)
{
	cmm_smp_rmb();
	return CMM_LOAD_SHARED(node->parent) == (uintptr_t)node;
}

/* ---- tree flags ------------------------------------------------------- */

static inline unsigned int ma_flags_height(unsigned int flags)
{
	return (flags & MT_FLAGS_HEIGHT_MASK) >> MT_FLAGS_HEIGHT_OFFSET;
}

static inline void ma_set_height(struct maple_tree *mt, unsigned int height)
{
	mt->ma_flags = (mt->ma_flags & ~MT_FLAGS_HEIGHT_MASK) |
		       (height << MT_FLAGS_HEIGHT_OFFSET);
}

static inline enum maple_type ma_internal_type(const struct maple_tree *mt)
{
	return mt_is_alloc(mt) ? maple_arange_64 : maple_range_64;
}

static inline struct mt_allocator *ma_allocator(struct maple_tree *mt)
{
	return mt->ma_alloc ? mt->ma_alloc : mt_allocator_default();
}

/* Saturating size of [first, last]: 2^64 does not fit, ULONG_MAX does. */
static inline unsigned long range_size(unsigned long first,
					  unsigned long last)
{
	unsigned long n = last - first;

	return n == ULONG_MAX ? ULONG_MAX : n + 1;
}

#endif /* LIBIOVA_MAPLE_NODE_H */

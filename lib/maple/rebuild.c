/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rebuild.c - phase 1 of a structural write (see wr_state.h): gather the
 * items of a level, pack them into new nodes, climb.
 *
 * At each depth the big node holds the items replacing a run of old nodes
 * from wr->lo.node[d] to wr->hi.node[d] (the same node unless the write
 * spans nodes), covering exactly [lmin, rmax].  Then:
 *
 *   - too few items for a non-root, non-rightmost node: take in the whole
 *     neighbouring node (left if there is one, else right), found by a walk
 *     from the root, so the same code serves siblings and cousins;
 *   - too many items: if the left or right sibling under the same parent
 *     has room, take it in too (a push: the parent keeps its slot count);
 *   - pack into new nodes (at most 4 in practice, see below).  Rightmost nodes are filled completely from the
 *     left (sequential appends leave full nodes behind); others are split
 *     evenly, which keeps each at least half full.
 *
 * If one new node replaces one old node, phase 1 ends: publishing is a
 * single slot store in the parent.  Otherwise the parent's items left of
 * the run, the new nodes and the parent's items right of the run become
 * the next level's big node.  At the root, more than one node grows a new
 * root; an internal root with one child gives way to that child.
 *
 * Bound on a big node: at the leaves, 15 items left of the first touched
 * slot, 3 from the write, 15 right of it, plus a 16-item neighbour: 49.
 * Above, 15 + 4 + 15 + 16 = 50.  An overfull run takes in a sibling only
 * while the total stays within 3 nodes' worth.  MAPLE_BIG_NODE_SLOTS (64)
 * covers all of these, and MAPLE_PACK_MAX sizes the per-level arrays for a full big
 * node even in 10-slot nodes, so no input can overrun them.
 */
#include <assert.h>
#include <string.h>

#include "gap.h"
#include "rebuild.h"
#include "supply.h"

/* Pivot of slot @i of a node covering up to @max, with end @end. */
static inline unsigned long node_pivot(const unsigned long *pivots,
				       unsigned int i, unsigned int end,
				       unsigned long max)
{
	return i < end ? pivots[i] : max;
}

/* Append slots [@from, @to] of an existing node to @b, in runs. */
static void big_add_node(struct maple_big_node *b, struct maple_enode *enode,
			 unsigned long max, unsigned int from, unsigned int to)
{
	enum maple_type type = mte_node_type(enode);
	struct maple_node *node = mte_to_node(enode);
	unsigned long *pivots = ma_pivots(node, type);
	void **slots = ma_slots(node, type);
	unsigned int end = ma_data_end(node, type, max);
	unsigned int last = to < end ? to : end, n, c = b->count;

	if (from > last)
		return;
	n = last - from + 1;
	/* the slot at the data end has no pivot of its own: it ends at max */
	memcpy(&b->pivot[c], &pivots[from],
	       (n - (last == end)) * sizeof(b->pivot[0]));
	if (last == end)
		b->pivot[c + n - 1] = max;
	memcpy(&b->slot[c], &slots[from], n * sizeof(b->slot[0]));
	if (type == maple_arange_64)
		memcpy(&b->gap[c], &node->a.gap[from], n * sizeof(b->gap[0]));
	else
		memset(&b->gap[c], 0, n * sizeof(b->gap[0]));
	b->count = c + n;
}

unsigned int ma_node_count(struct maple_enode *enode, unsigned long max)
{
	return ma_data_end(mte_to_node(enode), mte_node_type(enode), max) + 1;
}

/* Largest gap among items [@s, @s + @n) of @b. */
static unsigned long big_gap(const struct maple_big_node *b, unsigned int s,
			     unsigned int n, bool leaf)
{
	unsigned long gap = 0;

	for (unsigned int i = s; i < s + n; i++) {
		unsigned long g;

		if (leaf) {
			if (b->slot[i])
				continue;
			g = range_size(i ? b->pivot[i - 1] + 1 : b->min,
					  b->pivot[i]);
		} else {
			g = b->gap[i];
		}
		if (g > gap)
			gap = g;
	}
	return gap;
}

/*
 * A new node for this write, from the node supply.  When none can be had,
 * the error is recorded and the write goes on counting only: the scratch
 * node stands in for the rest, and nothing is ever written to it.
 */
static struct maple_node *wr_node_alloc(struct ma_wr_state *wr)
{
	static __thread struct maple_node scratch;
	struct maple_node *node;
	int err;

	wr->needed++;
	if (wr->dry_run)
		return &scratch;
	node = supply_node(wr->mas, wr->gfp, &err);
	if (!node) {
		wr->alloc_err = err;
		wr->dry_run = true;
		return &scratch;
	}
	wr->new_nodes[wr->nr_new++] = node;
	return node;
}

/*
 * Write items [@s, @s + @n) of @b into @node as a node of @type covering up
 * to @max: every pivot, slot and gap, so the node needs no clearing first
 * (its parent link is left alone: see build_node).
 */
void ma_node_write(struct maple_node *node, enum maple_type type,
		   const struct maple_big_node *b, unsigned int s,
		   unsigned int n, unsigned long max)
{
	unsigned int nslots = ma_type_slots(type), npivots = nslots - 1;
	unsigned long *pivots = ma_pivots(node, type);
	void **slots = ma_slots(node, type);

	memcpy(slots, &b->slot[s], n * sizeof(slots[0]));
	memset(&slots[n], 0, (nslots - n) * sizeof(slots[0]));
	/* the last item's pivot and every unused one hold the node's max */
	memcpy(pivots, &b->pivot[s], (n - 1) * sizeof(pivots[0]));
	for (unsigned int i = n - 1; i < npivots; i++)
		pivots[i] = max;
	if (type == maple_arange_64) {
		memcpy(node->a.gap, &b->gap[s], n * sizeof(node->a.gap[0]));
		memset(&node->a.gap[n], 0,
		       (nslots - n) * sizeof(node->a.gap[0]));
		ma_set_meta(node, n - 1);
	}
}

/*
 * Build one node of @type from items [@s, @s + @n) of @b, covering up to
 * @max.  Returns its enode (the scratch node's in a dry run).
 */
static struct maple_enode *build_node(struct ma_wr_state *wr,
				      enum maple_type type,
				      unsigned int s, unsigned int n,
				      unsigned long max)
{
	struct maple_node *node = wr_node_alloc(wr);

	if (wr->dry_run)
		return ma_mk_enode(node, type);
	/*
	 * The parent link is the publisher's to set (wr_publish), for
	 * children of new internal nodes only after the write is published.
	 * Until then it reads as "no parent known" (0), never as what the
	 * allocator left in the node: an iterating reader may reach the node
	 * and follow the link (iter.c, iter_next_leaf).
	 */
	CMM_STORE_SHARED(node->parent, 0);
	ma_node_write(node, type, &wr->big, s, n, max);
	wr->new_enodes[wr->nr_new - 1] = ma_mk_enode(node, type);
	return wr->new_enodes[wr->nr_new - 1];
}

/*
 * Where a split leaves its room.  The node that takes the next writes
 * should have it, and the others should leave full:
 *
 *   front  the write is at the first two items: top-down allocation puts
 *          each new range just above the hole it came from, so the next
 *          one lands there too.  The first node gets the rest, the others
 *          are filled.
 *   back   the write is at the last two items, or the nodes are the
 *          rightmost of their level (sequential appends, bottom-up
 *          allocation).  Nodes are filled from the first; the last gets
 *          the rest.
 *   even   anywhere else: the items are shared out evenly.
 *
 * An even split left descending stores with half-full nodes, and
 * top-down allocation is what an IOVA domain does all day.
 */
enum pack_room_kind { ROOM_EVEN, ROOM_FRONT, ROOM_BACK };

static enum pack_room_kind pack_room(const struct maple_big_node *b,
				     unsigned long index, bool rightmost)
{
	unsigned int p = ma_pivot_slot(b->pivot, b->count, index);

	if (p <= 1)
		return ROOM_FRONT;
	if (rightmost || p + 2 >= b->count)
		return ROOM_BACK;
	return ROOM_EVEN;
}

/*
 * How many nodes @count items take, and how many go in each.  No node
 * gets fewer than @min, but the last of a level's @rightmost nodes.
 */
static unsigned int pack_sizes(unsigned int count, unsigned int cap,
			       unsigned int min, bool rightmost,
			       enum pack_room_kind room, unsigned int *sizes)
{
	unsigned int k = (count + cap - 1) / cap;
	unsigned int rest, edge, inner;

	if (k <= 1) {
		sizes[0] = count;
		return 1;
	}
	if (room == ROOM_EVEN) {
		for (unsigned int i = 0; i < k; i++)
			sizes[i] = count / k + (i < count % k);
		return k;
	}
	for (unsigned int i = 0; i < k; i++)
		sizes[i] = cap;
	rest = count - (k - 1) * cap;
	edge = room == ROOM_FRONT ? 0 : k - 1;
	inner = room == ROOM_FRONT ? 1 : k - 2;
	sizes[edge] = rest;
	if (rest < min && !(rightmost && edge == k - 1)) {
		/* the edge node borrows from its neighbour, still above min */
		sizes[inner] -= min - rest;
		sizes[edge] = min;
	}
	return k;
}

static struct wr_level *cur_level(struct ma_wr_state *wr)
{
	return &wr->levels[wr->nr_levels - 1];
}

static void level_absorb(struct ma_wr_state *wr, struct maple_enode *enode)
{
	struct wr_level *lv = cur_level(wr);

	for (unsigned int i = 0; i < lv->nr_absorbed; i++)
		if (lv->absorbed[i] == enode)
			return;
	lv->absorbed[lv->nr_absorbed++] = enode;
}

/* Start the record of depth @d: the run's end nodes are absorbed. */
static void level_begin(struct ma_wr_state *wr, unsigned int d)
{
	struct wr_level *lv = &wr->levels[wr->nr_levels++];

	lv->nr_absorbed = 0;
	lv->has_parent = false;
	level_absorb(wr, wr->lo.node[d]);
	level_absorb(wr, wr->hi.node[d]);
}

/* The parent level skips slots lo.offset..hi.offset of the parents. */
static void level_parents(struct ma_wr_state *wr, unsigned int d)
{
	struct wr_level *lv = cur_level(wr);

	lv->has_parent = true;
	lv->lparent = wr->lo.node[d - 1];
	lv->rparent = wr->hi.node[d - 1];
	lv->loff = wr->lo.offset[d - 1];
	lv->roff = wr->hi.offset[d - 1];
}

/*
 * Step @path at depth @d to the node holding @index, just beyond the run:
 * a sibling under the same parent when there is one (no walk from the
 * root), else by a walk.  Debug builds check the step against the walk.
 */
static void path_beyond(struct maple_tree *mt, struct maple_path *path,
			unsigned int d, unsigned long index, bool left)
{
	struct maple_path walked;

	if (!path_sibling(path, d, left)) {
		path_walk(mt, index, path, d + 1);
		return;
	}
	if (!LIBIOVA_DEBUG)
		return;
	path_walk(mt, index, &walked, d + 1);
	assert(walked.depth == path->depth);
	for (unsigned int i = 0; i <= d; i++)
		assert(walked.node[i] == path->node[i] &&
		       walked.min[i] == path->min[i] &&
		       walked.max[i] == path->max[i] &&
		       walked.offset[i] == path->offset[i]);
}

/*
 * Take in the whole node next to the run at depth @d: to the left when
 * there is one, else to the right.  @lmin and @rmax grow to match.
 */
static void take_neighbour(struct ma_wr_state *wr, unsigned int d, bool left,
			   unsigned long *lmin, unsigned long *rmax)
{
	struct maple_big_node *b = &wr->big;
	bool leaf = ma_is_leaf(mte_node_type(wr->lo.node[d]));

	unsigned int join;

	if (left) {
		unsigned int m, count = b->count;

		path_beyond(wr->mt, &wr->lo, d, *lmin - 1, true);
		/* the run's items move up to make room in front */
		m = ma_node_count(wr->lo.node[d], wr->lo.max[d]);
		memmove(&b->pivot[m], b->pivot, count * sizeof(b->pivot[0]));
		memmove(&b->slot[m], b->slot, count * sizeof(b->slot[0]));
		memmove(&b->gap[m], b->gap, count * sizeof(b->gap[0]));
		b->count = 0;
		big_add_node(b, wr->lo.node[d], wr->lo.max[d], 0,
			     MAPLE_NODE_SLOTS);
		b->count = m + count;
		b->min = wr->lo.min[d];
		join = m;
		*lmin = wr->lo.min[d];
		level_absorb(wr, wr->lo.node[d]);
	} else {
		join = b->count;
		path_beyond(wr->mt, &wr->hi, d, *rmax + 1, false);
		big_add_node(b, wr->hi.node[d], wr->hi.max[d], 0,
			     MAPLE_NODE_SLOTS);
		*rmax = wr->hi.max[d];
		level_absorb(wr, wr->hi.node[d]);
	}
	if (leaf)
		big_node_join_nulls(b, join);
}

/*
 * Overfull run under one parent: take in a sibling too, the emptier of
 * the two.  With room in it, the parent keeps its slot count (a push);
 * with both full, two nodes become three, each two-thirds full, which keeps
 * randomly filled trees dense.  Returns true if it took one.
 */
static bool try_push(struct ma_wr_state *wr, unsigned int d, unsigned int cap,
		     unsigned long *lmin, unsigned long *rmax)
{
	struct maple_enode *parent = wr->lo.node[d - 1];
	enum maple_type ptype = mte_node_type(parent);
	struct maple_node *pnode = mte_to_node(parent);
	unsigned long *ppivots = ma_pivots(pnode, ptype);
	void **pslots = ma_slots(pnode, ptype);
	unsigned int loff = wr->lo.offset[d - 1], roff = wr->hi.offset[d - 1];
	unsigned int pend = ma_data_end(pnode, ptype, wr->lo.max[d - 1]);
	unsigned int left = UINT32_MAX, right = UINT32_MAX;

	if (parent != wr->hi.node[d - 1])
		return false;
	if (loff > 0)
		left = ma_node_count(pslots[loff - 1], ppivots[loff - 1]);
	if (roff < pend)
		right = ma_node_count(pslots[roff + 1],
				      node_pivot(ppivots, roff + 1, pend,
						 wr->hi.max[d - 1]));
	if (left == UINT32_MAX && right == UINT32_MAX)
		return false;
	/* the sequential-append case: a full left sibling stays as it is */
	if (*rmax == ULONG_MAX && right == UINT32_MAX && left >= cap - 1)
		return false;
	if (wr->big.count + (left < right ? left : right) > 3 * cap)
		return false;
	take_neighbour(wr, d, left <= right, lmin, rmax);
	return true;
}

/*
 * Pack the big node into new nodes of @type.  Fills @enodes and, for the
 * next level, @maxes and @gaps.  Returns the number of nodes.
 */
static unsigned int pack(struct ma_wr_state *wr, enum maple_type type,
			 unsigned long rmax, struct maple_enode **enodes,
			 unsigned long *maxes, unsigned long *gaps)
{
	const struct maple_big_node *b = &wr->big;
	unsigned int sizes[MAPLE_PACK_MAX] = { 0 };
	bool rightmost = rmax == ULONG_MAX;
	unsigned int k = pack_sizes(b->count, ma_type_slots(type),
				    ma_type_min_slots(type), rightmost,
				    pack_room(b, wr->mas->index, rightmost),
				    sizes);
	bool alloc_tree = mt_is_alloc(wr->mt);
	unsigned int s = 0;

	for (unsigned int j = 0; j < k; j++) {
		unsigned int n = sizes[j];
		unsigned long max = j == k - 1 ? rmax : b->pivot[s + n - 1];

		enodes[j] = build_node(wr, type, s, n, max);
		maxes[j] = max;
		gaps[j] = alloc_tree ? big_gap(b, s, n, ma_is_leaf(type))
				     : 0;
		s += n;
	}
	return k;
}

/*
 * The big node covers the whole index space: make it the root.  @type is
 * the type of node it packs into; @replaces_root tells whether an old root
 * node is being replaced (rather than an empty tree or a root entry).
 * (Results that need no node at all, an empty tree or a lone entry at
 * index 0, are write.c's wr_store_root and wr_clear_tree.)
 */
static void build_root(struct ma_wr_state *wr, enum maple_type type,
		       bool replaces_root)
{
	enum maple_type itype = ma_internal_type(wr->mt);
	struct maple_enode *enodes[MAPLE_PACK_MAX];
	unsigned long maxes[MAPLE_PACK_MAX], gaps[MAPLE_PACK_MAX];
	struct maple_big_node *b = &wr->big;
	unsigned int k;

	if (replaces_root)
		level_begin(wr, 0);
	for (;;) {
		if (!ma_is_leaf(type) && b->count == 1) {
			/* an internal root with one child gives way to it */
			wr->new_root = b->slot[0];
			wr->height--;
			return;
		}
		k = pack(wr, type, ULONG_MAX, enodes, maxes, gaps);
		if (k == 1) {
			wr->new_root = enodes[0];
			return;
		}
		/* more than one node: a new level above them */
		b->count = 0;
		b->min = 0;
		for (unsigned int j = 0; j < k; j++)
			big_node_push(b, maxes[j], enodes[j], gaps[j]);
		type = itype;
		wr->height++;
	}
}

/*
 * The shortcut for the most common write: the items of one leaf (wr->lo's,
 * with wr->hi the same path) fit in one node and need no neighbour, so a
 * single new leaf replaces it: one slot store in the parent, or a new root
 * for a root leaf.  The caller has checked the item count against the
 * same bounds rebuild() would apply, so the result is the one
 * rebuild() would build, with no packing decisions on the way.
 */
void rebuild_leaf(struct ma_wr_state *wr)
{
	unsigned int d = wr->lo.depth - 1;
	struct maple_enode *enode;

	wr->height = wr->lo.depth;
	level_begin(wr, d);
	enode = build_node(wr, maple_leaf_64, 0, wr->big.count, wr->lo.max[d]);
	if (d == 0) {
		wr->new_root = enode;
	} else {
		wr->swap_node = enode;
		wr->swap_depth = d;
	}
}

void rebuild(struct ma_wr_state *wr)
{
	enum maple_type itype = ma_internal_type(wr->mt);
	enum maple_type type = maple_leaf_64;
	struct maple_enode *enodes[MAPLE_PACK_MAX];
	unsigned long maxes[MAPLE_PACK_MAX], gaps[MAPLE_PACK_MAX];
	struct maple_big_node *b = &wr->big;
	unsigned long lmin = b->min, rmax = b->pivot[b->count - 1];
	unsigned int d;

	if (wr->lo.depth == 0) {
		/* no root node yet: the items become the first leaf */
		wr->height = 1;
		build_root(wr, type, false);
		return;
	}
	wr->height = wr->lo.depth;
	for (d = wr->lo.depth - 1;; d--) {
		unsigned int cap = ma_type_slots(type);
		unsigned int k;

		if (d == 0) {
			build_root(wr, type, true);
			return;
		}
		level_begin(wr, d);
		if (b->count < ma_type_min_slots(type) && rmax != ULONG_MAX)
			take_neighbour(wr, d, lmin > 0, &lmin, &rmax);
		else if (b->count > cap)
			try_push(wr, d, cap, &lmin, &rmax);

		k = pack(wr, type, rmax, enodes, maxes, gaps);
		level_parents(wr, d);
		if (k == 1 && wr->lo.node[d - 1] == wr->hi.node[d - 1] &&
		    wr->lo.offset[d - 1] == wr->hi.offset[d - 1]) {
			/*
			 * One node for one node: a slot store publishes it.
			 * Nothing else is dropped, and that slot will hold
			 * the new node by the time the old one is freed.
			 */
			cur_level(wr)->has_parent = false;
			wr->swap_node = enodes[0];
			wr->swap_depth = d;
			return;
		}

		/* the parent level: its items around the new nodes */
		struct maple_big_node next;
		struct maple_enode *lp = wr->lo.node[d - 1];
		struct maple_enode *rp = wr->hi.node[d - 1];

		next.count = 0;
		next.min = wr->lo.min[d - 1];
		if (wr->lo.offset[d - 1] > 0)
			big_add_node(&next, lp, wr->lo.max[d - 1], 0,
				     wr->lo.offset[d - 1] - 1);
		for (unsigned int j = 0; j < k; j++)
			big_node_push(&next, maxes[j], enodes[j], gaps[j]);
		big_add_node(&next, rp, wr->hi.max[d - 1],
			     wr->hi.offset[d - 1] + 1, MAPLE_NODE_SLOTS);
		*b = next;
		lmin = wr->lo.min[d - 1];
		rmax = wr->hi.max[d - 1];
		type = itype;
	}
}

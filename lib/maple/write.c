/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * write.c - the core of every store, insert and erase: classify, then act.
 *
 *   classify   walk to the leaf (or leaves) the write touches, widen a
 *              NULL store over its NULL neighbours, gather the leaf-level
 *              items in the big node, and decide the kind of store
 *              (enum wr_store_type, wr_state.h).  Nothing is allocated or
 *              changed.
 *   count      each kind fixes how many nodes it takes; only a rebuild is
 *              counted, by running it dry (wr_node_count, for
 *              mas_preallocate).
 *   act        one case per kind: a slot store (exact fit), the leaf
 *              rewritten where it is (in place), or a phase-1 build
 *              (rebuild.c: node store, new root, rebuild) followed by
 *              publishing here (phase 2: one pointer store makes the new
 *              nodes reachable, then what they replace is freed).
 *
 * An exact fit is safe for RCU readers (the new entry appears atomically)
 * and needs no node, in any mode: libiova parks a failed erase with one.
 * NULL stores absorb neighbouring NULL ranges, also across leaves, so the
 * tree never holds two adjacent NULL ranges: every free range is a single
 * item, which keeps the gap search exact.
 *
 * Locking: the caller holds the tree's write lock.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "free.h"
#include "gap.h"
#include "lock.h"
#include "rebuild.h"
#include "write.h"

/* A leaf seen as arrays: a leaf node, or the root entry / empty tree. */
struct leaf_view {
	const unsigned long *pivots;
	void **slots;
	unsigned int end;
	unsigned long min, max;
};

static void leaf_view_init(struct leaf_view *v, struct maple_enode *enode,
			   unsigned long min, unsigned long max)
{
	struct maple_node *node = mte_to_node(enode);

	v->pivots = node->r.pivot;
	v->slots = node->r.slot;
	v->min = min;
	v->max = max;
	v->end = ma_data_end(node, maple_leaf_64, max);
}

static inline unsigned long view_last(const struct leaf_view *v,
				      unsigned int i)
{
	return i < v->end ? v->pivots[i] : v->max;
}

static inline unsigned long view_first(const struct leaf_view *v,
				       unsigned int i)
{
	return i ? v->pivots[i - 1] + 1 : v->min;
}

static unsigned int view_slot_of(const struct leaf_view *v, unsigned int from,
				 unsigned long index)
{
	while (from < v->end && index > v->pivots[from])
		from++;
	return from;
}

/*
 * The leaf-level items: @l before @first, the store, @r after @last.  The
 * runs before and after are copied whole: item by item, this was the
 * largest part of a write into a small tree.  Leaf items have no gap of
 * their own (big_gap reads their slots); theirs are zeroed all the same,
 * as a rebuild moves gaps with the items.  A NULL store joins its NULL
 * neighbours, so the leaf never holds two NULL ranges side by side.
 */
static void leaf_items(struct maple_big_node *b, const struct leaf_view *l,
		       unsigned int loff, const struct leaf_view *r,
		       unsigned int roff, unsigned long first,
		       unsigned long last, void *entry)
{
	unsigned int n = loff, e;

	b->min = l->min;
	/* slots before @loff end before the data end: their pivots are
	 * stored */
	memcpy(b->pivot, l->pivots, loff * sizeof(b->pivot[0]));
	memcpy(b->slot, l->slots, loff * sizeof(b->slot[0]));
	if (view_first(l, loff) < first) {
		b->pivot[n] = first - 1;
		b->slot[n++] = l->slots[loff];
	}
	e = n;
	b->pivot[n] = last;
	b->slot[n++] = entry;
	if (last < view_last(r, roff)) {
		b->pivot[n] = view_last(r, roff);
		b->slot[n++] = r->slots[roff];
	}
	if (roff < r->end) {
		/* slots (roff, end]: the last one ends at the leaf's max */
		unsigned int k = r->end - roff;

		memcpy(&b->pivot[n], &r->pivots[roff + 1],
		       (k - 1) * sizeof(b->pivot[0]));
		b->pivot[n + k - 1] = r->max;
		memcpy(&b->slot[n], &r->slots[roff + 1],
		       k * sizeof(b->slot[0]));
		n += k;
	}
	memset(b->gap, 0, n * sizeof(b->gap[0]));
	b->count = n;
	/* a NULL store meets NULL neighbours only next to it, on each side
	 * in one item at most (its own remainder, or the item beyond) */
	big_node_join_nulls(b, e + 1);
	big_node_join_nulls(b, e);
}

/* If the range holding @index is NULL, widen [*first, *last] over it. */
static void absorb_null_at(struct maple_tree *mt, unsigned long index,
			   unsigned long *first, unsigned long *last)
{
	MA_STATE(mas, mt, index, index);

	if (ma_descend(&mas, index))
		return;
	if (mas.index < *first)
		*first = mas.index;
	if (mas.last > *last)
		*last = mas.last;
}

/* Give back the nodes of a write that failed: nobody ever saw them. */
static void wr_rollback(struct ma_wr_state *wr)
{
	struct mt_allocator *alloc = ma_allocator(wr->mt);

	for (unsigned int i = 0; i < wr->nr_new; i++)
		mt_node_free(alloc, wr->new_nodes[i]);
	wr->nr_new = 0;
}

static bool level_absorbed(const struct wr_level *lv,
			   struct maple_enode *enode)
{
	for (unsigned int i = 0; i < lv->nr_absorbed; i++)
		if (lv->absorbed[i] == enode)
			return true;
	return false;
}

static bool wr_absorbed(const struct ma_wr_state *wr, struct maple_enode *enode)
{
	for (unsigned int l = 0; l < wr->nr_levels; l++)
		if (level_absorbed(&wr->levels[l], enode))
			return true;
	return false;
}

/*
 * Free a dropped subtree.  A dropped node can still have an absorbed node
 * below it: when a level took in a neighbour from another parent, the old
 * path's ancestor above it is dropped, yet the absorbed child's own
 * children live on in the new nodes.  So stop at absorbed nodes: each is
 * freed once, by its own level.
 */
static void free_dropped(struct ma_wr_state *wr, struct maple_enode *enode)
{
	enum maple_type type = mte_node_type(enode);

	if (wr_absorbed(wr, enode))
		return;
	if (!ma_is_leaf(type)) {
		void **slots = ma_slots(mte_to_node(enode), type);

		for (unsigned int i = 0; i < ma_type_slots(type) && slots[i];
		     i++)
			free_dropped(wr, slots[i]);
	}
	ma_free_node(wr->mt, mte_to_node(enode));
}

/* Free slots [@from, @to] of @parent: the children the level skipped. */
static void free_skipped(struct ma_wr_state *wr, struct maple_enode *parent,
			 unsigned int from, unsigned int to)
{
	enum maple_type type = mte_node_type(parent);
	void **slots = ma_slots(mte_to_node(parent), type);
	unsigned int nslots = ma_type_slots(type);

	for (unsigned int i = from; i <= to && i < nslots && slots[i]; i++)
		free_dropped(wr, slots[i]);
}

static void free_level(struct ma_wr_state *wr, const struct wr_level *lv)
{
	if (lv->has_parent) {
		if (lv->lparent == lv->rparent) {
			free_skipped(wr, lv->lparent, lv->loff, lv->roff);
		} else {
			free_skipped(wr, lv->lparent, lv->loff,
				     MAPLE_NODE_SLOTS);
			free_skipped(wr, lv->rparent, 0, lv->roff);
		}
	}
	for (unsigned int i = 0; i < lv->nr_absorbed; i++)
		ma_free_node(wr->mt, mte_to_node(lv->absorbed[i]));
}

/* Phase 2: make the new nodes reachable, then free what they replace. */
static void wr_publish(struct ma_wr_state *wr)
{
	struct maple_tree *mt = wr->mt;
	struct maple_node *discard[MAPLE_HEIGHT_MAX];
	unsigned int nr_discard = 0;

	if (wr->swap_node) {
		unsigned int d = wr->swap_depth;
		struct maple_enode *parent = wr->lo.node[d - 1];
		unsigned int off = wr->lo.offset[d - 1];

		mte_set_parent(mte_to_node(wr->swap_node), parent, off);
		rcu_assign_pointer(ma_slots(mte_to_node(parent),
						 mte_node_type(parent))[off],
				   wr->swap_node);
		wr->lo.node[d] = wr->swap_node;
		path_update_gaps(mt, &wr->lo, d);
	} else {
		void *root = wr->new_root;
		unsigned int height = wr->height;

		/* an internal root with a single child gives way to it */
		while (ma_root_is_node(root) &&
		       !ma_is_leaf(mte_node_type(root)) &&
		       ma_node_count(root, ULONG_MAX) == 1) {
			discard[nr_discard++] = mte_to_node(root);
			root = ma_slots(mte_to_node(root),
					     mte_node_type(root))[0];
			height--;
		}
		if (ma_root_is_node(root))
			mte_set_parent_root(mte_to_node(root), mt);
		ma_set_height(mt, height);
		rcu_assign_pointer(mt->ma_root, root);
	}

	/*
	 * Children of new internal nodes learn their parent only now that
	 * the new nodes are reachable: an iteration that steps to the next
	 * leaf through a leaf's parent link (iter.c) must not reach nodes of
	 * a write that is not published yet.  Until the old nodes are freed
	 * below (marked dead first), a link still naming an old parent leads
	 * to the tree as it was, as a walk begun before the write does.  An
	 * internal root that gave way to its child is no parent of anything.
	 */
	for (unsigned int i = 0; i < wr->nr_new; i++) {
		struct maple_enode *enode = wr->new_enodes[i];
		enum maple_type type = mte_node_type(enode);
		bool discarded = false;
		void **slots;

		if (ma_is_leaf(type))
			continue;
		for (unsigned int k = 0; k < nr_discard; k++)
			discarded |= discard[k] == mte_to_node(enode);
		if (discarded)
			continue;
		slots = ma_slots(mte_to_node(enode), type);
		for (unsigned int s = 0; s < ma_type_slots(type) && slots[s];
		     s++)
			mte_set_parent(mte_to_node(slots[s]), enode, s);
	}

	for (unsigned int i = 0; i < wr->nr_levels; i++)
		free_level(wr, &wr->levels[i]);
	for (unsigned int i = 0; i < nr_discard; i++)
		ma_free_node(mt, discard[i]);
	if (wr->drop_root)
		ma_free_subtree(mt, wr->drop_root);
}

/* Leave @mas on the stored range, ready for the next find or store. */
static void ma_after_write(struct ma_state *mas, unsigned long first,
			    unsigned long last)
{
	mas->index = first;
	mas->last = last;
	mas->node = NULL;
	mas->status = ma_pause;
	ma_clear_edge(mas);
}

/* Is anything stored in [first, last]?  For inserts that span leaves. */
static bool range_occupied(struct maple_tree *mt, unsigned long first,
			   unsigned long last)
{
	MA_STATE(mas, mt, first, first);

	return mas_find(&mas, last) != NULL;
}

static void *write_failed(struct ma_state *mas, int err)
{
	ma_set_err(mas, err);
	return NULL;
}

enum wr_mode {
	WR_STORE,  /* store over [mas->index, mas->last] */
	WR_INSERT, /* the same, failing with -EEXIST if anything is there */
	WR_ERASE,  /* store NULL over the range holding mas->index */
};

/*
 * For WR_ERASE: take the range of slot @off of @v as the one to erase and
 * note it for the report.  Returns false (and leaves the maple state on
 * the NULL range) if it holds nothing.
 */
static bool erase_range(struct ma_wr_state *wr, const struct leaf_view *v,
			unsigned int off)
{
	wr->first = wr->erased_first = view_first(v, off);
	wr->last = wr->erased_last = view_last(v, off);
	wr->content = v->slots[off];
	wr->erased = true;
	if (v->slots[off])
		return true;
	ma_after_write(wr->mas, wr->first, wr->last);
	return false;
}

/* Debug builds: a walked path handed in is the one path_walk() finds. */
static void check_walked(struct maple_tree *mt, unsigned long index,
			 const struct maple_path *walked)
{
	struct maple_path p;

	path_walk(mt, index, &p, 0);
	assert(p.depth == walked->depth);
	for (unsigned int d = 0; d < p.depth; d++)
		assert(p.node[d] == walked->node[d] &&
		       p.min[d] == walked->min[d] &&
		       p.max[d] == walked->max[d] &&
		       p.offset[d] == walked->offset[d]);
	(void)p;
	(void)walked;
}

/* A tree with no root node: the root entry (or nothing) seen as a leaf. */
static enum wr_store_type classify_root(struct ma_wr_state *wr,
					enum wr_mode mode)
{
	static const unsigned long vpivots[1] = { 0 };
	void *root = wr->mt->ma_root;
	void *vslots[2] = { root, NULL };
	struct leaf_view v = {
		.pivots = vpivots, .slots = vslots,
		.end = root ? 1 : 0, .min = 0, .max = ULONG_MAX,
	};
	struct maple_big_node *b = &wr->big;
	unsigned int loff = view_slot_of(&v, 0, wr->first), roff;

	if (mode == WR_ERASE && !erase_range(wr, &v, loff))
		return wr_none;
	roff = view_slot_of(&v, loff, wr->last);
	if (!wr->erased)
		wr->content = v.slots[loff];
	if (mode == WR_INSERT && (v.slots[loff] || v.slots[roff]))
		return wr_exists;
	leaf_items(b, &v, loff, &v, roff, wr->first, wr->last, wr->entry);
	wr->lo.depth = 0;
	/* nothing left but NULL, or a lone entry at index 0, lives in the
	 * root pointer itself */
	if ((b->count == 1 && !b->slot[0]) ||
	    (b->count == 2 && b->pivot[0] == 0 && !b->slot[1] &&
	     !xa_is_internal(b->slot[0])))
		return wr_store_root;
	return wr_new_root;
}

/*
 * Decide what the write does.  Fills @wr: the range, the paths to the
 * leaves, the leaf-level items and the entry to return.  Changes nothing
 * but, for wr_none, the maple state.
 */
static enum wr_store_type classify(struct ma_wr_state *wr, enum wr_mode mode,
				   const struct maple_path *walked)
{
	struct maple_tree *mt = wr->mt;
	struct maple_big_node *b = &wr->big;
	struct leaf_view lv, rv;
	unsigned int loff, roff, D;
	bool same_leaf;

	if (!ma_root_is_node(mt->ma_root))
		return classify_root(wr, mode);

	if (walked && walked->depth) {
		/* the search's way down: the same walk */
		path_copy(&wr->lo, walked);
		if (LIBIOVA_DEBUG)
			check_walked(mt, wr->first, walked);
	} else {
		path_walk(mt, wr->first, &wr->lo, 0);
	}
	D = wr->lo.depth - 1;
	if (mode == WR_ERASE) {
		leaf_view_init(&lv, wr->lo.node[D], wr->lo.min[D],
			       wr->lo.max[D]);
		if (!erase_range(wr, &lv, wr->lo.offset[D]))
			return wr_none;
	}
	if (!wr->entry && wr->first > 0 && wr->first == wr->lo.min[D]) {
		/* the range before may be NULL, in the previous leaf */
		unsigned long f = wr->first;

		absorb_null_at(mt, wr->first - 1, &f, &wr->last);
		if (f != wr->first) {
			wr->first = f;
			path_walk(mt, wr->first, &wr->lo, 0);
		}
	}
	same_leaf = wr->last <= wr->lo.max[D];
	if (!same_leaf)
		path_walk(mt, wr->last, &wr->hi, 0);
	if (!wr->entry && wr->last < ULONG_MAX &&
	    wr->last == (same_leaf ? wr->lo.max[D] : wr->hi.max[D])) {
		/* the range after may be NULL, in the next leaf */
		unsigned long l = wr->last;

		absorb_null_at(mt, wr->last + 1, &wr->first, &l);
		if (l != wr->last) {
			wr->last = l;
			same_leaf = false;
			path_walk(mt, wr->last, &wr->hi, 0);
		}
	}

	leaf_view_init(&lv, wr->lo.node[D], wr->lo.min[D], wr->lo.max[D]);
	loff = wr->lo.offset[D];
	if (!wr->erased)
		wr->content = lv.slots[loff];
	if (same_leaf) {
		rv = lv;
		roff = view_slot_of(&lv, loff, wr->last);
		if (mode == WR_INSERT)
			for (unsigned int i = loff; i <= roff; i++)
				if (lv.slots[i])
					return wr_exists;
		if (loff == roff && view_first(&lv, loff) == wr->first &&
		    view_last(&lv, loff) == wr->last &&
		    (wr->entry ||
		     (lv.end > 0 && (loff == 0 || lv.slots[loff - 1]) &&
		      (loff == lv.end || lv.slots[loff + 1]))))
			return wr_exact_fit;
		if (wr->entry && loff == lv.end && !mt_in_rcu(mt) &&
		    lv.end + (view_first(&lv, loff) < wr->first) +
				    (wr->last < lv.max) <
			    MAPLE_RANGE64_SLOTS)
			/* sequential stores, bottom-up allocation */
			return wr_append;
	} else {
		if (mode == WR_INSERT &&
		    range_occupied(mt, wr->first, wr->last))
			return wr_exists;
		leaf_view_init(&rv, wr->hi.node[D], wr->hi.min[D],
			       wr->hi.max[D]);
		roff = wr->hi.offset[D];
	}
	leaf_items(b, &lv, loff, &rv, roff, wr->first, wr->last, wr->entry);

	if (same_leaf && b->count <= MAPLE_RANGE64_SLOTS &&
	    (b->count >= ma_type_min_slots(maple_leaf_64) || D == 0 ||
	     wr->lo.max[D] == ULONG_MAX) &&
	    !(D == 0 && b->count == 1 && !b->slot[0])) {
		/* one leaf's worth for one leaf */
		if (!mt_in_rcu(mt))
			return wr_in_place;
		path_copy(&wr->hi, &wr->lo);
		return wr_node_store;
	}
	if (b->count == 1 && !b->slot[0] && b->min == 0 &&
	    b->pivot[0] == ULONG_MAX)
		/* NULL stores absorb their NULL neighbours, so this is every
		 * all-NULL outcome, whatever the height */
		return wr_clear_tree;
	/* a rebuild reads the run from wr->lo's leaf to wr->hi's */
	if (same_leaf)
		path_copy(&wr->hi, &wr->lo);
	return wr_rebuild;
}

static void wr_init(struct ma_wr_state *wr, struct ma_state *mas, void *entry,
		    gfp_t gfp)
{
	wr->mas = mas;
	wr->mt = mas->tree;
	wr->gfp = gfp;
	wr->dry_run = false;
	wr->needed = 0;
	wr->alloc_err = 0;
	wr->nr_new = 0;
	wr->entry = entry;
	wr->first = mas->index;
	wr->last = mas->last;
	wr->erased = false;
	/* what publishing reads, for the kinds that publish */
	wr->nr_levels = 0;
	wr->swap_node = NULL;
	wr->drop_root = NULL;
	/* the rest is set by the kind's own path: classify sets content,
	 * the rebuild and the root cases the new root or node */
}

/* The nodes a classified write takes. */
static unsigned int wr_nodes(struct ma_wr_state *wr)
{
	switch (wr->type) {
	case wr_node_store:
	case wr_new_root:
		return 1;
	case wr_rebuild:
		wr->dry_run = true;
		rebuild(wr);
		return wr->needed;
	default:
		return 0;
	}
}

/* The one slot store of an exact fit. */
static void wr_slot_store(struct ma_wr_state *wr)
{
	unsigned int D = wr->lo.depth - 1, off = wr->lo.offset[D];
	void **slots = ma_slots(mte_to_node(wr->lo.node[D]), maple_leaf_64);

	rcu_assign_pointer(slots[off], wr->entry);
	if (!wr->content != !wr->entry)
		path_slot_gap_changed(wr->mt, &wr->lo, D,
				      range_size(wr->first, wr->last),
				      !wr->entry);
}

/*
 * An entry over part of the leaf's last range, which keeps its content
 * before and after the entry: at most two new items, written after the
 * data end, nothing before it moved (not in RCU mode: no reader sees the
 * slots change).  The pivots from the old end on hold the leaf's max
 * already, as the new end's does.
 */
static void wr_append_leaf(struct ma_wr_state *wr)
{
	unsigned int D = wr->lo.depth - 1, i = wr->lo.offset[D];
	struct maple_node *leaf = mte_to_node(wr->lo.node[D]);
	unsigned long *pivots = leaf->r.pivot;
	void **slots = leaf->r.slot;
	unsigned long start = i ? pivots[i - 1] + 1 : wr->lo.min[D];

	if (start < wr->first)
		pivots[i++] = wr->first - 1;
	slots[i] = wr->entry;
	if (wr->last < wr->lo.max[D]) {
		pivots[i] = wr->last;
		slots[i + 1] = wr->content;
	}
	path_update_gaps(wr->mt, &wr->lo, D);
}

/* The leaf rewritten where it is (not in RCU mode: no reader sees it). */
static void wr_rewrite_leaf(struct ma_wr_state *wr)
{
	unsigned int D = wr->lo.depth - 1;

	ma_node_write(mte_to_node(wr->lo.node[D]), maple_leaf_64, &wr->big,
		      0, wr->big.count, wr->lo.max[D]);
	path_update_gaps(wr->mt, &wr->lo, D);
}

/*
 * A new root that needs no node: NULL over everything (@drop_root: the
 * tree is emptied and every node goes), or the root entry.
 */
static void wr_set_root(struct ma_wr_state *wr, void *root, bool drop_root)
{
	if (drop_root)
		wr->drop_root = wr->mt->ma_root;
	wr->new_root = root;
	wr->height = 0;
}

/* The write itself: classify, act, publish. */
static void *wr_write(struct ma_state *mas, void *entry, gfp_t gfp,
		      enum wr_mode mode, const struct maple_path *walked)
{
	struct ma_wr_state wr;

	ma_assert_write_locked(mas->tree, "a write");
	wr_init(&wr, mas, entry, gfp);
	wr.type = classify(&wr, mode, walked);
	switch (wr.type) {
	case wr_none:
		return NULL;
	case wr_exists:
		return write_failed(mas, -EEXIST);
	case wr_exact_fit:
		wr_slot_store(&wr);
		break;
	case wr_append:
		wr_append_leaf(&wr);
		break;
	case wr_in_place:
		wr_rewrite_leaf(&wr);
		break;
	case wr_store_root:
		wr_set_root(&wr, wr.big.count == 1 ? NULL : wr.big.slot[0],
			    false);
		wr_publish(&wr);
		break;
	case wr_clear_tree:
		wr_set_root(&wr, NULL, true);
		wr_publish(&wr);
		break;
	case wr_node_store:
	case wr_new_root:
	case wr_rebuild:
		if (wr.type == wr_node_store)
			rebuild_leaf(&wr);
		else
			rebuild(&wr);
		if (wr.alloc_err) {
			/* nothing was published: give the nodes back, and
			 * say what a retry needs in all, for mas_nomem() */
			wr_rollback(&wr);
			mas->alloc_req = wr.needed;
			return write_failed(mas, wr.alloc_err);
		}
		wr_publish(&wr);
		break;
	}
	ma_after_write(mas, wr.first, wr.last);
	if (wr.erased) {
		/* report the range and entry erased, not the NULL range that
		 * absorbed them */
		mas->index = wr.erased_first;
		mas->last = wr.erased_last;
	}
	return wr.content;
}

void *wr_store(struct ma_state *mas, void *entry, gfp_t gfp)
{
	return wr_write(mas, entry, gfp, WR_STORE, NULL);
}

void *wr_store_walked(struct ma_state *mas, void *entry, gfp_t gfp,
		      const struct maple_path *walked)
{
	return wr_write(mas, entry, gfp, WR_STORE, walked);
}

void *wr_insert(struct ma_state *mas, void *entry, gfp_t gfp)
{
	return wr_write(mas, entry, gfp, WR_INSERT, NULL);
}

void *wr_erase(struct ma_state *mas, gfp_t gfp)
{
	return wr_write(mas, NULL, gfp, WR_ERASE, NULL);
}

unsigned int wr_node_count(struct ma_state *mas, void *entry)
{
	struct ma_wr_state wr;

	wr_init(&wr, mas, entry, 0);
	wr.type = classify(&wr, WR_STORE, NULL);
	return wr_nodes(&wr);
}

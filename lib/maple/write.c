/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * write.c - the core of every store: gather the leaf-level items, take a
 * fast path when one applies, otherwise rebuild (rebuild.c) and publish.
 *
 * Fast paths, tried in order:
 *   exact fit  the store covers exactly one existing range: one slot store,
 *              no allocation, safe for RCU readers (the new entry appears
 *              atomically).  Gaps above are updated in place.
 *   one leaf   the new items fit in the one leaf touched: outside RCU mode
 *              the leaf is rewritten where it is, no allocation; in RCU
 *              mode a new leaf is written straight from them and replaces
 *              the old one (rebuild.c's rebuild_leaf), without the
 *              neighbour and packing decisions of a full rebuild.
 *
 * NULL stores absorb neighbouring NULL ranges, also across leaves, so the
 * tree never holds two adjacent NULL ranges: every free range is a single
 * item, which keeps the gap search exact.
 *
 * Locking: the caller holds the tree's write lock.
 */
#include <errno.h>
#include <string.h>

#include "lock.h"
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

/* The leaf-level items: @l before @first, the store, @r after @last. */
static void leaf_items(struct maple_big_node *b, const struct leaf_view *l,
		       unsigned int loff, const struct leaf_view *r,
		       unsigned int roff, unsigned long first,
		       unsigned long last, void *entry)
{
	b->count = 0;
	b->min = l->min;
	for (unsigned int i = 0; i < loff; i++)
		big_node_push(b, view_last(l, i), l->slots[i], 0);
	if (view_first(l, loff) < first)
		big_node_push(b, first - 1, l->slots[loff], 0);
	big_node_push(b, last, entry, 0);
	if (last < view_last(r, roff))
		big_node_push(b, view_last(r, roff), r->slots[roff], 0);
	for (unsigned int i = roff + 1; i <= r->end; i++)
		big_node_push(b, view_last(r, i), r->slots[i], 0);
	if (!entry)
		big_node_merge_nulls(b);
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

	/* children of new internal nodes learn their parent */
	for (unsigned int i = 0; i < wr->nr_new; i++) {
		struct maple_enode *enode = wr->new_enodes[i];
		enum maple_type type = mte_node_type(enode);
		void **slots;

		if (ma_is_leaf(type))
			continue;
		slots = ma_slots(mte_to_node(enode), type);
		for (unsigned int s = 0; s < ma_type_slots(type) && slots[s];
		     s++)
			mte_set_parent(mte_to_node(slots[s]), enode, s);
	}

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
 * For WR_ERASE: take the range of slot @off of @v as the one to erase.
 * Returns false (and leaves @mas on the NULL range) if it holds nothing.
 */
static bool erase_range(struct ma_state *mas, const struct leaf_view *v,
			unsigned int off, unsigned long *first,
			unsigned long *last)
{
	*first = view_first(v, off);
	*last = view_last(v, off);
	if (v->slots[off])
		return true;
	ma_after_write(mas, *first, *last);
	return false;
}

/*
 * The write itself.  With @dry_count set, nothing is allocated or changed:
 * *@dry_count gets the number of nodes the write would take.
 */
static void *write_core(struct ma_state *mas, void *entry, gfp_t gfp,
			unsigned int *dry_count, enum wr_mode mode)
{
	bool insert = mode == WR_INSERT;
	struct maple_tree *mt = mas->tree;
	unsigned long first = mas->index, last = mas->last;
	void *root = mt->ma_root;
	struct leaf_view lv, rv;
	unsigned int loff, roff, D;
	bool same_leaf;
	unsigned long erased_first = 0, erased_last = 0;
	bool erased = false;
	void *erased_entry = NULL;
	struct ma_wr_state wr;
	void *old;
	int ret;

	wr.mas = mas;
	wr.mt = mt;
	wr.gfp = gfp;
	wr.dry_run = dry_count != NULL;
	wr.needed = 0;
	wr.nr_new = 0;

	if (!ma_root_is_node(root)) {
		/* empty tree or a root entry: a leaf made of arrays */
		static const unsigned long vpivots[1] = { 0 };
		void *vslots[2] = { root, NULL };

		lv.pivots = vpivots;
		lv.slots = vslots;
		lv.min = 0;
		lv.max = ULONG_MAX;
		lv.end = root ? 1 : 0;
		loff = view_slot_of(&lv, 0, first);
		if (mode == WR_ERASE) {
			if (!erase_range(mas, &lv, loff, &first, &last))
				return NULL;
			erased_first = first;
			erased_last = last;
			erased_entry = lv.slots[loff];
			erased = true;
		}
		roff = view_slot_of(&lv, loff, last);
		old = lv.slots[loff];
		if (insert && (lv.slots[loff] || lv.slots[roff]))
			return write_failed(mas, -EEXIST);
		leaf_items(&wr.big, &lv, loff, &lv, roff, first, last, entry);
		wr.lo.depth = 0;
		ret = rebuild(&wr);
		goto publish;
	}

	path_walk(mt, first, &wr.lo, 0);
	D = wr.lo.depth - 1;
	if (mode == WR_ERASE) {
		leaf_view_init(&lv, wr.lo.node[D], wr.lo.min[D], wr.lo.max[D]);
		if (!erase_range(mas, &lv, wr.lo.offset[D], &first, &last))
			return NULL;
		erased_first = first;
		erased_last = last;
		erased_entry = lv.slots[wr.lo.offset[D]];
		erased = true;
	}
	if (!entry && first > 0 && first == wr.lo.min[D]) {
		/* the range before may be NULL, in the previous leaf */
		unsigned long f = first;

		absorb_null_at(mt, first - 1, &f, &last);
		if (f != first) {
			first = f;
			path_walk(mt, first, &wr.lo, 0);
		}
	}
	same_leaf = last <= wr.lo.max[D];
	if (!same_leaf)
		path_walk(mt, last, &wr.hi, 0);
	if (!entry && last < ULONG_MAX &&
	    last == (same_leaf ? wr.lo.max[D] : wr.hi.max[D])) {
		/* the range after may be NULL, in the next leaf */
		unsigned long l = last;

		absorb_null_at(mt, last + 1, &first, &l);
		if (l != last) {
			last = l;
			same_leaf = false;
			path_walk(mt, last, &wr.hi, 0);
		}
	}

	leaf_view_init(&lv, wr.lo.node[D], wr.lo.min[D], wr.lo.max[D]);
	loff = wr.lo.offset[D];
	old = lv.slots[loff];
	if (same_leaf) {
		rv = lv;
		roff = view_slot_of(&lv, loff, last);
		if (insert)
			for (unsigned int i = loff; i <= roff; i++)
				if (lv.slots[i])
					return write_failed(mas, -EEXIST);
		if (loff == roff && view_first(&lv, loff) == first &&
		    view_last(&lv, loff) == last &&
		    (entry || (lv.end > 0 &&
			       (loff == 0 || lv.slots[loff - 1]) &&
			       (loff == lv.end || lv.slots[loff + 1])))) {
			/* exact fit: one slot store, no allocation */
			if (dry_count)
				return *dry_count = 0, NULL;
			rcu_assign_pointer(lv.slots[loff], entry);
			if (!old != !entry)
				path_slot_gap_changed(mt, &wr.lo, D,
							 range_size(first,
								       last),
							 !entry);
			ma_after_write(mas, first, last);
			goto erased;
		}
	} else {
		if (insert && range_occupied(mt, first, last))
			return write_failed(mas, -EEXIST);
		leaf_view_init(&rv, wr.hi.node[D], wr.hi.min[D], wr.hi.max[D]);
		roff = wr.hi.offset[D];
	}
	leaf_items(&wr.big, &lv, loff, &rv, roff, first, last, entry);

	if (same_leaf && wr.big.count <= MAPLE_RANGE64_SLOTS &&
	    (wr.big.count >= ma_type_min_slots(maple_leaf_64) || D == 0 ||
	     wr.lo.max[D] == ULONG_MAX) &&
	    !(D == 0 && wr.big.count == 1 && !wr.big.slot[0])) {
		/* one leaf's worth for one leaf */
		if (mt_in_rcu(mt)) {
			wr.hi = wr.lo;
			ret = rebuild_leaf(&wr);
			goto publish;
		}
		if (dry_count)
			return *dry_count = 0, NULL;
		/* rewritten where it is (not in RCU mode) */
		ma_node_write(mte_to_node(wr.lo.node[D]), maple_leaf_64,
			      &wr.big, 0, wr.big.count, wr.lo.max[D]);
		path_update_gaps(mt, &wr.lo, D);
		ma_after_write(mas, first, last);
		goto erased;
	}
	if (same_leaf)
		wr.hi = wr.lo;
	ret = rebuild(&wr);

publish:
	if (dry_count) {
		*dry_count = wr.needed;
		return NULL;
	}
	if (ret) {
		wr_rollback(&wr);
		/* what a retry would need in all, for mas_nomem() */
		write_core(mas, entry, gfp, &mas->alloc_req, mode);
		return write_failed(mas, ret);
	}
	wr_publish(&wr);
	ma_after_write(mas, first, last);
erased:
	if (erased) {
		/* report the range and entry erased, not the NULL range that
		 * absorbed them */
		mas->index = erased_first;
		mas->last = erased_last;
		return erased_entry;
	}
	return old;
}

/* A write, then, if it could block and went through, a reserve top-up. */
static void *write_refill(struct ma_state *mas, void *entry, gfp_t gfp,
			  enum wr_mode mode)
{
	void *old;

	ma_assert_write_locked(mas->tree, "a write");
	old = write_core(mas, entry, gfp, NULL, mode);
	if (!mas_is_err(mas))
		reserve_refill(mas->tree, gfp);
	return old;
}

void *wr_store(struct ma_state *mas, void *entry, gfp_t gfp)
{
	return write_refill(mas, entry, gfp, WR_STORE);
}

void *wr_insert(struct ma_state *mas, void *entry, gfp_t gfp)
{
	return write_refill(mas, entry, gfp, WR_INSERT);
}

void *wr_erase(struct ma_state *mas, gfp_t gfp)
{
	return write_refill(mas, NULL, gfp, WR_ERASE);
}

unsigned int wr_node_count(struct ma_state *mas, void *entry)
{
	unsigned int count = 0;

	write_core(mas, entry, 0, &count, WR_STORE);
	return count;
}

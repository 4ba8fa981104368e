/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iter.c - moving a maple state from range to range: mas_find, mas_next,
 * mas_prev and their variants, and the normal API's readers built on them.
 *
 * A state positioned on a leaf steps slot by slot inside it and walks from
 * the root again only to cross into the neighbouring leaf.
 *
 * Overflow and underflow: a forward search that passes @max stops on the
 * first range beyond it (status ma_overflow); one that runs off the end of
 * the tree stays on the last range with MA_PAST_END set.  A later forward
 * call with a larger @max then returns that range if it holds an entry,
 * and a backward call steps back from it.  Underflow mirrors this.
 */
#include "walk.h"

/* Entry of the range @mas is on; re-walks if that leaf was replaced. */
static void *iter_here(struct ma_state *mas)
{
	struct maple_node *node;
	void *entry;

	if (!mas->node)
		return ma_descend(mas, mas->index);
	node = mte_to_node(mas->node);
	entry = rcu_dereference(node->r.slot[mas->offset]);
	if (unlikely(ma_dead_node(node))) {
		/* replaced under us: look again, keeping the range's bounds */
		unsigned long index = mas->index, last = mas->last;

		entry = ma_descend(mas, index);
		if (mas->index < index)
			mas->index = index;
		if (mas->last > last)
			mas->last = last;
	}
	return entry;
}

/*
 * Step from the end of the leaf @mas is on to the first slot of the leaf
 * after it, through their parent instead of from the root: the leaf's
 * parent link gives the parent and the slot, and the next slot of that
 * parent is the next leaf, if its upper bound is a pivot of the parent
 * (not its last slot, whose bound the parent does not hold).  Under RCU
 * every node is checked live after what was read from it, and the
 * parent's pivot must still end where this leaf ended; false (walk from
 * the root instead) when any of it does not hold.
 */
static bool iter_next_leaf(struct ma_state *mas)
{
	struct maple_node *leaf = mte_to_node(mas->node), *parent, *next;
	uintptr_t link = CMM_LOAD_SHARED(leaf->parent);
	enum maple_type ptype;
	struct maple_enode *enode;
	unsigned long *pivots, max;
	unsigned int slot;

	if (link == (uintptr_t)leaf || (link & MAPLE_PARENT_ROOT))
		return false; /* dead, or the root leaf */
	parent = (struct maple_node *)(link & MAPLE_ENODE_ADDR_MASK);
	if (!parent)
		return false; /* new, its parent not linked yet (rebuild.c) */
	slot = (unsigned int)((link & MAPLE_PARENT_SLOT_MASK) >>
			      MAPLE_PARENT_SLOT_SHIFT);
	ptype = link & MAPLE_PARENT_ARANGE ? maple_arange_64 : maple_range_64;
	if (slot + 2 >= ma_type_slots(ptype))
		return false; /* the next slot's bound is not in the parent */
	pivots = ma_pivots(parent, ptype);
	if (pivots[slot] != mas->max || pivots[slot + 1] <= mas->max)
		return false;
	max = pivots[slot + 1];
	enode = rcu_dereference(ma_slots(parent, ptype)[slot + 1]);
	if (ma_dead_node(parent) || !enode ||
	    !ma_is_leaf(mte_node_type(enode)))
		return false;
	next = mte_to_node(enode);
	mas->node = enode;
	mas->min = mas->max + 1;
	mas->max = max;
	mas->offset = 0;
	mas->end = (unsigned char)ma_data_end(next, maple_leaf_64, max);
	ma_set_slot_range(mas);
	return !ma_dead_node(next);
}

/*
 * Move to the range after the current one; false at the end of the tree.
 * Crossing into the next leaf goes through the parent when it can
 * (iter_next_leaf), else walks from the root again; under RCU a writer
 * may meanwhile have stored a range straddling that point, so the range
 * found is clamped to start after what was already returned: an
 * iteration never goes back or overlaps itself.
 */
static bool iter_step_next(struct ma_state *mas)
{
	unsigned long from = mas->last + 1;

	if (mas->last == ULONG_MAX)
		return false;
	if (mas->node && mas->offset < mas->end) {
		mas->offset++;
		ma_set_slot_range(mas);
		/* the range was read from the node: was it whole? */
		if (!ma_dead_node(mte_to_node(mas->node)))
			return true;
	} else if (mas->node && mas->last == mas->max &&
		   iter_next_leaf(mas)) {
		return true;
	}
	ma_descend(mas, from);
	if (mas->index < from)
		mas->index = from;
	return true;
}

/* Move to the range before the current one; false at the start. */
static bool iter_step_prev(struct ma_state *mas)
{
	unsigned long to = mas->index - 1;

	if (mas->index == 0)
		return false;
	if (mas->node && mas->offset > 0) {
		mas->offset--;
		ma_set_slot_range(mas);
		if (!ma_dead_node(mte_to_node(mas->node)))
			return true;
	}
	ma_descend(mas, to);
	if (mas->last > to)
		mas->last = to;
	return true;
}

/*
 * The calls below come in forward and backward pairs that mirror each
 * other; one body serves both, with @rev a constant in each caller.
 * Forward scans stop past @limit = max with ma_overflow and MA_PAST_END at
 * the end of the tree; backward ones past @limit = min with ma_underflow
 * and MA_PAST_START.
 */
#define BEYOND(rev) ((rev) ? ma_underflow : ma_overflow)
#define PAST_EDGE(rev) ((rev) ? MA_PAST_START : MA_PAST_END)

/* Has the range @mas is on gone past @limit in the scan's direction? */
static inline bool past_limit(const struct ma_state *mas, unsigned long limit,
			      bool rev)
{
	return rev ? mas->last < limit : mas->index > limit;
}

/*
 * Step from the current range to the first range holding an entry (any
 * range if @any) that does not lie past @limit.
 */
static inline __attribute__((always_inline)) void *
iter_scan(struct ma_state *mas, unsigned long limit, bool any, const bool rev)
{
	for (;;) {
		void *entry;

		if (!(rev ? iter_step_prev(mas) : iter_step_next(mas))) {
			mas->status = BEYOND(rev);
			mas->mas_flags |= PAST_EDGE(rev);
			return NULL;
		}
		if (past_limit(mas, limit, rev)) {
			mas->status = BEYOND(rev);
			return NULL;
		}
		entry = iter_here(mas);
		if (entry || any) {
			if (mas->status == ma_overflow ||
			    mas->status == ma_underflow)
				mas->status = ma_active;
			return entry;
		}
	}
}

/*
 * Bring @mas from whatever state it is in to a position to scan from.
 * Returns true when the call is answered already (*@entry set).
 * @first_here: a start or pause returns the range holding the starting
 * index if it has an entry (mas_find); mas_next never does.
 */
static inline __attribute__((always_inline)) bool
iter_setup(struct ma_state *mas, unsigned long limit, bool first_here,
	  bool any, void **entry, const bool rev)
{
	*entry = NULL;
	switch (mas->status) {
	case ma_error:
		return true;
	case ma_pause:
		if (rev ? mas->index <= limit : mas->last >= limit) {
			mas->status = BEYOND(rev);
			return true;
		}
		if (rev) {
			mas->index--;
			mas->last = mas->index;
		} else {
			mas->index = mas->last + 1;
		}
		/* fall through */
	case ma_start:
		if (rev ? mas->index < limit : mas->index > limit) {
			mas->status = BEYOND(rev);
			return true;
		}
		*entry = ma_descend(mas, mas->index);
		return first_here && (*entry || any);
	case ma_overflow:
	case ma_underflow:
		if (mas->status == BEYOND(rev)) {
			/* past the limit before: it may be within this one */
			if (mas->mas_flags & PAST_EDGE(rev))
				return true;
			*entry = iter_here(mas);
			if (past_limit(mas, limit, rev)) {
				*entry = NULL;
				return true;
			}
			if (*entry || any) {
				mas->status = ma_active;
				return true;
			}
			return false;
		}
		/* turning back from the other side */
		ma_clear_edge(mas);
		if (first_here) {
			*entry = iter_here(mas);
			if ((*entry || any) && !past_limit(mas, limit, rev)) {
				mas->status = ma_active;
				return true;
			}
			*entry = NULL;
		}
		return false;
	case ma_none:
		mas->status = BEYOND(rev);
		mas->mas_flags |= PAST_EDGE(rev);
		return true;
	default:
		return false;
	}
}

/* The whole of a find/next/prev call once no fast path applies. */
static void *iter_move(struct ma_state *mas, unsigned long limit,
		      bool first_here, bool any, bool rev)
{
	void *entry;

	if (rev) {
		if (iter_setup(mas, limit, first_here, any, &entry, true))
			return entry;
		return iter_scan(mas, limit, any, true);
	}
	if (iter_setup(mas, limit, first_here, any, &entry, false))
		return entry;
	return iter_scan(mas, limit, any, false);
}

/*
 * The common step of an iteration: the next entry is in the leaf mas is
 * on.  Returns it with mas moved there, or NULL to take the general path
 * (leaf exhausted, limit reached, or the leaf replaced under an RCU
 * reader).
 */
static inline void *iter_next_in_leaf(struct ma_state *mas, unsigned long max)
{
	struct maple_node *node = mte_to_node(mas->node);
	const unsigned long *pivots = node->r.pivot;
	unsigned int off = mas->offset;

	while (off < mas->end) {
		unsigned long first = pivots[off] + 1, last;
		void *entry;

		off++;
		if (first > max)
			return NULL;
		entry = rcu_dereference(node->r.slot[off]);
		if (!entry)
			continue;
		last = off < mas->end ? pivots[off] : mas->max;
		/* everything read: now make sure the node was whole */
		if (unlikely(ma_dead_node(node)))
			return NULL;
		mas->offset = (unsigned char)off;
		mas->index = first;
		mas->last = last;
		return entry;
	}
	return NULL;
}

/*
 * mas_find from a fresh state (every mt_find is one): the range holding
 * the index if it has an entry, else, most often, an entry further along
 * the same leaf.  Both without the general path's setup and scan; what
 * is left over (the leaf exhausted, the limit reached, a root entry or an
 * empty tree) continues there from where the descent left the state,
 * exactly as if it had walked there itself.
 */
static __attribute__((noinline)) void *
iter_find_start(struct ma_state *mas, unsigned long max)
{
	void *entry;

	if (mas->index > max)
		return iter_move(mas, max, true, false, false);
	entry = ma_descend(mas, mas->index);
	if (entry)
		return entry;
	if (likely(mas->status == ma_active)) {
		entry = iter_next_in_leaf(mas, max);
		if (likely(entry))
			return entry;
	}
	return iter_move(mas, max, true, false, false);
}

LIBIOVA_EXPORT void *mas_find(struct ma_state *mas, unsigned long max)
{
	if (likely(mas->status == ma_active)) {
		void *entry = iter_next_in_leaf(mas, max);

		if (likely(entry))
			return entry;
	} else if (mas->status == ma_start) {
		return iter_find_start(mas, max);
	}
	return iter_move(mas, max, true, false, false);
}

LIBIOVA_EXPORT void *mas_find_range(struct ma_state *mas, unsigned long max)
{
	return iter_move(mas, max, true, true, false);
}

LIBIOVA_EXPORT void *mas_next(struct ma_state *mas, unsigned long max)
{
	return iter_move(mas, max, false, false, false);
}

LIBIOVA_EXPORT void *mas_next_range(struct ma_state *mas, unsigned long max)
{
	return iter_move(mas, max, false, true, false);
}

LIBIOVA_EXPORT void *mas_find_rev(struct ma_state *mas, unsigned long min)
{
	return iter_move(mas, min, true, false, true);
}

LIBIOVA_EXPORT void *mas_find_range_rev(struct ma_state *mas,
					unsigned long min)
{
	return iter_move(mas, min, true, true, true);
}

LIBIOVA_EXPORT void *mas_prev(struct ma_state *mas, unsigned long min)
{
	return iter_move(mas, min, false, false, true);
}

LIBIOVA_EXPORT void *mas_prev_range(struct ma_state *mas, unsigned long min)
{
	return iter_move(mas, min, false, true, true);
}

LIBIOVA_EXPORT void mas_pause(struct ma_state *mas)
{
	mas->status = ma_pause;
	mas->node = NULL;
	ma_clear_edge(mas);
}

/* ---- normal API readers ---------------------------------------------- */

LIBIOVA_EXPORT void *mtree_load(struct maple_tree *mt, unsigned long index)
{
	void *entry;

	ma_rcu_read_lock();
	entry = ma_lookup(mt, index);
	ma_rcu_read_unlock();
	return xa_is_zero(entry) ? NULL : entry;
}

LIBIOVA_EXPORT void *mt_find(struct maple_tree *mt, unsigned long *index,
			     unsigned long max)
{
	unsigned long last;
	void *entry;

	if (*index > max)
		return NULL;
	ma_rcu_read_lock();
	entry = ma_lookup_first(mt, *index, max, &last);
	ma_rcu_read_unlock();
	if (entry)
		*index = last + 1; /* 0 after ULONG_MAX: the end */
	return entry;
}

LIBIOVA_EXPORT void *mt_find_after(struct maple_tree *mt, unsigned long *index,
				   unsigned long max)
{
	if (!*index)
		return NULL;
	return mt_find(mt, index, max);
}

LIBIOVA_EXPORT void *mt_next(struct maple_tree *mt, unsigned long index,
			     unsigned long max)
{
	MA_STATE(mas, mt, index, index);
	void *entry;

	ma_rcu_read_lock();
	do {
		entry = mas_next(&mas, max);
	} while (xa_is_zero(entry));
	ma_rcu_read_unlock();
	return entry;
}

LIBIOVA_EXPORT void *mt_prev(struct maple_tree *mt, unsigned long index,
			     unsigned long min)
{
	MA_STATE(mas, mt, index, index);
	void *entry;

	ma_rcu_read_lock();
	do {
		entry = mas_prev(&mas, min);
	} while (xa_is_zero(entry));
	ma_rcu_read_unlock();
	return entry;
}

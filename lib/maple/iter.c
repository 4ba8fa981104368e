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
#include "mas.h"

/* Entry of the range @mas is on; re-walks if that leaf was replaced. */
static void *mas_here(struct ma_state *mas)
{
	struct maple_node *node;
	void *entry;

	if (!mas->node)
		return mas_descend(mas, mas->index);
	node = mt_to_node(mas->node);
	entry = rcu_dereference(node->r.slot[mas->offset]);
	if (unlikely(mt_node_is_dead(node))) {
		/* replaced under us: look again, keeping the range's bounds */
		unsigned long index = mas->index, last = mas->last;

		entry = mas_descend(mas, index);
		if (mas->index < index)
			mas->index = index;
		if (mas->last > last)
			mas->last = last;
	}
	return entry;
}

/*
 * Move to the range after the current one; false at the end of the tree.
 * Crossing into another leaf walks from the root again; under RCU a
 * writer may meanwhile have stored a range straddling that point, so the
 * range found is clamped to start after what was already returned: an
 * iteration never goes back or overlaps itself.
 */
static bool mas_step_next(struct ma_state *mas)
{
	unsigned long from = mas->last + 1;

	if (mas->last == ULONG_MAX)
		return false;
	if (mas->node && mas->offset < mas->end) {
		mas->offset++;
		mas_set_slot_range(mas);
		/* the range was read from the node: was it whole? */
		if (!mt_node_is_dead(mt_to_node(mas->node)))
			return true;
	}
	mas_descend(mas, from);
	if (mas->index < from)
		mas->index = from;
	return true;
}

/* Move to the range before the current one; false at the start. */
static bool mas_step_prev(struct ma_state *mas)
{
	unsigned long to = mas->index - 1;

	if (mas->index == 0)
		return false;
	if (mas->node && mas->offset > 0) {
		mas->offset--;
		mas_set_slot_range(mas);
		if (!mt_node_is_dead(mt_to_node(mas->node)))
			return true;
	}
	mas_descend(mas, to);
	if (mas->last > to)
		mas->last = to;
	return true;
}

/*
 * Step forward from the current range to the first range starting at or
 * below @max that holds an entry (any range if @any).
 */
static void *mas_scan_next(struct ma_state *mas, unsigned long max, bool any)
{
	for (;;) {
		void *entry;

		if (!mas_step_next(mas)) {
			mas->status = ma_overflow;
			mas->mas_flags |= MA_PAST_END;
			return NULL;
		}
		if (mas->index > max) {
			mas->status = ma_overflow;
			return NULL;
		}
		entry = mas_here(mas);
		if (entry || any) {
			if (mas->status == ma_overflow ||
			    mas->status == ma_underflow)
				mas->status = ma_active;
			return entry;
		}
	}
}

static void *mas_scan_prev(struct ma_state *mas, unsigned long min, bool any)
{
	for (;;) {
		void *entry;

		if (!mas_step_prev(mas)) {
			mas->status = ma_underflow;
			mas->mas_flags |= MA_PAST_START;
			return NULL;
		}
		if (mas->last < min) {
			mas->status = ma_underflow;
			return NULL;
		}
		entry = mas_here(mas);
		if (entry || any) {
			if (mas->status == ma_overflow ||
			    mas->status == ma_underflow)
				mas->status = ma_active;
			return entry;
		}
	}
}

/*
 * Shared by the forward calls: bring @mas from whatever state it is in to
 * a position to scan from.  Returns true when the call is answered already
 * (*@entry set).  @first_here: a start or pause returns the range holding
 * the starting index if it has an entry (mas_find); mas_next never does.
 */
static bool mas_forward_setup(struct ma_state *mas, unsigned long max,
			      bool first_here, bool any, void **entry)
{
	*entry = NULL;
	switch (mas->status) {
	case ma_error:
		return true;
	case ma_pause:
		if (mas->last >= max) {
			mas->status = ma_overflow;
			return true;
		}
		mas->index = mas->last + 1;
		/* fall through */
	case ma_start:
		if (mas->index > max) {
			mas->status = ma_overflow;
			return true;
		}
		*entry = mas_descend(mas, mas->index);
		if (first_here && (*entry || any))
			return true;
		return false;
	case ma_overflow:
		if (mas->mas_flags & MA_PAST_END)
			return true;
		*entry = mas_here(mas);
		if (mas->index > max) {
			*entry = NULL;
			return true;
		}
		if (*entry || any) {
			mas->status = ma_active;
			return true;
		}
		return false;
	case ma_underflow:
		mas_clear_edge(mas);
		if (first_here) {
			*entry = mas_here(mas);
			if ((*entry || any) && mas->index <= max) {
				mas->status = ma_active;
				return true;
			}
			*entry = NULL;
		}
		return false;
	case ma_none:
		mas->status = ma_overflow;
		mas->mas_flags |= MA_PAST_END;
		return true;
	default:
		return false;
	}
}

static bool mas_backward_setup(struct ma_state *mas, unsigned long min,
			       bool first_here, bool any, void **entry)
{
	*entry = NULL;
	switch (mas->status) {
	case ma_error:
		return true;
	case ma_pause:
		if (mas->index <= min) {
			mas->status = ma_underflow;
			return true;
		}
		mas->index--;
		mas->last = mas->index;
		/* fall through */
	case ma_start:
		if (mas->index < min) {
			mas->status = ma_underflow;
			return true;
		}
		*entry = mas_descend(mas, mas->index);
		if (first_here && (*entry || any))
			return true;
		return false;
	case ma_underflow:
		if (mas->mas_flags & MA_PAST_START)
			return true;
		*entry = mas_here(mas);
		if (mas->last < min) {
			*entry = NULL;
			return true;
		}
		if (*entry || any) {
			mas->status = ma_active;
			return true;
		}
		return false;
	case ma_overflow:
		mas_clear_edge(mas);
		if (first_here) {
			*entry = mas_here(mas);
			if ((*entry || any) && mas->last >= min) {
				mas->status = ma_active;
				return true;
			}
			*entry = NULL;
		}
		return false;
	case ma_none:
		mas->status = ma_underflow;
		mas->mas_flags |= MA_PAST_START;
		return true;
	default:
		return false;
	}
}

/*
 * The common step of an iteration: the next entry is in the leaf mas is
 * on.  Returns it with mas moved there, or NULL to take the general path
 * (leaf exhausted, limit reached, or the leaf replaced under an RCU
 * reader).
 */
static inline void *mas_next_in_leaf(struct ma_state *mas, unsigned long max)
{
	struct maple_node *node = mt_to_node(mas->node);
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
		if (unlikely(mt_node_is_dead(node)))
			return NULL;
		mas->offset = (unsigned char)off;
		mas->index = first;
		mas->last = last;
		return entry;
	}
	return NULL;
}

LIBIOVA_EXPORT void *mas_find(struct ma_state *mas, unsigned long max)
{
	void *entry;

	if (likely(mas->status == ma_active)) {
		entry = mas_next_in_leaf(mas, max);
		if (likely(entry))
			return entry;
	}
	if (mas_forward_setup(mas, max, true, false, &entry))
		return entry;
	return mas_scan_next(mas, max, false);
}

LIBIOVA_EXPORT void *mas_find_range(struct ma_state *mas, unsigned long max)
{
	void *entry;

	if (mas_forward_setup(mas, max, true, true, &entry))
		return entry;
	return mas_scan_next(mas, max, true);
}

LIBIOVA_EXPORT void *mas_next(struct ma_state *mas, unsigned long max)
{
	void *entry;

	if (mas_forward_setup(mas, max, false, false, &entry))
		return entry;
	return mas_scan_next(mas, max, false);
}

LIBIOVA_EXPORT void *mas_next_range(struct ma_state *mas, unsigned long max)
{
	void *entry;

	if (mas_forward_setup(mas, max, false, true, &entry))
		return entry;
	return mas_scan_next(mas, max, true);
}

LIBIOVA_EXPORT void *mas_find_rev(struct ma_state *mas, unsigned long min)
{
	void *entry;

	if (mas_backward_setup(mas, min, true, false, &entry))
		return entry;
	return mas_scan_prev(mas, min, false);
}

LIBIOVA_EXPORT void *mas_find_range_rev(struct ma_state *mas,
					unsigned long min)
{
	void *entry;

	if (mas_backward_setup(mas, min, true, true, &entry))
		return entry;
	return mas_scan_prev(mas, min, true);
}

LIBIOVA_EXPORT void *mas_prev(struct ma_state *mas, unsigned long min)
{
	void *entry;

	if (mas_backward_setup(mas, min, false, false, &entry))
		return entry;
	return mas_scan_prev(mas, min, false);
}

LIBIOVA_EXPORT void *mas_prev_range(struct ma_state *mas, unsigned long min)
{
	void *entry;

	if (mas_backward_setup(mas, min, false, true, &entry))
		return entry;
	return mas_scan_prev(mas, min, true);
}

LIBIOVA_EXPORT void mas_pause(struct ma_state *mas)
{
	mas->status = ma_pause;
	mas->node = NULL;
	mas_clear_edge(mas);
}

/* ---- normal API readers ---------------------------------------------- */

LIBIOVA_EXPORT void *mtree_load(struct maple_tree *mt, unsigned long index)
{
	void *entry;

	mt_rcu_read_lock();
	entry = mt_lookup(mt, index);
	mt_rcu_read_unlock();
	return xa_is_zero(entry) ? NULL : entry;
}

LIBIOVA_EXPORT void *mt_find(struct maple_tree *mt, unsigned long *index,
			     unsigned long max)
{
	MA_STATE(mas, mt, *index, *index);
	void *entry;

	if (*index > max)
		return NULL;
	mt_rcu_read_lock();
	do {
		entry = mas_find(&mas, max);
	} while (xa_is_zero(entry));
	mt_rcu_read_unlock();
	if (entry)
		*index = mas.last + 1; /* 0 after ULONG_MAX: the end */
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

	mt_rcu_read_lock();
	do {
		entry = mas_next(&mas, max);
	} while (xa_is_zero(entry));
	mt_rcu_read_unlock();
	return entry;
}

LIBIOVA_EXPORT void *mt_prev(struct maple_tree *mt, unsigned long index,
			     unsigned long min)
{
	MA_STATE(mas, mt, index, index);
	void *entry;

	mt_rcu_read_lock();
	do {
		entry = mas_prev(&mas, min);
	} while (xa_is_zero(entry));
	mt_rcu_read_unlock();
	return entry;
}

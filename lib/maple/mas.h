/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mas.h - maple-state helpers every reader and writer uses: the edge flags
 * of an iteration and recording an error in a state.
 *
 * Floor 2 of lib/maple (docs/maple-tree.md): includes node.h only.
 */
#ifndef LIBIOVA_MAPLE_MAS_H
#define LIBIOVA_MAPLE_MAS_H

#include "node.h"

/*
 * mas_flags bits.  MA_PAST_END / MA_PAST_START: an overflow (underflow)
 * was reached at the end (start) of the tree, so the range mas is on has
 * already been returned and is not a candidate for the next call.
 */
#define MA_PAST_END   0x01
#define MA_PAST_START 0x02

static inline void ma_clear_edge(struct ma_state *mas)
{
	mas->mas_flags &= (unsigned char)~(MA_PAST_END | MA_PAST_START);
}

/* Put @err (a negative errno) in @mas: status ma_error, xa_err(node). */
static inline void ma_set_err(struct ma_state *mas, int err)
{
	mas->status = ma_error;
	mas->node = (struct maple_enode *)xa_mk_internal(
		(unsigned long)(long)err);
}

#endif /* LIBIOVA_MAPLE_MAS_H */

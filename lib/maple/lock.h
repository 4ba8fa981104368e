/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lock.h - taking the write lock of a tree inside the library, and the
 * normal API's write loop (lock.c).
 */
#ifndef LIBIOVA_MAPLE_LOCK_H
#define LIBIOVA_MAPLE_LOCK_H

#include "mas.h"

/* lock.c: call the lock-violation handler unless the external lock of
 * @mt is held.  @what names the operation for the message. */
void ma_assert_write_locked_slow(struct maple_tree *mt, const char *what);

/* Debug builds: check that a tree with an external lock has it held. */
static inline void ma_assert_write_locked(struct maple_tree *mt,
					  const char *what)
{
	if (LIBIOVA_DEBUG && mt_external_lock(mt))
		ma_assert_write_locked_slow(mt, what);
}

/* Take the write lock: the internal one, or check the caller holds its
 * external lock. */
static inline void ma_write_lock(struct maple_tree *mt, const char *what)
{
	if (mt_external_lock(mt))
		ma_assert_write_locked(mt, what);
	else
		mtree_lock(mt);
}

static inline void ma_write_unlock(struct maple_tree *mt)
{
	if (!mt_external_lock(mt))
		mtree_unlock(mt);
}

/*
 * One attempt of a normal-API write, from a fresh walk: redo everything
 * (searches included) from the arguments in @arg.  Returns 0 or a negative
 * errno; -ENOMEM leaves the nodes it wanted in mas->alloc_req.
 */
typedef int (*ma_write_op)(struct ma_state *mas, gfp_t gfp, void *arg);

/*
 * Run @op under the write lock.  When it fails with -ENOMEM, @gfp may
 * block and the lock is the internal one, the nodes are allocated with the
 * lock dropped and @op runs again; with an external lock @op allocates
 * with @gfp itself, the user's lock held.  Afterwards the tree's reserve
 * is topped up the same way and what is left in @mas is freed.  Returns
 * what the last attempt of @op returned.
 */
int ma_locked_write(struct ma_state *mas, gfp_t gfp, ma_write_op op,
		    void *arg);

/* reserve.c: top the reserve up to its target, allocating with @gfp with
 * the internal lock dropped.  Called and returns with it held. */
void reserve_refill_unlocked(struct maple_tree *mt, gfp_t gfp);

#endif /* LIBIOVA_MAPLE_LOCK_H */

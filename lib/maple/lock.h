/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lock.h - taking a tree's write lock inside the library (lock.c): the
 * internal mutex, or a check that the caller holds its external lock.
 *
 * Floor 2 of lib/maple (docs/maple-tree.md): includes node.h only.
 *
 * Locking rule: every write (anything that can change ma_root, a node, the
 * reserve or the flags) runs with the write lock held: the internal mutex,
 * or, with MT_FLAGS_LOCK_EXTERN, the user's lock, which the library never
 * takes, drops or releases itself.
 */
#ifndef LIBIOVA_MAPLE_LOCK_H
#define LIBIOVA_MAPLE_LOCK_H

#include "node.h"

/* Call the lock-violation handler unless the external lock of @mt is
 * held.  @what names the operation for the message. */
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

#endif /* LIBIOVA_MAPLE_LOCK_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lock.c - the locks that protect a tree's writers: the internal mutex or
 * the user's external lock, with its debug-build check and the handler
 * told of a violation.  The locking rule is in lock.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lock.h"

LIBIOVA_EXPORT void mtree_lock(struct maple_tree *mt)
{
	pthread_mutex_lock(&mt->ma_lock);
}

LIBIOVA_EXPORT void mtree_unlock(struct maple_tree *mt)
{
	pthread_mutex_unlock(&mt->ma_lock);
}

LIBIOVA_EXPORT void mt_set_external_lock_check(struct maple_tree *mt,
					       void *lock, mt_lock_held_fn held)
{
	mt->ma_external_lock = lock;
	mt->ma_lock_held = held;
	mt->ma_flags = (mt->ma_flags & ~MT_FLAGS_LOCK_MASK) |
		       MT_FLAGS_LOCK_EXTERN;
}

/*
 * A mutex is held when trylock fails.  That cannot tell this thread from
 * another one, so the check catches a write with the lock free, the bug
 * it is there for, and never fires wrongly.
 */
static bool mutex_held(void *lock)
{
	pthread_mutex_t *mutex = lock;

	if (pthread_mutex_trylock(mutex) != 0)
		return true;
	pthread_mutex_unlock(mutex);
	return false;
}

LIBIOVA_EXPORT void mt_set_external_lock(struct maple_tree *mt,
					 pthread_mutex_t *lock)
{
	mt_set_external_lock_check(mt, lock, NULL);
}

LIBIOVA_EXPORT bool mt_lock_is_held(struct maple_tree *mt)
{
	if (!mt_external_lock(mt))
		return mutex_held(&mt->ma_lock);
	if (mt->ma_lock_held)
		return mt->ma_lock_held(mt->ma_external_lock);
	return !mt->ma_external_lock || mutex_held(mt->ma_external_lock);
}

static void violation_default(struct maple_tree *mt, const char *what)
{
	fprintf(stderr, "libmapletree: %s on tree %p without its external "
			"lock held\n", what, (void *)mt);
	abort();
}

static mt_lock_violation_fn violation_handler = violation_default;

LIBIOVA_EXPORT void mt_set_lock_violation_handler(mt_lock_violation_fn fn)
{
	__atomic_store_n(&violation_handler, fn ? fn : violation_default,
			 __ATOMIC_RELEASE);
}

void ma_assert_write_locked_slow(struct maple_tree *mt, const char *what)
{
	if (!mt_lock_is_held(mt))
		__atomic_load_n(&violation_handler, __ATOMIC_ACQUIRE)(mt, what);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lock.c - the locks that protect a tree's writers: the internal mutex or
 * the user's external lock (with its debug-build check), RCU mode on and
 * off, and the normal API's write loop, which drops the internal lock to
 * allocate.
 *
 * Locking rule: every write (anything that can change ma_root, a node, the
 * reserve or the flags) runs with the write lock held: the internal mutex,
 * or, with MT_FLAGS_LOCK_EXTERN, the user's lock, which the library never
 * takes, drops or releases itself.
 */
#include <errno.h>
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

static void set_rcu_flag(struct maple_tree *mt, bool on)
{
	ma_write_lock(mt, "mt_set_in_rcu");
	if (on) {
		mt->ma_flags |= MT_FLAGS_USE_RCU;
	} else {
		mt->ma_flags &= ~MT_FLAGS_USE_RCU;
		ma_retired_flush(mt);
	}
	ma_write_unlock(mt);
}

LIBIOVA_EXPORT void mt_set_in_rcu(struct maple_tree *mt)
{
	if (!mt_in_rcu(mt))
		set_rcu_flag(mt, true);
}

LIBIOVA_EXPORT void mt_clear_in_rcu(struct maple_tree *mt)
{
	if (mt_in_rcu(mt))
		set_rcu_flag(mt, false);
}

int ma_locked_write(struct ma_state *mas, gfp_t gfp, ma_write_op op,
		    void *arg)
{
	struct maple_tree *mt = mas->tree;
	bool internal = !mt_external_lock(mt);
	bool may_drop = internal && gfpflags_allow_blocking(gfp);
	/* under the internal lock, attempts never block: see below */
	gfp_t attempt_gfp = may_drop ? gfp & ~__GFP_DIRECT_RECLAIM : gfp;
	int ret;

	ma_write_lock(mt, "a normal-API write");
	for (;;) {
		ret = op(mas, attempt_gfp, arg);
		if (ret != -ENOMEM || !may_drop)
			break;
		/*
		 * Out of nodes, and the caller may block: allocate what the
		 * write wanted with the lock dropped, so other writers are not
		 * held up by a wait for memory, then redo the write from a
		 * fresh walk (op starts over; the tree may have changed).
		 */
		mtree_unlock(mt);
		bool got = mas_nomem(mas, gfp);
		mtree_lock(mt);
		if (!got) {
			/* -ENOMEM still, or -EINVAL from the allocator */
			if (mas_is_err(mas))
				ret = xa_err(mas->node);
			break;
		}
	}
	if (!ret && may_drop)
		reserve_refill_unlocked(mt, gfp);
	ma_write_unlock(mt);
	mas_destroy(mas);
	return ret;
}

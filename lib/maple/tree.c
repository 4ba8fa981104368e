/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tree.c - a tree's life: initialization, its allocator, RCU mode on and
 * off, its height, its statistics and erase-failure hook, destruction.
 */
#include <errno.h>
#include <string.h>

#include "supply.h"

LIBIOVA_EXPORT void mt_init_flags(struct maple_tree *mt, unsigned int flags)
{
	pthread_mutex_init(&mt->ma_lock, NULL);
	/* the height lives in the flags; a new tree has none */
	mt->ma_flags = flags & ~MT_FLAGS_HEIGHT_MASK;
	mt->ma_root = NULL;
	mt->ma_alloc = NULL;
	mt->ma_reserve = NULL;
	mt->ma_retired = NULL;
	memset(&mt->ma_stats, 0, sizeof(mt->ma_stats));
	mt->ma_erase_failed = NULL;
	mt->ma_erase_failed_arg = NULL;
	mt->ma_external_lock = NULL;
	mt->ma_lock_held = NULL;
}

LIBIOVA_EXPORT int mt_set_allocator(struct maple_tree *mt,
				    struct mt_allocator *alloc)
{
	if (!mt)
		return -EINVAL;
	if (ma_root_is_node(mt->ma_root) || mt->ma_reserve)
		return -EBUSY;
	/* what the old allocator lent goes back to it */
	ma_retired_flush(mt);
	mt->ma_alloc = alloc;
	return 0;
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

LIBIOVA_EXPORT unsigned int mt_height(const struct maple_tree *mt)
{
	return ma_flags_height(mt->ma_flags);
}

LIBIOVA_EXPORT void mtree_destroy(struct maple_tree *mt)
{
	void *root;

	ma_write_lock(mt, "mtree_destroy");
	root = mt->ma_root;
	rcu_assign_pointer(mt->ma_root, NULL);
	ma_set_height(mt, 0);
	if (ma_root_is_node(root))
		ma_free_subtree(mt, root);
	ma_retired_flush(mt);
	/* the reserve goes too; its target stays for the next writes */
	reserve_release(mt);
	mt->ma_flags &= ~MT_FLAGS_ALLOC_WRAPPED;
	ma_write_unlock(mt);
}

LIBIOVA_EXPORT int mt_tree_stats(struct maple_tree *mt,
				 struct mt_tree_stats *st)
{
	if (!mt || !st)
		return -EINVAL;
	ma_write_lock(mt, "mt_tree_stats");
	*st = mt->ma_stats;
	ma_write_unlock(mt);
	return 0;
}

LIBIOVA_EXPORT void mt_set_erase_failed(struct maple_tree *mt,
					mt_erase_failed_fn fn, void *arg)
{
	ma_write_lock(mt, "mt_set_erase_failed");
	mt->ma_erase_failed = fn;
	mt->ma_erase_failed_arg = arg;
	ma_write_unlock(mt);
}

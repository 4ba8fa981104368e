/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tree.c - a tree's life: initialization, its allocator, its lock, its
 * height, destruction.
 */
#include <errno.h>
#include <string.h>

#include "lock.h"

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

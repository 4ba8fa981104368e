/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tree.c - a tree's life: initialization, its allocator, its lock, its
 * height, destruction.
 */
#include <errno.h>
#include <string.h>

#include "node.h"

LIBIOVA_EXPORT void mt_init_flags(struct maple_tree *mt, unsigned int flags)
{
	pthread_mutex_init(&mt->ma_lock, NULL);
	/* the height lives in the flags; a new tree has none */
	mt->ma_flags = flags & ~MT_FLAGS_HEIGHT_MASK;
	mt->ma_root = NULL;
	mt->ma_alloc = NULL;
	mt->ma_reserve = NULL;
	memset(&mt->ma_stats, 0, sizeof(mt->ma_stats));
	mt->ma_erase_failed = NULL;
	mt->ma_erase_failed_arg = NULL;
}

LIBIOVA_EXPORT int mt_set_allocator(struct maple_tree *mt,
				    struct mt_allocator *alloc)
{
	if (!mt)
		return -EINVAL;
	if (mt_root_is_node(mt->ma_root) || mt->ma_reserve)
		return -EBUSY;
	mt->ma_alloc = alloc;
	return 0;
}

LIBIOVA_EXPORT unsigned int mt_height(const struct maple_tree *mt)
{
	return mt_flags_height(mt->ma_flags);
}

LIBIOVA_EXPORT void mtree_lock(struct maple_tree *mt)
{
	pthread_mutex_lock(&mt->ma_lock);
}

LIBIOVA_EXPORT void mtree_unlock(struct maple_tree *mt)
{
	pthread_mutex_unlock(&mt->ma_lock);
}

LIBIOVA_EXPORT void mtree_destroy(struct maple_tree *mt)
{
	void *root;

	mtree_lock(mt);
	root = mt->ma_root;
	rcu_assign_pointer(mt->ma_root, NULL);
	mt_set_height(mt, 0);
	if (mt_root_is_node(root))
		mt_free_subtree(mt, root);
	/* the reserve goes too; its target stays for the next writes */
	mt_reserve_release(mt);
	mt->ma_flags &= ~MT_FLAGS_ALLOC_WRAPPED;
	mtree_unlock(mt);
}

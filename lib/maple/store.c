/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store.c - the store calls: the advanced mas_store family with its node
 * reserve (mas_preallocate, mas_nomem, mas_destroy), and the normal API's
 * writers, which take the tree lock around them.
 */
#include <errno.h>

#include "lock.h"

LIBIOVA_EXPORT void *mas_store(struct ma_state *mas, void *entry)
{
	if (mas->index > mas->last) {
		ma_set_err(mas, -EINVAL);
		return NULL;
	}
	return wr_store(mas, entry, GFP_NOWAIT);
}

LIBIOVA_EXPORT int mas_store_gfp(struct ma_state *mas, void *entry, gfp_t gfp)
{
	if (mas->index > mas->last)
		return -EINVAL;
	wr_store(mas, entry, gfp);
	return mas_is_err(mas) ? xa_err(mas->node) : 0;
}

/*
 * Add @count nodes to the reserve of @mas, all or nothing.  Returns 0,
 * -ENOMEM, or -EINVAL if the allocator handed out a misaligned node.
 */
static int supply_fill(struct ma_state *mas, unsigned int count, gfp_t gfp)
{
	struct mt_allocator *alloc = ma_allocator(mas->tree);

	for (unsigned int i = 0; i < count; i++) {
		void *node = mt_node_alloc(alloc, gfp);

		if (!node) {
			int err = errno == EINVAL ? -EINVAL : -ENOMEM;

			/* give back this call's nodes: they sit on top */
			while (i--) {
				void *top = mas->alloc;

				mas->alloc = *(void **)top;
				mas->alloc_count--;
				mt_node_free(alloc, top);
			}
			return err;
		}
		*(void **)node = mas->alloc;
		mas->alloc = node;
		mas->alloc_count++;
	}
	return 0;
}

LIBIOVA_EXPORT int mas_preallocate(struct ma_state *mas, void *entry,
				   gfp_t gfp)
{
	unsigned int need;
	int ret;

	if (mas->index > mas->last)
		return -EINVAL;
	need = wr_node_count(mas, entry);
	if (need <= mas->alloc_count)
		return 0;
	ret = supply_fill(mas, need - mas->alloc_count, gfp);
	if (ret)
		ma_set_err(mas, ret);
	return ret;
}

LIBIOVA_EXPORT void mas_store_prealloc(struct ma_state *mas, void *entry)
{
	wr_store(mas, entry, GFP_NOWAIT);
	mas_destroy(mas);
}

LIBIOVA_EXPORT bool mas_nomem(struct ma_state *mas, gfp_t gfp)
{
	int ret = 0;

	if (!mas_is_err(mas) || xa_err(mas->node) != -ENOMEM)
		return false;
	if (mas->alloc_req > mas->alloc_count)
		ret = supply_fill(mas, mas->alloc_req - mas->alloc_count, gfp);
	if (ret) {
		/* the reason the retry cannot happen: still out of memory,
		 * or an allocator handing out misaligned nodes */
		ma_set_err(mas, ret);
		return false;
	}
	mas->alloc_req = 0;
	mas_reset(mas);
	return true;
}

LIBIOVA_EXPORT void mas_destroy(struct ma_state *mas)
{
	struct mt_allocator *alloc;

	if (!mas->alloc)
		return;
	alloc = ma_allocator(mas->tree);
	while (mas->alloc) {
		void *node = mas->alloc;

		mas->alloc = *(void **)node;
		mt_node_free(alloc, node);
	}
	mas->alloc_count = 0;
}

LIBIOVA_EXPORT void *mas_erase(struct ma_state *mas)
{
	return wr_erase(mas, GFP_KERNEL);
}

/* ---- normal API writers ------------------------------------------------ */

/* What a normal-API write is asked to do; each attempt starts from it. */
struct write_args {
	unsigned long first, last;
	void *entry;      /* to store; for an erase, the entry erased */
	bool insert;
};

static int store_op(struct ma_state *mas, gfp_t gfp, void *arg)
{
	struct write_args *a = arg;

	mas_set_range(mas, a->first, a->last);
	if (a->insert)
		wr_insert(mas, a->entry, gfp);
	else
		wr_store(mas, a->entry, gfp);
	return mas_is_err(mas) ? xa_err(mas->node) : 0;
}

LIBIOVA_EXPORT int mtree_store_range(struct maple_tree *mt, unsigned long first,
				     unsigned long last, void *entry, gfp_t gfp)
{
	MA_STATE(mas, mt, first, last);
	struct write_args a = { first, last, entry, false };

	if (first > last || mt_is_reserved(entry))
		return -EINVAL;
	return ma_locked_write(&mas, gfp, store_op, &a);
}

LIBIOVA_EXPORT int mtree_store(struct maple_tree *mt, unsigned long index,
			       void *entry, gfp_t gfp)
{
	return mtree_store_range(mt, index, index, entry, gfp);
}

LIBIOVA_EXPORT int mtree_insert_range(struct maple_tree *mt,
				      unsigned long first, unsigned long last,
				      void *entry, gfp_t gfp)
{
	MA_STATE(mas, mt, first, last);
	struct write_args a = { first, last, entry, true };

	if (first > last || !entry || mt_is_reserved(entry))
		return -EINVAL;
	return ma_locked_write(&mas, gfp, store_op, &a);
}

LIBIOVA_EXPORT int mtree_insert(struct maple_tree *mt, unsigned long index,
				void *entry, gfp_t gfp)
{
	return mtree_insert_range(mt, index, index, entry, gfp);
}

static int erase_op(struct ma_state *mas, gfp_t gfp, void *arg)
{
	struct write_args *a = arg;

	mas_set(mas, a->first);
	a->entry = wr_erase(mas, gfp);
	return mas_is_err(mas) ? xa_err(mas->node) : 0;
}

/*
 * No node from the allocator, even blocking, nor from the reserve.
 * Overwrite the range in place with XA_ZERO_ENTRY: an exact fit, which
 * needs no node.  The entry is gone for readers; the range stays occupied
 * until a later erase in it succeeds.  Loudly.  Under the write lock,
 * taken again after the failed erase: if another writer emptied the range
 * meanwhile, that erase came first and there is nothing left to park.
 */
static void *erase_to_zero(struct maple_tree *mt, unsigned long index)
{
	MA_STATE(mas, mt, index, index);
	void *entry = ma_descend(&mas, index);

	if (!entry || xa_is_zero(entry))
		return NULL;
	mas_set_range(&mas, mas.index, mas.last);
	wr_store(&mas, XA_ZERO_ENTRY, GFP_NOWAIT);
	mt->ma_stats.erase_zeroed++;
	if (mt->ma_erase_failed)
		mt->ma_erase_failed(mt, index, entry, mt->ma_erase_failed_arg);
	return entry;
}

LIBIOVA_EXPORT void *mtree_erase(struct maple_tree *mt, unsigned long index)
{
	MA_STATE(mas, mt, index, index);
	struct write_args a = { index, index, NULL, false };
	void *entry;

	if (!ma_locked_write(&mas, GFP_KERNEL | __GFP_HIGH, erase_op, &a))
		return xa_is_zero(a.entry) ? NULL : a.entry;
	/* no node anywhere: rare, so parking may take the lock again */
	ma_write_lock(mt, "mtree_erase");
	entry = erase_to_zero(mt, index);
	ma_write_unlock(mt);
	return xa_is_zero(entry) ? NULL : entry;
}

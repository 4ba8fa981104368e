/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * store.c - the store calls: the advanced mas_store family with
 * preallocation, and the normal API's writers, which take the tree lock
 * around them.  Where their nodes come from, and the retry when there are
 * none, is the node supply's (supply.c).
 */
#include <errno.h>

#include "supply.h"
#include "walk.h"
#include "write.h"

/* What a write is asked to do; each attempt starts from it. */
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

static int erase_op(struct ma_state *mas, gfp_t gfp, void *arg)
{
	struct write_args *a = arg;

	mas_set(mas, a->first);
	a->entry = wr_erase(mas, gfp);
	return mas_is_err(mas) ? xa_err(mas->node) : 0;
}

/* ---- the advanced API: the caller holds the lock ----------------------- */

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
	struct write_args a = { mas->index, mas->last, entry, false };

	if (mas->index > mas->last)
		return -EINVAL;
	/* the caller's lock stays held: it may rely on what it looked up */
	return supply_write(mas, gfp, false, store_op, &a);
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

LIBIOVA_EXPORT void *mas_erase(struct ma_state *mas)
{
	struct write_args a = { mas->index, mas->index, NULL, false };

	supply_write(mas, GFP_KERNEL, false, erase_op, &a);
	return a.entry;
}

/* ---- the normal API: the lock taken here -------------------------------- */

LIBIOVA_EXPORT int mtree_store_range(struct maple_tree *mt, unsigned long first,
				     unsigned long last, void *entry, gfp_t gfp)
{
	MA_STATE(mas, mt, first, last);
	struct write_args a = { first, last, entry, false };

	if (first > last || mt_is_reserved(entry))
		return -EINVAL;
	return supply_locked_write(&mas, gfp, store_op, &a);
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
	return supply_locked_write(&mas, gfp, store_op, &a);
}

LIBIOVA_EXPORT int mtree_insert(struct maple_tree *mt, unsigned long index,
				void *entry, gfp_t gfp)
{
	return mtree_insert_range(mt, index, index, entry, gfp);
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

	if (!supply_locked_write(&mas, GFP_KERNEL | __GFP_HIGH, erase_op, &a))
		return xa_is_zero(a.entry) ? NULL : a.entry;
	/* no node anywhere: rare, so parking may take the lock again */
	ma_write_lock(mt, "mtree_erase");
	entry = erase_to_zero(mt, index);
	ma_write_unlock(mt);
	return xa_is_zero(entry) ? NULL : entry;
}

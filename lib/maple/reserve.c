/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * reserve.c - a tree's node reserve: nodes set aside for writes that must
 * not fail for want of memory (erases, GFP_ATOMIC stores), taken when the
 * allocator has none and put back by the next write that may block.
 *
 * The reserve is a list linked through the nodes' first word, under the
 * tree lock like everything a writer touches.
 */
#include <errno.h>

#include "lock.h"

static void reserve_push(struct maple_tree *mt, void *node)
{
	*(void **)node = mt->ma_reserve;
	mt->ma_reserve = node;
	mt->ma_stats.reserve_now++;
}

void *reserve_take(struct maple_tree *mt)
{
	void *node = mt->ma_reserve;

	if (!node)
		return NULL;
	mt->ma_reserve = *(void **)node;
	mt->ma_stats.reserve_now--;
	mt->ma_stats.reserve_draws++;
	if (mt->ma_stats.reserve_now < mt->ma_stats.reserve_low)
		mt->ma_stats.reserve_low = mt->ma_stats.reserve_now;
	return node;
}

/*
 * Top the reserve up to @want nodes with @gfp.  Returns 0, or the reason
 * it fell short: -ENOMEM, or -EINVAL (the allocator's node misaligned).
 * Kept out of line: inlined, its register saves ran on every write, in
 * front of reserve_refill's check that almost always finds it full.
 */
static __attribute__((noinline)) int
reserve_fill(struct maple_tree *mt, unsigned int want, gfp_t gfp, bool count)
{
	struct mt_allocator *alloc = ma_allocator(mt);

	if (gfpflags_allow_blocking(gfp))
		ma_retired_flush(mt);
	while (mt->ma_stats.reserve_now < want) {
		void *node = mt_node_alloc(alloc, gfp);

		if (!node)
			return errno == EINVAL ? -EINVAL : -ENOMEM;
		reserve_push(mt, node);
		if (count)
			mt->ma_stats.reserve_refills++;
	}
	return 0;
}

/* Give nodes back until the reserve holds @keep (the newest go first). */
static void reserve_trim(struct maple_tree *mt, unsigned int keep)
{
	struct mt_allocator *alloc = ma_allocator(mt);

	while (mt->ma_reserve && mt->ma_stats.reserve_now > keep) {
		void *node = mt->ma_reserve;

		mt->ma_reserve = *(void **)node;
		mt->ma_stats.reserve_now--;
		mt_node_free(alloc, node);
	}
}

void reserve_refill(struct maple_tree *mt, gfp_t gfp)
{
	if (mt->ma_stats.reserve_now < mt->ma_stats.reserve_target &&
	    gfpflags_allow_blocking(gfp))
		reserve_fill(mt, mt->ma_stats.reserve_target, gfp, true);
}

void reserve_refill_unlocked(struct maple_tree *mt, gfp_t gfp)
{
	struct mt_allocator *alloc = ma_allocator(mt);
	void *got = NULL;
	unsigned int want;

	if (mt->ma_stats.reserve_now >= mt->ma_stats.reserve_target)
		return;
	want = mt->ma_stats.reserve_target - mt->ma_stats.reserve_now;
	ma_retired_flush(mt);
	mtree_unlock(mt);
	for (unsigned int i = 0; i < want; i++) {
		void *node = mt_node_alloc(alloc, gfp);

		if (!node)
			break;
		*(void **)node = got;
		got = node;
	}
	mtree_lock(mt);
	/* the target or the reserve may have moved meanwhile */
	while (got) {
		void *node = got;

		got = *(void **)node;
		if (mt->ma_stats.reserve_now < mt->ma_stats.reserve_target) {
			reserve_push(mt, node);
			mt->ma_stats.reserve_refills++;
		} else {
			mt_node_free(alloc, node);
		}
	}
}

void reserve_release(struct maple_tree *mt)
{
	reserve_trim(mt, 0);
}

/*
 * All or nothing: a reserve that cannot be filled to @nr gives back what
 * this call took and keeps its old target, so a failed call (a huge @nr
 * above all) leaves no state behind for later writes to act on.
 */
LIBIOVA_EXPORT int mt_reserve_nodes(struct maple_tree *mt, unsigned int nr,
				    gfp_t gfp)
{
	unsigned int had;
	int ret;

	if (!mt || nr > MT_RESERVE_MAX)
		return -EINVAL;
	ma_write_lock(mt, "mt_reserve_nodes");
	had = mt->ma_stats.reserve_now;
	ret = reserve_fill(mt, nr, gfp, false);
	if (ret) {
		reserve_trim(mt, had);
	} else {
		reserve_trim(mt, nr);
		mt->ma_stats.reserve_target = nr;
		mt->ma_stats.reserve_low = mt->ma_stats.reserve_now;
	}
	ma_write_unlock(mt);
	return ret;
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

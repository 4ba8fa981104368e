/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * supply.c - the node supply: a maple state's nodes (mas_nomem,
 * mas_destroy), the tree's node reserve (mt_reserve_nodes), the node a
 * write takes next, and the retry loop that allocates between attempts.
 * The policy is written once here; see supply.h for the order nodes come
 * from and the locking.
 *
 * The reserve: nodes set aside for writes that must not fail for want of
 * memory (erases, GFP_ATOMIC stores), taken when the allocator has none
 * and put back by the next write that may block.  It is a list of its own
 * (mt->ma_reserve), under the tree lock like everything a writer touches.
 */
#include <errno.h>

#include "supply.h"

/* errno after a failed mt_node_alloc, as a write reports it */
static int alloc_error(void)
{
	return errno == EINVAL ? -EINVAL : -ENOMEM;
}

/* ---- a maple state's nodes ----------------------------------------- */

int supply_fill(struct ma_state *mas, unsigned int count, gfp_t gfp)
{
	struct mt_allocator *alloc = ma_allocator(mas->tree);

	for (unsigned int i = 0; i < count; i++) {
		void *node = mt_node_alloc(alloc, gfp);

		if (!node) {
			int err = alloc_error();

			/* give back this call's nodes: they sit on top */
			while (i--) {
				mt_node_free(alloc, supply_pop(&mas->alloc));
				mas->alloc_count--;
			}
			return err;
		}
		supply_push(&mas->alloc, node);
		mas->alloc_count++;
	}
	return 0;
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
	void *node;

	if (!mas->alloc)
		return;
	alloc = ma_allocator(mas->tree);
	while ((node = supply_pop(&mas->alloc)))
		mt_node_free(alloc, node);
	mas->alloc_count = 0;
}

/* ---- the tree's reserve -------------------------------------------- */

static void reserve_push(struct maple_tree *mt, void *node)
{
	supply_push(&mt->ma_reserve, node);
	mt->ma_stats.reserve_now++;
}

static void *reserve_take(struct maple_tree *mt)
{
	void *node = supply_pop(&mt->ma_reserve);

	if (!node)
		return NULL;
	mt->ma_stats.reserve_now--;
	mt->ma_stats.reserve_draws++;
	if (mt->ma_stats.reserve_now < mt->ma_stats.reserve_low)
		mt->ma_stats.reserve_low = mt->ma_stats.reserve_now;
	return node;
}

/*
 * Top the reserve up to @want nodes with @gfp, the lock held.  Returns 0,
 * or the reason it fell short: -ENOMEM, or -EINVAL (misaligned node).
 * Kept out of line: inlined, its register saves ran on every write, in
 * front of the check that almost always finds the reserve full.
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
			return alloc_error();
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
		mt_node_free(alloc, supply_pop(&mt->ma_reserve));
		mt->ma_stats.reserve_now--;
	}
}

/* Top the reserve up to its target with @gfp, dropping the internal lock
 * while allocating.  Called and returns with it held. */
static void reserve_refill_unlocked(struct maple_tree *mt, gfp_t gfp)
{
	struct mt_allocator *alloc = ma_allocator(mt);
	unsigned int want = mt->ma_stats.reserve_target -
			    mt->ma_stats.reserve_now;
	void *got = NULL, *node;

	ma_retired_flush(mt);
	mtree_unlock(mt);
	for (unsigned int i = 0; i < want; i++) {
		node = mt_node_alloc(alloc, gfp);
		if (!node)
			break;
		supply_push(&got, node);
	}
	mtree_lock(mt);
	/* the target or the reserve may have moved meanwhile */
	while ((node = supply_pop(&got))) {
		if (mt->ma_stats.reserve_now < mt->ma_stats.reserve_target) {
			reserve_push(mt, node);
			mt->ma_stats.reserve_refills++;
		} else {
			mt_node_free(alloc, node);
		}
	}
}

/* After a write that went through with a blocking @gfp: the reserve gets
 * back what writes took from it, the internal lock dropped if @drop. */
static void reserve_refill(struct maple_tree *mt, gfp_t gfp, bool drop)
{
	if (mt->ma_stats.reserve_now >= mt->ma_stats.reserve_target)
		return;
	if (drop)
		reserve_refill_unlocked(mt, gfp);
	else
		reserve_fill(mt, mt->ma_stats.reserve_target, gfp, true);
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

/* ---- a write's nodes ----------------------------------------------- */

void *supply_node_short(struct ma_state *mas, gfp_t gfp, int *err)
{
	struct maple_tree *mt = mas->tree;
	void *node;

	*err = alloc_error();
	/* __GFP_HIGH: a write that may use the emergency reserve */
	if (gfp & __GFP_HIGH) {
		node = reserve_take(mt);
		if (node)
			return node;
	}
	/* whoever retries may wait for nodes: let ours go */
	ma_retired_flush(mt);
	return NULL;
}

int supply_write_more(struct ma_state *mas, gfp_t gfp, bool drop_lock,
		      supply_write_op op, void *arg, int ret)
{
	struct maple_tree *mt = mas->tree;
	bool blocking = gfpflags_allow_blocking(gfp);
	bool drop = drop_lock && blocking && !mt_external_lock(mt);
	gfp_t attempt_gfp = supply_attempt_gfp(mt, gfp, drop_lock);

	while (ret == -ENOMEM && blocking) {
		if (drop)
			mtree_unlock(mt);
		bool got = mas_nomem(mas, gfp);
		if (drop)
			mtree_lock(mt);
		if (!got) {
			/* -ENOMEM still, or -EINVAL from the allocator */
			if (mas_is_err(mas))
				ret = xa_err(mas->node);
			break;
		}
		ret = op(mas, attempt_gfp, arg);
	}
	if (!ret && blocking)
		reserve_refill(mt, gfp, drop);
	return ret;
}

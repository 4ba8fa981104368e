/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * supply.h - the node supply (supply.c): who may allocate a node for a
 * write, when, with which lock held, and what happens when none comes.
 *
 * Floor 4 of lib/maple (docs/maple-tree.md): includes node, mas, lock and
 * free (floors 1-3), never the write path above it, which it serves through a
 * callback (supply_write).
 *
 * Where a write's nodes come from, in order:
 *   1. the maple state's own list (mas->alloc: mas_preallocate, mas_nomem);
 *   2. the tree's allocator, with the write's gfp (which supply_write
 *      makes non-blocking, but for one case it names);
 *   3. the tree's node reserve, for a write whose gfp has __GFP_HIGH.
 * When all three fail, the tree's pending batch of retired nodes goes to
 * call_rcu (whoever retries may wait for nodes to come back, and ours must
 * not be among those held back), the write fails with -ENOMEM and leaves
 * the tree as it was, and supply_write() may allocate what it asked for
 * with a blocking gfp and run it again.
 *
 * Locking: every call here runs with the tree's write lock held.  Only
 * supply_write(), and only when asked and the lock is the tree's internal
 * one, drops it while it allocates.
 */
#ifndef LIBIOVA_MAPLE_SUPPLY_H
#define LIBIOVA_MAPLE_SUPPLY_H

#include "free.h"
#include "lock.h"
#include "mas.h"

/*
 * The one intrusive list of lib/maple: free nodes linked through their
 * first word (a maple state's nodes, the tree's reserve, a batch being
 * carried across a dropped lock).
 */
static inline void supply_push(void **list, void *node)
{
	*(void **)node = *list;
	*list = node;
}

static inline void *supply_pop(void **list)
{
	void *node = *list;

	if (node)
		*list = *(void **)node;
	return node;
}

/*
 * Add @count nodes to @mas's list, allocated with @gfp, all or nothing.
 * Returns 0, -ENOMEM, or -EINVAL (the allocator handed out a misaligned
 * node); on an error the list is as it was.
 */
int supply_fill(struct ma_state *mas, unsigned int count, gfp_t gfp);

/* supply_node() when the state's list and the allocator had nothing. */
void *supply_node_short(struct ma_state *mas, gfp_t gfp, int *err);

/*
 * A node for the write @mas is doing, from the places listed above, with
 * @gfp (never blocking when called from supply_write's attempts).  NULL
 * when none could be had: *@err is then -ENOMEM, or -EINVAL when the
 * allocator handed out a misaligned node, and the tree's retired batch
 * has been handed to call_rcu.  Inline: every structural write takes
 * its nodes here.
 */
static inline void *supply_node(struct ma_state *mas, gfp_t gfp, int *err)
{
	void *node = supply_pop(&mas->alloc);

	if (node) {
		mas->alloc_count--;
		return node;
	}
	node = mt_node_alloc(ma_allocator(mas->tree), gfp);
	if (likely(node))
		return node;
	return supply_node_short(mas, gfp, err);
}

/*
 * One attempt of a write: redo everything (searches included) from the
 * arguments in @arg, allocating only with @gfp.  Returns 0 or a negative
 * errno; -ENOMEM leaves the number of nodes it wanted in mas->alloc_req.
 */
typedef int (*supply_write_op)(struct ma_state *mas, gfp_t gfp, void *arg);

/* The gfp of supply_write's attempts (see there). */
static inline gfp_t supply_attempt_gfp(const struct maple_tree *mt,
				       gfp_t gfp, bool drop_lock)
{
	return drop_lock && mt_external_lock(mt) ? gfp
						 : gfp & ~__GFP_DIRECT_RECLAIM;
}

/* supply_write() after its first attempt returned @ret, unless that was
 * a success with nothing to give back to the reserve. */
int supply_write_more(struct ma_state *mas, gfp_t gfp, bool drop_lock,
		      supply_write_op op, void *arg, int ret);

/*
 * Run @op, with the write lock held, until it needs no more nodes than it
 * can get.  Attempts do not block: when one fails with -ENOMEM and @gfp
 * may block, the nodes it asked for are allocated with @gfp between
 * attempts, and @op runs again.  Where that allocation happens:
 *   - @drop_lock (the normal API) and the tree's internal lock: with the
 *     lock dropped, so other writers are not held up by a wait for memory
 *     (@op starts over from a fresh walk: the tree may have changed);
 *   - @drop_lock and a user's external lock, which the library never
 *     drops: the attempts themselves allocate with @gfp as given, the
 *     user's lock held (the normal API always did so on such trees, and
 *     tests/maple/test_locks.c holds it to that);
 *   - otherwise (the advanced API: mas_store_gfp, mas_erase): with the
 *     caller's lock held, so its positioning stays valid, as the kernel's
 *     mas_store_gfp does with mas_nomem.
 * After a successful write with a blocking @gfp the tree's reserve is
 * topped up the same way.  Returns what the last attempt of @op returned,
 * or -EINVAL if the allocator handed out a misaligned node.  May block if
 * @gfp may.  Nodes left in @mas are the caller's to free (mas_destroy).
 *
 * Inline, so that the first attempt, which nearly always does it all,
 * calls @op directly.
 */
static inline int supply_write(struct ma_state *mas, gfp_t gfp,
			       bool drop_lock, supply_write_op op, void *arg)
{
	struct maple_tree *mt = mas->tree;
	int ret = op(mas, supply_attempt_gfp(mt, gfp, drop_lock), arg);

	if (likely(!ret) &&
	    mt->ma_stats.reserve_now >= mt->ma_stats.reserve_target)
		return 0;
	return supply_write_more(mas, gfp, drop_lock, op, arg, ret);
}

/*
 * The normal API's writers: take the write lock, run supply_write() with
 * the internal lock dropped while nodes are allocated, release the lock
 * and free the nodes left in @mas.  May block if @gfp may.
 */
static inline int supply_locked_write(struct ma_state *mas, gfp_t gfp,
				      supply_write_op op, void *arg)
{
	struct maple_tree *mt = mas->tree;
	int ret;

	ma_write_lock(mt, "a normal-API write");
	ret = supply_write(mas, gfp, true, op, arg);
	ma_write_unlock(mt);
	mas_destroy(mas);
	return ret;
}

/* The tree's reserve: give every node back (tree destruction). */
void reserve_release(struct maple_tree *mt);

#endif /* LIBIOVA_MAPLE_SUPPLY_H */

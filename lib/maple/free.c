/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * free.c - giving nodes back.
 *
 * Outside RCU mode no reader can hold a replaced node, so it goes back to
 * the allocator at once.  In RCU mode the node is first marked dead (its
 * parent points to itself; readers that reach it restart) and goes back
 * after a grace period, from liburcu's call_rcu thread, through the
 * allocator it came from.
 *
 * Retired nodes reach call_rcu in batches.  The first node a tree retires
 * holds the batch: it records the addresses of the next MAPLE_DEAD_BATCH
 * retired nodes, and when full the whole batch goes to call_rcu at once.
 * A call_rcu per node cost the writer a locked exchange on the call_rcu
 * queue each time, and the call_rcu thread a cache miss on every node (its
 * RCU head, written on the writer's CPU); a batch costs one of each, and
 * goes back to the allocator in one call that need not touch its nodes
 * (alloc_free_many: for the node cache, straight to its depot, where
 * every writer finds them).  A
 * node is unreachable from the tree before it joins a batch, and the
 * batch's grace period starts when it is handed over, after all of them.
 *
 * Locking: the pending batch (mt->ma_retired) belongs to the tree and is
 * touched under its write lock.  It holds at most MAPLE_DEAD_BATCH + 1 nodes
 * back, and is handed over early wherever a writer might wait for nodes to
 * come back: when a node allocation fails, before the node reserve is
 * filled by a write that may block, when RCU mode ends, when the tree is
 * destroyed and when its allocator changes.
 */
#include <assert.h>
#include <string.h>

#include "alloc/alloc_internal.h"
#include "free.h"

static void ma_free_batch_rcu(struct rcu_head *head)
{
	struct maple_dead_node *dead =
		caa_container_of(head, struct maple_dead_node, rcu);
	struct maple_node *nodes[MAPLE_DEAD_BATCH + 1];
	unsigned int n = dead->count;

	/* copied out first: the allocator may write over the holder */
	memcpy(nodes, dead->batch, n * sizeof(nodes[0]));
	nodes[n++] = (struct maple_node *)dead;
	alloc_free_many(dead->alloc, (void **)nodes, n);
}

void ma_retired_flush(struct maple_tree *mt)
{
	struct maple_node *holder = mt->ma_retired;

	if (!holder)
		return;
	mt->ma_retired = NULL;
	ma_call_rcu(&holder->dead.rcu, ma_free_batch_rcu);
}

void ma_free_node(struct maple_tree *mt, struct maple_node *node)
{
	struct mt_allocator *alloc = ma_allocator(mt);
	struct maple_node *holder;

	if (!mt_in_rcu(mt)) {
		int ret = mt_node_free(alloc, node);

		/* debug builds: a node freed twice is a bug of ours */
		assert(ret == 0);
		(void)ret;
		return;
	}
	/* the dead mark first: a reader that sees anything written over the
	 * node afterwards (a batch, an RCU head) sees the mark too */
	CMM_STORE_SHARED(node->parent, (uintptr_t)node);
	cmm_smp_wmb();
	holder = mt->ma_retired;
	if (!holder) {
		node->dead.alloc = alloc;
		node->dead.count = 0;
		mt->ma_retired = node;
		return;
	}
	/* a tree changes allocators only while empty: see mt_set_allocator */
	assert(holder->dead.alloc == alloc);
	holder->dead.batch[holder->dead.count++] = node;
	if (holder->dead.count == MAPLE_DEAD_BATCH)
		ma_retired_flush(mt);
}

void ma_free_subtree(struct maple_tree *mt, struct maple_enode *enode)
{
	enum maple_type type = mte_node_type(enode);
	struct maple_node *node = mte_to_node(enode);

	if (!ma_is_leaf(type)) {
		void **slots = ma_slots(node, type);

		for (unsigned int i = 0; i < ma_type_slots(type) && slots[i];
		     i++)
			ma_free_subtree(mt, slots[i]);
	}
	ma_free_node(mt, node);
}

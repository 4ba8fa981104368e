/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * free.c - giving nodes back.
 *
 * Outside RCU mode no reader can hold a replaced node, so it goes back to
 * the allocator at once.  In RCU mode the node is first marked dead (its
 * parent points to itself; readers that reach it restart) and goes back
 * from liburcu's call_rcu thread after a grace period, through the
 * allocator it came from.
 */
#include <assert.h>

#include "node.h"

static void mt_free_rcu(struct rcu_head *head)
{
	struct mt_dead_node *dead =
		caa_container_of(head, struct mt_dead_node, rcu);

	mt_node_free(dead->alloc, dead);
}

void mt_free_node(struct maple_tree *mt, struct maple_node *node)
{
	struct mt_allocator *alloc = mt_allocator_of(mt);

	if (!mt_in_rcu(mt)) {
		int ret = mt_node_free(alloc, node);

		/* debug builds: a node freed twice is a bug of ours */
		assert(ret == 0);
		(void)ret;
		return;
	}
	/* the dead mark first: a reader that sees the RCU head sees it too */
	CMM_STORE_SHARED(node->parent, (uintptr_t)node);
	cmm_smp_wmb();
	node->dead.alloc = alloc;
	mt_call_rcu(&node->dead.rcu, mt_free_rcu);
}

void mt_free_subtree(struct maple_tree *mt, struct maple_enode *enode)
{
	enum mt_node_type type = mt_enode_type(enode);
	struct maple_node *node = mt_to_node(enode);

	if (!mt_type_is_leaf(type)) {
		void **slots = mt_node_slots(node, type);

		for (unsigned int i = 0; i < mt_type_slots(type) && slots[i];
		     i++)
			mt_free_subtree(mt, slots[i]);
	}
	mt_free_node(mt, node);
}

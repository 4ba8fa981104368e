/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dup.c - mtree_dup(): copy a tree node for node.
 *
 * Every node the copy needs is taken first, all or nothing, so a copy that
 * cannot get its memory leaves the new tree empty and nothing allocated.
 * With internal locks and a blocking gfp the nodes are taken with the locks
 * dropped; the source is counted again afterwards and the nodes taken again
 * if it changed size meanwhile.
 * Then the nodes are copied top-down and their parent links rewritten.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "free.h"
#include "lock.h"

static size_t count_nodes(struct maple_enode *enode)
{
	enum maple_type type = mte_node_type(enode);
	void **slots;
	size_t n = 1;

	if (ma_is_leaf(type))
		return 1;
	slots = ma_slots(mte_to_node(enode), type);
	for (unsigned int i = 0; i < ma_type_slots(type) && slots[i]; i++)
		n += count_nodes(slots[i]);
	return n;
}

/* Copy the subtree at @src into nodes taken from @pool; returns its enode. */
static struct maple_enode *copy_subtree(struct maple_enode *src, void ***pool)
{
	enum maple_type type = mte_node_type(src);
	struct maple_node *node = *(*pool)++;
	struct maple_enode *enode = ma_mk_enode(node, type);

	memcpy(node, mte_to_node(src), sizeof(*node));
	if (!ma_is_leaf(type)) {
		void **slots = ma_slots(node, type);

		for (unsigned int i = 0; i < ma_type_slots(type) && slots[i];
		     i++) {
			slots[i] = copy_subtree(slots[i], pool);
			mte_set_parent(mte_to_node(slots[i]), enode, i);
		}
	}
	return enode;
}

static void dup_lock(struct maple_tree *mt, struct maple_tree *new_tree)
{
	ma_write_lock(mt, "mtree_dup");
	ma_write_lock(new_tree, "mtree_dup");
}

static void dup_unlock(struct maple_tree *mt, struct maple_tree *new_tree)
{
	ma_write_unlock(new_tree);
	ma_write_unlock(mt);
}

static void free_nodes(struct mt_allocator *alloc, void **nodes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		mt_node_free(alloc, nodes[i]);
}

LIBIOVA_EXPORT int mtree_dup(struct maple_tree *mt, struct maple_tree *new_tree,
			     gfp_t gfp)
{
	struct mt_allocator *alloc;
	void **nodes = NULL, **pool;
	void *root;
	size_t have = 0;
	bool drop;
	int ret = 0;

	if (!mt || !new_tree || mt == new_tree)
		return -EINVAL;
	alloc = ma_allocator(new_tree);
	/* a blocking allocation happens with internal locks dropped */
	drop = gfpflags_allow_blocking(gfp) && !mt_external_lock(mt) &&
	       !mt_external_lock(new_tree);
	dup_lock(mt, new_tree);
	for (;;) {
		size_t need;
		void **grown;

		if (new_tree->ma_root) {
			ret = -EINVAL;
			break;
		}
		root = mt->ma_root;
		need = ma_root_is_node(root) ? count_nodes(root) : 0;
		if (need == have)
			break;
		/* first pass, or @mt changed while the locks were dropped */
		free_nodes(alloc, nodes, have);
		have = 0;
		/* the allocation may wait for nodes: let @mt's retired go */
		if (gfpflags_allow_blocking(gfp))
			ma_retired_flush(mt);
		if (drop)
			dup_unlock(mt, new_tree);
		grown = realloc(nodes, need * sizeof(*nodes));
		ret = -ENOMEM;
		if (grown) {
			nodes = grown;
			/* -EINVAL: the allocator's nodes are misaligned */
			ret = mt_node_alloc_bulk(alloc, gfp, need, nodes);
			if (!ret)
				have = need;
		}
		if (drop)
			dup_lock(mt, new_tree);
		if (ret)
			break;
	}
	if (ret) {
		free_nodes(alloc, nodes, have);
		goto out;
	}
	if (have) {
		pool = nodes;
		root = copy_subtree(root, &pool);
		mte_set_parent_root(mte_to_node(root), new_tree);
	}
	new_tree->ma_flags = (new_tree->ma_flags &
			      ~(MT_FLAGS_ALLOC_RANGE | MT_FLAGS_HEIGHT_MASK |
				MT_FLAGS_ALLOC_WRAPPED)) |
			     (mt->ma_flags &
			      (MT_FLAGS_ALLOC_RANGE | MT_FLAGS_HEIGHT_MASK |
			       MT_FLAGS_ALLOC_WRAPPED));
	rcu_assign_pointer(new_tree->ma_root, root);
out:
	dup_unlock(mt, new_tree);
	free(nodes);
	return ret;
}

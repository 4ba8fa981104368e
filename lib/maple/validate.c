/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * validate.c - mt_validate(): check every structural invariant of a tree
 * (see node.h) and report the first one broken.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "node.h"

struct checker {
	struct maple_tree *mt;
	unsigned int height;
	char *msg;
	size_t len;
	bool failed;
	bool prev_null; /* the range before the one being checked was NULL */
	bool have_prev;
};

__attribute__((format(printf, 3, 4)))
static bool fail(struct checker *c, const struct maple_node *node,
		 const char *fmt, ...)
{
	va_list ap;
	int n;

	if (c->failed)
		return false;
	c->failed = true;
	n = snprintf(c->msg, c->len, "node %p: ", (const void *)node);
	if (n >= 0 && (size_t)n < c->len) {
		va_start(ap, fmt);
		vsnprintf(c->msg + n, c->len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* Check the subtree at @enode covering [min, max] at @depth; *gap gets its
 * largest gap. */
static bool check_node(struct checker *c, struct maple_enode *enode,
		       unsigned long min, unsigned long max, unsigned int depth,
		       struct maple_enode *parent, unsigned int pslot,
		       unsigned long *gap)
{
	enum maple_type type = mte_node_type(enode);
	struct maple_node *node = mte_to_node(enode);
	unsigned long *pivots;
	void **slots;
	unsigned int nslots, npivots, end;
	bool leaf_depth = depth == c->height - 1;

	if ((uintptr_t)enode & 1 || !xa_is_internal(enode))
		return fail(c, node, "slot holds %p, not a node", (void *)enode);
	if (type != maple_leaf_64 && type != maple_range_64 &&
	    type != maple_arange_64)
		return fail(c, node, "unknown node type %d", (int)type);
	if (leaf_depth != ma_is_leaf(type))
		return fail(c, node, "%s at depth %u of a tree of height %u",
			    ma_is_leaf(type) ? "leaf" : "internal node",
			    depth, c->height);
	if (!ma_is_leaf(type) && type != ma_internal_type(c->mt))
		return fail(c, node, "internal node of the wrong type %d",
			    (int)type);
	if (ma_dead_node(node))
		return fail(c, node, "dead node reachable");
	if (!parent) {
		if (node->parent != ((uintptr_t)c->mt | MAPLE_PARENT_ROOT))
			return fail(c, node, "root's parent link is %#lx",
				    (unsigned long)node->parent);
	} else if (ma_parent_is_root(node) ||
		   ma_parent_node(node) != mte_to_node(parent) ||
		   ma_parent_slot(node) != pslot ||
		   !(node->parent & MAPLE_PARENT_ARANGE) !=
			   (mte_node_type(parent) != maple_arange_64)) {
		return fail(c, node, "parent link %#lx, expected %p slot %u",
			    (unsigned long)node->parent,
			    (void *)mte_to_node(parent), pslot);
	}

	pivots = ma_pivots(node, type);
	slots = ma_slots(node, type);
	nslots = ma_type_slots(type);
	npivots = nslots - 1;
	end = ma_data_end(node, type, max);
	if (end >= nslots)
		return fail(c, node, "end %u beyond %u slots", end, nslots);
	for (unsigned int i = 0; i < npivots; i++) {
		unsigned long lo = i ? pivots[i - 1] + 1 : min;

		if (i < end) {
			if (pivots[i] < lo || pivots[i] >= max)
				return fail(c, node,
					    "pivot %u = %lu outside [%lu, %lu)",
					    i, pivots[i], lo, max);
		} else if (pivots[i] != max) {
			return fail(c, node, "unused pivot %u = %lu, not max %lu",
				    i, pivots[i], max);
		}
	}
	for (unsigned int i = end + 1; i < nslots; i++)
		if (slots[i])
			return fail(c, node, "unused slot %u holds %p", i,
				    slots[i]);
	if (parent && max != ULONG_MAX && end + 1 < ma_type_min_slots(type))
		return fail(c, node, "%u slots, fewer than %u", end + 1,
			    ma_type_min_slots(type));

	*gap = 0;
	for (unsigned int i = 0; i <= end; i++) {
		unsigned long first = i ? pivots[i - 1] + 1 : min;
		unsigned long last = i < end ? pivots[i] : max;
		unsigned long g = 0;

		if (ma_is_leaf(type)) {
			bool is_null = slots[i] == NULL;

			if (is_null && c->have_prev && c->prev_null)
				return fail(c, node,
					    "adjacent NULL ranges at slot %u",
					    i);
			c->prev_null = is_null;
			c->have_prev = true;
			if (is_null)
				g = range_size(first, last);
		} else {
			if (!slots[i])
				return fail(c, node, "empty child slot %u", i);
			if (!check_node(c, slots[i], first, last, depth + 1,
					enode, i, &g))
				return false;
			if (type == maple_arange_64 && node->a.gap[i] != g)
				return fail(c, node,
					    "gap %u is %lu, child's largest %lu",
					    i, node->a.gap[i], g);
		}
		if (g > *gap)
			*gap = g;
	}
	if (type == maple_arange_64) {
		if (node->a.gap_off > end ||
		    node->a.gap[node->a.gap_off] != *gap)
			return fail(c, node, "largest-gap slot %u is wrong",
				    node->a.gap_off);
		for (unsigned int i = 0; i <= end; i++)
			if (i != node->a.gap_off &&
			    node->a.gap[i] > node->a.gap_bound)
				return fail(c, node,
					    "gap %u is %lu, above the bound %lu",
					    i, node->a.gap[i],
					    node->a.gap_bound);
		for (unsigned int i = end + 1; i < nslots; i++)
			if (node->a.gap[i])
				return fail(c, node, "unused gap %u is %lu", i,
					    node->a.gap[i]);
	}
	return true;
}

LIBIOVA_EXPORT int mt_validate_msg(struct maple_tree *mt, char *buf,
				   size_t len)
{
	struct checker c = { .mt = mt, .msg = buf, .len = len };
	void *root = mt->ma_root;
	unsigned long gap;

	if (len)
		buf[0] = '\0';
	c.height = mt_height(mt);
	if (!ma_root_is_node(root)) {
		if (c.height != 0)
			fail(&c, NULL, "height %u without a root node",
			     c.height);
	} else if (c.height == 0 || c.height > MAPLE_HEIGHT_MAX) {
		fail(&c, mte_to_node(root), "root node with height %u",
		     c.height);
	} else {
		check_node(&c, root, 0, ULONG_MAX, 0, NULL, 0, &gap);
	}
	return c.failed ? -EUCLEAN : 0;
}

LIBIOVA_EXPORT int mt_validate(struct maple_tree *mt)
{
	char msg[256];
	int ret = mt_validate_msg(mt, msg, sizeof(msg));

	if (ret)
		fprintf(stderr, "mt_validate: %s\n", msg);
	return ret;
}

/* ---- dump -------------------------------------------------------------- */

static void print_index(enum mt_dump_format fmt, unsigned long v)
{
	if (fmt == mt_dump_hex)
		printf("%lx", v);
	else
		printf("%lu", v);
}

static void dump_node(struct maple_enode *enode, unsigned long min,
		      unsigned long max, unsigned int depth,
		      enum mt_dump_format fmt)
{
	static const char *const names[] = { "?", "leaf", "range", "arange" };
	enum maple_type type = mte_node_type(enode);
	struct maple_node *node = mte_to_node(enode);
	unsigned long *pivots = ma_pivots(node, type);
	void **slots = ma_slots(node, type);
	unsigned int end = ma_data_end(node, type, max);

	printf("%*s%s %p [", depth * 2, "", names[type], (void *)node);
	print_index(fmt, min);
	printf(", ");
	print_index(fmt, max);
	printf("]\n");
	for (unsigned int i = 0; i <= end; i++) {
		unsigned long first = i ? pivots[i - 1] + 1 : min;
		unsigned long last = i < end ? pivots[i] : max;

		if (!ma_is_leaf(type)) {
			if (type == maple_arange_64)
				printf("%*sgap %lu\n", depth * 2 + 2, "",
				       node->a.gap[i]);
			dump_node(slots[i], first, last, depth + 1, fmt);
			continue;
		}
		printf("%*s", depth * 2 + 2, "");
		print_index(fmt, first);
		printf("-");
		print_index(fmt, last);
		if (xa_is_value(slots[i]))
			printf(": value %lu\n", xa_to_value(slots[i]));
		else
			printf(": %p\n", slots[i]);
	}
}

LIBIOVA_EXPORT void mt_dump(const struct maple_tree *mt,
			    enum mt_dump_format format)
{
	void *root = mt->ma_root;

	printf("maple tree %p: flags %#x, height %u, root %p\n",
	       (const void *)mt, mt->ma_flags, mt_height(mt), root);
	if (ma_root_is_node(root))
		dump_node(root, 0, ULONG_MAX, 0, format);
	else if (root)
		printf("  0: %p (root entry)\n", root);
}

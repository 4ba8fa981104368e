/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * struct_layout.c - the sizes, alignments and user-visible field offsets
 * of the public structs, against a table of the values on x86_64.
 *
 * Users embed struct maple_tree, struct ma_state, struct iova_domain and
 * struct iova in their own structures and on their stacks, and the static
 * inline functions of the headers read some of their fields from code
 * compiled into the user's program; they also allocate the config and
 * stats structs they pass in.  A change to any value below breaks
 * programs built against the old headers, so it must not pass unnoticed:
 * when this test fails on purpose, update the table here and the one in
 * docs/abi.md, and write the ABI note there (with the soversion decision).
 *
 * The table is for x86_64 (LP64, glibc's 40-byte pthread_mutex_t); other
 * targets compile it out and check nothing.
 */
#include <stddef.h>
#include <stdio.h>

#include <libiova/iova.h>
#include <libiova/iova_deferral.h>
#include <libiova/iova_space.h>
#include <libiova/iova_vfio.h>
#include <libiova/maple_tree.h>
#include <libiova/mt_alloc.h>

#if defined(__x86_64__) && defined(__LP64__)

struct layout {
	const char *what;
	size_t actual;
	size_t expected;
};

#define SIZE(T, n) { "sizeof(" #T ")", sizeof(T), n }
#define ALIGN(T, n) { "_Alignof(" #T ")", _Alignof(T), n }
#define OFFSET(T, f, n) { "offsetof(" #T ", " #f ")", offsetof(T, f), n }

static const struct layout table[] = {
	/* Embedded by users; fields read by inline functions or by users. */
	SIZE(struct maple_tree, 152),
	ALIGN(struct maple_tree, 8),
	OFFSET(struct maple_tree, ma_lock, 0),
	OFFSET(struct maple_tree, ma_flags, 40),
	OFFSET(struct maple_tree, ma_root, 48),
	SIZE(struct ma_state, 72),
	ALIGN(struct ma_state, 8),
	OFFSET(struct ma_state, tree, 0),
	OFFSET(struct ma_state, index, 8),
	OFFSET(struct ma_state, last, 16),
	OFFSET(struct ma_state, node, 24),
	OFFSET(struct ma_state, min, 32),
	OFFSET(struct ma_state, max, 40),
	OFFSET(struct ma_state, status, 56),
	SIZE(struct iova_domain, 416),
	ALIGN(struct iova_domain, 8),
	OFFSET(struct iova_domain, granule, 8),
	OFFSET(struct iova_domain, start_pfn, 16),
	OFFSET(struct iova_domain, dma_32bit_pfn, 24),
	OFFSET(struct iova_domain, tree, 176),
	SIZE(struct iova, 16),
	ALIGN(struct iova, 8),
	OFFSET(struct iova, pfn_hi, 0),
	OFFSET(struct iova, pfn_lo, 8),
	/* struct maple_node is opaque; user allocators hand out this size. */
	{ "MT_NODE_SIZE", MT_NODE_SIZE, 256 },

	/* Allocated by users and filled by them or by the library. */
	SIZE(struct mt_tree_stats, 40),
	SIZE(struct mt_alloc_stats, 56),
	SIZE(struct mt_allocator_ops, 32),
	SIZE(struct mt_node_cache_config, 16),
	SIZE(struct mt_fault_config, 48),
	SIZE(struct iova_range, 16),
	SIZE(struct iova_space_config, 56),
	SIZE(struct iova_space_stats, 48),
	SIZE(struct iova_deferral_stats, 88),
	SIZE(struct iova_backoff, 56),
	SIZE(struct iova_vfio_config, 48),
	SIZE(struct iova_vfio_info, 56),
};

int main(void)
{
	size_t i, changed = 0;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct layout *l = &table[i];

		if (l->actual == l->expected) {
			printf("ok   %s = %zu\n", l->what, l->actual);
			continue;
		}
		printf("FAIL %s = %zu, the table says %zu\n", l->what,
		       l->actual, l->expected);
		changed++;
	}
	if (changed) {
		printf("%zu public struct layout value(s) changed: this breaks "
		       "the ABI.  If it is meant, update the table in "
		       "tests/abi/struct_layout.c and in docs/abi.md and write "
		       "an ABI note in docs/abi.md (soversion decision "
		       "included).\n", changed);
		return 1;
	}
	return 0;
}

#else

int main(void)
{
	puts("no layout table for this target: nothing checked "
	     "(tests/abi/struct_layout.c has the x86_64 one)");
	return 0;
}

#endif

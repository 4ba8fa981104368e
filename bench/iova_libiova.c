/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iova_libiova.c - libiova behind the benchmark's IOVA interface, twice:
 * the kernel-compatible API (alloc_iova and friends, struct iova per
 * allocation) and the userspace API (iova_space, bytes, no per-allocation
 * object).  Each domain takes its nodes from its own node cache, so its
 * memory is counted exactly.
 */
#include <stdlib.h>

#include <libiova/iova.h>
#include <libiova/iova_space.h>
#include <urcu/urcu-memb.h>

#include "bench.h"

#define GRANULE 4096ul

/* Bytes of tree nodes @alloc holds once pending RCU frees have run. */
static size_t node_bytes(struct mt_allocator *alloc)
{
	struct mt_alloc_stats st;

	urcu_memb_barrier();
	mt_allocator_stats(alloc, &st);
	return (size_t)st.live * 256;
}

/* ---- the kernel-compatible API ---- */

struct kernel_dom {
	struct iova_domain iovad;
	struct mt_allocator *nodes;
	struct mt_allocator *fault; /* between the tree and nodes, or NULL */
};

static struct kernel_dom *kernel_new(bool fast, bool faulty)
{
	struct kernel_dom *k = malloc(sizeof(*k));

	k->nodes = mt_node_cache_create(NULL);
	k->fault = faulty ? mt_fault_allocator_create(k->nodes) : NULL;
	init_iova_domain(&k->iovad, GRANULE, 1);
	mt_set_allocator(&k->iovad.tree, k->fault ? k->fault : k->nodes);
	if (fast)
		iova_domain_init_rcaches(&k->iovad);
	return k;
}

static void *kernel_create(bool fast)
{
	return kernel_new(fast, false);
}

static void *kernel_create_faulty(void)
{
	return kernel_new(false, true);
}

static void kernel_fail_nonblocking(void *d, bool fail)
{
	struct mt_fault_config cfg = {
		.mode = fail ? MT_FAULT_ALWAYS : MT_FAULT_NONE,
		.flags = MT_FAULT_ONLY_NONBLOCKING,
	};

	mt_fault_allocator_set(((struct kernel_dom *)d)->fault, &cfg);
}

static void kernel_deferral(void *d, struct iova_deferral_stats *st)
{
	iova_domain_deferral_stats(&((struct kernel_dom *)d)->iovad, st);
}

static void kernel_destroy(void *d)
{
	struct kernel_dom *k = d;

	put_iova_domain(&k->iovad);
	urcu_memb_barrier();
	if (k->fault)
		mt_allocator_destroy(k->fault);
	mt_allocator_destroy(k->nodes);
	free(k);
}

static unsigned long kernel_alloc(void *d, unsigned long size,
				  unsigned long limit, bool size_aligned)
{
	struct iova *iova = alloc_iova(&((struct kernel_dom *)d)->iovad, size,
				       limit, size_aligned);

	return iova ? iova->pfn_lo : 0;
}

static void kernel_free(void *d, unsigned long pfn)
{
	free_iova(&((struct kernel_dom *)d)->iovad, pfn);
}

static unsigned long kernel_alloc_fast(void *d, unsigned long size,
				       unsigned long limit)
{
	return alloc_iova_fast(&((struct kernel_dom *)d)->iovad, size, limit,
			       true);
}

static void kernel_free_fast(void *d, unsigned long pfn, unsigned long size)
{
	free_iova_fast(&((struct kernel_dom *)d)->iovad, pfn, size);
}

static unsigned long kernel_count(void *d)
{
	struct kernel_dom *k = d;
	unsigned long index = 0, n = 0;
	void *entry;

	/* above the ceiling lies only the domain's own marker */
	mt_for_each(&k->iovad.tree, entry, index, k->iovad.ceiling_pfn)
		n++;
	return n;
}

/* Nodes, plus one malloc chunk (32 bytes in glibc) per struct iova. */
static size_t kernel_bytes(void *d)
{
	struct kernel_dom *k = d;

	return node_bytes(k->nodes) + kernel_count(d) * 32;
}

const struct iova_impl iova_kernel_api = {
	.name = "libiova",
	.create = kernel_create,
	.destroy = kernel_destroy,
	.alloc = kernel_alloc,
	.free = kernel_free,
	.alloc_fast = kernel_alloc_fast,
	.free_fast = kernel_free_fast,
	.count = kernel_count,
	.bytes = kernel_bytes,
	.create_faulty = kernel_create_faulty,
	.fail_nonblocking = kernel_fail_nonblocking,
	.deferral = kernel_deferral,
};

/* ---- the userspace API: one window, the whole 64-bit space ---- */

struct space_dom {
	struct iova_space *space;
	struct mt_allocator *nodes;
};

static void *space_create(bool fast)
{
	struct space_dom *s = malloc(sizeof(*s));
	struct iova_space_config cfg = {
		.granule = GRANULE,
		.flags = fast ? 0 : IOVA_SPACE_NO_CACHE,
	};

	s->nodes = cfg.node_allocator = mt_node_cache_create(NULL);
	if (iova_space_create(&cfg, &s->space))
		abort();
	return s;
}

static void space_destroy(void *d)
{
	struct space_dom *s = d;

	iova_space_destroy(s->space);
	urcu_memb_barrier();
	mt_allocator_destroy(s->nodes);
	free(s);
}

static unsigned long space_alloc(void *d, unsigned long size,
				 unsigned long limit, bool size_aligned)
{
	uint64_t iova;
	unsigned long align = size_aligned ? bench_pow2_at_least(size) : 1;

	if (iova_space_alloc(((struct space_dom *)d)->space, size * GRANULE,
			     align * GRANULE, 0, limit * GRANULE + GRANULE - 1,
			     0, &iova))
		return 0;
	return (unsigned long)(iova / GRANULE);
}

static void space_free(void *d, unsigned long pfn)
{
	iova_space_free(((struct space_dom *)d)->space, pfn * GRANULE);
}

/* Rounded up to a power of two, as alloc_iova_fast does: the size
 * caches serve power-of-two sizes aligned to themselves. */
static unsigned long space_alloc_fast(void *d, unsigned long size,
				      unsigned long limit)
{
	return space_alloc(d, bench_pow2_at_least(size), limit, true);
}

static void space_free_fast(void *d, unsigned long pfn, unsigned long size)
{
	(void)size;
	space_free(d, pfn);
}

static unsigned long space_count(void *d)
{
	struct iova_space_stats st;

	iova_space_stats(((struct space_dom *)d)->space, &st);
	return st.allocations + st.cached;
}

static size_t space_bytes(void *d)
{
	return node_bytes(((struct space_dom *)d)->nodes);
}

const struct iova_impl iova_space_api = {
	.name = "space",
	.create = space_create,
	.destroy = space_destroy,
	.alloc = space_alloc,
	.free = space_free,
	.alloc_fast = space_alloc_fast,
	.free_fast = space_free_fast,
	.count = space_count,
	.bytes = space_bytes,
	.variant_of = "libiova",
};

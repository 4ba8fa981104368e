/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mt_alloc.h - node allocators for the maple tree.
 *
 * Every maple tree allocates its nodes through a struct mt_allocator.  A
 * node is MT_NODE_SIZE (256) bytes, aligned to 256 bytes: the tree keeps
 * tags in the low 8 bits of node pointers, so an allocator must honour the
 * alignment.
 *
 * Three kinds of allocator exist:
 *
 *   - the node cache (mt_node_cache_create, and the process-wide instance
 *     returned by mt_allocator_default): carves nodes from 64 KiB chunks and
 *     keeps freed nodes in per-thread magazines backed by a shared depot, so
 *     an allocation or free is a few pointer moves in the common case;
 *   - the fault-injecting allocator (mt_fault_allocator_create): wraps any
 *     allocator and returns NULL on demand, for testing code against
 *     allocation failure;
 *   - user allocators (mt_allocator_create) built from struct
 *     mt_allocator_ops.
 *
 * Accounting is done here, above every allocator, so mt_allocator_stats()
 * is exact for all three kinds: a test can check for leaks by comparing
 * `live` with zero.
 *
 * Thread safety: every function in this header may be called from any
 * thread at any time, except mt_allocator_destroy(), which must not race
 * with any other use of the same allocator.  Nodes may be freed by a thread
 * other than the one that allocated them (trees in RCU mode free nodes from
 * liburcu's call_rcu thread).
 *
 * Errors are negative errno values.  Functions returning a pointer return
 * NULL and set errno (EINVAL for bad arguments, ENOMEM when no memory).
 */
#ifndef LIBIOVA_MT_ALLOC_H
#define LIBIOVA_MT_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include <libiova/gfp.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Size and alignment of a maple tree node, in bytes. */
#define MT_NODE_SIZE 256

struct mt_allocator;

/*
 * Counters of an allocator.  `allocs`, `frees` and `failures` count calls
 * made through this header: a successful bulk request of n nodes adds n to
 * `allocs`; a failed request (single or bulk) adds 1 to `failures`.
 * live = allocs - frees.  Read without stopping other threads, the figures
 * are each exact but may be from slightly different moments.
 */
struct mt_alloc_stats {
	uint64_t live;           /* nodes handed out and not freed */
	uint64_t allocs;         /* nodes handed out in total */
	uint64_t frees;          /* nodes given back in total */
	uint64_t failures;       /* requests that returned no node */
	uint64_t bytes_reserved; /* node cache: bytes of chunks held from the
	                          * system (0 for other allocators) */
	uint64_t requests;       /* fault allocator: node requests it judged */
	uint64_t injected;       /* fault allocator: failures it injected */
};

/*
 * Operations of a user allocator.  `priv` is the pointer given to
 * mt_allocator_create().
 *
 * alloc:   return one MT_NODE_SIZE-byte, MT_NODE_SIZE-aligned node, or NULL.
 *          Must not block unless gfpflags_allow_blocking(gfp).  Required.
 *          A node that is not aligned is given straight back to free and
 *          the request fails with EINVAL (a tree's write then fails with
 *          -EINVAL and changes nothing).
 * free:    take back a node that alloc returned.  Must not block.  May be
 *          called from any thread.  Required.
 * stats:   optional; fill the allocator-specific fields of *st
 *          (bytes_reserved).  The counters in struct mt_alloc_stats that
 *          count calls are kept by the library and must not be touched.
 * release: optional; called once by mt_allocator_destroy().
 *
 * A bulk request is served by calling alloc once per node and, on the
 * first NULL, freeing the nodes already obtained, so an allocator need not
 * implement bulk allocation to be all-or-nothing.
 */
struct mt_allocator_ops {
	void *(*alloc)(void *priv, gfp_t gfp);
	void (*free)(void *priv, void *node);
	void (*stats)(void *priv, struct mt_alloc_stats *st);
	void (*release)(void *priv);
};

/*
 * mt_allocator_create - wrap user operations as an allocator.
 * @ops:  operations; must stay valid until mt_allocator_destroy().  alloc
 *        and free are required.
 * @priv: passed to every operation.
 *
 * Returns the allocator, or NULL with errno EINVAL (ops or a required
 * operation missing) or ENOMEM.  Allocates a small descriptor with malloc;
 * does not block otherwise.
 */
struct mt_allocator *mt_allocator_create(const struct mt_allocator_ops *ops,
					 void *priv);

/* Configuration of a node cache.  Zeroed fields take the default. */
struct mt_node_cache_config {
	/*
	 * Most nodes the cache hands out at once; 0 means no limit.  A request
	 * past the limit fails (non-blocking) or waits up to block_timeout_ms
	 * for a node to come back (blocking).  Useful to model a memory budget.
	 */
	size_t max_nodes;
	/* How long a blocking request waits for memory; default 10 ms. */
	unsigned int block_timeout_ms;
};

/*
 * mt_node_cache_create - create a node cache.
 * @config: NULL for the defaults.
 *
 * Returns the allocator, or NULL with errno ENOMEM.  Allocates; does not
 * block.
 */
struct mt_allocator *
mt_node_cache_create(const struct mt_node_cache_config *config);

/*
 * mt_allocator_default - the process-wide node cache.
 *
 * Trees use it unless told otherwise.  It lives as long as the process and
 * cannot be destroyed.  Never fails; does not block or allocate.
 */
struct mt_allocator *mt_allocator_default(void);

/*
 * mt_allocator_destroy - destroy an allocator.
 * @a: the allocator; NULL is accepted and does nothing (returns 0).
 *
 * Returns 0; -EBUSY if nodes are still live (nothing is freed: the caller
 * has a leak to fix); -EPERM for mt_allocator_default().  A fault allocator
 * does not destroy the allocator it wraps.  Must not race with other calls
 * on @a.  Nodes of a destroyed node cache that other threads still hold in
 * their magazines are dropped without being touched.
 */
int mt_allocator_destroy(struct mt_allocator *a);

/*
 * mt_node_alloc - allocate one node.
 * @a:   the allocator.
 * @gfp: GFP_KERNEL may wait; GFP_ATOMIC and GFP_NOWAIT return at once.
 *       __GFP_ZERO zeroes the node.
 *
 * Returns the node, or NULL with errno ENOMEM (no memory, or a fault
 * injected) or EINVAL (@a is NULL, or the allocator returned a node that
 * is not MT_NODE_SIZE-aligned: that node went back to its free operation).
 */
void *mt_node_alloc(struct mt_allocator *a, gfp_t gfp);

/*
 * mt_node_alloc_bulk - allocate @count nodes, all or nothing.
 * @a:     the allocator.
 * @gfp:   as for mt_node_alloc().
 * @count: number of nodes, at least 1.
 * @nodes: array of @count pointers to fill.
 *
 * Returns 0 with every slot of @nodes filled; -ENOMEM with no node taken
 * (the nodes obtained before the failure are given back) and @nodes left
 * unspecified; -EINVAL for a NULL @a or @nodes or a zero @count, and, with
 * no node taken, when the allocator returned a misaligned node.
 */
int mt_node_alloc_bulk(struct mt_allocator *a, gfp_t gfp, size_t count,
		       void **nodes);

/*
 * mt_node_free - give a node back.
 * @a:    the allocator that handed it out.
 * @node: the node.
 *
 * Returns 0; -EINVAL for a NULL @a or @node or a pointer that is not
 * MT_NODE_SIZE-aligned.  In debug builds (NDEBUG not defined) a node
 * cache also returns -EINVAL, and changes nothing, for a pointer it never
 * handed out and for a node freed twice.  Never blocks.
 */
int mt_node_free(struct mt_allocator *a, void *node);

/*
 * mt_allocator_stats - read an allocator's counters.
 * Returns 0, or -EINVAL if @a or @st is NULL.  Does not block.
 */
int mt_allocator_stats(struct mt_allocator *a, struct mt_alloc_stats *st);

/* ---- fault injection ------------------------------------------------ */

/*
 * What a fault allocator fails.  Requests are numbered from 1 in the order
 * they arrive, counting from the last mt_fault_allocator_set(); a bulk
 * request of n nodes is n requests, and stops at the first that fails.
 * With MT_FAULT_ONLY_NONBLOCKING set in `flags`, blocking requests are
 * neither failed nor numbered.
 */
enum mt_fault_mode {
	MT_FAULT_NONE = 0,     /* fail nothing */
	MT_FAULT_NTH,          /* fail request n, once */
	MT_FAULT_FROM_NTH,     /* fail request n and every one after it */
	MT_FAULT_EVERY_KTH,    /* fail requests k, 2k, 3k ... (k = n) */
	MT_FAULT_RANDOM,       /* fail each request with `probability` */
	MT_FAULT_ALWAYS,       /* fail every request */
	MT_FAULT_CALLBACK,     /* ask `decide` */
};

#define MT_FAULT_ONLY_NONBLOCKING 0x1u

struct mt_fault_config {
	enum mt_fault_mode mode;
	unsigned int flags;  /* MT_FAULT_ONLY_NONBLOCKING */
	uint64_t n;          /* NTH, FROM_NTH: request number (>= 1);
	                      * EVERY_KTH: the period k (>= 1) */
	double probability;  /* RANDOM: in [0, 1] */
	uint64_t seed;       /* RANDOM: the same seed gives the same failures */
	/*
	 * CALLBACK: return nonzero to fail the request numbered @request.
	 * Called with the fault allocator's lock held: it must not call back
	 * into the same fault allocator.
	 */
	int (*decide)(void *arg, uint64_t request, gfp_t gfp);
	void *arg;
};

/*
 * mt_fault_allocator_create - wrap @inner in a fault-injecting allocator.
 * @inner: the allocator that serves the requests not failed; must outlive
 *         the fault allocator.
 *
 * Starts in MT_FAULT_NONE.  Returns the allocator, or NULL with errno
 * EINVAL (@inner NULL) or ENOMEM.
 */
struct mt_allocator *mt_fault_allocator_create(struct mt_allocator *inner);

/*
 * mt_fault_allocator_set - choose what to fail from now on.
 * @a:      a fault allocator.
 * @config: the mode; NULL means MT_FAULT_NONE.
 *
 * Restarts request numbering at 1 and resets `requests` and `injected`.
 * Returns 0; -EINVAL if @a is not a fault allocator or @config is
 * inconsistent (n of 0 for NTH, FROM_NTH or EVERY_KTH; probability outside
 * [0, 1]; CALLBACK without decide; unknown mode or flags), leaving the
 * previous configuration in force.  Safe against concurrent requests.
 */
int mt_fault_allocator_set(struct mt_allocator *a,
			   const struct mt_fault_config *config);

#ifdef __cplusplus
}
#endif

#endif /* LIBIOVA_MT_ALLOC_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * node_cache.c - the default node allocator.
 *
 * Nodes are carved from chunks mapped from the system and never returned
 * before the cache is destroyed.  Chunks start at 64 KiB and double up to
 * 2 MiB; all are 64 KiB-aligned, and 2 MiB ones are 2 MiB-aligned and
 * marked for transparent huge pages, so a big tree's walks miss the TLB
 * far less.  Free nodes live in two places:
 *
 *   - per-thread magazines: a small array of node pointers per (thread,
 *     cache), used without any lock.  An allocation pops from the calling
 *     thread's magazine; a free pushes onto it.
 *   - the depot: a stack of bundles of free nodes (see "depot" below),
 *     under the cache's mutex.  An empty magazine takes half a magazine from
 *     the depot (carving new nodes when the depot is empty); a full one
 *     gives half back.
 *
 * So the common allocation or free is a few instructions, and the lock is
 * taken once per NC_MAG_NODES / 2 operations.  Frees from another thread
 * (liburcu's call_rcu thread for RCU trees) fill that thread's magazine and
 * reach the depot in batches.
 *
 * Counting is per magazine too: each holds its thread's allocation and
 * free counts for its cache, written only by that thread with plain stores
 * (a locked add would wait for the writer's store buffer to drain, which
 * after building a node is most of the cost of a free).  The cache lists
 * its magazines and sums them for mt_allocator_stats(); a magazine that
 * goes away folds its counts into the cache's retired totals first.
 *
 * A thread keeps magazines for at most NC_TLS_SLOTS caches; using a further
 * cache evicts one.  Magazines go back to their cache when a thread exits.
 * Caches are found through a registry of live caches, by an id that is
 * never reused, so a magazine whose cache was destroyed is dropped without
 * touching it.  Lock order: registry_lock, then a cache's lock.  The
 * thread's magazines hang off one initial-exec TLS pointer, so reaching
 * them costs no call and the static TLS used stays one word.
 *
 * The rest of the library sees only mt_node_cache_create() and
 * mt_allocator_default(): the operations below reach alloc.c through the
 * descriptor alloc_build() makes of node_cache_ops and
 * node_cache_extra.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "alloc_internal.h"

#define NC_CHUNK_MIN (64ul * 1024)
#define NC_CHUNK_HUGE (2ul * 1024 * 1024)
#define NC_MAG_NODES 32
#define NC_TLS_SLOTS 4
#define NC_DEFAULT_BLOCK_MS 10
/* Every chunk is aligned to a segment; see "handed-out map" below. */
#define NC_SEGMENT NC_CHUNK_MIN
#define NC_SEGMENT_NODES (NC_SEGMENT / MT_NODE_SIZE)

struct nc_bundle;

struct node_cache {
	uint64_t id;
	size_t max_nodes;
	unsigned int block_timeout_ms;
	struct node_cache *reg_next; /* registry link, under registry_lock */

	pthread_mutex_t lock;        /* protects everything below */
	pthread_cond_t returned;     /* nodes reached the depot */
	unsigned int waiters;
	struct nc_bundle *depot;     /* free nodes, in bundles */
	size_t depot_count;
	char *carve_chunk;           /* the newest chunk */
	char *carve_next;            /* its unused tail */
	size_t carve_left;
	size_t carved;               /* nodes ever carved: bounds max_nodes */
	struct nc_chunk *chunks;     /* sorted by address */
	size_t nr_chunks;
	size_t chunk_cap;
	size_t reserved;             /* bytes of all chunks */
	struct nc_magazine *mags;    /* magazines of live threads */
	uint64_t retired_allocs;     /* counts of magazines gone */
	uint64_t retired_frees;
};

struct nc_chunk {
	char *base;
	size_t bytes;
};

struct nc_magazine {
	uint64_t cache_id; /* 0: slot unused */
	unsigned int count;
	/* this thread's counts for the cache; only this thread writes them */
	_Atomic uint64_t allocs, frees;
	struct nc_magazine *next, **pprev; /* in the cache's list */
	void *nodes[NC_MAG_NODES];
};

struct nc_thread {
	struct nc_magazine mags[NC_TLS_SLOTS];
	unsigned int evict_next;
};

static __thread struct nc_thread *nc_self
	__attribute__((tls_model("initial-exec")));

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct node_cache *registry;
static uint64_t next_cache_id = 1; /* under registry_lock */
static pthread_key_t nc_exit_key;
static pthread_once_t nc_key_once = PTHREAD_ONCE_INIT;

static void nc_thread_exit(void *arg);

static void nc_key_create(void)
{
	/* Failure leaves no destructor: magazines of exiting threads leak. */
	(void)pthread_key_create(&nc_exit_key, nc_thread_exit);
}

/* ---- depot ------------------------------------------------------------ */

/*
 * The depot is a stack of bundles.  A bundle is a free node carrying the
 * addresses of up to NC_MAG_NODES / 2 - 1 other free nodes, so moving half
 * a magazine in or out reads or writes one node, not sixteen.  That
 * matters: the nodes a thread takes from the depot were mostly last
 * written by another thread (liburcu's call_rcu thread, for RCU trees),
 * and a list linked through each of them cost one cache miss per node,
 * one after the other, with the lock held.
 */
struct nc_bundle {
	struct nc_bundle *next;
	unsigned int count;
	void *nodes[NC_MAG_NODES / 2 - 1];
};

_Static_assert(sizeof(struct nc_bundle) <= MT_NODE_SIZE,
	       "a bundle fits in a node");

/* Push @nodes[0 .. @n - 1] (1 <= n <= NC_MAG_NODES / 2) as one bundle. */
static void depot_push_locked(struct node_cache *c, void **nodes,
			      unsigned int n)
{
	struct nc_bundle *b = nodes[n - 1];

	b->count = n - 1;
	memcpy(b->nodes, nodes, (n - 1) * sizeof(void *));
	b->next = c->depot;
	c->depot = b;
	c->depot_count += n;
}

/* Move the top bundle's nodes into @m, which has room for a bundle. */
static bool depot_pop_locked(struct node_cache *c, struct nc_magazine *m)
{
	struct nc_bundle *b = c->depot;

	if (!b)
		return false;
	c->depot = b->next;
	c->depot_count -= b->count + 1;
	memcpy(&m->nodes[m->count], b->nodes, b->count * sizeof(void *));
	m->count += b->count;
	/* the bundle itself last: just read, it is the warmest */
	m->nodes[m->count++] = b;
	return true;
}

/* Push @nodes[0 .. @n - 1] as bundles, from the end, and wake waiters. */
static void depot_push_all_locked(struct node_cache *c, void **nodes,
				  unsigned int n)
{
	while (n) {
		unsigned int k = n < NC_MAG_NODES / 2 ? n : NC_MAG_NODES / 2;

		n -= k;
		depot_push_locked(c, &nodes[n], k);
	}
	if (c->waiters)
		pthread_cond_broadcast(&c->returned);
}

/* Move @n nodes from the top of @m to the depot. */
static void magazine_flush(struct node_cache *c, struct nc_magazine *m,
			   unsigned int n)
{
	pthread_mutex_lock(&c->lock);
	m->count -= n;
	depot_push_all_locked(c, &m->nodes[m->count], n);
	pthread_mutex_unlock(&c->lock);
}

/* ---- handed-out map (debug builds) ------------------------------------ */

/*
 * Debug builds check every free: the node must be handed out now.  The
 * mark of that lives outside every node a user gets: each 64 KiB segment
 * of a chunk (chunks are segment-aligned) keeps its first node for a map
 * with one bit per node of the segment, set from allocation to free.  A
 * mark inside the node itself (a poison word) would be user data - a pivot,
 * or anything a caller of mt_node_alloc() writes - and a node holding that
 * value by chance would read as free.  The map is found from a node's
 * address with one mask, without the cache lock; bits of one word belong
 * to nodes that different threads hand around, hence the atomics.  It
 * costs 1 node in 256, in debug builds only.
 */
struct nc_segment_map {
	_Atomic uint64_t out[NC_SEGMENT_NODES / 64];
};

_Static_assert(sizeof(struct nc_segment_map) <= MT_NODE_SIZE,
	       "a segment's map fits in its first node");

static inline _Atomic uint64_t *map_word(const void *node, uint64_t *bit)
{
	uintptr_t p = (uintptr_t)node;
	struct nc_segment_map *map =
		(struct nc_segment_map *)(p & ~(uintptr_t)(NC_SEGMENT - 1));
	unsigned int i = (unsigned int)((p & (NC_SEGMENT - 1)) / MT_NODE_SIZE);

	*bit = 1ull << (i % 64);
	return &map->out[i / 64];
}

static inline void map_set_out(void *node, bool out)
{
	uint64_t bit;
	_Atomic uint64_t *w;

	if (!LIBIOVA_DEBUG)
		return;
	w = map_word(node, &bit);
	if (out)
		atomic_fetch_or_explicit(w, bit, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(w, ~bit, memory_order_relaxed);
}

static inline bool map_is_out(const void *node)
{
	uint64_t bit;
	_Atomic uint64_t *w = map_word(node, &bit);

	return atomic_load_explicit(w, memory_order_relaxed) & bit;
}

/* ---- chunks ------------------------------------------------------------ */

/* Insert @chunk into the sorted chunk array. */
static int chunk_record_locked(struct node_cache *c, struct nc_chunk chunk)
{
	size_t i;

	if (c->nr_chunks == c->chunk_cap) {
		size_t cap = c->chunk_cap ? c->chunk_cap * 2 : 16;
		struct nc_chunk *grown = realloc(c->chunks, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		c->chunks = grown;
		c->chunk_cap = cap;
	}
	for (i = c->nr_chunks; i > 0 && c->chunks[i - 1].base > chunk.base; i--)
		c->chunks[i] = c->chunks[i - 1];
	c->chunks[i] = chunk;
	c->nr_chunks++;
	return 0;
}

/*
 * Map @bytes, aligned to a segment (the debug map's address is a mask
 * away); huge-page sized chunks are 2 MiB-aligned and marked for THP.
 */
static char *chunk_map(size_t bytes)
{
	size_t align = bytes >= NC_CHUNK_HUGE ? NC_CHUNK_HUGE : NC_SEGMENT;
	char *p = mmap(NULL, bytes + align, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t head;

	if (p == MAP_FAILED)
		return NULL;
	/* keep the aligned part, give back the rest */
	head = (align - ((uintptr_t)p & (align - 1))) & (align - 1);
	if (head)
		munmap(p, head);
	if (align - head)
		munmap(p + head + bytes, align - head);
	p += head;
	if (align == NC_CHUNK_HUGE)
		madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

static int chunk_grow_locked(struct node_cache *c)
{
	size_t bytes = c->reserved < NC_CHUNK_MIN ? NC_CHUNK_MIN : c->reserved;
	struct nc_chunk chunk;

	if (bytes > NC_CHUNK_HUGE)
		bytes = NC_CHUNK_HUGE;
	chunk.bytes = bytes;
	chunk.base = chunk_map(bytes);
	if (!chunk.base)
		return -ENOMEM;
	if (chunk_record_locked(c, chunk)) {
		munmap(chunk.base, bytes);
		return -ENOMEM;
	}
	c->reserved += bytes;
	c->carve_chunk = chunk.base;
	c->carve_next = chunk.base;
	c->carve_left = bytes / MT_NODE_SIZE;
	return 0;
}

static bool at_limit_locked(const struct node_cache *c)
{
	return c->max_nodes && c->carved >= c->max_nodes;
}

static void *carve_locked(struct node_cache *c)
{
	void *node;

	if (!c->carve_left || at_limit_locked(c))
		return NULL;
	if (LIBIOVA_DEBUG && !((uintptr_t)c->carve_next & (NC_SEGMENT - 1))) {
		/* a segment's first node is its map (zero from mmap); the
		 * segment has NC_SEGMENT_NODES - 1 more for carving */
		c->carve_next += MT_NODE_SIZE;
		c->carve_left--;
	}
	node = c->carve_next;
	c->carve_next += MT_NODE_SIZE;
	c->carve_left--;
	c->carved++;
	return node;
}

/*
 * Put up to half a magazine of nodes into @m, from the depot or carved.
 *
 * Carved nodes go in highest address first, so that allocations, which
 * pop from the top, hand them out in ascending address order.  A tree
 * built in key order then has its nodes in memory in the order an
 * in-order walk reads them, upwards, which the hardware prefetchers
 * follow: walking a sequentially built tree of 1,000,000 entries took
 * about 40% less time than with the nodes handed out downwards, sixteen at
 * a time, as a plain push of the carved nodes did.
 */
static void magazine_fill_locked(struct node_cache *c, struct nc_magazine *m)
{
	void *carved[NC_MAG_NODES / 2];
	unsigned int n = 0;

	/* a bundle holds at most half a magazine: room for one always */
	while (m->count < NC_MAG_NODES / 2 && depot_pop_locked(c, m))
		;
	while (m->count + n < NC_MAG_NODES / 2 &&
	       (carved[n] = carve_locked(c)) != NULL)
		n++;
	while (n)
		m->nodes[m->count++] = carved[--n];
}

static void deadline_after_ms(struct timespec *ts, unsigned int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * Slow path of an allocation: @m is empty.  A non-blocking request tries
 * the depot, the current chunk and one new chunk.  A blocking request may
 * then wait, until its deadline, for nodes to come back (at the node limit)
 * or for the system to find memory (new chunk failed).
 */
static void *magazine_refill(struct node_cache *c, struct nc_magazine *m,
			     gfp_t gfp)
{
	bool blocking = gfpflags_allow_blocking(gfp);
	bool have_deadline = false;
	struct timespec deadline;
	void *node = NULL;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		magazine_fill_locked(c, m);
		if (m->count)
			break;
		if (!at_limit_locked(c) && chunk_grow_locked(c) == 0)
			continue;
		if (!blocking)
			break;
		if (!have_deadline) {
			deadline_after_ms(&deadline, c->block_timeout_ms);
			have_deadline = true;
		}
		c->waiters++;
		int rc = pthread_cond_timedwait(&c->returned, &c->lock,
						&deadline);
		c->waiters--;
		if (rc == ETIMEDOUT) {
			magazine_fill_locked(c, m);
			break;
		}
	}
	if (m->count)
		node = m->nodes[--m->count];
	pthread_mutex_unlock(&c->lock);
	return node;
}

/* ---- per-thread magazines ---------------------------------------------- */

static struct node_cache *registry_find_locked(uint64_t id)
{
	struct node_cache *c;

	for (c = registry; c; c = c->reg_next)
		if (c->id == id)
			return c;
	return NULL;
}

static inline uint64_t count_read(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* Only the owning thread counts, so a plain load and store will do. */
static inline void count_one(_Atomic uint64_t *v)
{
	atomic_store_explicit(v, count_read(v) + 1, memory_order_relaxed);
}

/*
 * Give @m's nodes and counts back to its cache if that still exists, and
 * empty @m.  A destroyed cache's magazine is dropped untouched.
 */
static void magazine_release(struct nc_magazine *m)
{
	struct node_cache *c;

	if (!m->cache_id)
		return;
	pthread_mutex_lock(&registry_lock);
	c = registry_find_locked(m->cache_id);
	if (c) {
		if (m->count)
			magazine_flush(c, m, m->count);
		pthread_mutex_lock(&c->lock);
		c->retired_allocs += count_read(&m->allocs);
		c->retired_frees += count_read(&m->frees);
		*m->pprev = m->next;
		if (m->next)
			m->next->pprev = m->pprev;
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&registry_lock);
	m->count = 0;
	m->cache_id = 0;
}

static void nc_thread_exit(void *arg)
{
	struct nc_thread *t = arg;

	for (unsigned int i = 0; i < NC_TLS_SLOTS; i++)
		magazine_release(&t->mags[i]);
	nc_self = NULL;
	free(t);
}

/* This thread's magazines, created on first use; NULL without memory. */
static struct nc_thread *nc_thread_self(void)
{
	struct nc_thread *t = nc_self;

	if (likely(t))
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	pthread_once(&nc_key_once, nc_key_create);
	/* the exit destructor gives everything back */
	pthread_setspecific(nc_exit_key, t);
	nc_self = t;
	return t;
}

static struct nc_magazine *magazine_claim(struct node_cache *c,
					  struct nc_thread *t)
{
	struct nc_magazine *m = NULL;

	for (unsigned int i = 0; i < NC_TLS_SLOTS; i++) {
		if (!t->mags[i].cache_id) {
			m = &t->mags[i];
			break;
		}
	}
	if (!m) {
		m = &t->mags[t->evict_next++ % NC_TLS_SLOTS];
		magazine_release(m);
	}
	m->cache_id = c->id;
	m->count = 0;
	atomic_init(&m->allocs, 0);
	atomic_init(&m->frees, 0);
	pthread_mutex_lock(&c->lock);
	m->next = c->mags;
	if (m->next)
		m->next->pprev = &m->next;
	m->pprev = &c->mags;
	c->mags = m;
	pthread_mutex_unlock(&c->lock);
	return m;
}

/* The calling thread's magazine for @c; NULL only without memory. */
static inline struct nc_magazine *magazine_of(struct node_cache *c)
{
	struct nc_thread *t = nc_thread_self();

	if (unlikely(!t))
		return NULL;
	for (unsigned int i = 0; i < NC_TLS_SLOTS; i++)
		if (t->mags[i].cache_id == c->id)
			return &t->mags[i];
	return magazine_claim(c, t);
}

/* ---- the allocator ----------------------------------------------------- */

static void *node_cache_alloc(void *priv, gfp_t gfp)
{
	struct node_cache *c = priv;
	struct nc_magazine *m = magazine_of(c);
	void *node;

	if (unlikely(!m))
		return NULL;
	if (likely(m->count))
		node = m->nodes[--m->count];
	else
		node = magazine_refill(c, m, gfp);
	if (unlikely(!node))
		return NULL;
	/*
	 * The next node this thread gets was freed a grace period ago, by
	 * another thread, and is cold.  Its caller will write all of it:
	 * fetch it for writing now, while this one is being filled.
	 */
	if (likely(m->count)) {
		const char *next = m->nodes[m->count - 1];

		for (unsigned int off = 0; off < MT_NODE_SIZE;
		     off += CACHELINE_SIZE)
			__builtin_prefetch(next + off, 1);
	}
	map_set_out(node, true);
	count_one(&m->allocs);
	return node;
}

static void node_cache_free(void *priv, void *node)
{
	struct node_cache *c = priv;
	struct nc_magazine *m = magazine_of(c);

	map_set_out(node, false);
	if (unlikely(!m)) {
		/* no memory for this thread's magazines: straight to the depot */
		pthread_mutex_lock(&c->lock);
		depot_push_locked(c, &node, 1);
		c->retired_frees++;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	if (unlikely(m->count == NC_MAG_NODES))
		magazine_flush(c, m, NC_MAG_NODES / 2);
	m->nodes[m->count++] = node;
	count_one(&m->frees);
}

/*
 * Free @nodes[0 .. @n - 1] straight to the depot, for a thread that frees
 * nodes it will not allocate again (liburcu's call_rcu thread handing back
 * a batch of a tree's retired nodes): in its magazine they would wait,
 * unusable by the writers, until more came.  Only one node in sixteen
 * is written (as a bundle), so the rest are not pulled into this thread's
 * cache.
 */
static void node_cache_free_many(void *priv, void **nodes, unsigned int n)
{
	struct node_cache *c = priv;

	if (LIBIOVA_DEBUG)
		for (unsigned int i = 0; i < n; i++)
			map_set_out(nodes[i], false);
	pthread_mutex_lock(&c->lock);
	depot_push_all_locked(c, nodes, n);
	c->retired_frees += n;
	pthread_mutex_unlock(&c->lock);
}

/* The cache's exact counts: retired ones plus every live magazine's. */
static void node_cache_counts(void *priv, uint64_t *allocs, uint64_t *frees)
{
	struct node_cache *c = priv;
	uint64_t a = 0, f = 0;

	pthread_mutex_lock(&c->lock);
	/* frees first: allocations read later cover them */
	f = c->retired_frees;
	for (struct nc_magazine *m = c->mags; m; m = m->next)
		f += count_read(&m->frees);
	a = c->retired_allocs;
	for (struct nc_magazine *m = c->mags; m; m = m->next)
		a += count_read(&m->allocs);
	pthread_mutex_unlock(&c->lock);
	*allocs = a;
	*frees = f;
}

/* Debug builds: is @node inside one of our chunks and handed out now? */
static int node_cache_check_free(void *priv, void *node)
{
	struct node_cache *c = priv;
	size_t lo = 0, hi;
	bool ours = false;

	pthread_mutex_lock(&c->lock);
	hi = c->nr_chunks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		char *chunk = c->chunks[mid].base;

		if ((char *)node < chunk) {
			hi = mid;
		} else if ((char *)node >= chunk + c->chunks[mid].bytes) {
			lo = mid + 1;
		} else {
			/* in the newest chunk, only the carved part is ours */
			ours = chunk != c->carve_chunk ||
			       (char *)node < c->carve_next;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (!ours || !map_is_out(node))
		return -EINVAL;
	return 0;
}

static void node_cache_stats(void *priv, struct mt_alloc_stats *st)
{
	struct node_cache *c = priv;

	pthread_mutex_lock(&c->lock);
	st->bytes_reserved = c->reserved;
	pthread_mutex_unlock(&c->lock);
}

static void node_cache_release(void *priv)
{
	struct node_cache *c = priv;
	struct node_cache **pp;

	pthread_mutex_lock(&registry_lock);
	for (pp = &registry; *pp; pp = &(*pp)->reg_next) {
		if (*pp == c) {
			*pp = c->reg_next;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);

	/* This thread's magazine for @c: drop it (the memory goes below). */
	for (unsigned int i = 0; nc_self && i < NC_TLS_SLOTS; i++) {
		if (nc_self->mags[i].cache_id == c->id) {
			nc_self->mags[i].cache_id = 0;
			nc_self->mags[i].count = 0;
		}
	}
	for (size_t i = 0; i < c->nr_chunks; i++)
		munmap(c->chunks[i].base, c->chunks[i].bytes);
	free(c->chunks);
	pthread_cond_destroy(&c->returned);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static const struct mt_allocator_ops node_cache_ops = {
	.alloc = node_cache_alloc,
	.free = node_cache_free,
	.stats = node_cache_stats,
	.release = node_cache_release,
};

static const struct alloc_extra node_cache_extra = {
	.check_free = node_cache_check_free,
	.free_many = node_cache_free_many,
	.counts = node_cache_counts,
	.aligned = true,
};

static void node_cache_init(struct node_cache *c,
			    const struct mt_node_cache_config *config)
{
	pthread_condattr_t attr;

	memset(c, 0, sizeof(*c));
	if (config) {
		c->max_nodes = config->max_nodes;
		c->block_timeout_ms = config->block_timeout_ms;
	}
	if (!c->block_timeout_ms)
		c->block_timeout_ms = NC_DEFAULT_BLOCK_MS;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->returned, &attr);
	pthread_condattr_destroy(&attr);

	pthread_mutex_lock(&registry_lock);
	c->id = next_cache_id++;
	c->reg_next = registry;
	registry = c;
	pthread_mutex_unlock(&registry_lock);
}

LIBIOVA_EXPORT struct mt_allocator *
mt_node_cache_create(const struct mt_node_cache_config *config)
{
	struct node_cache *c = malloc(sizeof(*c));
	struct mt_allocator *a;

	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	node_cache_init(c, config);
	a = alloc_build(NULL, &node_cache_ops, c, &node_cache_extra);
	if (!a) {
		node_cache_release(c);
		errno = ENOMEM;
		return NULL;
	}
	return a;
}

/*
 * The process-wide default lives here, not in alloc.c: its cache is a
 * static struct node_cache, which only this file can lay out, and it must
 * not be allocated (mt_allocator_default() never fails).
 */
static struct node_cache default_cache;
static struct mt_allocator default_allocator;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_allocator_init(void)
{
	node_cache_init(&default_cache, NULL);
	/* in static storage, with complete ops: cannot fail */
	(void)alloc_build(&default_allocator, &node_cache_ops,
				 &default_cache, &node_cache_extra);
}

LIBIOVA_EXPORT struct mt_allocator *mt_allocator_default(void)
{
	pthread_once(&default_once, default_allocator_init);
	return &default_allocator;
}

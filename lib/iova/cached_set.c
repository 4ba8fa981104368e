/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cached_set.c - floor 1 of lib/iova (cached_set.h), a leaf: the cached
 * set of a space, the first pfns of its allocations that sit in a size
 * cache.
 *
 * Each stripe keeps an open-addressed table: a directory (one node) of up
 * to CS_MAX_BLOCKS blocks (one node each, CS_SLOTS pfns), a power of two
 * of them.  A pfn's hash picks its stripe (top bits), its block and its
 * first slot (the bits below); it lives in the first free slot from there
 * on, wrapping inside the block (linear probing).  0 marks a free slot:
 * pfn 0 is never allocated by a space.  Removal shifts the following
 * pfns back instead of leaving a tombstone, so a lookup ends at the first
 * free slot and a table never fills with the dead.
 *
 * Memory: nodes of the space's node allocator, taken without blocking
 * when a stripe needs room (a free must not wait for memory), so a test
 * or a user fails them as it fails tree nodes.  Growth doubles the
 * blocks: each new block takes the pfns of one old block whose next hash
 * bit matches, so it cannot overflow.  The old table is kept, linked from
 * the new one, until the set is destroyed: iova_cached_has may still be
 * reading it, and keeping it costs less than the tables before it (a
 * stripe's tables sum to under twice its last one) and needs no grace
 * period.  Tables never shrink: the set is bounded by what the size
 * caches can hold.
 *
 * Readers: iova_cached_has reads a stripe without its lock, under the
 * stripe's sequence count, and retries when a change overlapped it (a
 * removal moves pfns, so a reader could miss one that stays in).
 */
#include <sched.h>
#include <stdlib.h>

#include "cached_set.h"

#define CS_SLOTS (MT_NODE_SIZE / sizeof(unsigned long)) /* per block */
#define CS_SLOT_BITS 5
#define CS_MAX_BLOCKS 16  /* per stripe: 512 pfns */
#define CS_BLOCK_BITS 4
/* grow past this many pfns per block on average, 3/4 full: probes stay
 * short */
#define CS_FILL (CS_SLOTS * 3 / 4)
/* stripes are sized so that the expected members fill half the largest
 * tables */
#define CS_STRIPE_MEMBERS (CS_MAX_BLOCKS * CS_SLOTS / 2)
#define CS_MIN_STRIPES 16
/* spins before a waiting thread yields (cached_set.h) */
#define CS_SPINS 256

_Static_assert(CS_SLOTS == 1u << CS_SLOT_BITS, "a block is 32 pfns");
_Static_assert(CS_MAX_BLOCKS == 1u << CS_BLOCK_BITS, "blocks bits");

/* A stripe's table: one node.  The blocks' slots are written under the
 * stripe's lock and read by iova_cached_has without it: atomic, relaxed
 * (the sequence count orders them). */
struct iova_cached_table {
	struct iova_cached_table *older; /* kept for readers, see above */
	unsigned int nr_blocks;          /* a power of two */
	atomic_ulong *blocks[CS_MAX_BLOCKS];
};

_Static_assert(sizeof(struct iova_cached_table) <= MT_NODE_SIZE,
	       "a table fits a node");

/* ---- hashing: stripe, block, first slot ------------------------------ */

static unsigned int block_of(const struct iova_cached_set *cs, uint64_t h,
			     unsigned int nr_blocks)
{
	return (unsigned int)(h >> (cs->shift - CS_BLOCK_BITS)) &
	       (nr_blocks - 1);
}

static unsigned int home_of(const struct iova_cached_set *cs, uint64_t h)
{
	return (unsigned int)(h >> (cs->shift - CS_BLOCK_BITS -
				    CS_SLOT_BITS)) &
	       (CS_SLOTS - 1);
}

static unsigned long slot_get(atomic_ulong *b, unsigned int i)
{
	return atomic_load_explicit(&b[i & (CS_SLOTS - 1)],
				    memory_order_relaxed);
}

static void slot_set(atomic_ulong *b, unsigned int i, unsigned long v)
{
	atomic_store_explicit(&b[i & (CS_SLOTS - 1)], v, memory_order_relaxed);
}

/*
 * Where @pfn is in @b (from @home on), or where it would go: *@at is its
 * slot or the first free one (CS_SLOTS when the block is full and @pfn is
 * not in it).  True if found.
 */
static bool probe(atomic_ulong *b, unsigned int home, unsigned long pfn,
		  unsigned int *at)
{
	for (unsigned int j = 0; j < CS_SLOTS; j++) {
		unsigned long v = slot_get(b, home + j);

		if (v == pfn || !v) {
			*at = (home + j) & (CS_SLOTS - 1);
			return v == pfn;
		}
	}
	*at = CS_SLOTS;
	return false;
}

/* ---- the sequence count (writers hold the stripe's lock) ------------- */

static void seq_begin(struct iova_cached_stripe *st)
{
	unsigned int s = atomic_load_explicit(&st->seq, memory_order_relaxed);

	atomic_store_explicit(&st->seq, s + 1, memory_order_relaxed);
	/* the odd count is seen before any of the changes below */
	atomic_thread_fence(memory_order_release);
}

static void seq_end(struct iova_cached_stripe *st)
{
	unsigned int s = atomic_load_explicit(&st->seq, memory_order_relaxed);

	atomic_store_explicit(&st->seq, s + 1, memory_order_release);
}

static void counts_add(struct iova_cached_stripe *st, long n, long pages)
{
	/* only the lock holder writes: no read-modify-write needed */
	atomic_store_explicit(&st->count,
			      atomic_load_explicit(&st->count,
						   memory_order_relaxed) +
				      (unsigned long)n,
			      memory_order_relaxed);
	atomic_store_explicit(&st->pages,
			      atomic_load_explicit(&st->pages,
						   memory_order_relaxed) +
				      (unsigned long)pages,
			      memory_order_relaxed);
}

/* ---- life cycle ------------------------------------------------------ */

struct iova_cached_set *iova_cached_set_create(struct mt_allocator *alloc,
					       unsigned long members)
{
	struct iova_cached_set *cs = calloc(1, sizeof(*cs));
	unsigned long n = CS_MIN_STRIPES;
	unsigned int bits = 4;

	_Static_assert(CS_MIN_STRIPES == 1u << 4, "stripe bits");
	if (!cs)
		return NULL;
	while (n * CS_STRIPE_MEMBERS < members && bits < 24) {
		n <<= 1;
		bits++;
	}
	cs->alloc = alloc;
	cs->shift = 64 - bits;
	if (posix_memalign((void **)&cs->stripes, CACHELINE_SIZE,
			   n * sizeof(*cs->stripes))) {
		free(cs);
		return NULL;
	}
	for (unsigned long i = 0; i < n; i++) {
		struct iova_cached_stripe *st = &cs->stripes[i];

		atomic_init(&st->lock, 0);
		atomic_init(&st->seq, 0);
		atomic_init(&st->table, NULL);
		atomic_init(&st->count, 0);
		atomic_init(&st->pages, 0);
	}
	return cs;
}

static void table_free(struct iova_cached_set *cs, struct iova_cached_table *t)
{
	for (unsigned int i = 0; i < t->nr_blocks; i++)
		if (t->blocks[i])
			mt_node_free(cs->alloc, t->blocks[i]);
	mt_node_free(cs->alloc, t);
}

void iova_cached_set_destroy(struct iova_cached_set *cs)
{
	if (!cs)
		return;
	for (unsigned long i = 0; i < 1UL << (64 - cs->shift); i++) {
		struct iova_cached_table *t = atomic_load_explicit(
			&cs->stripes[i].table, memory_order_relaxed);

		while (t) {
			struct iova_cached_table *older = t->older;

			table_free(cs, t);
			t = older;
		}
	}
	free(cs->stripes);
	free(cs);
}

void iova_cached_lock_wait(struct iova_cached_stripe *st)
{
	for (unsigned int spins = 0;; spins++) {
		if (!atomic_load_explicit(&st->lock, memory_order_relaxed) &&
		    !atomic_exchange_explicit(&st->lock, 1,
					      memory_order_acquire))
			return;
		if (spins < CS_SPINS)
			caa_cpu_relax();
		else
			sched_yield(); /* the holder may wait for the domain */
	}
}

/* ---- changes, under the stripe's lock -------------------------------- */

/*
 * A table of twice the blocks of @old (one block when there is none) with
 * its pfns, or NULL: at the limit already, or no node.  Without blocking.
 */
static struct iova_cached_table *grow(struct iova_cached_set *cs,
				      struct iova_cached_table *old)
{
	unsigned int n = old ? old->nr_blocks * 2 : 1;
	struct iova_cached_table *t;

	if (n > CS_MAX_BLOCKS)
		return NULL;
	t = mt_node_alloc(cs->alloc, GFP_NOWAIT | __GFP_ZERO);
	if (!t)
		return NULL;
	t->nr_blocks = n;
	for (unsigned int i = 0; i < n; i++) {
		t->blocks[i] = mt_node_alloc(cs->alloc, GFP_NOWAIT | __GFP_ZERO);
		if (!t->blocks[i]) {
			table_free(cs, t);
			return NULL;
		}
	}
	for (unsigned int i = 0; old && i < old->nr_blocks; i++) {
		for (unsigned int j = 0; j < CS_SLOTS; j++) {
			unsigned long v = slot_get(old->blocks[i], j);
			uint64_t h = iova_cached_hash(v);
			atomic_ulong *b;
			unsigned int at;

			if (!v)
				continue;
			b = t->blocks[block_of(cs, h, n)];
			/* the pfns of one old block at most: always room */
			probe(b, home_of(cs, h), v, &at);
			slot_set(b, at, v);
		}
	}
	t->older = old;
	return t;
}

int iova_cached_add(struct iova_cached_set *cs, struct iova_cached_stripe *st,
		    unsigned long pfn, unsigned long pages)
{
	struct iova_cached_table *t =
		atomic_load_explicit(&st->table, memory_order_relaxed);
	uint64_t h = iova_cached_hash(pfn);
	unsigned int at = CS_SLOTS;
	atomic_ulong *b = NULL;

	for (;;) {
		if (t) {
			b = t->blocks[block_of(cs, h, t->nr_blocks)];
			if (probe(b, home_of(cs, h), pfn, &at))
				return -EEXIST;
			if (at < CS_SLOTS &&
			    atomic_load_explicit(&st->count,
						 memory_order_relaxed) <
				    (unsigned long)t->nr_blocks * CS_FILL)
				break;
		}
		/* no table, too full on average, or this block is full */
		struct iova_cached_table *bigger = grow(cs, t);

		if (!bigger) {
			if (t && at < CS_SLOTS)
				break; /* over the fill, but there is a slot */
			return -ENOMEM;
		}
		seq_begin(st);
		atomic_store_explicit(&st->table, bigger, memory_order_release);
		seq_end(st);
		t = bigger;
	}
	seq_begin(st);
	slot_set(b, at, pfn);
	seq_end(st);
	counts_add(st, 1, (long)pages);
	return 0;
}

bool iova_cached_del(struct iova_cached_set *cs, struct iova_cached_stripe *st,
		     unsigned long pfn, unsigned long pages)
{
	struct iova_cached_table *t =
		atomic_load_explicit(&st->table, memory_order_relaxed);
	uint64_t h = iova_cached_hash(pfn);
	unsigned int hole, at;
	atomic_ulong *b;

	if (!t)
		return false;
	b = t->blocks[block_of(cs, h, t->nr_blocks)];
	if (!probe(b, home_of(cs, h), pfn, &hole))
		return false;
	seq_begin(st);
	/* Shift back the pfns after the hole that may move into it: those
	 * whose home is not cyclically in (hole, at]; the probe from a
	 * pfn's home then still meets no free slot before the pfn. */
	for (unsigned int k = 1; k < CS_SLOTS; k++) {
		unsigned long v;
		unsigned int home;

		at = (hole + k) & (CS_SLOTS - 1);
		v = slot_get(b, at);
		if (!v)
			break;
		home = home_of(cs, iova_cached_hash(v));
		if (((at - home) & (CS_SLOTS - 1)) >=
		    ((at - hole) & (CS_SLOTS - 1))) {
			slot_set(b, hole, v);
			hole = at;
			k = 0;
		}
	}
	slot_set(b, hole, 0);
	seq_end(st);
	counts_add(st, -1, -(long)pages);
	return true;
}

/* ---- reading without the lock ---------------------------------------- */

bool iova_cached_has(struct iova_cached_set *cs, unsigned long pfn)
{
	struct iova_cached_stripe *st = iova_cached_stripe(cs, pfn);
	uint64_t h = iova_cached_hash(pfn);

	for (;;) {
		unsigned int s = atomic_load_explicit(&st->seq,
						      memory_order_acquire);
		struct iova_cached_table *t;
		bool found = false;
		unsigned int at;

		if (s & 1) {
			caa_cpu_relax();
			continue;
		}
		t = atomic_load_explicit(&st->table, memory_order_acquire);
		if (t)
			found = probe(t->blocks[block_of(cs, h, t->nr_blocks)],
				      home_of(cs, h), pfn, &at);
		/* the slots were read before the count is read again */
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&st->seq, memory_order_relaxed) == s)
			return found;
	}
}

void iova_cached_totals(struct iova_cached_set *cs, unsigned long *count,
			unsigned long *pages)
{
	*count = *pages = 0;
	for (unsigned long i = 0; i < 1UL << (64 - cs->shift); i++) {
		*count += atomic_load_explicit(&cs->stripes[i].count,
					       memory_order_relaxed);
		*pages += atomic_load_explicit(&cs->stripes[i].pages,
					       memory_order_relaxed);
	}
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cached_set.c - floor 1 of lib/iova (cached_set.h), a leaf: the cached
 * set of a space, the first pfns of its allocations that sit in a size
 * cache, and of some that a cache handed out (live entries, a shortcut
 * for their next free).
 *
 * Each stripe keeps an open-addressed table: a directory (one node) of up
 * to CS_MAX_BLOCKS blocks (one node each, CS_SLOTS entries), a power of
 * two of them.  A pfn's hash picks its stripe (top bits), its block and
 * its first slot (the bits below); it lives in the first free slot from
 * there on, wrapping inside the block (linear probing).  pfn 0 marks a
 * free slot: a space never allocates pfn 0.  Removal shifts the
 * following entries back instead of leaving a tombstone, so a probe ends
 * at the first free slot and a table never fills with the dead.
 *
 * Memory: nodes of the space's node allocator, taken without blocking
 * when a stripe needs room (a free must not wait for memory), so a test
 * or a user fails them as it fails tree nodes.  Growth doubles the
 * blocks: each new block takes the entries of one old block whose next
 * hash bit matches, so it cannot overflow.  The old table is kept,
 * linked from the new one, until the set is destroyed: iova_cached_has
 * may still be reading it, and keeping it costs less than the tables
 * before it (a stripe's tables sum to under twice its last one) and
 * needs no grace period.  Tables never shrink, and stop at CS_MAX_BLOCKS
 * blocks.  A live entry added (an allocation the tree handed out) may
 * make a table grow up to the live fill; one flipped from cached is kept
 * only where there is room without growing.  Live entries are dropped
 * when a block of a table that can grow no more has no slot left for a
 * cached one: they are a shortcut, never needed (cached_set.h).
 *
 * Readers: iova_cached_has reads a stripe without its lock, under the
 * stripe's sequence count, and retries when a change overlapped it (a
 * removal moves entries, so a reader could miss one that stays in).  A
 * flip between live and cached is one store of the entry's state word,
 * which a reader sees before or after, both right: it bumps no count.
 */
#include <sched.h>
#include <stdlib.h>

#include "cached_set.h"

/* One entry: a first pfn and its state, (log2 of the size) << 1 | cached.
 * Written under the stripe's lock and read by iova_cached_has without
 * it: atomic, relaxed (the sequence count orders them). */
struct cs_slot {
	atomic_ulong pfn;  /* 0: a free slot */
	atomic_ulong state;
};

#define CS_CACHED 1UL
#define CS_SLOTS (MT_NODE_SIZE / sizeof(struct cs_slot)) /* per block */
#define CS_SLOT_BITS 4
#define CS_MAX_BLOCKS 16  /* per stripe: 256 entries */
#define CS_BLOCK_BITS 4
/* grow past this many entries per block on average, 3/4 full: probes
 * stay short */
#define CS_FILL (CS_SLOTS * 3 / 4)
/* live entries are kept only below this many entries per block: they
 * never make a table grow past it */
#define CS_LIVE_FILL CS_FILL
/* stripes are sized so that the expected members fill half the largest
 * tables */
#define CS_STRIPE_MEMBERS (CS_MAX_BLOCKS * CS_SLOTS / 2)
#define CS_MIN_STRIPES 16
#define CS_MIN_STRIPE_BITS 4
/* spins before a waiting thread yields (cached_set.h) */
#define CS_SPINS 256

_Static_assert(CS_SLOTS == 1u << CS_SLOT_BITS, "a block is 16 entries");
_Static_assert(CS_MAX_BLOCKS == 1u << CS_BLOCK_BITS, "blocks bits");
_Static_assert(CS_MIN_STRIPES == 1u << CS_MIN_STRIPE_BITS, "stripe bits");

/* A stripe's table: one node. */
struct iova_cached_table {
	struct iova_cached_table *older; /* kept for readers, see above */
	unsigned int nr_blocks;          /* a power of two */
	struct cs_slot *blocks[CS_MAX_BLOCKS];
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

static struct cs_slot *block_for(const struct iova_cached_set *cs,
				 const struct iova_cached_table *t,
				 uint64_t h)
{
	return t->blocks[block_of(cs, h, t->nr_blocks)];
}

static unsigned long pfn_get(struct cs_slot *b, unsigned int i)
{
	return atomic_load_explicit(&b[i & (CS_SLOTS - 1)].pfn,
				    memory_order_relaxed);
}

static unsigned long state_get(struct cs_slot *b, unsigned int i)
{
	return atomic_load_explicit(&b[i & (CS_SLOTS - 1)].state,
				    memory_order_relaxed);
}

static void slot_set(struct cs_slot *b, unsigned int i, unsigned long pfn,
		     unsigned long state)
{
	atomic_store_explicit(&b[i & (CS_SLOTS - 1)].pfn, pfn,
			      memory_order_relaxed);
	atomic_store_explicit(&b[i & (CS_SLOTS - 1)].state, state,
			      memory_order_relaxed);
}

/*
 * Where @pfn is in @b (from @home on), or where it would go: *@at is its
 * slot or the first free one (CS_SLOTS when the block is full and @pfn is
 * not in it).  True if found.
 */
static bool probe(struct cs_slot *b, unsigned int home, unsigned long pfn,
		  unsigned int *at)
{
	for (unsigned int j = 0; j < CS_SLOTS; j++) {
		unsigned long v = pfn_get(b, home + j);

		if (v == pfn || !v) {
			*at = (home + j) & (CS_SLOTS - 1);
			return v == pfn;
		}
	}
	*at = CS_SLOTS;
	return false;
}

/* ---- the sequence count (writers hold the stripe's lock) ------------- */

/* Make the count odd, unless the caller's write section (cached_set.h)
 * did already; true if this call did. */
static bool seq_begin(struct iova_cached_stripe *st)
{
	unsigned int s = atomic_load_explicit(&st->seq, memory_order_relaxed);

	if (s & 1)
		return false;
	atomic_store_explicit(&st->seq, s + 1, memory_order_relaxed);
	/* the odd count is seen before any of the changes below */
	atomic_thread_fence(memory_order_release);
	return true;
}

static void seq_end(struct iova_cached_stripe *st, bool began)
{
	unsigned int s = atomic_load_explicit(&st->seq, memory_order_relaxed);

	if (began)
		atomic_store_explicit(&st->seq, s + 1, memory_order_release);
}

void iova_cached_write_begin(struct iova_cached_stripe *st)
{
	seq_begin(st);
}

void iova_cached_write_end(struct iova_cached_stripe *st)
{
	seq_end(st, true);
}

/* The cached counts move by one entry of @state, in (@sign 1) or out. */
static void count_cached(struct iova_cached_stripe *st, unsigned long state,
			 long sign)
{
	/* only the lock holder writes: no read-modify-write needed */
	unsigned long pages = 1UL << (state >> 1);

	atomic_store_explicit(&st->cached,
			      atomic_load_explicit(&st->cached,
						   memory_order_relaxed) +
				      (unsigned long)sign,
			      memory_order_relaxed);
	atomic_store_explicit(&st->pages,
			      atomic_load_explicit(&st->pages,
						   memory_order_relaxed) +
				      (unsigned long)sign * pages,
			      memory_order_relaxed);
}

/* ---- life cycle ------------------------------------------------------ */

struct iova_cached_set *iova_cached_set_create(struct mt_allocator *alloc,
					       unsigned long members)
{
	struct iova_cached_set *cs = calloc(1, sizeof(*cs));
	unsigned long n = CS_MIN_STRIPES;
	unsigned int bits = CS_MIN_STRIPE_BITS;

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
		st->entries = 0;
		atomic_init(&st->cached, 0);
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

static struct iova_cached_table *table_of(struct iova_cached_stripe *st)
{
	return atomic_load_explicit(&st->table, memory_order_relaxed);
}

/*
 * A table of twice the blocks of @old (one block when there is none) with
 * its entries, or NULL: at the limit already, or no node.  Without
 * blocking.
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
			unsigned long v = pfn_get(old->blocks[i], j);
			uint64_t h = iova_cached_hash(v);
			struct cs_slot *b;
			unsigned int at;

			if (!v)
				continue;
			b = block_for(cs, t, h);
			/* the entries of one old block at most: always room */
			probe(b, home_of(cs, h), v, &at);
			slot_set(b, at, v, state_get(old->blocks[i], j));
		}
	}
	t->older = old;
	return t;
}

/* Put a table of twice the blocks of @old (one block when there is none)
 * in place for @st, as one write section; NULL if it cannot grow, as
 * grow.  Under the stripe's lock. */
static struct iova_cached_table *enlarge(struct iova_cached_set *cs,
					 struct iova_cached_stripe *st,
					 struct iova_cached_table *old)
{
	struct iova_cached_table *bigger = grow(cs, old);
	bool began;

	if (!bigger)
		return NULL;
	began = seq_begin(st);
	atomic_store_explicit(&st->table, bigger, memory_order_release);
	seq_end(st, began);
	return bigger;
}

/* Remove the entry in slot @hole of @b, shifting back the ones after it
 * that may move into the hole: those whose home is not cyclically in
 * (hole, at], so a probe from an entry's home still meets no free slot
 * before the entry.  Inside the sequence count. */
static void remove_at(struct iova_cached_set *cs, struct cs_slot *b,
		      unsigned int hole)
{
	for (unsigned int k = 1; k < CS_SLOTS; k++) {
		unsigned int at = (hole + k) & (CS_SLOTS - 1), home;
		unsigned long v = pfn_get(b, at);

		if (!v)
			break;
		home = home_of(cs, iova_cached_hash(v));
		if (((at - home) & (CS_SLOTS - 1)) >=
		    ((at - hole) & (CS_SLOTS - 1))) {
			slot_set(b, hole, v, state_get(b, at));
			hole = at;
			k = 0;
		}
	}
	slot_set(b, hole, 0, 0);
}

/* Drop every live entry of @b: room for cached ones. */
static void drop_live(struct iova_cached_set *cs,
		      struct iova_cached_stripe *st, struct cs_slot *b)
{
	bool began = seq_begin(st);

	for (unsigned int j = 0; j < CS_SLOTS;) {
		if (pfn_get(b, j) && !(state_get(b, j) & CS_CACHED)) {
			/* another entry may have moved into slot j: it is
			 * looked at next; every removal leaves one less */
			remove_at(cs, b, j);
			st->entries--;
		} else {
			j++;
		}
	}
	seq_end(st, began);
}

int iova_cached_add(struct iova_cached_set *cs, struct iova_cached_stripe *st,
		    unsigned long pfn, unsigned int log)
{
	struct iova_cached_table *t = table_of(st);
	uint64_t h = iova_cached_hash(pfn);
	unsigned long state = (unsigned long)log << 1 | CS_CACHED;
	unsigned int at = CS_SLOTS;
	struct cs_slot *b = NULL;
	bool dropped = false;

	for (;;) {
		if (t) {
			b = block_for(cs, t, h);
			if (probe(b, home_of(cs, h), pfn, &at))
				return -EEXIST;
			if (at < CS_SLOTS &&
			    st->entries < t->nr_blocks * CS_FILL)
				break;
		}
		/* no table, too full on average, or this block is full */
		struct iova_cached_table *bigger = enlarge(cs, st, t);

		if (bigger) {
			t = bigger;
			continue;
		}
		if (t && at < CS_SLOTS)
			break; /* over the fill, but there is a slot */
		if (!t || dropped)
			return -ENOMEM;
		drop_live(cs, st, b);
		dropped = true;
	}
	bool began = seq_begin(st);

	slot_set(b, at, pfn, state);
	seq_end(st, began);
	st->entries++;
	count_cached(st, state, 1);
	return 0;
}

/* The slot of @pfn's entry in table @t of its stripe (may be NULL): true
 * with *@bp and *@at set, false if it has none. */
static bool find_entry(const struct iova_cached_set *cs,
		       struct iova_cached_table *t, unsigned long pfn,
		       struct cs_slot **bp, unsigned int *at)
{
	uint64_t h = iova_cached_hash(pfn);

	/* pfn 0 is what a free slot holds: never an entry (a free of IOVA 0
	 * would otherwise find the first free slot on its probe) */
	if (!t || !pfn)
		return false;
	*bp = block_for(cs, t, h);
	return probe(*bp, home_of(cs, h), pfn, at);
}

/* Remove the entry in slot @at of @b, one of @st's, as one write section
 * of the stripe's sequence count.  Under the stripe's lock. */
static void remove_entry(struct iova_cached_set *cs,
			 struct iova_cached_stripe *st, struct cs_slot *b,
			 unsigned int at)
{
	bool began = seq_begin(st);

	remove_at(cs, b, at);
	seq_end(st, began);
	st->entries--;
}

int iova_cached_park(struct iova_cached_set *cs, struct iova_cached_stripe *st,
		     unsigned long pfn)
{
	unsigned long state;
	struct cs_slot *b;
	unsigned int at;

	if (!find_entry(cs, table_of(st), pfn, &b, &at))
		return -ENOENT;
	state = state_get(b, at);
	if (state & CS_CACHED)
		return -EEXIST;
	state |= CS_CACHED;
	atomic_store_explicit(&b[at].state, state, memory_order_relaxed);
	count_cached(st, state, 1);
	return (int)(state >> 1);
}

void iova_cached_unpark(struct iova_cached_set *cs,
			struct iova_cached_stripe *st, unsigned long pfn)
{
	struct iova_cached_table *t = table_of(st);
	unsigned long state;
	struct cs_slot *b;
	unsigned int at;

	if (!find_entry(cs, t, pfn, &b, &at))
		return;
	state = state_get(b, at);
	if (!(state & CS_CACHED))
		return;
	count_cached(st, state, -1);
	if (st->entries <= t->nr_blocks * CS_LIVE_FILL) {
		/* room: kept as a live entry, the next free's shortcut */
		atomic_store_explicit(&b[at].state, state & ~CS_CACHED,
				      memory_order_relaxed);
		return;
	}
	remove_entry(cs, st, b, at);
}

void iova_cached_add_live(struct iova_cached_set *cs,
			  struct iova_cached_stripe *st, unsigned long pfn,
			  unsigned int log)
{
	struct iova_cached_table *t = table_of(st);
	uint64_t h = iova_cached_hash(pfn);
	struct cs_slot *b;
	unsigned int at;
	bool began;

	if (!t || st->entries >= t->nr_blocks * CS_LIVE_FILL)
		t = enlarge(cs, st, t);
	if (!t)
		return;
	b = block_for(cs, t, h);
	if (probe(b, home_of(cs, h), pfn, &at) || at == CS_SLOTS)
		return; /* has an entry already (see the header), or no slot */
	began = seq_begin(st);
	slot_set(b, at, pfn, (unsigned long)log << 1);
	seq_end(st, began);
	st->entries++;
}

bool iova_cached_del(struct iova_cached_set *cs, struct iova_cached_stripe *st,
		     unsigned long pfn)
{
	struct cs_slot *b;
	unsigned int at;

	if (!find_entry(cs, table_of(st), pfn, &b, &at))
		return false;
	if (state_get(b, at) & CS_CACHED)
		count_cached(st, state_get(b, at), -1);
	remove_entry(cs, st, b, at);
	return true;
}

/* ---- reading without the lock ---------------------------------------- */

unsigned int iova_cached_read_begin(struct iova_cached_set *cs,
				   unsigned long pfn)
{
	struct iova_cached_stripe *st = iova_cached_stripe(cs, pfn);

	for (;;) {
		unsigned int s = atomic_load_explicit(&st->seq,
						      memory_order_acquire);

		if (!(s & 1))
			return s;
		caa_cpu_relax();
	}
}

bool iova_cached_peek(struct iova_cached_set *cs, unsigned long pfn)
{
	struct iova_cached_stripe *st = iova_cached_stripe(cs, pfn);
	struct cs_slot *b;
	unsigned int at;

	return find_entry(cs, atomic_load_explicit(&st->table,
						   memory_order_acquire),
			  pfn, &b, &at) &&
	       (state_get(b, at) & CS_CACHED);
}

bool iova_cached_read_end(struct iova_cached_set *cs, unsigned long pfn,
			  unsigned int seq)
{
	struct iova_cached_stripe *st = iova_cached_stripe(cs, pfn);

	/* what was read is read before the count is read again */
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&st->seq, memory_order_relaxed) == seq;
}

bool iova_cached_has(struct iova_cached_set *cs, unsigned long pfn)
{
	for (;;) {
		unsigned int seq = iova_cached_read_begin(cs, pfn);
		bool found = iova_cached_peek(cs, pfn);

		if (iova_cached_read_end(cs, pfn, seq))
			return found;
	}
}

void iova_cached_totals(struct iova_cached_set *cs, unsigned long *count,
			unsigned long *pages)
{
	*count = *pages = 0;
	for (unsigned long i = 0; i < 1UL << (64 - cs->shift); i++) {
		*count += atomic_load_explicit(&cs->stripes[i].cached,
					       memory_order_relaxed);
		*pages += atomic_load_explicit(&cs->stripes[i].pages,
					       memory_order_relaxed);
	}
}

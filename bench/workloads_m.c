/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * workloads_m.c - the maple tree (M) workloads of bench/README.md.
 *
 * Range i is [10i, 10i + 5] with value i + 1 (values are nonzero so that 0
 * can mean "none").  Random streams come from splitmix64 seeded with the
 * run's seed.  Every timed loop's results are checked, inside the loop
 * when the check is part of the work (a lookup), after it otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "prng.h"

static unsigned long *permutation(unsigned long n, struct prng *rng)
{
	unsigned long *p = malloc(n * sizeof(*p));

	for (unsigned long i = 0; i < n; i++)
		p[i] = i;
	for (unsigned long i = n; i > 1; i--) {
		unsigned long j = prng_below(rng, i), t = p[i - 1];

		p[i - 1] = p[j];
		p[j] = t;
	}
	return p;
}

/* Let @m finish what its untimed setup deferred, before a timed part. */
static void settle(const struct rmap_ops *ops, void *m)
{
	if (ops->settle)
		ops->settle(m);
}

static void *seq_map(const struct rmap_ops *ops, unsigned long n)
{
	void *m = ops->create(false);

	for (unsigned long i = 0; i < n; i++)
		ops->store(m, 10 * i, 10 * i + 5, i + 1);
	settle(ops, m);
	return m;
}

/*
 * The tree's shape and where its leaves lie, as extra figures (our tree
 * only): height, live nodes, the nodes' worth of memory the allocator
 * holds, the share of leaves placed right after (one node above) the leaf
 * before them in key order, the distinct 4 KiB pages the leaves lie in
 * (a packed tree's leaves fill 16 to a page), and the median distance
 * between neighbouring leaves, in nodes.
 */
static void report_layout(const struct rmap_ops *ops, void *m,
			  struct bench_result *res)
{
	struct rmap_layout l;

	if (!ops->layout || !ops->height)
		return;
	settle(ops, m);
	if (!ops->layout(m, &l))
		return;
	res->aux_label[0] = "height";
	res->aux[0] = ops->height(m);
	res->aux_label[1] = "nodes";
	res->aux[1] = (double)l.nodes;
	res->aux_label[2] = "reserved nodes";
	res->aux[2] = (double)l.reserved;
	res->aux_label[3] = "next-node leaves %";
	res->aux[3] = l.next_pct;
	res->aux_label[4] = "leaf pages";
	res->aux[4] = (double)l.pages;
	res->aux_label[5] = "median leaf distance";
	res->aux[5] = l.median_dist;
}

/*
 * What a timed part cost beyond its time, on our tree (extra figures 6
 * to 8, per operation):
 *
 *   own CPU ns             the calling thread's CPU time in the timed
 *                          part: its time less what the machine took
 *                          away from it (preemption by other processes)
 *   other threads' CPU ns  the CPU time the process's other threads
 *                          spent from the start of the timed part until
 *                          everything it deferred was done (a settle
 *                          after it), less what a settle with nothing
 *                          deferred costs them: in RCU mode, liburcu's
 *                          call_rcu thread waiting out grace periods and
 *                          handing the replaced nodes back
 *   node allocs/op         nodes the tree took from its allocator in the
 *                          timed part: in RCU mode, the copies its writes
 *                          made of the nodes they changed
 *
 * Pinned to one CPU, the time per operation is about the first two added.
 */
struct cpu_mark {
	uint64_t proc, thread, allocs;
};

static void cpu_begin(const struct rmap_ops *ops, void *m,
		      struct cpu_mark *c)
{
	c->allocs = ops->node_allocs ? ops->node_allocs(m) : 0;
	c->proc = bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	c->thread = bench_cpu_ns(CLOCK_THREAD_CPUTIME_ID);
}

static void cpu_end(const struct rmap_ops *ops, void *m,
		    const struct cpu_mark *c, struct bench_result *res)
{
	uint64_t thread = bench_cpu_ns(CLOCK_THREAD_CPUTIME_ID), proc, after;
	double ops_done = res->ops ? (double)res->ops : 1.0;
	int64_t other, idle;

	if (ops->node_allocs) {
		res->aux_label[8] = "node allocs/op";
		res->aux[8] = (double)(ops->node_allocs(m) - c->allocs) /
			      ops_done;
	}
	if (!ops->settle)
		return;
	settle(ops, m);
	proc = bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	after = bench_cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	other = (int64_t)((proc - c->proc) - (after - c->thread));
	/* a settle costs the other threads a grace period even with nothing
	 * deferred: take off what one more costs */
	settle(ops, m);
	idle = (int64_t)((bench_cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - proc) -
			 (bench_cpu_ns(CLOCK_THREAD_CPUTIME_ID) - after));
	res->aux_label[6] = "own CPU ns";
	res->aux[6] = (double)(thread - c->thread) / ops_done;
	res->aux_label[7] = "other threads' CPU ns";
	res->aux[7] = (double)(other > idle ? other - idle : 0) / ops_done;
}

/* The timed part took t1 - t0 for @ops operations. */
static void timed(struct bench_result *res, uint64_t t0, uint64_t t1,
		  unsigned long ops)
{
	res->ops = ops;
	res->ns_per_op = ops ? (double)(t1 - t0) / (double)ops : 0.0;
}

static size_t map_bytes(const struct rmap_ops *ops, void *m, size_t heap0)
{
	return ops->bytes ? ops->bytes(m) : bench_heap_in_use() - heap0;
}

static void check_seq_contents(const struct rmap_ops *ops, void *m,
			       unsigned long n, struct bench_result *res)
{
	unsigned long sum = 0;

	BENCH_CHECK(res, ops->iterate(m, &sum) == n, "wrong entry count");
	BENCH_CHECK(res, sum == n * (n + 1) / 2, "wrong values");
}

static void seq_store(const struct rmap_ops *ops, unsigned long n,
		      struct bench_result *res, bool layout)
{
	size_t heap0 = bench_heap_in_use();
	void *m = ops->create(false);
	struct cpu_mark cpu;
	uint64_t t0, t1;

	cpu_begin(ops, m, &cpu);
	t0 = bench_timed_begin();
	for (unsigned long i = 0; i < n; i++)
		ops->store(m, 10 * i, 10 * i + 5, i + 1);
	t1 = bench_timed_end();
	timed(res, t0, t1, n);
	cpu_end(ops, m, &cpu, res);
	res->bytes_per_entry = (double)map_bytes(ops, m, heap0) / (double)n;
	check_seq_contents(ops, m, n, res);
	if (layout)
		report_layout(ops, m, res);
	ops->destroy(m);
}

static void w_seq_store(const struct rmap_ops *ops, unsigned long n,
			uint64_t seed, struct bench_result *res)
{
	(void)seed;
	seq_store(ops, n, res, false);
}

static void rand_insert(const struct rmap_ops *ops, unsigned long n,
			uint64_t seed, struct bench_result *res, bool layout)
{
	struct prng rng = { seed };
	unsigned long *p = permutation(n, &rng);
	size_t heap0 = bench_heap_in_use();
	void *m = ops->create(false);
	void (*insert)(void *, unsigned long, unsigned long, unsigned long) =
		ops->insert ? ops->insert : ops->store;
	struct cpu_mark cpu;
	uint64_t t0, t1;

	cpu_begin(ops, m, &cpu);
	t0 = bench_timed_begin();
	for (unsigned long k = 0; k < n; k++)
		insert(m, 10 * p[k], 10 * p[k] + 5, p[k] + 1);
	t1 = bench_timed_end();
	timed(res, t0, t1, n);
	cpu_end(ops, m, &cpu, res);
	res->bytes_per_entry = (double)map_bytes(ops, m, heap0) / (double)n;
	check_seq_contents(ops, m, n, res);
	if (layout)
		report_layout(ops, m, res);
	ops->destroy(m);
	free(p);
}

static void w_rand_insert(const struct rmap_ops *ops, unsigned long n,
			  uint64_t seed, struct bench_result *res)
{
	rand_insert(ops, n, seed, res, false);
}

/*
 * The floor under M-rand-load: what the lookups' memory accesses alone
 * cost, measured in this process right after the lookups.
 *
 * A lookup reads, at each level, the node's 15 pivots (bytes 8-127: its
 * first two 64-byte lines; the slot search reads all of them) and then
 * one slot (bytes 128-255: line 3 or 4).  So 3 of a node's 4 lines, 3 per
 * level, each level's address depending on the level above.  (Our lookup
 * prefetches all 4, so that the slot line is on its way before the search
 * picks it; the floor counts only the 3 a lookup needs.)  The tree
 * built by sequential stores is packed to the floor (every node full but
 * the last of each level; tests/maple test_append_floor), so its shape
 * follows from N: 2N items, 16 to a leaf, 16 to an internal node.  The
 * chase lays out a buffer of exactly that many 256-byte blocks, level by
 * level, and per lookup loads the same 3 lines in one random block of
 * each level, each block's position computed from the loads before it
 * (a multiply, no compare), after drawing the same two random numbers a
 * lookup draws.  Its time per lookup is the floor: no search, no checks,
 * only the dependent loads on a buffer the size of the tree.
 *
 * Per level, the same chase at that level alone gives ns per step:
 * levels that stay in the cache cost a few ns, a level that misses costs
 * its line fetches (the two pivot lines come in parallel, the slot line
 * after them).  And a plain chain of dependent single-line loads over the
 * whole buffer gives the cost of one miss at this size.
 */
#define FLOOR_LEVELS_MAX 12
#define BLOCK_WORDS 32 /* a 256-byte node */

/* where the chases' results go, so that no load is optimized away */
static volatile uint64_t floor_sink;

struct floor_shape {
	unsigned int height;
	unsigned long count[FLOOR_LEVELS_MAX]; /* blocks per level, root first */
	unsigned long first[FLOOR_LEVELS_MAX]; /* first block of each level */
	unsigned long blocks;
};

static bool floor_shape_of(unsigned long n, struct floor_shape *sh)
{
	unsigned long level = (2 * n + 15) / 16, tmp[FLOOR_LEVELS_MAX];
	unsigned int h = 0;

	for (;;) {
		if (h == FLOOR_LEVELS_MAX)
			return false;
		tmp[h++] = level;
		if (level == 1)
			break;
		level = (level + 15) / 16;
	}
	sh->height = h;
	sh->blocks = 0;
	for (unsigned int l = 0; l < h; l++) {
		sh->count[l] = tmp[h - 1 - l];
		sh->first[l] = sh->blocks;
		sh->blocks += sh->count[l];
	}
	return true;
}

/* Block of a level from the hash @x of the loads so far. */
static inline const uint64_t *floor_block(const uint64_t *buf,
					  const struct floor_shape *sh,
					  unsigned int l, uint64_t x)
{
	uint64_t i = ((x >> 32) * sh->count[l]) >> 32;

	return buf + (sh->first[l] + i) * BLOCK_WORDS;
}

/* The 3 lines a lookup reads in one node; returns the next hash. */
static inline uint64_t floor_step(const uint64_t *blk, uint64_t x)
{
	/* words 1 and 8: the two pivot lines; then a slot word in line 3
	 * or 4 chosen by the hash, as the index chooses the slot */
	uint64_t w = blk[1] + blk[8] + blk[16 + ((x >> 7) & 15)];

	return (x + w) * 0x9e3779b97f4a7c15ull;
}

/* ns per lookup of the chase over levels [@from, @to], @n lookups. */
static double floor_chase(const uint64_t *buf, const struct floor_shape *sh,
			  unsigned int from, unsigned int to, unsigned long n,
			  uint64_t seed)
{
	struct prng rng = { seed };
	uint64_t t0, acc = 0;

	t0 = bench_now_ns();
	for (unsigned long k = 0; k < n; k++) {
		unsigned long r = prng_below(&rng, n), o = prng_below(&rng, 10);
		uint64_t x = (10 * r + o) * 0x9e3779b97f4a7c15ull;

		/* lookups are independent of one another, as in the
		 * workload: the CPU may overlap them the same way */
		for (unsigned int l = from; l <= to; l++)
			x = floor_step(floor_block(buf, sh, l, x), x);
		acc += x;
	}
	floor_sink += acc;
	return (double)(bench_now_ns() - t0) / (double)n;
}

/* ns per dependent single-line load, random over the whole buffer. */
static double floor_chain(const uint64_t *buf, unsigned long blocks,
			  unsigned long steps)
{
	uint64_t t0, x = 0x9e3779b97f4a7c15ull;

	t0 = bench_now_ns();
	for (unsigned long k = 0; k < steps; k++) {
		uint64_t i = ((x >> 32) * blocks) >> 32;

		x = (x + buf[i * BLOCK_WORDS + ((x >> 9) & 31)]) *
		    0x9e3779b97f4a7c15ull;
	}
	floor_sink += x;
	return (double)(bench_now_ns() - t0) / (double)steps;
}

static void rand_load_floor(const struct rmap_ops *ops, void *m,
			    unsigned long n, uint64_t seed, double lookup_ns,
			    struct bench_result *res)
{
	struct floor_shape sh;
	uint64_t *buf;
	size_t len, bytes;
	double floor_ns;

	if (!ops->height || !floor_shape_of(n, &sh))
		return;
	/* the chase only stands for this tree if the shape is the tree's */
	BENCH_CHECK(res, ops->height(m) == sh.height,
		    "floor: the tree's height is not the packed shape's");
	/* (RCU mode may hold back one batch of replaced nodes, up to 26) */
	bytes = ops->bytes(m);
	BENCH_CHECK(res, bytes >= sh.blocks * 256 &&
			 bytes <= (sh.blocks + 26) * 256,
		    "floor: the tree's nodes are not the packed shape's");
	if (res->failed)
		return;
	len = sh.blocks * 256;
	buf = aligned_alloc(256, len);
	if (!buf)
		return;
	/* zeros: the loads add nothing to the hash, but the CPU cannot know */
	memset(buf, 0, len);
	floor_ns = floor_chase(buf, &sh, 0, sh.height - 1, n, seed);
	res->aux_label[0] = "height";
	res->aux[0] = sh.height;
	res->aux_label[1] = "lines/lookup";
	res->aux[1] = 3.0 * sh.height;
	res->aux_label[2] = "floor ns";
	res->aux[2] = floor_ns;
	res->aux_label[3] = "lookup/floor";
	res->aux[3] = lookup_ns / floor_ns;
	res->aux_label[4] = "ns/miss";
	res->aux[4] = floor_chain(buf, sh.blocks, n);
	{
		size_t len_note = (size_t)snprintf(res->note, sizeof(res->note),
						   "ns/level, root first:");

		for (unsigned int l = 0; l < sh.height; l++)
			len_note += (size_t)snprintf(
				res->note + len_note,
				sizeof(res->note) - len_note, " %.1f",
				floor_chase(buf, &sh, l, l, n, seed));
	}
	free(buf);
}

static void w_rand_load(const struct rmap_ops *ops, unsigned long n,
			uint64_t seed, struct bench_result *res)
{
	struct prng rng = { seed };
	void *m = seq_map(ops, n);
	unsigned long bad = 0;
	struct cpu_mark cpu;
	uint64_t t0, t1;

	cpu_begin(ops, m, &cpu);
	t0 = bench_timed_begin();
	for (unsigned long k = 0; k < n; k++) {
		unsigned long r = prng_below(&rng, n), o = prng_below(&rng, 10);
		unsigned long v = ops->load(m, 10 * r + o);

		bad += v != (o <= 5 ? r + 1 : 0);
	}
	t1 = bench_timed_end();
	timed(res, t0, t1, n);
	cpu_end(ops, m, &cpu, res);
	BENCH_CHECK(res, bad == 0, "lookup returned a wrong value");
	rand_load_floor(ops, m, n, seed, res->ns_per_op, res);
	ops->destroy(m);
}

static void iterate_with(unsigned long (*iterate)(void *, unsigned long *),
			 const struct rmap_ops *ops, unsigned long n,
			 struct bench_result *res)
{
	void *m = seq_map(ops, n);
	unsigned long sum = 0, count;
	struct cpu_mark cpu;
	uint64_t t0, t1;

	cpu_begin(ops, m, &cpu);
	t0 = bench_timed_begin();
	count = iterate(m, &sum);
	t1 = bench_timed_end();
	timed(res, t0, t1, n);
	cpu_end(ops, m, &cpu, res);
	BENCH_CHECK(res, count == n && sum == n * (n + 1) / 2,
		    "iteration missed or repeated entries");
	report_layout(ops, m, res);
	ops->destroy(m);
}

static void w_iterate(const struct rmap_ops *ops, unsigned long n,
		      uint64_t seed, struct bench_result *res)
{
	(void)seed;
	iterate_with(ops->iterate, ops, n, res);
}

static void w_iterate_simple(const struct rmap_ops *ops, unsigned long n,
			     uint64_t seed, struct bench_result *res)
{
	(void)seed;
	iterate_with(ops->iterate_simple ? ops->iterate_simple : ops->iterate,
		     ops, n, res);
}

static void w_rand_erase(const struct rmap_ops *ops, unsigned long n,
			 uint64_t seed, struct bench_result *res)
{
	struct prng rng = { seed };
	unsigned long *p = permutation(n, &rng);
	void *m = seq_map(ops, n);
	unsigned long bad = 0, sum = 0;
	struct cpu_mark cpu;
	uint64_t t0, t1;

	cpu_begin(ops, m, &cpu);
	t0 = bench_timed_begin();
	for (unsigned long k = 0; k < n; k++)
		bad += ops->erase(m, 10 * p[k]) != p[k] + 1;
	t1 = bench_timed_end();
	timed(res, t0, t1, n);
	cpu_end(ops, m, &cpu, res);
	BENCH_CHECK(res, bad == 0, "erase returned a wrong value");
	BENCH_CHECK(res, ops->iterate(m, &sum) == 0, "entries left after erase");
	ops->destroy(m);
	free(p);
}

#define ALLOC_SPACE_MAX ((1ul << 40) - 1)

static void w_alloc_range(const struct rmap_ops *ops, unsigned long n,
			  uint64_t seed, struct bench_result *res)
{
	struct prng rng = { seed };
	unsigned long *start = malloc(n * sizeof(*start));
	unsigned long *value = malloc(n * sizeof(*value));
	unsigned long next_value = 1, fails = 0, bad = 0, count;
	void *m = ops->create(true);
	struct cpu_mark cpu;
	uint64_t t0, t1;

	cpu_begin(ops, m, &cpu);
	t0 = bench_timed_begin();
	for (unsigned long i = 0; i < n; i++) {
		unsigned long size = 1 + prng_below(&rng, 16);

		value[i] = next_value++;
		fails += !ops->alloc_range(m, size, 0, ALLOC_SPACE_MAX,
					   value[i], &start[i]);
	}
	for (unsigned long r = 0; r < n / 2; r++) {
		unsigned long k = prng_below(&rng, n);
		unsigned long size = 1 + prng_below(&rng, 16);

		bad += ops->erase(m, start[k]) != value[k];
		value[k] = next_value++;
		fails += !ops->alloc_range(m, size, 0, ALLOC_SPACE_MAX,
					   value[k], &start[k]);
	}
	t1 = bench_timed_end();
	timed(res, t0, t1, n + n);
	cpu_end(ops, m, &cpu, res);
	BENCH_CHECK(res, fails == 0, "an allocation failed");
	BENCH_CHECK(res, bad == 0, "erase returned a wrong value");
	for (unsigned long i = 0; i < n; i++)
		bad += ops->load(m, start[i]) != value[i];
	BENCH_CHECK(res, bad == 0, "allocations overlap");
	{
		unsigned long sum = 0;

		count = ops->iterate(m, &sum);
	}
	BENCH_CHECK(res, count == n, "wrong number of live allocations");
	ops->destroy(m);
	free(start);
	free(value);
}

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}

static void w_empty_area_rev(const struct rmap_ops *ops, unsigned long n,
			     uint64_t seed, struct bench_result *res)
{
	struct prng rng = { seed };
	unsigned long *place = malloc(n * sizeof(*place));
	unsigned long *found = malloc(n * sizeof(*found));
	unsigned long *size = malloc(n * sizeof(*size));
	unsigned long *limit = malloc(n * sizeof(*limit));
	unsigned long count = 0, fails = 0, bad = 0;
	void *m = ops->create(true);
	struct cpu_mark cpu;
	uint64_t t0, t1;

	/* N distinct 4-aligned places in [0, 2^32), stored in random order */
	for (unsigned long i = 0; i < n; i++)
		place[i] = prng_below(&rng, 1ul << 30) * 4;
	qsort(place, n, sizeof(*place), cmp_ulong);
	for (unsigned long i = 0; i < n; i++)
		if (i == 0 || place[i] != place[i - 1])
			place[count++] = place[i];
	for (unsigned long i = count; i > 1; i--) {
		unsigned long j = prng_below(&rng, i), t = place[i - 1];

		place[i - 1] = place[j];
		place[j] = t;
	}
	for (unsigned long i = 0; i < count; i++)
		ops->store(m, place[i], place[i] + 3, i + 1);
	settle(ops, m);
	for (unsigned long i = 0; i < n; i++) {
		size[i] = 1 + prng_below(&rng, 64);
		limit[i] = (1ul << 31) + prng_below(&rng, 1ul << 31);
	}

	cpu_begin(ops, m, &cpu);
	t0 = bench_timed_begin();
	for (unsigned long i = 0; i < n; i++)
		fails += !ops->empty_area_rev(m, 0, limit[i], size[i],
					      &found[i]);
	t1 = bench_timed_end();
	timed(res, t0, t1, n);
	cpu_end(ops, m, &cpu, res);
	BENCH_CHECK(res, fails == 0, "a search found no gap");
	for (unsigned long i = 0; i < n; i++) {
		unsigned long last = found[i] + size[i] - 1;

		bad += last > limit[i] || ops->load(m, found[i]) ||
		       ops->load(m, last) ||
		       /* the highest: the index just above is taken or
			* past the limit */
		       (last < limit[i] && !ops->load(m, last + 1));
	}
	BENCH_CHECK(res, bad == 0, "a gap found was not free or not highest");
	ops->destroy(m);
	free(place);
	free(found);
	free(size);
	free(limit);
}

static void w_mem(const struct rmap_ops *ops, unsigned long n, uint64_t seed,
		  struct bench_result *res)
{
	(void)seed;
	seq_store(ops, n, res, true);
	res->ns_per_op = -1;
}

static void w_mem_shuffled(const struct rmap_ops *ops, unsigned long n,
			   uint64_t seed, struct bench_result *res)
{
	rand_insert(ops, n, seed, res, true);
	res->ns_per_op = -1;
}

const struct workload m_workloads[] = {
	{ "M-seq-store", "op", false, w_seq_store },
	{ "M-rand-insert", "op", false, w_rand_insert },
	{ "M-rand-load", "op", false, w_rand_load },
	{ "M-iterate", "entry", false, w_iterate },
	{ "M-iterate-simple", "entry", false, w_iterate_simple },
	{ "M-rand-erase", "op", false, w_rand_erase },
	{ "M-alloc-range", "op", true, w_alloc_range },
	{ "M-empty-area-rev", "op", false, w_empty_area_rev },
	{ "M-mem", "entry", false, w_mem },
	{ "M-mem-shuffled", "entry", false, w_mem_shuffled },
};
const size_t m_workload_count = sizeof(m_workloads) / sizeof(m_workloads[0]);

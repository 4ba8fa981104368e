/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * workloads_m.c - the maple tree (M) workloads of WORKLOADS.md.
 *
 * Range i is [10i, 10i + 5] with value i + 1 (values are nonzero so that 0
 * can mean "none").  Random streams come from splitmix64 seeded with the
 * run's seed.  Every timed loop's results are checked, inside the loop
 * when the check is part of the work (a lookup), after it otherwise.
 */
#include <stdio.h>
#include <stdlib.h>

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

static void *seq_map(const struct rmap_ops *ops, unsigned long n)
{
	void *m = ops->create(false);

	for (unsigned long i = 0; i < n; i++)
		ops->store(m, 10 * i, 10 * i + 5, i + 1);
	return m;
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

static void w_seq_store(const struct rmap_ops *ops, unsigned long n,
			uint64_t seed, struct bench_result *res)
{
	size_t heap0 = bench_heap_in_use();
	void *m = ops->create(false);
	uint64_t t0, t1;

	(void)seed;
	t0 = bench_timed_begin();
	for (unsigned long i = 0; i < n; i++)
		ops->store(m, 10 * i, 10 * i + 5, i + 1);
	t1 = bench_timed_end();
	timed(res, t0, t1, n);
	res->bytes_per_entry = (double)map_bytes(ops, m, heap0) / (double)n;
	check_seq_contents(ops, m, n, res);
	ops->destroy(m);
}

static void w_rand_insert(const struct rmap_ops *ops, unsigned long n,
			  uint64_t seed, struct bench_result *res)
{
	struct prng rng = { seed };
	unsigned long *p = permutation(n, &rng);
	size_t heap0 = bench_heap_in_use();
	void *m = ops->create(false);
	void (*insert)(void *, unsigned long, unsigned long, unsigned long) =
		ops->insert ? ops->insert : ops->store;
	uint64_t t0, t1;

	t0 = bench_timed_begin();
	for (unsigned long k = 0; k < n; k++)
		insert(m, 10 * p[k], 10 * p[k] + 5, p[k] + 1);
	t1 = bench_timed_end();
	timed(res, t0, t1, n);
	res->bytes_per_entry = (double)map_bytes(ops, m, heap0) / (double)n;
	check_seq_contents(ops, m, n, res);
	ops->destroy(m);
	free(p);
}

static void w_rand_load(const struct rmap_ops *ops, unsigned long n,
			uint64_t seed, struct bench_result *res)
{
	struct prng rng = { seed };
	void *m = seq_map(ops, n);
	unsigned long bad = 0;
	uint64_t t0, t1;

	t0 = bench_timed_begin();
	for (unsigned long k = 0; k < n; k++) {
		unsigned long r = prng_below(&rng, n), o = prng_below(&rng, 10);
		unsigned long v = ops->load(m, 10 * r + o);

		bad += v != (o <= 5 ? r + 1 : 0);
	}
	t1 = bench_timed_end();
	timed(res, t0, t1, n);
	BENCH_CHECK(res, bad == 0, "lookup returned a wrong value");
	ops->destroy(m);
}

static void iterate_with(unsigned long (*iterate)(void *, unsigned long *),
			 const struct rmap_ops *ops, unsigned long n,
			 struct bench_result *res)
{
	void *m = seq_map(ops, n);
	unsigned long sum = 0, count;
	uint64_t t0, t1;

	t0 = bench_timed_begin();
	count = iterate(m, &sum);
	t1 = bench_timed_end();
	timed(res, t0, t1, n);
	BENCH_CHECK(res, count == n && sum == n * (n + 1) / 2,
		    "iteration missed or repeated entries");
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
	uint64_t t0, t1;

	t0 = bench_timed_begin();
	for (unsigned long k = 0; k < n; k++)
		bad += ops->erase(m, 10 * p[k]) != p[k] + 1;
	t1 = bench_timed_end();
	timed(res, t0, t1, n);
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
	uint64_t t0, t1;

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
	for (unsigned long i = 0; i < n; i++) {
		size[i] = 1 + prng_below(&rng, 64);
		limit[i] = (1ul << 31) + prng_below(&rng, 1ul << 31);
	}

	t0 = bench_timed_begin();
	for (unsigned long i = 0; i < n; i++)
		fails += !ops->empty_area_rev(m, 0, limit[i], size[i],
					      &found[i]);
	t1 = bench_timed_end();
	timed(res, t0, t1, n);
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
	w_seq_store(ops, n, seed, res);
	res->ns_per_op = -1;
}

static void w_mem_shuffled(const struct rmap_ops *ops, unsigned long n,
			   uint64_t seed, struct bench_result *res)
{
	w_rand_insert(ops, n, seed, res);
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * bench.h - the benchmark harness: implementations of a range map behind
 * one interface, and the workloads of bench/README.md run on them.
 */
#ifndef LIBIOVA_BENCH_H
#define LIBIOVA_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libiova/iova_deferral.h>

/*
 * Where a tree's leaves lie, taken in key order (our tree only): how far
 * each leaf is from the one before it.  A tree whose leaves were handed
 * out in key order has them one node apart, and an in-order walk then
 * reads memory upwards, a stream the hardware prefetchers follow.
 */
struct rmap_layout {
	unsigned long nodes;    /* live nodes, internal ones included */
	unsigned long leaves;
	unsigned long reserved; /* node memory the allocator holds, in nodes */
	double next_pct;        /* % of leaves one node above the previous */
	unsigned long pages;    /* distinct 4 KiB pages holding leaves */
	double median_dist;     /* median distance to the previous, in nodes */
};

/*
 * A map of non-overlapping ranges to values, the way each library is used
 * for ranges: ours natively; the ordered maps keyed by a range's first
 * index with its last index in the value, looked up by predecessor.
 * Values are nonzero.
 */
struct rmap_ops {
	const char *name;
	bool baseline;
	/* @alloc_tree: the map will serve alloc_range / empty_area_rev */
	void *(*create)(bool alloc_tree);
	void (*destroy)(void *m);
	/* store [first, last] (not overlapping anything) */
	void (*store)(void *m, unsigned long first, unsigned long last,
		      unsigned long value);
	/* insert-only store where the library has one; NULL: store */
	void (*insert)(void *m, unsigned long first, unsigned long last,
		       unsigned long value);
	/* the value of the range holding @index, 0 if none */
	unsigned long (*load)(void *m, unsigned long index);
	/* visit every range in order; returns how many, adds values to *sum */
	unsigned long (*iterate)(void *m, unsigned long *sum);
	/* the same through the library's simplest iterator, if it differs */
	unsigned long (*iterate_simple)(void *m, unsigned long *sum);
	/* erase the range starting at @first; returns its value */
	unsigned long (*erase)(void *m, unsigned long first);
	/* store @value in the lowest free [s, s + size - 1] within
	 * [min, max]; false if none.  The baselines search linearly. */
	bool (*alloc_range)(void *m, unsigned long size, unsigned long min,
			    unsigned long max, unsigned long value,
			    unsigned long *start);
	/* the highest free [s, s + size - 1] within [min, max] */
	bool (*empty_area_rev)(void *m, unsigned long min, unsigned long max,
			       unsigned long size, unsigned long *start);
	/* bytes the map holds (node accounting, or counted allocations) */
	size_t (*bytes)(void *m);
	/* linear hole searches: at most this many entries, 0 for no cap */
	unsigned long search_cap;
	/* levels of nodes a lookup walks (our tree only; NULL elsewhere):
	 * M-rand-load's floor is built from it */
	unsigned int (*height)(void *m);
	/* finish what the map deferred (RCU mode: wait for the grace periods
	 * of the nodes it replaced, and their frees), so that a timed part
	 * after an untimed setup runs none of the setup's work; NULL: the
	 * map defers nothing */
	void (*settle)(void *m);
	/* where the leaves lie (our tree only; NULL elsewhere), after
	 * settle; false if it could not be measured */
	bool (*layout)(void *m, struct rmap_layout *l);
	/* nodes handed out to the map so far (our tree only; NULL
	 * elsewhere): node copies per write */
	uint64_t (*node_allocs)(void *m);
	/* the same library in another mode: the name of the row to report
	 * a ratio against (maple-rcu against maple), NULL for none */
	const char *variant_of;
};

/*
 * The baselines are plain ordered maps.  Each exposes a cursor over its
 * ranges in key order; omap.c builds load, iteration and the linear
 * free-space searches on it, so every baseline searches the same way.
 * A baseline's map object starts with struct omap_head.
 */
struct omap_cursor {
	bool valid;
	unsigned long first, last, value;
	void *pos; /* the library's node, where it has one */
};

struct omap_cursor_ops {
	/* the range with the greatest first index <= @index */
	void (*pred)(void *m, unsigned long index, struct omap_cursor *c);
	void (*first)(void *m, struct omap_cursor *c);
	void (*next)(void *m, struct omap_cursor *c);
	void (*prev)(void *m, struct omap_cursor *c);
};

struct omap_head {
	const struct omap_cursor_ops *cursor;
	void (*store)(void *m, unsigned long first, unsigned long last,
		      unsigned long value);
};

unsigned long omap_load(void *m, unsigned long index);
unsigned long omap_iterate(void *m, unsigned long *sum);
bool omap_alloc_range(void *m, unsigned long size, unsigned long min,
		      unsigned long max, unsigned long value,
		      unsigned long *start);
bool omap_empty_area_rev(void *m, unsigned long min, unsigned long max,
			 unsigned long size, unsigned long *start);

extern const struct rmap_ops rmap_maple;
extern const struct rmap_ops rmap_maple_rcu;
extern const struct rmap_ops rmap_gtree;
extern const struct rmap_ops rmap_rbtree;
extern const struct rmap_ops rmap_judy;

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * The start and end of a timed part.  Under callgrind started with
 * --collect-atstart=no (tools/bench-callgrind) exactly the timed parts are
 * counted; elsewhere the client requests cost a few instructions.
 */
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define BENCH_TOGGLE_COLLECT() CALLGRIND_TOGGLE_COLLECT
#else
#define BENCH_TOGGLE_COLLECT() ((void)0)
#endif

static inline uint64_t bench_timed_begin(void)
{
	BENCH_TOGGLE_COLLECT();
	return bench_now_ns();
}

static inline uint64_t bench_timed_end(void)
{
	uint64_t t = bench_now_ns();

	BENCH_TOGGLE_COLLECT();
	return t;
}

/* CPU time of the whole process or of the calling thread, in ns. */
static inline uint64_t bench_cpu_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* qsort comparison of doubles (medians of repetitions). */
static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* @size rounded up to a power of two (the size-alignment rule). */
static inline unsigned long bench_pow2_at_least(unsigned long size)
{
	return size <= 1 ? 1 : 1ul << (64 - __builtin_clzl(size - 1));
}

/* Bytes malloc has handed out now (for baselines' memory). */
size_t bench_heap_in_use(void);

#define BENCH_AUX_MAX 9

/* One measurement of one workload on one implementation. */
struct bench_result {
	double ns_per_op;       /* time of the timed part / its operations */
	uint64_t ops;           /* operations in the timed part (M workloads) */
	/* further figures, each reported as the median of the repetitions
	 * with its label (I-threads: the 2-thread throughput ratio, and that
	 * of a same-process baseline); label NULL for none */
	double aux[BENCH_AUX_MAX];
	const char *aux_label[BENCH_AUX_MAX];
	double bytes_per_entry; /* < 0 when not measured */
	unsigned long n;        /* entries actually used (after a cap) */
	bool capped;
	bool failed;            /* a result check failed */
	char note[160];
};

struct workload {
	const char *name;
	const char *unit; /* "op" or "entry" */
	bool linear_search; /* baselines search linearly: cap their N */
	void (*run)(const struct rmap_ops *ops, unsigned long n, uint64_t seed,
		    struct bench_result *res);
};

extern const struct workload m_workloads[];
extern const size_t m_workload_count;

/*
 * An IOVA allocator behind one interface, in pfns of 4 KiB granules with
 * the first usable pfn 1, allocating top-down from an inclusive limit
 * (the kernel's semantics, which the I workloads are defined by).
 */
struct iova_impl {
	const char *name;
	bool baseline;
	/* a baseline's hole search is linear: timed rounds capped at this */
	unsigned long round_cap;
	/* @fast: the run uses alloc_fast/free_fast (set up the caches) */
	void *(*create)(bool fast);
	void (*destroy)(void *d);
	/* the highest free range of @size pfns at or below @limit, aligned
	 * to @size rounded up to a power of two if @size_aligned; 0 if none */
	unsigned long (*alloc)(void *d, unsigned long size, unsigned long limit,
			       bool size_aligned);
	void (*free)(void *d, unsigned long pfn);
	/* place [pfn, pfn + size - 1] without a search: how a baseline gets
	 * the state a workload's setup allocations produced; NULL for ours,
	 * whose setup runs through alloc and is checked */
	void (*place)(void *d, unsigned long pfn, unsigned long size);
	/* the size-cache path (alloc_iova_fast); NULL if there is none */
	unsigned long (*alloc_fast)(void *d, unsigned long size,
				    unsigned long limit);
	void (*free_fast)(void *d, unsigned long pfn, unsigned long size);
	/* allocations live in the allocator now (cached ones included) */
	unsigned long (*count)(void *d);
	/* bytes the allocator holds for its allocations */
	size_t (*bytes)(void *d);
	/* for I-deferred, where there is a deferred erase (else NULL): a
	 * domain whose node allocations can be made to fail; failing every
	 * non-blocking one or none; the deferral counters */
	void *(*create_faulty)(void);
	void (*fail_nonblocking)(void *d, bool fail);
	void (*deferral)(void *d, struct iova_deferral_stats *st);
	/* another API over the same allocator: the name of the row to report
	 * a ratio against, in the workloads that ask for it (space against
	 * libiova), NULL for none */
	const char *variant_of;
};

extern const struct iova_impl iova_kernel_api;
extern const struct iova_impl iova_space_api;
extern const struct iova_impl iova_gtree_first_fit;

/* One I workload: @n is its live-IOVA count (scaled down by --quick). */
struct iova_workload {
	const char *name;
	const char *unit;
	unsigned long n;
	/* runs through alloc_fast/free_fast: only where they exist */
	bool fast;
	/* needs the deferred-erase hooks: only where they exist */
	bool deferral;
	void (*run)(const struct iova_workload *w, const struct iova_impl *impl,
		    unsigned long n, uint64_t seed, struct bench_result *res);
	/* an impl's row carries its ratio against its variant_of's row */
	bool variant_ratio;
};

extern const struct iova_workload i_workloads[];
extern const size_t i_workload_count;

/* Fail the measurement if @cond is false (results are always checked). */
#define BENCH_CHECK(res, cond, what)                                         \
	do {                                                                  \
		if (!(cond) && !(res)->failed) {                              \
			(res)->failed = true;                                 \
			snprintf((res)->note, sizeof((res)->note), "%s",      \
				 what);                                       \
		}                                                             \
	} while (0)

#endif /* LIBIOVA_BENCH_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * node_alloc.c - how long a node allocation takes: the node cache against
 * posix_memalign(256) in the same process, for the patterns trees make:
 * allocate-and-free pairs, and a burst of allocations freed afterwards.
 *
 *   bench-alloc [--n N] [--reps R]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libiova/mt_alloc.h>

#include "bench.h"

struct pattern_result {
	double ns[32];
};

static void *cache_alloc(void *a)
{
	return mt_node_alloc(a, GFP_KERNEL);
}

static void cache_free(void *a, void *p)
{
	mt_node_free(a, p);
}

static void *sys_alloc(void *a)
{
	void *p = NULL;

	(void)a;
	return posix_memalign(&p, MT_NODE_SIZE, MT_NODE_SIZE) ? NULL : p;
}

static void sys_free(void *a, void *p)
{
	(void)a;
	free(p);
}

/* ns per allocation+free; @burst nodes held at once. */
static double run(void *(*alloc)(void *), void (*release)(void *, void *),
		  void *a, unsigned long n, unsigned long burst, void **held)
{
	uint64_t t0 = bench_now_ns(), t1;
	unsigned long bad = 0;

	for (unsigned long done = 0; done < n; done += burst) {
		for (unsigned long i = 0; i < burst; i++) {
			held[i] = alloc(a);
			bad += !held[i] || ((uintptr_t)held[i] & (MT_NODE_SIZE - 1));
			/* touch it, as a tree does */
			*(volatile unsigned long *)held[i] = i;
		}
		for (unsigned long i = 0; i < burst; i++)
			release(a, held[i]);
	}
	t1 = bench_now_ns();
	if (bad) {
		fprintf(stderr, "allocation failed or misaligned\n");
		exit(1);
	}
	return (double)(t1 - t0) / (double)n;
}

size_t bench_heap_in_use(void)
{
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "n", required_argument, NULL, 'n' },
		{ "reps", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	static const unsigned long bursts[] = { 1, 64, 4096 };
	unsigned long n = 4000000;
	unsigned int reps = 5;
	struct mt_allocator *cache = mt_node_cache_create(NULL);
	void **held = malloc(4096 * sizeof(*held));
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'n')
			n = strtoul(optarg, NULL, 0);
		else if (c == 'r')
			reps = (unsigned int)strtoul(optarg, NULL, 0);
		else
			return 2;
	}
	if (reps < 1 || reps > 31)
		reps = 5;
	printf("# node allocation + free, ns per node, median of %u (min-max)\n",
	       reps);
	printf("%-8s %-12s %24s %24s %8s\n", "burst", "", "node cache",
	       "posix_memalign", "ratio");
	for (unsigned int b = 0; b < 3; b++) {
		double tc[32], ts[32];

		for (unsigned int r = 0; r < reps; r++) {
			tc[r] = run(cache_alloc, cache_free, cache, n,
				    bursts[b], held);
			ts[r] = run(sys_alloc, sys_free, NULL, n, bursts[b],
				    held);
		}
		qsort(tc, reps, sizeof(double), bench_cmp_double);
		qsort(ts, reps, sizeof(double), bench_cmp_double);
		printf("%-8lu %-12s %10.1f (%5.1f-%5.1f) %10.1f (%5.1f-%5.1f) "
		       "%7.1fx\n",
		       bursts[b], "", tc[reps / 2], tc[0], tc[reps - 1],
		       ts[reps / 2], ts[0], ts[reps - 1],
		       ts[reps / 2] / tc[reps / 2]);
	}
	free(held);
	return mt_allocator_destroy(cache) ? 1 : 0;
}

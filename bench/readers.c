/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * readers.c - RCU lookup throughput: 1 and 2 reader threads calling
 * mtree_load on an N-entry tree in RCU mode (default 1,000,000), alone,
 * next to a busy thread that shares nothing (the baseline below), and
 * next to a writer thread that erases and stores ranges back
 * continuously.  Prints lookups per second (medians of the repetitions,
 * the three cases alternating) and the share readers keep while the
 * writer runs.
 *
 *   bench-readers [--n N] [--seconds S] [--reps R] [--seed S]
 *
 * Every lookup is checked (range i is [10i, 10i + 5] with value i + 1; a
 * lookup at an index the writer is rewriting may find it erased, never a
 * wrong value).  On a 2-core machine, 2 readers and a writer are 3
 * threads on 2 CPUs: the readers then lose CPU time, not only cache, and
 * can keep at most 2/3 of their rate.  So each reader also measures its
 * own CPU time, and the lookups per reader CPU-second are printed beside
 * the wall-clock rates.
 *
 * A baseline in the same process: the readers next to a thread that only
 * spins on a 256 KiB buffer of its own (no tree, no memory traffic beyond
 * its core).  On a VM whose vCPUs share physical cores, a busy neighbour
 * alone slows a reader (25% here); the share kept against that baseline
 * is what the writer itself costs, through cache misses, dead nodes and
 * grace periods.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libiova/maple_tree.h>
#include <urcu/urcu-memb.h>

#include "bench.h"
#include "prng.h"

#define MAX_REPS 15

static struct maple_tree tree;
static unsigned long n = 1000000;
static atomic_bool stop;
static atomic_ulong wrong;

struct reader {
	pthread_t tid;
	uint64_t seed;
	unsigned long loads;
	uint64_t cpu_ns; /* this reader's CPU time over the run */
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *reader_main(void *p)
{
	struct reader *r = p;
	struct prng rng = { r->seed };
	unsigned long loads = 0, bad = 0;
	uint64_t cpu0 = thread_cpu_ns();

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int k = 0; k < 64; k++) {
			unsigned long i = prng_below(&rng, n);
			void *e = mtree_load(&tree, 10 * i + (unsigned long)k % 6);

			bad += e && xa_to_value(e) != i + 1;
		}
		loads += 64;
	}
	r->loads = loads;
	r->cpu_ns = thread_cpu_ns() - cpu0;
	atomic_fetch_add(&wrong, bad);
	return NULL;
}

/* The baseline neighbour: busy, but touching nothing shared. */
static void *spinner_main(void *p)
{
	struct prng rng = { *(uint64_t *)p };
	const size_t lines = (256u << 10) / 64;
	char *buf = calloc(lines, 64);

	if (!buf)
		return NULL;
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		for (int k = 0; k < 64; k++)
			buf[prng_below(&rng, lines) * 64]++;
	free(buf);
	return NULL;
}

static void *writer_main(void *p)
{
	struct prng rng = { *(uint64_t *)p };

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned long i = prng_below(&rng, n);

		mtree_erase(&tree, 10 * i);
		mtree_store_range(&tree, 10 * i, 10 * i + 5, xa_mk_value(i + 1),
				  GFP_KERNEL);
	}
	return NULL;
}

enum neighbour { NONE, SPINNER, WRITER, NR_NEIGHBOURS };

/* Lookups per second of @nr readers over @seconds next to @nb;
 * *@per_cpu: lookups per reader CPU-second. */
static double run(unsigned int nr, enum neighbour nb, double seconds,
		  uint64_t seed, double *per_cpu)
{
	struct reader r[2];
	pthread_t w;
	uint64_t t0, t1, wseed = seed ^ 0x5eed;
	unsigned long loads = 0;
	uint64_t cpu_ns = 0;

	atomic_store(&stop, false);
	for (unsigned int i = 0; i < nr; i++) {
		r[i] = (struct reader){ .seed = seed + i };
		pthread_create(&r[i].tid, NULL, reader_main, &r[i]);
	}
	if (nb != NONE)
		pthread_create(&w, NULL, nb == WRITER ? writer_main : spinner_main,
			       &wseed);
	t0 = bench_now_ns();
	nanosleep(&(struct timespec){ (time_t)seconds,
				      (long)((seconds - (double)(time_t)seconds) *
					     1e9) }, NULL);
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < nr; i++) {
		pthread_join(r[i].tid, NULL);
		loads += r[i].loads;
		cpu_ns += r[i].cpu_ns;
	}
	*per_cpu = (double)loads / ((double)cpu_ns / 1e9);
	t1 = bench_now_ns();
	if (nb != NONE)
		pthread_join(w, NULL);
	return (double)loads / ((double)(t1 - t0) / 1e9);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "n", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 't' },
		{ "reps", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	double seconds = 1.0, res[2][NR_NEIGHBOURS][MAX_REPS],
	       cpu[2][NR_NEIGHBOURS][MAX_REPS], med[2][NR_NEIGHBOURS],
	       cmed[2][NR_NEIGHBOURS];
	unsigned int reps = 3;
	uint64_t seed = 1;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = strtoul(optarg, NULL, 0);
			break;
		case 't':
			seconds = strtod(optarg, NULL);
			break;
		case 'r':
			reps = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: bench-readers [--n N] "
					"[--seconds S] [--reps R] [--seed S]\n");
			return 2;
		}
	}
	if (!n || reps < 1 || reps > MAX_REPS || seconds <= 0) {
		fprintf(stderr, "bench-readers: bad arguments\n");
		return 2;
	}
	mt_init_flags(&tree, MT_FLAGS_USE_RCU);
	for (unsigned long i = 0; i < n; i++)
		mtree_store_range(&tree, 10 * i, 10 * i + 5, xa_mk_value(i + 1),
				  GFP_KERNEL);
	/* alternating, so a slow phase of the machine hits every case */
	for (unsigned int r = 0; r < reps; r++)
		for (unsigned int k = 0; k < 2; k++)
			for (unsigned int nb = 0; nb < NR_NEIGHBOURS; nb++)
				res[k][nb][r] = run(k + 1, nb, seconds,
						    seed + r, &cpu[k][nb][r]);
	for (unsigned int k = 0; k < 2; k++) {
		for (unsigned int nb = 0; nb < NR_NEIGHBOURS; nb++) {
			qsort(res[k][nb], reps, sizeof(double),
			      bench_cmp_double);
			qsort(cpu[k][nb], reps, sizeof(double),
			      bench_cmp_double);
			med[k][nb] = res[k][nb][reps / 2];
			cmed[k][nb] = cpu[k][nb][reps / 2];
		}
	}
	printf("# RCU lookups, %lu entries, %.1f s per run, median of %u\n",
	       n, seconds, reps);
	printf("# lookups per second (all readers); kept: with the writer "
	       "against no neighbour,\n# and against the busy neighbour "
	       "baseline; per reader CPU-second alike\n");
	printf("%-7s %12s %12s %12s %7s %8s %12s %12s %7s\n", "readers",
	       "alone", "spinner", "writer", "kept", "vs spin", "alone/cpu-s",
	       "writer/cpu-s", "kept");
	for (unsigned int k = 0; k < 2; k++)
		printf("%-7u %12.0f %12.0f %12.0f %6.1f%% %7.1f%% %12.0f "
		       "%12.0f %6.1f%%\n",
		       k + 1, med[k][NONE], med[k][SPINNER], med[k][WRITER],
		       100.0 * med[k][WRITER] / med[k][NONE],
		       100.0 * med[k][WRITER] / med[k][SPINNER],
		       cmed[k][NONE], cmed[k][WRITER],
		       100.0 * cmed[k][WRITER] / cmed[k][NONE]);
	mtree_destroy(&tree);
	urcu_memb_barrier();
	if (atomic_load(&wrong)) {
		printf("RESULT CHECK FAILED: %lu wrong lookups\n",
		       atomic_load(&wrong));
		return 1;
	}
	return 0;
}

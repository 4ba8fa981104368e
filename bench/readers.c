/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * readers.c - RCU lookup throughput: 1 and 2 reader threads calling
 * mtree_load on an N-entry tree in RCU mode (default 1,000,000), once
 * with no writer and once with a writer thread that erases and stores
 * ranges back continuously.  Prints lookups per second (median of the
 * repetitions) and the share readers keep while the writer runs.
 *
 *   bench-readers [--n N] [--seconds S] [--reps R] [--seed S]
 *
 * Every lookup is checked (range i is [10i, 10i + 5] with value i + 1; a
 * lookup at an index the writer is rewriting may find it erased, never a
 * wrong value).  On a 2-core machine, 2 readers and a writer are 3
 * threads on 2 CPUs: the readers then lose CPU time, not only cache.
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
};

static void *reader_main(void *p)
{
	struct reader *r = p;
	struct prng rng = { r->seed };
	unsigned long loads = 0, bad = 0;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int k = 0; k < 64; k++) {
			unsigned long i = prng_below(&rng, n);
			void *e = mtree_load(&tree, 10 * i + (unsigned long)k % 6);

			bad += e && xa_to_value(e) != i + 1;
		}
		loads += 64;
	}
	r->loads = loads;
	atomic_fetch_add(&wrong, bad);
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

/* Lookups per second of @nr readers over @seconds, with or without a
 * writer. */
static double run(unsigned int nr, bool writer, double seconds, uint64_t seed)
{
	struct reader r[2];
	pthread_t w;
	uint64_t t0, t1, wseed = seed ^ 0x5eed;
	unsigned long loads = 0;

	atomic_store(&stop, false);
	for (unsigned int i = 0; i < nr; i++) {
		r[i] = (struct reader){ .seed = seed + i };
		pthread_create(&r[i].tid, NULL, reader_main, &r[i]);
	}
	if (writer)
		pthread_create(&w, NULL, writer_main, &wseed);
	t0 = bench_now_ns();
	nanosleep(&(struct timespec){ (time_t)seconds,
				      (long)((seconds - (double)(time_t)seconds) *
					     1e9) }, NULL);
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < nr; i++) {
		pthread_join(r[i].tid, NULL);
		loads += r[i].loads;
	}
	t1 = bench_now_ns();
	if (writer)
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
	double seconds = 1.0, res[4][MAX_REPS], med[4];
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
	for (unsigned int r = 0; r < reps; r++)
		for (unsigned int k = 0; k < 4; k++)
			res[k][r] = run(1 + k / 2, k % 2, seconds, seed + r);
	for (unsigned int k = 0; k < 4; k++) {
		qsort(res[k], reps, sizeof(double), bench_cmp_double);
		med[k] = res[k][reps / 2];
	}
	printf("# RCU lookups, %lu entries, %.1f s per run, median of %u\n",
	       n, seconds, reps);
	printf("%-8s %16s %16s %12s\n", "readers", "no writer (/s)",
	       "writer (/s)", "kept");
	for (unsigned int k = 0; k < 4; k += 2)
		printf("%-8u %16.0f %16.0f %11.1f%%\n", 1 + k / 2, med[k],
		       med[k + 1], 100.0 * med[k + 1] / med[k]);
	mtree_destroy(&tree);
	urcu_memb_barrier();
	if (atomic_load(&wrong)) {
		printf("RESULT CHECK FAILED: %lu wrong lookups\n",
		       atomic_load(&wrong));
		return 1;
	}
	return 0;
}

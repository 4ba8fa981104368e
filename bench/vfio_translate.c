/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio_translate.c - buffer-pointer-to-IOVA translation, the lookup a
 * VFIO driver makes on every I/O: iova_vfio_translate (two RCU-mode maple
 * trees, readers take no lock) against the way drivers do it today, a
 * sorted array of mappings searched under a pthread rwlock taken for
 * reading (libvfn keeps a skiplist under a rwlock; the array is the
 * cheaper of the two to search, so it is the stronger baseline).
 *
 *   bench-vfio [--n N[,N...]] [--threads T[,T...]] [--reps R]
 *              [--lookups L] [--seed S] [--quick]
 *
 * N mappings (default 10,000 and 1,000,000) of 4 KiB every 8 KiB of a
 * made-up virtual range, made through iova_vfio_map against a fake
 * container (an ioctl that accepts every map: no kernel, no memory is
 * touched).  Each of T threads (default 1 and 2) translates L random
 * bytes inside random mappings (its own seeded sequence), all threads
 * started together; the time is the slowest thread's.  The timed loop
 * touches only the implementation under test (addresses are computed,
 * not read from a table): both answer the same sequences, every answer
 * must succeed, and the sums of the IOVAs they return must be equal; a
 * first untimed pass checks every mapping's translation one by one.  The
 * repetitions alternate the two; printed are medians of ns per
 * translation per thread, and the baseline's median over ours.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libiova/iova_vfio.h>

#include "bench.h"
#include "prng.h"

#define MAX_REPS 15
#define MAX_THREADS 8
#define MAX_SIZES 8
#define VA_BASE 0x7f0000000000ull
#define MAP_SIZE 4096u
#define MAP_STRIDE 8192u

/* ---- the fake container ------------------------------------------------ */

static int fake_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	(void)ctx;
	(void)fd;
	if (request == VFIO_IOMMU_GET_INFO) {
		struct {
			struct vfio_iommu_type1_info info;
			struct vfio_iommu_type1_info_cap_iova_range range;
			struct vfio_iova_range r;
			struct vfio_iommu_type1_info_dma_avail avail;
		} *full = arg;
		struct vfio_iommu_type1_info *info = arg;

		info->flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
		info->iova_pgsizes = 4096;
		if (info->argsz < sizeof(*full)) {
			info->argsz = sizeof(*full);
			info->cap_offset = 0;
			return 0;
		}
		info->cap_offset = offsetof(__typeof__(*full), range);
		full->range.header = (struct vfio_info_cap_header){
			VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1,
			offsetof(__typeof__(*full), avail) };
		full->range.nr_iovas = 1;
		full->r = (struct vfio_iova_range){ 4096, (1ull << 48) - 1 };
		full->avail.header = (struct vfio_info_cap_header){
			VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1, 0 };
		full->avail.avail = 1u << 31;
		return 0;
	}
	if (request == VFIO_IOMMU_MAP_DMA || request == VFIO_IOMMU_UNMAP_DMA)
		return 0; /* unmap: the size asked is the size unmapped */
	errno = ENOTTY;
	return -1;
}

/* ---- the baseline: a sorted array under a rwlock ----------------------- */

struct xlate_entry {
	uint64_t vaddr, iova, size;
};

struct sorted_map {
	pthread_rwlock_t lock;
	struct xlate_entry *e; /* by vaddr */
	unsigned long n;
};

/* The IOVA of [va, va + len), or -ENOENT / -ERANGE: what the driver's
 * lookup does, under the read lock. */
static int sorted_translate(struct sorted_map *m, uint64_t va, uint64_t len,
			    uint64_t *iova)
{
	unsigned long lo = 0, hi;
	int err = -ENOENT;

	pthread_rwlock_rdlock(&m->lock);
	hi = m->n;
	while (lo < hi) { /* the first entry above va */
		unsigned long mid = lo + (hi - lo) / 2;

		if (m->e[mid].vaddr <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo) {
		const struct xlate_entry *x = &m->e[lo - 1];

		if (va - x->vaddr < x->size) {
			err = va + len - x->vaddr > x->size ? -ERANGE : 0;
			if (!err)
				*iova = x->iova + (va - x->vaddr);
		}
	}
	pthread_rwlock_unlock(&m->lock);
	return err;
}

/* ---- the run ----------------------------------------------------------- */

struct setup {
	struct iova_vfio *v;
	struct sorted_map sorted;
	unsigned long n;
};

struct worker {
	pthread_t tid;
	struct setup *s;
	bool ours;
	uint64_t seed;
	unsigned long lookups;
	pthread_barrier_t *start;
	uint64_t ns;
	unsigned long failed;
	uint64_t sum; /* of the IOVAs returned */
};

static void *worker_main(void *p)
{
	struct worker *w = p;
	struct prng rng = { w->seed };
	unsigned long failed = 0;
	uint64_t t0, sum = 0;

	pthread_barrier_wait(w->start);
	t0 = bench_now_ns();
	for (unsigned long k = 0; k < w->lookups; k++) {
		unsigned long i = (unsigned long)prng_below(&rng, w->s->n);
		uint64_t off = prng_below(&rng, MAP_SIZE - 64);
		uint64_t va = VA_BASE + (uint64_t)i * MAP_STRIDE + off, iova = 0;
		int err;

		if (w->ours)
			err = iova_vfio_translate(w->s->v,
						  (const void *)(uintptr_t)va,
						  64, &iova);
		else
			err = sorted_translate(&w->s->sorted, va, 64, &iova);
		failed += err != 0;
		sum += iova;
	}
	w->ns = bench_now_ns() - t0;
	w->failed = failed;
	w->sum = sum;
	return NULL;
}

/* ns per translation per thread: the slowest thread's time; *@sum gets
 * the sum of every IOVA returned. */
static double run_once(struct setup *s, bool ours, unsigned int threads,
		       unsigned long lookups, uint64_t seed, uint64_t *sum)
{
	struct worker w[MAX_THREADS];
	pthread_barrier_t start;
	uint64_t slowest = 0;

	*sum = 0;
	pthread_barrier_init(&start, NULL, threads);
	for (unsigned int t = 0; t < threads; t++) {
		w[t] = (struct worker){ .s = s, .ours = ours,
					.seed = seed + t, .lookups = lookups,
					.start = &start };
		if (pthread_create(&w[t].tid, NULL, worker_main, &w[t])) {
			fprintf(stderr, "bench-vfio: pthread_create failed\n");
			exit(1);
		}
	}
	for (unsigned int t = 0; t < threads; t++) {
		pthread_join(w[t].tid, NULL);
		if (w[t].failed) {
			fprintf(stderr, "bench-vfio: %lu failed translations "
				"(%s)\n", w[t].failed, ours ? "libiova" :
				"rwlock-array");
			exit(1);
		}
		*sum += w[t].sum;
		if (w[t].ns > slowest)
			slowest = w[t].ns;
	}
	pthread_barrier_destroy(&start);
	return (double)slowest / (double)lookups;
}

static void setup_create(struct setup *s, unsigned long n)
{
	struct iova_vfio_config cfg = { .container_fd = -1,
					.ioctl = fake_ioctl };
	int err = iova_vfio_open(&cfg, &s->v);

	s->n = n;
	s->sorted.n = n;
	s->sorted.e = calloc(n, sizeof(*s->sorted.e));
	if (err || !s->sorted.e) {
		fprintf(stderr, "bench-vfio: setup failed (%d)\n", err);
		exit(1);
	}
	pthread_rwlock_init(&s->sorted.lock, NULL);
	for (unsigned long i = 0; i < n; i++) {
		struct xlate_entry *x = &s->sorted.e[i];

		x->vaddr = VA_BASE + (uint64_t)i * MAP_STRIDE;
		x->size = MAP_SIZE;
		err = iova_vfio_map(s->v, (void *)(uintptr_t)x->vaddr, MAP_SIZE,
				    0, 0, UINT64_MAX, IOVA_VFIO_READ |
				    IOVA_VFIO_WRITE, &x->iova);
		if (err) {
			fprintf(stderr, "bench-vfio: map %lu: %d\n", i, err);
			exit(1);
		}
	}
	/* every mapping, both ways, before any timing */
	for (unsigned long i = 0; i < n; i++) {
		const struct xlate_entry *x = &s->sorted.e[i];
		uint64_t a = 0, b = 0;

		if (iova_vfio_translate(s->v, (const void *)(uintptr_t)
					(x->vaddr + 100), 1, &a) ||
		    sorted_translate(&s->sorted, x->vaddr + 100, 1, &b) ||
		    a != x->iova + 100 || b != a) {
			fprintf(stderr, "bench-vfio: mapping %lu translates "
				"wrong\n", i);
			exit(1);
		}
	}
}

static void setup_destroy(struct setup *s)
{
	iova_vfio_close(s->v);
	pthread_rwlock_destroy(&s->sorted.lock);
	free(s->sorted.e);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int k)
{
	qsort(v, k, sizeof(*v), cmp_double);
	return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

static unsigned int parse_list(const char *arg, unsigned long *out,
			       unsigned int max)
{
	unsigned int k = 0;
	char *end;

	while (*arg && k < max) {
		out[k++] = strtoul(arg, &end, 0);
		if (*end != ',' && *end)
			break;
		arg = *end ? end + 1 : end;
	}
	return k;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "n", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "reps", required_argument, NULL, 'r' },
		{ "lookups", required_argument, NULL, 'l' },
		{ "seed", required_argument, NULL, 's' },
		{ "quick", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long sizes[MAX_SIZES] = { 10000, 1000000 };
	unsigned long threads[MAX_SIZES] = { 1, 2 };
	unsigned int nr_sizes = 2, nr_threads = 2, reps = 5;
	unsigned long lookups = 2000000;
	uint64_t seed = 1;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			nr_sizes = parse_list(optarg, sizes, MAX_SIZES);
			break;
		case 't':
			nr_threads = parse_list(optarg, threads, MAX_SIZES);
			break;
		case 'r':
			reps = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'l':
			lookups = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'q':
			sizes[0] = 1000;
			nr_sizes = 1;
			lookups = 20000;
			reps = 1;
			break;
		default:
			fprintf(stderr, "usage: bench-vfio [--n N,...] "
				"[--threads T,...] [--reps R] [--lookups L] "
				"[--seed S] [--quick]\n");
			return 2;
		}
	}
	if (!nr_sizes || !nr_threads || !reps || reps > MAX_REPS ||
	    !lookups) {
		fprintf(stderr, "bench-vfio: bad arguments\n");
		return 2;
	}
	for (unsigned int t = 0; t < nr_threads; t++)
		if (!threads[t] || threads[t] > MAX_THREADS) {
			fprintf(stderr, "bench-vfio: 1 to %d threads\n",
				MAX_THREADS);
			return 2;
		}
	printf("# seed %llu, %u reps (alternating), %lu translations per "
	       "thread; ns per translation per thread, medians\n",
	       (unsigned long long)seed, reps, lookups);
	printf("%-14s %9s %7s %10s %12s %7s\n", "workload", "N", "threads",
	       "libiova", "rwlock-array", "ratio");
	for (unsigned int i = 0; i < nr_sizes; i++) {
		struct setup s;

		setup_create(&s, sizes[i]);
		for (unsigned int t = 0; t < nr_threads; t++) {
			double ours[MAX_REPS], base[MAX_REPS], mo, mb;

			for (unsigned int r = 0; r < reps; r++) {
				uint64_t rs = seed + 1000 * r, so, sb;

				ours[r] = run_once(&s, true,
						   (unsigned int)threads[t],
						   lookups, rs, &so);
				base[r] = run_once(&s, false,
						   (unsigned int)threads[t],
						   lookups, rs, &sb);
				if (so != sb) {
					fprintf(stderr, "bench-vfio: the two "
						"disagree\n");
					return 1;
				}
			}
			mo = median(ours, reps);
			mb = median(base, reps);
			printf("%-14s %9lu %7lu %10.1f %12.1f %6.2fx\n",
			       "V-translate", sizes[i], threads[t], mo, mb,
			       mb / mo);
		}
		setup_destroy(&s);
	}
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * main.c - the benchmark program: run workloads by name, for given sizes
 * and a seed, on our library and the baselines; print a table (median of
 * R repetitions with min and max, bytes per entry, and how many times
 * faster than each baseline), optionally JSON.
 *
 *   bench [--workload NAME[,NAME...]|all] [--n N[,N...]] [--seed S]
 *         [--reps R] [--impl NAME[,NAME...]] [--json FILE] [--quick]
 *
 * The M workloads run at every --n; the I workloads at the sizes
 * bench/README.md gives for them (--quick divides those by 50).
 *
 * Our tree runs twice, as "maple" and as "maple-rcu" (RCU mode); the
 * maple-rcu rows add the ratio against the maple row of the same
 * workload and N ("maple 0.80": RCU mode takes 1/0.80 the time).
 * Likewise the "space" rows (the userspace IOVA API) of I-mixed-fast,
 * I-dac-mix-fast, I-threads and I-threads-tree add the ratio against the
 * "libiova" row (the kernel-compatible API) of the same workload.
 * M-rand-load's row on our tree carries the floor of the same process
 * (workloads_m.c): height, cache lines a lookup reads, the time of a
 * dependent-load chase over a buffer shaped like the tree, the lookup's
 * time over it, one miss's time, and in the note the chase's time per
 * level.
 */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define MAX_REPS 32
#define MAX_SIZES 8

static const struct rmap_ops *const impls[] = {
	&rmap_maple, &rmap_maple_rcu, &rmap_gtree, &rmap_rbtree, &rmap_judy,
};
#define NR_IMPLS (sizeof(impls) / sizeof(impls[0]))

static const struct iova_impl *const iova_impls[] = {
	&iova_kernel_api, &iova_space_api, &iova_gtree_first_fit,
};
#define NR_IOVA_IMPLS (sizeof(iova_impls) / sizeof(iova_impls[0]))
#define QUICK_DIVISOR 50

/* One workload on one implementation: an M or an I pairing. */
struct job {
	const struct workload *m;
	const struct rmap_ops *ops;
	const struct iova_workload *i;
	const struct iova_impl *impl;
};

size_t bench_heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

struct row {
	const char *workload;
	const char *unit;
	unsigned long n;
	const char *impl;
	const char *variant_of; /* report a ratio against this impl's row */
	bool baseline;
	double median, min, max;
	double bytes;
	uint64_t ops;
	double aux[BENCH_AUX_MAX]; /* medians of the repetitions' aux */
	const char *aux_label[BENCH_AUX_MAX];
	bool capped, failed;
	char note[160];
};

static bool in_list(const char *list, const char *name)
{
	size_t len = strlen(name);

	if (!list || !strcmp(list, "all"))
		return true;
	for (const char *p = list; (p = strstr(p, name)); p += len)
		if ((p == list || p[-1] == ',') &&
		    (p[len] == ',' || p[len] == '\0'))
			return true;
	return false;
}

static void run_one(const struct job *job, unsigned long n, uint64_t seed,
		    unsigned int reps, struct row *row)
{
	double t[MAX_REPS], aux[BENCH_AUX_MAX][MAX_REPS];
	struct bench_result res;

	memset(row, 0, sizeof(*row));
	if (job->m) {
		row->workload = job->m->name;
		row->unit = job->m->unit;
		row->impl = job->ops->name;
		row->variant_of = job->ops->variant_of;
		row->baseline = job->ops->baseline;
		if (job->m->linear_search && job->ops->search_cap &&
		    n > job->ops->search_cap) {
			n = job->ops->search_cap;
			row->capped = true;
		}
	} else {
		row->workload = job->i->name;
		row->unit = job->i->unit;
		row->impl = job->impl->name;
		row->variant_of =
			job->i->variant_ratio ? job->impl->variant_of : NULL;
		row->baseline = job->impl->baseline;
	}
	row->n = n;
	for (unsigned int r = 0; r < reps; r++) {
		memset(&res, 0, sizeof(res));
		res.bytes_per_entry = -1;
		res.n = n;
		if (job->m)
			job->m->run(job->ops, n, seed, &res);
		else
			job->i->run(job->i, job->impl, n, seed, &res);
		t[r] = res.ns_per_op;
		for (unsigned int k = 0; k < BENCH_AUX_MAX; k++) {
			aux[k][r] = res.aux[k];
			row->aux_label[k] = res.aux_label[k];
		}
		row->bytes = res.bytes_per_entry;
		row->n = res.n;
		row->ops = res.ops;
		if (res.failed) {
			row->failed = true;
			snprintf(row->note, sizeof(row->note), "%s", res.note);
		} else if (!row->failed) {
			snprintf(row->note, sizeof(row->note), "%s", res.note);
		}
	}
	qsort(t, reps, sizeof(t[0]), bench_cmp_double);
	for (unsigned int k = 0; k < BENCH_AUX_MAX; k++) {
		qsort(aux[k], reps, sizeof(aux[k][0]), bench_cmp_double);
		row->aux[k] = aux[k][reps / 2];
	}
	row->median = t[reps / 2];
	row->min = t[0];
	row->max = t[reps - 1];
}

static void print_rows(const struct row *rows, size_t count)
{
	printf("%-18s %9s %-7s %10s %10s %10s %9s  %s\n", "workload", "N",
	       "impl", "ns/unit", "min", "max", "B/entry",
	       "x faster than (same N)");
	for (size_t i = 0; i < count; i++) {
		const struct row *r = &rows[i];
		char ratios[160] = "";
		size_t len = 0;

		for (size_t j = 0; j < count && r->median > 0; j++) {
			const struct row *b = &rows[j];

			bool plain = r->variant_of &&
				     !strcmp(b->impl, r->variant_of);

			if ((!b->baseline && !plain) || b == r ||
			    b->workload != r->workload || b->n != r->n ||
			    b->median <= 0)
				continue;
			len += (size_t)snprintf(ratios + len, sizeof(ratios) - len,
						"%s %.2f  ", b->impl,
						b->median / r->median);
		}
		if (r->median >= 0)
			printf("%-18s %9lu %-7s %10.1f %10.1f %10.1f ", r->workload,
			       r->n, r->impl, r->median, r->min, r->max);
		else
			printf("%-18s %9lu %-7s %10s %10s %10s ", r->workload,
			       r->n, r->impl, "-", "-", "-");
		if (r->bytes >= 0)
			printf("%9.1f  ", r->bytes);
		else
			printf("%9s  ", "-");
		for (unsigned int k = 0; k < BENCH_AUX_MAX; k++)
			if (r->aux_label[k])
				printf("%s %.2f (median); ", r->aux_label[k],
				       r->aux[k]);
		printf("%s%s%s%s\n", r->baseline ? "" : ratios,
		       r->capped ? "(N capped: linear search) " : "",
		       r->failed ? "RESULT CHECK FAILED: " : "", r->note);
	}
}

static void write_json(const char *path, const struct row *rows, size_t count,
		       uint64_t seed, unsigned int reps)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		return;
	}
	fprintf(f, "{\n  \"seed\": %llu,\n  \"reps\": %u,\n  \"results\": [\n",
		(unsigned long long)seed, reps);
	for (size_t i = 0; i < count; i++) {
		const struct row *r = &rows[i];

		fprintf(f,
			"    {\"workload\": \"%s\", \"unit\": \"%s\", \"n\": %lu, "
			"\"impl\": \"%s\", \"baseline\": %s, \"ns_median\": %.2f, "
			"\"ns_min\": %.2f, \"ns_max\": %.2f, "
			"\"bytes_per_entry\": %.2f, \"ops\": %llu, "
			"\"capped\": %s, \"failed\": %s, \"note\": \"%s\"",
			r->workload, r->unit, r->n, r->impl,
			r->baseline ? "true" : "false", r->median, r->min,
			r->max, r->bytes, (unsigned long long)r->ops,
			r->capped ? "true" : "false",
			r->failed ? "true" : "false", r->note);
		for (unsigned int k = 0; k < BENCH_AUX_MAX; k++)
			if (r->aux_label[k])
				fprintf(f, ", \"%s\": %.2f", r->aux_label[k],
					r->aux[k]);
		fprintf(f, "}%s\n", i + 1 < count ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	fclose(f);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench [--workload NAMES|all] [--n N,...] [--seed S]\n"
		"             [--reps R] [--impl NAMES] [--json FILE] [--quick]\n"
		"workloads:");
	for (size_t i = 0; i < m_workload_count; i++)
		fprintf(stderr, " %s", m_workloads[i].name);
	for (size_t i = 0; i < i_workload_count; i++)
		fprintf(stderr, " %s", i_workloads[i].name);
	fprintf(stderr, "\nimplementations:");
	for (size_t i = 0; i < NR_IMPLS; i++)
		fprintf(stderr, " %s", impls[i]->name);
	for (size_t i = 0; i < NR_IOVA_IMPLS; i++)
		fprintf(stderr, " %s", iova_impls[i]->name);
	fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "workload", required_argument, NULL, 'w' },
		{ "n", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "reps", required_argument, NULL, 'r' },
		{ "impl", required_argument, NULL, 'i' },
		{ "json", required_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *workloads = "all", *impl_list = "all", *json = NULL;
	unsigned long sizes[MAX_SIZES] = { 10000, 1000000 };
	size_t nr_sizes = 2, count = 0, cap;
	unsigned int reps = 5;
	uint64_t seed = 1;
	struct row *rows;
	bool any_failed = false, quick = false;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			workloads = optarg;
			break;
		case 'n': {
			char *p = optarg;

			nr_sizes = 0;
			while (*p && nr_sizes < MAX_SIZES) {
				sizes[nr_sizes++] = strtoul(p, &p, 0);
				if (*p == ',')
					p++;
			}
			break;
		}
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			reps = (unsigned int)strtoul(optarg, NULL, 0);
			if (reps < 1 || reps > MAX_REPS) {
				fprintf(stderr, "--reps: 1 to %d\n", MAX_REPS);
				return 2;
			}
			break;
		case 'i':
			impl_list = optarg;
			break;
		case 'j':
			json = optarg;
			break;
		case 'q':
			sizes[0] = 2000;
			nr_sizes = 1;
			reps = 1;
			quick = true;
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}

	cap = m_workload_count * MAX_SIZES * NR_IMPLS +
	      i_workload_count * NR_IOVA_IMPLS;
	rows = calloc(cap, sizeof(*rows));
	printf("# seed %llu, %u repetitions, median per %s\n",
	       (unsigned long long)seed, reps, "unit");
	for (size_t w = 0; w < m_workload_count; w++) {
		if (!in_list(workloads, m_workloads[w].name))
			continue;
		for (size_t s = 0; s < nr_sizes; s++)
			for (size_t i = 0; i < NR_IMPLS; i++) {
				if (!in_list(impl_list, impls[i]->name))
					continue;
				struct job job = { .m = &m_workloads[w],
						   .ops = impls[i] };

				run_one(&job, sizes[s], seed, reps, &rows[count]);
				any_failed |= rows[count].failed;
				count++;
			}
	}
	for (size_t w = 0; w < i_workload_count; w++) {
		const struct iova_workload *iw = &i_workloads[w];

		if (!in_list(workloads, iw->name))
			continue;
		for (size_t i = 0; i < NR_IOVA_IMPLS; i++) {
			struct job job = { .i = iw, .impl = iova_impls[i] };

			if (!in_list(impl_list, iova_impls[i]->name) ||
			    (iw->fast && !iova_impls[i]->alloc_fast) ||
			    (iw->deferral && !iova_impls[i]->deferral))
				continue;
			run_one(&job, quick ? iw->n / QUICK_DIVISOR : iw->n,
				seed, reps, &rows[count]);
			any_failed |= rows[count].failed;
			count++;
		}
	}
	print_rows(rows, count);
	if (json)
		write_json(json, rows, count, seed, reps);
	free(rows);
	return any_failed ? 1 : 0;
}

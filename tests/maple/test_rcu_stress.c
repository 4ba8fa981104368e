/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RCU readers against a writer: readers walk the tree with no lock but
 * the RCU read lock while one writer stores and erases ranges in RCU mode.
 * Every value encodes the range it was stored with, so a reader can check
 * what it sees: a value returned for an index was stored over a range
 * containing that index; iteration returns strictly increasing,
 * non-overlapping ranges, each inside the range its value was stored with
 * (later stores may trim a range, never grow it).
 *
 * Tree sizes from 10 to 1,000,000 entries, regular and allocation trees.
 * The writer mixes small stores, erases, NULL stores and rare spanning
 * stores (splits, rebalances, spanning stores at every level), and
 * between phases erases all but 1/256 of the tree in one store and
 * fills it again range by range, so the height goes down and up while the
 * readers run; the test checks that it did.  Bounded in time
 * (MT_STRESS_SECONDS per run, default 1; the 'stress' suite runs longer);
 * seeded (MT_SEED), the seed printed.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include <libiova/maple_tree.h>

#include "prng.h"

static struct maple_tree tree;
static unsigned long universe; /* indices used: [0, universe) */
static atomic_bool stop;
static uint64_t seed;
static double seconds = 1.0;

/* [first, first + len] as a value */
static void *encode(unsigned long first, unsigned long last)
{
	return xa_mk_value((first << 24) | (last - first));
}

static void decode(void *entry, unsigned long *first, unsigned long *last)
{
	unsigned long v = xa_to_value(entry);

	*first = v >> 24;
	*last = *first + (v & ((1ul << 24) - 1));
}

struct reader {
	unsigned int id;
	unsigned long loads, walks, bad;
	unsigned long bad_load, bad_range, bad_order;
};

static void *reader_main(void *p)
{
	struct reader *r = p;
	struct prng rng = { seed + r->id };

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned long i = prng_below(&rng, universe), f, l;
		void *entry = mtree_load(&tree, i);

		if (entry) {
			decode(entry, &f, &l);
			r->bad_load += i < f || i > l;
		}
		r->loads++;
		if (r->loads % 64 == 0) {
			/*
			 * A stretch of iteration under the RCU read lock: the
			 * ranges strictly increase and do not overlap, and
			 * each lies inside the range its value was stored
			 * with (a later store may have trimmed it).
			 */
			MA_STATE(mas, &tree, prng_below(&rng, universe), 0);
			unsigned long prev_last = 0, n = 0;
			bool first = true;

			mas.last = mas.index;
			urcu_memb_read_lock();
			mas_for_each(&mas, entry, universe) {
				decode(entry, &f, &l);
				r->bad_range += mas.index < f || mas.last > l;
				r->bad_order += !first && mas.index <= prev_last;
				prev_last = mas.last;
				first = false;
				if (++n == 32)
					break;
			}
			urcu_memb_read_unlock();
			r->walks++;
		} else if (r->loads % 64 == 32) {
			/*
			 * The same through mt_for_each (its own walk, which
			 * takes the RCU read lock per step): each step's
			 * range ends inside the range its value was stored
			 * with, after the step before.
			 */
			unsigned long index = prng_below(&rng, universe);
			unsigned long prev = index, n = 0;

			mt_for_each(&tree, entry, index, universe) {
				decode(entry, &f, &l);
				/* index is one past the range's last now */
				r->bad_range += index - 1 < f || index - 1 > l;
				r->bad_order += index <= prev;
				prev = index;
				if (++n == 32)
					break;
			}
			r->walks++;
		}
	}
	r->bad = r->bad_load + r->bad_range + r->bad_order;
	return NULL;
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Ranges i * 8 + [0, 2] for i in [from, to): how the tree is filled. */
static void fill(unsigned long from, unsigned long to)
{
	for (unsigned long i = from; i < to; i++)
		assert_int_equal(mtree_store_range(&tree, 8 * i, 8 * i + 2,
						   encode(8 * i, 8 * i + 2),
						   GFP_KERNEL), 0);
}

struct heights {
	unsigned int before_cut, after_cut, after_fill;
};

/* Random stores and erases for @secs; returns the operations done. */
static unsigned long churn(struct prng *rng, double secs)
{
	struct timespec t0;
	unsigned long ops = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int k = 0; k < 256; k++, ops++) {
			unsigned long a = prng_below(rng, universe);
			unsigned long len = prng_below(rng, 100) < 99
						    ? prng_below(rng, 16)
						    : prng_below(rng, universe / 64 + 1);
			unsigned long b = a + len < universe ? a + len
							     : universe - 1;

			switch (prng_below(rng, 4)) {
			case 0:
			case 1:
				assert_int_equal(mtree_store_range(&tree, a, b,
						 encode(a, b), GFP_KERNEL), 0);
				break;
			case 2:
				mtree_erase(&tree, a);
				break;
			default:
				assert_int_equal(mtree_store_range(&tree, a, b,
						 NULL, GFP_KERNEL), 0);
			}
		}
	} while (elapsed(&t0) < secs);
	return ops;
}

/* Churn, cut all but 1/256 away in one store, fill it again, churn. */
static void writer_run(unsigned long target, struct heights *h)
{
	struct prng rng = { seed };
	unsigned long ops, cut = target - target / 256;

	ops = churn(&rng, seconds / 2);
	h->before_cut = mt_height(&tree);
	assert_int_equal(mtree_store_range(&tree, 0, 8 * cut - 1, NULL,
					   GFP_KERNEL), 0);
	h->after_cut = mt_height(&tree);
	fill(0, cut);
	h->after_fill = mt_height(&tree);
	ops += churn(&rng, seconds / 2);
	printf("# writer: %lu operations; height %u, cut to %u, filled to %u,"
	       " %u at the end\n", ops + cut + 1, h->before_cut, h->after_cut,
	       h->after_fill, mt_height(&tree));
}

static void run(unsigned int flags, unsigned long target)
{
	struct mt_allocator *cache = mt_node_cache_create(NULL);
	struct reader readers[2] = { { .id = 1 }, { .id = 2 } };
	struct heights h;
	pthread_t t[2];
	struct mt_alloc_stats st;

	universe = 8 * target;
	mt_init_flags(&tree, flags | MT_FLAGS_USE_RCU);
	mt_set_allocator(&tree, cache);
	fill(0, target);
	atomic_store(&stop, false);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader_main,
						&readers[i]), 0);
	writer_run(target, &h);
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		printf("# reader %d: %lu loads, %lu walks; wrong: %lu loads, "
		       "%lu ranges, %lu orders\n", i, readers[i].loads,
		       readers[i].walks, readers[i].bad_load,
		       readers[i].bad_range, readers[i].bad_order);
		assert_int_equal(readers[i].bad, 0);
		assert_true(readers[i].loads > 0);
	}
	/* the height went down and back up under the readers' feet */
	if (target >= 1000) {
		assert_true(h.after_cut < h.before_cut);
		assert_true(h.after_fill > h.after_cut);
	}
	assert_int_equal(mt_validate(&tree), 0);
	mtree_destroy(&tree);
	urcu_memb_barrier();
	mt_allocator_stats(cache, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(mt_allocator_destroy(cache), 0);
}

static void test_10_entries(void **state)
{
	(void)state;
	run(0, 10);
}

static void test_1000_entries_alloc_tree(void **state)
{
	(void)state;
	run(MT_FLAGS_ALLOC_RANGE, 1000);
}

static void test_100000_entries(void **state)
{
	(void)state;
	run(0, 100000);
}

static void test_1000000_entries_alloc_tree(void **state)
{
	(void)state;
	run(MT_FLAGS_ALLOC_RANGE, 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_10_entries),
		cmocka_unit_test(test_1000_entries_alloc_tree),
		cmocka_unit_test(test_100000_entries),
		cmocka_unit_test(test_1000000_entries_alloc_tree),
	};
	const char *s = getenv("MT_STRESS_SECONDS");

	seed = prng_seed_from_env("MT_SEED", (uint64_t)time(NULL));
	if (s)
		seconds = strtod(s, NULL);
	printf("# seed %llu (replay with MT_SEED=%llu), %.1f s per run\n",
	       (unsigned long long)seed, (unsigned long long)seed, seconds);
	return cmocka_run_group_tests_name("rcu_stress", tests, NULL, NULL);
}

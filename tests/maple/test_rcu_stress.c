/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * RCU readers against a writer: readers walk the tree with no lock but
 * the RCU read lock while one writer stores and erases ranges in RCU mode.
 * Every value encodes the range it was stored with, so a reader can check
 * what it sees: a value returned for an index was stored over a range
 * containing that index; iteration returns strictly increasing,
 * non-overlapping ranges, each inside the range its value was stored with
 * (later stores may trim a range, never grow it).  Bounded in time (MT_STRESS_SECONDS, default 2);
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

#define UNIVERSE (1ul << 20)

static struct maple_tree tree;
static atomic_bool stop;
static uint64_t seed;
static double seconds = 2.0;

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
		unsigned long i = prng_below(&rng, UNIVERSE), f, l;
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
			MA_STATE(mas, &tree, prng_below(&rng, UNIVERSE), 0);
			unsigned long prev_last = 0, n = 0;
			bool first = true;

			mas.last = mas.index;
			urcu_memb_read_lock();
			mas_for_each(&mas, entry, UNIVERSE) {
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
		}
	}
	r->bad = r->bad_load + r->bad_range + r->bad_order;
	return NULL;
}

static void writer_run(void)
{
	struct prng rng = { seed };
	struct timespec t0, t;
	unsigned long ops = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int k = 0; k < 256; k++, ops++) {
			unsigned long a = prng_below(&rng, UNIVERSE);
			unsigned long len = prng_below(&rng, 100) < 95
						    ? prng_below(&rng, 16)
						    : prng_below(&rng, 20000);
			unsigned long b = a + len < UNIVERSE ? a + len
							     : UNIVERSE - 1;

			switch (prng_below(&rng, 4)) {
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
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) +
			 (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
	printf("# writer: %lu operations, height %u at the end\n", ops,
	       mt_height(&tree));
}

static void run(unsigned int flags, unsigned long prefill)
{
	struct mt_allocator *cache = mt_node_cache_create(NULL);
	struct reader readers[2] = { { .id = 1 }, { .id = 2 } };
	pthread_t t[2];
	struct mt_alloc_stats st;

	mt_init_flags(&tree, flags | MT_FLAGS_USE_RCU);
	mt_set_allocator(&tree, cache);
	for (unsigned long i = 0; i < prefill; i++) {
		unsigned long a = i * (UNIVERSE / (prefill + 1));

		mtree_store_range(&tree, a, a + 2, encode(a, a + 2), GFP_KERNEL);
	}
	atomic_store(&stop, false);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader_main,
						&readers[i]), 0);
	writer_run();
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
	assert_int_equal(mt_validate(&tree), 0);
	mtree_destroy(&tree);
	urcu_memb_barrier();
	mt_allocator_stats(cache, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(mt_allocator_destroy(cache), 0);
}

static void test_readers_vs_writer(void **state)
{
	(void)state;
	run(0, 50000);
}

static void test_readers_vs_writer_alloc_tree(void **state)
{
	(void)state;
	run(MT_FLAGS_ALLOC_RANGE, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readers_vs_writer),
		cmocka_unit_test(test_readers_vs_writer_alloc_tree),
	};
	const char *s = getenv("MT_STRESS_SECONDS");

	seed = prng_seed_from_env("MT_SEED", (uint64_t)time(NULL));
	if (s)
		seconds = strtod(s, NULL);
	printf("# seed %llu (replay with MT_SEED=%llu), %.1f s per run\n",
	       (unsigned long long)seed, (unsigned long long)seed, seconds);
	return cmocka_run_group_tests_name("rcu_stress", tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The allocation-failure sweep, SQLite style.  For each scenario (a tree
 * built one way, one operation on it), run the operation with the Nth node
 * allocation failing, for N = 1, 2, 3 ... until it runs with no failure
 * injected; once failing only the Nth allocation, once failing every one
 * from the Nth on; outside RCU mode and in it.  After every run:
 *
 *   - the return value is 0 or -ENOMEM (or the scenario's own error);
 *   - mt_validate() passes;
 *   - the contents equal the model before the operation (on -ENOMEM) or
 *     after it (on success);
 *   - after destroying the tree, the allocator counts zero live nodes.
 *
 * Prints how many (scenario, N) cases ran.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>
#include <urcu/urcu-memb.h>

#include <libiova/maple_tree.h>

#include "model.h"
#include "prng.h"

#define V(n) xa_mk_value(n)

struct sweep {
	struct maple_tree mt;
	struct mt_allocator *cache, *fault;
	struct model before, after;
};

struct scenario {
	const char *name;
	/* build the tree (no failures) and, alike, the model */
	void (*setup)(struct sweep *s);
	/* the operation on the tree, and its effect on s->after */
	int (*op)(struct sweep *s);
	int expect_err; /* 0, or an error the op must return (no allocation) */
	bool alloc_tree_only;
};

static unsigned long cases;

/* store on tree and both models (setup only) */
static void put(struct sweep *s, unsigned long first, unsigned long last,
		void *entry)
{
	assert_int_equal(mtree_store_range(&s->mt, first, last, entry,
					   GFP_KERNEL), 0);
	model_store(&s->before, first, last, entry);
	model_store(&s->after, first, last, entry);
}

static void fill(struct sweep *s, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		put(s, 10 * i, 10 * i + 5, V(i));
}

static int store_op(struct sweep *s, unsigned long first, unsigned long last,
		    void *entry)
{
	model_store(&s->after, first, last, entry);
	return mtree_store_range(&s->mt, first, last, entry, GFP_KERNEL);
}

/* ---- scenarios ---------------------------------------------------------- */

static void setup_empty(struct sweep *s)
{
	(void)s;
}

static void setup_1000(struct sweep *s)
{
	fill(s, 1000);
}

static void setup_2_leaves(struct sweep *s)
{
	fill(s, 12);
}

static void setup_h1(struct sweep *s) { fill(s, 6); }
static void setup_h2(struct sweep *s) { fill(s, 60); }
static void setup_h3(struct sweep *s) { fill(s, 1000); }
static void setup_h4(struct sweep *s) { fill(s, 16000); }
static void setup_big(struct sweep *s) { fill(s, 60000); }

static int op_store_empty(struct sweep *s)
{
	return store_op(s, 10, 20, V(1));
}

static int op_append(struct sweep *s)
{
	return store_op(s, 10 * 1000, 10 * 1000 + 5, V(1000));
}

static int op_slot_store(struct sweep *s)
{
	return store_op(s, 10 * 500 + 1, 10 * 500 + 2, V(77));
}

/* two stores' worth of items into one full leaf: it must split */
static int op_split(struct sweep *s)
{
	unsigned long n = s->before.count, mid = s->before.r[n / 2].first;

	model_store(&s->after, mid + 1, mid + 1, V(88));
	model_store(&s->after, mid + 3, mid + 3, V(89));
	if (mtree_store_range(&s->mt, mid + 1, mid + 1, V(88), GFP_KERNEL))
		return -ENOMEM; /* the first may fail: nothing changed */
	/* the first went in: fail or not, the second is the sweep's op,
	 * so record the first in "before" too */
	model_store(&s->before, mid + 1, mid + 1, V(88));
	return mtree_store_range(&s->mt, mid + 3, mid + 3, V(89), GFP_KERNEL);
}

/* a leaf emptied to its minimum: the next erase must rebalance */
static void setup_rebalance(struct sweep *s)
{
	fill(s, 1000);
	for (unsigned long i = 400; i < 406; i++)
		put(s, 10 * i, 10 * i + 5, NULL);
}

static int op_rebalance(struct sweep *s)
{
	return store_op(s, 10 * 406, 10 * 406 + 5, NULL);
}

static int op_span1(struct sweep *s)
{
	return store_op(s, 10 * 500 + 3, 10 * 520 + 2, V(5));
}

static int op_span2(struct sweep *s)
{
	return store_op(s, 10 * 5000 + 3, 10 * 5400 + 2, V(6));
}

static int op_span3(struct sweep *s)
{
	return store_op(s, 10 * 5000 + 3, 10 * 40000 + 2, NULL);
}

static int op_collapse_root(struct sweep *s)
{
	return store_op(s, 12, 10 * 11 + 5, NULL);
}

static int op_alloc_range(struct sweep *s)
{
	unsigned long start = 0;
	int ret = mtree_alloc_range(&s->mt, &start, V(9), 3, 1000, 5000,
				    GFP_KERNEL);

	/* lowest free 3 in [1000, 5000]: just after range 100 */
	model_store(&s->after, 1006, 1008, V(9));
	if (!ret)
		assert_int_equal(start, 1006);
	return ret;
}

static int op_alloc_rrange(struct sweep *s)
{
	unsigned long start = 0;
	int ret = mtree_alloc_rrange(&s->mt, &start, V(9), 3, 1000, 5000,
				     GFP_KERNEL);

	model_store(&s->after, 4997, 4999, V(9));
	if (!ret)
		assert_int_equal(start, 4997);
	return ret;
}

static int op_insert_exists(struct sweep *s)
{
	/* -EEXIST: no change, and no allocation either */
	return mtree_insert_range(&s->mt, 10 * 300 + 4, 10 * 300 + 8, V(1),
				  GFP_KERNEL);
}

static int op_insert(struct sweep *s)
{
	model_store(&s->after, 10 * 300 + 6, 10 * 300 + 9, V(1));
	return mtree_insert_range(&s->mt, 10 * 300 + 6, 10 * 300 + 9, V(1),
				  GFP_KERNEL);
}

static const struct scenario scenarios[] = {
	{ .name = "store into an empty tree", .setup = setup_empty, .op = op_store_empty },
	{ .name = "append", .setup = setup_1000, .op = op_append },
	{ .name = "slot store", .setup = setup_1000, .op = op_slot_store },
	{ .name = "split at height 1", .setup = setup_h1, .op = op_split },
	{ .name = "split at height 2", .setup = setup_h2, .op = op_split },
	{ .name = "split at height 3", .setup = setup_h3, .op = op_split },
	{ .name = "split at height 4", .setup = setup_h4, .op = op_split },
	{ .name = "rebalance after erase", .setup = setup_rebalance, .op = op_rebalance },
	{ .name = "spanning store, 1 level", .setup = setup_1000, .op = op_span1 },
	{ .name = "spanning store, 2 levels", .setup = setup_big, .op = op_span2 },
	{ .name = "spanning store, 3 levels", .setup = setup_big, .op = op_span3 },
	{ .name = "erase collapsing the root", .setup = setup_2_leaves, .op = op_collapse_root },
	{ .name = "alloc_range", .setup = setup_1000, .op = op_alloc_range, .alloc_tree_only = true },
	{ .name = "alloc_rrange", .setup = setup_1000, .op = op_alloc_rrange, .alloc_tree_only = true },
	{ .name = "insert", .setup = setup_1000, .op = op_insert },
	{ .name = "insert over an entry", .setup = setup_1000, .op = op_insert_exists, .expect_err = -EEXIST },
};

/* ---- the sweep ---------------------------------------------------------- */

static void check_contents(struct sweep *s, const struct model *m,
			   const char *name, uint64_t n)
{
	MA_STATE(mas, &s->mt, 0, 0);
	size_t k = 0;
	void *entry;
	char msg[256];

	if (mt_validate_msg(&s->mt, msg, sizeof(msg)))
		fail_msg("%s, N=%llu: invalid tree: %s", name,
			 (unsigned long long)n, msg);
	mas_for_each(&mas, entry, ULONG_MAX) {
		if (k >= m->count || entry != m->r[k].entry ||
		    mas.index != m->r[k].first || mas.last != m->r[k].last)
			fail_msg("%s, N=%llu: contents differ at range %zu",
				 name, (unsigned long long)n, k);
		k++;
	}
	if (k != m->count)
		fail_msg("%s, N=%llu: %zu ranges, expected %zu", name,
			 (unsigned long long)n, k, m->count);
}

static uint64_t live_nodes(struct mt_allocator *a)
{
	struct mt_alloc_stats st;

	mt_allocator_stats(a, &st);
	return st.live;
}

static void sweep_one(const struct scenario *sc, unsigned int flags,
		      enum mt_fault_mode mode)
{
	for (uint64_t n = 1;; n++) {
		struct mt_fault_config cfg = { .mode = mode, .n = n };
		struct mt_alloc_stats st;
		struct sweep s;
		int ret;

		s.cache = mt_node_cache_create(NULL);
		s.fault = mt_fault_allocator_create(s.cache);
		mt_init_flags(&s.mt, flags);
		mt_set_allocator(&s.mt, s.fault);
		model_init(&s.before);
		model_init(&s.after);
		sc->setup(&s);

		mt_fault_allocator_set(s.fault, &cfg);
		ret = sc->op(&s);
		mt_allocator_stats(s.fault, &st);
		mt_fault_allocator_set(s.fault, NULL);
		cases++;

		if (sc->expect_err) {
			if (ret != sc->expect_err || st.requests != 0)
				fail_msg("%s: returned %d after %llu "
					 "allocations", sc->name, ret,
					 (unsigned long long)st.requests);
		} else if (ret != 0 && ret != -ENOMEM) {
			fail_msg("%s, N=%llu: returned %d", sc->name,
				 (unsigned long long)n, ret);
		} else if (ret == -ENOMEM && st.injected == 0) {
			fail_msg("%s, N=%llu: -ENOMEM with no failure injected",
				 sc->name, (unsigned long long)n);
		}
		check_contents(&s, ret ? &s.before : &s.after, sc->name, n);

		mtree_destroy(&s.mt);
		urcu_memb_barrier();
		if (live_nodes(s.cache) != 0)
			fail_msg("%s, N=%llu: %llu nodes leaked", sc->name,
				 (unsigned long long)n,
				 (unsigned long long)live_nodes(s.cache));
		mt_allocator_destroy(s.fault);
		mt_allocator_destroy(s.cache);
		model_free(&s.before);
		model_free(&s.after);
		/* the operation ran without a failure: nothing left to try */
		if (st.injected == 0)
			break;
	}
}

static void sweep_all(unsigned int flags)
{
	unsigned long before = cases;

	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (scenarios[i].alloc_tree_only &&
		    !(flags & MT_FLAGS_ALLOC_RANGE))
			continue;
		sweep_one(&scenarios[i], flags, MT_FAULT_NTH);
		sweep_one(&scenarios[i], flags, MT_FAULT_FROM_NTH);
	}
	printf("# flags %#x: %lu (scenario, N) cases\n", flags, cases - before);
}

static void test_sweep_regular(void **state)
{
	(void)state;
	sweep_all(0);
	sweep_all(MT_FLAGS_ALLOC_RANGE);
}

static void test_sweep_rcu(void **state)
{
	(void)state;
	sweep_all(MT_FLAGS_USE_RCU);
	sweep_all(MT_FLAGS_USE_RCU | MT_FLAGS_ALLOC_RANGE);
}

/* dup of a 10,000-entry tree: the copy is all or nothing */
static void test_sweep_dup(void **state)
{
	struct mt_allocator *cache = mt_node_cache_create(NULL);
	struct maple_tree src;
	unsigned long before = cases;

	(void)state;
	mt_init(&src);
	mt_set_allocator(&src, cache);
	for (unsigned long i = 0; i < 10000; i++)
		mtree_store_range(&src, 3 * i, 3 * i + 1, V(i), GFP_KERNEL);
	for (unsigned int m = 0; m < 2; m++) {
		for (uint64_t n = 1;; n++) {
			struct mt_fault_config cfg = {
				.mode = m ? MT_FAULT_FROM_NTH : MT_FAULT_NTH,
				.n = n,
			};
			struct mt_allocator *fault =
				mt_fault_allocator_create(cache);
			struct mt_alloc_stats st;
			struct maple_tree copy;
			int ret;

			mt_init(&copy);
			mt_set_allocator(&copy, fault);
			mt_fault_allocator_set(fault, &cfg);
			ret = mtree_dup(&src, &copy, GFP_KERNEL);
			mt_allocator_stats(fault, &st);
			cases++;
			assert_true(ret == 0 || ret == -ENOMEM);
			assert_int_equal(mt_validate(&copy), 0);
			if (ret) {
				assert_true(mtree_empty(&copy));
			} else {
				for (unsigned long i = 0; i < 10000; i += 97)
					assert_ptr_equal(mtree_load(&copy,
								    3 * i + 1),
							 V(i));
			}
			mtree_destroy(&copy);
			mt_allocator_stats(fault, &st);
			assert_int_equal(st.live, 0);
			mt_allocator_destroy(fault);
			if (ret == 0)
				break;
		}
	}
	assert_int_equal(mt_validate(&src), 0);
	mtree_destroy(&src);
	assert_int_equal(mt_allocator_destroy(cache), 0);
	printf("# dup: %lu (scenario, N) cases\n", cases - before);
}

static uint64_t allocs_of(struct mt_allocator *a)
{
	struct mt_alloc_stats st;

	mt_allocator_stats(a, &st);
	return st.allocs;
}

/*
 * After mas_preallocate() succeeds, mas_store_prealloc() cannot fail: on
 * random stores into random trees, preallocate, make every allocation
 * fail, store, and check the allocator was never asked.  And the count is
 * exact: a plain store of the same takes exactly that many nodes.
 */
static void prealloc_run(unsigned int flags, uint64_t seed)
{
	struct mt_allocator *cache = mt_node_cache_create(NULL);
	struct mt_allocator *fault = mt_fault_allocator_create(cache);
	struct mt_fault_config always = { .mode = MT_FAULT_ALWAYS };
	struct prng rng = { seed };
	struct maple_tree mt;
	struct model m;
	unsigned long used = 0;

	mt_init_flags(&mt, flags);
	mt_set_allocator(&mt, fault);
	model_init(&m);
	for (unsigned long op = 0; op < 20000; op++) {
		unsigned long first = prng_below(&rng, 200000);
		unsigned long last = first + (prng_below(&rng, 50) ? prng_below(&rng, 12)
							   : prng_below(&rng, 20000));
		void *entry = prng_below(&rng, 4) ? V(op) : NULL;
		MA_STATE(mas, &mt, first, last);
		struct mt_alloc_stats st;
		unsigned int reserved;
		uint64_t before;

		mtree_lock(&mt);
		assert_int_equal(mas_preallocate(&mas, entry, GFP_KERNEL), 0);
		reserved = mas.alloc_count;
		if (op % 2) {
			mt_fault_allocator_set(fault, &always);
			mas_store_prealloc(&mas, entry);
			mt_allocator_stats(fault, &st);
			mt_fault_allocator_set(fault, NULL);
			if (mas_is_err(&mas) || st.requests)
				fail_msg("seed %llu op %lu: a preallocated store "
					 "asked for memory", (unsigned long long)seed,
					 op);
		} else {
			mas_destroy(&mas);
			before = allocs_of(fault);
			mas_set_range(&mas, first, last);
			assert_int_equal(mas_store_gfp(&mas, entry, GFP_KERNEL), 0);
			if (allocs_of(fault) - before != reserved)
				fail_msg("seed %llu op %lu: reserved %u, the store "
					 "took %llu", (unsigned long long)seed, op,
					 reserved,
					 (unsigned long long)(allocs_of(fault) -
							      before));
		}
		used += reserved;
		mtree_unlock(&mt);
		model_store(&m, first, last, entry);
		if (op % 1000 == 0)
			assert_int_equal(mt_validate(&mt), 0);
	}
	printf("# flags %#x: 20000 preallocated stores, %lu nodes reserved\n",
	       flags, used);
	assert_int_equal(mt_validate(&mt), 0);
	{
		unsigned long index = 0;
		size_t k = 0;
		void *entry;

		mt_for_each(&mt, entry, index, ULONG_MAX) {
			assert_true(k < m.count);
			assert_ptr_equal(entry, m.r[k].entry);
			k++;
		}
		assert_int_equal(k, m.count);
	}
	mtree_destroy(&mt);
	urcu_memb_barrier();
	{
		struct mt_alloc_stats st;

		mt_allocator_stats(cache, &st);
		assert_int_equal(st.live, 0);
	}
	mt_allocator_destroy(fault);
	mt_allocator_destroy(cache);
	model_free(&m);
}

static void test_prealloc_cannot_fail(void **state)
{
	uint64_t seed = prng_seed_from_env("MT_SEED", 12345);

	(void)state;
	printf("# seed %llu\n", (unsigned long long)seed);
	prealloc_run(0, seed);
	prealloc_run(MT_FLAGS_ALLOC_RANGE, seed);
	prealloc_run(MT_FLAGS_USE_RCU, seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep_regular),
		cmocka_unit_test(test_sweep_rcu),
		cmocka_unit_test(test_sweep_dup),
		cmocka_unit_test(test_prealloc_cannot_fail),
	};
	int ret = cmocka_run_group_tests_name("alloc_sweep", tests, NULL, NULL);

	printf("# %lu (scenario, N) cases in all\n", cases);
	return ret;
}

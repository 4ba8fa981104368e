/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Randomized differential test of the IOVA space API against a
 * brute-force model of a small address space (1024 granules, three
 * windows, a reservation): after every operation the result must agree
 * with the model - placement inside the limits and valid space, alignment,
 * no overlap, the highest (lowest) place for unaligned requests without a
 * cache, -ENOSPC only when nothing fits, the right error for every bad
 * free and exact placement - and every few hundred operations the whole
 * space is compared through lookup.
 *
 * IOVA_SEED=<n> re-runs a seed (printed at start); IOVA_OPS sets the
 * number of operations per case.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <libiova/iova_space.h>

#include "prng.h"

#define NPFN 1024
#define G 4096ULL
#define INVALID (-1L)

static const struct iova_range windows[] = {
	{ 1 * G, 301 * G - 1 }, { 400 * G, 701 * G - 1 },
	{ 800 * G, NPFN * G - 1 },
};
static const struct iova_range reserved[] = { { 500 * G, 521 * G - 1 } };

/* model: INVALID outside windows, in the reservation and at pfn 0;
 * 0 free; else 1 + the first pfn of the allocation holding it */
static long model[NPFN];

static void model_init(void)
{
	for (long p = 0; p < NPFN; p++) {
		bool valid = false;

		for (int w = 0; w < 3; w++)
			if ((uint64_t)p * G >= windows[w].start &&
			    (uint64_t)p * G <= windows[w].last)
				valid = true;
		if (p == 0 || (p >= 500 && p <= 520))
			valid = false;
		model[p] = valid ? 0 : INVALID;
	}
}

static bool model_free(long lo, long n)
{
	if (lo < 0 || lo + n > NPFN)
		return false;
	for (long p = lo; p < lo + n; p++)
		if (model[p] != 0)
			return false;
	return true;
}

static bool in_window(long lo, long n)
{
	for (int w = 0; w < 3; w++)
		if ((uint64_t)lo * G >= windows[w].start &&
		    (uint64_t)(lo + n) * G - 1 <= windows[w].last)
			return true;
	return false;
}

static void run(uint64_t seed, bool cached, long ops)
{
	struct iova_space_config c = {
		.windows = windows, .nr_windows = 3,
		.reserved = reserved, .nr_reserved = 1,
		.flags = cached ? 0 : IOVA_SPACE_NO_CACHE,
		.cache_max_granules = 8,
	};
	struct prng rng = { seed };
	struct iova_space *s;

	model_init();
	assert_int_equal(iova_space_create(&c, &s), 0);
	for (long op = 0; op < ops; op++) {
		unsigned int kind = (unsigned int)prng_below(&rng, 10);
		long n = 1 + (long)prng_below(&rng, 16);
		long lo = (long)prng_below(&rng, NPFN);
		long hi = lo + (long)prng_below(&rng, NPFN - lo);
		long align = 1L << prng_below(&rng, 5);
		uint64_t iova;
		int ret;

		if (kind < 4) {
			bool bottom = prng_below(&rng, 2);
			long best = -1;

			/* what the model says: the highest (lowest) fit */
			for (long p = lo; p + n - 1 <= hi; p++)
				if (p % align == 0 && model_free(p, n) &&
				    (best < 0 || !bottom))
					best = p;
			ret = iova_space_alloc(s, (uint64_t)n * G - 100,
					       (uint64_t)align * G,
					       (uint64_t)lo * G,
					       (uint64_t)hi * G + G - 1,
					       bottom ? IOVA_ALLOC_BOTTOM_UP
						      : 0, &iova);
			if (best < 0) {
				assert_int_equal(ret, -ENOSPC);
				continue;
			}
			assert_int_equal(ret, 0);
			long p = (long)(iova / G);

			assert_true(p >= lo && p + n - 1 <= hi);
			assert_int_equal(p % align, 0);
			assert_true(model_free(p, n));
			if (!cached && align == 1)
				assert_int_equal(p, best);
			for (long q = p; q < p + n; q++)
				model[q] = 1 + p;
		} else if (kind < 7) {
			/* free: a live start, or any pfn at all */
			long p = lo;

			for (long k = 0; k < NPFN && kind < 6; k++) {
				long q = (lo + k) % NPFN;

				if (model[q] > 0) {
					p = model[q] - 1;
					break;
				}
			}
			ret = iova_space_free(s, (uint64_t)p * G);
			if (!in_window(p, 1))
				assert_int_equal(ret, -ERANGE);
			else if (model[p] == 0 || model[p] == INVALID)
				assert_int_equal(ret, -ENOENT);
			else if (model[p] - 1 != p)
				assert_int_equal(ret, -EINVAL);
			else {
				assert_int_equal(ret, 0);
				for (long q = p; q < NPFN && model[q] == 1 + p;
				     q++)
					model[q] = 0;
			}
		} else if (kind < 8) {
			ret = iova_space_alloc_at(s, (uint64_t)lo * G,
						  (uint64_t)n * G);
			if (lo == 0 || !in_window(lo, n))
				assert_int_equal(ret, -ERANGE);
			else if (!model_free(lo, n))
				assert_int_equal(ret, -EEXIST);
			else {
				assert_int_equal(ret, 0);
				for (long q = lo; q < lo + n; q++)
					model[q] = 1 + lo;
			}
		} else {
			struct iova_range r;

			ret = iova_space_lookup(s, (uint64_t)lo * G + 17, &r);
			if (model[lo] > 0) {
				long first = model[lo] - 1, last = first;

				while (last + 1 < NPFN &&
				       model[last + 1] == model[lo])
					last++;
				assert_int_equal(ret, 0);
				assert_int_equal(r.start, (uint64_t)first * G);
				assert_int_equal(r.last,
						 (uint64_t)last * G + G - 1);
			} else {
				assert_int_equal(ret, -ENOENT);
			}
		}
		if (op % 512 == 0) {
			for (long p = 0; p < NPFN; p++) {
				struct iova_range r;

				ret = iova_space_lookup(s, (uint64_t)p * G, &r);
				assert_int_equal(ret == 0, model[p] > 0);
			}
		}
	}
	iova_space_destroy(s);
}

static long ops(void)
{
	return (long)prng_seed_from_env("IOVA_OPS", 400000);
}

/* One seed for the whole run, printed by each case. */
static uint64_t seed(void)
{
	return prng_run_seed("IOVA_SEED");
}

static void test_exact_no_cache(void **state)
{
	uint64_t sd = seed();

	(void)state;
	printf("# IOVA_SEED=%" PRIu64 " (no cache)\n", sd);
	run(sd, false, ops());
}

static void test_with_cache(void **state)
{
	uint64_t sd = seed();

	(void)state;
	printf("# IOVA_SEED=%" PRIu64 " (cache)\n", sd);
	run(sd, true, ops());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_no_cache),
		cmocka_unit_test(test_with_cache),
	};

	return cmocka_run_group_tests_name("iova_space_random", tests, NULL,
					   NULL);
}

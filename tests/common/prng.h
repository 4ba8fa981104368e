/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * prng.h - the seeded generator of the randomized tests (splitmix64):
 * the same seed gives the same run.
 */
#ifndef LIBIOVA_TEST_PRNG_H
#define LIBIOVA_TEST_PRNG_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

struct prng {
	uint64_t state;
};

static inline uint64_t prng_next(struct prng *p)
{
	uint64_t z = (p->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline uint64_t prng_below(struct prng *p, uint64_t n)
{
	return n ? prng_next(p) % n : 0;
}

/* A seed from the environment variable @name, else from @fallback. */
static inline uint64_t prng_seed_from_env(const char *name, uint64_t fallback)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : fallback;
}

/*
 * One seed for a whole test program: the environment variable @name if
 * set (and not 0), else taken from the clock on the first call, and the
 * same on every later call.
 */
static inline uint64_t prng_run_seed(const char *name)
{
	static uint64_t seed;

	if (!seed)
		seed = prng_seed_from_env(name, 0);
	if (!seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec;
	}
	return seed;
}

#endif /* LIBIOVA_TEST_PRNG_H */

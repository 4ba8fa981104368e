/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * magazine.h - floor 0 of lib/iova (docs/iova.md, "Layers"): magazines of
 * cached pfns and the depot that keeps full ones, what magazine.c offers
 * the size caches (rcache.c).  Knows nothing of threads, domains or
 * trees.  Includes only compiler.h and system headers.
 */
#ifndef LIBIOVA_MAGAZINE_H
#define LIBIOVA_MAGAZINE_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>

#include "compiler.h"

#define IOVA_MAG_SIZE 125 /* pfns per magazine: 1 KiB with its header */

/*
 * 1 KiB, cache-line aligned: magazines move between threads through the
 * depot, and two threads' magazines must not share a line.
 *
 * lowest bounds the pfns from below: no pfn of the magazine is under it.
 * A push lowers it; a pop leaves it (it may then be below every pfn held,
 * still a bound); a search that looks at every pfn and finds none sets it
 * exactly.  A request whose limit is below it skips the magazine without
 * a look: a device with a 32-bit mask in a domain whose caches hold
 * mostly higher IOVAs pays one comparison per magazine, not one per pfn.
 *
 * next links the magazine into a depot, and is unused elsewhere.
 */
struct iova_magazine {
	_Alignas(CACHELINE_SIZE) unsigned long size;
	unsigned long lowest;
	struct iova_magazine *next;
	unsigned long pfns[IOVA_MAG_SIZE];
};

_Static_assert(sizeof(struct iova_magazine) == 1024, "a magazine is 1 KiB");

/* An empty magazine, or NULL without memory. */
struct iova_magazine *iova_mag_new(void);

static inline unsigned long iova_mag_count(const struct iova_magazine *mag)
{
	return mag ? mag->size : 0;
}

/* Add @pfn to @mag, which must not be full. */
static inline void iova_mag_push(struct iova_magazine *mag, unsigned long pfn)
{
	mag->pfns[mag->size++] = pfn;
	if (pfn < mag->lowest)
		mag->lowest = pfn;
}

/*
 * Take from @mag (may be NULL) a pfn whose range of @span pfns lies in
 * [@min, @max], newest first (the most recently freed range is the
 * warmest); 0 if there is none.
 */
static inline unsigned long iova_mag_pop(struct iova_magazine *mag,
					 unsigned long span, unsigned long min,
					 unsigned long max)
{
	unsigned long top, lowest = ULONG_MAX;

	if (!mag || max < span - 1)
		return 0;
	/* the highest first pfn a range of @span can have under @max */
	top = max - (span - 1);
	if (mag->lowest > top)
		return 0;
	for (unsigned long i = mag->size; i-- > 0;) {
		unsigned long pfn = mag->pfns[i];

		if (pfn >= min && pfn <= top) {
			mag->pfns[i] = mag->pfns[--mag->size];
			return pfn;
		}
		if (pfn < lowest)
			lowest = pfn;
	}
	/* every pfn looked at: the bound is exact now */
	mag->lowest = lowest;
	return 0;
}

/*
 * A depot: a stack of magazines (full ones, and whatever exited threads
 * left) shared by every thread of one size class.  Its mutex is a leaf
 * lock, held for a few instructions; nothing is called under it.
 */
struct iova_depot {
	pthread_mutex_t lock;
	unsigned int count;        /* magazines */
	unsigned long pfns;        /* pfns in them */
	struct iova_magazine *top;
};

void iova_depot_init(struct iova_depot *d);

/* Free every magazine, dropping their pfns, and the lock. */
void iova_depot_destroy(struct iova_depot *d);

/* Push @mag; returns the number of magazines the depot holds now. */
unsigned int iova_depot_push(struct iova_depot *d, struct iova_magazine *mag);

/* The magazine on top, or NULL; only while the depot holds more than
 * @keep magazines (0: any). */
struct iova_magazine *iova_depot_pop(struct iova_depot *d, unsigned int keep);

/* Every magazine, as a list linked by next; the depot is left empty. */
struct iova_magazine *iova_depot_take_all(struct iova_depot *d);

/* Pfns in the depot now. */
unsigned long iova_depot_pfns(struct iova_depot *d);

#endif /* LIBIOVA_MAGAZINE_H */

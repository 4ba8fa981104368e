/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * faults.h - node failures chosen by the input: a fault allocator in
 * callback mode whose decision for an operation's (i+1)-th node request
 * is bit i of a 64-bit mask the target reads from the input.
 */
#ifndef LIBIOVA_FUZZ_FAULTS_H
#define LIBIOVA_FUZZ_FAULTS_H

#include <libiova/mt_alloc.h>

#include "fuzz.h"

struct fz_faults {
	struct mt_allocator *a; /* NULL: no faults */
	uint64_t mask;
};

static inline int fz_faults_decide(void *arg, uint64_t request, gfp_t gfp)
{
	struct fz_faults *f = arg;

	(void)gfp;
	return request <= 64 && ((f->mask >> (request - 1)) & 1);
}

/* Fail the requests of @mask from now on (numbering starts again). */
static inline void fz_faults_arm(struct fz_faults *f, uint64_t mask)
{
	struct mt_fault_config cfg = { .mode = MT_FAULT_CALLBACK,
				       .decide = fz_faults_decide, .arg = f };

	if (!f->a)
		return;
	f->mask = mask;
	FZ_CHECK(mt_fault_allocator_set(f->a, &cfg) == 0, "fault set");
}

/* Whether a failure was injected since the last fz_faults_arm(). */
static inline bool fz_faults_injected(struct fz_faults *f)
{
	struct mt_alloc_stats st;

	if (!f->a)
		return false;
	FZ_CHECK(mt_allocator_stats(f->a, &st) == 0, "fault stats");
	return st.injected > 0;
}

/*
 * Exact leak accounting at the end of a run, once every tree is gone and
 * the RCU callbacks have run: no node live in @fault (may be NULL) nor in
 * @cache below it; then both are destroyed.
 */
static inline void fz_allocators_done(struct mt_allocator *fault,
				      struct mt_allocator *cache)
{
	struct mt_alloc_stats st;

	if (fault) {
		FZ_CHECK(mt_allocator_stats(fault, &st) == 0 && st.live == 0,
			 "fault allocator: %lu nodes live at the end",
			 (unsigned long)st.live);
		FZ_CHECK(mt_allocator_destroy(fault) == 0, "destroy fault");
	}
	FZ_CHECK(mt_allocator_stats(cache, &st) == 0 && st.live == 0,
		 "node cache: %lu nodes live at the end",
		 (unsigned long)st.live);
	FZ_CHECK(mt_allocator_destroy(cache) == 0, "destroy cache");
}

#endif /* LIBIOVA_FUZZ_FAULTS_H */

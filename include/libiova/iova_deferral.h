/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iova_deferral.h - the deferred erase of IOVA domains: frees that found
 * no memory, parked and completed later, with a backoff policy and
 * counters.
 *
 * A free never fails and never loses an address.  Erasing a range from
 * the tree can need a tree node; when a free runs out of nodes (it asks
 * without blocking, as an unmap from a completion path must), the range is
 * overwritten in place with a "parked" marker, which needs no memory.  A
 * parked range is not returned by find_iova() or iova_space_lookup(), not
 * a hole to iova_space_for_each_hole(), and not counted as allocated by
 * iova_space_stats() (parked_now below counts it).  To every allocation
 * call it is free space: an allocation that finds no room while ranges
 * are parked erases them (blocking allowed, as the call may block) and
 * searches again; iova_space_alloc_at() and reserve_iova() over a parked
 * range erase it first.  Such a call fails only when memory is really out:
 * -ENOMEM (space API) or NULL/0 (kernel API), and no "no room" answer is
 * remembered from it (the kernel API's 32-bit size limit included).
 * A parked range is erased:
 *   - opportunistically, without blocking, by the next allocation,
 *     reservation or successful free on the domain (a few per call);
 *   - by an allocation, alloc_at or reservation that needs it (above);
 *   - by a timer worker, with blocking allocation allowed, after a delay
 *     that follows the domain's backoff policy;
 *   - synchronously by iova_domain_flush_deferred() / _space_ variant;
 *   - at the latest by put_iova_domain() / iova_space_destroy().
 *
 * The worker: one thread serves every domain of the process.  It starts
 * when the first range is parked, sleeps on CLOCK_MONOTONIC timed waits
 * until the earliest retry is due (no polling), and exits after a second
 * with nothing to do.  A domain that never parks costs no thread.
 *
 * The default policy: first retry 10 ms after the first park; after each
 * failed retry the delay grows 10 ms -> 50 ms -> 200 ms, then doubles, up
 * to 1 s; a retry that drains everything (or an opportunistic drain that
 * erases anything) resets it to 10 ms and ends the failure episode.  When
 * an episode reaches 10 consecutive failed retries the warn callback is
 * called once (default: one line on stderr); it is called again only in a
 * new episode.
 *
 * The timer follows the parked set: nothing is scheduled while nothing is
 * parked (a drain or flush that empties the set cancels the retry), so
 * every worker wakeup is a retry and every episode's first retry comes
 * the first delay after its first park.  A drain other than the worker's
 * that erases anything also ends the episode; ranges left parked are then
 * retried no later than the first delay after it.  The next retry is due
 * delay_ns after the event that scheduled it (the first park, a failed
 * retry, or such a drain), never earlier.
 *
 * Locking: every function here may be called from any thread, at the same
 * time as any other call on the domain; they take the domain's lock.
 * Callbacks run on the worker thread with no lock held: they may call any
 * function of the library, including on the same domain.
 */
#ifndef LIBIOVA_IOVA_DEFERRAL_H
#define LIBIOVA_IOVA_DEFERRAL_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iova_domain;
struct iova_space;

/* What the deferred erase of one domain has done.  Counters only grow,
 * except the "now" fields. */
struct iova_deferral_stats {
	uint64_t parked_now;            /* ranges parked now */
	uint64_t parked_max;            /* most parked at one time */
	uint64_t parked_total;          /* ranges ever parked */
	uint64_t drained_worker;        /* erased by the timer worker */
	uint64_t drained_opportunistic; /* erased by other calls */
	uint64_t drained_flush;         /* erased by a flush or teardown */
	uint64_t worker_wakeups;        /* retries the worker ran (one
					 * retried callback each) */
	uint64_t failures_now;          /* consecutive failed retries now */
	uint64_t failures_max;          /* the longest such run */
	uint64_t delay_ns;              /* the delay the next retry was (or,
					 * nothing parked, will be) scheduled
					 * with */
	uint64_t warnings;              /* warn callbacks made */
};

/* A backoff policy.  Zero fields take the defaults. */
struct iova_backoff {
	uint64_t first_delay_ns; /* 0: 10 ms */
	uint64_t max_delay_ns;   /* 0: 1 s; every delay is capped here */
	uint64_t warn_after;     /* consecutive failed retries; 0: 10 */
	/*
	 * Optional: the delay after the @failures-th consecutive failed retry
	 * (>= 1), given the delay used before it.  NULL: the default steps
	 * (x5, x4, then x2).  Results above max_delay_ns are capped; 0 means
	 * first_delay_ns.
	 */
	uint64_t (*next_delay)(void *arg, uint64_t failures,
			       uint64_t delay_ns);
	/* Optional: told once per failure episode.  NULL: a line on stderr. */
	void (*warn)(void *arg, struct iova_domain *iovad,
		     const struct iova_deferral_stats *st);
	/*
	 * Optional: told after each retry by the worker, with the time it ran
	 * (CLOCK_MONOTONIC, ns), whether it drained everything, and the
	 * counters after it.  For monitoring and tests.
	 */
	void (*retried)(void *arg, uint64_t when_ns, bool ok,
			const struct iova_deferral_stats *st);
	void *arg;
};

/*
 * iova_domain_set_backoff - use @policy (copied; NULL: the defaults) for
 * @iovad from the next retry on; a first retry already scheduled (no
 * failed retry yet) moves to the new first delay after its park.  Returns
 * 0, or -EINVAL (domain not initialized, first delay above the cap).  Does
 * not block or allocate.
 */
int iova_domain_set_backoff(struct iova_domain *iovad,
			    const struct iova_backoff *policy);

/* The counters of @iovad into *@st.  Returns 0 or -EINVAL. */
int iova_domain_deferral_stats(struct iova_domain *iovad,
			       struct iova_deferral_stats *st);

/*
 * iova_domain_flush_deferred - erase every parked range now, allocating
 * with blocking allowed (so when only non-blocking allocation fails, the
 * flush succeeds).  Returns 0 when nothing is parked any more; -ENOMEM
 * when memory ran out first (*@remaining, if not NULL, says how many are
 * still parked; the worker keeps retrying them); -EINVAL.  A flush is a
 * drain: its erases count in drained_flush, and one that erases anything
 * ends the failure episode as an opportunistic drain does (emptying the
 * set cancels the retry).  A flush that erases nothing changes no counter
 * and is not a failed retry.  May block.
 */
int iova_domain_flush_deferred(struct iova_domain *iovad,
			       uint64_t *remaining);

/* The same for an IOVA space. */
int iova_space_set_backoff(struct iova_space *space,
			   const struct iova_backoff *policy);
int iova_space_deferral_stats(struct iova_space *space,
			      struct iova_deferral_stats *st);
int iova_space_flush_deferred(struct iova_space *space, uint64_t *remaining);

#ifdef __cplusplus
}
#endif

#endif /* LIBIOVA_IOVA_DEFERRAL_H */

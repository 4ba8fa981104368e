/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * deferral.c - floor 2 of lib/iova (deferral.h): the free path over the
 * tree primitives (tree.c), and parked erases (<libiova/iova_deferral.h>).
 *
 * Every free goes through iova_erase.  A free whose erase found no tree
 * node leaves a PARKED marker over exactly its range (a store over one
 * existing range needs no node), and is erased later by the next calls on
 * the domain, by the timer worker with a backoff, by a flush, or at
 * teardown.
 *
 * Finding parked ranges: up to IOVA_DEFERRAL_LISTED of them are kept in a
 * fixed array; past that the array is dropped and the window [win_lo,
 * win_hi] that covers every parked range is scanned for markers instead,
 * a bounded stretch per opportunistic call (resuming where the last one
 * stopped).
 * Neither needs memory.  A listed range is checked against the tree
 * before it is erased.
 *
 * The timer follows the parked set: it is armed exactly while something
 * is parked (d->armed == (parked_now != 0) whenever the domain lock is
 * free), for d->due_ns.  Whatever empties the set cancels it; a callback
 * that was already on its way when that happened (blocked on the domain
 * lock) sees !armed, or a due_ns still ahead of it after a re-arm, and
 * returns without counting a wakeup.  So every worker wakeup is a retry,
 * every episode's first retry comes the first delay after its first park,
 * and delay_ns is the delay the scheduled retry was armed with.
 *
 * Every range that becomes free, erased at once or parked, and a parked
 * range again when its erase completes, passes range_freed: the one place
 * where what a domain remembers about its free space is updated.
 *
 * The allocations' search, iova_find_free_draining, is here too: a parked
 * range is free space, so a search that finds no room drains some first.
 *
 * Locking: struct iova_deferral (deferral.h) is under the domain
 * lock, except what the timer service keeps in the timer.  Callbacks are
 * called with no lock held.
 */
#include <stdio.h>
#include <stdlib.h>

#include "deferral.h"
#include "iova_base.h"
#include "timer.h"
#include "tree.h"

#define OPPORTUNISTIC_ERASES 4   /* erases per opportunistic drain */
#define OPPORTUNISTIC_SCAN 64    /* entries looked at per window scan */
#define DEFAULT_FIRST_NS 10000000ull   /* 10 ms */
#define DEFAULT_MAX_NS 1000000000ull   /* 1 s */
#define DEFAULT_WARN_AFTER 10

static bool is_parked(const void *entry)
{
	return entry == iova_marker(IOVA_KIND_PARKED);
}

/* ---- the backoff policy ---------------------------------------------- */

static void backoff_reset(struct iova_deferral *d)
{
	d->st.failures_now = 0;
	d->st.delay_ns = d->policy.first_delay_ns;
	d->warned = false;
}

static uint64_t default_next_delay(uint64_t failures, uint64_t delay)
{
	/* 10 ms -> 50 ms -> 200 ms -> then doubling (saturating: the cap
	 * applies after) */
	uint64_t factor = failures == 1 ? 5 : failures == 2 ? 4 : 2;

	return delay > UINT64_MAX / factor ? UINT64_MAX : delay * factor;
}

/* A retry failed: one more in the episode, a longer delay.  Returns true
 * if the warn callback is due. */
static bool backoff_failed(struct iova_deferral *d)
{
	const struct iova_backoff *p = &d->policy;
	uint64_t next;

	d->st.failures_now++;
	if (d->st.failures_now > d->st.failures_max)
		d->st.failures_max = d->st.failures_now;
	next = p->next_delay ? p->next_delay(p->arg, d->st.failures_now,
					     d->st.delay_ns)
			     : default_next_delay(d->st.failures_now,
						  d->st.delay_ns);
	if (!next)
		next = p->first_delay_ns;
	if (next > p->max_delay_ns)
		next = p->max_delay_ns;
	d->st.delay_ns = next;
	if (d->warned || d->st.failures_now < p->warn_after)
		return false;
	d->warned = true;
	d->st.warnings++;
	return true;
}

static void default_warn(void *arg, struct iova_domain *iovad,
			 const struct iova_deferral_stats *st)
{
	(void)arg;
	fprintf(stderr,
		"libiova: domain %p: %llu IOVA frees parked, %llu retries in "
		"a row found no memory; retrying every %llu ms\n",
		(void *)iovad, (unsigned long long)st->parked_now,
		(unsigned long long)st->failures_now,
		(unsigned long long)(st->delay_ns / 1000000));
}

static void arm_at(struct iova_deferral *d, uint64_t due_ns)
{
	d->armed = true;
	d->due_ns = due_ns;
	iova_timer_arm(&d->timer, due_ns);
}

/* The next retry, the current delay from now. */
static void arm(struct iova_deferral *d)
{
	arm_at(d, iova_monotonic_ns() + d->st.delay_ns);
}

static int policy_set(struct iova_deferral *d, const struct iova_backoff *p)
{
	struct iova_backoff n = p ? *p : (struct iova_backoff){ 0 };

	if (!n.first_delay_ns)
		n.first_delay_ns = DEFAULT_FIRST_NS;
	if (!n.max_delay_ns)
		n.max_delay_ns = DEFAULT_MAX_NS;
	if (!n.warn_after)
		n.warn_after = DEFAULT_WARN_AFTER;
	if (!n.warn)
		n.warn = default_warn;
	if (n.first_delay_ns > n.max_delay_ns)
		return -EINVAL;
	d->policy = n;
	if (!d->st.failures_now) {
		/* no failed retry yet: the scheduled first retry moves to the
		 * new first delay after the park that armed it; mid-episode
		 * the scheduled retry keeps the delay it was armed with */
		uint64_t armed_at = d->due_ns - d->st.delay_ns;

		d->st.delay_ns = n.first_delay_ns;
		if (d->armed)
			arm_at(d, armed_at + n.first_delay_ns);
	}
	return 0;
}

/* ---- freeing --------------------------------------------------------- */

/*
 * Under the lock: [@lo, @hi] has just become free, erased or parked (a
 * parked range is free space), or a parked one has just been erased.
 * The kernel API remembers the smallest size that found no room below
 * 4 GiB (max32_alloc_size); a free there may make room, so it forgets.
 * Only the kernel API reads it; in a space it is written and never read.
 */
static void range_freed(struct iova_domain *iovad, unsigned long lo,
			unsigned long hi)
{
	if (lo < iovad->dma_32bit_pfn)
		iovad->max32_alloc_size = iovad->dma_32bit_pfn;
	iova_filled_top_freed(iovad, lo, hi);
}

/* ---- parking and draining ------------------------------------------- */

/*
 * Under the lock, after a drain other than the worker's retry erased
 * @done parked ranges: memory is back, so the failure episode ends (the
 * delay is the first one again).  An empty set cancels the timer; with
 * ranges left, the next retry comes no later than the first delay from
 * now (never postponed).
 */
static void drained(struct iova_deferral *d, uint64_t done)
{
	uint64_t due;

	if (!done)
		return;
	backoff_reset(d);
	if (!d->st.parked_now) {
		d->overflow = false;
		d->nr_listed = 0;
		if (d->armed) {
			d->armed = false;
			iova_timer_cancel(&d->timer);
		}
		return;
	}
	due = iova_monotonic_ns() + d->st.delay_ns;
	if (!d->armed || d->due_ns > due)
		arm_at(d, due);
}

/* Park [@lo, @hi], whose erase just failed for want of memory.  Under the
 * lock; needs no memory. */
static void park(struct iova_domain *iovad, unsigned long lo,
		 unsigned long hi)
{
	struct iova_deferral *d = iovad->deferral;

	iova_replace(iovad, lo, hi, iova_marker(IOVA_KIND_PARKED));
	if (!d->st.parked_now) {
		d->win_lo = lo;
		d->win_hi = hi;
		d->scan_from = lo;
	} else {
		d->win_lo = lo < d->win_lo ? lo : d->win_lo;
		d->win_hi = hi > d->win_hi ? hi : d->win_hi;
	}
	if (!d->overflow && d->nr_listed < IOVA_DEFERRAL_LISTED) {
		d->listed[d->nr_listed++] = (struct iova_parked_range){ lo, hi };
	} else {
		/* from now on the window is the record */
		d->overflow = true;
		d->nr_listed = 0;
	}
	d->st.parked_now++;
	d->st.parked_total++;
	if (d->st.parked_now > d->st.parked_max)
		d->st.parked_max = d->st.parked_now;
	if (!d->armed)
		arm(d);
}

void iova_erase(struct iova_domain *iovad, unsigned long lo,
		unsigned long hi)
{
	if (iova_erase_atomic(iovad, lo, hi))
		park(iovad, lo, hi);
	else
		iova_deferral_drain_some(iovad);
	range_freed(iovad, lo, hi);
}

/* Erase the parked range [lo, hi]; false for want of memory. */
static bool erase_parked(struct iova_domain *iovad, unsigned long lo,
			 unsigned long hi, gfp_t gfp)
{
	struct iova_deferral *d = iovad->deferral;

	if (iova_store(iovad, lo, hi, NULL, gfp))
		return false;
	d->st.parked_now--;
	range_freed(iovad, lo, hi);
	return true;
}

/*
 * The next parked range in the window from scan_from on, wrapping once at
 * its end, looking at no more than *@scan entries (counted down); false
 * if none was found within them (the scan resumes there next time).
 */
static bool find_in_window(struct iova_deferral *d, uint64_t *scan,
			   unsigned long *lo, unsigned long *hi)
{
	for (int pass = 0; pass < 2 && *scan; pass++) {
		unsigned long from = pass ? d->win_lo : d->scan_from;
		unsigned long to = pass ? d->scan_from - 1 : d->win_hi;
		MA_STATE(mas, &d->iovad->tree, from, from);
		void *entry;

		if (pass && d->scan_from == d->win_lo)
			break;
		mas_for_each(&mas, entry, to) {
			if (is_parked(entry)) {
				*lo = mas.index;
				*hi = mas.last;
				return true;
			}
			if (!--*scan) {
				d->scan_from = mas.last < d->win_hi
						       ? mas.last + 1
						       : d->win_lo;
				return false;
			}
		}
	}
	return false;
}

/*
 * Erase up to @budget parked ranges with @gfp, looking at up to @scan
 * window entries.  Returns how many; *@nomem tells whether an erase
 * failed for want of memory (then it stopped).
 */
static uint64_t drain(struct iova_domain *iovad, gfp_t gfp, uint64_t budget,
		      uint64_t scan, bool *nomem)
{
	struct iova_deferral *d = iovad->deferral;
	uint64_t done = 0;

	*nomem = false;
	while (d->nr_listed && done < budget) {
		struct iova_parked_range r = d->listed[d->nr_listed - 1];
		unsigned long lo, hi;

		/* only ever the marker itself */
		if (is_parked(iova_lookup(iovad, r.lo, &lo, &hi)) &&
		    lo == r.lo && hi == r.hi) {
			if (!erase_parked(iovad, r.lo, r.hi, gfp)) {
				*nomem = true;
				return done;
			}
			done++;
		}
		d->nr_listed--;
	}
	while (d->overflow && d->st.parked_now && done < budget) {
		unsigned long lo, hi;

		if (!find_in_window(d, &scan, &lo, &hi))
			break;
		if (!erase_parked(iovad, lo, hi, gfp)) {
			*nomem = true;
			return done;
		}
		done++;
		d->scan_from = hi < d->win_hi ? hi + 1 : d->win_lo;
	}
	if (!d->st.parked_now) {
		d->overflow = false;
		d->nr_listed = 0;
	}
	return done;
}

void iova_deferral_drain_parked(struct iova_domain *iovad)
{
	struct iova_deferral *d = iovad->deferral;
	uint64_t done;
	bool nomem;

	done = drain(iovad, GFP_NOWAIT, OPPORTUNISTIC_ERASES,
		     OPPORTUNISTIC_SCAN, &nomem);
	d->st.drained_opportunistic += done;
	drained(d, done);
}

/* Under the lock, for an allocation that found no room: erase a few
 * parked ranges, blocking allowed, looking through the whole window;
 * true if any was (search again then).  May block. */
static bool drain_blocking(struct iova_domain *iovad)
{
	struct iova_deferral *d = iovad->deferral;
	uint64_t done;
	bool nomem;

	if (!d->st.parked_now)
		return false;
	/* the whole window: a parked range missed here would be a wrong
	 * "no room" */
	done = drain(iovad, GFP_KERNEL, OPPORTUNISTIC_ERASES, UINT64_MAX,
		     &nomem);
	d->st.drained_opportunistic += done;
	drained(d, done);
	return done != 0;
}

/*
 * A parked range is free space: a search that finds no room while ranges
 * are parked erases some of them (blocking allowed, as the allocation
 * calls' contracts allow) and searches again, until it finds room or no
 * erase succeeds.  Each round erases at least one range for good, so the
 * rounds are bounded by the parked set; with nothing parked the cost is
 * the inline check.  What is left parked when memory ran out may be the
 * room asked for: -ENOMEM then, not -ENOSPC.
 */
int iova_find_free_after_drain(struct iova_domain *iovad,
			       unsigned long size, unsigned long align,
			       unsigned long min, unsigned long max,
			       bool top_down, unsigned long *pfn)
{
	/* a request that cannot fit the window drains nothing */
	if (!iova_find_fits(size, min, max))
		return -ENOSPC;
	while (drain_blocking(iovad))
		if (!iova_find_free(iovad, size, align, min, max, top_down,
				    pfn))
			return 0;
	return iova_deferral_parked_in(iovad, min, max) ? -ENOMEM : -ENOSPC;
}

bool iova_deferral_clear(struct iova_domain *iovad, unsigned long lo,
			 unsigned long hi, gfp_t gfp)
{
	struct iova_deferral *d = iovad->deferral;
	unsigned long from = lo;
	uint64_t done = 0;
	bool ok = true;

	iova_deferral_drain_some(iovad);
	while (d->st.parked_now) {
		MA_STATE(mas, &iovad->tree, from, from);
		unsigned long plo = 0, phi = 0;
		bool found = false;
		void *entry;

		mas_for_each(&mas, entry, hi) {
			if (is_parked(entry)) {
				plo = mas.index;
				phi = mas.last;
				found = true;
				break;
			}
		}
		if (!found)
			break;
		if (!erase_parked(iovad, plo, phi, gfp)) {
			ok = false;
			break;
		}
		done++;
		if (phi >= hi)
			break;
		from = phi + 1;
	}
	d->st.drained_opportunistic += done;
	drained(d, done);
	return ok;
}

/* The worker's retry: everything parked, blocking allowed. */
static void retry(struct iova_timer *t)
{
	struct iova_deferral *d = (struct iova_deferral *)
		((char *)t - __builtin_offsetof(struct iova_deferral, timer));
	struct iova_domain *iovad = d->iovad;
	struct iova_deferral_stats snap;
	struct iova_backoff policy;
	bool nomem = false, warn = false;
	uint64_t now;

	iova_lock(iovad);
	now = iova_monotonic_ns();
	/* cancelled while on its way, or re-armed for later: not a retry */
	if (!d->armed || now < d->due_ns) {
		iova_unlock(iovad);
		return;
	}
	d->armed = false;
	if (!d->st.parked_now) {
		/* cannot happen (whatever empties the set disarms); if it
		 * did, the next park must still arm */
		iova_unlock(iovad);
		return;
	}
	d->st.worker_wakeups++;
	d->st.drained_worker += drain(iovad, GFP_KERNEL, UINT64_MAX, UINT64_MAX,
				      &nomem);
	if (nomem)
		warn = backoff_failed(d);
	else
		backoff_reset(d);
	if (d->st.parked_now)
		arm(d);
	else
		iova_timer_cancel(&d->timer); /* a re-arm raced with us */
	snap = d->st;
	policy = d->policy;
	iova_unlock(iovad);
	if (warn)
		policy.warn(policy.arg, iovad, &snap);
	if (policy.retried)
		policy.retried(policy.arg, now, !nomem, &snap);
}

/* ---- life cycle ------------------------------------------------------- */

struct iova_deferral *iova_deferral_create(struct iova_domain *iovad)
{
	struct iova_deferral *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->iovad = iovad;
	iova_timer_init(&d->timer, retry);
	policy_set(d, NULL);
	return d;
}

/* Under the lock: erase everything parked, blocking allowed (a flush, or
 * teardown); returns how many are still parked. */
static uint64_t flush_locked(struct iova_deferral *d)
{
	uint64_t done;
	bool nomem;

	if (!d->st.parked_now)
		return 0;
	done = drain(d->iovad, GFP_KERNEL, UINT64_MAX, UINT64_MAX, &nomem);
	d->st.drained_flush += done;
	drained(d, done); /* a drain like any other: memory is back */
	return d->st.parked_now;
}

void iova_deferral_destroy(struct iova_deferral *d)
{
	if (!d)
		return;
	iova_timer_shutdown(&d->timer);
	iova_lock(d->iovad);
	flush_locked(d); /* whatever is still parked goes with the tree */
	iova_unlock(d->iovad);
	free(d);
}

/* ---- the public calls ----------------------------------------------- */

LIBIOVA_EXPORT int iova_domain_set_backoff(struct iova_domain *iovad,
					   const struct iova_backoff *policy)
{
	int ret;

	if (!iova_domain_ready(iovad))
		return -EINVAL;
	iova_lock(iovad);
	ret = policy_set(iovad->deferral, policy);
	iova_unlock(iovad);
	return ret;
}

LIBIOVA_EXPORT int iova_domain_deferral_stats(struct iova_domain *iovad,
					      struct iova_deferral_stats *st)
{
	if (!iova_domain_ready(iovad) || !st)
		return -EINVAL;
	iova_lock(iovad);
	*st = iovad->deferral->st;
	iova_unlock(iovad);
	return 0;
}

LIBIOVA_EXPORT int iova_domain_flush_deferred(struct iova_domain *iovad,
					      uint64_t *remaining)
{
	uint64_t left;

	if (!iova_domain_ready(iovad))
		return -EINVAL;
	iova_lock(iovad);
	left = flush_locked(iovad->deferral);
	iova_unlock(iovad);
	if (remaining)
		*remaining = left;
	return left ? -ENOMEM : 0;
}

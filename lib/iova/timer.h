/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * timer.h - floor 0 of lib/iova (docs/iova.md, "Layers"): what timer.c
 * offers, one-shot CLOCK_MONOTONIC timers served by one thread for every
 * domain's retries.  Knows nothing of domains; includes only system
 * headers.
 */
#ifndef LIBIOVA_TIMER_H
#define LIBIOVA_TIMER_H

#include <stdbool.h>
#include <stdint.h>

/* A one-shot timer; the fields are timer.c's. */
struct iova_timer {
	uint64_t deadline_ns;
	void (*fn)(struct iova_timer *t);
	struct iova_timer *next;
	bool armed, running, dead;
};

/* CLOCK_MONOTONIC in ns. */
uint64_t iova_monotonic_ns(void);
void iova_timer_init(struct iova_timer *t, void (*fn)(struct iova_timer *));
/* Run @t's callback at @deadline_ns (earlier or later than a pending one:
 * the new deadline wins).  Starts the service thread if needed.  Never
 * blocks for long; may be called with a domain lock held. */
void iova_timer_arm(struct iova_timer *t, uint64_t deadline_ns);
/* Disarm @t if it is armed; a callback already running is not waited
 * for (it may be blocked on the caller's domain lock: it must check that
 * it is still wanted).  Never blocks for long; may be called with a domain
 * lock held. */
void iova_timer_cancel(struct iova_timer *t);
/* Disarm @t for good and wait for a running callback to return.  Must not
 * be called with a lock the callback takes. */
void iova_timer_shutdown(struct iova_timer *t);

#endif /* LIBIOVA_TIMER_H */

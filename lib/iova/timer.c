/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * timer.c - floor 0 of lib/iova (timer.h): one-shot timers on
 * CLOCK_MONOTONIC, served by one thread for the whole process.  The
 * deferred erase of every domain arms its timer here, so 1,000 deferring
 * domains cost one thread, not 1,000.
 *
 * The service thread sleeps in a timed wait on a condition variable bound
 * to CLOCK_MONOTONIC until the earliest deadline (no polling), runs due
 * callbacks one at a time without the service lock held, and exits after
 * LINGER_NS with nothing armed: a process that never defers has no
 * thread, and one that stopped deferring loses it again.
 *
 * Locking: service.lock protects the list, every timer's armed/running/
 * dead fields and the thread's state.  It is a leaf lock: nothing else is
 * taken under it, and callbacks run without it, so a callback may take a
 * domain lock and re-arm its own timer.  Callers may arm while holding
 * their domain lock (lock order: domain lock, then service lock).
 */
#include <pthread.h>
#include <time.h>

#include "timer.h"

#define LINGER_NS 1000000000ull

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;   /* CLOCK_MONOTONIC: the earliest deadline moved */
	pthread_cond_t done;   /* a callback returned */
	struct iova_timer *head; /* armed timers, earliest deadline first */
	bool running;          /* the service thread exists */
} service = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};

static pthread_once_t service_once = PTHREAD_ONCE_INIT;

static void service_init(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&service.wake, &attr);
	pthread_condattr_destroy(&attr);
}

uint64_t iova_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void unlink_timer(struct iova_timer *t)
{
	for (struct iova_timer **p = &service.head; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	t->armed = false;
}

static void wait_until(pthread_cond_t *cond, uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / 1000000000ull),
		.tv_nsec = (long)(deadline_ns % 1000000000ull),
	};

	pthread_cond_timedwait(cond, &service.lock, &ts);
}

static void *service_thread(void *unused)
{
	uint64_t idle_since = iova_monotonic_ns();

	(void)unused;
	pthread_mutex_lock(&service.lock);
	for (;;) {
		struct iova_timer *t = service.head;
		uint64_t now = iova_monotonic_ns();

		if (!t) {
			if (now - idle_since >= LINGER_NS)
				break;
			wait_until(&service.wake, idle_since + LINGER_NS);
			continue;
		}
		if (t->deadline_ns > now) {
			wait_until(&service.wake, t->deadline_ns);
			continue;
		}
		service.head = t->next;
		t->armed = false;
		t->running = true;
		pthread_mutex_unlock(&service.lock);
		t->fn(t);
		pthread_mutex_lock(&service.lock);
		t->running = false;
		pthread_cond_broadcast(&service.done);
		idle_since = iova_monotonic_ns();
	}
	service.running = false;
	pthread_mutex_unlock(&service.lock);
	return NULL;
}

/* Under service.lock: make sure the thread exists.  If it cannot be
 * started now, the timer stays armed and the next arm tries again. */
static void ensure_thread(void)
{
	pthread_attr_t attr;
	pthread_t tid;

	if (service.running)
		return;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (!pthread_create(&tid, &attr, service_thread, NULL)) {
		service.running = true;
	}
	pthread_attr_destroy(&attr);
}

void iova_timer_init(struct iova_timer *t, void (*fn)(struct iova_timer *))
{
	*t = (struct iova_timer){ .fn = fn };
}

void iova_timer_arm(struct iova_timer *t, uint64_t deadline_ns)
{
	struct iova_timer **p;

	pthread_once(&service_once, service_init);
	pthread_mutex_lock(&service.lock);
	if (t->dead) {
		pthread_mutex_unlock(&service.lock);
		return;
	}
	if (t->armed)
		unlink_timer(t);
	t->deadline_ns = deadline_ns;
	for (p = &service.head; *p && (*p)->deadline_ns <= deadline_ns;
	     p = &(*p)->next)
		;
	t->next = *p;
	*p = t;
	t->armed = true;
	ensure_thread();
	if (service.head == t)
		pthread_cond_signal(&service.wake);
	pthread_mutex_unlock(&service.lock);
}

void iova_timer_cancel(struct iova_timer *t)
{
	pthread_mutex_lock(&service.lock);
	if (t->armed)
		unlink_timer(t);
	pthread_mutex_unlock(&service.lock);
}

void iova_timer_shutdown(struct iova_timer *t)
{
	pthread_mutex_lock(&service.lock);
	t->dead = true;
	if (t->armed)
		unlink_timer(t);
	while (t->running)
		pthread_cond_wait(&service.done, &service.lock);
	pthread_mutex_unlock(&service.lock);
}

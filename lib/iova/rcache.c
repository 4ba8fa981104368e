/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rcache.c - floor 1 of lib/iova (rcache.h), a leaf: size caches, freed
 * IOVAs of the small power-of-two sizes kept for reuse, so that most
 * allocations and frees skip the tree.
 *
 * As in the kernel: per CPU and size class, a "loaded" and a "previous"
 * magazine of up to IOVA_MAG_SIZE pfns; behind them a per-class depot of
 * full magazines.  A cached pfn stays allocated in the tree.
 *
 * Per CPU, not per thread (docs/iova.md): memory is bounded by the number
 * of CPUs whatever the number of threads, and nothing has to be handed
 * back when a thread exits.  The CPU number only picks a slot; the slot's
 * spinlock protects it, so a thread that migrates between picking and
 * locking merely uses another CPU's slot, correctly.  Both are inline
 * (the CPU read from the thread's rseq area, the lock an exchange): the
 * fast path is a few tens of instructions, and the calls to
 * sched_getcpu() and pthread_spin_lock() were a third of it.
 *
 * Locking: a CPU slot's spinlock, then (briefly) the class's depot mutex.
 * The release callback (which takes the domain lock) is only called with
 * no cache lock held.
 */
#define _GNU_SOURCE /* sched_getcpu */
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#endif

#include <urcu/arch.h> /* caa_cpu_relax */

#include "compiler.h"
#include "rcache.h"

#define IOVA_MAG_SIZE 126  /* pfns per magazine: 1 KiB with its header */
#define IOVA_DEPOT_MAX 32  /* full magazines a class's depot keeps */

/*
 * 1 KiB, cache-line aligned: magazines move between CPUs through the
 * depot, and two CPUs' magazines must not share a line.
 *
 * lowest bounds the pfns from below: no pfn of the magazine is under it.
 * A push lowers it; a pop leaves it (it may then be below every pfn held,
 * still a bound); a search that looks at every pfn and finds none sets it
 * exactly.  A request whose limit is below it skips the magazine without
 * a look: a device with a 32-bit mask in a domain whose caches hold
 * mostly higher IOVAs pays one comparison per magazine, not one per pfn.
 */
struct iova_magazine {
	_Alignas(CACHELINE_SIZE) unsigned long size;
	unsigned long lowest;
	unsigned long pfns[IOVA_MAG_SIZE];
};

_Static_assert(sizeof(struct iova_magazine) == 1024, "a magazine is 1 KiB");

static struct iova_magazine *mag_new(void)
{
	struct iova_magazine *mag =
		aligned_alloc(_Alignof(struct iova_magazine), sizeof(*mag));

	if (mag) {
		mag->size = 0;
		mag->lowest = ULONG_MAX;
	}
	return mag;
}

static void mag_push(struct iova_magazine *mag, unsigned long pfn)
{
	mag->pfns[mag->size++] = pfn;
	if (pfn < mag->lowest)
		mag->lowest = pfn;
}

struct iova_cpu_rcache {
	_Atomic int lock; /* slot_lock() */
	struct iova_magazine *loaded, *prev; /* NULL: empty, not allocated */
	uint64_t hits, misses;
} __attribute__((aligned(CACHELINE_SIZE)));

struct iova_depot {
	pthread_mutex_t lock;
	unsigned int size;
	struct iova_magazine *mags[IOVA_DEPOT_MAX];
};

struct iova_rcaches {
	unsigned int nr_classes, nr_cpus;
	iova_rcache_release_fn release;
	struct iova_depot *depots;          /* [class] */
	struct iova_cpu_rcache *cpu;        /* [class * nr_cpus + cpu] */
};

static unsigned long mag_count(const struct iova_magazine *mag)
{
	return mag ? mag->size : 0;
}

struct iova_rcaches *iova_rcaches_create(unsigned int nr_classes,
					 iova_rcache_release_fn release)
{
	struct iova_rcaches *rc = calloc(1, sizeof(*rc));
	long cpus = sysconf(_SC_NPROCESSORS_CONF);

	if (!rc)
		return NULL;
	rc->nr_classes = nr_classes;
	rc->nr_cpus = cpus > 0 ? (unsigned int)cpus : 1;
	rc->release = release;
	rc->depots = calloc(nr_classes, sizeof(*rc->depots));
	if (posix_memalign((void **)&rc->cpu, CACHELINE_SIZE,
			   (size_t)nr_classes * rc->nr_cpus *
				   sizeof(*rc->cpu)) ||
	    !rc->depots) {
		free(rc->depots);
		free(rc);
		return NULL;
	}
	for (unsigned int i = 0; i < nr_classes; i++)
		pthread_mutex_init(&rc->depots[i].lock, NULL);
	for (unsigned int i = 0; i < nr_classes * rc->nr_cpus; i++) {
		struct iova_cpu_rcache *c = &rc->cpu[i];

		atomic_init(&c->lock, 0);
		c->loaded = c->prev = NULL;
		c->hits = c->misses = 0;
	}
	return rc;
}

unsigned int iova_rcaches_classes(const struct iova_rcaches *rc)
{
	return rc ? rc->nr_classes : 0;
}

/*
 * The CPU the caller runs on, or was running on a moment ago.  glibc (2.35
 * on) registers every thread's rseq area, whose cpu_id the kernel keeps
 * current: reading it is one load from the thread's TLS.  Without it (an
 * older glibc, rseq turned off by a tunable) sched_getcpu() does.
 */
static inline unsigned int current_cpu(void)
{
	int cpu;

#if defined(RSEQ_SIG) && defined(__x86_64__)
	if (__rseq_size) {
		const char *tp;
		const struct rseq *rs;

		__asm__("mov %%fs:0, %0" : "=r"(tp));
		rs = (const struct rseq *)(tp + __rseq_offset);
		cpu = (int)__atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);
		if (cpu >= 0)
			return (unsigned int)cpu;
	}
#endif
	cpu = sched_getcpu();
	return cpu < 0 ? 0 : (unsigned int)cpu;
}

static struct iova_cpu_rcache *this_cpu(struct iova_rcaches *rc,
					unsigned int log_size)
{
	unsigned int cpu = current_cpu();

	/* a CPU brought online after the caches were made (rare) shares a
	 * slot; no division on the way for the others */
	if (unlikely(cpu >= rc->nr_cpus))
		cpu %= rc->nr_cpus;
	return &rc->cpu[log_size * rc->nr_cpus + cpu];
}

/* A CPU slot's lock.  Its holder is nearly always the thread running on
 * that CPU, for a few dozen instructions (now and then a depot exchange
 * or a magazine's allocation): another thread meets it held only after a
 * migration or in a flush, so waiting spins. */
static inline void slot_lock(struct iova_cpu_rcache *c)
{
	while (atomic_exchange_explicit(&c->lock, 1, memory_order_acquire))
		while (atomic_load_explicit(&c->lock, memory_order_relaxed))
			caa_cpu_relax();
}

static inline void slot_unlock(struct iova_cpu_rcache *c)
{
	atomic_store_explicit(&c->lock, 0, memory_order_release);
}

/* A pfn of @mag whose range of @span pfns lies in [min, max], or 0. */
static unsigned long mag_pop(struct iova_magazine *mag, unsigned long span,
			     unsigned long min, unsigned long max)
{
	unsigned long top, lowest = ULONG_MAX;

	if (!mag || max < span - 1)
		return 0;
	/* the highest first pfn a range of @span can have under @max */
	top = max - (span - 1);
	if (mag->lowest > top)
		return 0;
	/* newest first: the most recently freed range is the warmest */
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

unsigned long iova_rcache_get(struct iova_rcaches *rc, unsigned int log_size,
			      unsigned long min, unsigned long max)
{
	struct iova_cpu_rcache *c;
	unsigned long span = 1UL << log_size, pfn;

	if (!rc || log_size >= rc->nr_classes)
		return 0;
	c = this_cpu(rc, log_size);
	slot_lock(c);
	pfn = mag_pop(c->loaded, span, min, max);
	if (!pfn) {
		struct iova_magazine *t = c->loaded;

		c->loaded = c->prev;
		c->prev = t;
		pfn = mag_pop(c->loaded, span, min, max);
	}
	if (!pfn && !mag_count(c->loaded)) {
		struct iova_depot *d = &rc->depots[log_size];
		struct iova_magazine *full = NULL;

		pthread_mutex_lock(&d->lock);
		if (d->size)
			full = d->mags[--d->size];
		pthread_mutex_unlock(&d->lock);
		if (full) {
			free(c->loaded);
			c->loaded = full;
			pfn = mag_pop(c->loaded, span, min, max);
		}
	}
	if (pfn)
		c->hits++;
	else
		c->misses++;
	slot_unlock(c);
	return pfn;
}

static void release_mag(struct iova_domain *iovad, struct iova_rcaches *rc,
			struct iova_magazine *mag, unsigned int log_size)
{
	for (unsigned long i = 0; i < mag_count(mag); i++)
		rc->release(iovad, mag->pfns[i], log_size);
	free(mag);
}

bool iova_rcache_put(struct iova_domain *iovad, struct iova_rcaches *rc,
		     unsigned int log_size, unsigned long pfn)
{
	struct iova_cpu_rcache *c;
	struct iova_magazine *spill = NULL;
	bool done = true;

	if (!rc || log_size >= rc->nr_classes)
		return false;
	c = this_cpu(rc, log_size);
	slot_lock(c);
	if (mag_count(c->loaded) == IOVA_MAG_SIZE &&
	    mag_count(c->prev) < IOVA_MAG_SIZE) {
		struct iova_magazine *t = c->loaded;

		c->loaded = c->prev;
		c->prev = t;
	}
	if (mag_count(c->loaded) == IOVA_MAG_SIZE) {
		/* both full: the loaded one goes to the depot (or, if that
		 * is full too, back to the tree) and an empty one comes in */
		struct iova_depot *d = &rc->depots[log_size];
		struct iova_magazine *empty = mag_new();

		if (empty) {
			pthread_mutex_lock(&d->lock);
			if (d->size < IOVA_DEPOT_MAX)
				d->mags[d->size++] = c->loaded;
			else
				spill = c->loaded;
			pthread_mutex_unlock(&d->lock);
			c->loaded = empty;
		}
	} else if (!c->loaded) {
		c->loaded = mag_new();
	}
	if (c->loaded && c->loaded->size < IOVA_MAG_SIZE)
		mag_push(c->loaded, pfn);
	else
		done = false;
	slot_unlock(c);
	if (spill)
		release_mag(iovad, rc, spill, log_size);
	return done;
}

void iova_rcaches_flush(struct iova_domain *iovad, struct iova_rcaches *rc)
{
	for (unsigned int cls = 0; cls < rc->nr_classes; cls++) {
		struct iova_depot *d = &rc->depots[cls];

		for (unsigned int cpu = 0; cpu < rc->nr_cpus; cpu++) {
			struct iova_cpu_rcache *c =
				&rc->cpu[cls * rc->nr_cpus + cpu];
			struct iova_magazine *loaded, *prev;

			slot_lock(c);
			loaded = c->loaded;
			prev = c->prev;
			c->loaded = c->prev = NULL;
			slot_unlock(c);
			release_mag(iovad, rc, loaded, cls);
			release_mag(iovad, rc, prev, cls);
		}
		for (;;) {
			struct iova_magazine *full = NULL;

			pthread_mutex_lock(&d->lock);
			if (d->size)
				full = d->mags[--d->size];
			pthread_mutex_unlock(&d->lock);
			if (!full)
				break;
			release_mag(iovad, rc, full, cls);
		}
	}
}

void iova_rcaches_destroy(struct iova_rcaches *rc)
{
	if (!rc)
		return;
	for (unsigned int i = 0; i < rc->nr_classes; i++) {
		struct iova_depot *d = &rc->depots[i];

		while (d->size)
			free(d->mags[--d->size]);
		pthread_mutex_destroy(&d->lock);
	}
	for (unsigned int i = 0; i < rc->nr_classes * rc->nr_cpus; i++) {
		free(rc->cpu[i].loaded);
		free(rc->cpu[i].prev);
	}
	free(rc->cpu);
	free(rc->depots);
	free(rc);
}

void iova_rcaches_counts(struct iova_rcaches *rc,
			 struct iova_rcache_counts *out)
{
	memset(out, 0, sizeof(*out));
	if (!rc)
		return;
	for (unsigned int cls = 0; cls < rc->nr_classes; cls++) {
		struct iova_depot *d = &rc->depots[cls];

		for (unsigned int cpu = 0; cpu < rc->nr_cpus; cpu++) {
			struct iova_cpu_rcache *c =
				&rc->cpu[cls * rc->nr_cpus + cpu];

			slot_lock(c);
			out->hits += c->hits;
			out->misses += c->misses;
			out->cached += mag_count(c->loaded) +
				       mag_count(c->prev);
			slot_unlock(c);
		}
		pthread_mutex_lock(&d->lock);
		out->cached += (unsigned long)d->size * IOVA_MAG_SIZE;
		pthread_mutex_unlock(&d->lock);
	}
}

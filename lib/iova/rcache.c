/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rcache.c - floor 1 of lib/iova (rcache.h): size caches, freed IOVAs of
 * the small power-of-two sizes kept for reuse, so that most allocations
 * and frees skip the tree.  A cached pfn stays allocated in the tree.
 *
 * Per thread and size class, a "loaded" and a "previous" magazine of up
 * to IOVA_MAG_SIZE pfns; behind them a per-class depot (magazine.h) of
 * full magazines, shared by all threads, whose excess over
 * IOVA_DEPOT_MAX the timer service gives back later.  Per thread, not per CPU as in
 * the kernel (docs/iova.md, "Size caches"): a CPU's slot needs a lock,
 * and its locked exchange was most of the fast path's cost.
 *
 * A thread's magazines for one cache set hang off its struct
 * thread_cache as one struct thread_mags, which only that thread uses and
 * changes.  Another thread takes them in three cases, each under
 * caches_lock:
 *
 *   flush    exchanges the pointer for NULL, then waits until the owner is
 *            not inside a get or put that may have loaded it before the
 *            exchange (the handshake below), then gives their pfns back;
 *            the owner's next call starts a fresh set;
 *   exit     the thread's table destructor moves its magazines into the
 *            depots (no bound: nothing may be lost and no lock but the
 *            depot's may be taken here) and unlinks its caches;
 *   destroy  frees every thread's caches of the set and forgets them in
 *            each thread's table.
 *
 * The handshake.  The owner makes its cache's seq odd before it loads the
 * pointer and even again when it is done with the set.  The flusher
 * exchanges the pointer, then reads seq: if odd, the owner may hold the
 * old set, and the flusher waits for seq to move.  For this the owner's
 * store to seq must be ordered before its load of the pointer, as the
 * flusher's exchange is before its read of seq.  The owner orders it with
 * a compiler barrier only, and the flusher makes up for it with one
 * membarrier() (MEMBARRIER_CMD_PRIVATE_EXPEDITED), which runs a full
 * barrier on every CPU running one of the process's threads: the
 * fast path then has no atomic instruction and no fence.  Where
 * membarrier() cannot be used, the owner issues a full fence instead.
 * liburcu's read-side critical section would do the same job, but reaches
 * its per-thread state through three TLS descriptor calls per operation
 * here (another library's TLS), which cost more than the lock it saves.
 *
 * Locking, in order: caches_lock (process-wide; creation of a thread's
 * cache, thread exit, flush, destroy, counts: never on the fast path),
 * then a depot's lock, then the timer service's (arming the trim).  An
 * owner never takes caches_lock while its seq is odd, so a flush waiting
 * under caches_lock cannot deadlock with it.  The release callback (which
 * takes the domain lock) is only called with no cache lock held: by a
 * flush, and by the trim on the timer service's thread.
 */
#include <linux/membarrier.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <urcu/arch.h> /* caa_cpu_relax */
#include <urcu/list.h>

#include "magazine.h"
#include "rcache.h"
#include "timer.h"

/*
 * A class's depot keeps IOVA_DEPOT_MAX magazines for good.  More may come
 * in (threads freeing more than they allocate, threads exiting); the
 * excess is given back to the tree IOVA_DEPOT_TRIM_NS later by the timer
 * service, as the kernel's depot worker does, not by the thread whose
 * free overfilled it: that cost (an erase per pfn, the domain lock each
 * time) was a quarter of a round of I-dac-mix.
 */
#define IOVA_DEPOT_MAX 32
#define IOVA_DEPOT_TRIM_NS 100000000ull /* 100 ms */

struct mag_pair {
	struct iova_magazine *loaded, *prev; /* NULL: empty, not allocated */
};

/* One thread's magazines of one cache set: changed only by the thread
 * that owns them, taken whole by a flush; on cache lines of their own
 * (aligned_zalloc). */
struct thread_mags {
	_Atomic unsigned long cached; /* pfns held; written by the owner */
	struct thread_mags *next;     /* on a flush's list, once taken */
	struct mag_pair cls[];        /* [nr_classes] */
};

struct thread_table;

/* A thread's cache of one cache set.  Allocated on cache lines of its own
 * (aligned_zalloc, as its magazine set): the owner writes seq and the
 * counters on every call, and two threads' caches must not share a line.
 * (The type itself asks no alignment: list walks form a pointer to one
 * from the list's head, which is no thread_cache.) */
struct thread_cache {
	_Atomic unsigned long seq;          /* odd: the owner is in get/put */
	_Atomic(struct thread_mags *) mags; /* the owner's, or NULL */
	_Atomic uint64_t hits, misses;      /* written by the owner */
	struct iova_rcaches *rc;
	struct thread_table *table;         /* the owner's */
	struct cds_list_head node;          /* in rc->threads */
};

/* Each thread's caches, one per cache set it used.  last_rc/last_tc
 * answer the fast path's lookup; the rest is under caches_lock. */
struct thread_table {
	_Atomic(struct iova_rcaches *) last_rc;
	struct thread_cache *last_tc;
	unsigned int nr;
	struct thread_table_entry {
		struct iova_rcaches *rc; /* NULL: a free entry */
		struct thread_cache *tc;
	} *e;
};

struct iova_rcaches {
	unsigned int nr_classes;
	iova_rcache_release_fn release;
	struct iova_domain *iovad;    /* release's argument */
	struct iova_timer trim;       /* gives a depot's excess back */
	atomic_bool trim_armed;
	struct iova_depot *depots;    /* [class] */
	struct cds_list_head threads; /* thread_cache.node; caches_lock */
	uint64_t gone_hits, gone_misses; /* of exited threads; caches_lock */
};

static pthread_mutex_t caches_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t table_key;
static pthread_once_t table_key_once = PTHREAD_ONCE_INIT;
static bool table_key_ok;
/* initial-exec: one load from the thread pointer, where the default
 * model calls into the dynamic linker on every access (the library may
 * still be dlopen()ed: glibc keeps static TLS room for a pointer) */
static __thread struct thread_table *this_table
	__attribute__((tls_model("initial-exec")));

/* Set once, before the first cache set exists: flushes use membarrier()
 * and owners a compiler barrier (true), or owners a fence (false). */
static bool use_membarrier;
static pthread_once_t membarrier_once = PTHREAD_ONCE_INIT;

static void membarrier_setup(void)
{
	long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	use_membarrier =
		cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
		!syscall(__NR_membarrier,
			 MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
}

static void depot_trim(struct iova_timer *t);

struct iova_rcaches *iova_rcaches_create(struct iova_domain *iovad,
					 unsigned int nr_classes,
					 iova_rcache_release_fn release)
{
	struct iova_rcaches *rc;

	pthread_once(&membarrier_once, membarrier_setup);
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return NULL;
	rc->nr_classes = nr_classes;
	rc->release = release;
	rc->iovad = iovad;
	iova_timer_init(&rc->trim, depot_trim);
	atomic_init(&rc->trim_armed, false);
	rc->depots = calloc(nr_classes, sizeof(*rc->depots));
	if (!rc->depots) {
		free(rc);
		return NULL;
	}
	for (unsigned int i = 0; i < nr_classes; i++)
		iova_depot_init(&rc->depots[i]);
	CDS_INIT_LIST_HEAD(&rc->threads);
	return rc;
}

unsigned int iova_rcaches_classes(const struct iova_rcaches *rc)
{
	return rc ? rc->nr_classes : 0;
}

static void release_mag(struct iova_rcaches *rc, struct iova_magazine *mag,
			unsigned int log_size)
{
	for (unsigned long i = 0; i < iova_mag_count(mag); i++)
		rc->release(rc->iovad, mag->pfns[i], log_size);
	free(mag);
}

/* Zeroed memory of whole cache lines of its own. */
static void *aligned_zalloc(size_t size)
{
	size_t bytes = (size + CACHELINE_SIZE - 1) & ~(size_t)(CACHELINE_SIZE - 1);
	void *p = aligned_alloc(CACHELINE_SIZE, bytes);

	if (p)
		memset(p, 0, bytes);
	return p;
}

/* Over the bound: the excess goes back IOVA_DEPOT_TRIM_NS from now (one
 * timer for all classes; a later overfill finds it armed). */
static void depot_overfull(struct iova_rcaches *rc)
{
	if (!atomic_exchange(&rc->trim_armed, true))
		iova_timer_arm(&rc->trim,
			       iova_monotonic_ns() + IOVA_DEPOT_TRIM_NS);
}

/* Move @mag into its class's depot; free it if it is empty.  Takes no
 * lock but the depot's and the timer service's. */
static void stow_mag(struct iova_rcaches *rc, struct iova_magazine *mag,
		     unsigned int cls)
{
	if (!iova_mag_count(mag))
		free(mag);
	else if (iova_depot_push(&rc->depots[cls], mag) > IOVA_DEPOT_MAX)
		depot_overfull(rc);
}

/* The timer's callback: give every depot's excess back, on the service
 * thread, one pfn per domain lock.  A magazine pushed meanwhile re-arms
 * the timer (the flag is cleared first). */
static void depot_trim(struct iova_timer *t)
{
	struct iova_rcaches *rc = (struct iova_rcaches *)
		((char *)t - offsetof(struct iova_rcaches, trim));

	atomic_store(&rc->trim_armed, false);
	for (unsigned int c = 0; c < rc->nr_classes; c++) {
		struct iova_magazine *mag;

		while ((mag = iova_depot_pop(&rc->depots[c], IOVA_DEPOT_MAX)))
			release_mag(rc, mag, c);
	}
}

/* ---- a thread's caches ------------------------------------------------ */

/* Unlink @tc from its set and free it; its magazines go to the depots.
 * Under caches_lock. */
static void thread_cache_retire(struct thread_cache *tc)
{
	struct iova_rcaches *rc = tc->rc;
	struct thread_mags *m = atomic_exchange(&tc->mags, NULL);

	cds_list_del(&tc->node);
	rc->gone_hits += atomic_load_explicit(&tc->hits, memory_order_relaxed);
	rc->gone_misses +=
		atomic_load_explicit(&tc->misses, memory_order_relaxed);
	if (m) {
		for (unsigned int c = 0; c < rc->nr_classes; c++) {
			stow_mag(rc, m->cls[c].loaded, c);
			stow_mag(rc, m->cls[c].prev, c);
		}
		free(m);
	}
	free(tc);
}

/* The destructor of a thread's table: its caches' magazines go to the
 * depots, so that no cached pfn is lost with the thread. */
static void thread_table_exit(void *arg)
{
	struct thread_table *t = arg;

	pthread_mutex_lock(&caches_lock);
	for (unsigned int i = 0; i < t->nr; i++)
		if (t->e[i].rc)
			thread_cache_retire(t->e[i].tc);
	pthread_mutex_unlock(&caches_lock);
	if (this_table == t)
		this_table = NULL;
	free(t->e);
	free(t);
}

static void table_key_create(void)
{
	table_key_ok = !pthread_key_create(&table_key, thread_table_exit);
}

/* The calling thread's table, made on first use; NULL without memory (or
 * without a key for its destructor).  Under caches_lock. */
static struct thread_table *thread_table_get(void)
{
	struct thread_table *t = this_table;

	if (t)
		return t;
	pthread_once(&table_key_once, table_key_create);
	if (!table_key_ok)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (pthread_setspecific(table_key, t)) {
		free(t);
		return NULL;
	}
	this_table = t;
	return t;
}

/* Find or make the calling thread's cache of @rc.  Under caches_lock. */
static struct thread_cache *thread_cache_find(struct iova_rcaches *rc)
{
	struct thread_table *t = thread_table_get();
	struct thread_table_entry *slot = NULL;
	struct thread_cache *tc;

	if (!t)
		return NULL;
	for (unsigned int i = 0; i < t->nr; i++) {
		if (t->e[i].rc == rc)
			return t->e[i].tc;
		if (!t->e[i].rc && !slot)
			slot = &t->e[i];
	}
	if (!slot) {
		struct thread_table_entry *e =
			realloc(t->e, (t->nr + 1) * sizeof(*e));

		if (!e)
			return NULL;
		t->e = e;
		slot = &e[t->nr++];
		slot->rc = NULL;
	}
	tc = aligned_zalloc(sizeof(*tc));
	if (!tc)
		return NULL; /* the new entry stays free */
	atomic_init(&tc->mags, NULL);
	tc->rc = rc;
	tc->table = t;
	cds_list_add(&tc->node, &rc->threads);
	slot->rc = rc;
	slot->tc = tc;
	return tc;
}

static __attribute__((noinline)) struct thread_cache *
thread_cache_slow(struct iova_rcaches *rc)
{
	struct thread_cache *tc;

	pthread_mutex_lock(&caches_lock);
	tc = thread_cache_find(rc);
	if (tc) {
		this_table->last_tc = tc;
		atomic_store_explicit(&this_table->last_rc, rc,
				      memory_order_relaxed);
	}
	pthread_mutex_unlock(&caches_lock);
	return tc;
}

/* The calling thread's cache of @rc, or NULL without memory. */
static inline struct thread_cache *thread_cache(struct iova_rcaches *rc)
{
	struct thread_table *t = this_table;

	if (likely(t && atomic_load_explicit(&t->last_rc,
					     memory_order_relaxed) == rc))
		return t->last_tc;
	return thread_cache_slow(rc);
}

/* Its magazines: those it has, or a fresh empty set (after a flush took
 * the last one), or NULL without memory.  Between cache_enter and
 * cache_leave. */
static inline struct thread_mags *thread_mags(struct iova_rcaches *rc,
					      struct thread_cache *tc)
{
	struct thread_mags *m = atomic_load_explicit(&tc->mags,
						     memory_order_relaxed);

	if (likely(m))
		return m;
	m = aligned_zalloc(sizeof(*m) + rc->nr_classes * sizeof(m->cls[0]));
	if (m)
		/* only the owner installs; the others only take */
		atomic_store_explicit(&tc->mags, m, memory_order_release);
	return m;
}

/* The owner's side of the handshake (see the top of the file). */
static inline void cache_enter(struct thread_cache *tc)
{
	unsigned long seq = atomic_load_explicit(&tc->seq,
						 memory_order_relaxed);

	atomic_store_explicit(&tc->seq, seq + 1, memory_order_relaxed);
	if (likely(use_membarrier))
		atomic_signal_fence(memory_order_seq_cst);
	else
		atomic_thread_fence(memory_order_seq_cst);
}

static inline void cache_leave(struct thread_cache *tc)
{
	unsigned long seq = atomic_load_explicit(&tc->seq,
						 memory_order_relaxed);

	/* everything done with the set is ordered before this */
	atomic_store_explicit(&tc->seq, seq + 1, memory_order_release);
}

static inline void mags_add(struct thread_mags *m, long n)
{
	atomic_store_explicit(
		&m->cached,
		atomic_load_explicit(&m->cached, memory_order_relaxed) +
			(unsigned long)n,
		memory_order_relaxed);
}

static inline void count_one(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* ---- get and put ------------------------------------------------------ */

static unsigned long mags_get(struct iova_rcaches *rc, struct thread_mags *m,
			      unsigned int log_size, unsigned long min,
			      unsigned long max)
{
	struct mag_pair *p = &m->cls[log_size];
	unsigned long span = 1UL << log_size, pfn;
	struct iova_magazine *full;

	pfn = iova_mag_pop(p->loaded, span, min, max);
	if (pfn)
		goto hit;
	if (iova_mag_count(p->prev)) {
		struct iova_magazine *t = p->loaded;

		p->loaded = p->prev;
		p->prev = t;
		pfn = iova_mag_pop(p->loaded, span, min, max);
		if (pfn)
			goto hit;
	}
	if (iova_mag_count(p->loaded))
		return 0;
	full = iova_depot_pop(&rc->depots[log_size], 0);
	if (!full)
		return 0;
	free(p->loaded);
	p->loaded = full;
	mags_add(m, (long)full->size);
	pfn = iova_mag_pop(p->loaded, span, min, max);
	if (!pfn)
		return 0;
hit:
	mags_add(m, -1);
	return pfn;
}

unsigned long iova_rcache_get(struct iova_rcaches *rc, unsigned int log_size,
			      unsigned long min, unsigned long max)
{
	struct thread_cache *tc;
	struct thread_mags *m;
	unsigned long pfn = 0;

	if (!rc || log_size >= rc->nr_classes)
		return 0;
	tc = thread_cache(rc);
	if (unlikely(!tc))
		return 0; /* no memory for a cache: the tree serves */
	cache_enter(tc);
	m = thread_mags(rc, tc);
	if (likely(m))
		pfn = mags_get(rc, m, log_size, min, max);
	cache_leave(tc);
	count_one(pfn ? &tc->hits : &tc->misses);
	return pfn;
}

/* Put @pfn in @m; false without room (no memory for a magazine). */
static bool mags_put(struct iova_rcaches *rc, struct thread_mags *m,
		     unsigned int log_size, unsigned long pfn)
{
	struct mag_pair *p = &m->cls[log_size];

	if (iova_mag_count(p->loaded) == IOVA_MAG_SIZE &&
	    iova_mag_count(p->prev) < IOVA_MAG_SIZE) {
		struct iova_magazine *t = p->loaded;

		p->loaded = p->prev;
		p->prev = t;
	}
	if (iova_mag_count(p->loaded) == IOVA_MAG_SIZE) {
		/* both full: the loaded one goes to the depot and an empty
		 * one comes in */
		struct iova_magazine *empty = iova_mag_new();

		if (!empty)
			return false;
		mags_add(m, -(long)IOVA_MAG_SIZE);
		stow_mag(rc, p->loaded, log_size);
		p->loaded = empty;
	} else if (!p->loaded) {
		p->loaded = iova_mag_new();
		if (!p->loaded)
			return false;
	}
	iova_mag_push(p->loaded, pfn);
	mags_add(m, 1);
	return true;
}

bool iova_rcache_put(struct iova_rcaches *rc, unsigned int log_size,
		     unsigned long pfn)
{
	struct thread_cache *tc;
	struct thread_mags *m;
	bool done = false;

	/* pfn 0 would come back out of get as "none" (and be lost there):
	 * it is never cached */
	if (!rc || log_size >= rc->nr_classes || !pfn)
		return false;
	tc = thread_cache(rc);
	if (unlikely(!tc))
		return false;
	cache_enter(tc);
	m = thread_mags(rc, tc);
	if (likely(m))
		done = mags_put(rc, m, log_size, pfn);
	cache_leave(tc);
	return done;
}

/* ---- flush, destroy, counts ------------------------------------------- */

/* Wait until @tc's owner is no longer in a get or put it entered before
 * the caller's exchange and membarrier().  Under caches_lock. */
static void wait_for_owner(struct thread_cache *tc)
{
	unsigned long seq = atomic_load_explicit(&tc->seq,
						 memory_order_acquire);

	if (!(seq & 1))
		return;
	for (unsigned int spins = 0;
	     atomic_load_explicit(&tc->seq, memory_order_acquire) == seq;
	     spins++) {
		if (spins < 1000)
			caa_cpu_relax();
		else
			sched_yield(); /* the owner was preempted mid-call */
	}
}

void iova_rcaches_flush(struct iova_rcaches *rc)
{
	struct thread_mags *taken = NULL;
	struct thread_cache *tc;

	pthread_mutex_lock(&caches_lock);
	cds_list_for_each_entry(tc, &rc->threads, node) {
		struct thread_mags *m =
			atomic_load_explicit(&tc->mags, memory_order_acquire);

		/*
		 * A set holding nothing stays: a flush with nothing to take
		 * then costs no membarrier() (a failing allocation flushes
		 * before each retry: I-exhaust32 flushes for every request
		 * once the space is full).  A put still running on it may
		 * cache its pfn after all: that free runs concurrently with
		 * the flush, which promises nothing about such frees.
		 */
		if (!m || !atomic_load_explicit(&m->cached,
						memory_order_relaxed))
			continue;
		m = atomic_exchange(&tc->mags, NULL);
		if (m) {
			m->next = taken;
			taken = m;
		}
	}
	if (taken) {
		/* the owners' compiler barriers become full ones */
		if (use_membarrier)
			syscall(__NR_membarrier,
				MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
		cds_list_for_each_entry(tc, &rc->threads, node)
			wait_for_owner(tc);
	}
	pthread_mutex_unlock(&caches_lock);
	while (taken) {
		struct thread_mags *m = taken;

		taken = m->next;
		for (unsigned int c = 0; c < rc->nr_classes; c++) {
			release_mag(rc, m->cls[c].loaded, c);
			release_mag(rc, m->cls[c].prev, c);
		}
		free(m);
	}
	for (unsigned int c = 0; c < rc->nr_classes; c++) {
		struct iova_magazine *mag =
			iova_depot_take_all(&rc->depots[c]);

		while (mag) {
			struct iova_magazine *next = mag->next;

			release_mag(rc, mag, c);
			mag = next;
		}
	}
}

void iova_rcaches_destroy(struct iova_rcaches *rc)
{
	if (!rc)
		return;
	iova_timer_shutdown(&rc->trim); /* a trim running now finishes */
	pthread_mutex_lock(&caches_lock);
	while (!cds_list_empty(&rc->threads)) {
		struct thread_cache *tc = cds_list_first_entry(
			&rc->threads, struct thread_cache, node);
		struct thread_table *t = tc->table;

		/* the owner forgets this set: its lookups compare last_rc
		 * without the lock, so that goes first */
		if (atomic_load_explicit(&t->last_rc, memory_order_relaxed) ==
		    rc)
			atomic_store_explicit(&t->last_rc, NULL,
					      memory_order_relaxed);
		for (unsigned int i = 0; i < t->nr; i++)
			if (t->e[i].rc == rc)
				t->e[i].rc = NULL;
		thread_cache_retire(tc); /* into the depots freed below */
	}
	pthread_mutex_unlock(&caches_lock);
	for (unsigned int c = 0; c < rc->nr_classes; c++)
		iova_depot_destroy(&rc->depots[c]);
	free(rc->depots);
	free(rc);
}

void iova_rcaches_counts(struct iova_rcaches *rc,
			 struct iova_rcache_counts *out)
{
	struct thread_cache *tc;

	memset(out, 0, sizeof(*out));
	if (!rc)
		return;
	pthread_mutex_lock(&caches_lock);
	out->hits = rc->gone_hits;
	out->misses = rc->gone_misses;
	cds_list_for_each_entry(tc, &rc->threads, node) {
		/* a set is freed only under caches_lock, or after a flush
		 * took it under the lock: this one stays while we look */
		struct thread_mags *m =
			atomic_load_explicit(&tc->mags, memory_order_acquire);

		out->hits += atomic_load_explicit(&tc->hits,
						  memory_order_relaxed);
		out->misses += atomic_load_explicit(&tc->misses,
						    memory_order_relaxed);
		if (m)
			out->cached += atomic_load_explicit(
				&m->cached, memory_order_relaxed);
	}
	pthread_mutex_unlock(&caches_lock);
	for (unsigned int c = 0; c < rc->nr_classes; c++)
		out->cached += iova_depot_pfns(&rc->depots[c]);
}

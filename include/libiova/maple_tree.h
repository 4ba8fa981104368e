/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * maple_tree.h - a B-tree of non-overlapping ranges, RCU-safe, with gap
 * tracking; the Linux kernel's maple tree API in userspace.
 *
 * A tree maps every index in [0, ULONG_MAX] to exactly one entry or NULL;
 * ranges are inclusive.  Code written against the kernel's
 * <linux/maple_tree.h> compiles against this header unchanged: the same
 * names, arguments, return values and error codes.
 *
 * Entries: any pointer or xa_mk_value() value.  Values whose low two bits
 * are 10 ("internal" entries) below MAPLE_RESERVED_RANGE are reserved and
 * rejected by the normal API with -EINVAL.  XA_ZERO_ENTRY occupies its range
 * but reads as NULL through the normal API.
 *
 * Locking (see docs/maple-tree.md):
 *   - the normal API (mtree_*, mt_*) locks for itself: writers take the
 *     tree's internal lock, readers run under the RCU read lock.  When a
 *     write runs out of nodes and its gfp may block, the internal lock is
 *     dropped while allocating and the write is redone from a fresh walk.
 *   - a tree created with MT_FLAGS_LOCK_EXTERN is protected by the user's
 *     own lock (mt_set_external_lock): the caller holds it around every
 *     write, normal API included, and the library never takes nor drops
 *     it.  Debug builds check it is held on every write.
 *   - the advanced API (mas_*) leaves locking to the caller: hold
 *     mtree_lock() (or the external lock) to write, and the lock or the RCU
 *     read lock to read.  Gap searches (mas_empty_area*) need the lock.
 *   - reads under the RCU read lock alone are safe during writes only for
 *     a tree in RCU mode (MT_FLAGS_USE_RCU, mt_set_in_rcu).
 *
 * Errors are negative errno values: -EINVAL (bad arguments), -EEXIST
 * (insert over an entry), -EBUSY (no gap of that size), -ENOMEM.  A write
 * that fails leaves the tree exactly as it was.  Any call that allocates
 * nodes also fails with -EINVAL, as it would with -ENOMEM, when the tree's
 * allocator hands out a node that is not MT_NODE_SIZE-aligned (a broken
 * user allocator: see mt_alloc.h); it is not retried.
 */
#ifndef LIBIOVA_MAPLE_TREE_H
#define LIBIOVA_MAPLE_TREE_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libiova/gfp.h>
#include <libiova/mt_alloc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- entries (the xarray conventions) ------------------------------- */

#define MAX_ERRNO 4095
#define MAPLE_RESERVED_RANGE 4096

/* An integer as an entry: 63 bits, distinct from any aligned pointer. */
static inline void *xa_mk_value(unsigned long v)
{
	return (void *)((v << 1) | 1);
}

static inline unsigned long xa_to_value(const void *entry)
{
	return (unsigned long)entry >> 1;
}

static inline bool xa_is_value(const void *entry)
{
	return ((unsigned long)entry & 1) != 0;
}

static inline void *xa_mk_internal(unsigned long v)
{
	return (void *)((v << 2) | 2);
}

static inline unsigned long xa_to_internal(const void *entry)
{
	return (unsigned long)entry >> 2;
}

static inline bool xa_is_internal(const void *entry)
{
	return ((unsigned long)entry & 3) == 2;
}

/* Occupies a range, reads as NULL through the normal API. */
#define XA_ZERO_ENTRY xa_mk_internal(257)

static inline bool xa_is_zero(const void *entry)
{
	return entry == XA_ZERO_ENTRY;
}

/* An errno encoded as an entry (the maple state's error). */
static inline bool xa_is_err(const void *entry)
{
	return xa_is_internal(entry) &&
	       (unsigned long)entry >= (unsigned long)xa_mk_internal(-MAX_ERRNO);
}

static inline int xa_err(const void *entry)
{
	if (xa_is_err(entry))
		return (int)((long)entry >> 2);
	return 0;
}

/* Entries the normal API refuses to store. */
static inline bool mt_is_reserved(const void *entry)
{
	return (unsigned long)entry < MAPLE_RESERVED_RANGE &&
	       xa_is_internal(entry);
}

/* ---- the tree ------------------------------------------------------- */

#define MT_FLAGS_ALLOC_RANGE   0x01u  /* track gaps: an allocation tree */
#define MT_FLAGS_USE_RCU       0x02u  /* readers may run during writes */
#define MT_FLAGS_HEIGHT_OFFSET 0x02u
#define MT_FLAGS_HEIGHT_MASK   0x7Cu
#define MT_FLAGS_ALLOC_WRAPPED 0x0800u /* mtree_alloc_cyclic wrapped */
#define MT_FLAGS_LOCK_MASK     0x300u
#define MT_FLAGS_LOCK_IRQ      0x100u  /* accepted; same as the default */
#define MT_FLAGS_LOCK_BH       0x200u  /* accepted; same as the default */
#define MT_FLAGS_LOCK_EXTERN   0x300u  /* the user's lock protects writes */
#define MAPLE_HEIGHT_MAX 31

struct maple_enode; /* a tagged node pointer */
struct maple_tree;

/*
 * Called, under the tree lock, when mtree_erase() could get no node from
 * the allocator nor from the tree's reserve: the range holding @index was
 * overwritten with XA_ZERO_ENTRY instead (see mtree_erase).
 */
typedef void (*mt_erase_failed_fn)(struct maple_tree *mt, unsigned long index,
				   void *entry, void *arg);

/* What the tree's node reserve did; read with mt_tree_stats(). */
struct mt_tree_stats {
	unsigned int reserve_target;  /* nodes the reserve is kept at */
	unsigned int reserve_now;     /* nodes in it now */
	unsigned int reserve_low;     /* fewest it held since set */
	uint64_t reserve_draws;       /* nodes writes took from it */
	uint64_t reserve_refills;     /* nodes put back by blocking writes */
	uint64_t erase_zeroed;        /* erases left as XA_ZERO_ENTRY */
};

/* Whether the user's lock @lock is held (see mt_set_external_lock_check). */
typedef bool (*mt_lock_held_fn)(void *lock);

/*
 * A tree.  Initialize with DEFINE_MTREE, MTREE_INIT, MTREE_INIT_EXT or
 * mt_init_flags(); the fields are the library's.  ma_alloc is the node
 * allocator (NULL for mt_allocator_default()); set it with
 * mt_set_allocator() while the tree is empty.
 */
struct maple_tree {
	pthread_mutex_t ma_lock;
	unsigned int ma_flags;
	void *ma_root;
	struct mt_allocator *ma_alloc;
	/* the node reserve (mt_reserve_nodes), under the tree lock */
	void *ma_reserve;
	/* RCU mode: replaced nodes not yet handed to call_rcu (a batch of at
	 * most a few dozen), under the tree lock */
	void *ma_retired;
	struct mt_tree_stats ma_stats;
	mt_erase_failed_fn ma_erase_failed;
	void *ma_erase_failed_arg;
	/* MT_FLAGS_LOCK_EXTERN: the user's lock, and how to test it is held
	 * (NULL: it is a pthread_mutex_t) */
	void *ma_external_lock;
	mt_lock_held_fn ma_lock_held;
};

#define MTREE_INIT(name, __flags)                                             \
	{                                                                     \
		PTHREAD_MUTEX_INITIALIZER, (__flags), NULL, NULL, NULL, NULL, \
		{ 0, 0, 0, 0, 0, 0 }, NULL, NULL, NULL, NULL                  \
	}

/*
 * A tree protected by the user's pthread_mutex_t @__lock (a pointer):
 * MT_FLAGS_LOCK_EXTERN is added to @__flags.
 */
#define MTREE_INIT_EXT(name, __flags, __lock)                                 \
	{                                                                     \
		PTHREAD_MUTEX_INITIALIZER,                                    \
		(__flags) | MT_FLAGS_LOCK_EXTERN, NULL, NULL, NULL, NULL,     \
		{ 0, 0, 0, 0, 0, 0 }, NULL, NULL, (__lock), NULL              \
	}

#define DEFINE_MTREE(name) struct maple_tree name = MTREE_INIT(name, 0)

/* Initialize @mt, empty, with MT_FLAGS_* @flags.  Never fails. */
void mt_init_flags(struct maple_tree *mt, unsigned int flags);

static inline void mt_init(struct maple_tree *mt)
{
	mt_init_flags(mt, 0);
}

/*
 * mt_set_allocator - make @mt take its nodes from @alloc.
 * Returns 0; -EINVAL if @mt is NULL; -EBUSY if the tree holds nodes.
 * @alloc NULL selects mt_allocator_default().  @alloc must outlive the
 * tree's nodes.
 */
int mt_set_allocator(struct maple_tree *mt, struct mt_allocator *alloc);

static inline bool mt_is_alloc(const struct maple_tree *mt)
{
	return (mt->ma_flags & MT_FLAGS_ALLOC_RANGE) != 0;
}

static inline bool mt_in_rcu(const struct maple_tree *mt)
{
	return (mt->ma_flags & MT_FLAGS_USE_RCU) != 0;
}

static inline bool mtree_empty(const struct maple_tree *mt)
{
	return mt->ma_root == NULL;
}

/* Height of the tree: 0 when empty or when the root holds one entry. */
unsigned int mt_height(const struct maple_tree *mt);

/*
 * The tree's internal lock, for users of the advanced API.  Blocks until
 * the lock is free; never allocates.  On a tree with an external lock it
 * still takes the (then unused) internal lock: take your own lock instead.
 */
void mtree_lock(struct maple_tree *mt);
void mtree_unlock(struct maple_tree *mt);

static inline bool mt_external_lock(const struct maple_tree *mt)
{
	return (mt->ma_flags & MT_FLAGS_LOCK_MASK) == MT_FLAGS_LOCK_EXTERN;
}

/*
 * mt_set_external_lock - protect @mt with the user's mutex @lock instead of
 * its internal lock; sets MT_FLAGS_LOCK_EXTERN.  From then on the caller
 * holds @lock around every write to @mt, through the normal API too, and
 * the library never takes or drops it (a blocking allocation then waits
 * with @lock held).  Call it before the tree is shared.  Never blocks.
 *
 * mt_set_external_lock_check - the same for any other kind of lock (a
 * spinlock, a rwlock held for writing): @held(@lock) tells whether it is
 * held.  @held may be NULL (no check).
 */
void mt_set_external_lock(struct maple_tree *mt, pthread_mutex_t *lock);
void mt_set_external_lock_check(struct maple_tree *mt, void *lock,
				mt_lock_held_fn held);

/*
 * mt_lock_is_held - whether the lock that protects writes to @mt is held:
 * the internal lock, or the external lock through its check (true when
 * there is no check).  A mutex is reported held whichever thread holds it.
 */
bool mt_lock_is_held(struct maple_tree *mt);

/*
 * Called by debug builds (NDEBUG not defined when libmapletree was built)
 * when a write to a tree with an external lock finds the lock not held.
 * The default prints the violation to stderr and aborts.  Process-wide;
 * NULL restores the default.  Release builds make no check.
 */
typedef void (*mt_lock_violation_fn)(struct maple_tree *mt, const char *what);
void mt_set_lock_violation_handler(mt_lock_violation_fn fn);

/*
 * mt_set_in_rcu / mt_clear_in_rcu - switch RCU mode on or off.  In RCU
 * mode, readers under the RCU read lock alone may run during writes:
 * writers copy what they change and free replaced nodes after a grace
 * period.  Replaced nodes reach call_rcu in batches of up to 26, so a tree
 * in RCU mode may hold back that many nodes from its allocator until the
 * batch fills; it hands a partial batch over when a node allocation fails,
 * before a write fills the node reserve with a blocking allocation, and in
 * mt_clear_in_rcu, mtree_destroy and mt_set_allocator.  Takes the internal
 * lock (with an external lock the caller holds it).  Never allocates.
 */
void mt_set_in_rcu(struct maple_tree *mt);
void mt_clear_in_rcu(struct maple_tree *mt);

/* ---- normal API: locks for itself ----------------------------------- */

/*
 * mtree_load - the entry at @index, or NULL.  Never blocks or allocates.
 */
void *mtree_load(struct maple_tree *mt, unsigned long index);

/*
 * mtree_store_range - store @entry over [@first, @last], overwriting what
 * was there.  Storing NULL erases.  Takes the tree lock; allocates with
 * @gfp.  Returns 0; -EINVAL (first > last, or @entry reserved); -ENOMEM
 * (tree unchanged).
 */
int mtree_store_range(struct maple_tree *mt, unsigned long first,
		      unsigned long last, void *entry, gfp_t gfp);
int mtree_store(struct maple_tree *mt, unsigned long index, void *entry,
		gfp_t gfp);

/*
 * mtree_insert_range - store @entry over [@first, @last] only if that
 * whole range is NULL.  Returns 0; -EEXIST if anything (including
 * XA_ZERO_ENTRY) is stored in the range; -EINVAL (first > last, @entry NULL
 * or reserved); -ENOMEM.  Allocates with @gfp; a failure changes nothing.
 */
int mtree_insert_range(struct maple_tree *mt, unsigned long first,
		       unsigned long last, void *entry, gfp_t gfp);
int mtree_insert(struct maple_tree *mt, unsigned long index, void *entry,
		 gfp_t gfp);

/*
 * mtree_erase - erase the whole range containing @index.  Returns the
 * entry that was there (NULL if none; XA_ZERO_ENTRY reads as NULL).
 *
 * Never fails.  An erase can need a node (a rebalance); it allocates with
 * GFP_KERNEL | __GFP_HIGH, so it may block and may draw on the tree's node
 * reserve.  If neither gives a node, the range is overwritten in place
 * with XA_ZERO_ENTRY, which needs none: the entry is gone for every reader
 * and mtree_load() returns NULL there, but the range stays occupied
 * (mtree_insert -EEXIST, not free to mtree_alloc_range) until a later
 * mtree_erase() inside it succeeds.  That is counted (erase_zeroed) and
 * reported to the callback set with mt_set_erase_failed().
 */
void *mtree_erase(struct maple_tree *mt, unsigned long index);

/* mtree_destroy - remove every entry and free every node (in RCU mode,
 * after a grace period, as a writer would). */
void mtree_destroy(struct maple_tree *mt);

/*
 * mt_find - the first entry whose range intersects [*@index, @max].
 * On success *@index is set past that range (to 0 when it ends at
 * ULONG_MAX); on NULL *@index is left alone.  XA_ZERO_ENTRY is skipped.
 */
void *mt_find(struct maple_tree *mt, unsigned long *index, unsigned long max);

/* mt_find_after - mt_find(), but NULL when *@index is 0 (wrapped). */
void *mt_find_after(struct maple_tree *mt, unsigned long *index,
		    unsigned long max);

/* mt_next - the first entry after the range containing @index, up to @max. */
void *mt_next(struct maple_tree *mt, unsigned long index, unsigned long max);

/* mt_prev - the last entry before the range containing @index, down to @min. */
void *mt_prev(struct maple_tree *mt, unsigned long index, unsigned long min);

/* Every entry from @__index (set it first) up to @__max, in order. */
#define mt_for_each(__tree, __entry, __index, __max)                          \
	for (__entry = mt_find(__tree, &(__index), __max); __entry;           \
	     __entry = mt_find_after(__tree, &(__index), __max))

/*
 * mtree_alloc_range - store @entry in the lowest free range of @size
 * indices inside [@min, @max] of an allocation tree; *@startp gets its
 * first index.  Returns 0; -EBUSY (no such range); -EINVAL (not an
 * allocation tree, size 0, min > max, window smaller than @size, @entry
 * NULL or reserved); -ENOMEM.
 */
int mtree_alloc_range(struct maple_tree *mt, unsigned long *startp,
		      void *entry, unsigned long size, unsigned long min,
		      unsigned long max, gfp_t gfp);

/* mtree_alloc_rrange - as mtree_alloc_range(), the highest free range. */
int mtree_alloc_rrange(struct maple_tree *mt, unsigned long *startp,
		       void *entry, unsigned long size, unsigned long min,
		       unsigned long max, gfp_t gfp);

/*
 * mtree_alloc_cyclic - store @entry at the first free index at or after
 * *@next inside [@range_lo, @range_hi], wrapping to @range_lo once.
 * *@next may hold any value: below @range_lo the search starts there,
 * above @range_hi it starts over at @range_lo (a wrap).  Nothing is ever
 * stored outside [@range_lo, @range_hi].  *@startp gets the index, *@next
 * the index after it (0 after ULONG_MAX).  Returns 0; 1 if the search
 * wrapped; -EBUSY (full: nothing stored, *@startp and *@next unchanged);
 * -EINVAL; -ENOMEM.
 */
int mtree_alloc_cyclic(struct maple_tree *mt, unsigned long *startp,
		       void *entry, unsigned long range_lo,
		       unsigned long range_hi, unsigned long *next, gfp_t gfp);

/*
 * mtree_dup - make the empty tree @new_tree a copy of @mt: the same entries
 * in the same shape, and @mt's MT_FLAGS_ALLOC_RANGE; @new_tree keeps its
 * own allocator, lock and RCU setting.  Takes both trees' locks (@mt's
 * first).  Returns 0; -EINVAL (a NULL tree, the same tree twice, or
 * @new_tree not empty); -ENOMEM (@new_tree left empty, nothing allocated).
 * Allocates every node with @gfp before copying.
 */
int mtree_dup(struct maple_tree *mt, struct maple_tree *new_tree, gfp_t gfp);

/* Most nodes a tree's reserve may hold (256 KiB of nodes): a write takes
 * at most 3 nodes per level and one more for a new root, so this covers
 * dozens of worst-case writes in the tallest trees. */
#define MT_RESERVE_MAX 1024u

/*
 * mt_reserve_nodes - keep @nr nodes in reserve for @mt.
 * A write whose gfp has __GFP_HIGH (GFP_ATOMIC; mtree_erase) takes nodes
 * from the reserve when the allocator returns none; any write with a
 * blocking gfp that succeeds tops the reserve back up to @nr.  @nr = 0
 * gives the reserve back; a smaller @nr gives back the nodes above it.
 * Fills it now with @gfp, all or nothing.  Takes the tree lock.
 * Returns 0; -EINVAL (@mt NULL, @nr above MT_RESERVE_MAX); -ENOMEM (it
 * could not be filled), or -EINVAL (the allocator handed out a misaligned
 * node): on every error the nodes this call took are given back and the
 * target and the reserve stay as they were.
 */
int mt_reserve_nodes(struct maple_tree *mt, unsigned int nr, gfp_t gfp);

/* mt_tree_stats - the tree's reserve counters.  Returns 0 or -EINVAL. */
int mt_tree_stats(struct maple_tree *mt, struct mt_tree_stats *st);

/*
 * mt_set_erase_failed - call @fn (under the tree lock; it must not use the
 * tree) when mtree_erase() has to leave XA_ZERO_ENTRY behind.  NULL: none.
 */
void mt_set_erase_failed(struct maple_tree *mt, mt_erase_failed_fn fn,
			 void *arg);

/* ---- advanced API: the caller locks --------------------------------- */

/*
 * mt_read_lock / mt_read_unlock - the RCU read lock of the liburcu flavor
 * the library uses (memb), registering the calling thread first if it is
 * not registered (see docs/maple-tree.md).  For advanced-API readers that
 * do not link liburcu themselves.  Nests; never blocks or allocates.
 */
void mt_read_lock(void);
void mt_read_unlock(void);

enum maple_status {
	ma_active,    /* positioned on a range */
	ma_start,     /* not yet walked */
	ma_root,      /* the root holds a single entry at index 0 */
	ma_none,      /* walked; the tree is empty */
	ma_pause,     /* paused: the next find continues after last */
	ma_overflow,  /* went past the upper limit */
	ma_underflow, /* went past the lower limit */
	ma_error,     /* an operation failed: xa_err(node) tells why */
};

/*
 * The operation state.  index and last are the range of the operation or
 * of what it found; the other fields are the library's.
 */
struct ma_state {
	struct maple_tree *tree;
	unsigned long index;
	unsigned long last;
	struct maple_enode *node;
	unsigned long min;
	unsigned long max;
	void *alloc;               /* preallocated nodes */
	enum maple_status status;
	unsigned char depth;
	unsigned char offset;
	unsigned char mas_flags;
	unsigned char end;
	unsigned int alloc_count;  /* nodes in alloc */
	unsigned int alloc_req;    /* nodes the last failed write wanted */
};

#define MA_STATE(name, mt, first, end_)                                       \
	struct ma_state name = { (mt), (first), (end_), NULL, 0, ULONG_MAX,   \
				 NULL, ma_start, 0, 0, 0, 0, 0, 0 }

static inline void mas_reset(struct ma_state *mas)
{
	mas->status = ma_start;
	mas->node = NULL;
}

static inline void mas_set_range(struct ma_state *mas, unsigned long start,
				 unsigned long last)
{
	mas->index = start;
	mas->last = last;
	mas_reset(mas);
}

static inline void mas_set(struct ma_state *mas, unsigned long index)
{
	mas_set_range(mas, index, index);
}

static inline bool mas_is_err(const struct ma_state *mas)
{
	return mas->status == ma_error;
}

/*
 * mas_walk - the entry at mas->index; sets index and last to the range
 * holding it (the NULL range when there is none).
 */
void *mas_walk(struct ma_state *mas);

/*
 * mas_find - first call: the first entry at or after mas->index up to
 * @max; later calls: the next entry.  NULL when none is left (status
 * ma_overflow).  mas_find_rev: the same downwards from mas->index, to
 * @min (status ma_underflow at the end).
 */
void *mas_find(struct ma_state *mas, unsigned long max);
void *mas_find_rev(struct ma_state *mas, unsigned long min);

/*
 * mas_find_range - like mas_find(), but later calls step to the next
 * range whether or not it holds an entry.  mas_find_range_rev likewise.
 */
void *mas_find_range(struct ma_state *mas, unsigned long max);
void *mas_find_range_rev(struct ma_state *mas, unsigned long min);

/*
 * mas_next - the next entry after the current range, if it starts at or
 * below @max; else NULL and status ma_overflow, positioned on the range
 * past @max so that a later call with a larger @max returns it.
 * mas_prev: the previous entry, if it ends at or above @min; else NULL and
 * ma_underflow.  mas_next_range/mas_prev_range step one range, NULL or not.
 */
void *mas_next(struct ma_state *mas, unsigned long max);
void *mas_prev(struct ma_state *mas, unsigned long min);
void *mas_next_range(struct ma_state *mas, unsigned long max);
void *mas_prev_range(struct ma_state *mas, unsigned long min);

#define mas_for_each(__mas, __entry, __max)                                   \
	while (((__entry) = mas_find((__mas), (__max))) != NULL)

#define mas_for_each_rev(__mas, __entry, __min)                               \
	while (((__entry) = mas_find_rev((__mas), (__min))) != NULL)

/*
 * mas_pause - let the caller drop the lock; the next mas_find/mas_next
 * continues after mas->last, mas_find_rev/mas_prev before mas->index.
 */
void mas_pause(struct ma_state *mas);

/*
 * mas_store - store @entry over [mas->index, mas->last].  Returns the
 * first entry overwritten.  Uses the nodes preallocated in @mas, else
 * allocates with GFP_NOWAIT; on failure returns NULL with mas_is_err()
 * true (xa_err(mas->node) == -ENOMEM) and the tree unchanged.
 */
void *mas_store(struct ma_state *mas, void *entry);

/*
 * mas_store_gfp - store @entry over [mas->index, mas->last], allocating
 * with @gfp.  The caller holds the write lock, which is never dropped.
 * The store is first tried without waiting; when it runs out of nodes and
 * @gfp may block, the nodes it needs are allocated with @gfp (this may
 * block) and the store is done again, as with mas_nomem().  A non-blocking
 * @gfp (GFP_ATOMIC may use the tree's node reserve) tries once.  Returns
 * 0; -EINVAL (index > last, or the allocator's nodes are misaligned);
 * -ENOMEM (tree unchanged).  Nodes left over stay in @mas for
 * mas_destroy().
 */
int mas_store_gfp(struct ma_state *mas, void *entry, gfp_t gfp);

/*
 * mas_preallocate - reserve in @mas every node that storing @entry over
 * [mas->index, mas->last] can need, so that mas_store_prealloc() cannot
 * fail.  Returns 0 or -ENOMEM (nothing reserved).  Free what is left with
 * mas_destroy().
 */
int mas_preallocate(struct ma_state *mas, void *entry, gfp_t gfp);
void mas_store_prealloc(struct ma_state *mas, void *entry);

/*
 * mas_nomem - after a write failed with -ENOMEM, allocate with @gfp the
 * nodes it wanted.  Returns true if the write should be retried (nodes
 * were obtained); false otherwise (no memory error, or still no memory:
 * the error stays in @mas).
 */
bool mas_nomem(struct ma_state *mas, gfp_t gfp);

/* mas_destroy - give back the nodes still reserved in @mas. */
void mas_destroy(struct ma_state *mas);

/*
 * mas_erase - erase the range containing mas->index; index and last are
 * set to that range.  Returns the entry erased, or NULL with the error in
 * @mas (mas_is_err) and the tree unchanged.  Allocates as
 * mas_store_gfp() does with GFP_KERNEL: may block, with the caller's lock
 * held.
 */
void *mas_erase(struct ma_state *mas);

/*
 * mas_empty_area - find the lowest free range of @size indices inside
 * [@min, @max]; on success mas->index and mas->last are set to it.
 * mas_empty_area_rev - the highest.  Returns 0; -EBUSY (none); -EINVAL
 * (size 0, min > max, window smaller than @size).  O(log n) in
 * allocation trees; other trees are scanned.  Our extension: on success
 * mas->min and mas->max hold the whole free range the result lies in,
 * clipped to [@min, @max] (the kernel leaves node limits there), so an
 * aligned placement inside it needs no second walk.
 */
int mas_empty_area(struct ma_state *mas, unsigned long min, unsigned long max,
		   unsigned long size);
int mas_empty_area_rev(struct ma_state *mas, unsigned long min,
		       unsigned long max, unsigned long size);

/*
 * mas_empty_area_aligned - our extension: the lowest (@rev false) or
 * highest (@rev true) range of @size free indices inside [@min, @max]
 * whose first index is a multiple of @align (a power of two), in one
 * search.  The search prunes by gap size, so each free range of at least
 * @size that cannot hold an aligned placement is visited and passed: a
 * "miss".  @max_misses bounds them (0: no bound; the search is then linear
 * in the misses, and -EBUSY means there is no room at all).
 *
 * Returns 0 with mas->index, mas->last on the placement and mas->min,
 * mas->max on the free range it lies in (clipped to the window); -EBUSY
 * (no placement); -EAGAIN (@max_misses passed: mas->min and mas->max hold
 * the part of the window not searched yet, below (@rev) or above the last
 * range passed); -EINVAL (size 0, min > max, window smaller than @size,
 * @align not a power of two).  Locking and cost as mas_empty_area(), plus
 * O(@max_misses) per search.  Does not allocate.
 */
int mas_empty_area_aligned(struct ma_state *mas, unsigned long min,
			   unsigned long max, unsigned long size,
			   unsigned long align, unsigned int max_misses,
			   bool rev);

/* ---- debugging ------------------------------------------------------ */

/*
 * mt_validate - check every structural invariant of @mt: pivots ordered
 * and inside node limits, parent links, occupancy, no adjacent NULLs in a
 * leaf, gaps and metadata exact, height.  Returns 0, or -EUCLEAN after
 * printing the first violation to stderr.  The caller holds the lock.
 */
int mt_validate(struct maple_tree *mt);

/* mt_validate_msg - as mt_validate(), the message into @buf instead. */
int mt_validate_msg(struct maple_tree *mt, char *buf, size_t len);

enum mt_dump_format {
	mt_dump_dec,
	mt_dump_hex,
};

/* mt_dump - print @mt, node by node, to stdout. */
void mt_dump(const struct maple_tree *mt, enum mt_dump_format format);

#ifdef __cplusplus
}
#endif

#endif /* LIBIOVA_MAPLE_TREE_H */

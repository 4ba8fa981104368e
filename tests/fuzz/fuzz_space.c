/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_space.c - the IOVA space API (iova_space.h) against a model of the
 * space in granules.
 *
 * The input chooses the layout (granule 1 B - 64 KiB, address width 20 -
 * 64 bits, 0 - 3 windows in any order, touching or not, 0 - 3 reserved
 * ranges in bytes, size caches on or off and their largest class) and
 * whether tree nodes fail (bit i of a 64-bit mask per operation fails the
 * operation's (i+1)-th node request), then a sequence of alloc (top-down,
 * bottom-up, aligned, inside [min, max] in bytes), alloc_at, free,
 * lookup, for_each, for_each_hole, stats, window info and flushes.
 *
 * The model holds the holes (outside the windows, granule 0), the
 * reservations and the live allocations exactly; a freed range that may
 * sit in a size cache or be parked (a free that got no node) is "maybe
 * free" until a flush of the caches and of the parked frees.  Checked:
 * every error code against the arguments; a placement inside one window
 * and [min, max], aligned, never over anything taken, and exactly the
 * highest (lowest, bottom-up) when nothing is maybe free; -ENOSPC only
 * when the model has no room once caches and parked frees are flushed;
 * -ENOMEM only when a fault was injected; lookups, iteration, holes,
 * stats and windows exactly; no live node after destroy.
 *
 * Touching windows are one window (issue 19 item 4), holes are clipped
 * to bytes (item 5) and a parked free does not keep alloc_at out.
 */
#include <errno.h>
#include <string.h>

#include <libiova/iova_space.h>
#include <libiova/maple_tree.h>

#include "faults.h"
#include "fuzz.h"
#include "model.h"

enum kind { HOLE = 1, RESV = 2, LIVE = 3, MAYBE = 4 };

struct run {
	struct fz in;
	struct iova_space *space;
	struct mt_allocator *cache, *fault;
	bool faults, caches;
	struct fz_faults fl;  /* over fault when faults are on */
	unsigned int shift;
	uint64_t g;           /* granule, bytes */
	unsigned long top;    /* last granule inside the width */
	/* the windows in granules, merged where they touch, sorted */
	struct iova_range win[3];
	unsigned int nr_win;
	struct model occ;     /* holes, reservations, live, maybe free */
	struct model hard;    /* holes, reservations, live */
	unsigned long next_id;
};

static enum kind kind_of(void *e)
{
	return (enum kind)(xa_to_value(e) & 7);
}

static void *mk(struct run *r, enum kind k)
{
	return xa_mk_value((++r->next_id << 3) | k);
}

static void take(struct run *r, unsigned long lo, unsigned long hi,
		 enum kind k)
{
	void *e = mk(r, k);

	model_store(&r->occ, lo, hi, e);
	if (k != MAYBE)
		model_store(&r->hard, lo, hi, e);
	else
		model_store(&r->hard, lo, hi, NULL);
}

static bool has_maybe(const struct run *r)
{
	for (size_t k = 0; k < r->occ.count; k++)
		if (kind_of(r->occ.r[k].entry) == MAYBE)
			return true;
	return false;
}

static void faults_arm(struct run *r, uint64_t mask)
{
	fz_faults_arm(&r->fl, mask);
}

static bool faults_injected(struct run *r)
{
	return fz_faults_injected(&r->fl);
}

/* ---- the flush: what the model calls maybe free becomes free -------- */

static void flush_all(struct run *r)
{
	uint64_t remaining = 1;
	struct iova_space_stats st;
	struct iova_deferral_stats ds;

	faults_arm(r, 0);
	FZ_CHECK(iova_space_flush_cache(r->space) == 0, "flush_cache");
	FZ_CHECK(iova_space_flush_deferred(r->space, &remaining) == 0 &&
		 remaining == 0, "flush_deferred: %lu left",
		 (unsigned long)remaining);
	FZ_CHECK(iova_space_stats(r->space, &st) == 0 && st.cached == 0,
		 "cached after a flush");
	FZ_CHECK(iova_space_deferral_stats(r->space, &ds) == 0 &&
		 ds.parked_now == 0, "parked after a flush");
	for (size_t k = 0; k < r->occ.count;) {
		struct model_range m = r->occ.r[k];

		if (kind_of(m.entry) == MAYBE) {
			model_store(&r->occ, m.first, m.last, NULL);
			continue;
		}
		k++;
	}
}

/* ---- input shapes ---------------------------------------------------- */

/* A granule number: small, near the top, or anywhere. */
static unsigned long pick_pfn(struct run *r)
{
	uint8_t shape = fz_u8(&r->in);

	if (shape < 160)
		return fz_u8(&r->in);
	if (shape < 208)
		return r->top - fz_u8(&r->in);
	return (unsigned long)fz_num(&r->in);
}

/* A byte address: a granule's start, often a little off it. */
static uint64_t pick_addr(struct run *r)
{
	uint64_t a = (uint64_t)pick_pfn(r) << r->shift;
	uint8_t off = fz_u8(&r->in);

	if (off < 128)
		return a;
	if (off < 192)
		return a + (off & (r->g - 1));
	return a - 1 - (off & (r->g - 1));
}

/* [min, max] in bytes, sometimes whole granules only. */
static void pick_window(struct run *r, uint64_t *min, uint64_t *max,
			bool whole)
{
	uint8_t shape = fz_u8(&r->in);
	uint64_t a, b;

	if (shape < 64) {
		*min = 0;
		*max = UINT64_MAX;
		return;
	}
	a = pick_addr(r);
	b = pick_addr(r);
	*min = a < b ? a : b;
	*max = a < b ? b : a;
	if (whole) {
		*min &= ~(r->g - 1);
		*max |= r->g - 1;
	}
}

/* ---- setup ------------------------------------------------------------ */

static bool setup(struct run *r)
{
	struct iova_range windows[3], reserved[3];
	struct iova_space_config cfg = { 0 };
	static const unsigned int cache_max[] = { 0, 1, 4, 32, 1024, 1u << 20 };
	uint8_t b = fz_u8(&r->in);
	unsigned int width, nr_win, nr_res, i;
	unsigned long pos;
	int ret;

	r->shift = fz_u8(&r->in) % 17;
	r->g = UINT64_C(1) << r->shift;
	width = 20 + fz_u8(&r->in) % 45;
	if (width < r->shift + 2)
		width = r->shift + 2;
	r->top = (unsigned long)(((width == 64 ? UINT64_MAX
					       : (UINT64_C(1) << width) - 1)) >>
				 r->shift);
	r->faults = b & 1;
	r->caches = !(b & 2);
	nr_win = (b >> 2) & 3;
	nr_res = (b >> 4) & 3;

	/* windows in granules, upwards from a small start or from near the
	 * top; touching when a gap is 0 */
	pos = fz_bool(&r->in) ? fz_u8(&r->in) : r->top - fz_u16(&r->in);
	for (i = 0; i < nr_win; i++) {
		unsigned long gap = fz_u8(&r->in) & 15, len;

		len = 1 + (fz_u8(&r->in) < 224 ? fz_u8(&r->in) : fz_u16(&r->in));
		if (pos > r->top || r->top - pos < gap ||
		    r->top - pos - gap < len - 1)
			break;
		pos += gap;
		windows[i].start = (uint64_t)pos << r->shift;
		windows[i].last = (((uint64_t)(pos + len - 1)) << r->shift) |
				  (r->g - 1);
		pos += len;
		if (!pos)
			break; /* at the top of the index space */
	}
	nr_win = i;
	for (i = 0; i < nr_res; i++) {
		reserved[i].start = pick_addr(r);
		reserved[i].last = reserved[i].start + fz_u16(&r->in);
		if (reserved[i].last < reserved[i].start)
			reserved[i].last = UINT64_MAX;
	}
	/* the model: merged windows in granules */
	r->nr_win = 0;
	if (!nr_win) {
		r->win[0].start = 0;
		r->win[0].last = r->top;
		r->nr_win = 1;
	}
	for (i = 0; i < nr_win; i++) {
		uint64_t lo = windows[i].start >> r->shift;
		uint64_t hi = windows[i].last >> r->shift;

		if (r->nr_win && r->win[r->nr_win - 1].last + 1 == lo)
			r->win[r->nr_win - 1].last = hi;
		else
			r->win[r->nr_win++] = (struct iova_range){ lo, hi };
	}
	/* handed over in any order */
	if (nr_win > 1 && fz_bool(&r->in)) {
		struct iova_range t = windows[0];

		windows[0] = windows[nr_win - 1];
		windows[nr_win - 1] = t;
	}
	cfg.granule = r->g == 4096 && fz_bool(&r->in) ? 0 : r->g;
	cfg.windows = windows;
	cfg.nr_windows = nr_win;
	cfg.reserved = reserved;
	cfg.nr_reserved = nr_res;
	cfg.address_width = width == 64 && fz_bool(&r->in) ? 0 : width;
	cfg.cache_max_granules = cache_max[fz_u8(&r->in) % 6];
	cfg.flags = r->caches ? 0 : IOVA_SPACE_NO_CACHE;
	r->cache = mt_node_cache_create(NULL);
	FZ_CHECK(r->cache, "node cache");
	cfg.node_allocator = r->cache;
	if (r->faults) {
		r->fault = mt_fault_allocator_create(r->cache);
		FZ_CHECK(r->fault, "fault allocator");
		r->fl.a = r->fault;
		cfg.node_allocator = r->fault;
	}
	ret = iova_space_create(&cfg, &r->space);
	FZ_CHECK(ret == 0, "iova_space_create: %d (granule %lu, width %u, "
		 "%u windows, %u reserved)", ret, (unsigned long)r->g, width,
		 nr_win, nr_res);

	/* holes: outside the windows, granule 0; then the reservations */
	model_store(&r->occ, 0, ~0ul, mk(r, HOLE));
	model_store(&r->hard, 0, ~0ul, r->occ.r[0].entry);
	for (i = 0; i < r->nr_win; i++) {
		model_store(&r->occ, r->win[i].start, r->win[i].last, NULL);
		model_store(&r->hard, r->win[i].start, r->win[i].last, NULL);
	}
	take(r, 0, 0, HOLE);
	for (i = 0; i < nr_res; i++)
		take(r, reserved[i].start >> r->shift,
		     reserved[i].last >> r->shift, RESV);
	return true;
}

/* ---- operations -------------------------------------------------------- */

/* The whole granules inside [min, max], clipped to the width and above
 * granule 0; false when there is none. */
static bool granules_in(const struct run *r, uint64_t min, uint64_t max,
			unsigned long *lo, unsigned long *hi)
{
	/* the first granule starting at or after min, the last ending at
	 * or before max */
	uint64_t first = min / r->g + (min % r->g != 0);
	uint64_t last = max / r->g;

	if (max % r->g != r->g - 1) {
		if (!last)
			return false;
		last--;
	}
	if (first > r->top || first > last)
		return false;
	last = last > r->top ? r->top : last;
	first = first ? first : 1;
	if (first > last)
		return false;
	*lo = (unsigned long)first;
	*hi = (unsigned long)last;
	return true;
}

static int win_of(const struct run *r, unsigned long lo, unsigned long hi)
{
	for (unsigned int i = 0; i < r->nr_win; i++)
		if (r->win[i].start <= lo && hi <= r->win[i].last)
			return (int)i;
	return -1;
}

static void op_alloc(struct run *r)
{
	uint64_t size, align = 0, min, max, iova = 0;
	unsigned long pages = 1 + (fz_u8(&r->in) & 31), lo, hi, at, ap;
	uint8_t a = fz_u8(&r->in);
	unsigned int flags = fz_u8(&r->in) & 1 ? IOVA_ALLOC_BOTTOM_UP : 0;
	bool top_down = !flags, room, exact;
	int ret, want;

	if (fz_u8(&r->in) >= 250)
		pages = (unsigned long)fz_num(&r->in);
	size = (uint64_t)pages << r->shift;
	if (size >> r->shift != pages)
		size = UINT64_MAX;
	else if (size > r->g && fz_bool(&r->in))
		size -= fz_u8(&r->in) % r->g; /* rounded up again */
	if (a >= 128)
		align = UINT64_C(1) << ((a & 63) % 40);
	else if (a >= 120)
		align = a; /* mostly not a power of two */
	pick_window(r, &min, &max, false);
	if (fz_u8(&r->in) == 0xff)
		flags |= 0x80; /* unknown */

	ret = iova_space_alloc(r->space, size, align, min, max, flags, &iova);

	if ((flags & ~IOVA_ALLOC_BOTTOM_UP) || min > max ||
	    (align && (align & (align - 1))) || !size ||
	    size > UINT64_MAX - (r->g - 1))
		want = -EINVAL;
	else
		want = 0;
	if (want) {
		FZ_CHECK(ret == want, "alloc: %d, want -EINVAL", ret);
		return;
	}
	pages = (unsigned long)((size + r->g - 1) >> r->shift);
	ap = align > r->g ? (unsigned long)(align >> r->shift) : 1;
	room = granules_in(r, min, max, &lo, &hi);
	exact = !has_maybe(r);
	if (room)
		room = model_empty_area_aligned(&r->occ, lo, hi, pages, ap,
						top_down, &at);
	if (ret == -ENOMEM) {
		FZ_CHECK(faults_injected(r), "alloc: -ENOMEM, no fault");
		return;
	}
	if (ret == -ENOSPC) {
		if (room || exact) {
			FZ_CHECK(!room, "alloc(%lu granules, align %lu, [%#lx, "
				 "%#lx]): -ENOSPC, room at %lu", pages, ap,
				 (unsigned long)min, (unsigned long)max, at);
			return;
		}
		/* maybe-free ranges in the way: after a flush, the same
		 * request must succeed exactly when the model has room */
		flush_all(r);
		room = granules_in(r, min, max, &lo, &hi) &&
		       model_empty_area_aligned(&r->occ, lo, hi, pages, ap,
						top_down, &at);
		ret = iova_space_alloc(r->space, size, align, min, max, flags,
				       &iova);
		FZ_CHECK(room ? ret == 0 : ret == -ENOSPC,
			 "alloc after flush: %d, model room %d", ret, room);
		exact = true;
		if (ret)
			return;
	}
	FZ_CHECK(ret == 0, "alloc: %d", ret);
	FZ_CHECK((iova & (r->g - 1)) == 0 && (!align || !(iova & (align - 1))),
		 "alloc at %#lx: misaligned (align %#lx)", (unsigned long)iova,
		 (unsigned long)align);
	lo = (unsigned long)(iova >> r->shift);
	hi = lo + pages - 1;
	FZ_CHECK(iova >= min && ((uint64_t)hi << r->shift | (r->g - 1)) <= max,
		 "alloc [%lu, %lu] outside [%#lx, %#lx]", lo, hi,
		 (unsigned long)min, (unsigned long)max);
	FZ_CHECK(win_of(r, lo, hi) >= 0, "alloc [%lu, %lu] not in a window",
		 lo, hi);
	FZ_CHECK(!model_any(&r->hard, lo, hi), "alloc [%lu, %lu] taken", lo,
		 hi);
	/* exactly the highest (lowest) placement when nothing is cached:
	 * a cache hit may be anywhere */
	if (exact)
		FZ_CHECK(lo == at, "alloc(%lu, align %lu, %s) at %lu, model %lu",
			 pages, ap, top_down ? "top-down" : "bottom-up", lo, at);
	take(r, lo, hi, LIVE);
}

static void op_alloc_at(struct run *r)
{
	uint64_t iova = pick_addr(r), size;
	unsigned long pages = 1 + (fz_u8(&r->in) & 15), lo, hi;
	bool maybe = false, hard;
	int ret, want;

	size = ((uint64_t)pages << r->shift) - (fz_bool(&r->in) ? 1 : 0);
	if (fz_u8(&r->in) >= 250)
		size = fz_num(&r->in);
	ret = iova_space_alloc_at(r->space, iova, size);
	if ((iova & (r->g - 1)) || !size || size > UINT64_MAX - (r->g - 1)) {
		FZ_CHECK(ret == -EINVAL, "alloc_at(%#lx, %#lx): %d, want "
			 "-EINVAL", (unsigned long)iova, (unsigned long)size,
			 ret);
		return;
	}
	pages = (unsigned long)((size + r->g - 1) >> r->shift);
	lo = (unsigned long)(iova >> r->shift);
	if ((uint64_t)pages << r->shift >> r->shift != pages ||
	    iova + ((uint64_t)pages << r->shift) - 1 < iova) {
		FZ_CHECK(ret == -EINVAL, "alloc_at wraps: %d", ret);
		return;
	}
	hi = lo + pages - 1;
	if (!iova || win_of(r, lo, hi) < 0) {
		FZ_CHECK(ret == -ERANGE, "alloc_at(%lu, %lu granules): %d, want "
			 "-ERANGE", lo, pages, ret);
		return;
	}
	hard = model_any(&r->hard, lo, hi);
	for (size_t k = model_lower(&r->occ, lo);
	     k < r->occ.count && r->occ.r[k].first <= hi; k++)
		maybe |= kind_of(r->occ.r[k].entry) == MAYBE;
	want = hard ? -EEXIST : 0;
	if (ret == -ENOMEM && !hard) {
		FZ_CHECK(faults_injected(r), "alloc_at: -ENOMEM, no fault");
		return;
	}
	FZ_CHECK(ret == want, "alloc_at(%lu, %lu granules): %d, want %d%s", lo,
		 pages, ret, want, maybe ? " (maybe-free in the way)" : "");
	if (!ret) {
		/* what was maybe free there was freed */
		take(r, lo, hi, LIVE);
	}
}

/* A random live allocation's first granule, or a random address. */
static uint64_t pick_live_or_any(struct run *r)
{
	size_t n = 0, want;

	for (size_t k = 0; k < r->occ.count; k++)
		n += kind_of(r->occ.r[k].entry) == LIVE;
	if (!n || fz_u8(&r->in) < 48)
		return pick_addr(r);
	want = fz_u16(&r->in) % n;
	for (size_t k = 0; k < r->occ.count; k++)
		if (kind_of(r->occ.r[k].entry) == LIVE && !want--)
			return (uint64_t)r->occ.r[k].first << r->shift;
	return 0;
}

static void op_free(struct run *r)
{
	uint64_t iova = pick_live_or_any(r);
	unsigned long pfn = (unsigned long)(iova >> r->shift), f, l;
	void *e = model_load(&r->occ, pfn, &f, &l);
	int ret = iova_space_free(r->space, iova), want;

	if (iova & (r->g - 1))
		want = -EINVAL;
	else if (win_of(r, pfn, pfn) < 0)
		want = -ERANGE;
	else if (!e || kind_of(e) != LIVE)
		want = -ENOENT;
	else if (f != pfn)
		want = -EINVAL;
	else
		want = 0;
	FZ_CHECK(ret == want, "free(%#lx): %d, want %d", (unsigned long)iova,
		 ret, want);
	if (ret)
		return;
	if (r->caches || r->faults) {
		take(r, f, l, MAYBE); /* cached, parked or free */
	} else {
		model_store(&r->occ, f, l, NULL);
		model_store(&r->hard, f, l, NULL);
	}
}

static void op_lookup(struct run *r)
{
	uint64_t addr = pick_addr(r);
	unsigned long pfn = (unsigned long)(addr >> r->shift), f, l;
	void *e = model_load(&r->occ, pfn, &f, &l);
	struct iova_range got;
	int ret = iova_space_lookup(r->space, addr, &got);

	if (e && kind_of(e) == LIVE)
		FZ_CHECK(ret == 0 && got.start == (uint64_t)f << r->shift &&
			 got.last == ((uint64_t)l << r->shift | (r->g - 1)),
			 "lookup(%#lx): %d", (unsigned long)addr, ret);
	else
		FZ_CHECK(ret == -ENOENT, "lookup(%#lx) of no allocation: %d",
			 (unsigned long)addr, ret);
}

/* What an iteration callback compares and when it stops. */
struct walk {
	struct run *r;
	struct iova_range want[64];
	unsigned int n, seen, stop_at;
};

static int walk_fn(void *arg, const struct iova_range *range)
{
	struct walk *w = arg;

	FZ_CHECK(w->seen < w->n, "iteration: extra [%#lx, %#lx]",
		 (unsigned long)range->start, (unsigned long)range->last);
	FZ_CHECK(range->start == w->want[w->seen].start &&
		 range->last == w->want[w->seen].last,
		 "iteration #%u: [%#lx, %#lx], want [%#lx, %#lx]", w->seen,
		 (unsigned long)range->start, (unsigned long)range->last,
		 (unsigned long)w->want[w->seen].start,
		 (unsigned long)w->want[w->seen].last);
	w->seen++;
	return w->seen == w->stop_at ? 7 : 0;
}

static void op_for_each(struct run *r)
{
	struct walk w = { .r = r };
	int ret;

	for (size_t k = 0; k < r->occ.count && w.n < 64; k++)
		if (kind_of(r->occ.r[k].entry) == LIVE)
			w.want[w.n++] = (struct iova_range){
				(uint64_t)r->occ.r[k].first << r->shift,
				(uint64_t)r->occ.r[k].last << r->shift |
					(r->g - 1) };
	if (w.n == 64)
		return; /* too many to list here */
	w.stop_at = fz_u8(&r->in) % (w.n + 2);
	ret = iova_space_for_each(r->space, walk_fn, &w);
	if (w.stop_at && w.stop_at <= w.n)
		FZ_CHECK(ret == 7 && w.seen == w.stop_at, "for_each stop: %d",
			 ret);
	else
		FZ_CHECK(ret == 0 && w.seen == w.n, "for_each: %d, %u of %u",
			 ret, w.seen, w.n);
}

static void op_for_each_hole(struct run *r)
{
	struct walk w = { .r = r };
	uint64_t min, max;
	int ret;

	pick_window(r, &min, &max, fz_bool(&r->in));
	if (fz_u8(&r->in) == 0xff) {
		uint64_t t = min;

		min = max;
		max = t;
	}
	if (has_maybe(r))
		flush_all(r); /* holes are exact only then */
	/* free runs of the model inside the windows, in bytes, clipped */
	for (unsigned int i = 0; i < r->nr_win && w.n < 64; i++) {
		unsigned long at = (unsigned long)r->win[i].start;

		while (w.n < 64) {
			unsigned long f, l;
			void *e = model_load(&r->occ, at, &f, &l);
			uint64_t bs, bl;

			if (l > r->win[i].last)
				l = (unsigned long)r->win[i].last;
			if (!e) {
				bs = (uint64_t)(f > at ? f : at) << r->shift;
				bl = (uint64_t)l << r->shift | (r->g - 1);
				if (bs < min)
					bs = min;
				if (bl > max)
					bl = max;
				if (bs <= bl && min <= max)
					w.want[w.n++] = (struct iova_range){
						bs, bl };
			}
			if (l >= r->win[i].last)
				break;
			at = l + 1;
		}
	}
	if (w.n == 64)
		return;
	w.stop_at = 0;
	ret = iova_space_for_each_hole(r->space, min, max, walk_fn, &w);
	if (min > max) {
		FZ_CHECK(ret == -EINVAL, "for_each_hole reversed: %d", ret);
		return;
	}
	FZ_CHECK(ret == 0 && w.seen == w.n,
		 "for_each_hole([%#lx, %#lx]): %d, %u holes of %u",
		 (unsigned long)min, (unsigned long)max, ret, w.seen, w.n);
}

static void op_info(struct run *r)
{
	struct iova_space_stats st;
	uint64_t live = 0, bytes = 0, largest;
	unsigned int index = fz_u8(&r->in) % 4;
	struct iova_range win;
	int ret;

	for (size_t k = 0; k < r->occ.count; k++)
		if (kind_of(r->occ.r[k].entry) == LIVE) {
			live++;
			bytes += (uint64_t)(r->occ.r[k].last -
					    r->occ.r[k].first + 1) << r->shift;
		}
	FZ_CHECK(iova_space_stats(r->space, &st) == 0, "stats");
	FZ_CHECK(st.allocations == live && st.bytes_allocated == bytes &&
		 st.nr_windows == r->nr_win,
		 "stats: %lu allocations (%lu B), %u windows; model %lu (%lu "
		 "B), %u", (unsigned long)st.allocations,
		 (unsigned long)st.bytes_allocated, st.nr_windows,
		 (unsigned long)live, (unsigned long)bytes, r->nr_win);
	FZ_CHECK(r->caches || st.cached == 0, "cached without caches");

	if (has_maybe(r) && fz_bool(&r->in))
		flush_all(r);
	ret = iova_space_window(r->space, index, &win, &largest);
	if (index >= r->nr_win) {
		FZ_CHECK(ret == -EINVAL, "window %u of %u: %d", index,
			 r->nr_win, ret);
		return;
	}
	FZ_CHECK(ret == 0 && win.start == r->win[index].start << r->shift &&
		 win.last == (r->win[index].last << r->shift | (r->g - 1)),
		 "window %u: %d [%#lx, %#lx]", index, ret,
		 (unsigned long)win.start, (unsigned long)win.last);
	if (!has_maybe(r)) {
		uint64_t want = 0;
		unsigned long at = (unsigned long)r->win[index].start;

		for (;;) {
			unsigned long f, l;
			void *e = model_load(&r->occ, at, &f, &l);

			if (l > r->win[index].last)
				l = (unsigned long)r->win[index].last;
			if (!e && ((uint64_t)(l - f + 1) << r->shift) > want)
				want = (uint64_t)(l - f + 1) << r->shift;
			if (l >= r->win[index].last)
				break;
			at = l + 1;
		}
		FZ_CHECK(largest == want, "window %u largest hole %#lx, want "
			 "%#lx", index, (unsigned long)largest,
			 (unsigned long)want);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run run;
	struct run *r = &run;
	unsigned int nops = 0;

	memset(r, 0, sizeof(*r));
	fz_init(&r->in, data, size);
	model_init(&r->occ);
	model_init(&r->hard);
	setup(r);

	while (fz_more(&r->in) && nops++ < 1000) {
		uint8_t op = fz_u8(&r->in);

		faults_arm(r, r->faults && fz_bool(&r->in) ? fz_u64(&r->in) : 0);
		switch (op % 10) {
		case 0:
		case 1:
		case 2:
			op_alloc(r);
			break;
		case 3:
			op_alloc_at(r);
			break;
		case 4:
		case 5:
			op_free(r);
			break;
		case 6:
			op_lookup(r);
			break;
		case 7:
			op_for_each(r);
			break;
		case 8:
			op_for_each_hole(r);
			break;
		default:
			if (op & 0x80)
				flush_all(r);
			else
				op_info(r);
			break;
		}
	}

	faults_arm(r, 0);
	/* destroy waits for the RCU callbacks owed to our allocator */
	iova_space_destroy(r->space);
	fz_allocators_done(r->fault, r->cache);
	model_free(&r->occ);
	model_free(&r->hard);
	return 0;
}

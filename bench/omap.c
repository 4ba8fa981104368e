/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * omap.c - what the baselines do alike, on their cursors: predecessor
 * lookup, in-order iteration, and first-fit free-space search by walking
 * the ranges in address order (how QEMU's iova-tree finds space).
 */
#include "bench.h"

unsigned long omap_load(void *m, unsigned long index)
{
	const struct omap_head *h = m;
	struct omap_cursor c;

	h->cursor->pred(m, index, &c);
	return c.valid && index <= c.last ? c.value : 0;
}

unsigned long omap_iterate(void *m, unsigned long *sum)
{
	const struct omap_head *h = m;
	struct omap_cursor c;
	unsigned long n = 0;

	for (h->cursor->first(m, &c); c.valid; h->cursor->next(m, &c)) {
		*sum += c.value;
		n++;
	}
	return n;
}

bool omap_alloc_range(void *m, unsigned long size, unsigned long min,
		      unsigned long max, unsigned long value,
		      unsigned long *start)
{
	const struct omap_head *h = m;
	struct omap_cursor c;
	unsigned long lo = min;

	/* every hole from the bottom, until one fits */
	for (h->cursor->first(m, &c); c.valid; h->cursor->next(m, &c)) {
		if (c.last < lo)
			continue;
		if (c.first > lo && c.first - lo >= size)
			break;
		if (c.last == ~0ul)
			return false;
		lo = c.last + 1;
		if (lo > max)
			return false;
	}
	if (lo + (size - 1) > max || lo + (size - 1) < lo)
		return false;
	*start = lo;
	h->store(m, lo, lo + size - 1, value);
	return true;
}

bool omap_empty_area_rev(void *m, unsigned long min, unsigned long max,
			 unsigned long size, unsigned long *start)
{
	const struct omap_head *h = m;
	struct omap_cursor c;
	unsigned long top = max;

	/* every hole from the limit down, until one fits */
	for (h->cursor->pred(m, max, &c);; h->cursor->prev(m, &c)) {
		unsigned long bottom = c.valid ? c.last + 1 : 0;

		if (bottom < min)
			bottom = min;
		if (!(c.valid && c.last >= top) && top >= bottom &&
		    top - bottom >= size - 1) {
			*start = top - (size - 1);
			return true;
		}
		if (!c.valid || c.first == 0 || c.first - 1 < min)
			return false;
		if (c.first - 1 < top)
			top = c.first - 1;
	}
}

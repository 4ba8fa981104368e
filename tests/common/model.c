/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* model.c - the reference model (see model.h). */
#include <stdlib.h>
#include <string.h>

#include "model.h"

void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
}

void model_free(struct model *m)
{
	free(m->r);
	memset(m, 0, sizeof(*m));
}

size_t model_lower(const struct model *m, unsigned long index)
{
	size_t lo = 0, hi = m->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->r[mid].last < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void model_insert_at(struct model *m, size_t pos,
			    struct model_range r)
{
	if (m->count == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->r = realloc(m->r, m->cap * sizeof(*m->r));
		if (!m->r)
			abort();
	}
	memmove(&m->r[pos + 1], &m->r[pos], (m->count - pos) * sizeof(*m->r));
	m->r[pos] = r;
	m->count++;
}

void model_store(struct model *m, unsigned long first, unsigned long last,
		 void *entry)
{
	size_t i = model_lower(m, first), j;
	struct model_range left = { 0 }, right = { 0 };
	bool keep_left = false, keep_right = false;

	/* ranges i .. j-1 overlap [first, last] */
	for (j = i; j < m->count && m->r[j].first <= last; j++)
		;
	if (i < j && m->r[i].first < first) {
		left = m->r[i];
		left.last = first - 1;
		keep_left = true;
	}
	if (i < j && m->r[j - 1].last > last) {
		right = m->r[j - 1];
		right.first = last + 1;
		keep_right = true;
	}
	if (j > i) {
		memmove(&m->r[i], &m->r[j], (m->count - j) * sizeof(*m->r));
		m->count -= j - i;
	}
	if (keep_right)
		model_insert_at(m, i, right);
	if (entry)
		model_insert_at(m, i,
				(struct model_range){ first, last, entry });
	if (keep_left)
		model_insert_at(m, i, left);
}

void *model_load(const struct model *m, unsigned long index,
		 unsigned long *first, unsigned long *last)
{
	size_t i = model_lower(m, index);

	if (i < m->count && m->r[i].first <= index) {
		*first = m->r[i].first;
		*last = m->r[i].last;
		return m->r[i].entry;
	}
	*first = i > 0 ? m->r[i - 1].last + 1 : 0;
	*last = i < m->count ? m->r[i].first - 1 : ~0ul;
	return NULL;
}

bool model_any(const struct model *m, unsigned long first, unsigned long last)
{
	size_t i = model_lower(m, first);

	return i < m->count && m->r[i].first <= last;
}

bool model_empty_area(const struct model *m, unsigned long min,
		      unsigned long max, unsigned long size, bool rev,
		      unsigned long *start)
{
	return model_empty_area_aligned(m, min, max, size, 1, rev, start);
}

bool model_empty_area_aligned(const struct model *m, unsigned long min,
			      unsigned long max, unsigned long size,
			      unsigned long align, bool rev,
			      unsigned long *start)
{
	/* walk the free runs between ranges, clipped to [min, max] */
	size_t n = m->count;

	for (size_t k = 0; k <= n; k++) {
		size_t i = rev ? n - k : k;
		unsigned long f = i == 0 ? 0 : m->r[i - 1].last + 1;
		unsigned long l = i == n ? ~0ul : m->r[i].first - 1;

		if (i > 0 && m->r[i - 1].last == ~0ul)
			continue; /* no free run after a range ending at max */
		if (i < n && m->r[i].first == (i ? m->r[i - 1].last + 1 : 0))
			continue; /* empty run */
		if (f < min)
			f = min;
		if (l > max)
			l = max;
		if (f > l || l - f < size - 1)
			continue;
		if (rev) {
			unsigned long at = (l - (size - 1)) & ~(align - 1);

			if (at < f)
				continue;
			*start = at;
		} else {
			unsigned long at = (f + align - 1) & ~(align - 1);

			if (at < f || at > l || l - at < size - 1)
				continue;
			*start = at;
		}
		return true;
	}
	return false;
}

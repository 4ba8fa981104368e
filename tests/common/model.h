/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * model.h - the reference model the maple tree is tested against: a plain
 * sorted array of non-overlapping ranges holding non-NULL entries.  Slow
 * and obviously right.
 */
#ifndef LIBIOVA_TEST_MODEL_H
#define LIBIOVA_TEST_MODEL_H

#include <stdbool.h>
#include <stddef.h>

struct model_range {
	unsigned long first, last;
	void *entry;
};

struct model {
	struct model_range *r;
	size_t count, cap;
};

void model_init(struct model *m);
void model_free(struct model *m);
/* Store @entry (NULL erases) over [first, last]. */
void model_store(struct model *m, unsigned long first, unsigned long last,
		 void *entry);
/* The entry at @index, with its range in *first and *last (the NULL range
 * when there is none). */
void *model_load(const struct model *m, unsigned long index,
		 unsigned long *first, unsigned long *last);
/* Index of the first range ending at or after @index, or count. */
size_t model_lower(const struct model *m, unsigned long index);
/* Lowest (or, @rev, highest) free run of @size inside [min, max]:
 * true and *start set, or false. */
bool model_empty_area(const struct model *m, unsigned long min,
		      unsigned long max, unsigned long size, bool rev,
		      unsigned long *start);
/* The same, *start a multiple of @align (a power of two). */
bool model_empty_area_aligned(const struct model *m, unsigned long min,
			      unsigned long max, unsigned long size,
			      unsigned long align, bool rev,
			      unsigned long *start);
/* Is any entry in [first, last]? */
bool model_any(const struct model *m, unsigned long first,
	       unsigned long last);

#endif /* LIBIOVA_TEST_MODEL_H */

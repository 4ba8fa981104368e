/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * magazine.c - floor 0 of lib/iova (magazine.h): magazines and depots.
 *
 * Locking: a depot's mutex covers its stack and counts.  A magazine
 * outside a depot belongs to whoever holds it and is not locked.
 */
#include <stdlib.h>

#include "magazine.h"

struct iova_magazine *iova_mag_new(void)
{
	struct iova_magazine *mag =
		aligned_alloc(_Alignof(struct iova_magazine), sizeof(*mag));

	if (mag) {
		mag->size = 0;
		mag->lowest = ULONG_MAX;
		mag->next = NULL;
	}
	return mag;
}

void iova_depot_init(struct iova_depot *d)
{
	pthread_mutex_init(&d->lock, NULL);
	d->count = 0;
	d->pfns = 0;
	d->top = NULL;
}

void iova_depot_destroy(struct iova_depot *d)
{
	struct iova_magazine *mag = iova_depot_take_all(d);

	while (mag) {
		struct iova_magazine *next = mag->next;

		free(mag);
		mag = next;
	}
	pthread_mutex_destroy(&d->lock);
}

unsigned int iova_depot_push(struct iova_depot *d, struct iova_magazine *mag)
{
	unsigned int count;

	pthread_mutex_lock(&d->lock);
	mag->next = d->top;
	d->top = mag;
	count = ++d->count;
	d->pfns += mag->size;
	pthread_mutex_unlock(&d->lock);
	return count;
}

struct iova_magazine *iova_depot_pop(struct iova_depot *d, unsigned int keep)
{
	struct iova_magazine *mag = NULL;

	pthread_mutex_lock(&d->lock);
	if (d->count > keep) {
		mag = d->top;
		d->top = mag->next;
		d->count--;
		d->pfns -= mag->size;
		mag->next = NULL;
	}
	pthread_mutex_unlock(&d->lock);
	return mag;
}

struct iova_magazine *iova_depot_take_all(struct iova_depot *d)
{
	struct iova_magazine *list;

	pthread_mutex_lock(&d->lock);
	list = d->top;
	d->top = NULL;
	d->count = 0;
	d->pfns = 0;
	pthread_mutex_unlock(&d->lock);
	return list;
}

unsigned long iova_depot_pfns(struct iova_depot *d)
{
	unsigned long pfns;

	pthread_mutex_lock(&d->lock);
	pfns = d->pfns;
	pthread_mutex_unlock(&d->lock);
	return pfns;
}

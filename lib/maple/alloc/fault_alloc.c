/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fault_alloc.c - an allocator that fails on demand, wrapping another.
 *
 * Requests that are not failed go to the inner allocator through the
 * public calls, so the inner allocator's accounting stays exact and a
 * test can check both for leaks.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "alloc_internal.h"

struct fault_alloc {
	struct mt_allocator *inner;
	pthread_mutex_t lock;        /* protects everything below */
	struct mt_fault_config cfg;
	uint64_t requests;           /* numbered since the last set */
	uint64_t injected;
	uint64_t rng;                /* splitmix64 state for MT_FAULT_RANDOM */
};

static uint64_t splitmix64_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Decide request number @req; called with f->lock held. */
static bool fault_decide_locked(struct fault_alloc *f, uint64_t req,
				gfp_t gfp)
{
	const struct mt_fault_config *cfg = &f->cfg;

	switch (cfg->mode) {
	case MT_FAULT_NTH:
		return req == cfg->n;
	case MT_FAULT_FROM_NTH:
		return req >= cfg->n;
	case MT_FAULT_EVERY_KTH:
		return req % cfg->n == 0;
	case MT_FAULT_RANDOM: {
		/* 53 random bits as a double in [0, 1) */
		double u = (double)(splitmix64_next(&f->rng) >> 11) * 0x1.0p-53;

		return u < cfg->probability;
	}
	case MT_FAULT_ALWAYS:
		return true;
	case MT_FAULT_CALLBACK:
		return cfg->decide(cfg->arg, req, gfp) != 0;
	case MT_FAULT_NONE:
	default:
		return false;
	}
}

static void *fault_alloc_node(void *priv, gfp_t gfp)
{
	struct fault_alloc *f = priv;
	bool fail = false;

	pthread_mutex_lock(&f->lock);
	if (!(f->cfg.flags & MT_FAULT_ONLY_NONBLOCKING) ||
	    !gfpflags_allow_blocking(gfp)) {
		fail = fault_decide_locked(f, ++f->requests, gfp);
		if (fail)
			f->injected++;
	}
	pthread_mutex_unlock(&f->lock);
	if (fail) {
		errno = ENOMEM;
		return NULL;
	}
	/* the inner allocator's failure keeps its errno (sets_errno) */
	return mt_node_alloc(f->inner, gfp & ~__GFP_ZERO);
}

static void fault_free_node(void *priv, void *node)
{
	struct fault_alloc *f = priv;

	mt_node_free(f->inner, node);
}

static int fault_check_free(void *priv, void *node)
{
	struct fault_alloc *f = priv;

	return alloc_check_free(f->inner, node);
}

static void fault_stats(void *priv, struct mt_alloc_stats *st)
{
	struct fault_alloc *f = priv;

	pthread_mutex_lock(&f->lock);
	st->requests = f->requests;
	st->injected = f->injected;
	pthread_mutex_unlock(&f->lock);
}

static void fault_release(void *priv)
{
	struct fault_alloc *f = priv;

	pthread_mutex_destroy(&f->lock);
	free(f);
}

static const struct mt_allocator_ops fault_ops = {
	.alloc = fault_alloc_node,
	.free = fault_free_node,
	.stats = fault_stats,
	.release = fault_release,
};

static const struct alloc_extra fault_extra = {
	.check_free = fault_check_free,
	.sets_errno = true,
};

LIBIOVA_EXPORT struct mt_allocator *
mt_fault_allocator_create(struct mt_allocator *inner)
{
	struct fault_alloc *f;
	struct mt_allocator *a;

	if (!inner) {
		errno = EINVAL;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		errno = ENOMEM;
		return NULL;
	}
	f->inner = inner;
	f->cfg.mode = MT_FAULT_NONE;
	pthread_mutex_init(&f->lock, NULL);
	a = alloc_build(NULL, &fault_ops, f, &fault_extra);
	if (!a) {
		fault_release(f);
		errno = ENOMEM;
		return NULL;
	}
	return a;
}

static bool fault_config_valid(const struct mt_fault_config *cfg)
{
	if (cfg->flags & ~MT_FAULT_ONLY_NONBLOCKING)
		return false;
	switch (cfg->mode) {
	case MT_FAULT_NONE:
	case MT_FAULT_ALWAYS:
		return true;
	case MT_FAULT_NTH:
	case MT_FAULT_FROM_NTH:
	case MT_FAULT_EVERY_KTH:
		return cfg->n >= 1;
	case MT_FAULT_RANDOM:
		return !isnan(cfg->probability) && cfg->probability >= 0.0 &&
		       cfg->probability <= 1.0;
	case MT_FAULT_CALLBACK:
		return cfg->decide != NULL;
	default:
		return false;
	}
}

LIBIOVA_EXPORT int mt_fault_allocator_set(struct mt_allocator *a,
					  const struct mt_fault_config *config)
{
	static const struct mt_fault_config none = { .mode = MT_FAULT_NONE };
	struct fault_alloc *f;

	if (!a || a->ops != &fault_ops)
		return -EINVAL;
	if (!config)
		config = &none;
	if (!fault_config_valid(config))
		return -EINVAL;
	f = a->priv;
	pthread_mutex_lock(&f->lock);
	f->cfg = *config;
	f->requests = 0;
	f->injected = 0;
	f->rng = config->seed;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

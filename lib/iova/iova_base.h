/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * iova_base.h - floor 0 of lib/iova (docs/iova.md, "Layers"): what every
 * floor above shares about a domain and its tree entries.  Includes only
 * public and system headers and compiler.h; every other internal header
 * of the domain's files includes it.  Nothing outside lib/iova includes
 * it.
 *
 * A domain's allocation tree maps pfn ranges to entries:
 *   - a struct iova * (the kernel API's allocations and reservations); a
 *     reservation has IOVA_TAG_RESERVED set in the pointer's low bits, an
 *     allocation in a size cache (checked fast-free mode only)
 *     IOVA_TAG_CACHED;
 *   - an xa_mk_value(kind) marker (enum iova_kind): the userspace API's
 *     allocations carry no heap object, only this.
 * Every range not in the tree is free.
 */
#ifndef LIBIOVA_IOVA_BASE_H
#define LIBIOVA_IOVA_BASE_H

#include <errno.h>
#include <stdint.h>

#include <libiova/iova.h>

#include "compiler.h"

#define IOVA_DOMAIN_MAGIC 0x69766f612d646f6dUL /* "iova-dom" */

/* Low bits of a struct iova * entry: a reservation, and (checked
 * fast-free mode) an allocation sitting in a size cache.  struct iovas
 * are allocated 16-byte aligned, so bits 2 and 3 are free and the entry
 * stays a pointer. */
#define IOVA_TAG_RESERVED 0x4UL
#define IOVA_TAG_CACHED 0x8UL
#define IOVA_TAG_MASK (IOVA_TAG_RESERVED | IOVA_TAG_CACHED)

enum iova_kind {
	/* userspace API: handed out, or freed into a size cache (the
	 * space's cached set tells which, space.c) */
	IOVA_KIND_ALLOCATED = 1,
	IOVA_KIND_RESERVED,      /* userspace API: reserved range */
	IOVA_KIND_HOLE,          /* userspace API: outside every window */
	IOVA_KIND_PARKED,        /* both APIs: freed, erase deferred */
};

static inline void *iova_marker(enum iova_kind kind)
{
	return xa_mk_value((unsigned long)kind);
}

static inline bool iova_entry_is_struct(const void *entry)
{
	return entry && !xa_is_value(entry) && !xa_is_internal(entry);
}

static inline struct iova *iova_entry_struct(const void *entry)
{
	return (struct iova *)((uintptr_t)entry & ~IOVA_TAG_MASK);
}

/* Set up (domain.c, floor 3) and not yet torn down. */
static inline bool iova_domain_ready(const struct iova_domain *iovad)
{
	return iovad && iovad->magic == IOVA_DOMAIN_MAGIC;
}

static inline unsigned long iova_ulong_log2_ceil(unsigned long x)
{
	return x <= 1 ? 0 : 64 - (unsigned long)__builtin_clzl(x - 1);
}

#endif /* LIBIOVA_IOVA_BASE_H */

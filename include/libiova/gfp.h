/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gfp.h - allocation context flags, in userspace terms.
 *
 * The maple tree and IOVA APIs take a gfp_t, as in the kernel, so that code
 * ported from the kernel keeps its calls unchanged.  In libiova the flags
 * mean:
 *
 *   GFP_KERNEL   a blocking request: the allocator may wait and retry, and
 *                a tree holding its internal lock drops it while allocating.
 *   GFP_ATOMIC   a non-blocking request that may use emergency reserves
 *                (a tree's node reserve, see maple_tree.h).
 *   GFP_NOWAIT   a non-blocking request without emergency reserves.
 *
 * A non-blocking request returns at once; it may fail.  The bit values are
 * libiova's own and are not the kernel's; only the names and their meaning
 * match.
 */
#ifndef LIBIOVA_GFP_H
#define LIBIOVA_GFP_H

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned int gfp_t;

#define __GFP_HIGH           0x01u /* may draw on emergency reserves */
#define __GFP_DIRECT_RECLAIM 0x02u /* may block: wait and retry */
#define __GFP_KSWAPD_RECLAIM 0x04u /* accepted for compatibility; no effect */
#define __GFP_IO             0x08u /* accepted for compatibility; no effect */
#define __GFP_FS             0x10u /* accepted for compatibility; no effect */
#define __GFP_NOWARN         0x20u /* accepted for compatibility; no effect */
#define __GFP_ZERO           0x40u /* zero the returned memory */

#define __GFP_RECLAIM (__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)

#define GFP_KERNEL (__GFP_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_ATOMIC (__GFP_HIGH | __GFP_KSWAPD_RECLAIM)
#define GFP_NOWAIT (__GFP_KSWAPD_RECLAIM | __GFP_NOWARN)

/* Nonzero when a request with these flags may block. */
static inline int gfpflags_allow_blocking(gfp_t gfp)
{
	return (gfp & __GFP_DIRECT_RECLAIM) != 0;
}

#ifdef __cplusplus
}
#endif

#endif /* LIBIOVA_GFP_H */

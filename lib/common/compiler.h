/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * compiler.h - helpers shared by every library in the project.  Internal:
 * never installed, never included from include/.
 */
#ifndef LIBIOVA_COMPILER_H
#define LIBIOVA_COMPILER_H

/*
 * Both libraries are built with hidden visibility; only definitions marked
 * with this macro are exported.
 */
#define LIBIOVA_EXPORT __attribute__((visibility("default")))

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define CACHELINE_SIZE 64

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Debug-only checks follow assert(): on unless NDEBUG is defined. */
#ifndef NDEBUG
#define LIBIOVA_DEBUG 1
#else
#define LIBIOVA_DEBUG 0
#endif

#endif /* LIBIOVA_COMPILER_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz.h - what the fuzz targets share: the input read as a stream of
 * small decisions, and the failure report.
 *
 * Each target defines LLVMFuzzerTestOneInput().  Built with clang and
 * -fsanitize=fuzzer it is a libFuzzer target (tools/fuzz runs one); built
 * with replay.c it is a plain program that runs the same function on the
 * files named on its command line, which is how the normal test suite
 * replays the committed corpus and regression inputs.
 *
 * An exhausted input reads as zeros, so every byte string is a valid
 * program and a shorter input is a prefix of the same run: libFuzzer's
 * minimizer can cut from the end.
 */
#ifndef LIBIOVA_FUZZ_H
#define LIBIOVA_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline void fz_init(struct fz *f, const uint8_t *data, size_t size)
{
	f->p = data;
	f->n = size;
}

static inline bool fz_more(const struct fz *f)
{
	return f->n > 0;
}

static inline uint8_t fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline bool fz_bool(struct fz *f)
{
	return fz_u8(f) & 1;
}

/* @bytes little-endian bytes (1..8) as an integer. */
static inline uint64_t fz_bytes(struct fz *f, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++)
		v |= (uint64_t)fz_u8(f) << (8 * i);
	return v;
}

static inline uint16_t fz_u16(struct fz *f)
{
	return (uint16_t)fz_bytes(f, 2);
}

static inline uint32_t fz_u32(struct fz *f)
{
	return (uint32_t)fz_bytes(f, 4);
}

static inline uint64_t fz_u64(struct fz *f)
{
	return fz_bytes(f, 8);
}

/* Uniform enough in [0, n) for a decision (n >= 1). */
static inline unsigned int fz_below(struct fz *f, unsigned int n)
{
	return n ? fz_u8(f) % n : 0;
}

/*
 * A 64-bit number shaped for boundaries: one byte picks the shape
 * (small, near a power of two, near the top, or eight raw bytes), so
 * edges are a mutation or two away instead of 2^64 values away.
 */
static inline uint64_t fz_num(struct fz *f)
{
	uint8_t shape = fz_u8(f);
	unsigned int bit;

	switch (shape & 7) {
	case 0:
	case 1:
	case 2:
		return fz_u8(f);
	case 3:
		return fz_u16(f);
	case 4: /* 2^k plus or minus a little */
		bit = fz_u8(f) & 63;
		return (UINT64_C(1) << bit) + (uint64_t)(int8_t)fz_u8(f);
	case 5:
		return UINT64_MAX - fz_u8(f);
	case 6:
		return fz_u32(f);
	default:
		return fz_u64(f);
	}
}

/*
 * A check failed: print what and where, and abort, which libFuzzer
 * reports as a crash (with the input saved) and the replay as a failed
 * test.
 */
#define FZ_CHECK(cond, ...)                                                   \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "fuzz check failed at %s:%d: %s: ",   \
				__FILE__, __LINE__, #cond);                   \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			abort();                                              \
		}                                                             \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* LIBIOVA_FUZZ_H */

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_vfio_fake.h - a fake VFIO type1 container for the VFIO unit tests:
 * an ioctl function that answers VFIO_IOMMU_GET_INFO with a chosen
 * capability chain and keeps the DMA mappings in a table, refusing
 * overlaps (EEXIST) as the kernel does, and failing or short-unmapping on
 * command.  (The real kernel is the end-to-end test's job.)
 */
#ifndef LIBIOVA_TEST_VFIO_FAKE_H
#define LIBIOVA_TEST_VFIO_FAKE_H

#include <linux/vfio.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <libiova/iova_vfio.h>

#define MAX_MAPS 64
#define MSI_START 0xfee00000ull
#define MSI_LAST 0xfeefffffull
#define FAKE_FD 42

struct fake {
	/* what GET_INFO reports */
	uint64_t pgsizes;
	struct vfio_iova_range ranges[4];
	unsigned int nr_ranges;
	bool no_iova_cap, have_avail;
	uint32_t avail;
	int info_errno;
	bool closed;        /* the fd is closed: every ioctl EBADF */
	/* the IOMMU */
	struct { uint64_t iova, size, vaddr; } maps[MAX_MAPS];
	unsigned int nr_maps;
	int map_errno;      /* fail the next map with this */
	uint64_t unmap_cut; /* unmap this much less than asked */
	unsigned int map_calls, unmap_calls;
	pthread_mutex_t lock; /* MAP and UNMAP may come from many threads */
};

/* the ioctl; @ctx is a struct fake */
int fake_ioctl(void *ctx, int fd, unsigned long request, void *arg);

/* An x86 host with the MSI window carved out, 39-bit address width, 4 KiB,
 * 2 MiB and 1 GiB pages. */
void x86_host(struct fake *f);

/* iova_vfio_open on @f; fails the test if it fails. */
struct iova_vfio *open_fake(struct fake *f);

/* The fake's mapping at @iova: its index, or -1.  Single-threaded use. */
int fake_find(const struct fake *f, uint64_t iova);

/* The virtual address the IOMMU maps @iova from (under the fake's lock):
 * true with *@vaddr set, false if @iova is not mapped. */
bool fake_iommu_vaddr(struct fake *f, uint64_t iova, uint64_t *vaddr);

#endif /* LIBIOVA_TEST_VFIO_FAKE_H */

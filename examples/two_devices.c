/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * two_devices - IOVAs for two devices behind one IOMMU domain.
 *
 * The domain has the valid windows a typical AMD host reports through
 * VFIO's IOVA-range capability (the MSI window at 0xfee00000 and the
 * HyperTransport hole below 1 TiB are left out), a 48-bit address width,
 * and the MSI window reserved once more for clarity.  An NVMe controller
 * (64-bit DMA) and an old NIC limited to 32-bit DMA get their buffers from
 * it; each buffer is looked up again, then everything is freed.
 *
 * Exit status 0 when every step did what it should.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <libiova/iova_space.h>

#define KiB ((uint64_t)1024)
#define MiB (1024 * KiB)

static int check(int ret, const char *what)
{
	if (ret)
		fprintf(stderr, "%s: %s\n", what, strerror(-ret));
	return ret;
}

int main(void)
{
	static const struct iova_range windows[] = {
		{ 0x0ULL, 0xfedfffffULL },
		{ 0xfef00000ULL, 0xfcffffffffULL },
		{ 0x10000000000ULL, 0xffffffffffffULL },
	};
	static const struct iova_range msi = { 0xfee00000ULL, 0xfeefffffULL };
	struct iova_space_config config = {
		.granule = 4096,
		.windows = windows,
		.nr_windows = 3,
		.reserved = &msi,
		.nr_reserved = 1,
		.address_width = 48,
	};
	struct {
		const char *name;
		uint64_t size, align, dma_mask, iova;
	} bufs[] = {
		{ "nvme admin queue", 4 * KiB, 4 * KiB, UINT64_MAX, 0 },
		{ "nvme io queue", 64 * KiB, 64 * KiB, UINT64_MAX, 0 },
		{ "nvme data", 2 * MiB, 2 * MiB, UINT64_MAX, 0 },
		{ "nic rx ring", 16 * KiB, 4 * KiB, 0xffffffffULL, 0 },
		{ "nic packet pool", 8 * MiB, 2 * MiB, 0xffffffffULL, 0 },
	};
	struct iova_space_stats st;
	struct iova_space *space;
	size_t n = sizeof(bufs) / sizeof(bufs[0]);

	if (check(iova_space_create(&config, &space), "iova_space_create"))
		return 1;
	for (size_t i = 0; i < n; i++) {
		/* the device's DMA mask is the per-call upper limit */
		if (check(iova_space_alloc(space, bufs[i].size, bufs[i].align,
					   0, bufs[i].dma_mask, 0,
					   &bufs[i].iova), bufs[i].name))
			return 1;
		printf("%-16s %8" PRIu64 " KiB at 0x%012" PRIx64 "\n",
		       bufs[i].name, bufs[i].size / KiB, bufs[i].iova);
		if (bufs[i].iova + bufs[i].size - 1 > bufs[i].dma_mask ||
		    bufs[i].iova % bufs[i].align ||
		    (bufs[i].iova <= msi.last &&
		     bufs[i].iova + bufs[i].size > msi.start)) {
			fprintf(stderr, "%s: bad placement\n", bufs[i].name);
			return 1;
		}
	}
	/* a completion path finds the buffer from a DMA address in it */
	for (size_t i = 0; i < n; i++) {
		struct iova_range r;

		if (check(iova_space_lookup(space, bufs[i].iova + 100, &r),
			  "lookup") || r.start != bufs[i].iova)
			return 1;
	}
	iova_space_stats(space, &st);
	printf("%" PRIu64 " allocations, %" PRIu64 " KiB\n", st.allocations,
	       st.bytes_allocated / KiB);
	for (size_t i = 0; i < n; i++)
		if (check(iova_space_free(space, bufs[i].iova), "free"))
			return 1;
	/* freeing twice is caught, not silently accepted */
	if (iova_space_free(space, bufs[0].iova) != -ENOENT) {
		fprintf(stderr, "double free not caught\n");
		return 1;
	}
	iova_space_destroy(space);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nvme-vfio - a small userspace NVMe driver on VFIO and libiova, written
 * to be read.  It takes one NVMe controller bound to vfio-pci, resets and
 * enables it, identifies it, creates one I/O queue pair, writes a pattern
 * to a few blocks and reads it back.  Every buffer the device reads or
 * writes - queues, PRP lists, data - gets its IOVA from libiova.  The
 * queues are mapped one by one with iova_vfio_map(); data buffers and PRP
 * lists come from one pool (iova_vfio_map_pool) on 2 MiB huge pages when
 * the system has some (else on ordinary pages), so that they cost one
 * entry of the container's mapping budget between them and the IOMMU can
 * map them with large pages.  Every command's data pointer and PRP list
 * entries are looked up with iova_vfio_translate(), as a driver handed a
 * plain buffer pointer would.
 *
 *   nvme-vfio 0000:00:04.0 [--negative]
 *
 * Polling only (no interrupts), one outstanding command at a time.
 * --negative: after everything passed, unmap a buffer and send a read
 * into its old IOVA: the IOMMU must block that DMA (the guest kernel logs
 * a DMAR fault; the caller checks).  Prints "PASS <check>" lines and ends
 * with "NVME-VFIO OK", or "FAIL <why>" and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <libiova/iova_vfio.h>

#define PAGE 4096u
#define QUEUE_ENTRIES 64u
#define MSI_START 0xfee00000ull
#define MSI_LAST 0xfeefffffull
#define HUGE_PAGE (2u << 20)
#define POOL_SIZE (4u << 20) /* two huge pages */

static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

/* ---- VFIO: container, group, device ---------------------------------- */

struct vfio {
	int container, group, device;
	struct iova_vfio *iova; /* the container's IOVA space */
	struct iova_vfio_pool *pool; /* data buffers and PRP lists */
	void *pool_va;
	uint64_t pool_iova;
	int pool_huge; /* the pool is on huge pages */
};

static void vfio_open(struct vfio *v, const char *bdf)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[256], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		fail("%s: no IOMMU group (%s)", bdf, strerror(errno));
	link[n] = '\0';
	v->container = open("/dev/vfio/vfio", O_RDWR);
	if (v->container < 0 ||
	    ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    !ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU))
		fail("no usable /dev/vfio/vfio");
	snprintf(path, sizeof(path), "/dev/vfio/%s", basename(link));
	v->group = open(path, O_RDWR);
	if (v->group < 0 || ioctl(v->group, VFIO_GROUP_GET_STATUS, &status) ||
	    !(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		fail("%s: group not viable (all its devices on vfio-pci?)", path);
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) ||
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		fail("cannot attach the group to a type1 container");
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (v->device < 0)
		fail("%s: no device fd", bdf);
}

/* Turn on bus mastering: the device may not DMA without it. */
static void enable_bus_master(struct vfio *v)
{
	struct vfio_region_info cfg = { .argsz = sizeof(cfg),
					.index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t cmd;

	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &cfg) ||
	    pread(v->device, &cmd, 2, (off_t)cfg.offset + 4) != 2)
		fail("cannot read the PCI command register");
	cmd |= 0x4 | 0x2; /* bus master, memory space */
	if (pwrite(v->device, &cmd, 2, (off_t)cfg.offset + 4) != 2)
		fail("cannot write the PCI command register");
}

static volatile uint8_t *map_bar0(struct vfio *v, size_t *size)
{
	struct vfio_region_info bar = { .argsz = sizeof(bar),
					.index = VFIO_PCI_BAR0_REGION_INDEX };
	void *p;

	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &bar) ||
	    !(bar.flags & VFIO_REGION_INFO_FLAG_MMAP))
		fail("BAR0 cannot be mapped");
	p = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 v->device, (off_t)bar.offset);
	if (p == MAP_FAILED)
		fail("mmap BAR0: %s", strerror(errno));
	*size = bar.size;
	return p;
}

/* ---- DMA buffers: memory plus an IOVA from libiova ------------------- */

struct dma {
	void *va;
	uint64_t iova, size;
	int pooled; /* from the pool, not mapped on its own */
};

/* The IOVA of [@p, @p + @len), which must lie in one mapped buffer. */
static uint64_t iova_of(struct vfio *v, const void *p, uint64_t len)
{
	uint64_t iova;
	int err = iova_vfio_translate(v->iova, p, len, &iova);

	if (err)
		fail("iova_vfio_translate %p+%llu: %s", p,
		     (unsigned long long)len, strerror(-err));
	return iova;
}

static void check_translation(struct vfio *v, const struct dma *d);

/* @size bytes (rounded up to whole pages: the IOMMU maps pages) of
 * zeroed, page-aligned memory, mapped for the device at an IOVA at or
 * below @max. */
static struct dma dma_alloc(struct vfio *v, uint64_t size, uint64_t max)
{
	struct dma d = { .size = (size + PAGE - 1) & ~(uint64_t)(PAGE - 1) };
	int err;

	size = d.size;
	if (posix_memalign(&d.va, PAGE, size))
		fail("out of memory");
	memset(d.va, 0, size);
	err = iova_vfio_map(v->iova, d.va, size, PAGE, 0, max,
			    IOVA_VFIO_READ | IOVA_VFIO_WRITE, &d.iova);
	if (err)
		fail("iova_vfio_map %llu bytes: %s", (unsigned long long)size,
		     strerror(-err));
	/* x86: DMA into the MSI window would be taken for an interrupt */
	if (d.iova <= MSI_LAST && d.iova + size - 1 >= MSI_START)
		fail("IOVA 0x%llx inside the MSI window",
		     (unsigned long long)d.iova);
	check_translation(v, &d);
	return d;
}

static unsigned int buffers_checked;

/* A buffer translates to its IOVA, whole, and back. */
static void check_translation(struct vfio *v, const struct dma *d)
{
	void *back;

	if (iova_of(v, d->va, d->size) != d->iova ||
	    iova_of(v, (char *)d->va + d->size - 1, 1) != d->iova + d->size - 1)
		fail("buffer %p does not translate to 0x%llx", d->va,
		     (unsigned long long)d->iova);
	if (iova_vfio_vaddr(v->iova, d->iova, d->size, &back) || back != d->va)
		fail("IOVA 0x%llx does not translate back to %p",
		     (unsigned long long)d->iova, d->va);
	buffers_checked++;
}

/* @size bytes (whole pages) of zeroed memory from the pool. */
static struct dma dma_pool_alloc(struct vfio *v, uint64_t size)
{
	struct dma d = { .size = (size + PAGE - 1) & ~(uint64_t)(PAGE - 1),
			 .pooled = 1 };
	int err = iova_vfio_pool_alloc(v->pool, d.size, PAGE, &d.va, &d.iova);

	if (err)
		fail("iova_vfio_pool_alloc %llu bytes: %s",
		     (unsigned long long)d.size, strerror(-err));
	memset(d.va, 0, d.size);
	check_translation(v, &d);
	return d;
}

static void dma_free(struct vfio *v, struct dma *d)
{
	int err;

	if (d->pooled) {
		err = iova_vfio_pool_free(v->pool, d->va);
		if (err)
			fail("iova_vfio_pool_free %p: %s", d->va,
			     strerror(-err));
		d->va = NULL;
		return;
	}
	err = iova_vfio_unmap(v->iova, d->iova, d->size);

	if (err)
		fail("iova_vfio_unmap 0x%llx: %s", (unsigned long long)d->iova,
		     strerror(-err));
	free(d->va);
	d->va = NULL;
}

/* ---- the NVMe controller ---------------------------------------------- */

enum { REG_CAP = 0x00, REG_CC = 0x14, REG_CSTS = 0x1c, REG_AQA = 0x24,
       REG_ASQ = 0x28, REG_ACQ = 0x30 };

struct sqe {
	uint8_t opcode, flags;
	uint16_t cid;
	uint32_t nsid;
	uint64_t rsvd, mptr, prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct cqe {
	uint32_t result, rsvd;
	uint16_t sq_head, sq_id, cid, status;
};

struct queue {
	struct dma sq, cq;
	uint16_t id, tail, head, phase, cid;
};

struct nvme {
	volatile uint8_t *bar;
	unsigned int doorbell_stride;
	struct queue admin, io;
	uint32_t lba_size;
};

static uint32_t rd32(struct nvme *n, unsigned int reg)
{
	return *(volatile uint32_t *)(n->bar + reg);
}

static uint64_t rd64(struct nvme *n, unsigned int reg)
{
	return *(volatile uint64_t *)(n->bar + reg);
}

static void wr32(struct nvme *n, unsigned int reg, uint32_t val)
{
	*(volatile uint32_t *)(n->bar + reg) = val;
}

static void wr64(struct nvme *n, unsigned int reg, uint64_t val)
{
	*(volatile uint64_t *)(n->bar + reg) = val;
}

static void wait_ready(struct nvme *n, uint32_t ready)
{
	for (int ms = 0; ms < 10000; ms++) {
		if ((rd32(n, REG_CSTS) & 1) == ready)
			return;
		usleep(1000);
	}
	fail("controller did not become %s", ready ? "ready" : "disabled");
}

static void queue_init(struct vfio *v, struct queue *q, uint16_t id,
		       uint64_t max_iova)
{
	q->id = id;
	q->sq = dma_alloc(v, QUEUE_ENTRIES * sizeof(struct sqe), max_iova);
	q->cq = dma_alloc(v, QUEUE_ENTRIES * sizeof(struct cqe), max_iova);
	q->tail = q->head = q->cid = 0;
	q->phase = 1;
}

/* Submit @cmd on @q and wait for its completion; returns the status. */
static uint16_t submit(struct nvme *n, struct queue *q, struct sqe *cmd,
		       uint32_t *result)
{
	struct sqe *sq = q->sq.va;
	volatile struct cqe *cq = q->cq.va;
	unsigned int db = 0x1000 + 2 * q->id * n->doorbell_stride;

	cmd->cid = q->cid++;
	sq[q->tail] = *cmd;
	q->tail = (uint16_t)((q->tail + 1) % QUEUE_ENTRIES);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	wr32(n, db, q->tail);
	for (long spins = 0; (cq[q->head].status & 1) != q->phase; spins++) {
		if (spins > 2000000)
			return 0xffff; /* no completion: the caller decides */
		if (spins > 1000)
			usleep(10);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (result)
		*result = cq[q->head].result;
	uint16_t status = cq[q->head].status >> 1;

	q->head = (uint16_t)((q->head + 1) % QUEUE_ENTRIES);
	if (!q->head)
		q->phase ^= 1;
	wr32(n, db + n->doorbell_stride, q->head);
	return status;
}

static void admin(struct nvme *n, struct sqe *cmd, const char *what)
{
	uint16_t status = submit(n, &n->admin, cmd, NULL);

	if (status)
		fail("%s: status 0x%x", what, status);
}

static void controller_enable(struct vfio *v, struct nvme *n)
{
	uint64_t cap = rd64(n, REG_CAP);

	n->doorbell_stride = 4u << ((cap >> 32) & 0xf);
	wr32(n, REG_CC, 0); /* reset */
	wait_ready(n, 0);
	/* the admin queues below 4 GiB: one allocation under a 32-bit limit */
	queue_init(v, &n->admin, 0, UINT32_MAX);
	if (n->admin.sq.iova > UINT32_MAX || n->admin.cq.iova > UINT32_MAX)
		fail("32-bit limit not honoured");
	printf("PASS admin queues below 4 GiB: sq 0x%llx cq 0x%llx\n",
	       (unsigned long long)n->admin.sq.iova,
	       (unsigned long long)n->admin.cq.iova);
	wr32(n, REG_AQA, (QUEUE_ENTRIES - 1) | ((QUEUE_ENTRIES - 1) << 16));
	wr64(n, REG_ASQ, n->admin.sq.iova);
	wr64(n, REG_ACQ, n->admin.cq.iova);
	/* enable; 4 KiB pages; SQ entries 2^6, CQ entries 2^4 */
	wr32(n, REG_CC, 1 | (6u << 16) | (4u << 20));
	wait_ready(n, 1);
	printf("PASS controller enabled\n");
}

static void identify(struct vfio *v, struct nvme *n)
{
	struct dma id = dma_alloc(v, PAGE, UINT64_MAX);
	struct sqe cmd = { .opcode = 0x06, .prp1 = iova_of(v, id.va, PAGE),
			   .cdw10 = 1 };
	char model[41];
	const uint8_t *ns;
	unsigned int flbas;

	admin(n, &cmd, "identify controller");
	memcpy(model, (char *)id.va + 24, 40);
	model[40] = '\0';
	printf("PASS identify controller: model \"%s\"\n", model);
	memset(id.va, 0, PAGE);
	cmd = (struct sqe){ .opcode = 0x06, .nsid = 1,
			    .prp1 = iova_of(v, id.va, PAGE) };
	admin(n, &cmd, "identify namespace 1");
	ns = id.va;
	flbas = ns[26] & 0xf;
	n->lba_size = 1u << ns[128 + 4 * flbas + 2];
	printf("PASS identify namespace: %u-byte blocks\n", n->lba_size);
	dma_free(v, &id);
}

static void create_io_queues(struct vfio *v, struct nvme *n)
{
	struct sqe cmd;

	queue_init(v, &n->io, 1, UINT64_MAX);
	cmd = (struct sqe){ .opcode = 0x05, .prp1 = n->io.cq.iova,
			    .cdw10 = ((QUEUE_ENTRIES - 1) << 16) | 1,
			    .cdw11 = 1 /* physically contiguous */ };
	admin(n, &cmd, "create I/O completion queue");
	cmd = (struct sqe){ .opcode = 0x01, .prp1 = n->io.sq.iova,
			    .cdw10 = ((QUEUE_ENTRIES - 1) << 16) | 1,
			    .cdw11 = (1u << 16) | 1 /* cq 1, contiguous */ };
	admin(n, &cmd, "create I/O submission queue");
	printf("PASS I/O queue pair created\n");
}

/*
 * Read or write @data at block @lba.  PRPs: the first page in PRP1; a
 * second page in PRP2; more through a PRP list (a page from the pool).
 * Every address the device is given is translated from the buffer
 * pointer; @data->iova is used only by the negative test, whose buffer
 * no longer translates.
 */
static uint16_t rw(struct vfio *v, struct nvme *n, bool write,
		   struct dma *data, uint64_t lba)
{
	uint32_t blocks = (uint32_t)(data->size / n->lba_size);
	unsigned int pages = (unsigned int)(data->size / PAGE);
	const char *va = data->va;
	struct sqe cmd = { .opcode = write ? 0x01 : 0x02, .nsid = 1,
			   .prp1 = va ? iova_of(v, va, PAGE) : data->iova,
			   .cdw10 = (uint32_t)lba,
			   .cdw11 = (uint32_t)(lba >> 32),
			   .cdw12 = blocks - 1 };
	struct dma list = { 0 };
	uint16_t status;

	if (pages == 2) {
		cmd.prp2 = va ? iova_of(v, va + PAGE, PAGE) : data->iova + PAGE;
	} else if (pages > 2) {
		if (!va)
			fail("a stale PRP list is not needed");
		list = dma_pool_alloc(v, PAGE);
		for (unsigned int i = 1; i < pages; i++)
			((uint64_t *)list.va)[i - 1] =
				iova_of(v, va + i * PAGE, PAGE);
		cmd.prp2 = iova_of(v, list.va, PAGE);
	}
	status = submit(n, &n->io, &cmd, NULL);
	if (list.va)
		dma_free(v, &list);
	return status;
}

static void write_read_back(struct vfio *v, struct nvme *n)
{
	static const uint64_t sizes[] = { PAGE, 2 * PAGE, 16 * PAGE };
	uint64_t lba = 8;

	for (unsigned int s = 0; s < 3; s++) {
		struct dma out = dma_pool_alloc(v, sizes[s]);
		struct dma in = dma_pool_alloc(v, sizes[s]);
		uint16_t st;

		for (uint64_t i = 0; i < sizes[s]; i++)
			((uint8_t *)out.va)[i] = (uint8_t)(i * 7 + s + lba);
		st = rw(v, n, true, &out, lba);
		if (st)
			fail("write %llu bytes: status 0x%x",
			     (unsigned long long)sizes[s], st);
		st = rw(v, n, false, &in, lba);
		if (st)
			fail("read %llu bytes: status 0x%x",
			     (unsigned long long)sizes[s], st);
		if (memcmp(out.va, in.va, sizes[s]))
			fail("data read back differs (%llu bytes)",
			     (unsigned long long)sizes[s]);
		printf("PASS wrote and read back %llu bytes at LBA %llu "
		       "(iovas 0x%llx, 0x%llx)\n", (unsigned long long)sizes[s],
		       (unsigned long long)lba, (unsigned long long)out.iova,
		       (unsigned long long)in.iova);
		lba += sizes[s] / n->lba_size;
		dma_free(v, &out);
		dma_free(v, &in);
	}
}

/* A read into an IOVA that was unmapped: the IOMMU must block it. */
static void negative(struct vfio *v, struct nvme *n)
{
	struct dma gone = dma_alloc(v, PAGE, UINT64_MAX);
	struct dma stale = gone;

	dma_free(v, &gone);
	/* unmapped: the buffer no longer translates */
	if (iova_vfio_translate(v->iova, stale.va, PAGE, &stale.iova) !=
	    -ENOENT)
		fail("an unmapped buffer still translates");
	stale.iova = gone.iova;
	stale.va = NULL; /* rw: send the old IOVA as it is */
	printf("NEGATIVE read into freed iova 0x%llx\n",
	       (unsigned long long)stale.iova);
	fflush(stdout);
	/* the device model may still report success: the guest kernel's
	 * DMAR fault log is the witness */
	(void)rw(v, n, false, &stale, 8);
}

/*
 * The pool for data buffers and PRP lists: two 2 MiB huge pages if the
 * system has them (the guest of the end-to-end test is booted with some),
 * else ordinary memory.  One mapping, placed by libiova at an IOVA with
 * the same offset in a 2 MiB page as the memory, which for huge pages is
 * a 2 MiB boundary.
 */
static void pool_create(struct vfio *v)
{
	struct dma whole;
	int err;

	v->pool_va = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			  MAP_POPULATE, -1, 0);
	v->pool_huge = v->pool_va != MAP_FAILED;
	if (!v->pool_huge) {
		printf("INFO no huge pages (%s): the pool is on 4 KiB pages\n",
		       strerror(errno));
		v->pool_va = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (v->pool_va == MAP_FAILED)
			fail("mmap the pool: %s", strerror(errno));
	}
	err = iova_vfio_map_pool(v->iova, v->pool_va, POOL_SIZE, 0, UINT64_MAX,
				 IOVA_VFIO_READ | IOVA_VFIO_WRITE, &v->pool);
	if (err)
		fail("iova_vfio_map_pool: %s", strerror(-err));
	v->pool_iova = iova_of(v, v->pool_va, POOL_SIZE);
	whole = (struct dma){ .va = v->pool_va, .iova = v->pool_iova,
			      .size = POOL_SIZE };
	check_translation(v, &whole);
	if (v->pool_huge) {
		if (v->pool_iova % HUGE_PAGE)
			fail("pool on huge pages at IOVA 0x%llx, not 2 MiB "
			     "aligned", (unsigned long long)v->pool_iova);
		printf("PASS pool on huge pages at iova 0x%llx, 2 MiB aligned\n",
		       (unsigned long long)v->pool_iova);
	}
}

static void pool_destroy(struct vfio *v)
{
	int err = iova_vfio_unmap_pool(v->pool);

	if (err)
		fail("iova_vfio_unmap_pool: %s", strerror(-err));
	munmap(v->pool_va, POOL_SIZE);
}

/* What the kernel says the container may still map (its DMA-available
 * capability), read afresh; -1 when it does not say. */
static long long kernel_dma_avail(struct vfio *v)
{
	struct vfio_iommu_type1_info head = { .argsz = sizeof(head) };
	struct vfio_iommu_type1_info *info;
	long long avail = -1;
	uint32_t off;

	if (ioctl(v->container, VFIO_IOMMU_GET_INFO, &head) ||
	    !(info = calloc(1, head.argsz)))
		return -1;
	info->argsz = head.argsz;
	if (!ioctl(v->container, VFIO_IOMMU_GET_INFO, info) &&
	    (info->flags & VFIO_IOMMU_INFO_CAPS))
		for (off = info->cap_offset; off && off + 8 <= info->argsz;) {
			struct vfio_info_cap_header *h =
				(void *)((char *)info + off);

			if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
				avail = ((struct vfio_iommu_type1_info_dma_avail
						  *)h)->avail;
				break;
			}
			if (h->next <= off)
				break;
			off = h->next;
		}
	free(info);
	return avail;
}

/* The kernel's count and ours agree, and are @want. */
static long long check_budget(struct vfio *v, long long want)
{
	struct iova_vfio_info info;
	long long k = kernel_dma_avail(v);

	iova_vfio_get_info(v->iova, &info);
	if (k < 0 || (long long)info.budget != k || (want >= 0 && k != want))
		fail("dma_avail %lld, ours %llu, want %lld", k,
		     (unsigned long long)info.budget, want);
	return k;
}

static void print_windows(struct vfio *v)
{
	struct iova_vfio_info info;
	struct iova_range w;
	uint64_t largest;

	iova_vfio_get_info(v->iova, &info);
	printf("INFO page sizes 0x%llx, granule %llu, %u windows, mapping "
	       "budget %llu%s\n", (unsigned long long)info.pgsizes,
	       (unsigned long long)info.granule, info.nr_windows,
	       (unsigned long long)info.budget,
	       info.budget_reported ? "" : " (assumed)");
	for (unsigned int i = 0; i < info.nr_windows; i++) {
		iova_space_window(iova_vfio_space(v->iova), i, &w, &largest);
		printf("WINDOW 0x%llx 0x%llx\n", (unsigned long long)w.start,
		       (unsigned long long)w.last);
	}
}

int main(int argc, char **argv)
{
	struct iova_vfio_config cfg = { 0 };
	struct iova_space_stats st;
	struct vfio v;
	struct nvme n = { 0 };
	struct iova_vfio_info info;
	long long avail0, avail1;
	size_t bar_size;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		fail("usage: nvme-vfio BDF [--negative]");
	vfio_open(&v, argv[1]);
	cfg.container_fd = v.container;
	err = iova_vfio_open(&cfg, &v.iova);
	if (err)
		fail("iova_vfio_open: %s", strerror(-err));
	print_windows(&v);
	avail0 = check_budget(&v, -1);
	enable_bus_master(&v);
	n.bar = map_bar0(&v, &bar_size);
	controller_enable(&v, &n);
	identify(&v, &n);
	create_io_queues(&v, &n);
	/* after the I/O queues, which took the top of the space: a plain
	 * top-down placement of the pool would now not be 2 MiB aligned */
	pool_create(&v);
	write_read_back(&v, &n);
	/* the pool and four queues */
	iova_vfio_get_info(v.iova, &info);
	avail1 = check_budget(&v, avail0 - 5);
	if (info.mappings != 5)
		fail("%llu mappings, want 5", (unsigned long long)info.mappings);
	if (argc > 2 && !strcmp(argv[2], "--negative"))
		negative(&v, &n);
	/* disable the controller before its queues go away */
	wr32(&n, REG_CC, 0);
	wait_ready(&n, 0);
	dma_free(&v, &n.io.sq);
	dma_free(&v, &n.io.cq);
	dma_free(&v, &n.admin.sq);
	dma_free(&v, &n.admin.cq);
	pool_destroy(&v);
	check_budget(&v, avail0);
	printf("PASS dma_avail counted down and up: %lld -> %lld -> %lld\n",
	       avail0, avail1, avail0);
	printf("PASS translated every buffer (%u) both ways\n",
	       buffers_checked);
	iova_space_flush_cache(iova_vfio_space(v.iova));
	iova_space_stats(iova_vfio_space(v.iova), &st);
	if (st.allocations || st.cached)
		fail("%llu IOVAs not returned", (unsigned long long)
		     (st.allocations + st.cached));
	printf("PASS every IOVA returned\n");
	iova_vfio_close(v.iova);
	munmap((void *)n.bar, bar_size);
	printf("NVME-VFIO OK\n");
	return 0;
}

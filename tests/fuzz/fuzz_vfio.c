/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_vfio.c - the VFIO helpers (iova_vfio.h) through the injectable
 * ioctl, against a fake type1 container the input describes.
 *
 * The input writes the container's VFIO_IOMMU_GET_INFO reply: the flags,
 * the page sizes, and a capability chain of its own making (the IOVA
 * ranges, the DMA-available count, unknown capabilities, in any order,
 * with next offsets that may point anywhere, loop, or run past argsz),
 * an error for the call, and a second reply that may ask for more room
 * than the first.  Then a sequence of map, map_at and unmap calls, with
 * mappings made behind the library's back, map errors and short unmaps
 * injected.
 *
 * Checked: iova_vfio_open returns what the reply calls for (-ENODEV
 * without ranges, -EINVAL without a page size or for ranges a space
 * cannot take, the ioctl's error) and, when it opens, reports the
 * granule, page sizes and budget of the reply; the IOVA of every map is
 * inside a reported range, aligned, and mapped in the fake IOMMU; the
 * space's allocations are exactly the mappings the library holds (a
 * short unmap keeps its IOVA), the budget and the mapping count follow
 * every call, and a failed map leaves nothing behind.  A chain that
 * points outside the reply is caught by AddressSanitizer (the fake
 * allocates nothing past argsz).
 */
#include <errno.h>
#include <linux/vfio.h>
#include <string.h>

#include <libiova/iova_vfio.h>

#include "faults.h"
#include "fuzz.h"

#define MAX_MAPS 64
#define MAX_RANGES 4

struct fake {
	struct fz *in;
	/* the GET_INFO reply: built once from the input */
	uint8_t reply[512];
	uint32_t need;      /* the argsz the reply asks for */
	uint32_t need2;     /* ... on the second call (may be more) */
	int info_errno;
	unsigned int info_calls;
	/* the IOMMU */
	struct { uint64_t iova, size; bool ours; } maps[MAX_MAPS];
	unsigned int nr_maps;
	int map_errno;      /* fail the next map with this */
	uint64_t unmap_cut; /* the next unmap unmaps this much less */
};

static int fake_ioctl(void *ctx, int fd, unsigned long request, void *arg)
{
	struct fake *f = ctx;

	FZ_CHECK(fd == 42, "ioctl on fd %d", fd);
	if (request == VFIO_IOMMU_GET_INFO) {
		struct vfio_iommu_type1_info *info = arg;
		uint32_t need = f->info_calls++ ? f->need2 : f->need;

		if (f->info_errno) {
			errno = f->info_errno;
			return -1;
		}
		FZ_CHECK(info->argsz >= sizeof(*info), "GET_INFO argsz %u",
			 info->argsz);
		if (info->argsz < need) {
			/* as the kernel: the fixed part, and the size needed */
			memcpy(info, f->reply, sizeof(*info));
			info->argsz = need;
			info->cap_offset = 0;
			return 0;
		}
		/* only what the caller has room for */
		memcpy(info, f->reply, need < sizeof(f->reply) ? need
							      : sizeof(f->reply));
		info->argsz = need;
		return 0;
	}
	if (request == VFIO_IOMMU_MAP_DMA) {
		struct vfio_iommu_type1_dma_map *m = arg;

		FZ_CHECK(m->argsz == sizeof(*m) && m->size &&
			 (m->flags & (VFIO_DMA_MAP_FLAG_READ |
				      VFIO_DMA_MAP_FLAG_WRITE)),
			 "MAP_DMA arguments");
		if (f->map_errno) {
			errno = f->map_errno;
			f->map_errno = 0;
			return -1;
		}
		for (unsigned int i = 0; i < f->nr_maps; i++)
			if (m->iova < f->maps[i].iova + f->maps[i].size &&
			    f->maps[i].iova < m->iova + m->size) {
				errno = EEXIST;
				return -1;
			}
		if (f->nr_maps == MAX_MAPS) {
			errno = ENOSPC;
			return -1;
		}
		f->maps[f->nr_maps].iova = m->iova;
		f->maps[f->nr_maps].size = m->size;
		f->maps[f->nr_maps].ours = true;
		f->nr_maps++;
		return 0;
	}
	if (request == VFIO_IOMMU_UNMAP_DMA) {
		struct vfio_iommu_type1_dma_unmap *u = arg;

		for (unsigned int i = 0; i < f->nr_maps; i++)
			if (f->maps[i].iova == u->iova &&
			    f->maps[i].size == u->size) {
				f->maps[i] = f->maps[--f->nr_maps];
				u->size -= f->unmap_cut < u->size ? f->unmap_cut
								  : 0;
				f->unmap_cut = 0;
				return 0;
			}
		u->size = 0;
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

/* What the reply says, for the checks. */
struct expect {
	int open;              /* iova_vfio_open's result */
	uint64_t pgsizes, granule, budget;
	bool budget_reported;
	struct vfio_iova_range ranges[MAX_RANGES];
	unsigned int nr_ranges;
};

static void put_cap(struct fake *f, uint32_t *off, uint32_t *link,
		    const void *cap, size_t len)
{
	if (*off + len > sizeof(f->reply))
		return;
	memcpy(f->reply + *off, cap, len);
	*link = *off;
	*off += (uint32_t)((len + 7) & ~(size_t)7);
}

/*
 * The reply from the input, and what a correct open makes of it.  The
 * links of a well-formed chain are kept in the reply itself; a byte of
 * input may then bend one of them.
 */
static void build_reply(struct fake *f, struct expect *x)
{
	struct vfio_iommu_type1_info *info = (void *)f->reply;
	uint32_t off = sizeof(*info), *link = &info->cap_offset;
	uint32_t range_off = 0, avail_off = 0;
	uint8_t b = fz_u8(f->in), ncaps = 1 + (fz_u8(f->in) & 3);
	bool well_formed = true;

	memset(x, 0, sizeof(*x));
	info->flags = (b & 1 ? VFIO_IOMMU_INFO_PGSIZES : 0) |
		      (b & 2 ? 0 : VFIO_IOMMU_INFO_CAPS);
	info->iova_pgsizes = b & 4 ? fz_u64(f->in)
				   : UINT64_C(1) << (fz_u8(f->in) % 31);
	for (unsigned int c = 0; c < ncaps; c++) {
		uint8_t kind = fz_u8(f->in) % 3;

		if (kind == 0 && !range_off) {
			uint64_t buf[(sizeof(struct
					     vfio_iommu_type1_info_cap_iova_range) +
				      MAX_RANGES *
					      sizeof(struct vfio_iova_range)) /
				     8] = { 0 };
			struct vfio_iommu_type1_info_cap_iova_range *h =
				(void *)buf;
			uint64_t pos = fz_u8(f->in) ? fz_u32(f->in) : 0;

			h->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
			h->header.version = 1;
			h->nr_iovas = fz_u8(f->in) % (MAX_RANGES + 1);
			for (unsigned int i = 0; i < h->nr_iovas; i++) {
				uint64_t len = fz_num(f->in);

				/* mostly page-aligned and in order */
				if (fz_u8(f->in) < 200) {
					pos = (pos + 0xfff) & ~UINT64_C(0xfff);
					len = (len | 0xfff);
				}
				h->iova_ranges[i].start = pos;
				h->iova_ranges[i].end = pos + len < pos
								? UINT64_MAX
								: pos + len;
				pos = h->iova_ranges[i].end + 1 +
				      fz_u16(f->in) * 4096ull;
				x->ranges[i] = h->iova_ranges[i];
			}
			x->nr_ranges = h->nr_iovas;
			range_off = off;
			put_cap(f, &off, link, h,
				sizeof(*h) + h->nr_iovas *
						     sizeof(h->iova_ranges[0]));
			link = &((struct vfio_info_cap_header *)
					 (f->reply + range_off))->next;
		} else if (kind == 1 && !avail_off) {
			struct vfio_iommu_type1_info_dma_avail cap = { 0 };

			cap.header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
			cap.header.version = 1;
			cap.avail = fz_bool(f->in) ? fz_u8(f->in) : fz_u32(f->in);
			avail_off = off;
			x->budget = cap.avail;
			x->budget_reported = true;
			put_cap(f, &off, link, &cap, sizeof(cap));
			link = &((struct vfio_info_cap_header *)
					 (f->reply + avail_off))->next;
		} else {
			struct vfio_info_cap_header h = { 0 };
			uint32_t at = off;

			h.id = (uint16_t)(100 + fz_u8(f->in)); /* unknown */
			h.version = 1;
			put_cap(f, &off, link, &h, sizeof(h));
			link = &((struct vfio_info_cap_header *)(f->reply + at))
					->next;
		}
	}
	f->need = off;
	f->need2 = off;
	/* now bend it */
	switch (fz_u8(f->in) % 8) {
	case 0: /* a link to anywhere (a loop, past the end, into a cap) */
		*link = fz_u16(f->in);
		well_formed = *link == 0;
		break;
	case 1: /* argsz short of the chain */
		f->need = f->need2 = (uint32_t)sizeof(*info) +
				     fz_u16(f->in) % (off - sizeof(*info) + 1);
		well_formed = f->need == off;
		break;
	case 2: /* the second call asks for more than the first */
		f->need2 = off + 8 + fz_u8(f->in);
		well_formed = false;
		break;
	case 3:
		f->info_errno = fz_bool(f->in) ? EINVAL : EFAULT;
		break;
	default:
		break;
	}
	info->argsz = f->need;

	if (f->info_errno) {
		x->open = f->info_errno == EINVAL ? -ENODEV : -f->info_errno;
		return;
	}
	if (!well_formed) {
		x->open = 1; /* anything but a crash */
		return;
	}
	x->pgsizes = info->flags & VFIO_IOMMU_INFO_PGSIZES ? info->iova_pgsizes
							   : 0;
	x->granule = x->pgsizes & -x->pgsizes;
	if (!x->budget_reported || !(info->flags & VFIO_IOMMU_INFO_CAPS)) {
		x->budget = 65535;
		x->budget_reported = false;
	}
	/* no page size, or a 1-byte one (the virtual-address tree's encoding
	 * needs a spare low bit): refused */
	if (!x->pgsizes || (x->pgsizes & 1)) {
		x->open = -EINVAL;
		return;
	}
	if (!range_off || !x->nr_ranges || !(info->flags & VFIO_IOMMU_INFO_CAPS)) {
		x->open = -ENODEV;
		return;
	}
	/* ranges a space takes: granule-aligned and disjoint (in any
	 * order: building them may wrap past the top) */
	x->open = 0;
	for (unsigned int i = 0; i < x->nr_ranges; i++) {
		const struct vfio_iova_range *r = &x->ranges[i];

		if ((r->start & (x->granule - 1)) ||
		    ((r->end + 1) & (x->granule - 1)) || r->start > r->end)
			x->open = -EINVAL;
		for (unsigned int j = 0; j < i; j++)
			if (r->start <= x->ranges[j].end &&
			    x->ranges[j].start <= r->end)
				x->open = -EINVAL;
	}
}

/* The library's mappings, as we know them. */
struct ours {
	uint64_t iova, size;
	uintptr_t vaddr; /* the virtual range is taken until the unmap */
	bool mapped; /* false after a short unmap: the IOVA stays taken */
};

struct run {
	struct fz in;
	struct fake f;
	struct expect x;
	struct iova_vfio *v;
	struct mt_allocator *cache;
	struct ours m[MAX_MAPS];
	unsigned int nr;
	uint64_t budget;
};

/* [iova, iova + size) lies inside the kernel's ranges: ranges that touch
 * are one window (the space merges them), so a mapping may span a seam. */
static bool in_a_range(const struct run *r, uint64_t iova, uint64_t size)
{
	uint64_t pos = iova, last = iova + size - 1;

	for (unsigned int hops = 0; hops <= r->x.nr_ranges; hops++) {
		unsigned int i;

		for (i = 0; i < r->x.nr_ranges; i++)
			if (pos >= r->x.ranges[i].start &&
			    pos <= r->x.ranges[i].end)
				break;
		if (i == r->x.nr_ranges)
			return false;
		if (r->x.ranges[i].end >= last)
			return true;
		pos = r->x.ranges[i].end + 1;
	}
	return false;
}

static int count_fn(void *arg, const struct iova_range *range)
{
	struct run *r = arg;
	unsigned int i;

	for (i = 0; i < r->nr; i++)
		if (r->m[i].iova == range->start &&
		    r->m[i].iova + r->m[i].size - 1 == range->last)
			break;
	FZ_CHECK(i < r->nr, "space holds [%#lx, %#lx], not a mapping of ours",
		 (unsigned long)range->start, (unsigned long)range->last);
	return 0;
}

static void check_state(struct run *r)
{
	struct iova_vfio_info info;
	struct iova_space_stats st;

	FZ_CHECK(iova_vfio_get_info(r->v, &info) == 0, "get_info");
	FZ_CHECK(info.mappings == r->nr && info.budget == r->budget,
		 "mappings %lu budget %lu, want %u and %lu",
		 (unsigned long)info.mappings, (unsigned long)info.budget, r->nr,
		 (unsigned long)r->budget);
	FZ_CHECK(iova_space_stats(iova_vfio_space(r->v), &st) == 0 &&
		 st.allocations == r->nr, "space: %lu allocations, want %u",
		 (unsigned long)st.allocations, r->nr);
	FZ_CHECK(iova_space_for_each(iova_vfio_space(r->v), count_fn, r) == 0,
		 "for_each");
}

/* [vaddr, vaddr + size) overlaps the virtual range of a mapping of ours
 * (the maps here never pass IOVA_VFIO_ALIAS; a short unmap keeps it). */
static bool vaddr_taken(const struct run *r, uintptr_t vaddr, uint64_t size)
{
	for (unsigned int i = 0; i < r->nr; i++)
		if (vaddr < r->m[i].vaddr + r->m[i].size &&
		    r->m[i].vaddr < vaddr + size)
			return true;
	return false;
}

static uint64_t pick_size(struct run *r)
{
	uint8_t s = fz_u8(&r->in);

	if (s >= 240)
		return fz_num(&r->in); /* anything, often misaligned */
	return (uint64_t)(1 + (s & 15)) * r->x.granule;
}

static void op_map(struct run *r, bool at)
{
	uint64_t size = pick_size(r), iova = 0, align = 0, min = 0;
	uint64_t max = UINT64_MAX;
	uintptr_t vaddr = (uintptr_t)(fz_u16(&r->in) + 1) * r->x.granule;
	unsigned int flags = 1 + fz_u8(&r->in) % 3;
	uint8_t inject = fz_u8(&r->in);
	int ret;

	if (inject >= 240)
		r->f.map_errno = inject & 1 ? ENOMEM : EFAULT;
	if (at) {
		iova = fz_bool(&r->in) && r->x.nr_ranges
			       ? r->x.ranges[fz_u8(&r->in) % r->x.nr_ranges].start
			       : fz_u64(&r->in);
		iova += (uint64_t)fz_u8(&r->in) * r->x.granule;
		ret = iova_vfio_map_at(r->v, (void *)vaddr, size, iova, flags);
	} else {
		if (fz_bool(&r->in)) {
			align = UINT64_C(1) << (fz_u8(&r->in) % 32);
			max = fz_u8(&r->in) ? UINT32_MAX : UINT64_MAX;
		}
		ret = iova_vfio_map(r->v, (void *)vaddr, size, align, min, max,
				    flags, &iova);
	}
	if (!size || (size & (r->x.granule - 1)) || vaddr + size - 1 < vaddr) {
		FZ_CHECK(ret == -EINVAL, "map of size %#lx: %d",
			 (unsigned long)size, ret);
		r->f.map_errno = 0;
		return;
	}
	/* the arguments, then the virtual range, then the budget: all
	 * checked before the kernel is asked */
	if (vaddr_taken(r, vaddr, size)) {
		FZ_CHECK(ret == -EEXIST, "map over a mapped virtual range: %d",
			 ret);
		r->f.map_errno = 0;
		return;
	}
	if (!r->budget) {
		FZ_CHECK(ret == -ENOSPC, "map without budget: %d", ret);
		r->f.map_errno = 0;
		return;
	}
	if (inject >= 240 && r->f.map_errno == 0) {
		/* the injected error was met: the map failed with it */
		FZ_CHECK(ret == (inject & 1 ? -ENOMEM : -EFAULT),
			 "map with an ioctl error: %d", ret);
	}
	r->f.map_errno = 0;
	if (ret) {
		check_state(r);
		return;
	}
	FZ_CHECK(r->nr < MAX_MAPS, "more mappings than the fake holds");
	FZ_CHECK(in_a_range(r, iova, size) && !(iova & (r->x.granule - 1)) &&
		 (!align || !(iova & (align - 1))) && iova + size - 1 <= max,
		 "map at %#lx + %#lx: outside the ranges or misaligned",
		 (unsigned long)iova, (unsigned long)size);
	r->m[r->nr++] = (struct ours){ iova, size, vaddr, true };
	r->budget--;
	check_state(r);
}

/* A mapping made behind the library's back, in the fake IOMMU only. */
static void op_foreign(struct run *r)
{
	uint64_t iova = r->x.nr_ranges ? r->x.ranges[0].start : 0;

	iova += (uint64_t)fz_u8(&r->in) * r->x.granule;
	if (r->f.nr_maps == MAX_MAPS)
		return;
	for (unsigned int i = 0; i < r->f.nr_maps; i++)
		if (iova < r->f.maps[i].iova + r->f.maps[i].size &&
		    r->f.maps[i].iova < iova + r->x.granule)
			return;
	r->f.maps[r->f.nr_maps].iova = iova;
	r->f.maps[r->f.nr_maps].size = r->x.granule;
	r->f.maps[r->f.nr_maps].ours = false;
	r->f.nr_maps++;
}

static void op_unmap(struct run *r)
{
	unsigned int i = r->nr ? fz_u8(&r->in) % r->nr : 0;
	uint8_t how = fz_u8(&r->in);
	uint64_t iova, size;
	bool cut;
	int ret;

	if (!r->nr || how >= 240) {
		iova = fz_u64(&r->in);
		size = r->x.granule;
		for (unsigned int k = 0; k < r->nr; k++)
			if (r->m[k].iova == iova)
				return;
		FZ_CHECK(iova_vfio_unmap(r->v, iova, size) == -ENOENT,
			 "unmap of no mapping");
		return;
	}
	iova = r->m[i].iova;
	size = r->m[i].size;
	if (how >= 224)
		size += r->x.granule; /* the wrong size */
	/* the fake cuts a granule off an unmap only when it is larger */
	cut = how >= 200 && how < 224 && size > r->x.granule;
	if (cut)
		r->f.unmap_cut = r->x.granule;
	ret = iova_vfio_unmap(r->v, iova, size);
	if (size != r->m[i].size) {
		FZ_CHECK(ret == -EINVAL, "unmap with the wrong size: %d", ret);
	} else if (!r->m[i].mapped || cut) {
		/* the kernel unmapped less (or nothing): the IOVA stays */
		FZ_CHECK(ret == -EIO, "short unmap: %d", ret);
		r->m[i].mapped = false;
	} else {
		FZ_CHECK(ret == 0, "unmap: %d", ret);
		r->m[i] = r->m[--r->nr];
		r->budget++;
	}
	r->f.unmap_cut = 0;
	check_state(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run run;
	struct run *r = &run;
	unsigned int nops = 0;
	struct iova_vfio_config cfg = { .container_fd = 42 };
	struct iova_vfio_info info;
	int ret;

	memset(r, 0, sizeof(*r));
	fz_init(&r->in, data, size);
	r->f.in = &r->in;
	build_reply(&r->f, &r->x);
	r->cache = mt_node_cache_create(NULL);
	FZ_CHECK(r->cache, "node cache");
	cfg.ioctl = fake_ioctl;
	cfg.ioctl_ctx = &r->f;
	cfg.node_allocator = r->cache;
	cfg.flags = fz_bool(&r->in) ? IOVA_SPACE_NO_CACHE : 0;
	ret = iova_vfio_open(&cfg, &r->v);
	if (r->x.open != 1)
		FZ_CHECK(ret == r->x.open, "iova_vfio_open: %d, want %d", ret,
			 r->x.open);
	if (ret)
		goto out;
	FZ_CHECK(iova_vfio_get_info(r->v, &info) == 0, "get_info");
	if (r->x.open == 0)
		FZ_CHECK(info.pgsizes == r->x.pgsizes &&
			 info.granule == r->x.granule &&
			 info.budget == r->x.budget &&
			 info.budget_reported == r->x.budget_reported &&
			 info.mappings == 0,
			 "info: pgsizes %#lx granule %#lx budget %lu (%d)",
			 (unsigned long)info.pgsizes,
			 (unsigned long)info.granule,
			 (unsigned long)info.budget, info.budget_reported);
	else
		r->x.granule = info.granule; /* a bent chain that opened */
	r->budget = info.budget;
	FZ_CHECK(r->x.granule && !(r->x.granule & (r->x.granule - 1)),
		 "granule %#lx", (unsigned long)r->x.granule);

	while (fz_more(&r->in) && nops++ < 500 && r->x.open == 0) {
		switch (fz_u8(&r->in) % 6) {
		case 0:
		case 1:
			op_map(r, false);
			break;
		case 2:
			op_map(r, true);
			break;
		case 3:
			op_foreign(r);
			break;
		default:
			op_unmap(r);
			break;
		}
	}
	iova_vfio_close(r->v);
out:
	/* close waits for the RCU callbacks owed to our allocator */
	fz_allocators_done(NULL, r->cache);
	return 0;
}

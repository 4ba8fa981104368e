#!/bin/sh
# The VFIO end-to-end test: boot a Linux guest in QEMU (TCG) with an
# emulated Intel IOMMU and an emulated NVMe controller, run the nvme-vfio
# example driver in it, and check from its serial output that
#   - the driver passed (data written and read back through the IOMMU),
#   - the space's windows are exactly the IOVA ranges VFIO reports: the
#     whole address width minus the MSI window 0xfee00000-0xfeefffff,
#   - the DMA aimed at a freed IOVA was blocked (a DMAR fault at it),
#   - every IOVA went back to the space;
#   - the driver's pool, on the guest's 2 MiB huge pages (hugepages=8 on
#     its command line), got a 2 MiB-aligned IOVA; every buffer
#     translated both ways; the kernel's dma_avail went down by one per
#     mapping and back up, as libiova counted;
# once with the IOMMU's default 39-bit address width, once with 48.
#
#   run-e2e.sh NVME_VFIO_STATIC_BINARY WORKDIR
#
# Exit 77 (skip) only when QEMU or a guest kernel is missing.
set -eu
bin=$1
work=$2
qemu=$(command -v qemu-system-x86_64 || true)
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$qemu" ] || [ -z "$kernel" ]; then
	echo "SKIP: needs qemu-system-x86 and linux-image-amd64 (.ci/run installs them)"
	exit 77
fi
kver=${kernel#/boot/vmlinuz-}
mods=/lib/modules/$kver/kernel
here=$(dirname "$0")

rm -rf "$work"
mkdir -p "$work/root/bin" "$work/root/modules" "$work/root/proc" \
	"$work/root/sys" "$work/root/dev"
cp /bin/busybox "$work/root/bin/busybox"
cp "$here/init" "$work/root/init"
chmod +x "$work/root/init"
cp "$bin" "$work/root/nvme-vfio"
for m in virt/lib/irqbypass drivers/vfio/vfio drivers/vfio/vfio_virqfd \
	drivers/vfio/vfio_iommu_type1 drivers/vfio/pci/vfio-pci-core \
	drivers/vfio/pci/vfio-pci; do
	cp "$mods/$m.ko" "$work/root/modules/"
done
(cd "$work/root" && find . | /bin/busybox cpio -o -H newc 2>/dev/null |
	gzip -1 >"$work/initramfs.gz")
truncate -s 16M "$work/nvme.img"

status=0
for aw in 39 48; do
	log=$work/serial-$aw.log
	iommu="intel-iommu,intremap=on,caching-mode=on"
	[ "$aw" = 39 ] || iommu="$iommu,aw-bits=$aw"
	timeout 300 "$qemu" -machine q35,kernel-irqchip=split -accel tcg \
		-m 512 -smp 1 -display none -no-reboot \
		-device "$iommu" \
		-drive "file=$work/nvme.img,if=none,id=nvm,format=raw" \
		-device nvme,serial=e2e,drive=nvm \
		-kernel "$kernel" -initrd "$work/initramfs.gz" \
		-append "console=ttyS0 intel_iommu=on hugepages=8 panic=-1 quiet" \
		-serial "file:$log" || true
	top=$(printf '0x%x' $(((1 << aw) - 1)))
	sh "$here/check-e2e.sh" "$log" "$top" || status=1
done
exit $status

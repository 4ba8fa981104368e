#!/bin/sh
# Check one guest run's serial log (see run-e2e.sh): LOG TOP, where TOP is
# the last IOVA of the IOMMU's address width.
log=$1
top=$2
ok=0
bad() {
	echo "FAIL ($log): $*"
	ok=1
}
tr -d '\r' <"$log" >"$log.txt"
grep -q '^E2E-DONE' "$log.txt" || bad "the guest did not finish"
grep '^E2E-FAIL\|^FAIL' "$log.txt" && bad "the guest reported a failure"
grep -q '^NVME-VFIO OK' "$log.txt" || bad "the driver did not pass"
grep -q '^E2E-EXIT 0' "$log.txt" || bad "the driver exited non-zero"
grep -q '^PASS every IOVA returned' "$log.txt" || bad "IOVAs not returned"
grep -q '^PASS pool on huge pages at iova 0x[0-9a-f]*, 2 MiB aligned' "$log.txt" ||
	bad "the pool was not on huge pages at a 2 MiB-aligned IOVA"
grep -q '^PASS translated every buffer' "$log.txt" ||
	bad "buffers not translated"
grep -q '^PASS dma_avail counted down and up' "$log.txt" ||
	bad "dma_avail not counted"
# the windows: [0, MSI start - 1] and [MSI end + 1, top]
windows=$(grep '^WINDOW ' "$log.txt" | tr '\n' ' ')
want="WINDOW 0x0 0xfedfffff WINDOW 0xfef00000 $top "
[ "$windows" = "$want" ] || bad "windows '$windows', want '$want'"
grep -q '^RESERVED 0x00000000fee00000 0x00000000feefffff msi' "$log.txt" ||
	bad "VFIO did not report the MSI window as reserved"
# the stale DMA was blocked: a DMAR fault at the freed IOVA
stale=$(sed -n 's/^NEGATIVE read into freed iova 0x\([0-9a-f]*\)$/\1/p' "$log.txt")
if [ -z "$stale" ]; then
	bad "no negative test ran"
elif ! grep -qi "fault addr 0x0*$stale" "$log.txt"; then
	bad "no DMAR fault at the freed IOVA 0x$stale"
fi
[ $ok = 0 ] && echo "PASS ($log): driver, windows up to $top, blocked stale DMA at 0x$stale, every IOVA returned, $(sed -n 's/^PASS \(pool on huge pages.*\)$/\1/p' "$log.txt")"
exit $ok

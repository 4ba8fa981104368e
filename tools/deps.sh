# Sourced by tools/test and tools/demo: install the Debian packages named in
# $1 that are missing.  Needs root (or sudo) only when something is missing.
install_missing() {
	missing=""
	for p in $1; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "installing:$missing"
	if [ "$(id -u)" -eq 0 ]; then
		sudo=""
	else
		sudo="sudo"
	fi
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		--no-install-recommends $missing >/dev/null
}

# What building and testing need.
BUILD_PACKAGES="meson ninja-build pkg-config gcc g++ python3 liburcu-dev libcmocka-dev libglib2.0-dev libbsd-dev libjudy-dev"

# What the VFIO end-to-end test needs (tests/vfio-e2e): QEMU, a guest
# kernel with its modules, a static busybox for the guest's initramfs.
E2E_PACKAGES="qemu-system-x86 linux-image-amd64 busybox-static"

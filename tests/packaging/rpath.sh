#!/bin/sh
# Install into a prefix the dynamic loader does not search, link a program
# against libiova only (the program's own rpath names the libdir, as a
# packager's would), and run it without LD_LIBRARY_PATH: libiova must find
# libmapletree.so.0 through its own RUNPATH.
#   rpath.sh SOURCE_DIR
set -eu
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

meson setup "$tmp/build" "$src" --prefix="$tmp/prefix" --libdir=lib \
	-Dtests=false -Dexamples=false -Dbench=disabled -Dwerror=true >/dev/null
meson compile -C "$tmp/build" >/dev/null
meson install -C "$tmp/build" --quiet >/dev/null
lib=$tmp/prefix/lib

readelf -d "$lib/libiova.so.0" | grep -q "RUNPATH.*\[$lib\]" || {
	echo "libiova.so.0 has no RUNPATH to $lib" >&2
	readelf -d "$lib/libiova.so.0" >&2
	exit 1
}

cat > "$tmp/main.c" <<'C'
#include <stdio.h>
#include <libiova/iova_space.h>

int main(void)
{
	struct iova_space_config c = { .address_width = 39 };
	struct iova_space *s;
	uint64_t iova;

	if (iova_space_create(&c, &s) ||
	    iova_space_alloc(s, 4096, 0, 0, UINT64_MAX, 0, &iova) ||
	    iova_space_free(s, iova))
		return 1;
	iova_space_destroy(s);
	return 0;
}
C
cc -std=gnu11 -Wall -Wextra -Werror -I"$tmp/prefix/include" \
	-o "$tmp/main" "$tmp/main.c" -L"$lib" -liova -Wl,-rpath,"$lib"
env -u LD_LIBRARY_PATH "$tmp/main"
echo "program linked against libiova only ran from $tmp/prefix"

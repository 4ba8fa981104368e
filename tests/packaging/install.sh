#!/bin/sh
# Install into a temporary tree and build an example against the installed
# headers and libraries through pkg-config, so a broken .pc file, a missing
# header or a missing export fails here.
#   install.sh BUILD_DIR EXAMPLE_SOURCE
set -eu
build=$1
example=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

meson install -C "$build" --no-rebuild --quiet --destdir "$tmp" >/dev/null

# The .pc files name the configured prefix; point them at the staged tree.
prefix=$(meson introspect "$build" --buildoptions |
	 python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
pcdir=$(dirname "$(find "$tmp" -name libiova.pc)")
for pc in "$pcdir"/libiova.pc "$pcdir"/libmapletree.pc; do
	sed -i "s|^prefix=.*|prefix=$tmp$prefix|" "$pc"
done
export PKG_CONFIG_PATH="$pcdir"

pkg-config --exists --print-errors libiova
cc -std=gnu11 -Wall -Wextra -Werror ${EXAMPLE_CFLAGS:-} -o "$tmp/example" "$example" \
	$(pkg-config --cflags --libs libiova)
LD_LIBRARY_PATH=$(pkg-config --variable=libdir libiova) "$tmp/example"
echo "installed example built and ran"

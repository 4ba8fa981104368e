#!/bin/sh
# Use the source tree as a Meson subproject of a small consumer project,
# the way a driver project would vendor it, and run the consumer.
#   subproject.sh SOURCE_DIR EXAMPLE_SOURCE
set -eu
src=$1
example=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/consumer/subprojects"
ln -s "$src" "$tmp/consumer/subprojects/libiova"
cp "$example" "$tmp/consumer/main.c"
cat > "$tmp/consumer/meson.build" <<'MESON'
project('consumer', 'c', default_options: ['c_std=gnu11', 'warning_level=2', 'werror=true'])
subproject('libiova', default_options: ['tests=false', 'examples=false'])
executable('consumer', 'main.c', dependencies: dependency('libiova'))
MESON
meson setup "$tmp/build" "$tmp/consumer" >/dev/null
meson compile -C "$tmp/build" >/dev/null
"$tmp/build/consumer"
echo "subproject build ran"

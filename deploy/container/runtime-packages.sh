#!/bin/sh
# runtime-packages.sh DIR: writes DIR/runtime-packages, the Debian packages that own the shared libraries the
# executables and plugins installed under DIR load (ldd, then dpkg -S), so that the image's runtime stage
# installs exactly those. Runs in the builder stage (build-accel.sh) and, for an image made from a build
# folder (`scripts/container build --prebuilt`), on the Debian 12 host that built it.
# Libraries that no package owns (a PyTorch image's libtorch) are carried by the variant itself.
set -eu
out="$1"
find "$out" -type f \( -perm -u+x -o -name '*.so*' \) -print0 | xargs -0 -r env LD_LIBRARY_PATH="${ACCEL_EXTRA_LIBS:-}" ldd 2>/dev/null |
  awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u |
  while read -r lib; do
    # dpkg knows each file by one of its names (merged /usr: /lib/... or /usr/lib/..., soname or real name).
    real="$(readlink -f "$lib")"
    for name in "$real" "${real#/usr}" "$lib" "/usr$lib"; do dpkg -S "$name" 2>/dev/null && break; done || true
  done |
  cut -d: -f1-2 | sed 's/: .*//' | sort -u >"$out/runtime-packages"
echo "runtime packages:" $(cat "$out/runtime-packages")

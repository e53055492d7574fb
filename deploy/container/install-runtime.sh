#!/bin/sh
# Runs in the Dockerfile's runtime stages: installs the Debian packages named in /tmp/runtime-packages (the
# libraries the builder's binaries load) plus any .deb files given as arguments, then removes apt's lists
# and caches so the image carries only the libraries.
set -eu
export DEBIAN_FRONTEND=noninteractive
# OpenCV's core library links libGLX (for OpenGL interop, which Accel never uses), and Debian's libglx0
# depends on Mesa's GLX driver, whose DRI drivers pull in LLVM, Z3 and ICU: about 170 MB of the image for a
# library that is loaded but never asked for a GLX context. A stand-in package provides libglx-mesa0 instead.
# Installing real Mesa later (apt-get install libglx-mesa0) replaces nothing and works as usual.
mkdir -p /tmp/glx-stub/DEBIAN
cat >/tmp/glx-stub/DEBIAN/control <<'CONTROL'
Package: accel-glx-stub
Version: 1.0
Architecture: all
Maintainer: Accel maintainers <accel@example.org>
Priority: optional
Section: misc
Provides: libglx-mesa0
Description: stands in for Mesa's GLX driver in Accel's container image
 OpenCV's core library links libGLX, whose Debian package depends on Mesa's GLX
 driver and with it on LLVM. Accel creates no GLX context, so no GLX vendor
 library is needed.
CONTROL
dpkg-deb --build /tmp/glx-stub /tmp/accel-glx-stub.deb >/dev/null
dpkg -i /tmp/accel-glx-stub.deb >/dev/null
rm -rf /tmp/glx-stub /tmp/accel-glx-stub.deb
# Packages that the given .deb files provide (HailoRT) are installed from those files, not looked up.
packages="$(cat /tmp/runtime-packages)"
for deb in "$@"; do
  name="$(dpkg-deb -f "$deb" Package)"
  packages="$(printf '%s\n' $packages | grep -v -x -e "$name" -e "$name:.*" || true)"
done
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $packages "$@"
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log /tmp/runtime-packages

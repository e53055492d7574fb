#!/bin/sh
# Runs inside the Dockerfile's builder stages: configures and builds `accel` from /src into /src/build,
# installs it (stripped) under /out, and writes /out/runtime-packages (runtime-packages.sh), so that the
# runtime stage installs exactly the Debian packages the binaries load libraries from.
# Extra arguments go to cmake (the variant's engine switches). A compiler cache lent to the build at /ccache
# (scripts/container does with buildah) is used when it is writable.
set -eu
cd /src
# The locale of Debian's images and of this project's machines; the compiler cache keys on it, so a build
# here finds the objects a checkout's build left in a lent cache.
export LANG=C.UTF-8
launcher=""
if [ -d /ccache ] && [ -w /ccache ]; then
  # Same relative paths as a checkout built in <checkout>/build, so objects a developer already compiled
  # are found again (ccache's base_dir makes paths under it relative).
  # The cache's owner sizes and cleans it (max_size 0: this build never evicts anything).
  export CCACHE_DIR=/ccache CCACHE_BASEDIR=/src CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=0
  launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache"
  ccache -z >/dev/null
fi
# RelWithDebInfo, as scripts/setup builds (and so the compiler cache matches); the binary is stripped on
# install.
# shellcheck disable=SC2086
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DACCEL_BUILD_TESTS=OFF \
  -DCMAKE_INSTALL_PREFIX=/usr/local $launcher "$@"
cmake --build build --target accel -j"${BUILD_JOBS:-$(nproc)}"
[ -n "$launcher" ] && ccache -s | sed -n '1,8p' || true
# The binary and, when built, the nvidia plugin; not the package's settings and systemd files.
DESTDIR=/out cmake --install build --strip --component runtime
DESTDIR=/out cmake --install build --strip --component nvidia
/src/deploy/container/runtime-packages.sh /out

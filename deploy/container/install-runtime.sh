#!/bin/sh
# Runs in the Dockerfile's runtime stages: installs the Debian packages named in /tmp/runtime-packages (the
# libraries the builder's binaries load) plus any .deb files given as arguments, then removes apt's lists
# and caches so the image carries only the libraries.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2046
apt-get install -y --no-install-recommends $(cat /tmp/runtime-packages) "$@"
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log /tmp/runtime-packages

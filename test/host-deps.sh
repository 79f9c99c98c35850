#!/bin/sh
# Installs what the build needs from Debian when the machine lacks it: a C
# compiler and the kernel/libc headers for the C object in ffi/, and musl,
# which the waiter (ffi/waiter/) is linked with statically.
# `release`: also the cross toolchains, musl, qemu-user and readelf that
# build.ts --release and test/release/check.ts use, and musl for arm64
# unpacked into build/sysroot/arm64-musl (Debian has no package that puts it
# on an x86-64 host; the packages are fetched with a private apt state, so
# the host's architectures stay as they are).
set -e
root=$(cd "$(dirname "$0")/.." && pwd)
need=""
{ command -v cc >/dev/null 2>&1 && [ -f /usr/include/linux/openat2.h ]; } || need="gcc libc6-dev"
[ -f /usr/lib/x86_64-linux-musl/libc.a ] || need="$need musl-dev"
if [ "$1" = release ]; then
  for p in aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu musl-gcc:musl-tools qemu-aarch64-static:qemu-user-static \
    readelf:binutils; do
    command -v "${p%%:*}" >/dev/null 2>&1 || need="$need ${p#*:}"
  done
  [ -f /usr/aarch64-linux-gnu/include/linux/mount.h ] || need="$need libc6-dev-arm64-cross"
fi
if [ -n "$need" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "bunc's build needs Debian's $need" >&2
    exit 1
  fi
  apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
[ "$1" = release ] || exit 0
sysroot="$root/build/sysroot/arm64-musl"
[ -f "$sysroot/lib/aarch64-linux-musl/libc.so" ] && exit 0
apt="$root/build/apt-arm64"
mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$sysroot"
set -- -o Dir::State::Lists="$apt/lists" -o Dir::Cache::Archives="$apt/archives" -o Dir::State::status=/dev/null \
  -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o APT::Sandbox::User=root
apt-get "$@" update -qq
(cd "$apt" && apt-get "$@" download musl:arm64 musl-dev:arm64 >/dev/null)
for deb in "$apt"/musl*_arm64.deb; do dpkg-deb -x "$deb" "$sysroot"; done

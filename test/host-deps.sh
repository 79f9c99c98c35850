#!/bin/sh
# Installs what the build needs from Debian when the machine lacks it: a C
# compiler and the kernel/libc headers for the C object in ffi/.
set -e
if command -v cc >/dev/null 2>&1 && [ -f /usr/include/linux/openat2.h ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "bunc needs a C compiler and libc headers (Debian: gcc libc6-dev)" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null

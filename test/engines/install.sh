#!/bin/sh
# Installs the container engines the engine tests drive, from Debian, when
# the machine lacks them: dockerd (docker.io, with its containerd and shim)
# and podman (with conmon).
set -e
if command -v dockerd >/dev/null 2>&1 && command -v containerd-shim-runc-v2 >/dev/null 2>&1 &&
  command -v podman >/dev/null 2>&1 && command -v conmon >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "the engine tests need dockerd, containerd and podman (Debian: docker.io, podman)" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io podman >/dev/null

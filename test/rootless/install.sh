#!/bin/sh
# Installs what the rootless tests need from Debian when the machine lacks
# it: newuidmap and newgidmap (uidmap), to map a user's /etc/subuid ranges.
set -e
if command -v newuidmap >/dev/null 2>&1 && command -v newgidmap >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "the rootless tests need newuidmap and newgidmap (Debian: uidmap)" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends uidmap >/dev/null

#!/usr/bin/env bash
# The second platform, Debian 13 (GCC 14, LibTorch 2.6, Boost 1.83, toml++ 3.4), on these
# Debian 12 machines, which have no container runtime: a Debian 13 root made with
# debootstrap, once per machine, under $CKPT_DEBIAN13_ROOT (default
# /var/cache/ckpt-harness/debian13, outside the repository), entered with chroot. The
# checkout is bind-mounted at /src inside; /proc and a tmpfs on /dev/shm are mounted for
# the command and unmounted after it, whatever happens. Inside, CKPT_BUILD_DIR is
# build-debian13: both platforms build in one checkout side by side.
#
#   ci/debian13.sh root                 # make the root and install the build and test packages
#   ci/debian13.sh run CMD [ARG...]     # run CMD inside, in /src (the root is made first)
#
# Needs root (debootstrap, mount, chroot). Debian's mirror is the only network it uses.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=${CKPT_DEBIAN13_ROOT:-/var/cache/ckpt-harness/debian13}
mirror=${CKPT_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# The root is made once (debootstrap), then ci/install-deps.sh, the one list of both platforms'
# packages, installs what is missing inside it (it is quick when nothing is).
make_root() {
  if [ ! -x "$root/bin/bash" ]; then
    command -v debootstrap >/dev/null || bash "$repo/ci/install-deps.sh" >/dev/null
    rm -rf "$root.partial"
    mkdir -p "$(dirname "$root")"
    debootstrap --variant=minbase trixie "$root.partial" "$mirror" >"$(dirname "$root")/debootstrap.log" 2>&1 || {
      tail -20 "$(dirname "$root")/debootstrap.log"
      exit 1
    }
    mv "$root.partial" "$root"
  fi
  inside bash ci/install-deps.sh
}

mounted=()
unmount_all() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  mounted=()
}

# Runs a command in the root with /proc, /dev/shm and the checkout mounted.
inside() {
  trap unmount_all EXIT
  mkdir -p "$root/proc" "$root/dev/shm" "$root/src"
  mount -t proc proc "$root/proc" && mounted+=("$root/proc")
  mount -t tmpfs -o size=1g tmpfs "$root/dev/shm" && mounted+=("$root/dev/shm")
  mount --bind "$repo" "$root/src" && mounted+=("$root/src")
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  local status=0
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 CI="${CI:-}" CKPT_BUILD_DIR=build-debian13 /bin/bash -c 'cd /src && exec "$@"' bash "$@" || status=$?
  unmount_all
  trap - EXIT
  return $status
}

case "${1:-}" in
  root) make_root ;;
  run)
    shift
    make_root
    inside "$@"
    ;;
  *)
    echo "usage: ci/debian13.sh root | run CMD [ARG...]" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Builds ckpt-harness from this checkout and installs it into PREFIX (default /opt/ckpt-harness):
# the harness, its worker, the bundled plugins and the CkptHarness CMake package that a
# model repository's plugin build finds with -DCMAKE_PREFIX_PATH=PREFIX. For CI jobs of
# model repositories (ci/templates/); installs only the Debian packages a build needs.
#
#   ci/install-harness.sh [PREFIX]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=${1:-/opt/ckpt-harness}

# What building the harness needs, on Debian 12 (LibTorch 1.13) or Debian 13 (LibTorch 2.6): the
# build part of ci/install-deps.sh's list, without the test tools.
packages=(build-essential cmake ninja-build pkg-config libtorch-dev libboost-dev libtomlplusplus-dev libcli11-dev
          nlohmann-json3-dev libssl-dev libre2-dev libelf-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S "$root" -B "$root/build-install" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -DCKPT_BUILD_TESTS=OFF -DCKPT_BUILD_BENCHMARKS=OFF
cmake --build "$root/build-install" -j "$(nproc)" --target ckpt-harness ckpt-harness-worker bundled_plugins
cmake --install "$root/build-install" --prefix "$prefix"
echo "ckpt-harness installed in $prefix (add $prefix/bin to PATH)"

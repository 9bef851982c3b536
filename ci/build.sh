#!/usr/bin/env bash
# Configures and builds ckpt-harness in build/ (or $CKPT_BUILD_DIR: the Debian 13 root builds
# in build-debian13/), Ninja, -O2 without debug info: LibTorch's templates make debug info a
# third of the compile time, and CI needs none; configure a build directory of your own with
# -DCMAKE_BUILD_TYPE=RelWithDebInfo to debug. ccache, when installed, keeps its cache in the
# user's home, outside the work tree: a second build of the same sources takes seconds.
# CKPT_OTHER_PLATFORM_BUILD names the other platform's build directory (relative to the
# checkout), whose plugins this build's tests must refuse.
# Usage: ci/build.sh [cmake --build arguments, e.g. --target ckpt-harness]
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install-deps.sh
build=${CKPT_BUILD_DIR:-build}
options=(-G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG")
if command -v ccache >/dev/null; then
  options+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD"  # paths relative to the checkout: another clone hits the same cache
fi
options+=("-DCKPT_OTHER_PLATFORM_BUILD=${CKPT_OTHER_PLATFORM_BUILD:-}")
cmake -S . -B "$build" "${options[@]}" >"$build-configure.log" 2>&1 || {
  cat "$build-configure.log"
  exit 1
}
rm -f "$build-configure.log"
cmake --build "$build" -j "$(nproc)" "$@"

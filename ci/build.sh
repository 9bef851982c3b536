#!/usr/bin/env bash
# Configures and builds ckpt-harness in build/ (Ninja, -O2 without debug info: LibTorch's
# templates make debug info a third of the compile time, and CI needs none; configure a
# build directory of your own with -DCMAKE_BUILD_TYPE=RelWithDebInfo to debug).
# Usage: ci/build.sh [cmake --build arguments, e.g. --target ckpt-harness]
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  > build-configure.log 2>&1 || {
  cat build-configure.log
  exit 1
}
rm -f build-configure.log
cmake --build build -j "$(nproc)" "$@"

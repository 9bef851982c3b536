#!/usr/bin/env bash
# Configures and builds ckpt-harness in build/ (Release with debug info, Ninja).
# Usage: ci/build.sh [cmake --build arguments, e.g. --target ckpt-harness]
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > build-configure.log 2>&1 || {
  cat build-configure.log
  exit 1
}
rm -f build-configure.log
cmake --build build -j "$(nproc)" "$@"

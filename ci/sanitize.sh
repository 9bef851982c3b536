#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer
# on), test plugins built with -fno-gnu-unique: the "sanitize" presets of CMakePresets.json,
# in build-sanitize/. Usage: ci/sanitize.sh [ctest arguments, e.g. -R HostileCatalogue]
# Environment: SANITIZE_JOBS (build and test parallelism, default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install-deps.sh
jobs="${SANITIZE_JOBS:-$(nproc)}"
cmake --preset sanitize >/dev/null
cmake --build --preset sanitize -j "$jobs"
ctest --preset sanitize -j "$jobs" "$@"

#!/usr/bin/env bash
# Builds everything and runs the whole test suite: a short libFuzzer smoke run of every
# fuzz target (FUZZ_SECONDS each, default 60; 0 skips it), then CTest, whose summary
# ("100% tests passed, ...") ends the output.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/build.sh
if [ "${FUZZ_SECONDS:-60}" != "0" ]; then
  bash ci/fuzz-smoke.sh
fi
cd build
ctest --output-on-failure -j "$(nproc)"

#!/usr/bin/env bash
# Builds everything and runs the whole test suite: a short libFuzzer smoke run of every
# fuzz target (FUZZ_SECONDS each, default 60; 0 skips it), the sanitizer job on the
# LibTorch-free core (ci/sanitize.sh core), then CTest, whose summary ("100% tests passed,
# ...") ends the output.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/build.sh
if [ "${FUZZ_SECONDS:-60}" != "0" ]; then
  bash ci/fuzz-smoke.sh
fi
# The sanitizer job: the LibTorch-free core under ASan + UBSan (the whole suite under them is
# `bash ci/sanitize.sh`, too long for every pull request). SANITIZE_CORE=0 skips it.
if [ "${SANITIZE_CORE:-1}" != "0" ]; then
  bash ci/sanitize.sh core
fi
cd build
ctest --output-on-failure --no-label-summary -j "$(nproc)"

#!/usr/bin/env bash
# Tests under AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer on), plugins built
# with -fno-gnu-unique: the "sanitize" presets of CMakePresets.json, in build-sanitize/.
#
#   ci/sanitize.sh        the whole suite (every target instrumented; long: LibTorch code)
#   ci/sanitize.sh core   the LibTorch-free core that reads untrusted bytes and configs:
#                         reader, engine core, schema, config, runner, reports (what ci/test.sh runs)
# Environment: SANITIZE_JOBS (build and test parallelism, default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install-deps.sh
jobs="${SANITIZE_JOBS:-$(nproc)}"
cmake --preset sanitize >/dev/null
if [ "${1:-}" = "core" ]; then
  core=(text_tests reader_tests results_tests engine_tests schema_tests config_tests runner_tests reports_tests)
  cmake --build --preset sanitize -j "$jobs" --target "${core[@]}"
  labels=$(IFS='|'; echo "^(${core[*]})\$")
  ctest --preset sanitize -j "$jobs" -L "$labels" --no-tests=error
else
  cmake --build --preset sanitize -j "$jobs"
  ctest --preset sanitize -j "$jobs" "$@"
fi

#!/usr/bin/env bash
# The main job: build ckpt-harness, its worker and the bundled plugins, and run every
# bundled checkpoint against every plugin version it is meant for (ckpt-harness.toml).
# Exit code is the harness's own (0 all as expected, 1 unexpected failures, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/build.sh --target ckpt-harness bundled_plugins
exec build/harness/ckpt-harness run --config ckpt-harness.toml "$@"

#!/usr/bin/env bash
# The main job: build ckpt-harness and run it on the shipped default config
# (ckpt-harness.toml: the bundled fixtures). Exit code is the harness's own.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/build.sh --target ckpt-harness
exec build/harness/ckpt-harness inspect --config ckpt-harness.toml "$@"

#!/usr/bin/env bash
# The other supported platform's real plugins (Debian 12 / LibTorch 1.13 <-> Debian 13 /
# LibTorch 2.6), built in the same checkout by .ci/run: `ckpt-harness plugins` refuses each,
# naming the LibTorch it was built against and this harness's, and exits 1.
# Usage: other_platform_plugins.sh CKPT_HARNESS OTHER_BUILD_DIR THIS_LIBTORCH OTHER_LIBTORCH
set -euo pipefail
harness=$1 other=$2 this=$3 that=$4
fail() { echo "FAIL: $*"; exit 1; }
shopt -s nullglob
plugins=("$other"/harness/plugins/*.so)
[ ${#plugins[@]} -gt 0 ] || fail "no plugins in $other/harness/plugins: build the other platform first (.ci/run does)"
for plugin in "${plugins[@]}"; do
  status=0
  out=$("$harness" plugins "$plugin" 2>&1) || status=$?
  [ "$status" -ne 0 ] || fail "$plugin was listed, not refused: $out"
  grep -qF "built against LibTorch $that (it needs libtorch_cpu.so.$that), this harness uses LibTorch $this" <<<"$out" ||
    fail "the refusal of $plugin does not name both versions: $out"
done
echo "${#plugins[@]} plugins of LibTorch $that refused by the LibTorch $this harness"

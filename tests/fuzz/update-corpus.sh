#!/usr/bin/env bash
# Folds what fuzzing found (build-fuzz/fuzz/<target>/corpus, grown by ci/fuzz-smoke.sh) into
# the committed corpus tests/fuzz/corpus/<target>.tar.xz: libFuzzer's -merge keeps the
# smallest set of inputs (8 KiB or less) that reaches the same coverage, so the archive stays
# small. Inputs that once crashed or hung a target are kept whatever their coverage: add
# them with a name starting "regression-" (see regression-* in the archives).
#
#   FUZZ_SECONDS=600 FUZZ_SEED=0 ci/fuzz-smoke.sh && tests/fuzz/update-corpus.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build="$root/build-fuzz"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_zip fuzz_unpickler fuzz_checkpoint fuzz_safetensors fuzz_legacy)
export CKPT_FUZZ_SHARD_DIR="$build/fuzz/shards"
for t in "${targets[@]}"; do
  archive="$root/tests/fuzz/corpus/$t.tar.xz"
  work=$(mktemp -d)
  mkdir -p "$work/candidates" "$work/kept"
  [ -f "$archive" ] && tar -C "$work/candidates" -xJf "$archive"
  find "$build/fuzz/$t/corpus" -type f -size -8k -exec cp {} "$work/candidates/" \; 2>/dev/null || true
  "$build/tests/fuzz/$t" -merge=1 "$work/kept" "$work/candidates" >"$work/merge.log" 2>&1
  cp "$work/candidates"/regression-* "$work/kept/" 2>/dev/null || true
  tar -C "$work/kept" -cJf "$archive" .
  echo "$t: $(ls "$work/candidates" | wc -l) candidates -> $(ls "$work/kept" | wc -l) inputs, $(stat -c %s "$archive") bytes"
  rm -rf "$work"
done

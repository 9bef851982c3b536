#!/usr/bin/env bash
# Fuzz smoke test of the reader core: builds the libFuzzer targets (clang++, ASan + UBSan,
# no LibTorch) in build-fuzz/, seeds one corpus per target from fixtures/ (pickles are
# copied out of the zip fixtures as bytes, never unpickled), and runs the targets side by
# side (FUZZ_PARALLEL at a time, default one per core) for FUZZ_SECONDS each (default 60).
# A slow input is not a finding (a loaded machine makes any input slow); one over the
# 10 s timeout is. Everything it writes stays under
# build-fuzz/fuzz/<target>/: seeds/ (rebuilt each run), corpus/ (kept and grown across
# runs), artifacts/ (crash-*, timeout-*, oom-*, leak-* of the last run) and fuzz.log.
# Exits non-zero when any target finds a crash, hang, leak or sanitizer report.
# One more job runs beside the libFuzzer targets: the differential fuzz of the reader against a
# static reading of torch.load (tests/differential/differential_fuzz.py, harness_view from the
# normal build in build/; FUZZ_SEED as its seed), for FUZZ_SECONDS; its disagreeing inputs go
# to build-fuzz/fuzz/differential/artifacts/. Select it alone by its name, `differential`.
#
#   ci/fuzz-smoke.sh                          # all targets, 60 s each
#   FUZZ_SECONDS=10 ci/fuzz-smoke.sh fuzz_zip # some targets, shorter
# Environment: FUZZ_SECONDS, FUZZ_PARALLEL, FUZZ_JOBS (build parallelism, default 1), FUZZ_CXX (clang++),
# FUZZ_SEED (default 1, so a CI smoke run is reproducible; 0 lets libFuzzer pick a random
# seed, for longer exploratory runs).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build-fuzz"
work="$build/fuzz"
seconds="${FUZZ_SECONDS:-60}"
dict="$root/tests/fuzz/pickle.dict"
all_targets=(fuzz_zip fuzz_unpickler fuzz_checkpoint fuzz_safetensors fuzz_legacy fuzz_dcp_metadata differential)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  case " ${all_targets[*]} " in *" $t "*) ;; *) echo "fuzz-smoke: unknown target '$t' (known: ${all_targets[*]})" >&2; exit 2 ;; esac
done

# --- build -------------------------------------------------------------------------------
libfuzzer_targets=()
for t in "${targets[@]}"; do [ "$t" = differential ] || libfuzzer_targets+=("$t"); done
if [ ${#libfuzzer_targets[@]} -gt 0 ]; then
  CXX="${FUZZ_CXX:-clang++}" cmake -S "$root" -B "$build" -DCKPT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j "${FUZZ_JOBS:-1}" --target "${libfuzzer_targets[@]}"
fi
# The differential job's C++ side is a plain tool of the normal build (build/, configured by ci/build.sh).
harness_view="$root/build/tests/harness_view"
for t in "${targets[@]}"; do
  if [ "$t" = differential ]; then
    bash "$root/ci/build.sh" --target harness_view
  fi
done

# --- seed corpora from the committed fixtures ----------------------------------------------
mapfile -t fixtures < <(cd "$root" && find fixtures -type f \( -name '*.pt' -o -name '*.safetensors' -o -name '*.json' \) | sort)
first_bytes() { od -An -tx1 -N4 "$1" | tr -d ' \n'; }

seed() {  # seed <target> <fixture>: copy under a name unique across subdirectories
  cp "$root/$2" "$work/$1/seeds/$(echo "$2" | tr '/' '_')"
}

declare -A selected=()
for t in "${targets[@]}"; do
  selected[$t]=1
  [ "$t" != differential ] || continue
  rm -rf "$work/$t/seeds"
  mkdir -p "$work/$t/seeds" "$work/$t/corpus"
  # The committed corpus (tests/fuzz/corpus/<target>.tar.xz, minimised from long runs by
  # tests/fuzz/update-corpus.sh): the coverage those runs reached, and every input that
  # once crashed or hung a target.
  if [ -f "$root/tests/fuzz/corpus/$t.tar.xz" ]; then tar -C "$work/$t/seeds" -xJf "$root/tests/fuzz/corpus/$t.tar.xz"; fi
done
have() { [ -n "${selected[$1]:-}" ]; }

for f in "${fixtures[@]}"; do
  have fuzz_checkpoint && seed fuzz_checkpoint "$f"
  case "$f" in
    *.safetensors) have fuzz_safetensors && seed fuzz_safetensors "$f" ;;
    *.pt)
      case "$(first_bytes "$root/$f")" in
        504b0304) have fuzz_zip && seed fuzz_zip "$f" ;;
        80028a0a) have fuzz_legacy && seed fuzz_legacy "$f" ;;
      esac ;;
  esac
done

# The .metadata of every torch.distributed.checkpoint fixture (hostile copies too: bytes only).
if have fuzz_dcp_metadata; then
  while IFS= read -r f; do seed fuzz_dcp_metadata "$f"; done < <(cd "$root" && find fixtures -name .metadata | sort)
fi

if have fuzz_unpickler; then
  # The */data.pkl record of every zip fixture, read as bytes (zipfile does not unpickle).
  python3 - "$root" "$work/fuzz_unpickler/seeds" "${fixtures[@]}" <<'PY'
import os, sys, zipfile
root, out, files = sys.argv[1], sys.argv[2], sys.argv[3:]
for rel in files:
    path = os.path.join(root, rel)
    if not rel.endswith(".pt") or not zipfile.is_zipfile(path):
        continue
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name == "data.pkl" or name.endswith("/data.pkl"):
                dest = os.path.join(out, rel.replace("/", "_") + "__" + name.replace("/", "_"))
                with open(dest, "wb") as f:
                    f.write(z.read(name))
PY
fi

# fuzz_checkpoint reads a fuzzed *.safetensors.index.json as if it lay beside these shards.
rm -rf "$work/shards"
mkdir -p "$work/shards"
cp "$root"/fixtures/safetensors/sharded/*.safetensors "$work/shards/"
export CKPT_FUZZ_SHARD_DIR="$work/shards"

max_len_of() {
  case "$1" in
    fuzz_unpickler | fuzz_safetensors) echo 16384 ;;
    *) echo 65536 ;;  # the largest fixture is ~34 KB
  esac
}

# --- run ----------------------------------------------------------------------------------
# Targets run side by side, FUZZ_PARALLEL at a time (default: one per core); each writes
# its summary line to <target>/result and a "failed" marker when it found something.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
# The differential job: seeds from fixtures/ and its own hand-made ones; no libFuzzer.
run_differential() {
  local dir="$work/differential" status=0
  rm -rf "$dir/result" "$dir/failed"
  mkdir -p "$dir"
  echo "=== differential: ${seconds}s, static torch.load reading vs harness_view"
  /usr/bin/python3 "$root/tests/differential/differential_fuzz.py" --harness-view "$harness_view" --root "$root" \
      --seconds "$seconds" --seed "${FUZZ_SEED:-1}" --artifacts "$dir/artifacts" >"$dir/fuzz.log" 2>&1 || status=$?
  local line
  line="differential: $(sed -n 's/^differential fuzz: \([0-9]* inputs\).*(\(.*\/s\)).*/\1 (\2)/p' "$dir/fuzz.log" | tail -1), exit status $status"
  if [ "$status" -ne 0 ]; then
    touch "$dir/failed"
    line+=", FAILED"$'\n'"    $(grep -m1 -E '^(missing-finding|other-globals|harness-error)|Traceback' "$dir/fuzz.log" || true)"
    line+=$'\n'"    artifacts: $dir/artifacts"
  fi
  echo "$line" >"$dir/result"
}

run_target() {
  local t=$1 dir="$work/$1" status=0
  if [ "$t" = differential ]; then run_differential; return; fi
  rm -rf "$dir/artifacts" "$dir/result" "$dir/failed"
  mkdir -p "$dir/artifacts"
  echo "=== $t: ${seconds}s, $(ls "$dir/seeds" | wc -l) seeds, $(ls "$dir/corpus" | wc -l) corpus inputs"
  (cd "$dir" && "$build/tests/fuzz/$t" corpus seeds \
      -dict="$dict" -max_total_time="$seconds" -timeout=10 -report_slow_units=100000 -rss_limit_mb=2048 -seed="${FUZZ_SEED:-1}" \
      -max_len="$(max_len_of "$t")" -print_final_stats=1 -artifact_prefix="$dir/artifacts/") \
      >"$dir/fuzz.log" 2>&1 || status=$?
  local execs rate line
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -1)
  # After a crash there are no final stats: take the last status line ("#12345 ...").
  [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$dir/fuzz.log" | tail -1 | tr -d '#' || true)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/fuzz.log" | tail -1)
  mapfile -t found < <(find "$dir/artifacts" -type f | sort)
  line="$t: ${execs:-?} executions (${rate:-?}/s), exit status $status"
  if [ "$status" -ne 0 ] || [ ${#found[@]} -gt 0 ]; then
    touch "$dir/failed"
    line+=", FAILED"
    local first
    first=$(grep -m1 -E "^==[0-9]+==ERROR|runtime error:|reader invariant violated|deadly signal|Timeout|out-of-memory|terminate called" \
      "$dir/fuzz.log" || true)
    [ -z "$first" ] || line+=$'\n'"    $first"
    for a in "${found[@]}"; do line+=$'\n'"    artifact: $a"; done
  fi
  echo "$line" >"$dir/result"
}

parallel="${FUZZ_PARALLEL:-$(nproc)}"
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$parallel" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait

echo
echo "=== fuzz smoke summary (logs: $work/<target>/fuzz.log)"
failed=()
for t in "${targets[@]}"; do
  cat "$work/$t/result" 2>/dev/null || echo "$t: no result (the run itself failed)"
  if [ -e "$work/$t/failed" ] || [ ! -e "$work/$t/result" ]; then failed+=("$t"); fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]} (reproduce: build-fuzz/tests/fuzz/<target> <artifact>; differential: each artifact's .json holds both views)"
  exit 1
fi
echo "all ${#targets[@]} targets ran clean"

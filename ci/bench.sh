#!/usr/bin/env bash
# Benchmarks. Builds reader_bench, materialize_all and ckpt-harness in build/, writes a
# ~360 MiB GAN training checkpoint into build/bench/ (once; tests/bench/write_gan_checkpoint.py),
# then, in this one run and on a warm page cache, times each command RUNS times (median):
#   (a) ckpt-harness inspect FILE   vs  /usr/bin/python3 torch.load(FILE)   goal: >= 50x faster
#   (b) materialize_all FILE        vs  cat FILE                            goal: >= 0.5x cat's MB/s
#   (c) the compare step in-process (read, extract, compare; engine_bench) vs Python's
#       torch.load + load_state_dict(strict=False) in-process           goal: >= 100x faster
#   (d) ckpt-harness diff on a full-size DCGAN checkpoint vs the Python script a team
#       would write instead (tests/bench/python_side.py check-dcgan), whole processes
# runs reader_bench (Google Benchmark) and ends with a summary of both ratios.
# Timing uses hyperfine (installed from Debian when missing), else a bash loop over date.
# Goals are reported (PASS / MISS), not enforced: the exit status is 0 unless something fails.
# Environment: RUNS (default 5), BENCH_JOBS (build parallelism, default nproc),
#              BENCH_MIN_TIME (reader_bench --benchmark_min_time, default 0.2).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

runs="${RUNS:-5}"
out="$root/build/bench"
big="$out/gan_big.pt"
harness="$root/build/harness/ckpt-harness"
materialize="$root/build/tests/bench/materialize_all"
reader_bench="$root/build/tests/bench/reader_bench"

# --- build ----------------------------------------------------------------------------------
bash ci/install-deps.sh
if ! grep -q '^CKPT_BUILD_BENCHMARKS:BOOL=ON' build/CMakeCache.txt 2>/dev/null; then
  generator=()
  [ -f build/CMakeCache.txt ] || generator=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo)
  cmake -S . -B build "${generator[@]}" -DCKPT_BUILD_BENCHMARKS=ON >/dev/null
fi
cmake --build build -j "${BENCH_JOBS:-$(nproc)}" --target reader_bench materialize_all engine_bench ckpt-harness ckpt-harness-worker dcgan
mkdir -p "$out"

# --- the big checkpoint (regenerated only when missing, resized or its writer changed) -------
writer=tests/bench/write_gan_checkpoint.py
stamp=$(sha256sum "$writer" | cut -c1-16)
if [ -f "$big" ] && [ "$(cat "$big.meta" 2>/dev/null)" = "$stamp $(stat -c %s "$big")" ]; then
  echo "bench: reusing $big"
else
  echo "bench: writing $big with /usr/bin/python3 $writer"
  rm -f "$big.meta"
  /usr/bin/python3 "$writer" "$big"
  echo "$stamp $(stat -c %s "$big")" >"$big.meta"
fi
bytes=$(stat -c %s "$big")
dcgan_full="$out/dcgan_full.pt"
[ -f "$dcgan_full" ] || /usr/bin/python3 tests/bench/python_side.py write-dcgan "$dcgan_full"

# --- timing -----------------------------------------------------------------------------------
if ! command -v hyperfine >/dev/null; then
  echo "bench: installing hyperfine"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq hyperfine >/dev/null 2>&1 ||
    { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq hyperfine >/dev/null; } ||
    echo "bench: hyperfine unavailable, timing with a bash loop"
fi
tool=loop
command -v hyperfine >/dev/null && tool=hyperfine

# median <name> <command>: wall seconds, median of $runs runs after one warm-up; the
# command's stdout goes to /dev/null. hyperfine runs it without a shell (-N).
median() {
  local name=$1 cmd=$2
  if [ "$tool" = hyperfine ]; then
    hyperfine -N --style basic --warmup 1 --runs "$runs" --command-name "$name" \
      --export-json "$out/$name.json" "$cmd" >&2
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$out/$name.json"
  else
    local i t0 t1 times=()
    eval "$cmd" >/dev/null
    for ((i = 0; i < runs; i++)); do
      t0=$(date +%s.%N)
      eval "$cmd" >/dev/null
      t1=$(date +%s.%N)
      times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')")
    done
    echo "$name: ${times[*]} s" >&2
    printf '%s\n' "${times[@]}" | sort -g |
      awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'
  fi
}

q() { printf '%q' "$1"; }
echo "bench: warming the page cache ($bytes bytes)"
cat "$big" >/dev/null

echo "=== (a) inspect vs torch.load"
t_inspect=$(median inspect "$(q "$harness") inspect $(q "$big")")
t_torch=$(median torch_load "/usr/bin/python3 -c 'import torch,sys; torch.load(sys.argv[1])' $(q "$big")")

echo "=== (b) materialize_all vs cat"
t_cat=$(median cat "cat $(q "$big")")
t_mat=$(median materialize_all "$(q "$materialize") $(q "$big")")
# Fixed cost of the LibTorch process (loading its libraries) on a 33 KB checkpoint, for the record.
t_mat_tiny=$(median materialize_all_tiny "$(q "$materialize") $(q "$root/fixtures/gan_dcgan_adam.pt")")
# Its own timing of the phases (no process start): "time: read_checkpoint X ms, materialise + read Y ms".
mat_report=$("$materialize" "$big")
echo "$mat_report"
in_read_ms=$(sed -n 's/^time: read_checkpoint \([0-9.]*\) ms.*/\1/p' <<<"$mat_report")
in_touch_ms=$(sed -n 's/.*materialise + read \([0-9.]*\) ms.*/\1/p' <<<"$mat_report")

echo "=== reader_bench"
CKPT_BENCH_FILE="$big" "$reader_bench" --benchmark_min_time="${BENCH_MIN_TIME:-0.2}" | tee "$out/reader_bench.txt"

echo "=== (c) compare step in-process"
CKPT_BENCH_FILE="$big" build/tests/bench/engine_bench --benchmark_min_time="${BENCH_MIN_TIME:-0.2}" \
  --benchmark_format=json --benchmark_out="$out/engine_bench.json" --benchmark_out_format=json | tail -n +1 >/dev/null
t_compare=$(python3 -c 'import json,sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b["name"] == "BM_CompareCheckpointFile": print(b["real_time"] / 1e3)' "$out/engine_bench.json")
t_py_compare=$(/usr/bin/python3 tests/bench/python_side.py time-load-state-dict "$big")

echo "=== (d) diff vs the Python script, whole processes"
t_diff=$(median diff "$(q "$harness") diff $(q "$dcgan_full") --plugin dcgan")
t_py_diff=$(median python_check "/usr/bin/python3 $(q "$root/tests/bench/python_side.py") check-dcgan $(q "$dcgan_full")")

# --- summary ----------------------------------------------------------------------------------
awk -v bytes="$bytes" -v runs="$runs" -v tool="$tool" -v file="${big#"$root"/}" \
  -v ti="$t_inspect" -v tt="$t_torch" -v tc="$t_cat" -v tm="$t_mat" -v tmt="$t_mat_tiny" \
  -v rd="${in_read_ms:-0}" -v tch="${in_touch_ms:-0}" -v tcmp="$t_compare" -v tpy="$t_py_compare" \
  -v td="$t_diff" -v tpd="$t_py_diff" -v dbytes="$(stat -c %s "$dcgan_full")" 'BEGIN {
  mb = bytes / 1e6
  ra = tt / ti; rb = tc / tm
  printf "\n=== bench summary: %s, %.1f MB, median of %d runs (%s), warm page cache\n", file, mb, runs, tool
  printf "(a) inspect %.4f s vs torch.load %.3f s: inspect %.1fx faster (goal >= 50x): %s\n",
    ti, tt, ra, (ra >= 50 ? "PASS" : "MISS")
  printf "(b) materialize_all %.4f s = %.0f MB/s vs cat %.4f s = %.0f MB/s: ratio %.3f (goal >= 0.5): %s\n",
    tm, mb / tm, tc, mb / tc, rb, (rb >= 0.5 ? "PASS" : "MISS")
  printf "    where (b) goes: LibTorch process start+exit %.3f s (materialize_all on a 33 KB fixture),\n", tmt
  printf "    read_checkpoint %.0f ms, materialise + read %.0f ms = %.0f MB/s in-process (%.2f of cat)\n",
    rd, tch, (tch > 0 ? mb / (tch / 1e3) : 0), (tch > 0 ? (mb / (tch / 1e3)) / (mb / tc) : 0)
  rc = tpy / tcmp
  printf "(c) compare step %.4f s vs torch.load + load_state_dict(strict=False) %.3f s, in-process: %.0fx faster (goal >= 100x): %s\n",
    tcmp, tpy, rc, (rc >= 100 ? "PASS" : "MISS")
  printf "(d) diff %.3f s vs Python script %.3f s on a %.0f MB DCGAN checkpoint, whole processes: %.1fx faster\n",
    td, tpd, dbytes / 1e6, tpd / td
}'

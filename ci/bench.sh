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
# and, on a ~575 MB wide DCGAN checkpoint the dcgan 1.0.0 plugin loads (build/bench/dcgan_wide.pt,
# python_side.py write-wide-dcgan):
#   (e) the load step of a unit in-process (load_bench: compare, strict loads, optimizer state)
#       vs torch.load + load_state_dict(strict=True) + 2 Optimizer.load_state_dict   goal: >= 3x faster
#   (f) ckpt-harness run (strict-load + optimizer-state, jobs 1) vs python_side.py resume-load,
#       whole processes                                                             goal: >= 1.5x faster
#   (g) peak memory of the same two processes (GNU time %M: the largest of the process and the
#       children it waited for, so the run's worker counts)             goal: harness <= 1.3x the file
#   (h) the default config (ckpt-harness.toml): worker overhead per unit with --jobs 1 (wall - sum
#       of the units' seconds, per unit), LibTorch start-up (ckpt-harness-worker --version), and
#       the wall time with the configured jobs                                     goal: < 30 s
# runs reader_bench (Google Benchmark) and ends with a summary of the ratios.
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
cmake --build build -j "${BENCH_JOBS:-$(nproc)}" --target reader_bench materialize_all engine_bench load_bench \
  ckpt-harness ckpt-harness-worker dcgan_v1 dcgan_v2
mkdir -p "$out"
if [ ! -x /usr/bin/time ]; then  # GNU time, for peak memory (g)
  echo "bench: installing GNU time"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >/dev/null 2>&1 ||
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >/dev/null; }
fi

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

# The wide DCGAN checkpoint of (e)-(g): nz=100, ngf=ndf=$wide_ngf (regenerated like the big one).
wide="$out/dcgan_wide.pt"
wide_ngf=184
side=tests/bench/python_side.py
stamp=$(sha256sum "$side" | cut -c1-16)
if [ -f "$wide" ] && [ "$(cat "$wide.meta" 2>/dev/null)" = "$stamp $wide_ngf $(stat -c %s "$wide")" ]; then
  echo "bench: reusing $wide"
else
  echo "bench: writing $wide with /usr/bin/python3 $side write-wide-dcgan"
  rm -f "$wide.meta"
  /usr/bin/python3 "$side" write-wide-dcgan "$wide" "$wide_ngf"
  echo "$stamp $wide_ngf $(stat -c %s "$wide")" >"$wide.meta"
fi
wide_bytes=$(stat -c %s "$wide")
# The run of (f)/(g): one unit, dcgan 1.x on the wide file, strict-load + optimizer-state.
# Paths in a config are relative to it. The -v1 variant names only dcgan_v1.so in [plugins]
# paths, so the supervisor describes (builds) one plugin instead of both: where (f) goes.
write_wide_config() {  # write_wide_config FILE REPORT_DIR [PLUGINS_PATHS_LINE]
  cat >"$1" <<TOML
# Written by ci/bench.sh for (f) and (g): the wide DCGAN checkpoint through ckpt-harness run.
[run]
jobs = 1
report_dir = "$2"

[plugins]
${3:-}

[plugins.dcgan]
options = { nz = 100, ngf = $wide_ngf, ndf = $wide_ngf }

[scenarios]
run = ["strict-load", "optimizer-state"]

[[checkpoints]]
name = "dcgan-wide"
files = ["$(basename "$wide")"]
plugins = ["dcgan@1.*"]
TOML
}
wide_config="$out/wide-run.toml"
wide_config_v1="$out/wide-run-v1.toml"
write_wide_config "$wide_config" wide-report
write_wide_config "$wide_config_v1" wide-report-v1 'paths = ["../harness/plugins/dcgan_v1.so"]'

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
    rm -f "$out/$name.json"
    hyperfine -N --style basic --warmup 1 --runs "$runs" --command-name "$name" \
      --export-json "$out/$name.json" "$cmd" >&2 || { echo "bench: $name failed: $cmd" >&2; exit 1; }
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
t_diff=$(median diff "$(q "$harness") diff $(q "$dcgan_full") --plugin dcgan@1.0.0")
t_py_diff=$(median python_check "/usr/bin/python3 $(q "$root/tests/bench/python_side.py") check-dcgan $(q "$dcgan_full")")

echo "bench: warming the page cache ($wide_bytes bytes)"
cat "$wide" >/dev/null

echo "=== (e) the load step in-process: load_bench vs torch.load + load_state_dict + Optimizer.load_state_dict"
plugin_v1="$root/build/harness/plugins/dcgan_v1.so"
t_load=$(build/tests/bench/load_bench "$plugin_v1" "$wide" 100 "$wide_ngf" "$wide_ngf" 3)
t_py_load=$(/usr/bin/python3 "$side" time-resume-load "$wide" "$wide_ngf")
echo "load_bench $t_load s, Python $t_py_load s (medians of 3)"

echo "=== (f) ckpt-harness run vs python_side.py resume-load, whole processes"
t_run=$(median run_wide "$(q "$harness") run --config $(q "$wide_config")")
# The unit's own seconds (results.json of the last run: the worker's phases of its cases).
unit_s=$(python3 -c 'import json, sys; print(sum(u["seconds"] for u in json.load(open(sys.argv[1]))["units"]))' \
  "$out/wide-report/results.json")
t_py_run=$(median python_resume "/usr/bin/python3 $(q "$root/$side") resume-load $(q "$wide") $wide_ngf")
t_run_v1=$(median run_wide_v1 "$(q "$harness") run --config $(q "$wide_config_v1")")
t_worker=$(median worker_version "$(q "$root/build/harness/ckpt-harness-worker") --version")

echo "=== (g) peak memory (GNU time %M)"
# peak_kib NAME CMD...: the largest maxrss (KiB) of min(RUNS, 3) runs.
peak_kib() {
  local name=$1 i best=0 k
  shift
  for ((i = 0; i < (runs < 3 ? runs : 3); i++)); do
    /usr/bin/time -f %M -o "$out/$name.maxrss" "$@" >/dev/null
    k=$(tail -n 1 "$out/$name.maxrss")
    if ((k > best)); then best=$k; fi
  done
  echo "$name: $best KiB" >&2
  echo "$best"
}
m_run=$(peak_kib run_wide "$harness" run --config "$wide_config")
m_py=$(peak_kib python_resume /usr/bin/python3 "$side" resume-load "$wide" "$wide_ngf")
m_worker=$(peak_kib worker_version "$root/build/harness/ckpt-harness-worker" --version)

echo "=== (h) the default config (ckpt-harness.toml)"
# Each --jobs 1 run: wall (date), the sum of its units' seconds and their count (results.json).
overheads=()
walls1=()
for ((i = 0; i < runs; i++)); do
  rm -f "$out/default-report/results.json"
  t0=$(date +%s.%N)
  rc=0
  "$harness" run --jobs 1 --report-dir "$out/default-report" >/dev/null || rc=$?
  t1=$(date +%s.%N)
  # 1: unexpected case failures (still a full run, timed); anything else: no run to time.
  [ "$rc" -eq 0 ] || echo "bench: the default run exited with $rc" >&2
  if [ "$rc" -gt 1 ] || [ ! -f "$out/default-report/results.json" ]; then
    echo "bench: the default run failed (exit $rc, see: $harness run --jobs 1)" >&2
    exit 1
  fi
  read -r sum units < <(python3 -c 'import json, sys
u = json.load(open(sys.argv[1]))["units"]
print(sum(x["seconds"] for x in u), len(u))' "$out/default-report/results.json")
  walls1+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')")
  overheads+=("$(awk -v a="$t0" -v b="$t1" -v s="$sum" -v n="$units" 'BEGIN { printf "%.6f", (b - a - s) / n }')")
  echo "default run --jobs 1: wall ${walls1[-1]} s, $units units, sum of unit seconds $sum s, exit $rc" >&2
done
med() { printf '%s\n' "$@" | sort -g | awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'; }
t_default1=$(med "${walls1[@]}")
per_unit=$(med "${overheads[@]}")
t_default=$(median default_run "$(q "$harness") run --report-dir $(q "$out/default-report")")

# --- summary ----------------------------------------------------------------------------------
awk -v bytes="$bytes" -v runs="$runs" -v tool="$tool" -v file="${big#"$root"/}" \
  -v ti="$t_inspect" -v tt="$t_torch" -v tc="$t_cat" -v tm="$t_mat" -v tmt="$t_mat_tiny" \
  -v rd="${in_read_ms:-0}" -v tch="${in_touch_ms:-0}" -v tcmp="$t_compare" -v tpy="$t_py_compare" \
  -v td="$t_diff" -v tpd="$t_py_diff" -v dbytes="$(stat -c %s "$dcgan_full")" \
  -v wbytes="$wide_bytes" -v wngf="$wide_ngf" -v tl="$t_load" -v tpl="$t_py_load" -v tr="$t_run" -v tpr="$t_py_run" \
  -v tr1="$t_run_v1" -v us="$unit_s" -v tw="$t_worker" -v mr="$m_run" -v mp="$m_py" -v mw="$m_worker" \
  -v td1="$t_default1" -v pu="$per_unit" -v tdf="$t_default" -v units="$units" 'BEGIN {
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
  wmb = wbytes / 1e6
  printf "on the wide DCGAN checkpoint build/bench/dcgan_wide.pt (nz=100, ngf=ndf=%d, G, D and their Adams), %.1f MB:\n", wngf, wmb
  re = tpl / tl
  printf "(e) load step in-process (medians of 3) %.3f s vs torch.load + load_state_dict + 2 Optimizer.load_state_dict %.3f s: %.2fx faster (goal >= 3x): %s\n",
    tl, tpl, re, (re >= 3 ? "PASS" : "MISS")
  rf = tpr / tr
  printf "(f) ckpt-harness run (strict-load + optimizer-state, 1 unit) %.3f s vs python_side.py resume-load %.3f s: %.2fx faster (goal >= 1.5x): %s\n",
    tr, tpr, rf, (rf >= 1.5 ? "PASS" : "MISS")
  printf "    where (f) goes: LibTorch start-up %.3f s, the unit %.3f s (results.json), the rest %.3f s (mostly describing\n", tw, us, tr - us - tw
  printf "    both plugin files, each building the model); with dcgan_v1.so alone in [plugins] paths %.3f s = %.2fx faster\n", tr1, tpr / tr1
  mrb = mr * 1024 / 1e6; mpb = mp * 1024 / 1e6; mwb = mw * 1024 / 1e6
  printf "(g) peak memory: ckpt-harness run %.0f MB = %.2fx the file (goal <= 1.3x): %s; Python resume-load %.0f MB = %.2fx the file\n",
    mrb, mrb / wmb, (mrb / wmb <= 1.3 ? "PASS" : "MISS"), mpb, mpb / wmb
  printf "    of which the LibTorch process alone (ckpt-harness-worker --version) %.0f MB = %.2fx the file\n", mwb, mwb / wmb
  printf "(h) default config, %d units, --jobs 1: wall %.3f s, (wall - sum of unit seconds) / units = %.4f s per unit;\n", units, td1, pu
  printf "    LibTorch start-up (ckpt-harness-worker --version) %.3f s; with the configured jobs: %.3f s (goal < 30 s): %s\n",
    tw, tdf, (tdf < 30 ? "PASS" : "MISS")
}'

#!/usr/bin/env bash
# The HTML report in a real browser: runs the main job's config into OUT_DIR, opens
# report.html in headless Chromium, and checks that the script ran without console errors
# and that the DOM shows the matrix and the cases; writes a screenshot beside it.
# Usage: report_in_chromium.sh CKPT_HARNESS REPO_ROOT OUT_DIR
set -euo pipefail
harness=$1 root=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
cd "$root"
status=0
"$harness" run --config ckpt-harness.toml --report-dir "$out" >"$out/run.log" 2>&1 || status=$?
[ "$status" -eq 0 ] || { echo "ckpt-harness run exited $status"; tail -20 "$out/run.log"; exit 1; }
page="file://$out/report.html"
browser=(chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir="$out/profile"
         --enable-logging=stderr --v=0)
timeout 120 "${browser[@]}" --dump-dom "$page" >"$out/dom.html" 2>"$out/console.log"
timeout 120 "${browser[@]}" --window-size=1280,1600 --screenshot="$out/report.png" "$page" >/dev/null 2>>"$out/console.log"

fail() { echo "FAIL: $*"; exit 1; }
# Chromium logs page console messages as CONSOLE(line) "..." and script errors as Uncaught.
if grep -E 'CONSOLE\(|Uncaught' "$out/console.log"; then fail "the page logged console errors"; fi
grep -q '<table class="matrix">' "$out/dom.html" || fail "no matrix in the DOM"
grep -q '<td class="cell expected-fail"><a href="#u-dcgan-2-0-0-fixtures-dcgan-current-pt">' "$out/dom.html" ||
  fail "the matrix lacks the expected-incompatible cell of dcgan 2.0.0 x fixtures/dcgan/current.pt"
grep -q '<details class="case expected-fail"' "$out/dom.html" || fail "no case details"
grep -q 'id="filters" class=""' "$out/dom.html" || fail "the script did not run (filters still hidden)"
[ -s "$out/report.png" ] || fail "no screenshot"
echo "report.html renders in Chromium: matrix, cases, filters; screenshot $out/report.png"

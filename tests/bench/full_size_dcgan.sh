#!/usr/bin/env bash
# A full-size DCGAN unit (nz=100, ngf=ndf=64, 64x64 images, Adam states after 2 steps) through
# every scenario, on the platform this runs on: writes the checkpoint with this platform's
# Python torch, runs `ckpt-harness run` on it, and prints each scenario's seconds, then the
# seconds this platform's Python torch takes for resume-determinism's steps on the same file.
# Usage: tests/bench/full_size_dcgan.sh BUILD_DIR OUT_DIR
#   bash tests/bench/full_size_dcgan.sh build /tmp/full-12
#   bash ci/debian13.sh run bash tests/bench/full_size_dcgan.sh build-debian13 /tmp/full-13
set -euo pipefail
build=$1 out=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$out" && mkdir -p "$out"
/usr/bin/python3 - "$repo" "$out" <<'PY'
import sys, torch
sys.path.insert(0, sys.argv[1] + '/fixtures')
import generate_dcgan as d
d.NZ, d.NGF, d.NDF = 100, 64, 64
torch.set_num_threads(1)
G, D, oG, oD, lg, ld = d.train(ngf=64)  # its default ngf is bound at definition
torch.save(d.gan_dict(G.state_dict(), D.state_dict(), oG, oD, lg, ld), sys.argv[2] + '/dcgan_full.pt')
PY
cat >"$out/harness.toml" <<TOML
[run]
jobs = 1
timeout_seconds = 600
report_dir = "report"
[plugins]
paths = ["$repo/$build/harness/plugins"]
[plugins.dcgan]
options = { nz = 100, ngf = 64, ndf = 64 }
[[checkpoints]]
files = ["dcgan_full.pt"]
plugins = ["dcgan@1.0.0"]
TOML
"$repo/$build/harness/ckpt-harness" run --config "$out/harness.toml" --allow-path "$repo" >"$out/run.log" 2>&1 || true
/usr/bin/python3 - "$out/report/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
u = r['units'][0]
print(u["id"], u['outcome'], 'unit %.2f s' % u['seconds'])
for c in u['cases']:
    print('  %-22s %-24s %-10s %6.2f s' % (c['scenario'], c['component'], c['outcome'], c.get('seconds', 0.0)))
PY
printf 'python %s resume-determinism steps: ' "$(/usr/bin/python3 -c 'import torch; print(torch.__version__)')"
/usr/bin/python3 "$repo/tests/bench/python_side.py" time-resume-determinism "$out/dcgan_full.pt"

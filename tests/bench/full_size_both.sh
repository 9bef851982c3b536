#!/usr/bin/env bash
# The full-size DCGAN unit on both platforms back to back (tests/bench/full_size_dcgan.sh), with
# the ratios Debian 12 / Debian 13 of the unit, of resume-determinism, and of Python's own steps.
# Needs both builds (build/, build-debian13/) and the Debian 13 root (ci/debian13.sh root).
# Usage: bash tests/bench/full_size_both.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tests/bench/full_size_dcgan.sh build /tmp/ckpt-full-size-12 | tee /tmp/ckpt-full-size-12.txt
bash ci/debian13.sh run bash tests/bench/full_size_dcgan.sh build-debian13 /tmp/ckpt-full-size-13 | tee /tmp/ckpt-full-size-13.txt
/usr/bin/python3 - /tmp/ckpt-full-size-12.txt /tmp/ckpt-full-size-13.txt <<'PY'
import re, sys
def figures(path):
    text = open(path).read()
    return {'unit': float(re.search(r'unit ([\d.]+) s', text).group(1)),
            'resume-determinism': float(re.search(r'\n\s+resume-determinism\s.*?([\d.]+) s', text).group(1)),
            'python steps': float(re.search(r'steps: ([\d.]+)', text).group(1))}
a, b = figures(sys.argv[1]), figures(sys.argv[2])
for k in a:
    print('%-20s Debian 12 %7.2f s   Debian 13 %7.2f s   ratio %.2f' % (k, a[k], b[k], a[k] / b[k]))
print('harness / python on Debian 12: %.2f, on Debian 13: %.2f' % (a['resume-determinism'] / a['python steps'], b['resume-determinism'] / b['python steps']))
PY

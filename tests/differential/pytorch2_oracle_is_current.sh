#!/usr/bin/env bash
# On the PyTorch 2.x platform: PyTorch's own torch.load still describes each fixture of
# fixtures/pytorch2/ as the committed oracle does (what the Debian 12 platform checks against).
# Usage: pytorch2_oracle_is_current.sh PYTHON FIXTURES_DIR OUT_DIR
set -euo pipefail
python=$1 fixtures=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$out" && mkdir -p "$out"
# tensor_subclasses.py: the class of the subclass fixture, which torch.load imports
# dcp/*: torch.distributed.checkpoint directories, read by DCP's own load (dcp/X -> dcp__X.jsonl)
PYTHONPATH="$fixtures" "$python" "$here/describe_torch_load.py" "$out" --root "$fixtures" "$fixtures"/*.pt "$fixtures"/dcp/*/
count=0
for file in "$fixtures"/*.pt "$fixtures"/dcp/*/; do
  rel=${file#"$fixtures"/}
  rel=${rel%/}
  name=${rel//\//__}.jsonl
  cmp "$fixtures/oracle/$name" "$out/$name" || { diff "$fixtures/oracle/$name" "$out/$name" | head -5; exit 1; }
  count=$((count + 1))
done
echo "the committed descriptions of $count fixtures equal PyTorch $("$python" -c 'import torch; print(torch.__version__)')'s"

#!/usr/bin/env bash
# Out-of-tree plugin, as a model repository does it: install the harness into a prefix,
# write a plugin project with the installed `ckpt-harness new-plugin`, build it with
# find_package(CkptHarness) from a directory outside the source tree, save a checkpoint
# with its Python twin, and check it with the installed harness (every scenario passes).
# Then a changed model (wider hidden layer) must fail, naming the keys.
#
#   out_of_tree_plugin.sh <harness build dir> <python with torch>
set -euo pipefail
build=$1
python=$2
work=$(mktemp -d /tmp/ckpt-out-of-tree.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
repo=$work/model-repo

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
harness=$prefix/bin/ckpt-harness

# The installed harness finds its worker and the bundled plugins by itself.
"$harness" plugins >"$work/plugins.txt"
grep -q "dcgan" "$work/plugins.txt" || { cat "$work/plugins.txt"; echo "FAIL: the installed harness lists no bundled plugin"; exit 1; }

"$harness" new-plugin toy_gan --out "$repo" >/dev/null
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S "$repo" -B "$repo/build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; echo "FAIL: find_package(CkptHarness) from $prefix"; exit 1; }
cmake --build "$repo/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; echo "FAIL: the plugin did not build"; exit 1; }
test -f "$repo/build/ckpt-plugins/toy_gan.so" || { echo "FAIL: no build/ckpt-plugins/toy_gan.so"; exit 1; }

# The no-C++ helper is installed beside the harness.
"$prefix/bin/ckpt-harness-write-manifest" --help >/dev/null ||
  { echo "FAIL: cmake --install did not install ckpt-harness-write-manifest"; exit 1; }

cd "$repo"
"$python" save_checkpoint.py >/dev/null
status=0
"$harness" run --config ckpt-harness.toml >"$work/run.txt" 2>&1 || status=$?
if [ "$status" -ne 0 ] || ! grep -q "19 cases in 1 unit: 19 passed, 0 failed, 0 errors" "$work/run.txt"; then
  cat "$work/run.txt"
  echo "FAIL: the generated plugin does not pass every scenario on its own checkpoint (exit $status)"
  exit 1
fi

# The model changes (hidden 32 -> 64): the old checkpoint no longer loads, and the run says so.
sed -i 's/hidden = 32/hidden = 64/' ckpt-harness.toml
status=0
"$harness" run --config ckpt-harness.toml >"$work/changed.txt" 2>&1 || status=$?
if [ "$status" -ne 1 ] || ! grep -q "strict-load/generator: does not load strictly: 3 size mismatches" "$work/changed.txt"; then
  cat "$work/changed.txt"
  echo "FAIL: a widened model must fail strict-load with its size mismatches (exit $status, expected 1)"
  exit 1
fi
grep -q "size mismatch for net.0.weight" build/ckpt-harness-report/junit.xml ||
  { echo "FAIL: junit.xml lacks PyTorch's size-mismatch line"; exit 1; }
# An architecture grows: the template's includes cover the layers GANs use (pix2pix's
# InstanceNorm2d, ReflectionPad2d, ConvTranspose2d, Dropout; AdamW).
cat >>toy_gan.cpp <<'CPP'
namespace {
[[maybe_unused]] torch::nn::Sequential grown_block() {
  return torch::nn::Sequential(torch::nn::ReflectionPad2d(1), torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3)),
                               torch::nn::InstanceNorm2d(8), torch::nn::BatchNorm2d(8), torch::nn::LeakyReLU(),
                               torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(8, 3, 4)),
                               torch::nn::Dropout(0.5), torch::nn::Tanh());
}
[[maybe_unused]] std::unique_ptr<torch::optim::Optimizer> grown_optimizer(torch::nn::Module& m) {
  return std::make_unique<torch::optim::AdamW>(m.parameters(), torch::optim::AdamWOptions(2e-4));
}
}  // namespace
CPP
cmake --build build >"$work/grown.log" 2>&1 || { cat "$work/grown.log"; echo "FAIL: the generated plugin does not take common layers"; exit 1; }

echo "out-of-tree plugin: installed, generated, built against $prefix, 19/19 scenarios pass, a changed model fails as it should"

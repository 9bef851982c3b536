#!/usr/bin/env bash
# Installs the Debian 12 packages that building, running and testing ckpt-harness need.
# Idempotent: packages already installed are skipped, and `apt-get update` runs at most once.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev            # LibTorch 1.13: tensor materialisation, plugins
  libboost-dev            # Boost.DLL (header-only) for the plugin host
  libtomlplusplus-dev     # configuration
  libcli11-dev            # command line
  libre2-dev              # key rules: regular expressions in linear time
  nlohmann-json3-dev      # JSON output and safetensors headers
  libssl-dev              # SHA-256 of checkpoints and tensors
  zlib1g-dev              # tests: the zip bomb of the bad-input catalogue
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-torch python3-numpy   # fixture writer and differential-test oracle
  python3-yaml                  # checks of the CI templates (tests/ci)
  clang libclang-rt-14-dev      # libFuzzer targets
  libxml2-utils                 # xmllint for report validation
  chromium                      # headless check of the HTML report
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "ci/install-deps.sh: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "ci/install-deps.sh: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Installs the Debian packages that building, running and testing ckpt-harness need, on
# either supported platform: Debian 12 (LibTorch 1.13) or Debian 13 (LibTorch 2.6; on these
# Debian 12 machines, the root that ci/debian13.sh makes runs this script inside it). The one
# list of both platforms' packages.
# Idempotent: packages already installed are skipped, and `apt-get update` runs at most once.
set -euo pipefail

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libtorch-dev            # LibTorch: tensor materialisation, plugins
  libboost-dev            # Boost.DLL (header-only) for the plugin host
  libtomlplusplus-dev     # configuration
  libcli11-dev            # command line
  libre2-dev              # key rules: regular expressions in linear time
  libelf-dev              # which LibTorch a plugin needs, read before it is loaded
  nlohmann-json3-dev      # JSON output and safetensors headers
  libssl-dev              # SHA-256 of checkpoints and tensors
  zlib1g-dev              # tests: the zip bomb of the bad-input catalogue
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-torch python3-numpy   # fixture writer and differential-test oracle
  python3-yaml                  # checks of the CI templates (tests/ci)
  libxml2-utils                 # xmllint for report validation
  chromium                      # headless check of the HTML report
  git procps util-linux xz-utils ca-certificates  # present on a full install, not in a minimal root
)
case "$codename" in
  bookworm)
    packages+=(
      clang libclang-rt-14-dev  # libFuzzer targets (ci/fuzz-smoke.sh runs on Debian 12)
      debootstrap               # the Debian 13 root of the second platform (ci/debian13.sh)
    ) ;;
  trixie) ;;
  *)
    echo "ci/install-deps.sh: Debian '${codename:-unknown}' is not a supported platform: use Debian 12 (bookworm)" \
      "or Debian 13 (trixie)" >&2
    exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "ci/install-deps.sh: all ${#packages[@]} packages of Debian $codename already installed"
  exit 0
fi

echo "ci/install-deps.sh: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

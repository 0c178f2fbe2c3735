#!/usr/bin/env bash
# Installs everything r1.cpp needs on a fresh Debian 12 machine (run as root):
# the Debian build/runtime packages and the pinned npm test references.
# Idempotent: packages already present are skipped quickly.
#   scripts/setup.sh           build deps + npm references
#   scripts/setup.sh --build   build deps only (enough for `r1 run`)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

debs=(build-essential cmake ninja-build pkg-config git
      nlohmann-json3-dev libpcre2-dev libcli11-dev libfmt-dev libcpp-httplib-dev
      libcurl4-openssl-dev libssl-dev
      libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
      python3-numpy nodejs npm)

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from outside Debian (e.g. nodesource); accept any node >= 20.
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ "${1:-}" != "--build" ]]; then
  cd "$here/tests/reference"
  if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "setup: npm ci (pinned test references)"
    # --omit=optional skips node-llama-cpp's CUDA/Vulkan/ARM builds (about 650 MB); the
    # linux-x64 CPU build is a direct dependency in package.json.
    npm ci --omit=optional --no-audit --no-fund --loglevel=error
  fi
  # The oracle runs the same llama.cpp CPU build on every AVX-512 machine (see the script).
  "$here/tests/reference/oracle_cpu_variant.sh" pin
fi

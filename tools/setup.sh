#!/usr/bin/env bash
# Installs what nrm needs from Debian's packages (only what is missing), then configures and
# builds into build/. Idempotent: run it again after pulling. Set NRM_BUILD_DIR to build
# elsewhere and NRM_CMAKE_ARGS to pass options (CI adds -DNRM_WERROR=ON).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake g++ make pkg-config
  libzmq3-dev cppzmq-dev libsodium-dev flatbuffers-compiler libflatbuffers-dev
  librocksdb-dev rocksdb-tools libspdlog-dev libtomlplusplus-dev nlohmann-json3-dev libgtest-dev
  # HTTP: the witness and the web inbox serve it (libmicrohttpd); the broker submits to witnesses
  libmicrohttpd-dev libcurl4-openssl-dev
  python3-nacl python3-flatbuffers python3-zmq  # the Python interop agent (tests/interop)
  python3-prometheus-client  # the metrics tests parse what /metrics serves
  # the web inbox (agent/web): catalogs, time zones
  gettext tzdata
  # its tests (tests/web): headless Chromium, fonts for Thai, Khmer, Burmese, Lao; a TLS cert
  chromium chromium-driver python3-selenium fonts-thai-tlwg fonts-khmeros fonts-noto-core openssl
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

build_dir=${NRM_BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${NRM_CMAKE_ARGS:-}
cmake --build "$build_dir" -j"$(nproc)"
echo "setup: built $build_dir/bin/{nrm,nrm-broker,nrm-agent}"

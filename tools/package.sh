#!/usr/bin/env bash
# Builds the Debian package from a configured build (tools/setup.sh) and checks it with lintian
# when lintian is installed (errors fail; warnings are shown). Prints the package's path.
# Usage: tools/package.sh [BUILD_DIR]    (default: build, or $NRM_BUILD_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-${NRM_BUILD_DIR:-build}}
[[ -f "$build_dir/CPackConfig.cmake" ]] || { echo "package: no configured build in $build_dir (run tools/setup.sh)"; exit 2; }
cmake --build "$build_dir" -j"$(nproc)" --target nrm nrm-broker nrm-agent nrm_changelog
(cd "$build_dir" && cpack -G DEB > cpack.log) || { cat "$build_dir/cpack.log"; exit 1; }
deb=$(ls -t "$build_dir"/nrm_*.deb | head -1)
if command -v lintian > /dev/null; then
  # Errors fail; warnings (no manual pages yet, the licence not yet chosen) are shown.
  report=$(lintian --fail-on error --suppress-tags no-manual-page "$deb" 2>&1) ||
    { echo "$report"; echo "package: lintian reports errors"; exit 1; }
  grep -v "^running with root" <<< "$report" >&2 || true
fi
echo "$deb"

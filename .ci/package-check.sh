#!/usr/bin/env bash
# CI: the Debian package works as installed. Builds it (tools/package.sh, lintian with no
# errors), installs it with dpkg, checks both units with systemd-analyze verify and prints
# their exposure scores, runs `nrm demo` from /usr/bin, then removes the package again.
# Needs root (CI is root) and a build configured by tools/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(bash tools/package.sh | tail -1)
dpkg -i "$deb" > /dev/null
trap 'dpkg --purge nrm > /dev/null' EXIT
for f in /usr/bin/nrm /usr/bin/nrm-broker /usr/bin/nrm-agent /usr/share/nrm/policy/gms.toml \
         /usr/lib/systemd/system/nrm-broker.service /usr/lib/systemd/system/nrm-agent@.service \
         /etc/nrm/broker.toml /usr/share/doc/nrm/OPERATIONS.md; do
  [[ -e "$f" ]] || { echo "package: missing $f"; exit 1; }
done
getent passwd nrm > /dev/null || { echo "package: postinst made no nrm user"; exit 1; }
[[ $(stat -c %a /var/lib/nrm) == 700 ]] || { echo "package: /var/lib/nrm is not 0700"; exit 1; }
systemd-analyze verify /usr/lib/systemd/system/nrm-broker.service nrm-agent@TH.CI.AGENT.service
for unit in nrm-broker.service nrm-agent@.service; do
  systemd-analyze security --offline=true "/usr/lib/systemd/system/$unit" 2>&1 | tail -1
done
work=$(mktemp -d)
(cd "$work" && /usr/bin/nrm demo | tail -1)
rm -rf "$work"
echo "package: $(basename "$deb") installs, its units verify and nrm demo runs from /usr/bin"

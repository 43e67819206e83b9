#!/usr/bin/env bash
# The suggested alert rules (packaging/nrm-alerts.yml) load in Prometheus: promtool checks their
# syntax and their PromQL, and every metric they name is one that docs/OPERATIONS.md lists.
# Without promtool (package prometheus) the check is skipped (exit 77), unless CI requires it.
set -euo pipefail
src="$1"
rules="$src/packaging/nrm-alerts.yml"
if ! command -v promtool > /dev/null; then
  if [[ -n "${NRM_REQUIRE_PROMTOOL:-}" ]]; then
    echo "promtool is not installed (apt-get install prometheus)"
    exit 1
  fi
  echo "promtool is not installed: skipped"
  exit 77
fi
promtool check rules "$rules"
for metric in $(grep -o 'nrm_[a-z_]*' "$rules" | sort -u); do
  if ! grep -q "\`$metric\`" "$src/docs/OPERATIONS.md"; then
    echo "$rules names $metric, which docs/OPERATIONS.md does not list"
    exit 1
  fi
done
echo "alert rules: ok"

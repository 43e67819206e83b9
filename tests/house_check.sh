#!/usr/bin/env bash
# The house rules of docs/ARCHITECTURE.md, checked on the source tree:
#  1. the library table names every add_library target of the CMake files, and no other;
#  2. nothing but the broker (and tests) includes a header from broker/;
#  3. no source file under agent/, broker/, policy/ or tools/ is longer than 600 lines.
# Usage: tests/house_check.sh SOURCE_DIR. Exit 0 when all hold; otherwise each breach is named.
set -euo pipefail
cd "${1:?usage: house_check.sh SOURCE_DIR}"
fail=0

targets=$(grep -rhoE 'add_library\((nrm_[a-z_]+)' --include=CMakeLists.txt \
            common schemas federation policy audit broker agent tools | sed 's/add_library(//' | sort -u)
documented=$(grep -oE '^\| nrm_[a-z_]+ \|' docs/ARCHITECTURE.md | tr -d '| ' | sort -u)
if [[ "$targets" != "$documented" ]]; then
  echo "ARCHITECTURE.md's library table and the CMake targets differ (< CMake, > table):"
  diff <(echo "$targets") <(echo "$documented") | grep '^[<>]' || true
  fail=1
fi

if includes=$(grep -rn '#include "broker/' agent tools audit common schemas federation policy); then
  echo "headers of broker/ included outside the broker:"
  echo "$includes"
  fail=1
fi

while read -r lines file; do
  if [[ "$file" != total && "$lines" -gt 600 ]]; then
    echo "$file has $lines lines (at most 600)"
    fail=1
  fi
done < <(find agent broker policy tools -name '*.cc' -o -name '*.h' | xargs wc -l)

[[ $fail -eq 0 ]] && echo "house_check: the library table, the includes and the file sizes hold"
exit $fail

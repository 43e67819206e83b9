#!/usr/bin/env bash
# libzmq's resident memory per CURVE connection on a ROUTER, with and without a ZAP handler,
# measured apart from nrm (tools/bench/zmq_memory.c): the floor under nrm-broker's memory with
# many agencies connected. Medians of ROUNDS runs. Run by hand; CI never runs it. Usage:
#   tools/bench/zmq-memory.sh [CONNECTIONS] [ROUNDS]     defaults: 1000 3
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CONNECTIONS="${1:-1000}"
ROUNDS="${2:-3}"
[ -f /usr/include/zmq.h ] || { echo "zmq-memory.sh: needs libzmq3-dev (bash tools/setup.sh)" >&2; exit 2; }
ulimit -n $((CONNECTIONS * 2 + 64)) 2>/dev/null || true

WORK="$(mktemp -d /tmp/nrm-zmq-memory-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
gcc -O2 -Wall -Wextra -o "$WORK/zmq_memory" "$ROOT/tools/bench/zmq_memory.c" -lzmq

for round in $(seq "$ROUNDS"); do
  for mode in nozap zap; do
    echo "round $round/$ROUNDS: $CONNECTIONS connections, $mode" >&2
    "$WORK/zmq_memory" "$CONNECTIONS" "$mode" >>"$WORK/results.jsonl"
  done
done

python3 - "$WORK/results.jsonl" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for zap in (False, True):
    v = [r["kib_per_connection"] for r in rows if r["zap"] == zap]
    n = rows[0]["connections"]
    m = statistics.median(v)
    print("%s: %.1f KiB per connection (median of %d: %s), %.1f MiB for %d connections" % (
        "CURVE + ZAP" if zap else "CURVE, no ZAP", m, len(v), ", ".join("%.1f" % x for x in v),
        m * n / 1024, n))
EOF

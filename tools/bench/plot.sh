#!/usr/bin/env bash
# Throughput and p99 latency of nrm against offered load, as docs/benchmarks-load.png.
# Runs `nrm bench --only rate` over a sweep of fixed rates (1 recipient, 2 KB), then plots with
# Debian's gnuplot (installed if missing). Run by hand; CI never runs it. Usage:
#   tools/bench/plot.sh [BUILD_DIR] [RATES] [OUT_PNG]
#   defaults: build-bench 500,1000,2000,3000,4000,5000,6000 docs/benchmarks-load.png
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${1:-$ROOT/build-bench}"
RATES="${2:-500,1000,2000,3000,4000,5000,6000}"
OUT="${3:-$ROOT/docs/benchmarks-load.png}"
command -v gnuplot >/dev/null ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox; }

WORK="$(mktemp -d /tmp/nrm-plot-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
"$BUILD/bin/nrm" bench --only rate --rates "$RATES" --json >"$WORK/sweep.json"
python3 - "$WORK/sweep.json" >"$WORK/sweep.dat" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print("# offered_per_s achieved_per_s p50_ms p99_ms")
for p in d["phases"]:
    print(p["offered_per_s"], p["end_to_end_per_s"], p["latency_us"]["p50"] / 1e3,
          p["latency_us"]["p99"] / 1e3)
EOF
cp "$WORK/sweep.dat" "${OUT%.png}.dat"
gnuplot <<EOF
set terminal pngcairo size 900,520 font ",11"
set output "$OUT"
set title "nrm: 1 sender -> broker (CURVE, fsync, audit) -> 1 recipient, 2 KB, $(nproc) cores"
set xlabel "offered load (messages/s)"
set ylabel "delivered (messages/s)"
set y2label "latency send -> recipient application (ms, log)"
set logscale y2
set ytics nomirror
set y2tics
set key top left
set grid
plot "$WORK/sweep.dat" using 1:2 with linespoints lw 2 pt 7 title "delivered / s", \
     "$WORK/sweep.dat" using 1:1 with lines dt 2 lc rgb "gray" title "offered = delivered", \
     "$WORK/sweep.dat" using 1:4 axes x1y2 with linespoints lw 2 pt 5 title "p99 latency (ms)", \
     "$WORK/sweep.dat" using 1:3 axes x1y2 with linespoints lw 1 pt 4 title "p50 latency (ms)"
EOF
echo "wrote $OUT and ${OUT%.png}.dat" >&2

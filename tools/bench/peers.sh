#!/usr/bin/env bash
# nrm bench beside its peers, on the same machine and workload: 2 KB messages, one producer,
# one consumer, durable and acknowledged, on 127.0.0.1. Alternates, ROUNDS times:
#   nrm bench (flat out, and at a fixed rate)    -- this project, end to end
#   NATS JetStream (Debian's nats-server, file storage, acknowledged publish, durable pull
#                   consumer acking every message)
#   Redis Streams  (Debian's redis-server, AOF with appendfsync always, XADD, XREADGROUP, XACK)
# each peer once over plain TCP and once over TLS 1.3 with client certificates (nrm always runs
# CURVE with its directory check, so the TLS runs are the like-for-like ones), and prints the
# medians and the ratios. Run by hand (as root, it installs what it needs from
# Debian); CI never runs it. Usage:
#   tools/bench/peers.sh [BUILD_DIR] [MESSAGES] [ROUNDS] [RATE]
#   defaults: build-bench 20000 3 2000
#
# What the peers do NOT do that nrm does, so that the ratios are read honestly:
#   - no end-to-end encryption: the servers see every payload in the clear (nrm: XChaCha20-
#     Poly1305 sealed by the sender, the content key wrapped to each recipient's X25519 key);
#   - no signatures: nothing proves who wrote a message (nrm: Ed25519 signed by the sender,
#     verified by the broker and again by each recipient);
#   - no need-to-know policy: any consumer of the stream reads everything (nrm: the broker checks
#     every sender -> recipient route against the signed policy, the sender strips sections);
#   - no verifiable audit: no Merkle log, no signed tree head returned as a receipt;
#   - authentication and transport encryption: off in the plain runs; in the TLS runs, server
#     and client certificates from one CA (nrm: CURVE with a ZAP directory check);
#   - NATS 2.9 (Debian 12) file storage does not fsync each acknowledged publish (it syncs
#     periodically; "sync always" arrived in later versions), so its PubAck is weaker than
#     nrm's ACCEPTED or Redis's appendfsync always.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${1:-$ROOT/build-bench}"
MESSAGES="${2:-20000}"
ROUNDS="${3:-3}"
RATE="${4:-2000}"
WINDOW=256
NRM="$BUILD/bin/nrm"
[ -x "$NRM" ] || { echo "peers.sh: $NRM not found; build first" >&2; exit 2; }

need=()
command -v nats-server >/dev/null || need+=(nats-server)
command -v redis-server >/dev/null || need+=(redis-server)
[ -f /usr/include/hiredis/hiredis.h ] || need+=(libhiredis-dev)
[ -f /usr/include/nats/nats.h ] || need+=(libnats-dev)
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

WORK="$(mktemp -d /tmp/nrm-peers-XXXXXX)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
gcc -O2 -Wall -Wextra -o "$WORK/peers" "$ROOT/tools/bench/peers.c" -lnats -lhiredis -lssl -lcrypto \
  -lpthread

# A CA, and a server and a client certificate for 127.0.0.1 (P-256), for the TLS runs.
TLS="$WORK/tls"
mkdir -p "$TLS"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench-ca \
  -keyout "$TLS/ca.key" -out "$TLS/ca.pem" 2>/dev/null
for who in server client; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$who" \
    -keyout "$TLS/$who.key" -out "$TLS/$who.csr" 2>/dev/null
  openssl x509 -req -in "$TLS/$who.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial \
    -days 2 -out "$TLS/$who.pem" -extfile <(echo "subjectAltName=IP:127.0.0.1") 2>/dev/null
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{ split($0, a, ") "); split(a[2], f, " "); print (f[12] + f[13]) / t }' "/proc/$1/stat"; }
rss_mib() { awk '/VmHWM/ { print $2 / 1024 }' "/proc/$1/status"; }

# Runs one peer with a fresh server; prints its JSON with the server's CPU and peak memory.
run_peer() {  # system rate [tls]
  local system=$1 rate=$2 tls=${3:-} port dir pid
  port=$(free_port)
  dir="$WORK/$system$tls-data"
  rm -rf "$dir" && mkdir -p "$dir"
  local nats_tls=() redis_port=(--port "$port") client_tls=()
  if [ -n "$tls" ]; then
    nats_tls=(--tls --tlscert "$TLS/server.pem" --tlskey "$TLS/server.key" --tlscacert "$TLS/ca.pem"
      --tlsverify)
    redis_port=(--port 0 --tls-port "$port" --tls-cert-file "$TLS/server.pem"
      --tls-key-file "$TLS/server.key" --tls-ca-cert-file "$TLS/ca.pem" --tls-auth-clients yes)
    client_tls=("$TLS")
  fi
  if [ "$system" = nats ]; then
    nats-server -js -sd "$dir" -a 127.0.0.1 -p "$port" "${nats_tls[@]}" >"$WORK/$system.log" 2>&1 &
  else
    redis-server "${redis_port[@]}" --bind 127.0.0.1 --dir "$dir" --appendonly yes \
      --appendfsync always --save '' >"$WORK/$system.log" 2>&1 &
  fi
  pid=$!
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
    sleep 0.05
  done
  local c0 c1 out
  c0=$(cpu_s "$pid")
  out=$("$WORK/peers" "$system" "$port" "$MESSAGES" "$WINDOW" "$rate" "${client_tls[@]}")
  c1=$(cpu_s "$pid")
  local hwm
  hwm=$(rss_mib "$pid")
  kill "$pid" && wait "$pid" 2>/dev/null || true
  python3 -c "import json,sys; d=json.loads(sys.argv[1]); d['server_cpu_us_per_msg']=round(($c1-$c0)*1e6/$MESSAGES,1); d['server_peak_rss_mib']=round($hwm,1); print(json.dumps(d))" "$out"
}

RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
for round in $(seq "$ROUNDS"); do
  for rate in 0 "$RATE"; do
    echo "round $round/$ROUNDS, offered ${rate/#0/flat out}: nrm, NATS JetStream, Redis Streams" \
      "(plain, then TLS)" >&2
    if [ "$rate" = 0 ]; then
      "$NRM" bench --only flat1 --messages "$MESSAGES" --window "$WINDOW" --json 2>/dev/null |
        python3 -c "import json,sys; d=json.load(sys.stdin); p=d['phases'][0]; print(json.dumps({'system':'nrm','offered_per_s':0,'end_to_end_per_s':p['end_to_end_per_s'],'latency_us':p['latency_us'],'server_cpu_us_per_msg':p['broker_cpu_us_per_msg'],'server_peak_rss_mib':p['broker_peak_rss_mib']}))" >>"$RESULTS"
    else
      "$NRM" bench --only rate --rates "$rate" --json 2>/dev/null |
        python3 -c "import json,sys; d=json.load(sys.stdin); p=d['phases'][0]; print(json.dumps({'system':'nrm','offered_per_s':$rate,'end_to_end_per_s':p['end_to_end_per_s'],'latency_us':p['latency_us'],'server_cpu_us_per_msg':p['broker_cpu_us_per_msg'],'server_peak_rss_mib':p['broker_peak_rss_mib']}))" >>"$RESULTS"
    fi
    run_peer nats "$rate" >>"$RESULTS"
    run_peer redis "$rate" >>"$RESULTS"
    run_peer nats "$rate" tls >>"$RESULTS"
    run_peer redis "$rate" tls >>"$RESULTS"
  done
done

python3 - "$RESULTS" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(system, rate, key, sub=None):
    v = [r[key][sub] if sub else r[key] for r in rows
         if r["system"] == system and float(r["offered_per_s"]) == rate]
    return statistics.median(v) if v else float("nan")
rates = sorted({float(r["offered_per_s"]) for r in rows})
systems = ("nrm", "nats", "redis", "nats-tls", "redis-tls")
print("medians of %d rounds; 2 KB messages, 1 producer, 1 consumer, 127.0.0.1" %
      (len(rows) // (len(systems) * len(rates))))
print("%-8s %-11s %12s %10s %10s %10s %14s %12s" % ("offered", "system", "msg/s", "p50 ms",
      "p99 ms", "max ms", "server us/msg", "server MiB"))
for rate in rates:
    for s in systems:
        print("%-8s %-11s %12.0f %10.2f %10.2f %10.2f %14.1f %12.1f" % (
            "flat" if rate == 0 else "%.0f/s" % rate, s, med(s, rate, "end_to_end_per_s"),
            med(s, rate, "latency_us", "p50") / 1e3, med(s, rate, "latency_us", "p99") / 1e3,
            med(s, rate, "latency_us", "max") / 1e3, med(s, rate, "server_cpu_us_per_msg"),
            med(s, rate, "server_peak_rss_mib")))
for rate in rates:
    n = med("nrm", rate, "end_to_end_per_s")
    label = "flat out" if rate == 0 else "%.0f/s" % rate
    for tls in ("", "-tls"):
        print("%s%s: nrm/NATS throughput %.2f, nrm/Redis %.2f; p99 nrm/NATS %.2f, nrm/Redis %.2f" % (
            label, " (peers over TLS)" if tls else " (peers plain)",
            n / med("nats" + tls, rate, "end_to_end_per_s"),
            n / med("redis" + tls, rate, "end_to_end_per_s"),
            med("nrm", rate, "latency_us", "p99") / med("nats" + tls, rate, "latency_us", "p99"),
            med("nrm", rate, "latency_us", "p99") / med("redis" + tls, rate, "latency_us", "p99")))
EOF

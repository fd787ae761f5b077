#!/usr/bin/env bash
# The cluster benchmark of DESIGN §12/§19 (`make bench-cluster`): approvals/s
# and single claims/s through three servers on three Galera nodes against
# one server on one node, in one run, with the same clients:
#
#   3x3  three `huimin serve`, one per node of a 3-node cluster, each
#        driven by one cmd/huimin-load with CLIENTS/3 clients;
#   1x3  one server on node 1 of the same 3-node cluster (a single writer,
#        every commit still replicated to two nodes), the three loads on it;
#   1x1  nodes 2 and 3 stopped: one server on a 1-node cluster, the same
#        three loads on it.
#
# Each load files single claims, then claim batches (so that approvals never
# run dry), then approves, BENCH_SECONDS each, on a hot first_come plan of
# its own (three plans in every configuration). Loopback only, bounded by
# -duration. Figures go to $BENCH_OUT (default bench-results/cluster).
#
#   BENCH_SECONDS   seconds per timed scenario (default 20)
#   BENCH_CLIENTS   clients in all, split over three loads (default 33)
#   BENCH_PEOPLE    synthetic beneficiaries (default 20000)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"
OUT=${BENCH_OUT:-bench-results/cluster}
DUR=${BENCH_SECONDS:-20}
CLIENTS=$(( ${BENCH_CLIENTS:-33} / 3 ))
PEOPLE=${BENCH_PEOPLE:-20000}
C=scripts/galera/cluster.sh
mkdir -p "$OUT"
go build -o bin/huimin ./cmd/huimin
go build -o bin/huimin-load ./cmd/huimin-load

bash "$C" start
trap 'kill $(jobs -p) 2>/dev/null || true; bash "$C" stop' EXIT
{ nproc; grep 'model name' /proc/cpuinfo | head -1; mariadb -uroot -h127.0.0.1 -P3307 -N -e 'SELECT VERSION()'; go version; } | tee "$OUT/machine.txt"

PIDS=()
serve() { # $1 = node, $2 = database, $3 = http port, $4 = name
  HUIMIN_DB="mysql:root@tcp(127.0.0.1:$((3306 + $1)))/$2" HUIMIN_ADDR=127.0.0.1:$3 HUIMIN_LOG_LEVEL=warn \
    bin/huimin serve >"$OUT/$4.out" 2>"$OUT/$4.err" &
  PIDS+=($!)
}
ready() { for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
stop_servers() { kill "${PIDS[@]}" 2>/dev/null || true; wait "${PIDS[@]}" 2>/dev/null || true; PIDS=(); }

# run NAME PORT PORT PORT: the registry, then three loads at once, load i
# against the server on the i-th port; then `huimin check` on each node in
# $NODES.
run() {
  local name=$1; shift
  local db="huimin_bench_$name"
  local token; token=$(grep -h '^hm_' "$OUT"/$name-s*.out | head -1)
  [ -n "$token" ] || { echo "bench: no admin token from the $name servers" >&2; exit 1; }
  bin/huimin-load -url "http://127.0.0.1:$1" -token "$token" -scenarios seed -people "$PEOPLE" -out "$OUT/$name-seed.json" >/dev/null
  local loads=() i=0
  for port in "$@"; do
    i=$((i + 1))
    bin/huimin-load -url "http://127.0.0.1:$port" -token "$token" -scenarios single,batch,approve -skip-import -people "$PEOPLE" \
      -clients "$CLIENTS" -duration "${DUR}s" -batch-size 500 -out "$OUT/$name-load$i.json" >"$OUT/$name-load$i.txt" 2>&1 &
    loads+=($!)
    sleep 1.1 # huimin-load names its plan by the second
  done
  wait "${loads[@]}"
  for n in $NODES; do
    HUIMIN_DB="mysql:root@tcp(127.0.0.1:$((3306 + n)))/$db" bin/huimin check >"$OUT/$name-check-node$n.txt" 2>&1 ||
      { cat "$OUT/$name-check-node$n.txt"; exit 1; }
  done
  for port in $(printf '%s\n' "$@" | sort -u); do
    curl -s "http://127.0.0.1:$port/metrics" | grep '^huimin_db_retries' | sed "s/^/:$port /"
  done >"$OUT/$name-retries.txt" || true
}

create() { mariadb -uroot -h127.0.0.1 -P3307 -e "CREATE DATABASE $1 CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"; }

NODES="1 2 3"
echo "== 3x3: three servers, one per node, ${CLIENTS} clients each, ${DUR}s per scenario"
create huimin_bench_3x3
serve 1 huimin_bench_3x3 18091 3x3-s1; serve 2 huimin_bench_3x3 18092 3x3-s2; serve 3 huimin_bench_3x3 18093 3x3-s3
ready 18091; ready 18092; ready 18093
run 3x3 18091 18092 18093
stop_servers

echo "== 1x3: one server on node 1 of the 3-node cluster, the same three loads"
create huimin_bench_1x3
serve 1 huimin_bench_1x3 18091 1x3-s1; ready 18091
run 1x3 18091 18091 18091
stop_servers

echo "== 1x1: nodes 2 and 3 stopped, one server on the 1-node cluster"
bash "$C" leave 3; bash "$C" wait-size 2 60
bash "$C" leave 2; bash "$C" wait-size 1 60
NODES=1
create huimin_bench_1x1
serve 1 huimin_bench_1x1 18091 1x1-s1; ready 18091
run 1x1 18091 18091 18091
stop_servers

python3 - "$OUT" <<'PY'
import json, sys, glob, os
out = sys.argv[1]
rows = {}
for name in ("3x3", "1x3", "1x1"):
    agg = {}
    for f in sorted(glob.glob(os.path.join(out, f"{name}-load*.json"))):
        for r in json.load(open(f)):
            a = agg.setdefault(r["scenario"], {"ops": 0.0, "items": 0.0, "p99": 0.0, "errors": {}})
            a["ops"] += r["ops_per_sec"]; a["items"] += r["items_per_sec"]; a["p99"] = max(a["p99"], r["p99_ms"])
            for k, v in (r.get("errors") or {}).items():
                a["errors"][k] = a["errors"].get(k, 0) + v
    rows[name] = agg
print("| configuration | single claims/s (p99 ms) | claims in batches/s | approvals/s (p99 ms) | errors |")
print("|---|---|---|---|---|")
for name, label in (("3x3", "3 servers on 3 nodes"), ("1x3", "1 server on node 1 of 3"), ("1x1", "1 server on 1 node")):
    a = rows[name]
    errs = {}
    for s in a.values():
        for k, v in s["errors"].items(): errs[k] = errs.get(k, 0) + v
    print(f"| {label} | {a['single']['ops']:.0f} ({a['single']['p99']:.1f}) | {a['batch']['items']:.0f} | {a['approve']['ops']:.0f} ({a['approve']['p99']:.1f}) | {errs or '-'} |")
s, o = rows["3x3"], rows["1x1"]
print(f"\nratio 3x3 / 1x1: single claims {s['single']['ops']/o['single']['ops']:.2f}, approvals {s['approve']['ops']/o['approve']['ops']:.2f}")
PY

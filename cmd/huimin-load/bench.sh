#!/usr/bin/env bash
# make bench: measure what MariaDB itself can do on this machine (sysbench),
# then Huimin's scenarios against the same server, and print each ratio of
# DESIGN §12. Figures land in $BENCH_OUT (default bench-results/).
#
#   BENCH_SECONDS   seconds per timed scenario (default 30)
#   BENCH_ENTRIES   ledger entries for the export benchmark (default 1000000)
#   BENCH_PEOPLE    synthetic beneficiaries (default 100000)
#   BENCH_POOL      InnoDB buffer pool to set for the run, the same for sysbench
#                   and Huimin (default 4G; MariaDB's own default, 128M, is
#                   outgrown by either within seconds, and any operator sizes it
#                   for the machine)
#   BENCH_REDO      InnoDB redo log size, the same for both (default 1G; the
#                   default 96M fills in seconds under either load and makes
#                   every write wait for checkpoint flushing)
#   BENCH_SIZES     claims already stored before the scenarios are measured
#                   again, beyond the empty table (default "100000 1000000";
#                   filled by huimin-load -fill-claims)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"
OUT=${BENCH_OUT:-bench-results}
DUR=${BENCH_SECONDS:-30}
ENTRIES=${BENCH_ENTRIES:-1000000}
PEOPLE=${BENCH_PEOPLE:-100000}
POOL=${BENCH_POOL:-4G}
SIZES=${BENCH_SIZES:-100000 1000000}
REDO=${BENCH_REDO:-1G}
CLIENTS=32
MY=(mariadb -uroot -h127.0.0.1 -P3306)
mkdir -p "$OUT"

command -v sysbench >/dev/null || { apt-get update && apt-get install -y sysbench; }
"${MY[@]}" -e 'SELECT 1' >/dev/null || { echo "bench: MariaDB does not answer on 127.0.0.1:3306 (run .ci/run once, or start mariadbd)" >&2; exit 1; }

"${MY[@]}" -e "SET GLOBAL innodb_buffer_pool_size = $(numfmt --from=iec "$POOL")"
"${MY[@]}" -e "SET GLOBAL innodb_log_file_size = $(numfmt --from=iec "$REDO")"
go build -o bin/huimin ./cmd/huimin
go build -o bin/huimin-load ./cmd/huimin-load

echo "== machine"
{ nproc; grep 'model name' /proc/cpuinfo | head -1; free -g | head -2; "${MY[@]}" -N -e 'SELECT VERSION(), @@innodb_buffer_pool_size, @@innodb_log_file_size, @@innodb_flush_log_at_trx_commit'; go version; } | tee "$OUT/machine.txt"

echo "== sysbench (the database's own yardstick), $CLIENTS threads, ${DUR}s each"
"${MY[@]}" -e 'DROP DATABASE IF EXISTS huimin_sysbench; CREATE DATABASE huimin_sysbench'
SB=(sysbench --db-driver=mysql --mysql-host=127.0.0.1 --mysql-port=3306 --mysql-user=root --mysql-db=huimin_sysbench
    --tables=4 --table-size=100000 --threads=$CLIENTS --time="$DUR" --report-interval=0)
for t in oltp_write_only oltp_insert; do
  "${SB[@]}" "$t" prepare >/dev/null
  "${SB[@]}" "$t" run | tee "$OUT/sysbench-$t.txt" | grep -E 'transactions:|queries:|95th'
  "${SB[@]}" "$t" cleanup >/dev/null
done
"${MY[@]}" -e 'DROP DATABASE huimin_sysbench'

start_server() { # $1 = HUIMIN_DB, $2 = log prefix
  HUIMIN_DB="$1" HUIMIN_ADDR=127.0.0.1:18090 HUIMIN_LOG_LEVEL=warn bin/huimin serve >"$OUT/$2.out" 2>"$OUT/$2.err" &
  PID=$!
  for _ in $(seq 1 100); do
    curl -sf http://127.0.0.1:18090/readyz >/dev/null 2>&1 && break
    sleep 0.2
  done
}
admin_token() { grep -m1 '^hm_' "$OUT/$1.out"; }

echo "== Huimin on MariaDB: scenarios with $CLIENTS clients, ${DUR}s each"
"${MY[@]}" -e 'DROP DATABASE IF EXISTS huimin_bench; CREATE DATABASE huimin_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_bin'
MYSQL_SPEC='mysql:root@tcp(127.0.0.1:3306)/huimin_bench'
start_server "$MYSQL_SPEC" serve-mariadb
TOKEN=$(admin_token serve-mariadb)
bin/huimin-load -url http://127.0.0.1:18090 -token "$TOKEN" -clients $CLIENTS -duration "${DUR}s" -people "$PEOPLE" \
  -out "$OUT/mariadb.json" | tee "$OUT/mariadb.txt"
kill "$PID"; wait "$PID" || true

# The same scenarios with the claims table already holding a year: what a
# county that files all year into one table sees by December.
for size in $SIZES; do
  echo "== Huimin on MariaDB with $size claims stored: single, batch, approve, $CLIENTS clients, ${DUR}s each"
  "${MY[@]}" -e "DROP DATABASE IF EXISTS huimin_bench_$size; CREATE DATABASE huimin_bench_$size CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
  SPEC="mysql:root@tcp(127.0.0.1:3306)/huimin_bench_$size"
  HUIMIN_DB="$SPEC" bin/huimin migrate up >/dev/null
  bin/huimin-load -fill-claims "$size" -fill-db "$SPEC"
  start_server "$SPEC" "serve-mariadb-$size"
  TOKEN=$(admin_token "serve-mariadb-$size")
  bin/huimin-load -url http://127.0.0.1:18090 -token "$TOKEN" -clients $CLIENTS -duration "${DUR}s" -people "$PEOPLE" \
    -scenarios seed,single,batch,approve -out "$OUT/mariadb-$size.json" | tee "$OUT/mariadb-$size.txt"
  kill "$PID"; wait "$PID" || true
  "${MY[@]}" -e "DROP DATABASE huimin_bench_$size"
done

echo "== ledger export of $ENTRIES entries"
bin/huimin-load -fill-ledger "$ENTRIES" -fill-db "$MYSQL_SPEC" -fill-plan ZFB-2026
FIN=$(HUIMIN_DB="$MYSQL_SPEC" bin/huimin token create --role finance --name bench-export | tail -1)
start_server "$MYSQL_SPEC" serve-export   # a fresh process, so its peak RSS is the export's
t0=$(date +%s.%N)
curl -sf -H "Authorization: Bearer $FIN" "http://127.0.0.1:18090/api/v1/ledger/export?plan=ZFB-2026&format=csv" -o "$OUT/export.csv"
t1=$(date +%s.%N)
RSS_KB=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
kill "$PID"; wait "$PID" || true
t2=$(date +%s.%N)
"${MY[@]}" --batch -e "SELECT seq, at, plan_code, kind, claim_id, beneficiary_id, county_code, amount, from_account, to_account, actor, prev_hash, hash
  FROM ledger_entries WHERE plan_code = 'ZFB-2026' ORDER BY seq" huimin_bench >"$OUT/export-mariadb.tsv"
t3=$(date +%s.%N)
bin/huimin ledger verify "$OUT/export.csv" | tee "$OUT/export-verify.txt"
ROWS=$(($(wc -l <"$OUT/export.csv") - 1))
python3 - "$t0" "$t1" "$t2" "$t3" "$RSS_KB" "$ROWS" >"$OUT/export.json" <<'PY'
import json, sys
t0, t1, t2, t3, rss, rows = map(float, sys.argv[1:])
print(json.dumps({"rows": int(rows), "huimin_seconds": t1 - t0, "mariadb_seconds": t3 - t2, "peak_rss_mib": rss / 1024}))
PY
cat "$OUT/export.json"

echo "== Huimin on embedded SQLite: single claims, $CLIENTS clients, ${DUR}s"
SQLITE_DIR=$(mktemp -d)
start_server "sqlite:$SQLITE_DIR/huimin.db" serve-sqlite
TOKEN=$(admin_token serve-sqlite)
bin/huimin-load -url http://127.0.0.1:18090 -token "$TOKEN" -clients $CLIENTS -duration "${DUR}s" -people 5000 \
  -scenarios seed,single -out "$OUT/sqlite.json" | tee "$OUT/sqlite.txt"
kill "$PID"; wait "$PID" || true
rm -rf "$SQLITE_DIR"

echo "== DESIGN §12 ratios"
python3 - "$OUT" $SIZES <<'PY' | tee "$OUT/ratios.txt"
import json, re, sys
out = sys.argv[1]
def tps(name):
    m = re.search(r"transactions:\s+\d+\s+\(([\d.]+) per sec", open(f"{out}/sysbench-{name}.txt").read())
    return float(m.group(1))
wo, ins = tps("oltp_write_only"), tps("oltp_insert")
my = {r["scenario"]: r for r in json.load(open(f"{out}/mariadb.json"))}
sq = {r["scenario"]: r for r in json.load(open(f"{out}/sqlite.json"))}
ex = json.load(open(f"{out}/export.json"))
def line(what, got, target, ok):
    print(f"{'MET ' if ok else 'MISS'} {what}: {got}  (target {target})")
print(f"sysbench oltp_write_only {wo:.1f} tps, oltp_insert {ins:.1f} tps")
s = my["single"]
line("single claims, 32 clients", f"{s['ops_per_sec']:.1f}/s = {s['ops_per_sec']/wo:.2f} x write_only, p99 {s['p99_ms']:.1f} ms",
     ">= 0.5 x write_only, p99 <= 50 ms", s["ops_per_sec"] >= 0.5 * wo and s["p99_ms"] <= 50)
b = my["batch"]
line("claim batches", f"{b['items_per_sec']:.0f} claims/s", ">= 5000 claims/s", b["items_per_sec"] >= 5000)
a = my["approve"]
line("approvals on one plan, 32 clients", f"{a['ops_per_sec']:.0f}/s, {a.get('note','')}", ">= 1000/s, zero overdraft",
     a["ops_per_sec"] >= 1000 and "no overdraft" in a.get("note", ""))
r = ex["mariadb_seconds"] / ex["huimin_seconds"]
line(f"ledger export of {ex['rows']} entries", f"{ex['huimin_seconds']:.1f} s vs mariadb --batch {ex['mariadb_seconds']:.1f} s = {r:.2f} x, peak RSS {ex['peak_rss_mib']:.1f} MiB",
     ">= 0.5 x, peak RSS <= 64 MiB", r >= 0.5 and ex["peak_rss_mib"] <= 64)
q = sq["single"]
line("embedded SQLite single claims", f"{q['ops_per_sec']:.0f}/s", ">= 500/s", q["ops_per_sec"] >= 500)
print()
print("throughput against claims already stored (sustained):")
print(f"{'claims stored':>14} {'single/s':>9} {'x wo':>5} {'p99 ms':>7} {'batch claims/s':>15} {'approvals/s':>12}")
for size in ["0"] + sys.argv[2:]:
    r = my if size == "0" else {x["scenario"]: x for x in json.load(open(f"{out}/mariadb-{size}.json"))}
    s, b, a = r["single"], r["batch"], r["approve"]
    print(f"{int(size):>14,} {s['ops_per_sec']:>9.0f} {s['ops_per_sec']/wo:>5.2f} {s['p99_ms']:>7.1f} {b['items_per_sec']:>15.0f} {a['ops_per_sec']:>12.0f}")
    if size != "0":
        line(f"single claims with {int(size):,} stored", f"{s['ops_per_sec']/wo:.2f} x write_only, p99 {s['p99_ms']:.1f} ms",
             ">= 0.5 x, p99 <= 50 ms", s["ops_per_sec"] >= 0.5 * wo and s["p99_ms"] <= 50)
        line(f"claim batches with {int(size):,} stored", f"{b['items_per_sec']:.0f} claims/s", ">= 5000 claims/s", b["items_per_sec"] >= 5000)
        line(f"approvals with {int(size):,} stored", f"{a['ops_per_sec']:.0f}/s, {a.get('note','')}", ">= 1000/s, zero overdraft",
             a["ops_per_sec"] >= 1000 and "no overdraft" in a.get("note", ""))
PY

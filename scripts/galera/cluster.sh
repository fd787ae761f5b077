#!/usr/bin/env bash
# A 3-node MariaDB Galera cluster on loopback, for the cluster test and the
# cluster benchmark. It never touches the MariaDB on 3306: every node has its
# own data directory under $HUIMIN_GALERA_DIR (default a directory in
# ${TMPDIR:-/tmp}), its own ports and its own socket.
#
#   node  MariaDB  galera (gcomm)  IST   SST (rsync)
#   1     3307     4567            4568  4569
#   2     3308     4577            4578  4579
#   3     3309     4587            4588  4589
#
# Usage: cluster.sh start            a fresh cluster (removes an old one first),
#                                    waits until wsrep_cluster_size = 3
#        cluster.sh stop             stops every node and removes the data
#        cluster.sh kill N           kill -9 node N's mariadbd
#        cluster.sh leave N          stops node N gracefully (it leaves the cluster)
#        cluster.sh restart N        starts node N again (it rejoins by IST/SST)
#                                    and waits until it is Synced
#        cluster.sh wait-size K      waits until a live node reports size K
#        cluster.sh status           each node's wsrep state
#        cluster.sh install          apt-get installs galera-4 and rsync if missing
set -euo pipefail

DIR=${HUIMIN_GALERA_DIR:-${TMPDIR:-/tmp}/huimin-galera}
PROVIDER=${HUIMIN_GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}
MARIADBD=${MARIADBD:-/usr/sbin/mariadbd}
# mariadbd runs as mysql when started by root: the rsync daemon of a joiner's
# state transfer, started by root, would drop to "nobody" and be refused
# the data directory.
RUN_AS=$(id -un)
if [ "$RUN_AS" = root ] && id mysql >/dev/null 2>&1; then RUN_AS=mysql; fi
GCOMM="gcomm://127.0.0.1:4567,127.0.0.1:4577,127.0.0.1:4587"

port()   { echo $((3306 + $1)); }
gport()  { echo $((4557 + 10 * $1)); }
say()    { echo "galera: $*" >&2; }
sql()    { mariadb -uroot -h127.0.0.1 -P"$(port "$1")" --connect-timeout=2 -N -B -e "$2"; }
status() { sql "$1" "SHOW GLOBAL STATUS LIKE '$2'" 2>/dev/null | awk '{print $2}'; }

install() {
  local need=()
  [ -f "$PROVIDER" ] || need+=(galera-4)
  command -v rsync >/dev/null 2>&1 || need+=(rsync)
  command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
  [ -x "$MARIADBD" ] || need+=(mariadb-server)
  if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
  fi
}

config() { # $1 = node
  local n=$1 g; g=$(gport "$1")
  cat >"$DIR/node$n/my.cnf" <<CNF
[mysqld]
user=$RUN_AS
datadir=$DIR/node$n/data
socket=$DIR/node$n/mysqld.sock
pid-file=$DIR/node$n/mysqld.pid
log-error=$DIR/node$n/error.log
port=$(port "$n")
bind-address=127.0.0.1
skip-log-bin
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
innodb_buffer_pool_size=256M
innodb_log_file_size=64M
# Durability comes from the two other nodes holding every write set; the
# test machine is small, so the nodes do not fsync every commit.
innodb_flush_log_at_trx_commit=2
max_connections=400
wsrep_on=ON
wsrep_provider=$PROVIDER
wsrep_cluster_name=huimin_ci
wsrep_cluster_address=$GCOMM
wsrep_node_name=node$n
wsrep_node_address=127.0.0.1:$g
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:$g;ist.recv_addr=127.0.0.1:$((g + 1));gcache.size=256M;evs.suspect_timeout=PT5S;evs.inactive_timeout=PT10S"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:$((g + 2))
wsrep_slave_threads=4
CNF
}

start_node() { # $1 = node, $2 = extra flag (--wsrep-new-cluster)
  local n=$1
  say "starting node $n on port $(port "$n")"
  "$MARIADBD" --defaults-file="$DIR/node$n/my.cnf" ${2:-} >>"$DIR/node$n/stdout.log" 2>&1 &
  echo $! >"$DIR/node$n/launcher.pid"
}

pid_of() { cat "$DIR/node$1/mysqld.pid" 2>/dev/null || cat "$DIR/node$1/launcher.pid" 2>/dev/null || true; }

wait_synced() { # $1 = node, $2 = seconds
  local n=$1 i
  for i in $(seq 1 $((${2:-120} * 4))); do
    [ "$(status "$n" wsrep_local_state)" = 4 ] && [ "$(status "$n" wsrep_ready)" = ON ] && return 0
    if ! kill -0 "$(pid_of "$n")" 2>/dev/null; then
      say "node $n exited; its log:"; tail -30 "$DIR/node$n/error.log" >&2; return 1
    fi
    sleep 0.25
  done
  say "node $n is not Synced after ${2:-120}s"; tail -30 "$DIR/node$n/error.log" >&2; return 1
}

wait_size() { # $1 = size, $2 = seconds
  local i n
  for i in $(seq 1 $((${2:-60} * 4))); do
    for n in 1 2 3; do
      [ "$(status "$n" wsrep_cluster_size)" = "$1" ] && return 0
    done
    sleep 0.25
  done
  say "no node reports wsrep_cluster_size=$1 after ${2:-60}s"; return 1
}

stop_all() {
  local n p
  for n in 1 2 3; do
    p=$(pid_of "$n")
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  for n in 1 2 3; do
    p=$(pid_of "$n")
    for _ in $(seq 1 60); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$p" 2>/dev/null || true
  done
}

case "${1:-}" in
install) install ;;
start)
  install
  [ -d "$DIR" ] && { stop_all; rm -rf "$DIR"; }
  t0=$(date +%s)
  for n in 1 2 3; do mkdir -p "$DIR/node$n/data"; config "$n"; done
  chown -R "$RUN_AS" "$DIR"
  mariadb-install-db --defaults-file="$DIR/node1/my.cnf" --user="$RUN_AS" --auth-root-authentication-method=normal \
    --skip-test-db >"$DIR/node1/install.log" 2>&1 || { cat "$DIR/node1/install.log" >&2; exit 1; }
  start_node 1 --wsrep-new-cluster
  wait_synced 1 60
  # Root over TCP with no password, as on the MariaDB the other tests use;
  # replicated to the joiners with their state transfer.
  sql 1 "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION"
  for n in 2 3; do start_node "$n"; wait_synced "$n" 120; done
  wait_size 3 30
  say "3 nodes Synced in $(($(date +%s) - t0))s (ports 3307-3309, data in $DIR)"
  ;;
stop) stop_all; rm -rf "$DIR" ;;
kill)
  p=$(pid_of "$2"); say "kill -9 node $2 (pid $p)"; kill -9 "$p"
  ;;
leave)
  # A graceful shutdown of node N: it leaves the cluster, which shrinks
  # without losing quorum (leave nodes one at a time).
  p=$(pid_of "$2"); say "stopping node $2 (pid $p)"; kill "$p"
  for _ in $(seq 1 240); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
  ;;
restart)
  # As the systemd unit's galera_recovery does: find the position the
  # node's InnoDB reached before it died (kill -9 leaves seqno -1 in
  # grastate.dat), so that it rejoins by IST from a donor's gcache, which
  # blocks no one, rather than by a full rsync SST, which locks the donor.
  rm -f "$DIR/node$2/mysqld.pid"
  "$MARIADBD" --defaults-file="$DIR/node$2/my.cnf" --wsrep-recover --log-error="$DIR/node$2/recover.log" >/dev/null 2>&1 || true
  pos=$(sed -n 's/.*WSREP: Recovered position: \([^ ]*\).*/\1/p' "$DIR/node$2/recover.log" | tail -1)
  say "node $2 recovered position ${pos:-unknown}"
  start_node "$2" ${pos:+--wsrep_start_position=$pos}
  wait_synced "$2" 120
  ;;
wait-size) wait_size "$2" "${3:-60}" ;;
status)
  for n in 1 2 3; do
    echo "node $n: $(sql "$n" "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size','wsrep_local_state_comment','wsrep_ready','wsrep_cluster_status')" 2>&1 | tr '\n\t' ' =')"
  done
  ;;
*) sed -n '2,22p' "$0" >&2; exit 2 ;;
esac

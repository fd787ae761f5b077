#!/usr/bin/env bash
# The cluster stage of CI (`make cluster`, run by .ci/run after `make test`):
#
#   1. start a 3-node MariaDB Galera cluster on loopback (cluster.sh: ports
#      3307-3309, rsync state transfer; galera-4 and rsync are installed
#      with apt-get when missing);
#   2. run the store and HTTP suites (every package but cmd/, the console's
#      browser tests, docs/ and the root) against node 1
#      (HUIMIN_TEST_MYSQL_DSN), so that every MariaDB test also holds on a
#      Galera node;
#   3. run TestCluster (cmd/huimin/cluster_test.go, -tags cluster): three
#      `huimin serve`, one per node, through the scenarios of DESIGN §19,
#      with a node killed with kill -9 and restarted;
#   4. stop the cluster and remove its data, whatever happened.
#
# The MariaDB on 3306 is never touched. The race detector runs in `make
# test`; here the binary and the suites run without it, so that the stage
# measures the cluster and not the detector. HUIMIN_CLUSTER_KEEP=1 leaves the
# cluster running afterwards (stop it with cluster.sh stop).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PATH:/usr/local/go/bin"
export CI=true
C=scripts/galera/cluster.sh
t0=$(date +%s)
stamp() { echo "cluster stage: $1 at $(($(date +%s) - t0))s"; }

bash "$C" start
[ "${HUIMIN_CLUSTER_KEEP:-}" = 1 ] || trap 'bash "$C" stop' EXIT
stamp "3 nodes Synced"

# Every package with store or HTTP tests: all but the binaries (cmd/, whose
# process tests are TestCluster's business here), the console's browser
# tests, the OpenAPI linter and the root layout checks, which need no
# database.
mapfile -t suites < <(go list ./... | grep -v -E '/cmd/|/console|/docs$|^huimin$')
HUIMIN_TEST_MYSQL_DSN='root@tcp(127.0.0.1:3307)/' go test -count=1 -timeout 20m "${suites[@]}"
stamp "store and HTTP suites passed on node 1"

HUIMIN_CLUSTER_DSNS='root@tcp(127.0.0.1:3307)/,root@tcp(127.0.0.1:3308)/,root@tcp(127.0.0.1:3309)/' \
HUIMIN_CLUSTER_SCRIPT="$PWD/$C" \
  go test -tags cluster -count=1 -timeout 20m -run '^TestCluster$' -v ./cmd/huimin/ 2>&1 |
  grep -v -E '^=== (RUN|PAUSE|CONT|NAME)'
stamp "TestCluster passed"

package db

// This file is what Huimin needs to run on a MariaDB Galera cluster, one
// server per node or behind a proxy (DESIGN §19): read-your-writes on every
// connection, readiness that follows the node's membership of the primary
// component, and the cluster's own errors answered 503.

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"huimin/internal/apperr"
)

// SyncWait is the wsrep_sync_wait Huimin sets on every connection to a
// server that has the variable (any MariaDB built with Galera support,
// which is every Debian and upstream package) unless the DSN sets it.
//
// 1 makes a node wait, before each autocommit read and at the start of each
// transaction (BEGIN), until it has applied every write set the cluster
// committed before: a claim acknowledged by a server on one node is found
// by the next request through any other. Galera applies it only outside a
// transaction's first statement, so a transaction waits once. The writes
// Huimin makes all run in transactions, so the UPDATE/INSERT bits (2, 4)
// would add nothing. On a MariaDB that is not a cluster node (wsrep_on=OFF)
// the setting is accepted and has no effect.
const SyncWait = "1"

// inspectMySQL asks the server whether it is a Galera node (wsrep_on) and
// whether it knows wsrep_sync_wait at all (Oracle MySQL does not: setting
// an unknown variable would fail every connection).
func inspectMySQL(ctx context.Context, mc *mysql.Config) (galera, hasSyncWait bool, err error) {
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return false, false, err
	}
	conn := sql.OpenDB(connector)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rows, err := conn.QueryContext(ctx, "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('wsrep_on', 'wsrep_sync_wait')")
	if err != nil {
		return false, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return false, false, err
		}
		switch strings.ToLower(name) {
		case "wsrep_on":
			galera = strings.EqualFold(value, "ON") || value == "1"
		case "wsrep_sync_wait":
			hasSyncWait = true
		}
	}
	return galera, hasSyncWait, rows.Err()
}

// Galera node states (wsrep_local_state): only a Synced node serves.
const wsrepSynced = "4"

var wsrepStates = map[string]string{"1": "Joining", "2": "Donor/Desynced", "3": "Joined", "4": "Synced"}

// Ready reports whether the database can serve requests now: it answers a
// ping, and, on a Galera node, the node is in the primary component
// (wsrep_ready=ON) and Synced (wsrep_local_state=4). A node that is joining,
// a donor of a state transfer, or cut off from the majority answers
// queries with errors (1047) or stale data, so a load balancer must stop
// sending it requests; /readyz says so with this. A node that answers but
// cannot serve is an apperr.ErrUnavailable that says why; a failed ping is
// the driver's error.
func (d *DB) Ready(ctx context.Context) error {
	if err := d.Ping(ctx); err != nil {
		return err
	}
	if !d.Galera {
		return nil
	}
	rows, err := d.SQL.QueryContext(ctx, "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state', 'wsrep_cluster_status')")
	if err != nil {
		return Translate(err)
	}
	defer rows.Close()
	st := map[string]string{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return Translate(err)
		}
		st[strings.ToLower(name)] = value
	}
	if err := rows.Err(); err != nil {
		return Translate(err)
	}
	switch {
	case !strings.EqualFold(st["wsrep_ready"], "ON"):
		return apperr.New(apperr.ErrUnavailable, "this Galera node is not ready (wsrep_ready=%s, wsrep_cluster_status=%s)",
			or(st["wsrep_ready"], "?"), or(st["wsrep_cluster_status"], "?"))
	case st["wsrep_local_state"] != wsrepSynced:
		return apperr.New(apperr.ErrUnavailable, "this Galera node is %s (wsrep_local_state=%s), not Synced",
			or(wsrepStates[st["wsrep_local_state"]], "in an unknown state"), st["wsrep_local_state"])
	}
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// clusterError maps the errors a Galera node answers when it cannot serve
// a request, none of which a retry on the same node cures at once, to the
// 503 a client retries (through the load balancer, on another node):
//
//   - 1047 "WSREP has not yet prepared node for application use": the node
//     is not in the primary component (cut off, or still joining);
//   - 1180 "Got error … during COMMIT", which is also how
//     wsrep_max_ws_rows exceeded is reported, and 1105 "Maximum writeset
//     size exceeded" (wsrep_max_ws_size): the cluster refused to replicate
//     a transaction that large. Huimin keeps its transactions far below the
//     defaults (unlimited rows, 2 GiB); an operator who lowers the limits
//     sees this 503, with the message, until they are raised again.
func clusterError(me *mysql.MySQLError) *apperr.Error {
	switch {
	case me.Number == 1047:
		return &apperr.Error{Kind: apperr.ErrUnavailable, Message: "this database node is not part of the cluster's primary component; retry later"}
	case me.Number == 1180 && strings.Contains(me.Message, "max_ws_rows"),
		me.Number == 1105 && strings.Contains(strings.ToLower(me.Message), "writeset size"):
		return &apperr.Error{Kind: apperr.ErrUnavailable, Message: "the database cluster refused a transaction this large (" + me.Message +
			"); the operator must raise wsrep_max_ws_rows / wsrep_max_ws_size"}
	case me.Number == 1180:
		return &apperr.Error{Kind: apperr.ErrUnavailable, Message: "the database could not commit; retry later"}
	}
	return nil
}

// Bump is an assignment to a Unix-millisecond column (updated_at) that
// always changes the row: to nowMs, or to one more than the stored value
// when that is not older than nowMs (two writes in one millisecond, or a
// test's frozen clock). A write that leaves a row as it was is no write to
// MariaDB: the row is not updated and, on Galera, not certified, so two
// nodes that each decided on the row under their own lock would both
// commit. A transaction that writes a row only to have its decision
// certified (claims.Touch, a bank result's batch row) uses Bump. Bumped is
// the value it stores.
func Bump(column string, nowMs int64) clause.Expr {
	return gorm.Expr("CASE WHEN "+column+" < ? THEN ? ELSE "+column+" + 1 END", nowMs, nowMs)
}

// Bumped is what Bump stores over old at nowMs.
func Bumped(old, nowMs int64) int64 {
	if old < nowMs {
		return nowMs
	}
	return old + 1
}

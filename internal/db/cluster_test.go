package db_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/migrations"
)

// Every MariaDB connection waits for the cluster's earlier commits before
// it reads (wsrep_sync_wait = 1): on a Galera node that is read-your-writes
// across servers; on a plain MariaDB the variable exists and does nothing.
// Galera is known from wsrep_on, and a Synced node (or a plain server) is
// ready.
func TestEveryConnectionReadsTheClustersLatestCommits(t *testing.T) {
	d := testdb.Open(t, "mysql")
	ctx := context.Background()
	var wait, on string
	require.NoError(t, d.Raw("SELECT @@session.wsrep_sync_wait, @@global.wsrep_on").Row().Scan(&wait, &on))
	require.Equal(t, db.SyncWait, wait)
	require.Equal(t, on == "1", d.Galera, "wsrep_on=%s", on)
	require.NoError(t, d.Ready(ctx))
	if d.Galera {
		// A Galera node that is not Synced — a donor, desynced here as a
		// state transfer would — is not ready, and says so.
		require.NoError(t, d.Exec("SET GLOBAL wsrep_desync = ON").Error)
		err := d.Ready(ctx)
		require.NoError(t, d.Exec("SET GLOBAL wsrep_desync = OFF").Error)
		require.Equal(t, apperr.ErrUnavailable, apperr.KindOf(err))
		require.ErrorContains(t, err, "Donor/Desynced")
		require.Eventually(t, func() bool { return d.Ready(ctx) == nil }, 30*time.Second, 50*time.Millisecond)
	}

	dsn := testdb.EmptyMySQL(t)
	cfg, err := mysql.ParseDSN(dsn)
	require.NoError(t, err)
	cfg.Params = map[string]string{"wsrep_sync_wait": "3"}
	own, err := db.Open(ctx, "mysql:"+cfg.FormatDSN())
	require.NoError(t, err)
	defer own.Close()
	require.NoError(t, own.Raw("SELECT @@session.wsrep_sync_wait").Row().Scan(&wait))
	require.Equal(t, "3", wait, "a DSN that sets it keeps its own value")

	lite := testdb.Open(t, "sqlite")
	require.False(t, lite.Galera)
	require.NoError(t, lite.Ready(ctx))
}

// A Galera node that cannot serve answers with errors of its own; each is a
// 503 unavailable with a message that says what happened, never a 500, and
// none is retried on the same node (none is cured in milliseconds).
func TestClusterErrorsAreUnavailable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  *mysql.MySQLError
		says string
	}{
		{"not in the primary component", &mysql.MySQLError{Number: 1047, Message: "WSREP has not yet prepared node for application use"}, "primary component"},
		{"wsrep_max_ws_rows exceeded", &mysql.MySQLError{Number: 1180, Message: "wsrep_max_ws_rows exceeded"}, "wsrep_max_ws_rows"},
		{"wsrep_max_ws_size exceeded", &mysql.MySQLError{Number: 1105, Message: "Maximum writeset size exceeded"}, "wsrep_max_ws_size"},
		{"an error during commit", &mysql.MySQLError{Number: 1180, Message: "Got error 6 \"No such device or address\" during COMMIT"}, "could not commit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := openSQLite(t, nil)
			runs := 0
			err := d.Tx(context.Background(), func(*gorm.DB) error { runs++; return tc.err })
			require.Equal(t, apperr.ErrUnavailable, apperr.KindOf(err))
			var ae *apperr.Error
			require.True(t, errors.As(err, &ae))
			require.Contains(t, ae.Message, tc.says)
			require.Equal(t, 1, runs)
			require.True(t, db.Unavailable(tc.err))
		})
	}
	require.Equal(t, apperr.ErrInternal, apperr.KindOf(db.Translate(&mysql.MySQLError{Number: 1105, Message: "something else"})),
		"an unknown error stays unknown")
}

// Deadlocks, lock wait timeouts and certification conflicts (1213) are
// retried, counted by reason in huimin_db_retries_total, and logged at
// debug; one that still fails on the last attempt is counted in
// huimin_db_retries_exhausted_total and answered 503.
func TestRetriesAreCountedAndLogged(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	d := openSQLite(t, slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	reg := prometheus.NewRegistry()
	reg.MustRegister(d.Collectors()...)
	ctx := context.Background()

	runs := 0
	require.NoError(t, d.Tx(ctx, func(*gorm.DB) error {
		if runs++; runs <= 2 {
			return &mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock; try restarting transaction"}
		}
		return nil
	}))
	require.Equal(t, 3, runs)

	err := d.Tx(ctx, func(*gorm.DB) error {
		return &mysql.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded; try restarting transaction"}
	})
	require.Equal(t, apperr.ErrUnavailable, apperr.KindOf(err))

	require.Equal(t, map[string]float64{
		"huimin_db_retries_total/conflict": 2, "huimin_db_retries_total/lock_wait_timeout": 4, "huimin_db_retries_total/sqlite_busy": 0,
		"huimin_db_retries_exhausted_total/conflict": 0, "huimin_db_retries_exhausted_total/lock_wait_timeout": 1, "huimin_db_retries_exhausted_total/sqlite_busy": 0,
	}, gather(t, reg))
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	require.Equal(t, 6, strings.Count(out, `"msg":"retrying a transaction"`), out)
	require.Contains(t, out, `"level":"DEBUG"`)
	require.Contains(t, out, `"reason":"conflict"`)
	require.Equal(t, 1, strings.Count(out, `"msg":"transaction failed after its last retry"`))
}

// Servers started together take start-up steps one at a time: Exclusive
// never lets two holders run at once, a lease whose holder died is taken
// over once it runs out, and a live one is waited for.
func TestExclusiveRunsOneHolderAtATime(t *testing.T) {
	d := testdb.Open(t, "mysql")
	ctx := context.Background()

	var inside, most, runs atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(t, d.Exclusive(ctx, "test-step", func(context.Context) error {
				n := inside.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(30 * time.Millisecond)
				inside.Add(-1)
				runs.Add(1)
				return nil
			}))
		}()
	}
	wg.Wait()
	require.Equal(t, int32(6), runs.Load())
	require.Equal(t, int32(1), most.Load(), "never two holders at once")
	require.Zero(t, count(t, d, "huimin_locks", "name = 'test-step'"), "released")

	now := time.Now().UnixMilli()
	require.NoError(t, d.Exec("INSERT INTO huimin_locks (name, holder, expires_at) VALUES ('dead', 'killed-server', ?), ('alive', 'other-server', ?)",
		now-1, now+1500).Error)
	start := time.Now()
	require.NoError(t, d.Exclusive(ctx, "dead", func(context.Context) error { return nil }))
	require.Less(t, time.Since(start), time.Second, "an expired lease is taken over at once")
	start = time.Now()
	require.NoError(t, d.Exclusive(ctx, "alive", func(context.Context) error { return nil }))
	require.GreaterOrEqual(t, time.Since(start), time.Second, "a live lease is waited for")

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	require.NoError(t, d.Exec("INSERT INTO huimin_locks (name, holder, expires_at) VALUES ('busy', 'other-server', ?)", time.Now().Add(time.Minute).UnixMilli()).Error)
	require.ErrorIs(t, d.Exclusive(short, "busy", func(context.Context) error { t.Fatal("ran without the lock"); return nil }), context.DeadlineExceeded)

	lite := testdb.Open(t, "sqlite")
	ran := false
	require.NoError(t, lite.Exclusive(ctx, "any", func(context.Context) error { ran = true; return nil }))
	require.True(t, ran, "SQLite has one process: fn just runs")
}

// Migrations started by several servers at once on a fresh database all
// succeed, and each migration runs once.
func TestMigrationsStartedTogether(t *testing.T) {
	dsn := testdb.EmptyMySQL(t)
	ctx := context.Background()
	dbs := make([]*db.DB, 4)
	for i := range dbs {
		var err error
		dbs[i], err = db.Open(ctx, "mysql:"+dsn)
		require.NoError(t, err)
		defer dbs[i].Close()
	}
	applied := make([]int, len(dbs))
	errs := make([]error, len(dbs))
	var wg sync.WaitGroup
	for i, d := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = d.Migrate(ctx)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	st, err := migrations.List(ctx, dbs[0].SQL, migrations.MySQL)
	require.NoError(t, err)
	total := 0
	for _, n := range applied {
		total += n
	}
	require.Equal(t, len(st), total, "every migration ran once, by one of them: %v", applied)
	require.Equal(t, int64(len(st)), int64(count(t, dbs[0], "goose_db_version", "version_id > 0")))
}

// Bump always changes the row — the reason it exists: MariaDB neither
// updates nor (on Galera) certifies a row written with the values it
// already has, so a write meant only to have a decision certified must
// change something.
func TestBumpAlwaysChangesTheRow(t *testing.T) {
	d := testdb.Open(t, "mysql")
	ctx := context.Background()
	require.NoError(t, d.Exclusive(ctx, "make-the-table", func(context.Context) error { return nil }))
	now := time.Now().UnixMilli()
	require.NoError(t, d.Exec("INSERT INTO huimin_locks (name, holder, expires_at) VALUES ('row', 'x', ?)", now).Error)

	same := d.Exec("UPDATE huimin_locks SET expires_at = ? WHERE name = 'row'", now)
	require.NoError(t, same.Error)
	require.Zero(t, same.RowsAffected, "writing the values a row has changes nothing")
	for i := range 3 {
		bumped := d.Exec("UPDATE huimin_locks SET expires_at = ? WHERE name = 'row'", db.Bump("expires_at", now))
		require.NoError(t, bumped.Error)
		require.Equal(t, int64(1), bumped.RowsAffected, "bump %d in the same millisecond", i+1)
	}
	var got int64
	require.NoError(t, d.Raw("SELECT expires_at FROM huimin_locks WHERE name = 'row'").Row().Scan(&got))
	require.Equal(t, db.Bumped(db.Bumped(db.Bumped(now, now), now), now), got)
	require.Equal(t, now+3, got)
	require.Equal(t, now+10, db.Bumped(now, now+10), "a later now is stored as it is")
}

func openSQLite(t *testing.T, log *slog.Logger) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "h.db"), db.Options{Log: log})
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func count(t *testing.T, d *db.DB, table, where string) int {
	t.Helper()
	var n int
	require.NoError(t, d.Raw("SELECT COUNT(*) FROM "+table+" WHERE "+where).Row().Scan(&n))
	return n
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// gather reads every counter of reg as "name/reason" → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					out[mf.GetName()+"/"+l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

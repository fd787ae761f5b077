// Package db opens Huimin's database — embedded SQLite by default, MySQL or
// MariaDB on request — migrates it, and runs transactions with bounded
// retries and driver errors translated into apperr kinds.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/glebarez/go-sqlite"
	gormsqlite "github.com/glebarez/sqlite"
	"github.com/go-sql-driver/mysql"
	gormmysql "gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"huimin/internal/apperr"
	"huimin/migrations"
)

// DB is an open database and its dialect.
type DB struct {
	*gorm.DB
	Dialect migrations.Dialect
	SQL     *sql.DB
	// Health is the breaker that a probe on a connection of its own drives
	// from Open to Close (see Health). It is nil, always closed, on SQLite
	// or with the probe turned off.
	Health *Health
	// Galera is set when the MySQL server is a Galera cluster node
	// (wsrep_on): Ready then also requires the node to be Synced in the
	// primary component (see cluster.go).
	Galera bool
	probe  *sql.DB // the probe's pool, apart from SQL so that a busy pool never delays a ping
	log    *slog.Logger
	retry  *retryMetrics
}

// DefaultSpec is the embedded default of DESIGN §2.
const DefaultSpec = "sqlite:huimin-data/huimin.db"

// Options tune how a database is opened. The zero value is the default of
// every setting; cmd/huimin fills it from the environment.
type Options struct {
	// SQLiteSync is SQLite's `synchronous` pragma: NORMAL (the default)
	// survives kill -9 in WAL mode; FULL also survives power loss, slower.
	SQLiteSync string
	// Health tunes the probe of a MySQL database (see Health); a negative
	// Health.Interval turns it off.
	Health HealthOptions
	// Log gets a debug record for every transaction retried after a
	// deadlock, a lock wait timeout, a Galera certification conflict or a
	// busy SQLite (default: none).
	Log *slog.Logger
}

// Open opens the database named by spec: "sqlite:PATH" or "mysql:DSN" (any
// go-sql-driver DSN). It does not migrate; call Migrate.
func Open(ctx context.Context, spec string, opts ...Options) (*DB, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok || rest == "" {
		return nil, fmt.Errorf("HUIMIN_DB %q: want sqlite:PATH or mysql:DSN", spec)
	}
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true, // every write here runs in an explicit transaction
		PrepareStmt:            false,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	var (
		g      *gorm.DB
		probe  *sql.DB
		err    error
		d      migrations.Dialect
		galera bool
	)
	switch kind {
	case "sqlite":
		d = migrations.SQLite
		g, err = openSQLite(rest, o.SQLiteSync, cfg)
	case "mysql":
		d = migrations.MySQL
		g, probe, galera, err = openMySQL(ctx, rest, cfg)
	default:
		return nil, fmt.Errorf("HUIMIN_DB %q: unknown kind %q, want sqlite or mysql", spec, kind)
	}
	if err != nil {
		return nil, err
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
		if probe != nil {
			_ = probe.Close()
		}
		return nil, fmt.Errorf("open %s database: %w", kind, err)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	out := &DB{DB: g, Dialect: d, SQL: sqlDB, probe: probe, Galera: galera, log: log, retry: newRetryMetrics()}
	if probe != nil && o.Health.Interval >= 0 {
		out.Health = Watch(probe.PingContext, o.Health)
	}
	return out, nil
}

// openSQLite uses the pure-Go SQLite driver (no cgo, so `make run` needs no C
// toolchain). WAL lets readers run beside the one writer; _txlock=immediate
// takes the write lock at BEGIN so a read-then-write transaction never fails
// on lock upgrade; synchronous=NORMAL in WAL mode loses no committed
// transaction when the process is killed (only an OS crash could lose the
// last ones; Options.SQLiteSync FULL fsyncs every commit).
func openSQLite(path, sync string, cfg *gorm.Config) (*gorm.DB, error) {
	if dir := filepath.Dir(path); dir != "" && dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	if sync == "" {
		sync = "NORMAL"
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Set("_txlock", "immediate")
	g, err := gorm.Open(gormsqlite.Open("file:"+path+"?"+q.Encode()), cfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	// One writer at a time is SQLite's nature; a small pool keeps readers
	// (exports, lists) from queueing behind it.
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(8)
	return g, nil
}

// openMySQL fills in what Huimin relies on unless the DSN says otherwise:
// utf8mb4, parseTime, READ COMMITTED (fewer gap locks, and each statement
// after a locking read sees the latest commits), short dial timeouts so an
// outage is answered with 503 quickly, and client-side interpolation to save
// a round trip per statement. On a server that has wsrep_sync_wait (any
// MariaDB with Galera support) it sets SyncWait, so that on a Galera
// cluster a write acknowledged through one node is read by the next request
// through any node (see cluster.go). It also returns the health probe's
// pool: one connection to the same database, apart from the pool that
// requests share, and whether the server is a Galera node.
func openMySQL(ctx context.Context, dsn string, cfg *gorm.Config) (*gorm.DB, *sql.DB, bool, error) {
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, nil, false, fmt.Errorf("HUIMIN_DB mysql DSN: %w", err)
	}
	mc.ParseTime = true
	if mc.Collation == "" || !strings.HasPrefix(mc.Collation, "utf8mb4") {
		mc.Collation = "utf8mb4_general_ci"
	}
	if mc.Timeout == 0 {
		mc.Timeout = 2 * time.Second
	}
	if mc.ReadTimeout == 0 {
		mc.ReadTimeout = 30 * time.Second
	}
	if mc.WriteTimeout == 0 {
		mc.WriteTimeout = 30 * time.Second
	}
	mc.InterpolateParams = true
	if mc.Params == nil {
		mc.Params = map[string]string{}
	}
	if _, ok := mc.Params["tx_isolation"]; !ok {
		mc.Params["tx_isolation"] = "'READ-COMMITTED'"
	}
	galera, hasSyncWait, err := inspectMySQL(ctx, mc)
	if err != nil {
		return nil, nil, false, fmt.Errorf("open mysql database: %w", err)
	}
	if _, ok := mc.Params["wsrep_sync_wait"]; !ok && hasSyncWait {
		mc.Params["wsrep_sync_wait"] = SyncWait
	}
	g, err := gorm.Open(gormmysql.New(gormmysql.Config{DSN: mc.FormatDSN()}), cfg)
	if err != nil {
		return nil, nil, false, fmt.Errorf("open mysql: %w", err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, nil, false, err
	}
	// Sized for a 2-core host: enough connections for 32 concurrent clients,
	// short-lived enough to survive a server restart.
	sqlDB.SetMaxOpenConns(40)
	sqlDB.SetMaxIdleConns(40)
	sqlDB.SetConnMaxLifetime(5 * time.Minute)
	sqlDB.SetConnMaxIdleTime(time.Minute)
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		_ = sqlDB.Close()
		return nil, nil, false, fmt.Errorf("open mysql: %w", err)
	}
	probe := sql.OpenDB(connector)
	probe.SetMaxOpenConns(1)
	probe.SetMaxIdleConns(1)
	probe.SetConnMaxLifetime(5 * time.Minute)
	return g, probe, galera, nil
}

// Migrate applies pending migrations and returns how many ran. It holds the
// database's "migrate" lock (Exclusive) while it does, so any number of
// servers may start together on one database or cluster: the first
// migrates, the others wait and then find nothing to apply.
func (d *DB) Migrate(ctx context.Context) (int, error) {
	var n int
	err := d.Exclusive(ctx, "migrate", func(ctx context.Context) error {
		var err error
		n, err = migrations.Up(ctx, d.SQL, d.Dialect)
		return err
	})
	return n, err
}

// Close stops the health probe and closes the pools.
func (d *DB) Close() error {
	d.Health.Stop()
	if d.probe != nil {
		_ = d.probe.Close()
	}
	return d.SQL.Close()
}

// Ping checks the database answers within the context's deadline.
func (d *DB) Ping(ctx context.Context) error { return d.SQL.PingContext(ctx) }

// ReadSnapshot runs fn in a read-only transaction that sees one consistent
// snapshot of the database: REPEATABLE READ on MySQL (the pool's default,
// READ COMMITTED, lets each statement see the latest commits), a deferred
// transaction on SQLite (a WAL reader sees the database as of its first
// read, and takes no write lock). Checks that compare a budget row with its
// entries read this way; read apart, an approval committing between the two
// reads would look like tampering.
func (d *DB) ReadSnapshot(ctx context.Context, fn func(tx *gorm.DB) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if d.Dialect == migrations.MySQL {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return Translate(d.DB.WithContext(ctx).Transaction(fn, opts))
}

// maxAttempts bounds retries of deadlocks and lock timeouts (DESIGN §10).
// A Galera node gets a few more: there a transaction on a hot row (a
// plan's budget) also conflicts with every write to it certified on the
// other nodes meanwhile, and one more try is far cheaper than a 503 the
// client resends; the pauses (5 ms × attempt², jittered) still end within
// about a second.
const (
	maxAttempts       = 5
	maxAttemptsGalera = 8
)

// Tx runs fn in one transaction. Deadlocks, lock wait timeouts, Galera
// certification conflicts and SQLite busy errors roll back and retry a
// bounded number of times, so fn must be safe to run again (it must not
// keep state from a failed attempt). Each retry is counted (Collectors) and
// logged at debug. The returned error is translated with Translate.
func (d *DB) Tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	limit := maxAttempts
	if d.Galera {
		limit = maxAttemptsGalera
	}
	var err error
	for attempt := 1; ; attempt++ {
		err = d.DB.WithContext(ctx).Transaction(fn)
		reason := retryReason(err)
		if reason == "" || ctx.Err() != nil {
			break
		}
		if attempt == limit {
			d.retry.exhausted(reason)
			d.logger().Debug("transaction failed after its last retry", "reason", reason, "attempts", attempt, "error", err.Error())
			break
		}
		d.retry.retried(reason)
		d.logger().Debug("retrying a transaction", "reason", reason, "attempt", attempt, "error", err.Error())
		if !pause(ctx, backoff(attempt)) {
			break
		}
	}
	return Translate(err)
}

func (d *DB) logger() *slog.Logger {
	if d.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.log
}

// IsDuplicate reports a unique or primary key violation.
func IsDuplicate(err error) bool {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1062
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == 2067 || se.Code() == 1555 // SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
	}
	return false
}

// Translate maps driver errors onto kinds: a missing row is ErrNotFound; an
// unreachable, full or read-only database is ErrUnavailable (503, so clients
// retry); anything already carrying a kind passes through.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	var k *apperr.Kind
	if errors.As(err, &k) {
		return err
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%w: %v", apperr.ErrNotFound, err)
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		if ce := clusterError(me); ce != nil {
			return ce
		}
	}
	if Unavailable(err) {
		return &apperr.Error{Kind: apperr.ErrUnavailable, Message: "the database is unavailable; retry later"}
	}
	return err
}

// Unavailable reports errors that mean the database cannot serve now, as
// opposed to a fault in the request or the code.
func Unavailable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EROFS) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1040, 1053, 1205, 1213, 2002, 2003, 2006, 2013, 1927, 1290, 1036:
			return true
		}
		if clusterError(me) != nil {
			return true
		}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 5, 6, 8, 10, 13, 14: // BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN
			return true
		}
	}
	return false
}

// Package testdb gives tests freshly migrated databases: always an embedded
// SQLite file, and a new MariaDB/MySQL database when one answers at
// HUIMIN_TEST_MYSQL_DSN (default root@tcp(127.0.0.1:3306)/). With CI=true an
// unreachable MariaDB fails the test instead of skipping it, so CI can never
// pass on SQLite alone.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"huimin/internal/db"
)

// DefaultMySQLDSN is where tests look for MariaDB.
const DefaultMySQLDSN = "root@tcp(127.0.0.1:3306)/"

// Dialects under test, in order.
var Dialects = []string{"sqlite", "mysql"}

// Run runs fn as a subtest on each database: "sqlite" and "mysql". Each gets
// its own freshly migrated database, dropped when the subtest ends.
func Run(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, dialect := range Dialects {
		t.Run(dialect, func(t *testing.T) {
			fn(t, Open(t, dialect))
		})
	}
}

// Open returns a fresh migrated database of the dialect.
func Open(t testing.TB, dialect string) *db.DB {
	t.Helper()
	var spec string
	switch dialect {
	case "sqlite":
		spec = "sqlite:" + filepath.Join(t.TempDir(), "huimin.db")
	case "mysql":
		spec = "mysql:" + createMySQL(t)
	default:
		t.Fatalf("unknown dialect %q", dialect)
	}
	ctx := context.Background()
	d, err := db.Open(ctx, spec)
	if err != nil {
		t.Fatalf("open %s: %v", dialect, err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return d
}

// MySQLDSN is the server DSN tests use (no database name).
func MySQLDSN() string {
	if v := os.Getenv("HUIMIN_TEST_MYSQL_DSN"); v != "" {
		return v
	}
	return DefaultMySQLDSN
}

var (
	probeOnce sync.Once
	probeErr  error
)

// server opens a connection to the MariaDB server, once per process tells
// whether it answers.
func server() (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(MySQLDSN())
	if err != nil {
		return nil, err
	}
	cfg.DBName = ""
	cfg.Timeout = 3 * time.Second
	conn, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	probeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		probeErr = conn.PingContext(ctx)
	})
	if probeErr != nil {
		_ = conn.Close()
		return nil, probeErr
	}
	return conn, nil
}

// EmptyMySQL makes a new, empty (unmigrated) MariaDB database for the test
// and returns its DSN; it is dropped when the test ends. Without MariaDB the
// test is skipped, or fails with CI=true.
func EmptyMySQL(t testing.TB) string {
	t.Helper()
	return createMySQL(t)
}

// createMySQL makes a uniquely named database and returns its DSN; the
// database is dropped when the test ends.
func createMySQL(t testing.TB) string {
	t.Helper()
	conn, err := server()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("MariaDB at %s is required in CI: %v", MySQLDSN(), err)
		}
		t.Skipf("MariaDB not reachable at %s (%v); set CI=true to make this fatal", MySQLDSN(), err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := fmt.Sprintf("huimin_t_%s_%s", sanitize(t.Name()), hex.EncodeToString(b[:]))
	if len(name) > 64 {
		name = name[len(name)-64:]
		name = "h" + name[1:]
	}
	if _, err := conn.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec("DROP DATABASE IF EXISTS `" + name + "`")
		_ = conn.Close()
	})
	cfg, _ := mysql.ParseDSN(MySQLDSN())
	cfg.DBName = name
	return cfg.FormatDSN()
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 30 {
			break
		}
	}
	return b.String()
}

package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"huimin/internal/db"
	"huimin/server"
)

// config is everything read from the environment, with defaults (DESIGN §2).
type config struct {
	DB              string
	Addr            string
	LogLevel        slog.Level
	ShutdownTimeout time.Duration
	RequestTimeout  time.Duration
	BulkTimeout     time.Duration
	PprofAddr       string
	SQLiteSync      string
	// The connection and memory limits of the HTTP server (server.Config).
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	MaxBulkMiB        int
	// Console sessions: idle and absolute limits.
	SessionIdleTimeout time.Duration
	SessionMaxAge      time.Duration
	// stderr receives the "database: …" line of commands that open one.
	stderr io.Writer
}

// settings lists every environment variable the binary reads, with its
// default and meaning: `huimin --help` prints this table, and the
// README's Configuration section documents the same names.
var settings = []struct{ name, def, help string }{
	{"HUIMIN_DB", db.DefaultSpec, "sqlite:PATH (embedded) or mysql:DSN, e.g. mysql:root@tcp(127.0.0.1:3306)/huimin"},
	{"HUIMIN_ADDR", "127.0.0.1:8080", "listen address of serve"},
	{"HUIMIN_LOG_LEVEL", "info", "debug, info, warn or error (JSON logs on stderr)"},
	{"HUIMIN_REQUEST_TIMEOUT", "3s", "the most an ordinary request may take; then 503"},
	{"HUIMIN_BULK_TIMEOUT", "5m", "the most a batch, import, export or disbursement may take"},
	{"HUIMIN_MAX_BULK_MIB", "64", "MiB of request bodies bulk requests may hold at once (>= 32)"},
	{"HUIMIN_READ_HEADER_TIMEOUT", "10s", "time a client has to send a request's headers"},
	{"HUIMIN_READ_TIMEOUT", "1m", "time a client has to send a whole request"},
	{"HUIMIN_WRITE_TIMEOUT", "30s", "time an ordinary answer may take to write (> request timeout)"},
	{"HUIMIN_IDLE_TIMEOUT", "2m", "how long an idle keep-alive connection stays open"},
	{"HUIMIN_SHUTDOWN_TIMEOUT", "15s", "how long in-flight requests may finish on SIGINT/SIGTERM"},
	{"HUIMIN_SESSION_IDLE_TIMEOUT", "30m", "a console session unused this long ends"},
	{"HUIMIN_SESSION_MAX_AGE", "12h", "a console session ends this long after sign-in"},
	{"HUIMIN_PPROF_ADDR", "", "serve Go's pprof profiles there (e.g. 127.0.0.1:6060); off when empty"},
	{"HUIMIN_SQLITE_SYNC", "NORMAL", "SQLite synchronous: NORMAL survives kill -9, FULL also power loss"},
}

// settingsHelp is the settings table as the help prints it.
func settingsHelp() string {
	var b strings.Builder
	b.WriteString("settings (environment variables; default in brackets):\n")
	for _, s := range settings {
		def := s.def
		if def == "" {
			def = "off"
		}
		fmt.Fprintf(&b, "  %-28s %s [%s]\n", s.name, s.help, def)
	}
	return b.String()
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		DB: db.DefaultSpec, Addr: "127.0.0.1:8080", LogLevel: slog.LevelInfo, ShutdownTimeout: 15 * time.Second,
		RequestTimeout: 3 * time.Second, BulkTimeout: 5 * time.Minute,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxBulkMiB: 64, SessionIdleTimeout: 30 * time.Minute, SessionMaxAge: 12 * time.Hour,
	}
	if v := getenv("HUIMIN_DB"); v != "" {
		c.DB = v
	}
	if v := getenv("HUIMIN_ADDR"); v != "" {
		c.Addr = v
	}
	if v := getenv("HUIMIN_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(strings.ToUpper(v))); err != nil {
			return c, fmt.Errorf("HUIMIN_LOG_LEVEL %q: want debug, info, warn or error", v)
		}
	}
	c.PprofAddr = getenv("HUIMIN_PPROF_ADDR")
	switch v := strings.ToUpper(getenv("HUIMIN_SQLITE_SYNC")); v {
	case "", "NORMAL", "FULL", "EXTRA", "OFF":
		c.SQLiteSync = v
	default:
		return c, fmt.Errorf("HUIMIN_SQLITE_SYNC %q: want NORMAL or FULL", v)
	}
	for _, d := range []struct {
		name, example string
		v             *time.Duration
	}{
		{"HUIMIN_REQUEST_TIMEOUT", "3s", &c.RequestTimeout},
		{"HUIMIN_BULK_TIMEOUT", "5m", &c.BulkTimeout},
		{"HUIMIN_SHUTDOWN_TIMEOUT", "15s", &c.ShutdownTimeout},
		{"HUIMIN_READ_HEADER_TIMEOUT", "10s", &c.ReadHeaderTimeout},
		{"HUIMIN_READ_TIMEOUT", "1m", &c.ReadTimeout},
		{"HUIMIN_WRITE_TIMEOUT", "30s", &c.WriteTimeout},
		{"HUIMIN_IDLE_TIMEOUT", "2m", &c.IdleTimeout},
		{"HUIMIN_SESSION_IDLE_TIMEOUT", "30m", &c.SessionIdleTimeout},
		{"HUIMIN_SESSION_MAX_AGE", "12h", &c.SessionMaxAge},
	} {
		if v := getenv(d.name); v != "" {
			p, err := time.ParseDuration(v)
			if err != nil || p <= 0 {
				return c, fmt.Errorf("%s %q: want a duration such as %s", d.name, v, d.example)
			}
			*d.v = p
		}
	}
	// An ordinary answer written after the write deadline is lost; the
	// request deadline must come first, so that the 503 of a request that
	// ran out of time reaches the client.
	if c.WriteTimeout <= c.RequestTimeout {
		return c, fmt.Errorf("HUIMIN_WRITE_TIMEOUT %s must be longer than HUIMIN_REQUEST_TIMEOUT %s", c.WriteTimeout, c.RequestTimeout)
	}
	if v := getenv("HUIMIN_MAX_BULK_MIB"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 32 {
			return c, fmt.Errorf("HUIMIN_MAX_BULK_MIB %q: want a number of MiB, at least 32 (one full batch)", v)
		}
		c.MaxBulkMiB = n
	}
	return c, nil
}

// serverConfig is the application's part of the configuration.
func (c config) serverConfig(log *slog.Logger) server.Config {
	return server.Config{
		Log: log, Now: time.Now, RequestTimeout: c.RequestTimeout, BulkTimeout: c.BulkTimeout, MaxBulkMiB: c.MaxBulkMiB,
		ReadHeaderTimeout: c.ReadHeaderTimeout, ReadTimeout: c.ReadTimeout, WriteTimeout: c.WriteTimeout, IdleTimeout: c.IdleTimeout,
		SessionIdleTimeout: c.SessionIdleTimeout, SessionMaxAge: c.SessionMaxAge,
	}
}

func versionString() string {
	v := server.Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 && v == "dev" {
				v = "dev-" + s.Value[:12]
			}
		}
		return fmt.Sprintf("huimin %s (%s)", v, bi.GoVersion)
	}
	return "huimin " + v
}

// dbOptions are the database settings read from the environment.
func (c config) dbOptions() db.Options { return db.Options{SQLiteSync: c.SQLiteSync} }

// describeDB names the database a spec opens, without its password:
// "sqlite huimin-data/huimin.db" or "mysql 127.0.0.1:3306/huimin".
func describeDB(spec string) string {
	kind, rest, _ := strings.Cut(spec, ":")
	if kind != "mysql" {
		return kind + " " + rest
	}
	c, err := mysql.ParseDSN(rest)
	if err != nil {
		return "mysql (a DSN that does not parse)"
	}
	return fmt.Sprintf("mysql %s/%s", c.Addr, c.DBName)
}

// announceDB writes the database line every database command prints on
// stderr, so that no one acts on the wrong database unawares.
func (c config) announceDB() {
	if c.stderr != nil {
		fmt.Fprintf(c.stderr, "database: %s\n", describeDB(c.DB))
	}
}

// explainOpen turns the errors a newcomer meets on opening a database into
// what to do about them: a MariaDB database that does not exist yet.
func (c config) explainOpen(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1049 { // ER_BAD_DB_ERROR
		name := "huimin"
		addr := "127.0.0.1:3306"
		if _, rest, ok := strings.Cut(c.DB, ":"); ok {
			if dc, perr := mysql.ParseDSN(rest); perr == nil {
				name, addr = dc.DBName, dc.Addr
			}
		}
		host, port, _ := strings.Cut(addr, ":")
		if port == "" {
			port = "3306"
		}
		return fmt.Errorf("the MariaDB database %q does not exist on %s; create it once with:\n  mariadb -h%s -P%s -uroot -e 'CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci'",
			name, addr, host, port, name)
	}
	return err
}

package main

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

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
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{
		DB: db.DefaultSpec, Addr: "127.0.0.1:8080", LogLevel: slog.LevelInfo, ShutdownTimeout: 15 * time.Second,
		RequestTimeout: 3 * time.Second, BulkTimeout: 5 * time.Minute,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxBulkMiB: 64,
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

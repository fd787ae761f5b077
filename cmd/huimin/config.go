package main

import (
	"fmt"
	"log/slog"
	"runtime/debug"
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
	PprofAddr       string
	SQLiteSync      string
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{DB: db.DefaultSpec, Addr: "127.0.0.1:8080", LogLevel: slog.LevelInfo, ShutdownTimeout: 15 * time.Second, RequestTimeout: 3 * time.Second}
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
	if v := getenv("HUIMIN_REQUEST_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("HUIMIN_REQUEST_TIMEOUT %q: want a duration such as 3s", v)
		}
		c.RequestTimeout = d
	}
	if v := getenv("HUIMIN_SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("HUIMIN_SHUTDOWN_TIMEOUT %q: want a duration such as 15s", v)
		}
		c.ShutdownTimeout = d
	}
	return c, nil
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

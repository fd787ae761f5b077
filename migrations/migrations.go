// Package migrations holds the versioned SQL schema for both dialects,
// embedded in the binary, and runs it with goose.
//
// goose was chosen over hand-written DDL bookkeeping because it keeps a
// version table, runs plain .sql files per dialect, and has a provider API that
// takes an fs.FS, so the files ship inside the binary.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed mysql/*.sql sqlite/*.sql
var files embed.FS

// Dialect names the SQL flavour: "mysql" or "sqlite".
type Dialect string

// The two dialects Huimin runs on.
const (
	MySQL  Dialect = "mysql"
	SQLite Dialect = "sqlite"
)

func provider(db *sql.DB, d Dialect) (*goose.Provider, error) {
	sub, err := fs.Sub(files, string(d))
	if err != nil {
		return nil, err
	}
	gd := goose.DialectSQLite3
	if d == MySQL {
		gd = goose.DialectMySQL
	}
	return goose.NewProvider(gd, db, sub)
}

// Up applies every pending migration and returns the number applied.
func Up(ctx context.Context, db *sql.DB, d Dialect) (int, error) {
	p, err := provider(db, d)
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrations up: %w", err)
	}
	return len(res), nil
}

// Status is one migration's state.
type Status struct {
	Version int64
	Name    string
	Applied bool
}

// List reports every known migration and whether it is applied.
func List(ctx context.Context, db *sql.DB, d Dialect) ([]Status, error) {
	p, err := provider(db, d)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations status: %w", err)
	}
	out := make([]Status, len(st))
	for i, s := range st {
		out[i] = Status{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied}
	}
	return out, nil
}

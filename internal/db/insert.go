package db

import (
	"context"
	"strings"

	"gorm.io/gorm"
)

// maxPlaceholders keeps one statement under SQLite's limit of 32,766
// parameters (MariaDB allows 65,535).
const maxPlaceholders = 32000

// InsertRows inserts n rows into table with multi-row statements built by
// hand: values appends row i's values, in the order of columns, to args.
// GORM's Create reflects over every field of every row, which on the claim
// path cost more than the statement, and so did GORM's Exec, which parses
// the statement again to bind its arguments: the statement goes to the
// transaction's connection as it is (GORM's SQL log does not show it). A
// statement holds at most perStatement rows (0: as many as the placeholder
// limit allows).
func InsertRows(ctx context.Context, tx *gorm.DB, table string, columns []string, n, perStatement int,
	values func(args []any, i int) []any) error {
	per := max(1, maxPlaceholders/len(columns))
	if perStatement > 0 {
		per = min(per, perStatement)
	}
	row := "(" + strings.Repeat("?,", len(columns)-1) + "?)"
	head := "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES "
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		var sql strings.Builder
		sql.Grow(len(head) + (end-start)*(len(row)+1))
		sql.WriteString(head)
		args := make([]any, 0, (end-start)*len(columns))
		for i := start; i < end; i++ {
			if i > start {
				sql.WriteByte(',')
			}
			sql.WriteString(row)
			args = values(args, i)
		}
		if _, err := tx.Statement.ConnPool.ExecContext(ctx, sql.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

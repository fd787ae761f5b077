package db_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/testdb"
	"huimin/migrations"
)

func TestMigrateIsIdempotentAndReportsStatus(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			d := testdb.Open(t, dialect)
			n, err := d.Migrate(context.Background())
			require.NoError(t, err)
			require.Zero(t, n, "a second migrate up applies nothing")
			st, err := migrations.List(context.Background(), d.SQL, d.Dialect)
			require.NoError(t, err)
			require.NotEmpty(t, st)
			for _, s := range st {
				require.True(t, s.Applied, "migration %d applied", s.Version)
			}
		})
	}
}

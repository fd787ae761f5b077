package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/claims"
	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server"
)

// TestDemoOnAnyDay: the demo fills a fresh database on any day of the year
// — late in the seeded year, early in the next (last year's plans), and
// mid-way through a year it must make plans for — with claims in every
// state, a notice, objections and a returned payment, and every invariant
// of `huimin check` holds afterwards.
func TestDemoOnAnyDay(t *testing.T) {
	days := []time.Time{
		time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC),
		time.Date(2027, 1, 20, 2, 0, 0, 0, time.UTC),
		time.Date(2027, 6, 10, 2, 0, 0, 0, time.UTC),
	}
	for i, day := range days {
		dialects := []string{"sqlite"}
		if i == 0 {
			dialects = testdb.Dialects
		}
		for _, dialect := range dialects {
			t.Run(day.Format("2006-01-02")+"/"+dialect, func(t *testing.T) {
				d := testdb.Open(t, dialect)
				requireDemo(t, d, day)
			})
		}
	}
}

func requireDemo(t *testing.T, d *db.DB, now time.Time) {
	ctx := context.Background()
	var app *server.App
	newApp := func(clock func() time.Time) *server.App {
		app = server.New(d, server.Config{Now: clock})
		return app
	}
	tokens := filepath.Join(t.TempDir(), "tokens.env")
	var out strings.Builder
	require.NoError(t, runDemo(ctx, newApp, now, tokens, 7, &out))
	t.Log(out.String())

	views, err := app.Claims.List(ctx, claims.Filter{Limit: 500})
	require.NoError(t, err)
	seen := map[string]int{}
	objections := map[string]int{}
	noticed := 0
	for _, v := range views {
		seen[v.Status]++
		if v.Notice != nil {
			noticed++
		}
		for _, o := range v.Objections {
			objections[o.Status]++
		}
	}
	require.NotZero(t, noticed, "claims published in a notice (公示)")
	require.Equal(t, map[string]int{"open": 1, "upheld": 1, "dismissed": 1}, objections)
	for _, st := range claims.Statuses {
		require.NotZero(t, seen[st], "no %s claim among %v", st, seen)
	}
	breaches, err := app.Payouts.Check(ctx)
	require.NoError(t, err)
	require.Empty(t, breaches)

	raw, err := os.ReadFile(tokens)
	require.NoError(t, err)
	for _, key := range []string{"ADMIN", "FIN", "FIN2", "AUD", "INS", "INS2"} {
		require.Regexp(t, "(?m)^"+key+"=hm_[A-Za-z0-9_-]{20,}$", string(raw))
	}
	info, err := os.Stat(tokens)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the tokens file is the owner's only")

	// A second run refuses: the database holds claims.
	err = runDemo(ctx, newApp, now, tokens, 7, &out)
	require.ErrorContains(t, err, "already holds claims")
}

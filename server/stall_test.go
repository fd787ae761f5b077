package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server"
)

// TestStalledDatabaseAnswers503Quickly: when MariaDB stops answering without
// closing connections, requests end with 503 unavailable at the request
// deadline instead of hanging, and the service recovers by itself.
func TestStalledDatabaseAnswers503Quickly(t *testing.T) {
	direct := testdb.Open(t, "mysql") // a fresh migrated database
	name := direct.Migrator().CurrentDatabase()
	cfg, err := mysql.ParseDSN(testdb.MySQLDSN())
	require.NoError(t, err)
	proxy := testdb.NewProxy(t, cfg.Addr)
	cfg.Addr, cfg.DBName = proxy.Addr(), name
	d, err := db.Open(context.Background(), "mysql:"+cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })

	a := server.New(d, server.Config{RequestTimeout: 500 * time.Millisecond})
	_, err = a.Bootstrap(context.Background())
	require.NoError(t, err)
	raw, _, err := a.Tokens.Create(context.Background(), audit.Who{Actor: "test", Role: auth.Admin}, auth.NewInput{Role: auth.Auditor, Name: "aud"})
	require.NoError(t, err)
	get := func(path string) (int, time.Duration) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+raw)
		rec := httptest.NewRecorder()
		start := time.Now()
		a.Echo.ServeHTTP(rec, req)
		return rec.Code, time.Since(start)
	}
	status, _ := get("/api/v1/plans")
	require.Equal(t, http.StatusOK, status)

	proxy.Stall() // MariaDB hangs: connections stay open, nothing answers
	for _, path := range []string{"/api/v1/plans", "/api/v1/claims", "/api/v1/audit"} {
		status, took := get(path)
		require.Equal(t, http.StatusServiceUnavailable, status, path)
		require.Less(t, took, 2*time.Second, "%s answered in %s", path, took)
	}
	status, took := get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Less(t, took, 2500*time.Millisecond)

	require.NoError(t, proxy.Restore())
	require.Eventually(t, func() bool { s, _ := get("/api/v1/plans"); return s == http.StatusOK }, 10*time.Second, 50*time.Millisecond,
		"the service recovers by itself when the database answers again")
}

package server_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
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

// stallProxy forwards TCP to MariaDB until stalled; then it holds every
// byte, keeping the connections open — a database host that hangs rather
// than goes away, which no connection error reveals.
type stallProxy struct {
	mu      sync.Mutex
	cond    *sync.Cond
	stalled bool
	ln      net.Listener
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &stallProxy{ln: ln}
	p.cond = sync.NewCond(&p.mu)
	t.Cleanup(func() { p.set(false); _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			go p.pipe(c, u)
			go p.pipe(u, c)
		}
	}()
	return p
}

func (p *stallProxy) set(stalled bool) {
	p.mu.Lock()
	p.stalled = stalled
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *stallProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.stalled {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// TestStalledDatabaseAnswers503Quickly: when MariaDB stops answering without
// closing connections, requests end with 503 unavailable at the request
// deadline instead of hanging, and the service recovers by itself.
func TestStalledDatabaseAnswers503Quickly(t *testing.T) {
	direct := testdb.Open(t, "mysql") // a fresh migrated database
	name := direct.Migrator().CurrentDatabase()
	cfg, err := mysql.ParseDSN(testdb.MySQLDSN())
	require.NoError(t, err)
	proxy := newStallProxy(t, cfg.Addr)
	cfg.Addr, cfg.DBName = proxy.ln.Addr().String(), name
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

	proxy.set(true)
	for _, path := range []string{"/api/v1/plans", "/api/v1/claims", "/api/v1/audit"} {
		status, took := get(path)
		require.Equal(t, http.StatusServiceUnavailable, status, path)
		require.Less(t, took, 2*time.Second, "%s answered in %s", path, took)
	}
	status, took := get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Less(t, took, 2500*time.Millisecond)

	proxy.set(false)
	require.Eventually(t, func() bool { s, _ := get("/api/v1/plans"); return s == http.StatusOK }, 10*time.Second, 50*time.Millisecond,
		"the service recovers by itself when the database answers again")
}

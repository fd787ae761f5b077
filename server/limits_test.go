package server_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/testdb"
	"huimin/policies"
	"huimin/server"
	"huimin/server/servertest"
)

// The connection and memory limits: the http.Server's timeouts and the
// bulk slots, each through the real router (and, for the timeouts, a real
// listener, the one `huimin serve` uses).

// limitsApp is the application on a fresh SQLite database with cfg, and a
// token per role name: admin, insurer, auditor.
func limitsApp(t *testing.T, cfg server.Config) (*server.App, map[string]string) {
	t.Helper()
	a := server.New(testdb.Open(t, "sqlite"), cfg)
	t.Cleanup(a.Close)
	ctx := context.Background()
	admin, err := a.Bootstrap(ctx)
	require.NoError(t, err)
	tokens := map[string]string{"admin": admin}
	for name, in := range map[string]auth.NewInput{
		"insurer": {Role: auth.Insurer, Name: "limits-ins", Org: "picc"},
		"auditor": {Role: auth.Auditor, Name: "limits-aud"},
	} {
		raw, _, err := a.Tokens.Create(ctx, audit.Who{Actor: "test", Role: auth.Admin}, in)
		require.NoError(t, err)
		tokens[name] = raw
	}
	return a, tokens
}

// listen serves a on a loopback listener with Echo.Server, as `huimin
// serve` does, and returns the address.
func listen(t *testing.T, a *server.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := a.Echo.Server
	srv.Handler = a.Echo
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// heldBody is a request body whose first read tells entered that the
// handler — past every middleware, the bulk slot taken — has begun to read
// it, and then waits for release.
type heldBody struct {
	entered chan<- string
	name    string
	release <-chan struct{}
	started atomic.Bool
	r       io.Reader
}

func (b *heldBody) Read(p []byte) (int, error) {
	if !b.started.Swap(true) {
		b.entered <- b.name
		<-b.release
	}
	return b.r.Read(p)
}

// TestBulkLimit: with bulk requests holding the whole body budget — two
// uploads of undeclared length count 32 MiB each against 64 MiB — one more
// bulk request, of any bulk route, is answered 503 unavailable with
// Retry-After at once, before its body is read, while ordinary routes are
// served; once the budget is free, bulk requests are served again.
func TestBulkLimit(t *testing.T) {
	const maxBulk = 2 // held uploads that fill the budget
	a, tok := limitsApp(t, server.Config{MaxBulkMiB: maxBulk * 32})
	serve := func(token, method, path, ctype string, body io.Reader) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, body)
		req.Header.Set("Authorization", "Bearer "+tok[token])
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		a.Echo.ServeHTTP(rec, req)
		return rec
	}
	batch := fmt.Appendf(nil, `{"claims":[{"plan":"ZKB-2026","external_ref":"LIM-1","beneficiary_id":%q,"event_date":"2026-06-01","cause":"illness",`+
		`"facts":{"service_type":"inpatient","bill_ref":"B-1","total_cost":"1200.00","policy_scope_cost":"1000.00","basic_insurance_paid":"0",`+
		`"critical_illness_paid":"0","medical_assistance_paid":"0"},"evidence":[{"kind":"settlement_sheet","sha256":%q}]}]}`,
		servertest.NewPersonID(), servertest.SHA("LIM-1"))
	registry := fmt.Appendf(nil, "%s\n%s,resident_id,张三,411325,,,category,illness_poverty,2020-01-01,\n", policies.RegistryCSVHeader, servertest.NewPersonID())

	entered, release := make(chan string, maxBulk), make(chan struct{})
	held := func(name, token, path, ctype string, body []byte) chan int {
		done := make(chan int, 1)
		go func() {
			done <- serve(token, http.MethodPost, path, ctype, &heldBody{entered: entered, name: name, release: release, r: bytes.NewReader(body)}).Code
		}()
		return done
	}
	batchDone := held("batch", "insurer", "/api/v1/claim-batches", "application/json", batch)
	importDone := held("import", "admin", "/api/v1/beneficiaries/import", "text/csv; charset=utf-8", registry)
	for range maxBulk {
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the bulk requests did not reach their handlers")
		}
	}

	// Both slots are taken: each bulk route is refused at once.
	refused := &countingReader{r: bytes.NewReader(batch)}
	for _, r := range []struct {
		name, token, method, path, ctype string
		body                             io.Reader
	}{
		{"a claim batch", "insurer", http.MethodPost, "/api/v1/claim-batches", "application/json", refused},
		{"a ledger export", "auditor", http.MethodGet, "/api/v1/ledger/export?plan=ZKB-2026", "", nil},
		{"ledger verify", "auditor", http.MethodGet, "/api/v1/ledger/verify?plan=ZKB-2026", "", nil},
	} {
		start := time.Now()
		rec := serve(r.token, r.method, r.path, r.ctype, r.body)
		took := time.Since(start)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, "%s over the limit: %s", r.name, rec.Body)
		require.Contains(t, rec.Body.String(), `"code":"unavailable"`, r.name)
		require.NotEmpty(t, rec.Header().Get("Retry-After"), "%s: a 503 says when to retry", r.name)
		require.Less(t, took, time.Second, "%s over the limit is refused at once, not queued (took %s)", r.name, took)
	}
	require.Zero(t, refused.n.Load(), "a refused bulk request's body is not read")
	require.Equal(t, http.StatusOK, serve("auditor", http.MethodGet, "/api/v1/plans", "", nil).Code, "ordinary routes take no slot")

	close(release)
	require.Equal(t, http.StatusOK, <-batchDone, "the held batch completes")
	require.Equal(t, http.StatusOK, <-importDone, "the held import completes")
	rec := serve("auditor", http.MethodGet, "/api/v1/ledger/verify?plan=ZKB-2026", "", nil)
	require.Equal(t, http.StatusOK, rec.Code, "the slots are free again: %s", rec.Body)
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// readUntilClosed reads c until the server closes it and returns what it
// read and how long that took; it fails the test if the server keeps the
// connection past within.
func readUntilClosed(t *testing.T, c net.Conn, within time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	require.NoError(t, c.SetReadDeadline(start.Add(within)))
	b, err := io.ReadAll(c)
	took := time.Since(start)
	require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "the server kept the connection open for %s; read %q", took, b)
	return string(b), took
}

// TestSlowClientIsCut: a client that sends its headers or its body slower
// than the read timeouts allow is cut off when they pass, instead of holding
// a connection and a handler.
func TestSlowClientIsCut(t *testing.T) {
	const readHeader, read = 300 * time.Millisecond, 600 * time.Millisecond
	a, tok := limitsApp(t, server.Config{ReadHeaderTimeout: readHeader, ReadTimeout: read})
	addr := listen(t, a)

	t.Run("headers never finished", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: huimin.test\r\n")
		require.NoError(t, err)
		_, took := readUntilClosed(t, c, readHeader+5*time.Second)
		require.GreaterOrEqual(t, took, readHeader-50*time.Millisecond, "cut by the header timeout, not at once")
	})

	t.Run("body never finished", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		_, err = fmt.Fprintf(c, "POST /api/v1/tokens HTTP/1.1\r\nHost: huimin.test\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"role\":", tok["admin"])
		require.NoError(t, err)
		got, took := readUntilClosed(t, c, read+5*time.Second)
		require.GreaterOrEqual(t, took, read-50*time.Millisecond, "cut by the read timeout, not at once")
		if got != "" {
			require.True(t, strings.HasPrefix(got, "HTTP/1.1 400 "), "an unfinished body is a bad request, never a 500: %q", got)
		}
	})
}

// TestIdleKeepAliveIsClosed: a keep-alive connection serves one request
// after another and is closed once it has carried none for the idle
// timeout.
func TestIdleKeepAliveIsClosed(t *testing.T) {
	const idle = 400 * time.Millisecond
	a, _ := limitsApp(t, server.Config{IdleTimeout: idle})
	c, err := net.Dial("tcp", listen(t, a))
	require.NoError(t, err)
	defer c.Close()
	br := bufio.NewReader(c)
	for range 2 {
		_, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: huimin.test\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.False(t, resp.Close, "the connection is kept alive")
	}
	start := time.Now()
	require.NoError(t, c.SetReadDeadline(start.Add(idle+5*time.Second)))
	_, err = br.ReadByte()
	took := time.Since(start)
	require.ErrorIs(t, err, io.EOF, "the server closed the idle connection (after %s)", took)
	require.GreaterOrEqual(t, took, idle-50*time.Millisecond, "closed by the idle timeout, not at once")
}

// TestLongRequestsOutliveConnectionTimeouts: the read timeout bounds
// reading a request, not its handler — net/http's background read of the
// connection would otherwise cancel any request running past it — and a
// bulk answer may be written past the write timeout, which bounds only the
// ordinary ones.
func TestLongRequestsOutliveConnectionTimeouts(t *testing.T) {
	const timeout, work = 300 * time.Millisecond, 900 * time.Millisecond
	slow := func(c echo.Context) error {
		if _, err := io.ReadAll(c.Request().Body); err != nil {
			return err
		}
		ctx := c.Request().Context()
		select {
		case <-time.After(work):
		case <-ctx.Done():
			return c.String(http.StatusServiceUnavailable, "cancelled: "+context.Cause(ctx).Error())
		}
		return c.String(http.StatusOK, "done")
	}
	// Test routes outside /api/: no token, no database; the path alone
	// makes one bulk (web.Bulk).
	app := func(cfg server.Config) string {
		a, _ := limitsApp(t, cfg)
		a.Echo.Any("/slow/ledger/export", slow)
		a.Echo.Any("/slow/ordinary", slow)
		return "http://" + listen(t, a)
	}
	call := func(base, method, path string) (int, string, error) {
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader(`{"some":"body"}`)
		}
		req, err := http.NewRequest(method, base+path, body)
		require.NoError(t, err)
		client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}

	longWrites := app(server.Config{ReadTimeout: timeout, WriteTimeout: 10 * time.Second})
	shortWrites := app(server.Config{ReadTimeout: timeout, WriteTimeout: timeout})
	type result struct {
		status int
		body   string
		err    error
	}
	calls := []struct {
		base, method, path string
		served             bool // else cut off
		what               string
	}{
		{longWrites, http.MethodGet, "/slow/ordinary", true, "runs past the read timeout"},
		{longWrites, http.MethodPost, "/slow/ordinary", true, "runs past the read timeout once its body is read"},
		{longWrites, http.MethodGet, "/slow/ledger/export", true, "runs past the read timeout"},
		{longWrites, http.MethodPost, "/slow/ledger/export", true, "runs past the read timeout once its body is read"},
		{shortWrites, http.MethodGet, "/slow/ledger/export", true, "is written past the write timeout, being bulk"},
		{shortWrites, http.MethodGet, "/slow/ordinary", false, "is cut off at the write timeout"},
	}
	results := servertest.AllAtOnce(len(calls), func(i int) result {
		st, body, err := call(calls[i].base, calls[i].method, calls[i].path)
		return result{st, body, err}
	})
	for i, r := range results {
		c := calls[i]
		if c.served {
			require.NoError(t, r.err, "%s %s %s", c.method, c.path, c.what)
			require.Equal(t, http.StatusOK, r.status, "%s %s %s: %s", c.method, c.path, c.what, r.body)
		} else {
			require.Error(t, r.err, "%s %s %s", c.method, c.path, c.what)
		}
	}
}

package server_test

import (
	"context"
	"fmt"
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
	"huimin/policies"
	"huimin/server"
	"huimin/server/servertest"
)

// stalledMariaDB opens a fresh migrated MariaDB database through a proxy
// that a test can stall, with opts.
func stalledMariaDB(t *testing.T, opts db.Options) (*db.DB, *testdb.Proxy) {
	t.Helper()
	direct := testdb.Open(t, "mysql") // a fresh migrated database
	name := direct.Migrator().CurrentDatabase()
	cfg, err := mysql.ParseDSN(testdb.MySQLDSN())
	require.NoError(t, err)
	proxy := testdb.NewProxy(t, cfg.Addr)
	cfg.Addr, cfg.DBName = proxy.Addr(), name
	d, err := db.Open(context.Background(), "mysql:"+cfg.FormatDSN(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	return d, proxy
}

// routeClass is one kind of request that needs the database, and what it
// answers when the database does.
type routeClass struct {
	name string
	req  func() servertest.Request
	ok   int
}

// routeClasses are an ordinary read and write and every kind of bulk route
// the issue names, each able to succeed when sent again and again.
func routeClasses() []routeClass {
	const plan = "ZKB-2026"
	claim := func() map[string]any {
		ref := servertest.Unique("STALL")
		return map[string]any{
			"plan": plan, "external_ref": ref, "beneficiary_id": servertest.NewPersonID(),
			"event_date": "2026-06-01", "cause": "illness",
			"facts": map[string]any{
				"service_type": "inpatient", "bill_ref": "BILL-" + ref, "total_cost": "1200.00", "policy_scope_cost": "1000.00",
				"basic_insurance_paid": "0", "critical_illness_paid": "0", "medical_assistance_paid": "0",
			},
			"evidence": []map[string]string{{"kind": "settlement_sheet", "sha256": servertest.SHA(ref)}},
		}
	}
	registryCSV := func() []byte {
		return fmt.Appendf(nil, "%s\n%s,resident_id,张三,411325,,,category,illness_poverty,2020-01-01,\n",
			policies.RegistryCSVHeader, servertest.NewPersonID())
	}
	return []routeClass{
		{"an ordinary read", func() servertest.Request {
			return servertest.Request{Method: http.MethodGet, Path: "/api/v1/plans", Token: "auditor"}
		}, http.StatusOK},
		{"an ordinary write", func() servertest.Request {
			return servertest.Request{Method: http.MethodPost, Path: "/api/v1/tokens", Token: "admin",
				Body: map[string]string{"role": "auditor", "name": servertest.Unique("stall-aud")}}
		}, http.StatusCreated},
		{"a claim batch", func() servertest.Request {
			return servertest.Request{Method: http.MethodPost, Path: "/api/v1/claim-batches", Token: "insurer",
				Body: map[string]any{"claims": []any{claim()}}}
		}, http.StatusOK},
		{"a registry import", func() servertest.Request {
			return servertest.Request{Method: http.MethodPost, Path: "/api/v1/beneficiaries/import", Token: "admin",
				Body: registryCSV(), Header: map[string]string{"Content-Type": "text/csv; charset=utf-8"}}
		}, http.StatusOK},
		{"a ledger export", func() servertest.Request {
			return servertest.Request{Method: http.MethodGet, Path: "/api/v1/ledger/export?plan=" + plan, Token: "auditor"}
		}, http.StatusOK},
		{"ledger verify", func() servertest.Request {
			return servertest.Request{Method: http.MethodGet, Path: "/api/v1/ledger/verify?plan=" + plan, Token: "auditor"}
		}, http.StatusOK},
	}
}

// requireUnavailable asserts a 503 unavailable envelope with Retry-After,
// answered within two seconds (DESIGN §10).
func requireUnavailable(t *testing.T, what string, r *servertest.Response, took time.Duration) {
	t.Helper()
	require.Equal(t, http.StatusServiceUnavailable, r.Status, "%s: %s", what, r.Body)
	require.Contains(t, string(r.Body), `"code":"unavailable"`, what)
	require.NotEmpty(t, r.Header.Get("Retry-After"), "%s: a 503 says when to retry", what)
	require.Less(t, took, 2*time.Second, "%s answered in %s", what, took)
}

// TestStalledDatabaseAnswers503Quickly: when MariaDB stops answering without
// closing connections, the health probe opens the breaker within the
// second or two of DESIGN §10 — independently of the request deadline, here
// longer than that — and every route that needs the database answers 503
// unavailable with Retry-After: ordinary and bulk ones alike, whether they
// were already waiting on the database or came after. /readyz fails,
// /healthz does not, and the service recovers by itself when the database
// answers again.
func TestStalledDatabaseAnswers503Quickly(t *testing.T) {
	// The probe's defaults and the default request deadline (3 s), as
	// served: only the probe can answer within 2 s.
	d, proxy := stalledMariaDB(t, db.Options{})
	h := servertest.New(t, d)
	classes := routeClasses()
	for _, rc := range classes {
		servertest.RequireStatus(t, h.Do(t, rc.req()), rc.ok)
	}

	proxy.Stall() // MariaDB hangs: connections stay open, nothing answers
	type answer struct {
		r    *servertest.Response
		took time.Duration
	}
	// Sent at once, these are waiting on the database when the breaker opens.
	inFlight := servertest.AllAtOnce(len(classes), func(i int) answer {
		start := time.Now()
		r := h.Raw(classes[i].req())
		return answer{r, time.Since(start)}
	})
	for i, a := range inFlight {
		requireUnavailable(t, classes[i].name+" under way when the database stalled", a.r, a.took)
		t.Logf("%s under way when the database stalled: 503 after %s", classes[i].name, a.took.Round(time.Millisecond))
	}
	require.ErrorIs(t, d.Health.Err(), db.ErrDown, "the breaker is open")

	// While the breaker is open, every route that needs the database is
	// refused at once.
	reqs := []servertest.Request{
		{Method: http.MethodGet, Path: "/api/v1/claims", Token: "auditor"},
		{Method: http.MethodGet, Path: "/api/v1/audit", Token: "auditor"},
	}
	names := []string{"the claim list", "the audit list"}
	for _, rc := range classes {
		reqs, names = append(reqs, rc.req()), append(names, rc.name)
	}
	for i, req := range reqs {
		start := time.Now()
		r := h.Do(t, req)
		requireUnavailable(t, names[i]+" while the breaker is open", r, time.Since(start))
	}
	start := time.Now()
	r := h.Get(t, "", "/readyz")
	requireUnavailable(t, "/readyz", r, time.Since(start))
	servertest.RequireStatus(t, h.Get(t, "", "/healthz"), http.StatusOK)

	require.NoError(t, proxy.Restore())
	for _, rc := range classes {
		require.Eventually(t, func() bool { return h.Raw(rc.req()).Status == rc.ok }, 10*time.Second, 50*time.Millisecond,
			"%s succeeds again by itself when the database answers", rc.name)
	}
	servertest.RequireStatus(t, h.Get(t, "", "/readyz"), http.StatusOK)
	require.NoError(t, d.Health.Err())
}

// TestStalledDatabaseRequestDeadline: without the probe, the request
// deadline alone still ends ordinary requests on a stalled MariaDB with
// 503 unavailable instead of hanging, and the service recovers by itself.
func TestStalledDatabaseRequestDeadline(t *testing.T) {
	d, proxy := stalledMariaDB(t, db.Options{Health: db.HealthOptions{Interval: -1}})
	require.Nil(t, d.Health, "the probe is off")

	a := server.New(d, server.Config{RequestTimeout: 500 * time.Millisecond})
	_, err := a.Bootstrap(context.Background())
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

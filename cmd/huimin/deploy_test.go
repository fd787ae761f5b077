package main

// A deployment for the fault tests: a fresh database (SQLite in a temp
// directory or MariaDB), the binary serving it, the tokens of every role,
// a plan and a registry of eligible people, and the calls the tests make
// against the current server process.

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"huimin/internal/civil"
	"huimin/internal/testdb"
	"huimin/policies"
)

// ---- databases ---------------------------------------------------------------

// mysqlDatabase creates a fresh database huimin_fault_<random> on the test
// MariaDB (testdb.MySQLDSN) and drops it when the test ends. Without MariaDB
// the test is skipped, unless CI=true.
func mysqlDatabase(t testing.TB) *mysql.Config {
	t.Helper()
	cfg, err := mysql.ParseDSN(testdb.MySQLDSN())
	require.NoError(t, err)
	cfg.DBName = ""
	cfg.Timeout = 3 * time.Second
	conn, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := conn.PingContext(ctx); err != nil {
		_ = conn.Close()
		if os.Getenv("CI") == "true" {
			t.Fatalf("MariaDB at %s is required in CI: %v", testdb.MySQLDSN(), err)
		}
		t.Skipf("MariaDB not reachable at %s (%v); set CI=true to make this fatal", testdb.MySQLDSN(), err)
	}
	// From crypto/rand, not the test's seeded source: a replay must not
	// collide with a database its original run left behind.
	var b [4]byte
	_, _ = crand.Read(b[:])
	name := "huimin_fault_" + hex.EncodeToString(b[:])
	_, err = conn.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = conn.Exec("DROP DATABASE IF EXISTS `" + name + "`")
		_ = conn.Close()
	})
	out, err := mysql.ParseDSN(testdb.MySQLDSN())
	require.NoError(t, err)
	out.DBName = name
	return out
}

// specs are the two databases of the kill test, by name.
func specFor(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == "sqlite" {
		return "sqlite:" + filepath.Join(t.TempDir(), "huimin.db")
	}
	return "mysql:" + mysqlDatabase(t).FormatDSN()
}

// ---- a deployment: the server, its tokens, a plan and a registry -------------

const faultPlan = "FAULT-ZKB"

// deployment is the binary serving one database, set up for claim load: an
// insurer, two finance tokens, an auditor, a first_come ZKB plan with a
// budget that cannot run out and a single-approval threshold nothing
// reaches, and a registry of people eligible for it.
type deployment struct {
	spec                             string
	srv                              *serverProc
	http                             *http.Client
	admin, insurer, finance, auditor string
	eventDate                        civil.Date
	people                           []string
	secrets                          []string
	seq                              atomic.Int64
}

func deploy(t testing.TB, spec string, people int) *deployment {
	t.Helper()
	d := &deployment{spec: spec, http: &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64},
	}}
	t.Cleanup(d.http.CloseIdleConnections)
	var csv strings.Builder
	csv.WriteString(policies.RegistryCSVHeader + "\n")
	for n := range people {
		day := n / 1000
		id := policies.ResidentIDWithCheck(fmt.Sprintf("411325%04d%02d%02d%03d", 1950+day/336, 1+(day/28)%12, 1+day%28, n%1000))
		account := fmt.Sprintf("62220200%011d", 7000000+n)
		d.people = append(d.people, id)
		d.secrets = append(d.secrets, id, account)
		fmt.Fprintf(&csv, "%s,resident_id,受益人%d,411325,,%s,category,rural_destitute,2000-01-01,\n", id, n, account)
	}
	d.srv = startServer(t, spec, d.secrets)
	d.admin = d.srv.adminToken(t)
	d.insurer = d.token(t, "insurer", "fault-insurer", "fault-org")
	d.finance = d.token(t, "finance", "fault-fin", "")
	d.auditor = d.token(t, "auditor", "fault-aud", "")

	// Yesterday in China, inside the plan's coverage year and filing window.
	d.eventDate = civil.Today(time.Now()).AddDays(-1)
	year := string(d.eventDate)[:4]
	d.mustJSON(t, "POST", "/api/v1/plans", d.admin, map[string]any{
		"code": faultPlan, "programme": "ZKB", "name": "fault test", "coverage_start": year + "-01-01", "coverage_end": year + "-12-31",
		"budget": "900000000.00", "budget_policy": "first_come", "dual_approval_threshold": "999999999.00", "filing_window_days": 3660,
	}, http.StatusCreated, nil)

	var imported struct {
		Created int
		Errors  []json.RawMessage
	}
	st, body, err := d.call("POST", "/api/v1/beneficiaries/import", d.admin, []byte(csv.String()), map[string]string{"Content-Type": "text/csv; charset=utf-8"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, st, "import: %s", body)
	require.NoError(t, json.Unmarshal(body, &imported))
	require.Equal(t, people, imported.Created, "import: %s", body)
	return d
}

// restart starts a new server on the same database (the old one must be dead).
func (d *deployment) restart(t testing.TB) {
	t.Helper()
	require.False(t, d.srv.alive(), "restart only after the server died")
	d.http.CloseIdleConnections()
	d.srv = startServer(t, d.spec, d.secrets)
	require.NotContains(t, d.srv.stdout.String(), "hm_", "a restart on a bootstrapped database prints no new admin token")
}

func (d *deployment) token(t testing.TB, role, name, org string) string {
	t.Helper()
	in := map[string]string{"role": role, "name": name}
	if org != "" {
		in["org"] = org
	}
	var out struct{ Token string }
	d.mustJSON(t, "POST", "/api/v1/tokens", d.admin, in, http.StatusCreated, &out)
	return out.Token
}

// call sends one request to the current server.
func (d *deployment) call(method, path, token string, body []byte, header map[string]string) (int, []byte, error) {
	st, b, _, err := d.callH(method, path, token, body, header)
	return st, b, err
}

func (d *deployment) callH(method, path, token string, body []byte, header map[string]string) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, d.srv.URL+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		// A cut-off answer is no answer: nothing was acknowledged.
		return 0, nil, nil, err
	}
	return resp.StatusCode, b, resp.Header, nil
}

func (d *deployment) mustJSON(t testing.TB, method, path, token string, in any, want int, out any) {
	t.Helper()
	var body []byte
	if in != nil {
		var err error
		body, err = json.Marshal(in)
		require.NoError(t, err)
	}
	st, b, err := d.call(method, path, token, body, nil)
	require.NoError(t, err, "%s %s", method, path)
	require.Equal(t, want, st, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), "%s %s: %s", method, path, b)
	}
}

// claimBody is a new ZKB inpatient claim with a unique external_ref.
func (d *deployment) claimBody(rng *rand.Rand) (ref string, body []byte) {
	ref = fmt.Sprintf("F-%d", d.seq.Add(1))
	cost := 200 + rng.IntN(1000)
	body, _ = json.Marshal(map[string]any{
		"plan": faultPlan, "external_ref": ref, "beneficiary_id": d.people[rng.IntN(len(d.people))],
		"event_date": d.eventDate, "cause": "medical",
		"facts": map[string]any{
			"service_type": "inpatient", "bill_ref": "BILL-" + ref, "total_cost": fmt.Sprintf("%d.00", cost+100),
			"policy_scope_cost": fmt.Sprintf("%d.00", cost), "basic_insurance_paid": "0",
			"critical_illness_paid": "0", "medical_assistance_paid": "0",
		},
		"evidence": []map[string]string{{"kind": "settlement_sheet", "sha256": strings.Repeat("5e", 32)}},
	})
	return ref, body
}

//go:build cluster

package main

// The cluster test of DESIGN §19: three `huimin serve`, one per node of a
// 3-node MariaDB Galera cluster on loopback, through the scenarios that broke
// money rules or answered 500 before (issue 13): the 64-approver race, dual
// approvals split across nodes, the household-cap race, one idempotency key
// sent to all three servers at once, read-after-write through another node,
// a 5,000-claim disbursement while approvals run on the other nodes, and a
// node killed with kill -9 mid-load and restarted. It asserts no overdraft,
// no lost acknowledged write, no 500, and `huimin check` clean on every
// node.
//
// scripts/galera/ci.sh starts the cluster and runs it (`make cluster`):
//
//	HUIMIN_CLUSTER_DSNS     the three nodes' DSNs, comma-separated, no database
//	HUIMIN_CLUSTER_SCRIPT   scripts/galera/cluster.sh, to kill and restart a node
//
// Built only with -tags cluster. Without those variables it fails: a
// cluster run that finds no cluster must not pass.

import (
	"bytes"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"huimin/internal/civil"
	"huimin/policies"
)

// ---- the cluster and its three servers ---------------------------------------

type cluster struct {
	nodes  []*mysql.Config // one per node, DBName set
	specs  []string        // HUIMIN_DB of each node's server
	srv    []*serverProc
	script string
	http   *http.Client
	sql    *sql.DB // node 1, for counts

	admin, insurer, finance, finance2, auditor string
	actors                                     map[string]string // finance token → actor
	year, eventDate                            string

	calls, unavailable, noAnswer, errors500 atomic.Int64
	seq                                     atomic.Int64

	mu       sync.Mutex
	refusals [3][]time.Time // when each server answered 503, while watching
	watching atomic.Bool
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	dsns, script := os.Getenv("HUIMIN_CLUSTER_DSNS"), os.Getenv("HUIMIN_CLUSTER_SCRIPT")
	if dsns == "" || script == "" {
		t.Fatalf("HUIMIN_CLUSTER_DSNS and HUIMIN_CLUSTER_SCRIPT are not set: run scripts/galera/ci.sh (make cluster)")
	}
	var b [4]byte
	_, _ = crand.Read(b[:])
	name := "huimin_cluster_" + hex.EncodeToString(b[:])
	c := &cluster{script: script, http: &http.Client{
		Timeout:   6 * time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128},
	}}
	t.Cleanup(c.http.CloseIdleConnections)
	for _, dsn := range strings.Split(dsns, ",") {
		cfg, err := mysql.ParseDSN(strings.TrimSpace(dsn))
		require.NoError(t, err)
		cfg.DBName = name
		c.nodes = append(c.nodes, cfg)
		c.specs = append(c.specs, "mysql:"+cfg.FormatDSN())
	}
	require.Len(t, c.nodes, 3, "HUIMIN_CLUSTER_DSNS names three nodes")

	server := *c.nodes[0]
	server.DBName = ""
	conn, err := sql.Open("mysql", server.FormatDSN())
	require.NoError(t, err)
	var size string
	require.NoError(t, conn.QueryRow("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'wsrep_cluster_size'").Scan(&size))
	require.Equal(t, "3", size, "a 3-node cluster")
	_, err = conn.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = conn.Exec("DROP DATABASE IF EXISTS `" + name + "`")
		_ = conn.Close()
	})
	counts := *c.nodes[0]
	counts.Params = map[string]string{"wsrep_sync_wait": "1"}
	c.sql, err = sql.Open("mysql", counts.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.sql.Close() })

	// Yesterday in China, inside the plans' coverage year.
	c.eventDate = string(civil.Today(time.Now()).AddDays(-1))
	c.year = c.eventDate[:4]
	return c
}

// startAll starts the three servers at the same moment on the fresh
// database — migrations, seeding and the first admin token race — and
// waits until each serves. Exactly one of them prints the admin token.
func (c *cluster) startAll(t *testing.T) {
	t.Helper()
	c.srv = startServersTogether(t, c.specs, "HUIMIN_BULK_TIMEOUT=6m")
	tokens := adminTokens(c.srv)
	require.Len(t, tokens, 1, "exactly one of three servers started together creates and prints the first admin token")
	c.admin = tokens[0]
	require.Equal(t, 4, c.count(t, "plans", "1 = 1"), "the four seed plans, once")
	require.Equal(t, 1, c.count(t, "tokens", "role = 'admin'"))
}

// call sends one request to server i (0-based) and counts what came back.
func (c *cluster) call(i int, method, path, token string, body []byte, header map[string]string) (int, []byte, http.Header) {
	req, err := http.NewRequest(method, c.srv[i].URL+path, bytes.NewReader(body))
	if err != nil {
		panic(err)
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
	c.calls.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		c.noAnswer.Add(1)
		return 0, nil, nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.noAnswer.Add(1)
		return 0, nil, nil
	}
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable:
		c.unavailable.Add(1)
		if c.watching.Load() {
			c.mu.Lock()
			c.refusals[i] = append(c.refusals[i], time.Now())
			c.mu.Unlock()
		}
	case resp.StatusCode >= 500:
		c.errors500.Add(1)
	}
	return resp.StatusCode, b, resp.Header
}

// settle sends a request to server i until it gets an answer that is not
// 503 (nor no answer), as a client retries: 503 means nothing was done and
// it may be sent again (DESIGN §10). It gives up after a minute.
func (c *cluster) settle(t testing.TB, i int, method, path, token string, body []byte, header map[string]string) (int, []byte, http.Header) {
	for deadline := time.Now().Add(time.Minute); ; {
		st, b, h := c.call(i, method, path, token, body, header)
		if (st != 0 && st != http.StatusServiceUnavailable) || time.Now().After(deadline) {
			return st, b, h
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// must is settle that requires status want and decodes the answer into out.
func (c *cluster) must(t testing.TB, i int, method, path, token string, in any, want int, out any) {
	t.Helper()
	var body []byte
	if in != nil {
		var err error
		body, err = json.Marshal(in)
		require.NoError(t, err)
	}
	st, b, _ := c.settle(t, i, method, path, token, body, nil)
	require.Equal(t, want, st, "%s %s via server %d: %s", method, path, i+1, b)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), "%s", b)
	}
}

func (c *cluster) count(t testing.TB, table, where string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, c.sql.QueryRow("SELECT COUNT(*) FROM "+table+" WHERE "+where, args...).Scan(&n))
	return n
}

func (c *cluster) token(t testing.TB, role, name, org string) string {
	t.Helper()
	in := map[string]string{"role": role, "name": name}
	if org != "" {
		in["org"] = org
	}
	var out struct{ Token string }
	c.must(t, 0, "POST", "/api/v1/tokens", c.admin, in, http.StatusCreated, &out)
	return out.Token
}

// plan creates a plan for the year of the test's event date.
func (c *cluster) plan(t testing.TB, code, programme, policy, budget, threshold string) {
	t.Helper()
	c.must(t, 0, "POST", "/api/v1/plans", c.admin, map[string]any{
		"code": code, "programme": programme, "name": "集群测试 " + code, "coverage_start": c.year + "-01-01", "coverage_end": c.year + "-12-31",
		"budget": budget, "budget_policy": policy, "dual_approval_threshold": threshold, "filing_window_days": 3660,
	}, http.StatusCreated, nil)
}

type budget struct{ Funded, Available, Reserved, InPayment, Paid string }

func (c *cluster) budget(t testing.TB, i int, plan string) budget {
	t.Helper()
	var p struct {
		Budget struct {
			Funded, Available, Reserved string
			InPayment                   string `json:"in_payment"`
			Paid                        string
		}
	}
	c.must(t, i, "GET", "/api/v1/plans/"+plan, c.auditor, nil, http.StatusOK, &p)
	return budget{p.Budget.Funded, p.Budget.Available, p.Budget.Reserved, p.Budget.InPayment, p.Budget.Paid}
}

// ---- people and claims -----------------------------------------------------------

// A registry: destitute people with payout accounts for ZKB, and one FPB
// household of four.
const (
	clusterPeople = 3000
	capHousehold  = "HH-CLUSTER-CAP"
)

func personID(n int) string {
	day := n / 1000
	return policies.ResidentIDWithCheck(fmt.Sprintf("411325%04d%02d%02d%03d", 1950+day/336, 1+(day/28)%12, 1+day%28, n%1000))
}

func (c *cluster) importRegistry(t *testing.T) {
	t.Helper()
	var csv strings.Builder
	csv.WriteString(policies.RegistryCSVHeader + "\n")
	for n := range clusterPeople {
		fmt.Fprintf(&csv, "%s,resident_id,受益人%d,411325,,%s,category,rural_destitute,2000-01-01,\n", personID(n), n, fmt.Sprintf("62220200%011d", 7000000+n))
	}
	for n := range 4 {
		fmt.Fprintf(&csv, "%s,resident_id,家庭成员%d,411325,%s,%s,category,marginal_at_risk,2000-01-01,\n", personID(clusterPeople+n), n, capHousehold, fmt.Sprintf("62220200%011d", 8000000+n))
	}
	st, b, _ := c.settle(t, 0, "POST", "/api/v1/beneficiaries/import", c.admin, []byte(csv.String()), map[string]string{"Content-Type": "text/csv; charset=utf-8"})
	require.Equal(t, http.StatusOK, st, "import: %s", b)
}

// zkbClaim is a ZKB inpatient claim whose payable is scope (the person is
// rural destitute: ratio 1.00, nothing paid by other layers).
func (c *cluster) zkbClaim(plan, scope string) (ref string, body map[string]any) {
	n := c.seq.Add(1)
	ref = fmt.Sprintf("CL-%d", n)
	return ref, map[string]any{
		"plan": plan, "external_ref": ref, "beneficiary_id": personID(int(n) % clusterPeople), "event_date": c.eventDate, "cause": "medical",
		"facts": map[string]any{
			"service_type": "inpatient", "bill_ref": "BILL-" + ref, "total_cost": scope, "policy_scope_cost": scope,
			"basic_insurance_paid": "0", "critical_illness_paid": "0", "medical_assistance_paid": "0",
		},
		"evidence": []map[string]string{{"kind": "settlement_sheet", "sha256": strings.Repeat("5e", 32)}},
	}
}

// fileBatch files n claims of scope on plan through server i in batches
// of 1000 and returns the ids of the assessed ones, all of them.
func (c *cluster) fileBatch(t *testing.T, i int, plan, scope string, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		var claims []map[string]any
		for range min(1000, n-len(out)) {
			_, body := c.zkbClaim(plan, scope)
			claims = append(claims, body)
		}
		var ans struct {
			Results []struct {
				Status      string
				ClaimID     string `json:"claim_id"`
				ClaimStatus string `json:"claim_status"`
			}
		}
		c.must(t, i, "POST", "/api/v1/claim-batches", c.insurer, map[string]any{"claims": claims}, http.StatusOK, &ans)
		for _, r := range ans.Results {
			require.Equal(t, "assessed", r.ClaimStatus, "%+v", r)
			out = append(out, r.ClaimID)
		}
	}
	return out
}

// approve approves id through server i, resending after a 503 or no
// answer, and returns the answer's code ("ok" for 200). A 409 invalid_state
// or same_approver to a resend may be the first attempt having committed
// after all (a 503 at the request deadline promises nothing, either way):
// it counts as ok when the claim holds this actor's approval.
func (c *cluster) approve(t testing.TB, i int, id, token string) string {
	resent := false
	for deadline := time.Now().Add(time.Minute); ; resent = true {
		st, b, _ := c.call(i, "POST", "/api/v1/claims/"+id+"/approve", token, []byte("{}"), nil)
		if st != 0 && st != http.StatusServiceUnavailable || time.Now().After(deadline) {
			code := codeOf(st, b)
			if resent && (code == "409 invalid_state" || code == "409 same_approver") {
				var cl struct {
					Status    string
					Approvals []struct{ Actor string }
				}
				c.must(t, i, "GET", "/api/v1/claims/"+id, c.auditor, nil, http.StatusOK, &cl)
				if slices.ContainsFunc(cl.Approvals, func(a struct{ Actor string }) bool { return a.Actor == c.actors[token] }) {
					return "ok"
				}
			}
			return code
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// approveAll approves ids with clients goroutines spread over the three
// servers and returns the code of each answer by claim ("ok" for 200).
func (c *cluster) approveAll(t testing.TB, ids []string, clients int, token string) map[string]string {
	codes := make(map[string]string, len(ids))
	var mu sync.Mutex
	jobs := make(chan string)
	var wg sync.WaitGroup
	for g := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range jobs {
				code := c.approve(t, g%3, id, token)
				mu.Lock()
				codes[id] = code
				mu.Unlock()
			}
		}()
	}
	for _, id := range ids {
		jobs <- id
	}
	close(jobs)
	wg.Wait()
	return codes
}

func codeOf(st int, b []byte) string {
	if st >= 200 && st < 300 {
		return "ok"
	}
	var e struct{ Error struct{ Code string } }
	_ = json.Unmarshal(b, &e)
	return fmt.Sprintf("%d %s", st, e.Error.Code)
}

func tally[M ~map[string]string | ~[]string](codes M) map[string]int {
	out := map[string]int{}
	switch cs := any(codes).(type) {
	case map[string]string:
		for _, c := range cs {
			out[c]++
		}
	case []string:
		for _, c := range cs {
			out[c]++
		}
	}
	return out
}

// together runs fn(0..n-1) at the same moment, each on its own goroutine.
func together(n int, fn func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

// ---- the test ------------------------------------------------------------------

func TestCluster(t *testing.T) {
	began := time.Now()
	c := newCluster(t)
	c.startAll(t)
	t.Logf("three servers started together in %s", time.Since(began).Round(time.Millisecond))
	c.insurer = c.token(t, "insurer", "cl-insurer", "cl-org")
	c.finance = c.token(t, "finance", "fin-a", "")
	c.finance2 = c.token(t, "finance", "fin-b", "")
	c.actors = map[string]string{c.finance: "fin-a", c.finance2: "fin-b"}
	c.auditor = c.token(t, "auditor", "cl-auditor", "")
	c.importRegistry(t)
	c.plan(t, "CL-LOAD", "ZKB", "first_come", "900000000.00", "999999999.00")
	c.plan(t, "CL-RACE", "ZKB", "first_come", "150000.00", "999999999.00")
	c.plan(t, "CL-DUAL", "ZKB", "first_come", "10000000.00", "5000.00")
	c.plan(t, "CL-FPB", "FPB", "first_come", "10000000.00", "999999999.00")

	step := func(name string, fn func(t *testing.T)) {
		start, calls, unavailable := time.Now(), c.calls.Load(), c.unavailable.Load()
		ok := t.Run(name, fn)
		t.Logf("%s: %s, %d requests, %d answered 503 (and retried)", name, time.Since(start).Round(time.Millisecond),
			c.calls.Load()-calls, c.unavailable.Load()-unavailable)
		if !ok {
			t.FailNow()
		}
	}

	step("64 finance clients on three servers never overdraw one budget", func(t *testing.T) {
		ids := c.fileBatch(t, 1, "CL-RACE", "1000.00", 300)
		require.Equal(t, map[string]int{"ok": 150, "409 budget_exhausted": 150}, tally(c.approveAll(t, ids, 64, c.finance)))
		require.Equal(t, budget{"150000.00", "0.00", "150000.00", "0.00", "0.00"}, c.budget(t, 2, "CL-RACE"))

		one := c.fileBatch(t, 2, "CL-LOAD", "1000.00", 1)[0]
		results := make([]string, 64)
		together(64, func(i int) {
			token := []string{c.finance, c.finance2}[i%2]
			st, b, _ := c.call(i%3, "POST", "/api/v1/claims/"+one+"/approve", token, []byte("{}"), nil)
			results[i] = codeOf(st, b)
		})
		codes := tally(results)
		require.Equal(t, 64, codes["409 invalid_state"]+codes["503 unavailable"]+codes["ok"], "only ok, invalid_state or 503: %v", codes)
		require.LessOrEqual(t, codes["ok"], 1, "64 approvals of one claim through three servers approve it once: %v", codes)
		var cl struct{ Status string }
		c.must(t, 0, "GET", "/api/v1/claims/"+one, c.auditor, nil, http.StatusOK, &cl)
		require.Equal(t, "approved", cl.Status)
		require.Equal(t, 1, c.count(t, "ledger_entries", "claim_id = ?", one))
	})

	step("dual approvals split across nodes both count", func(t *testing.T) {
		ids := c.fileBatch(t, 0, "CL-DUAL", "8000.00", 30)
		results := make([]string, 2*len(ids))
		together(len(results), func(i int) {
			id, token := ids[i/2], []string{c.finance, c.finance2}[i%2]
			server := (i/2 + i%2) % 3 // the two approvals of a claim go to two different nodes
			results[i] = c.approve(t, server, id, token)
		})
		for i, r := range results {
			require.Equal(t, "ok", r, "approval %d of claim %s", i%2+1, ids[i/2])
		}
		for k, id := range ids {
			var cl struct {
				Status         string
				ReservedAmount string `json:"reserved_amount"`
				Approvals      []struct{ Actor string }
			}
			c.must(t, k%3, "GET", "/api/v1/claims/"+id, c.auditor, nil, http.StatusOK, &cl)
			require.Equal(t, "approved", cl.Status, "claim %s", id)
			require.Len(t, cl.Approvals, 2)
			require.Equal(t, "8000.00", cl.ReservedAmount)
			require.Equal(t, 1, c.count(t, "ledger_entries", "claim_id = ? AND kind = 'reserve'", id))
		}
		require.Equal(t, "240000.00", c.budget(t, 0, "CL-DUAL").Reserved)
	})

	step("a household's claims on three servers at once never overrun its cap", func(t *testing.T) {
		const n = 30
		results := make([]struct {
			st   int
			body []byte
		}, n)
		together(n, func(i int) {
			ref := fmt.Sprintf("CL-CAP-%d", i)
			body, _ := json.Marshal(map[string]any{
				"plan": "CL-FPB", "external_ref": ref, "beneficiary_id": personID(clusterPeople + i%4), "event_date": c.eventDate, "cause": "illness",
				"facts":    map[string]any{"household_income_per_capita": "4200.00", "bill_ref": "BILL-" + ref, "self_pay": fmt.Sprintf("%d.00", 11000+100*i)},
				"evidence": []map[string]string{{"kind": "settlement_sheet", "sha256": strings.Repeat("5e", 32)}, {"kind": "invoice", "sha256": strings.Repeat("6f", 32)}},
			})
			results[i].st, results[i].body, _ = c.settle(t, i%3, "POST", "/api/v1/claims", c.insurer, body, map[string]string{"Idempotency-Key": ref})
		})
		var total int64
		assessed := 0
		for _, r := range results {
			require.Equal(t, http.StatusCreated, r.st, "%s", r.body)
			var cl struct{ Status, Payable string }
			require.NoError(t, json.Unmarshal(r.body, &cl))
			if cl.Status == "assessed" {
				assessed++
				total += fenOf(t, cl.Payable)
			}
		}
		// 30 bills of 11000–13900 add up to far more than F reaches at the
		// 100000.00 cap: the household is paid exactly up to it, whatever
		// the order, and not a fen more.
		require.Equal(t, int64(10000000), total, "%d assessed claims", assessed)
		var stored int64
		require.NoError(t, c.sql.QueryRow("SELECT COALESCE(SUM(payable), 0) FROM claims WHERE household_id = ? AND status = 'assessed'", capHousehold).Scan(&stored))
		require.Equal(t, int64(10000000), stored)
	})

	step("one idempotency key sent to all three servers at once makes one claim", func(t *testing.T) {
		for k := range 20 {
			ref, body := c.zkbClaim("CL-LOAD", "300.00")
			raw, _ := json.Marshal(body)
			ids, replayed := make([]string, 3), make([]bool, 3)
			together(3, func(i int) {
				st, b, h := c.settle(t, i, "POST", "/api/v1/claims", c.insurer, raw, map[string]string{"Idempotency-Key": ref})
				if st == http.StatusCreated {
					var cl struct{ ID string }
					_ = json.Unmarshal(b, &cl)
					ids[i], replayed[i] = cl.ID, h.Get("Idempotent-Replayed") == "true"
				} else {
					ids[i] = codeOf(st, b)
				}
			})
			require.NotEmpty(t, ids[0])
			require.Equal(t, []string{ids[0], ids[0], ids[0]}, ids, "key %d", k)
			// One answer creates the claim and the others replay it — or all
			// three replay, when the creating request's answer was a 503
			// (its deadline passed as it committed) and its resend replayed.
			require.LessOrEqual(t, len(slices.DeleteFunc(slices.Clone(replayed), func(r bool) bool { return r })), 1,
				"at most one answer creates the claim: %v", replayed)
			require.Equal(t, 1, c.count(t, "claims", "external_ref = ?", ref))
		}
	})

	step("a write acknowledged by one server is read through the others", func(t *testing.T) {
		var misses atomic.Int64
		var wg sync.WaitGroup
		for g := range 24 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range 25 {
					w, r := (g+k)%3, (g+k+1)%3
					ref, body := c.zkbClaim("CL-LOAD", "250.00")
					raw, _ := json.Marshal(body)
					st, b, _ := c.settle(t, w, "POST", "/api/v1/claims", c.insurer, raw, map[string]string{"Idempotency-Key": ref})
					if st != http.StatusCreated {
						misses.Add(1)
						continue
					}
					var cl struct{ ID string }
					_ = json.Unmarshal(b, &cl)
					if st, _, _ := c.call(r, "GET", "/api/v1/claims/"+cl.ID, c.auditor, nil, nil); st != http.StatusOK {
						misses.Add(1)
						continue
					}
					if c.approve(t, r, cl.ID, c.finance) != "ok" {
						misses.Add(1)
						continue
					}
					var got struct{ Status string }
					st, b, _ = c.call(w, "GET", "/api/v1/claims/"+cl.ID, c.auditor, nil, nil)
					if st != http.StatusOK || json.Unmarshal(b, &got) != nil || got.Status != "approved" {
						misses.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		require.Zero(t, misses.Load(), "of 600 writes read back through another node")
	})

	step("a 5,000-claim disbursement completes while approvals run on the other nodes", func(t *testing.T) {
		ids := c.fileBatch(t, 0, "CL-LOAD", "123.45", 7000)
		toPay, toApprove := ids[:5000], ids[5000:]
		require.Equal(t, map[string]int{"ok": 5000}, tally(c.approveAll(t, toPay, 32, c.finance)))

		var (
			stop     atomic.Bool
			approved atomic.Int64
			wg       sync.WaitGroup
			next     atomic.Int64
		)
		for g := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					k := int(next.Add(1) - 1)
					if k >= len(toApprove) {
						return
					}
					if code := c.approve(t, 1+g%2, toApprove[k], c.finance2); code == "ok" {
						approved.Add(1)
					} else {
						t.Errorf("approval during the disbursement: %s", code)
					}
				}
			}()
		}
		time.Sleep(500 * time.Millisecond)
		start := time.Now()
		var batch struct {
			ID, Status, Total string
			Items             []struct{ Status string }
		}
		body, _ := json.Marshal(map[string]any{"plan": "CL-LOAD", "claim_ids": toPay})
		st, b, _ := c.call(0, "POST", "/api/v1/disbursements", c.finance, body, nil)
		took := time.Since(start)
		during := approved.Load()
		stop.Store(true)
		wg.Wait()
		require.Equal(t, http.StatusCreated, st, "%s", b)
		require.NoError(t, json.Unmarshal(b, &batch))
		t.Logf("5,000 claims disbursed in %s while %d approvals committed through the other two servers", took.Round(time.Millisecond), during)
		require.Positive(t, during, "approvals ran during the disbursement")
		require.Equal(t, "issued", batch.Status)
		require.Equal(t, "617250.00", batch.Total)
		require.Len(t, batch.Items, 5000)
		for _, it := range batch.Items {
			require.Equal(t, "in_payment", it.Status)
		}
		require.Equal(t, 5000, c.count(t, "ledger_entries", "plan_code = 'CL-LOAD' AND kind = 'disburse'"))
	})

	step("a write set over the cluster's limits is 503 naming the limit, not 500", func(t *testing.T) {
		for _, limit := range []struct{ set, reset, names string }{
			{"wsrep_max_ws_rows = 2", "wsrep_max_ws_rows = 0", "wsrep_max_ws_rows"},
			{"wsrep_max_ws_size = 1024", "wsrep_max_ws_size = 2147483647", "wsrep_max_ws_size"},
		} {
			_, err := c.sql.Exec("SET GLOBAL " + limit.set)
			require.NoError(t, err)
			ref, body := c.zkbClaim("CL-LOAD", "200.00")
			raw, _ := json.Marshal(body)
			st, b, _ := c.call(0, "POST", "/api/v1/claims", c.insurer, raw, map[string]string{"Idempotency-Key": ref})
			_, err = c.sql.Exec("SET GLOBAL " + limit.reset)
			require.NoError(t, err)
			require.Equal(t, http.StatusServiceUnavailable, st, "%s", b)
			require.Contains(t, string(b), limit.names)
			require.Zero(t, c.count(t, "claims", "external_ref = ?", ref), "nothing stored")
			st, b, _ = c.settle(t, 0, "POST", "/api/v1/claims", c.insurer, raw, map[string]string{"Idempotency-Key": ref})
			require.Equal(t, http.StatusCreated, st, "the same request once the limit is raised: %s", b)
		}
	})

	step("a node that is not Synced fails readiness", func(t *testing.T) {
		node2 := *c.nodes[1]
		conn, err := sql.Open("mysql", node2.FormatDSN())
		require.NoError(t, err)
		defer conn.Close()
		_, err = conn.Exec("SET GLOBAL wsrep_desync = ON") // Donor/Desynced, as during a state transfer
		require.NoError(t, err)
		st, b, _ := c.call(1, "GET", "/readyz", "", nil, nil)
		_, err = conn.Exec("SET GLOBAL wsrep_desync = OFF")
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, st, "%s", b)
		require.Contains(t, string(b), "Donor/Desynced")
		require.Eventually(t, func() bool {
			st, _, _ := c.call(1, "GET", "/readyz", "", nil, nil)
			return st == http.StatusOK
		}, 30*time.Second, 100*time.Millisecond, "ready again once Synced")
	})

	step("a node killed with kill -9 mid-load and restarted loses nothing", func(t *testing.T) {
		type ack struct{ id, ref, status string }
		var (
			mu        sync.Mutex
			acked     []ack
			unsettled [][2]string // ref, body of submissions without a final answer
			approvals = make(chan string, 4096)
			stop      atomic.Bool
			wg        sync.WaitGroup
		)
		for g := range 24 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				server := g % 3
				for !stop.Load() {
					if g%4 == 3 { // approvers
						select {
						case id := <-approvals:
							if st, _, _ := c.call(server, "POST", "/api/v1/claims/"+id+"/approve", c.finance, []byte("{}"), nil); st == 0 || st == http.StatusServiceUnavailable {
								time.Sleep(100 * time.Millisecond)
							}
						case <-time.After(10 * time.Millisecond):
						}
						continue
					}
					ref, body := c.zkbClaim("CL-LOAD", "310.00")
					raw, _ := json.Marshal(body)
					st, b, _ := c.call(server, "POST", "/api/v1/claims", c.insurer, raw, map[string]string{"Idempotency-Key": ref})
					switch st {
					case http.StatusCreated:
						var cl struct{ ID, Status string }
						_ = json.Unmarshal(b, &cl)
						mu.Lock()
						acked = append(acked, ack{cl.ID, ref, cl.Status})
						mu.Unlock()
						select {
						case approvals <- cl.ID:
						default:
						}
					case 0, http.StatusServiceUnavailable:
						mu.Lock()
						unsettled = append(unsettled, [2]string{ref, string(raw)})
						mu.Unlock()
						time.Sleep(100 * time.Millisecond)
					default:
						t.Errorf("submission through server %d: %d %s", server+1, st, b)
					}
				}
			}()
		}
		time.Sleep(3 * time.Second)
		c.watching.Store(true)
		killed := time.Now()
		out, err := exec.Command("bash", c.script, "kill", "3").CombinedOutput()
		require.NoError(t, err, "%s", out)
		// While node 3 is gone, its server says it is not ready.
		require.Eventually(t, func() bool {
			st, _, _ := c.call(2, "GET", "/readyz", "", nil, nil)
			return st == http.StatusServiceUnavailable
		}, 10*time.Second, 100*time.Millisecond, "readyz of the server on the killed node")
		// The two nodes left evict the lost one (evs.suspect_timeout 5 s)
		// and go on as a cluster of two; the node comes back later, as an
		// operator restarts it.
		out, err = exec.Command("bash", c.script, "wait-size", "2", "30").CombinedOutput()
		require.NoError(t, err, "%s", out)
		evicted := time.Now()
		t.Logf("node 3 evicted %s after kill -9", evicted.Sub(killed).Round(10*time.Millisecond))
		time.Sleep(5 * time.Second)
		restarted := time.Now()
		out, err = exec.Command("bash", c.script, "restart", "3").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Eventually(t, func() bool {
			st, _, _ := c.call(2, "GET", "/readyz", "", nil, nil)
			return st == http.StatusOK
		}, 60*time.Second, 100*time.Millisecond, "readyz once the node is Synced again")
		t.Logf("node 3 back and Synced %s after kill -9", time.Since(killed).Round(time.Millisecond))
		c.mu.Lock()
		for i, at := range c.refusals {
			for _, span := range []struct {
				what     string
				from, to time.Time
			}{{"until node 3 was evicted", killed, evicted}, {"while the two served alone", evicted, restarted}, {"while node 3 rejoined", restarted, time.Now()}} {
				var in []time.Time
				for _, a := range at {
					if !a.Before(span.from) && a.Before(span.to) {
						in = append(in, a)
					}
				}
				if len(in) > 0 {
					t.Logf("server %d: %d answers 503 %s, from %s to %s after the kill", i+1, len(in), span.what,
						in[0].Sub(killed).Round(10*time.Millisecond), in[len(in)-1].Sub(killed).Round(10*time.Millisecond))
				} else {
					t.Logf("server %d: no 503 %s", i+1, span.what)
				}
			}
		}
		c.mu.Unlock()
		time.Sleep(3 * time.Second)
		stop.Store(true)
		wg.Wait()

		// Retrying what got no answer is safe: 201, the first answer again
		// when it did commit.
		for _, u := range unsettled {
			st, b, _ := c.settle(t, 0, "POST", "/api/v1/claims", c.insurer, []byte(u[1]), map[string]string{"Idempotency-Key": u[0]})
			require.Equal(t, http.StatusCreated, st, "retry of %s: %s", u[0], b)
			var cl struct{ ID, Status string }
			require.NoError(t, json.Unmarshal(b, &cl))
			acked = append(acked, ack{cl.ID, u[0], cl.Status})
		}
		require.NotEmpty(t, acked)
		// Every acknowledged claim is listed, through each server, with its
		// external_ref; none is stored twice; a sample reads back one by one.
		for i := range c.srv {
			stored := map[string]string{}
			path := "/api/v1/claims?plan=CL-LOAD&limit=500"
			for {
				var page struct {
					Items []struct {
						ID          string
						ExternalRef string `json:"external_ref"`
					}
					NextCursor *string `json:"next_cursor"`
				}
				c.must(t, i, "GET", path, c.auditor, nil, http.StatusOK, &page)
				for _, it := range page.Items {
					stored[it.ID] = it.ExternalRef
				}
				if page.NextCursor == nil {
					break
				}
				path = "/api/v1/claims?plan=CL-LOAD&limit=500&cursor=" + *page.NextCursor
			}
			lost := 0
			for _, a := range acked {
				if stored[a.id] != a.ref {
					lost++
				}
			}
			require.Zero(t, lost, "of %d acknowledged claims, listed through server %d", len(acked), i+1)
		}
		require.Zero(t, c.count(t, "(SELECT external_ref FROM claims GROUP BY org, external_ref HAVING COUNT(*) > 1) AS twice", "1 = 1"),
			"no external_ref is stored twice")
		for k, a := range acked[:min(len(acked), 300)] {
			var cl struct{ ID string }
			c.must(t, k%3, "GET", "/api/v1/claims/"+a.id, c.auditor, nil, http.StatusOK, &cl)
		}
		t.Logf("%d acknowledged claims (%d resent after no answer or 503) all read back", len(acked), len(unsettled))
	})

	// Every node agrees that every invariant holds.
	for i, spec := range c.specs {
		runCheck(t, spec)
		t.Logf("huimin check clean on node %d", i+1)
	}
	for i := range c.srv {
		st, b, _ := c.call(i, "GET", "/metrics", "", nil, nil)
		require.Equal(t, http.StatusOK, st)
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "huimin_db_retries") {
				t.Logf("server %d: %s", i+1, line)
			}
		}
	}
	require.Zero(t, c.errors500.Load(), "no answer was a 500")
	t.Logf("%d requests: %d answered 503, %d without an answer (the killed node), none 500; %s in all",
		c.calls.Load(), c.unavailable.Load(), c.noAnswer.Load(), time.Since(began).Round(time.Millisecond))
}

// fenOf parses a two-decimal yuan string into fen.
func fenOf(t testing.TB, s string) int64 {
	t.Helper()
	var yuan, cents int64
	_, err := fmt.Sscanf(s, "%d.%02d", &yuan, &cents)
	require.NoError(t, err, "amount %q", s)
	return yuan*100 + cents
}

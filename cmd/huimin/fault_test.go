package main

// Fault tests of DESIGN §10 against the real binary: `huimin serve` runs as a
// subprocess on a real database while clients load it, and the test breaks
// things underneath — kill -9, a database that stops answering, a full disk,
// a disk that turns read-only — then checks that every acknowledged write
// survived, that the API answered 503 (never 500, never late) while it could
// not write, that it recovered by itself, and that `huimin check` finds every
// ledger and budget invariant intact. The longer versions are in
// soak_test.go (build tag soak, `make soak`).

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite" // the "sqlite" driver, for integrity_check
	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"huimin/internal/civil"
	"huimin/internal/testdb"
	"huimin/policies"
)

// ---- the binary --------------------------------------------------------------

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// huiminBinary builds cmd/huimin once per test process — with the race
// detector when the tests run with it, so races in the server under load are
// caught too (its stderr is checked for race reports).
func huiminBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		start := time.Now()
		if binDir, buildErr = os.MkdirTemp("", "huimin-fault-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "huimin")
		args := []string{"build", "-o", binPath}
		if raceEnabled() {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "huimin/cmd/huimin")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		fmt.Fprintf(os.Stderr, "fault tests: built huimin (race=%v) in %s\n", raceEnabled(), time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatalf("build huimin: %v", buildErr)
	}
	return binPath
}

func raceEnabled() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// ---- one server process --------------------------------------------------------

// lockedBuffer collects a subprocess's output safely.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is one `huimin serve` subprocess.
type serverProc struct {
	cmd            *exec.Cmd
	URL            string
	stdout, stderr *lockedBuffer
	exited         chan struct{}
	waitErr        error
	secrets        []string // what must never reach its log
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// startServer runs `huimin serve` on spec and waits until it serves. It is
// killed when the test ends, if it has not stopped before.
func startServer(t testing.TB, spec string, secrets []string) *serverProc {
	t.Helper()
	bin := huiminBinary(t)
	addr := freeAddr(t)
	s := &serverProc{URL: "http://" + addr, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{}), secrets: secrets}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Dir = t.TempDir()
	s.cmd.Env = append(os.Environ(), "HUIMIN_DB="+spec, "HUIMIN_ADDR="+addr, "HUIMIN_LOG_LEVEL=info", "HUIMIN_SHUTDOWN_TIMEOUT=5s")
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	require.NoError(t, s.cmd.Start())
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.kill()
		s.requireCleanLog(t)
	})
	deadline := time.After(60 * time.Second)
	for !strings.Contains(s.stdout.String(), "huimin serving on ") {
		select {
		case <-s.exited:
			t.Fatalf("huimin serve exited before serving (%v)\nstdout:\n%s\nstderr:\n%s", s.waitErr, s.stdout, s.stderr)
		case <-deadline:
			t.Fatalf("huimin serve did not start within 60s\nstdout:\n%s\nstderr:\n%s", s.stdout, s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return s
}

// adminToken is the token the first serve on an empty database prints.
func (s *serverProc) adminToken(t testing.TB) string {
	t.Helper()
	for _, line := range strings.Split(s.stdout.String(), "\n") {
		if strings.HasPrefix(line, "hm_") {
			return strings.TrimSpace(line)
		}
	}
	t.Fatalf("no admin token in the output of the first serve:\n%s", s.stdout)
	return ""
}

func (s *serverProc) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// kill is kill -9: no shutdown, no flush, no closing of the database.
func (s *serverProc) kill() {
	if s.alive() {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-s.exited
}

// stop is a graceful stop (SIGTERM), which must end with exit status 0.
func (s *serverProc) stop(t testing.TB) {
	t.Helper()
	require.True(t, s.alive(), "the server died on its own: %v\n%s", s.waitErr, s.stderr)
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.kill()
		t.Fatalf("huimin serve did not stop within 20s of SIGTERM")
	}
	require.NoError(t, s.waitErr, "a graceful stop exits 0\n%s", s.stderr)
}

// requireCleanLog fails when the server's log holds a race report, a
// panic, a 500, or any id or account number the test put in the registry.
func (s *serverProc) requireCleanLog(t testing.TB) {
	t.Helper()
	log := s.stderr.String()
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", `"status":500`} {
		if i := strings.Index(log, bad); i >= 0 {
			t.Errorf("the server log holds %q:\n%s", bad, excerpt(log, i))
		}
	}
	for _, secret := range s.secrets {
		if i := strings.Index(log, secret); i >= 0 {
			t.Errorf("the server log holds an id or account number (DESIGN §9):\n%s", excerpt(log, i))
			return
		}
	}
}

func excerpt(s string, i int) string {
	return s[max(0, i-1000):min(len(s), i+3000)]
}

// runCheck runs `huimin check` on spec and requires exit 0.
func runCheck(t testing.TB, spec string) {
	t.Helper()
	cmd := exec.Command(huiminBinary(t), "check")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "HUIMIN_DB="+spec)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "huimin check:\n%s", out)
	require.Contains(t, string(out), "all invariants hold")
}

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
	var b [4]byte
	_, _ = rand.Read(b[:])
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
func (d *deployment) claimBody(rng *mrand.Rand) (ref string, body []byte) {
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

// ---- load --------------------------------------------------------------------

// outcome is one request of the load and what came of it.
type outcome struct {
	Kind        string // submit, approve or read
	Start, End  time.Time
	Status      int    // 0: no answer (connection refused or cut off)
	Code        string // the envelope's error code
	RetryAfter  string
	Err         error
	Ref         string // submit: the external_ref, also the Idempotency-Key
	Body        []byte // submit: the body, to retry it
	ClaimID     string
	ClaimStatus string // the claim's status in a 2xx answer
}

func (o outcome) Took() time.Duration { return o.End.Sub(o.Start) }

func (o outcome) String() string {
	s := fmt.Sprintf("%s at %s took %s: %d %s", o.Kind, o.Start.Format("15:04:05.000"), o.Took().Round(time.Millisecond), o.Status, o.Code)
	if o.Err != nil {
		s += " (" + o.Err.Error() + ")"
	}
	return s
}

type loadMix struct {
	Submitters, Approvers, Readers int
}

// progress counts what a running load has had acknowledged so far.
type progress struct {
	claims, approvals atomic.Int64
}

// waitFor waits until the load has had at least claims and approvals
// acknowledged, for at most max.
func (p *progress) waitFor(claims, approvals int64, max time.Duration) {
	for deadline := time.Now().Add(max); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if p.claims.Load() >= claims && p.approvals.Load() >= approvals {
			return
		}
	}
}

// load runs clients against the current server until script returns:
// submitters file claims (Idempotency-Key = external_ref), approvers
// approve the assessed ones, readers list claims. Every request is recorded;
// after a request without an answer a client waits 20 ms, and after a 503
// 100 ms, as a polite client would.
func (d *deployment) load(t testing.TB, cfg loadMix, script func(*progress)) []outcome {
	t.Helper()
	var (
		acked    progress
		stop     atomic.Bool
		wg       sync.WaitGroup
		mu       sync.Mutex
		outs     []outcome
		assessed = make(chan string, 1<<16)
	)
	record := func(o outcome) {
		mu.Lock()
		outs = append(outs, o)
		mu.Unlock()
		switch {
		case o.Kind == "submit" && o.Status == http.StatusCreated:
			acked.claims.Add(1)
		case o.Kind == "approve" && o.Status == http.StatusOK:
			acked.approvals.Add(1)
		case o.Status == 0:
			time.Sleep(20 * time.Millisecond)
		case o.Status == http.StatusServiceUnavailable:
			time.Sleep(100 * time.Millisecond)
		}
	}
	do := func(o outcome, method, path, token string, body []byte, header map[string]string) outcome {
		o.Start = time.Now()
		st, b, h, err := d.callH(method, path, token, body, header)
		o.End, o.Status, o.Err = time.Now(), st, err
		if st >= 400 {
			var e struct{ Error struct{ Code string } }
			_ = json.Unmarshal(b, &e)
			o.Code, o.RetryAfter = e.Error.Code, h.Get("Retry-After")
		} else if st >= 200 && st < 300 && o.Kind != "read" {
			var c struct{ ID, Status string }
			_ = json.Unmarshal(b, &c)
			o.ClaimID, o.ClaimStatus = c.ID, c.Status
		}
		return o
	}
	worker := func(seed uint64, fn func(rng *mrand.Rand)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := mrand.New(mrand.NewPCG(seed, seed*7919))
			for !stop.Load() {
				fn(rng)
			}
		}()
	}
	for i := range cfg.Submitters {
		worker(uint64(i), func(rng *mrand.Rand) {
			ref, body := d.claimBody(rng)
			o := do(outcome{Kind: "submit", Ref: ref, Body: body}, "POST", "/api/v1/claims", d.insurer, body, map[string]string{"Idempotency-Key": ref})
			if o.Status == http.StatusCreated && o.ClaimStatus == "assessed" {
				select {
				case assessed <- o.ClaimID:
				default: // enough to approve
				}
			}
			record(o)
		})
	}
	for i := range cfg.Approvers {
		worker(uint64(100+i), func(*mrand.Rand) {
			select {
			case id := <-assessed:
				record(do(outcome{Kind: "approve", ClaimID: id}, "POST", "/api/v1/claims/"+id+"/approve", d.finance, []byte("{}"), nil))
			case <-time.After(5 * time.Millisecond):
			}
		})
	}
	for i := range cfg.Readers {
		worker(uint64(200+i), func(*mrand.Rand) {
			record(do(outcome{Kind: "read"}, "GET", "/api/v1/claims?limit=20", d.auditor, nil, nil))
			time.Sleep(10 * time.Millisecond)
		})
	}
	// Stop the clients however script ends (a failed assertion included).
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()
	script(&acked)
	stop.Store(true)
	wg.Wait()
	return outs
}

// ---- what was acknowledged, and whether it is still there --------------------

// acks is what the server acknowledged with a 2xx: claims with their status
// in the answer, and approvals.
type acks struct {
	claims   map[string]string // claim id → status answered
	refs     map[string]string // claim id → external_ref
	approved map[string]bool
}

func newAcks() *acks {
	return &acks{claims: map[string]string{}, refs: map[string]string{}, approved: map[string]bool{}}
}

func (a *acks) add(outs []outcome) {
	for _, o := range outs {
		switch {
		case o.Kind == "submit" && o.Status == http.StatusCreated:
			a.claims[o.ClaimID], a.refs[o.ClaimID] = o.ClaimStatus, o.Ref
		case o.Kind == "approve" && o.Status == http.StatusOK && o.ClaimStatus == "approved":
			a.approved[o.ClaimID] = true
		}
	}
}

// laterOrSame lists the statuses a claim may have reached from the one
// acknowledged (DESIGN §6; this load only approves).
var laterOrSame = map[string][]string{
	"assessed": {"assessed", "approved", "disbursed", "paid", "declined", "withdrawn"},
	"approved": {"approved", "disbursed", "paid", "declined"},
	"rejected": {"rejected"},
}

// requireAcked proves that nothing acknowledged was lost: every acknowledged
// claim is listed with its external_ref and the same status or a later one,
// every acknowledged approval is approved, and a sample read one by one
// answers 200.
func (d *deployment) requireAcked(t testing.TB, a *acks) {
	t.Helper()
	stored := map[string]struct{ Status, Ref string }{}
	path := "/api/v1/claims?plan=" + faultPlan + "&limit=500"
	for page := 0; ; page++ {
		require.Less(t, page, 10000)
		var list struct {
			Items []struct {
				ID, Status  string
				ExternalRef string `json:"external_ref"`
			}
			NextCursor *string `json:"next_cursor"`
		}
		d.mustJSON(t, "GET", path, d.finance, nil, http.StatusOK, &list)
		for _, c := range list.Items {
			stored[c.ID] = struct{ Status, Ref string }{c.Status, c.ExternalRef}
		}
		if list.NextCursor == nil {
			break
		}
		path = "/api/v1/claims?plan=" + faultPlan + "&limit=500&cursor=" + *list.NextCursor
	}
	lost := 0
	for id, st := range a.claims {
		c, ok := stored[id]
		if !ok {
			lost++
			t.Errorf("acknowledged claim %s (%s, %s) is gone", id, a.refs[id], st)
			continue
		}
		require.Equal(t, a.refs[id], c.Ref, "claim %s", id)
		require.Contains(t, laterOrSame[st], c.Status, "claim %s was acknowledged %s", id, st)
		if a.approved[id] {
			require.Contains(t, laterOrSame["approved"], c.Status, "claim %s was acknowledged approved", id)
		}
	}
	require.Zero(t, lost, "%d of %d acknowledged claims were lost", lost, len(a.claims))
	for id := range a.approved {
		_, ok := a.claims[id]
		require.True(t, ok, "approved claim %s was acknowledged at submission", id)
	}
	n := 0
	for id, st := range a.claims {
		if n++; n > 100 {
			break
		}
		var c struct{ ID, Status string }
		d.mustJSON(t, "GET", "/api/v1/claims/"+id, d.finance, nil, http.StatusOK, &c)
		require.Contains(t, laterOrSame[st], c.Status)
	}
}

// retryUnsettled resends, with the same Idempotency-Key and body, every
// submission that got no answer or a 503, as a client must, and proves that
// retrying is safe: each is 201 — the first answer replayed when the
// original did commit, a new claim when it did not — never a 409 or a 5xx.
// Approvals likewise end approved. What the retries create is acknowledged.
func (d *deployment) retryUnsettled(t testing.TB, outs []outcome, a *acks) (replayed, fresh int) {
	t.Helper()
	for _, o := range outs {
		if o.Status != 0 && o.Status != http.StatusServiceUnavailable {
			continue
		}
		switch o.Kind {
		case "submit":
			st, b, h, err := d.callH("POST", "/api/v1/claims", d.insurer, o.Body, map[string]string{"Idempotency-Key": o.Ref})
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, st, "retry of %s (first: %s): %s", o.Ref, o, b)
			var c struct{ ID, Status string }
			require.NoError(t, json.Unmarshal(b, &c))
			a.claims[c.ID], a.refs[c.ID] = c.Status, o.Ref
			if h.Get("Idempotent-Replayed") == "true" {
				replayed++
			} else {
				fresh++
			}
		case "approve":
			st, b, err := d.call("POST", "/api/v1/claims/"+o.ClaimID+"/approve", d.finance, []byte("{}"), nil)
			require.NoError(t, err)
			var c struct{ Status string }
			switch st {
			case http.StatusOK:
				require.NoError(t, json.Unmarshal(b, &c))
			case http.StatusConflict: // the first attempt did commit
				d.mustJSON(t, "GET", "/api/v1/claims/"+o.ClaimID, d.finance, nil, http.StatusOK, &c)
			default:
				t.Fatalf("retry of approval of %s (first: %s): %d %s", o.ClaimID, o, st, b)
			}
			require.Equal(t, "approved", c.Status)
			a.approved[o.ClaimID] = true
		}
	}
	return replayed, fresh
}

// requireReplays proves the idempotency records survived: resending
// acknowledged submissions answers the first answer again.
func (d *deployment) requireReplays(t testing.TB, outs []outcome, n int) {
	t.Helper()
	for _, o := range outs {
		if o.Kind != "submit" || o.Status != http.StatusCreated {
			continue
		}
		if n--; n < 0 {
			return
		}
		st, b, h, err := d.callH("POST", "/api/v1/claims", d.insurer, o.Body, map[string]string{"Idempotency-Key": o.Ref})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, st, "%s", b)
		require.Equal(t, "true", h.Get("Idempotent-Replayed"))
		var c struct{ ID string }
		require.NoError(t, json.Unmarshal(b, &c))
		require.Equal(t, o.ClaimID, c.ID)
	}
}

func count(outs []outcome, keep func(outcome) bool) int {
	n := 0
	for _, o := range outs {
		if keep(o) {
			n++
		}
	}
	return n
}

// ---- kill -9 during load ------------------------------------------------------

// killCycles loads a fresh deployment on spec, kills the server with
// SIGKILL in the middle of each load (at 50–80% of loadFor, after which the
// clients stop), restarts it on the same database and
// proves that nothing acknowledged was lost (DESIGN §10); at the end the
// server stops gracefully and `huimin check` passes.
func killCycles(t *testing.T, spec string, cycles int, loadFor time.Duration) {
	d := deploy(t, spec, 300)
	all := newAcks()
	for cycle := range cycles {
		var killedAt time.Time
		killAfter := time.Duration(float64(loadFor) * (0.5 + 0.3*mrand.Float64()))
		loadStart := time.Now()
		outs := d.load(t, loadMix{Submitters: 12, Approvers: 4}, func(acked *progress) {
			time.Sleep(killAfter)
			// Under claim load SQLite's writers queue for one lock and
			// approvals can wait seconds for it; kill only once some
			// approvals were acknowledged, so there is something to lose.
			acked.waitFor(10, 3, 15*time.Second)
			killedAt = time.Now()
			d.srv.kill()
		})
		var ws syscall.WaitStatus
		if ee := (*exec.ExitError)(nil); errors.As(d.srv.waitErr, &ee) {
			ws, _ = ee.Sys().(syscall.WaitStatus)
		}
		require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "the server died of SIGKILL, not %v", d.srv.waitErr)

		for _, o := range outs {
			switch {
			case o.Status == 0:
				require.False(t, o.End.Before(killedAt), "no answer before the kill: %s", o)
			case o.Status >= 300:
				t.Fatalf("a request failed under load: %s", o)
			}
		}
		submitted := count(outs, func(o outcome) bool { return o.Kind == "submit" && o.Status == http.StatusCreated })
		approved := count(outs, func(o outcome) bool { return o.Kind == "approve" && o.Status == http.StatusOK })
		unanswered := count(outs, func(o outcome) bool { return o.Status == 0 && o.Kind != "read" })
		require.GreaterOrEqual(t, submitted, 10, "the load acknowledged claims before the kill")
		require.Greater(t, approved, 0, "the load acknowledged approvals before the kill")
		all.add(outs)

		d.restart(t)
		d.requireAcked(t, all)
		d.requireReplays(t, outs, 25)
		replayed, fresh := d.retryUnsettled(t, outs, all)
		d.requireAcked(t, all)
		t.Logf("cycle %d: killed after %s; %d claims and %d approvals acknowledged, all there after the restart; "+
			"%d writes unanswered at the kill, retried: %d had committed (replayed), %d had not",
			cycle+1, killedAt.Sub(loadStart).Round(time.Millisecond), submitted, approved, unanswered, replayed, fresh)
	}
	d.srv.stop(t)
	runCheck(t, spec)
}

// TestKillDuringLoad: kill -9 of the server under claim and approval load
// loses no acknowledged claim, approval or idempotency record, on SQLite and
// on MariaDB, and leaves every ledger and budget invariant intact.
func TestKillDuringLoad(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			killCycles(t, specFor(t, dialect), 1, 1500*time.Millisecond)
		})
	}
}

// ---- database outage -------------------------------------------------------------

// tcpProxy sits between the server and MariaDB. cut closes its listener and
// every connection, as a database host that went away; restore listens again
// on the same port.
type tcpProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
	gen    int
}

func startProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	require.NoError(t, p.restore())
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) restore() error {
	var (
		ln  net.Listener
		err error
	)
	for range 50 { // the port was ours a moment ago; retry a bind that races the close
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.gen++
	gen := p.gen
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c, gen)
		}
	}()
	return nil
}

func (p *tcpProxy) pipe(c net.Conn, gen int) {
	u, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	if p.ln == nil || p.gen != gen { // cut while dialing
		p.mu.Unlock()
		_ = c.Close()
		_ = u.Close()
		return
	}
	p.conns[c], p.conns[u] = true, true
	p.mu.Unlock()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(u, c)
		_ = u.Close()
		close(done)
	}()
	_, _ = io.Copy(c, u)
	_ = c.Close()
	_ = u.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// outageCycles runs claim load on MariaDB behind a proxy and cuts the
// proxy cycles times. While the database is gone every request must answer
// 503 unavailable (with Retry-After) within 2 s, /readyz 503 and /healthz
// 200; once it is back the server must become ready and serve writes again
// by itself, with no restart, losing nothing it acknowledged.
func outageCycles(t *testing.T, cycles int, healthy, down time.Duration) {
	direct := mysqlDatabase(t)
	proxy := startProxy(t, direct.Addr)
	viaProxy := direct.Clone()
	viaProxy.Addr = proxy.addr
	d := deploy(t, "mysql:"+viaProxy.FormatDSN(), 300)

	all := newAcks()
	type window struct{ cut, restored, ready time.Time }
	var windows []window
	var readyz []time.Duration
	outs := d.load(t, loadMix{Submitters: 6, Approvers: 1, Readers: 1}, func(*progress) {
		time.Sleep(healthy)
		for range cycles {
			w := window{cut: time.Now()}
			proxy.cut()
			time.Sleep(down / 2)
			// Readiness says so, in time; liveness does not depend on the database.
			start := time.Now()
			st, b, err := d.call("GET", "/readyz", "", nil, nil)
			readyz = append(readyz, time.Since(start))
			require.NoError(t, err)
			require.Equal(t, http.StatusServiceUnavailable, st, "/readyz during the outage: %s", b)
			require.Contains(t, string(b), `"unavailable"`)
			st, _, err = d.call("GET", "/healthz", "", nil, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, st, "/healthz during the outage")
			time.Sleep(down - time.Since(w.cut))

			w.restored = time.Now()
			require.NoError(t, proxy.restore())
			for deadline := time.Now().Add(15 * time.Second); ; {
				st, _, err := d.call("GET", "/readyz", "", nil, nil)
				if err == nil && st == http.StatusOK {
					break
				}
				require.True(t, time.Now().Before(deadline), "not ready 15s after the database came back")
				time.Sleep(50 * time.Millisecond)
			}
			w.ready = time.Now()
			windows = append(windows, w)
			time.Sleep(healthy)
		}
	})
	require.True(t, d.srv.alive(), "the same server process survived the outages: %v", d.srv.waitErr)

	// Every request was answered, in time, with a success or a 503 envelope.
	var slowest time.Duration
	for _, o := range outs {
		require.NotZero(t, o.Status, "every request is answered: %s", o)
		require.LessOrEqual(t, o.Took(), 2*time.Second, "answered within 2s: %s", o)
		if o.Status == http.StatusServiceUnavailable {
			require.Equal(t, "unavailable", o.Code, "%s", o)
			require.NotEmpty(t, o.RetryAfter, "a 503 says when to retry: %s", o)
			slowest = max(slowest, o.Took())
			continue
		}
		require.Less(t, o.Status, 300, "only successes and 503s: %s", o)
	}
	for i, w := range windows {
		inside := func(o outcome) bool { return o.Start.After(w.cut.Add(50*time.Millisecond)) && o.End.Before(w.restored) }
		after := func(o outcome) bool { return o.Start.After(w.ready.Add(100 * time.Millisecond)) }
		var down, up int
		for _, o := range outs {
			if inside(o) {
				down++
				require.Equal(t, http.StatusServiceUnavailable, o.Status, "outage %d: %s", i+1, o)
			}
			if after(o) && (i+1 == len(windows) || o.End.Before(windows[i+1].cut)) {
				up++
				require.Less(t, o.Status, 300, "after outage %d the server recovered by itself: %s", i+1, o)
			}
		}
		require.Greater(t, down, 5, "outage %d: requests were made while the database was gone", i+1)
		require.Greater(t, up, 5, "outage %d: requests were made after it came back", i+1)
		t.Logf("outage %d: %d requests answered 503 while cut; ready %s after the restore; %d requests succeeded after",
			i+1, down, w.ready.Sub(w.restored).Round(time.Millisecond), up)
	}
	t.Logf("%d requests; slowest 503: %s; /readyz during outages took up to %s",
		len(outs), slowest.Round(time.Millisecond), slices.Max(readyz).Round(time.Millisecond))

	all.add(outs)
	d.requireAcked(t, all)
	replayed, fresh := d.retryUnsettled(t, outs, all)
	d.requireAcked(t, all)
	t.Logf("retried 503'd writes: %d had committed (replayed), %d had not (created)", replayed, fresh)
	d.srv.stop(t)
	runCheck(t, "mysql:"+direct.FormatDSN())
}

// TestDatabaseOutage: when MariaDB goes away under load the API answers 503
// within 2 s, never 500, and recovers by itself when it returns.
func TestDatabaseOutage(t *testing.T) {
	outageCycles(t, 1, 500*time.Millisecond, 1500*time.Millisecond)
}

// ---- SQLite on a full disk and on a read-only disk ----------------------------

// mountOrSkip runs mount(8); when that is impossible here (no privilege, no
// loop devices) the test is skipped, except in CI, where it must run.
func mountOrSkip(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command("mount", args...).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount %s: %v: %s (required with CI=true)", strings.Join(args, " "), err, out)
		}
		t.Skipf("cannot mount here (mount %s: %v: %s); set CI=true to make this fatal", strings.Join(args, " "), err, out)
	}
}

// unmountAtCleanup unmounts dir when the test ends (after the server, whose
// cleanup runs first, is dead), lazily if it is still busy.
func unmountAtCleanup(t testing.TB, dir string) {
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Logf("umount %s: %v: %s; detaching lazily", dir, err, out)
			if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
				t.Errorf("umount -l %s: %v: %s", dir, err, out)
			}
		}
	})
}

// fill writes a junk file until the file system has no byte left.
func fill(t testing.TB, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	var total int64
	for _, size := range []int{64 << 10, 4 << 10, 512, 1} {
		chunk := make([]byte, size)
		for {
			n, err := f.Write(chunk)
			total += int64(n)
			if err != nil {
				require.ErrorIs(t, err, syscall.ENOSPC)
				break
			}
		}
	}
	return total
}

// submitN files n claims and returns the outcomes.
func (d *deployment) submitN(t testing.TB, n int) []outcome {
	t.Helper()
	rng := mrand.New(mrand.NewPCG(uint64(n), uint64(time.Now().UnixNano())))
	var outs []outcome
	for range n {
		ref, body := d.claimBody(rng)
		o := outcome{Kind: "submit", Ref: ref, Body: body, Start: time.Now()}
		st, b, h, err := d.callH("POST", "/api/v1/claims", d.insurer, body, map[string]string{"Idempotency-Key": ref})
		o.End, o.Status, o.Err = time.Now(), st, err
		require.NoError(t, err)
		if st >= 400 {
			var e struct{ Error struct{ Code string } }
			_ = json.Unmarshal(b, &e)
			o.Code, o.RetryAfter = e.Error.Code, h.Get("Retry-After")
		} else {
			var c struct{ ID, Status string }
			require.NoError(t, json.Unmarshal(b, &c))
			o.ClaimID, o.ClaimStatus = c.ID, c.Status
		}
		outs = append(outs, o)
	}
	return outs
}

// requireUnavailable asserts that writes were refused with 503 in time.
func requireUnavailable(t testing.TB, outs []outcome, what string) {
	t.Helper()
	for _, o := range outs {
		require.Equal(t, http.StatusServiceUnavailable, o.Status, "%s: %s", what, o)
		require.Equal(t, "unavailable", o.Code, "%s: %s", what, o)
		require.NotEmpty(t, o.RetryAfter)
		require.LessOrEqual(t, o.Took(), 2*time.Second, "%s: %s", what, o)
	}
}

// walCheckpoint moves everything in the WAL into the database file and
// truncates the WAL to nothing, from a connection of its own beside the
// server's, as an operator's checkpoint or backup tool would.
func walCheckpoint(t testing.TB, path string) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	defer conn.Close()
	var busy, frames, moved int
	require.NoError(t, conn.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &moved))
	require.Zero(t, busy, "the checkpoint was not blocked")
	st, err := os.Stat(path + "-wal")
	require.NoError(t, err)
	require.Zero(t, st.Size(), "the WAL is empty")
}

// requireIntact runs SQLite's own integrity check on the database file.
func requireIntact(t testing.TB, path string) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer conn.Close()
	var res string
	require.NoError(t, conn.QueryRow("PRAGMA integrity_check").Scan(&res))
	require.Equal(t, "ok", res)
}

// diskFullCycles serves SQLite from a 3 MiB tmpfs and fills it cycles
// times: claim submissions (and approvals) then answer 503 — not 500 —
// while reads go on; once space is freed writes succeed again with no
// restart, the refused ones can be retried safely, and the database is
// neither corrupt nor in breach of an invariant.
func diskFullCycles(t *testing.T, cycles int) {
	dir := filepath.Join(t.TempDir(), "disk")
	require.NoError(t, os.Mkdir(dir, 0o755))
	mountOrSkip(t, "-t", "tmpfs", "-o", "size=3M", "tmpfs", dir)
	unmountAtCleanup(t, dir)
	path := filepath.Join(dir, "huimin.db")
	d := deploy(t, "sqlite:"+path, 100)
	all := newAcks()

	for cycle := range cycles {
		before := d.submitN(t, 10)
		for _, o := range before {
			require.Equal(t, http.StatusCreated, o.Status, "%s", o)
		}
		all.add(before)

		// SQLite appends to its WAL until 1000 pages (4 MiB, more than
		// this disk) before it checkpoints and reuses the file; empty it
		// first, so that every write needs new space once the disk is full.
		walCheckpoint(t, path)
		junk := filepath.Join(dir, "junk")
		filled := fill(t, junk)
		refused := d.submitN(t, 5)
		requireUnavailable(t, refused, "claims on a full disk")
		st, b, h, err := d.callH("POST", "/api/v1/claims/"+before[0].ClaimID+"/approve", d.finance, []byte("{}"), nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, st, "an approval on a full disk: %s", b)
		require.NotEmpty(t, h.Get("Retry-After"))
		d.mustJSON(t, "GET", "/api/v1/claims/"+before[0].ClaimID, d.auditor, nil, http.StatusOK, nil)
		d.mustJSON(t, "GET", "/api/v1/plans/"+faultPlan, d.auditor, nil, http.StatusOK, nil)

		require.NoError(t, os.Remove(junk))
		after := d.submitN(t, 5)
		for _, o := range after {
			require.Equal(t, http.StatusCreated, o.Status, "claims once space is back: %s", o)
		}
		all.add(after)
		var approved struct{ Status string }
		d.mustJSON(t, "POST", "/api/v1/claims/"+after[0].ClaimID+"/approve", d.finance, map[string]any{}, http.StatusOK, &approved)
		require.Equal(t, "approved", approved.Status)
		all.approved[after[0].ClaimID] = true
		replayed, fresh := d.retryUnsettled(t, refused, all)
		require.Zero(t, replayed, "a claim refused with 503 on a full disk was not stored")
		t.Logf("cycle %d: filled the disk with %d KiB of junk; %d claims refused with 503 in up to %s; %d retried and stored once space was back",
			cycle+1, filled>>10, len(refused), slices.MaxFunc(refused, func(a, b outcome) int { return int(a.Took() - b.Took()) }).Took().Round(time.Millisecond), fresh)
	}
	d.requireAcked(t, all)
	d.srv.stop(t)
	requireIntact(t, path)
	runCheck(t, "sqlite:"+path)
}

// TestSQLiteFullDisk: a full disk makes writes 503, not 500, and does not
// corrupt the database; freeing space heals the server by itself.
func TestSQLiteFullDisk(t *testing.T) {
	diskFullCycles(t, 1)
}

// TestSQLiteReadOnlyDisk: when the disk under a running server turns
// read-only, writes answer 503 while reads still answer 200.
//
// `mount -o remount,ro` cannot do this to a running server: the kernel
// refuses (EBUSY) while SQLite holds its files open for writing. What does
// happen to a running server is what a failing disk does with
// errors=remount-ro: the kernel forces the file system read-only under the
// open files. So the database lives on a small ext4 image on a loop device,
// and the test makes ext4 report an error through its sysfs
// trigger_fs_error knob.
func TestSQLiteReadOnlyDisk(t *testing.T) {
	tmp := t.TempDir()
	img, dir := filepath.Join(tmp, "disk.img"), filepath.Join(tmp, "disk")
	require.NoError(t, os.Mkdir(dir, 0o755))
	f, err := os.Create(img)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(16<<20))
	require.NoError(t, f.Close())
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mkfs.ext4: %v: %s (required with CI=true)", err, out)
		}
		t.Skipf("mkfs.ext4: %v: %s", err, out)
	}
	mountOrSkip(t, "-o", "loop,errors=remount-ro", img, dir)
	unmountAtCleanup(t, dir)
	device := mountedDevice(t, dir)
	trigger := filepath.Join("/sys/fs/ext4", filepath.Base(device), "trigger_fs_error")
	if _, err := os.Stat(trigger); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no %s: %v", trigger, err)
		}
		t.Skipf("no %s: %v", trigger, err)
	}

	path := filepath.Join(dir, "huimin.db")
	d := deploy(t, "sqlite:"+path, 100)
	all := newAcks()
	before := d.submitN(t, 10)
	for _, o := range before {
		require.Equal(t, http.StatusCreated, o.Status, "%s", o)
	}
	all.add(before)
	var approved struct{ Status string }
	d.mustJSON(t, "POST", "/api/v1/claims/"+before[0].ClaimID+"/approve", d.finance, map[string]any{}, http.StatusOK, &approved)
	all.approved[before[0].ClaimID] = true

	require.NoError(t, os.WriteFile(trigger, []byte("huimin fault test\n"), 0o200))
	require.Eventually(t, func() bool {
		opts := mountOptions(dir)
		return slices.Contains(opts, "ro") || slices.Contains(opts, "emergency_ro")
	}, 5*time.Second, 20*time.Millisecond, "the file system turned read-only")
	require.ErrorIs(t, os.WriteFile(filepath.Join(dir, "probe"), []byte("x"), 0o600), syscall.EROFS)

	requireUnavailable(t, d.submitN(t, 5), "claims on a read-only disk")
	st, b, err := d.call("POST", "/api/v1/claims/"+before[1].ClaimID+"/approve", d.finance, []byte("{}"), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, st, "an approval on a read-only disk: %s", b)
	st, b, err = d.call("POST", "/api/v1/tokens", d.admin, []byte(`{"role":"auditor","name":"late"}`), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, st, "a token on a read-only disk: %s", b)

	// Everything already stored can still be read.
	d.requireAcked(t, all)
	for _, p := range []string{"/api/v1/plans/" + faultPlan, "/api/v1/ledger/verify?plan=" + faultPlan, "/api/v1/claims?limit=5"} {
		d.mustJSON(t, "GET", p, d.auditor, nil, http.StatusOK, nil)
	}
	var verified struct{ OK bool }
	d.mustJSON(t, "GET", "/api/v1/ledger/verify?plan="+faultPlan, d.auditor, nil, http.StatusOK, &verified)
	require.True(t, verified.OK)
	st, _, err = d.call("GET", "/readyz", "", nil, nil)
	require.NoError(t, err)
	t.Logf("on the read-only disk: writes 503, reads 200, /readyz %d", st)
	require.True(t, d.srv.alive())
}

// mountedDevice is the device mounted on dir.
func mountedDevice(t testing.TB, dir string) string {
	t.Helper()
	f := mountEntry(dir)
	require.NotNil(t, f, "%s is not mounted", dir)
	return f[0]
}

// mountOptions are the options dir is mounted with now.
func mountOptions(dir string) []string {
	if f := mountEntry(dir); f != nil {
		return strings.Split(f[3], ",")
	}
	return nil
}

// mountEntry is the last /proc/mounts line of dir, split, or nil.
func mountEntry(dir string) []string {
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return nil
	}
	var last []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[1] == dir {
			last = f
		}
	}
	return last
}

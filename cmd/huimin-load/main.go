// Command huimin-load drives a running Huimin server with realistic load and
// reports throughput, latency percentiles and errors by code.
//
// It seeds a synthetic registry through the import API (real Nanyang county
// codes, households of 1–6 people, a realistic mix of categories), creates a
// hot plan of its own, then runs the scenarios in order:
//
//	single    one claim per request (POST /api/v1/claims), N clients
//	batch     claim batches (POST /api/v1/claim-batches)
//	approve   N finance clients approving the hot plan's claims
//	disburse  disbursement batches of approved claims, then their results
//	export    the hot plan's ledger as CSV
//
// Every request loop is bounded by -duration and -count; it targets only
// the -url given (loopback by default) and stops by itself.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"huimin/policies"
)

type options struct {
	URL        string
	Token      string
	Scenarios  string
	Clients    int
	Duration   time.Duration
	Count      int
	People     int
	BatchSize  int
	Out        string
	Seed       uint64
	SkipImport bool
	FillLedger int
	FillClaims int
	FillDB     string
	FillPlan   string
}

func main() {
	var o options
	flag.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "the server to load (loopback only in this workplace)")
	flag.StringVar(&o.Token, "token", os.Getenv("HUIMIN_ADMIN_TOKEN"), "an admin token (or HUIMIN_ADMIN_TOKEN)")
	flag.StringVar(&o.Scenarios, "scenarios", "seed,single,batch,approve,disburse,export", "comma-separated scenarios, in order")
	flag.IntVar(&o.Clients, "clients", 32, "concurrent clients")
	flag.DurationVar(&o.Duration, "duration", 20*time.Second, "how long each timed scenario runs")
	flag.IntVar(&o.Count, "count", 0, "stop a scenario after this many operations (0: duration only)")
	flag.IntVar(&o.People, "people", 20000, "synthetic beneficiaries to import")
	flag.IntVar(&o.BatchSize, "batch-size", 1000, "claims per batch in the batch scenario")
	flag.StringVar(&o.Out, "out", "huimin-load.json", "where to write the JSON result")
	flag.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed makes the same registry")
	flag.BoolVar(&o.SkipImport, "skip-import", false, "reuse a registry imported by an earlier run with the same -seed and -people")
	flag.IntVar(&o.FillLedger, "fill-ledger", 0, "instead of load: append this many chained entries to -fill-plan's ledger in -fill-db")
	flag.IntVar(&o.FillClaims, "fill-claims", 0, "instead of load: insert this many claims of past months straight into -fill-db (a table that already holds a year)")
	flag.StringVar(&o.FillDB, "fill-db", "", "HUIMIN_DB-style spec of the database to fill (with -fill-ledger or -fill-claims)")
	flag.StringVar(&o.FillPlan, "fill-plan", "ZKB-2026", "the plan whose ledger to fill")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if o.FillClaims > 0 {
		if err := fillClaims(ctx, o.FillDB, o.FillClaims, time.Now()); err != nil {
			fmt.Fprintln(os.Stderr, "huimin-load:", err)
			os.Exit(1)
		}
		return
	}
	if o.FillLedger > 0 {
		if err := fillLedger(ctx, o.FillDB, o.FillPlan, o.FillLedger); err != nil {
			fmt.Fprintln(os.Stderr, "huimin-load:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "huimin-load:", err)
		os.Exit(1)
	}
}

// Result is one scenario's figures; the JSON result is a list of them.
type Result struct {
	Scenario    string         `json:"scenario"`
	Clients     int            `json:"clients"`
	Ops         int64          `json:"ops"`
	Items       int64          `json:"items"` // claims in batches, entries in exports
	Seconds     float64        `json:"seconds"`
	OpsPerSec   float64        `json:"ops_per_sec"`
	ItemsPerSec float64        `json:"items_per_sec"`
	P50ms       float64        `json:"p50_ms"`
	P95ms       float64        `json:"p95_ms"`
	P99ms       float64        `json:"p99_ms"`
	Errors      map[string]int `json:"errors"`
	Note        string         `json:"note,omitempty"`
}

type loader struct {
	o        options
	http     *http.Client
	rng      *rand.Rand
	people   []person
	plan     string
	insurer  string
	finance  []string
	assessed chan string
	approved []string
	mu       sync.Mutex
	seq      atomic.Int64
	runID    string
}

type person struct {
	id       string
	category string
}

func run(ctx context.Context, o options) error {
	if o.Token == "" {
		return errors.New("-token (an admin token) is required")
	}
	l := &loader{
		o:        o,
		http:     &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Clients * 2, MaxConnsPerHost: o.Clients * 2}},
		rng:      rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		assessed: make(chan string, 1<<20),
		runID:    time.Now().UTC().Format("0102150405"),
	}
	if err := l.setup(ctx); err != nil {
		return err
	}
	scenarios := strings.Split(o.Scenarios, ",")
	if !slices.Contains(scenarios, "seed") {
		// Claims need the registry's people: make the same synthetic
		// registry (same -seed and -people) without importing it again.
		l.o.SkipImport = true
		if _, err := l.seed(ctx); err != nil {
			return err
		}
	}
	var results []Result
	for _, sc := range scenarios {
		if ctx.Err() != nil {
			break
		}
		var (
			r   Result
			err error
		)
		switch strings.TrimSpace(sc) {
		case "seed":
			r, err = l.seed(ctx)
		case "single":
			r = l.timed(ctx, "single", o.Clients, l.single)
		case "batch":
			r = l.timed(ctx, "batch", min(o.Clients, 4), l.batch)
		case "approve":
			r = l.timed(ctx, "approve", o.Clients, l.approve)
			r.Note, err = l.overdraftNote(ctx)
		case "disburse":
			r, err = l.disburse(ctx)
		case "export":
			r, err = l.export(ctx)
		default:
			return fmt.Errorf("unknown scenario %q", sc)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", sc, err)
		}
		printResult(r)
		results = append(results, r)
	}
	b, _ := json.MarshalIndent(results, "", "  ")
	if err := os.WriteFile(o.Out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", o.Out)
	return nil
}

// setup makes an insurer, two finance tokens and the hot plan of this run.
func (l *loader) setup(ctx context.Context) error {
	mk := func(role, name, org string) (string, error) {
		body := map[string]string{"role": role, "name": name}
		if org != "" {
			body["org"] = org
		}
		var out struct{ Token string }
		if _, err := l.call(ctx, l.o.Token, "POST", "/api/v1/tokens", body, &out); err != nil {
			return "", err
		}
		return out.Token, nil
	}
	var err error
	if l.insurer, err = mk("insurer", "load-insurer-"+l.runID, "load-"+l.runID); err != nil {
		return fmt.Errorf("create insurer token: %w", err)
	}
	for i := 0; i < 2; i++ {
		t, err := mk("finance", fmt.Sprintf("load-fin-%d-%s", i, l.runID), "")
		if err != nil {
			return err
		}
		l.finance = append(l.finance, t)
	}
	l.plan = "LOAD-ZKB-" + l.runID
	_, err = l.call(ctx, l.o.Token, "POST", "/api/v1/plans", map[string]any{
		"code": l.plan, "programme": "ZKB", "name": "load test " + l.runID, "coverage_start": "2026-01-01",
		"coverage_end": "2026-12-31", "budget": "5000000000.00", "budget_policy": "first_come",
		"dual_approval_threshold": "999999999.00", "filing_window_days": 3660,
	}, nil)
	return err
}

var categoryMix = []struct {
	category string
	weight   int
}{
	{"illness_poverty", 30}, {"disability_poverty", 10}, {"rural_destitute", 10}, {"unstable_out_of_poverty", 25},
	{"marginal_at_risk", 15}, {"sudden_hardship", 5}, {"agri_operator", 5},
}

func (l *loader) pickCategory() string {
	n := l.rng.IntN(100)
	for _, c := range categoryMix {
		if n < c.weight {
			return c.category
		}
		n -= c.weight
	}
	return categoryMix[0].category
}

// seed imports the synthetic registry as CSV in chunks under the 32 MiB limit.
func (l *loader) seed(ctx context.Context) (Result, error) {
	counties := make([]string, 0, len(policies.Counties))
	for c := range policies.Counties {
		counties = append(counties, c)
	}
	sort.Strings(counties)
	start := time.Now()
	var buf bytes.Buffer
	header := "id_number,id_type,name,county_code,household_id,payout_account,kind,value,valid_from,valid_to\n"
	buf.WriteString(header)
	rows, ops := 0, int64(0)
	errs := map[string]int{}
	var lat []time.Duration
	flush := func() error {
		if rows == 0 {
			return nil
		}
		t := time.Now()
		var out struct {
			Created, Updated int
			Errors           []json.RawMessage
		}
		if !l.o.SkipImport {
			if _, err := l.callRaw(ctx, l.o.Token, "POST", "/api/v1/beneficiaries/import", "text/csv; charset=utf-8", buf.Bytes(), &out); err != nil {
				return err
			}
			if len(out.Errors) > 0 {
				errs["row_errors"] += len(out.Errors)
			}
		}
		lat = append(lat, time.Since(t))
		ops++
		buf.Reset()
		buf.WriteString(header)
		rows = 0
		fmt.Fprintf(os.Stderr, "\rseed: %d people", len(l.people))
		return nil
	}
	h := 0
	for len(l.people) < l.o.People {
		h++
		county := counties[l.rng.IntN(len(counties))]
		household := fmt.Sprintf("H%s%07d", county, h)
		size := 1 + l.rng.IntN(6)
		cat := l.pickCategory() // a household shares its poverty category
		for i := 0; i < size && len(l.people) < l.o.People; i++ {
			n := len(l.people)
			// Unique by construction: the birth date encodes n/1000 and the
			// sequence digits n%1000 (valid up to 16.8 million people).
			d := n / 1000
			first17 := fmt.Sprintf("%s%04d%02d%02d%03d", county, 1950+d/336, 1+(d/28)%12, 1+d%28, n%1000)
			id := policies.ResidentIDWithCheck(first17)
			l.people = append(l.people, person{id: id, category: cat})
			fmt.Fprintf(&buf, "%s,resident_id,受益人%d,%s,%s,62220200%010d,category,%s,2026-01-01,\n", id, n, county, household, n, cat)
			fmt.Fprintf(&buf, "%s,resident_id,受益人%d,%s,%s,62220200%010d,residency,hukou,2000-01-01,\n", id, n, county, household, n)
			rows += 2
			if buf.Len() > 24<<20 {
				if err := flush(); err != nil {
					return Result{}, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return Result{}, err
	}
	fmt.Fprintln(os.Stderr)
	r := summarize("seed", 1, ops, int64(len(l.people)), time.Since(start), lat, errs)
	r.Note = "items = beneficiaries imported"
	return r, nil
}

// medicalClaim is a ZKB inpatient claim for a person with a ZKB category.
func (l *loader) medicalClaim(rng *rand.Rand) (map[string]any, string) {
	var p person
	for {
		p = l.people[rng.IntN(len(l.people))]
		if p.category == "illness_poverty" || p.category == "disability_poverty" || p.category == "rural_destitute" {
			break
		}
	}
	n := l.seq.Add(1)
	ref := fmt.Sprintf("L%s-%d", l.runID, n)
	cost := 1000 + rng.IntN(5000)
	return map[string]any{
		"plan": l.plan, "external_ref": ref, "beneficiary_id": p.id, "event_date": "2026-05-01", "cause": "medical",
		"facts": map[string]any{
			"service_type": "inpatient", "bill_ref": "BILL-" + ref, "total_cost": fmt.Sprintf("%d.00", cost+500),
			"policy_scope_cost": fmt.Sprintf("%d.00", cost), "basic_insurance_paid": "100.00",
			"critical_illness_paid": "0.00", "medical_assistance_paid": "0.00",
		},
		"evidence": []map[string]string{{"kind": "settlement_sheet", "sha256": strings.Repeat("ab", 32)}},
	}, ref
}

// op is one operation of a timed scenario: it returns items done and the
// error code ("" on success).
type op func(ctx context.Context, rng *rand.Rand) (items int64, code string)

func (l *loader) single(ctx context.Context, rng *rand.Rand) (int64, string) {
	body, ref := l.medicalClaim(rng)
	var out struct{ ID, Status string }
	code, err := l.callH(ctx, l.insurer, "POST", "/api/v1/claims", body, &out, map[string]string{"Idempotency-Key": ref})
	if err != nil {
		return 0, code
	}
	if out.Status == "assessed" {
		l.assessed <- out.ID
	}
	return 1, ""
}

func (l *loader) batch(ctx context.Context, rng *rand.Rand) (int64, string) {
	claims := make([]map[string]any, l.o.BatchSize)
	for i := range claims {
		claims[i], _ = l.medicalClaim(rng)
	}
	var out struct {
		Results []struct {
			Status      string `json:"status"`
			ClaimID     string `json:"claim_id"`
			ClaimStatus string `json:"claim_status"`
		}
	}
	code, err := l.call(ctx, l.insurer, "POST", "/api/v1/claim-batches", map[string]any{"claims": claims}, &out)
	if err != nil {
		return 0, code
	}
	for _, r := range out.Results {
		if r.ClaimStatus == "assessed" {
			l.assessed <- r.ClaimID
		}
	}
	return int64(len(claims)), ""
}

func (l *loader) approve(ctx context.Context, rng *rand.Rand) (int64, string) {
	var id string
	select {
	case id = <-l.assessed:
	default:
		return 0, "no_claims_left"
	}
	tok := l.finance[rng.IntN(len(l.finance))]
	var out struct{ Status string }
	code, err := l.call(ctx, tok, "POST", "/api/v1/claims/"+id+"/approve", map[string]any{}, &out)
	if err != nil {
		return 0, code
	}
	if out.Status == "approved" {
		l.mu.Lock()
		l.approved = append(l.approved, id)
		l.mu.Unlock()
	}
	return 1, ""
}

func (l *loader) overdraftNote(ctx context.Context) (string, error) {
	var p struct {
		Budget struct{ Available, Reserved string }
	}
	if _, err := l.call(ctx, l.o.Token, "GET", "/api/v1/plans/"+l.plan, nil, &p); err != nil {
		return "", err
	}
	if strings.HasPrefix(p.Budget.Available, "-") {
		return "", fmt.Errorf("OVERDRAFT: available %s", p.Budget.Available)
	}
	return fmt.Sprintf("no overdraft: available %s, reserved %s", p.Budget.Available, p.Budget.Reserved), nil
}

// disburse sends the approved claims to the bank 100 at a time and records
// every result as paid.
func (l *loader) disburse(ctx context.Context) (Result, error) {
	start := time.Now()
	var lat []time.Duration
	errs := map[string]int{}
	var ops, items int64
	for i := 0; i < len(l.approved) && ctx.Err() == nil; i += 100 {
		ids := l.approved[i:min(i+100, len(l.approved))]
		t := time.Now()
		var b struct {
			ID    string
			Items []struct {
				ClaimID string `json:"claim_id"`
			}
		}
		if code, err := l.call(ctx, l.finance[0], "POST", "/api/v1/disbursements", map[string]any{"plan": l.plan, "claim_ids": ids}, &b); err != nil {
			errs[code]++
			continue
		}
		results := make([]map[string]string, len(b.Items))
		for j, it := range b.Items {
			results[j] = map[string]string{"claim_id": it.ClaimID, "outcome": "paid", "bank_reference": "BANK-" + it.ClaimID}
		}
		if code, err := l.call(ctx, l.finance[0], "POST", "/api/v1/disbursements/"+b.ID+"/results", map[string]any{"results": results}, nil); err != nil {
			errs[code]++
			continue
		}
		lat = append(lat, time.Since(t))
		ops++
		items += int64(len(ids))
	}
	r := summarize("disburse", 1, ops, items, time.Since(start), lat, errs)
	r.Note = "one op = a batch of up to 100 claims disbursed and its results recorded"
	return r, nil
}

// export downloads the hot plan's ledger as CSV and counts its rows.
func (l *loader) export(ctx context.Context) (Result, error) {
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, "GET", l.o.URL+"/api/v1/ledger/export?format=csv&plan="+l.plan, nil)
	// Exports are for finance and auditors, not admins.
	req.Header.Set("Authorization", "Bearer "+l.finance[0])
	resp, err := l.http.Do(req)
	if err != nil {
		return Result{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return Result{}, fmt.Errorf("export answered %d: %s", resp.StatusCode, b)
	}
	var lines int64
	buf := make([]byte, 256*1024)
	var total int64
	for {
		n, err := resp.Body.Read(buf)
		total += int64(n)
		lines += int64(bytes.Count(buf[:n], []byte("\n")))
		if err == io.EOF {
			break
		}
		if err != nil {
			return Result{}, err
		}
	}
	d := time.Since(start)
	r := summarize("export", 1, 1, max(lines-1, 0), d, []time.Duration{d}, map[string]int{})
	r.Note = fmt.Sprintf("%d bytes", total)
	return r, nil
}

// timed runs op on n clients until the duration passes or the count is
// reached, printing progress every second.
func (l *loader) timed(ctx context.Context, name string, n int, fn op) Result {
	ctx, cancel := context.WithTimeout(ctx, l.o.Duration)
	defer cancel()
	var (
		ops, items atomic.Int64
		mu         sync.Mutex
		lat        []time.Duration
		errs       = map[string]int{}
		wg         sync.WaitGroup
	)
	start := time.Now()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s := time.Since(start).Seconds()
				mu.Lock()
				ne := 0
				for _, v := range errs {
					ne += v
				}
				mu.Unlock()
				fmt.Fprintf(os.Stderr, "\r%-8s %6.0fs  ops %8d  %8.0f/s  items %9d  errors %d   ", name, s, ops.Load(), float64(ops.Load())/s, items.Load(), ne)
			}
		}
	}()
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(l.o.Seed+uint64(w)+1, uint64(time.Now().UnixNano())))
			local := make([]time.Duration, 0, 4096)
			for ctx.Err() == nil && (l.o.Count == 0 || ops.Load() < int64(l.o.Count)) {
				t := time.Now()
				k, code := fn(ctx, rng)
				if code == "no_claims_left" {
					break
				}
				if code != "" {
					if ctx.Err() != nil {
						break
					}
					mu.Lock()
					errs[code]++
					mu.Unlock()
					continue
				}
				local = append(local, time.Since(t))
				ops.Add(1)
				items.Add(k)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	close(done)
	fmt.Fprintln(os.Stderr)
	return summarize(name, n, ops.Load(), items.Load(), time.Since(start), lat, errs)
}

func summarize(name string, clients int, ops, items int64, d time.Duration, lat []time.Duration, errs map[string]int) Result {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	s := d.Seconds()
	return Result{Scenario: name, Clients: clients, Ops: ops, Items: items, Seconds: s,
		OpsPerSec: float64(ops) / s, ItemsPerSec: float64(items) / s,
		P50ms: pct(0.50), P95ms: pct(0.95), P99ms: pct(0.99), Errors: errs}
}

func printResult(r Result) {
	fmt.Printf("%-8s clients %3d  ops %8d  %9.1f ops/s  items %9d  %9.1f items/s  p50 %7.2f ms  p95 %7.2f ms  p99 %7.2f ms  errors %v  %s\n",
		r.Scenario, r.Clients, r.Ops, r.OpsPerSec, r.Items, r.ItemsPerSec, r.P50ms, r.P95ms, r.P99ms, r.Errors, r.Note)
}

func (l *loader) call(ctx context.Context, token, method, path string, body, out any) (string, error) {
	return l.callH(ctx, token, method, path, body, out, nil)
}

func (l *loader) callH(ctx context.Context, token, method, path string, body, out any, hdr map[string]string) (string, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return "marshal", err
		}
	}
	return l.do(ctx, token, method, path, "application/json", b, out, hdr)
}

func (l *loader) callRaw(ctx context.Context, token, method, path, ctype string, body []byte, out any) (string, error) {
	return l.do(ctx, token, method, path, ctype, body, out, nil)
}

func (l *loader) do(ctx context.Context, token, method, path, ctype string, body []byte, out any, hdr map[string]string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, method, l.o.URL+path, bytes.NewReader(body))
	if err != nil {
		return "request", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := l.http.Do(req)
	if err != nil {
		return "transport", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "transport", err
	}
	if resp.StatusCode >= 300 {
		var env struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal(data, &env)
		code := env.Error.Code
		if code == "" {
			code = fmt.Sprintf("http_%d", resp.StatusCode)
		}
		return code, fmt.Errorf("%s %s: %d %s: %s", method, path, resp.StatusCode, code, env.Error.Message)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return "decode", err
		}
	}
	return "", nil
}

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
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"huimin/claims"
	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/civil"
	"huimin/policies"
	"huimin/server"
)

// huimin demo fills an empty database with a registry and a season of
// claims of all four programmes, through the same API a client uses (the
// router in process, no network), so that the console, the reports and the
// README's walkthrough have something true to show on any day:
//
//   - about 150 people in households of one to five across the 13 counties,
//     with every category and residency, townships, villages and banks;
//   - claims dated over the last weeks, in every state: assessed (the
//     approval queue), approved, declined, withdrawn, rejected with reasons,
//     in a 公示 notice, with objections open, upheld and dismissed,
//     disbursed awaiting the bank, paid, and a payment the bank returned;
//   - a token for every role, written to a file the shell can source.
//
// Time is the service's injected clock: the demo starts it 40 days ago and
// moves it forward as a county office would live those weeks, then hands
// back the real clock. Everything is recorded as at those times (ledger,
// audit), and `huimin check` holds afterwards.

type demoClock struct {
	mu   sync.Mutex
	t    time.Time
	real time.Time // the real now the demo ends at
}

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *demoClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// demoRun is one demo in progress.
type demoRun struct {
	app    *server.App
	clock  *demoClock
	tokens map[string]string // role key → raw token
	rng    *rand.Rand
	year   int
	plans  map[string]string // programme → plan code
	people []demoPerson
	coops  []demoPerson
	seq    int
	claims []demoClaim // every claim filed, with the status it has now
	log    io.Writer
}

type demoPerson struct {
	ID, Name, County, Township, Village, Household, Account, Bank string
	Categories, Residency                                         []string
}

// demoAPIError is an answer the demo did not expect.
type demoAPIError struct {
	method, path string
	status       int
	body         string
}

func (e *demoAPIError) Error() string {
	return fmt.Sprintf("demo: %s %s answered %d: %s", e.method, e.path, e.status, e.body)
}

// call sends one request through the router as the holder of token role
// and decodes a JSON answer into out (when not nil); a status other than
// want is an error.
func (r *demoRun) call(role, method, path string, body any, want int, out any, header ...string) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+r.tokens[role])
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	r.app.Echo.ServeHTTP(rec, req)
	if rec.Code != want {
		return &demoAPIError{method, path, rec.Code, strings.TrimSpace(rec.Body.String())}
	}
	if out != nil {
		return json.Unmarshal(rec.Body.Bytes(), out)
	}
	return nil
}

// demoRoles are the tokens the demo writes, by shell variable.
var demoRoles = []struct {
	key string
	in  auth.NewInput
}{
	{"ADMIN", auth.NewInput{Role: auth.Admin, Name: "admin-zhou"}},
	{"FIN", auth.NewInput{Role: auth.Finance, Name: "fin-wang"}},
	{"FIN2", auth.NewInput{Role: auth.Finance, Name: "fin-li"}},
	{"AUD", auth.NewInput{Role: auth.Auditor, Name: "aud-zhao"}},
	{"INS", auth.NewInput{Role: auth.Insurer, Name: "picc-api", Org: "picc"}},
	{"INS2", auth.NewInput{Role: auth.Insurer, Name: "cpic-api", Org: "cpic"}},
}

// runDemo fills d's application a with the demo. now is the real clock;
// tokensPath receives the tokens.
func runDemo(ctx context.Context, newApp func(now func() time.Time) *server.App, now time.Time, tokensPath string, seed uint64, out io.Writer) error {
	clock := &demoClock{real: now}
	china := civil.Shanghai
	today := now.In(china)
	// The plans' year: this year's, unless it began less than 50 days ago;
	// then last year's, so the claims' events fall inside one coverage
	// period and every filing window.
	year := today.Year()
	if today.YearDay() < 50 {
		year--
	}
	start := time.Date(today.Year(), today.Month(), today.Day(), 9, 0, 0, 0, china).AddDate(0, 0, -40)
	if jan1 := time.Date(year, 1, 1, 9, 0, 0, 0, china); start.Before(jan1.AddDate(0, 0, 10)) {
		start = jan1.AddDate(0, 0, 10)
	}
	if dec := time.Date(year, 12, 10, 9, 0, 0, 0, china); start.After(dec) {
		start = dec
	}
	clock.set(start)
	a := newApp(clock.Now)
	defer a.Close()
	r := &demoRun{app: a, clock: clock, tokens: map[string]string{}, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b9)),
		year: year, plans: map[string]string{}, log: out}

	if _, err := a.Bootstrap(ctx); err != nil {
		return err
	}
	existing, err := a.Claims.List(ctx, claims.Filter{Limit: 1})
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		return errors.New("demo: this database already holds claims; run the demo on a fresh one (e.g. HUIMIN_DB=sqlite:huimin-data/demo.db huimin demo)")
	}
	who := audit.Who{Actor: "huimin-demo", Role: auth.Admin}
	for _, role := range demoRoles {
		raw, _, err := a.Tokens.Create(ctx, who, role.in)
		if err != nil {
			return err
		}
		r.tokens[role.key] = raw
	}
	steps := []struct {
		name string
		fn   func() error
	}{
		{"plans", r.ensurePlans},
		{"registry", r.register},
		{"claims", r.fileClaims},
		{"approvals", r.approve},
		{"notices and objections", r.publish},
		{"disbursements", r.disburse},
	}
	for _, s := range steps {
		if err := s.fn(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	// This morning's claims: the approval queue a clerk finds today.
	clock.set(now.Add(-3 * time.Hour))
	if err := r.fileToday(); err != nil {
		return fmt.Errorf("today's claims: %w", err)
	}
	clock.set(now)
	if err := writeDemoTokens(tokensPath, r.tokens); err != nil {
		return err
	}
	r.summary(tokensPath)
	return nil
}

// ensurePlans uses the seeded 2026 plans, or makes the year's four plans
// (same rules, notice periods and budgets as the seed) in another year.
func (r *demoRun) ensurePlans() error {
	notice := map[string]int{policies.ZKB: 0, policies.ZFB: 5, policies.FPB: 5, policies.CYB: 0}
	names := map[string]string{policies.ZKB: "政康保", policies.ZFB: "政福保", policies.FPB: "防贫保", policies.CYB: "产业保"}
	policy := map[string]string{policies.ZKB: "first_come", policies.ZFB: "first_come", policies.FPB: "first_come", policies.CYB: "pro_rata"}
	budgets := map[string]string{policies.ZKB: "20000000.00", policies.ZFB: "5000000.00", policies.FPB: "10000000.00", policies.CYB: "3000000.00"}
	// The season's plans, and this year's too when the season is last
	// year's, so that a claim filed today (the README's) has its plan.
	years := []int{r.year}
	if now := r.clock.real.In(civil.Shanghai).Year(); now != r.year {
		years = append(years, now)
	}
	for _, year := range years {
		for _, prog := range []string{policies.ZKB, policies.ZFB, policies.FPB, policies.CYB} {
			code := fmt.Sprintf("%s-%d", prog, year)
			if year == r.year {
				r.plans[prog] = code
			}
			err := r.call("ADMIN", http.MethodGet, "/api/v1/plans/"+code, nil, http.StatusOK, nil)
			var apiErr *demoAPIError
			if errors.As(err, &apiErr) && apiErr.status == http.StatusNotFound {
				err = r.call("ADMIN", http.MethodPost, "/api/v1/plans", map[string]any{
					"code": code, "programme": prog, "name": fmt.Sprintf("南阳市%d年度%s", year, names[prog]),
					"coverage_start": fmt.Sprintf("%d-01-01", year), "coverage_end": fmt.Sprintf("%d-12-31", year),
					"budget": budgets[prog], "notice_days": notice[prog], "budget_policy": policy[prog],
				}, http.StatusCreated, nil)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// residentID makes a valid resident id of county, born on birth, with a
// sequence number of the day.
func residentID(county string, birth time.Time, n int) string {
	return policies.ResidentIDWithCheck(fmt.Sprintf("%s%s%03d", county, birth.Format("20060102"), n%1000))
}

// account is a 19-digit 一卡通 card number (BIN 621799 or 622848, like the
// rural credit union's and the agricultural bank's cards).
func (r *demoRun) account() string {
	bins := []string{"621799", "622848", "621098", "622202"}
	var b strings.Builder
	b.WriteString(bins[r.rng.IntN(len(bins))])
	for b.Len() < 19 {
		b.WriteByte(byte('0' + r.rng.IntN(10)))
	}
	return b.String()
}

// register puts about 150 people in households into the registry, and the
// cooperatives of CYB.
func (r *demoRun) register() error {
	cats := []string{"illness_poverty", "disability_poverty", "rural_destitute", "unstable_out_of_poverty", "marginal_at_risk", "sudden_hardship"}
	residencies := []string{"hukou", "hukou", "hukou", "residence_permit", "labour_contract"}
	validFrom := fmt.Sprintf("%d-01-01", r.year-2)
	n := 0
	for h := 0; h < 52; h++ {
		county := demoCountyOrder[h%len(demoCountyOrder)]
		towns := demoTownships[county]
		town := towns[r.rng.IntN(len(towns))]
		village := demoVillages[r.rng.IntN(len(demoVillages))]
		surname := demoSurnames[r.rng.IntN(len(demoSurnames))]
		household := fmt.Sprintf("HH-%s-%04d", county, h+1)
		size := 1 + r.rng.IntN(5)
		bank := demoBanks[r.rng.IntN(len(demoBanks))]
		// A household has one or two categories that its members share.
		hcats := []string{cats[r.rng.IntN(len(cats))]}
		if r.rng.IntN(3) == 0 {
			hcats = append(hcats, cats[r.rng.IntN(len(cats))])
		}
		for m := 0; m < size; m++ {
			n++
			birth := time.Date(1945+r.rng.IntN(60), time.Month(1+r.rng.IntN(12)), 1+r.rng.IntN(28), 0, 0, 0, 0, time.UTC)
			p := demoPerson{
				ID: residentID(county, birth, n), Name: surname + demoGiven[r.rng.IntN(len(demoGiven))],
				County: county, Township: town, Village: village, Household: household, Bank: bank,
				Categories: dedupe(hcats), Residency: []string{residencies[r.rng.IntN(len(residencies))]},
			}
			if m == 0 || r.rng.IntN(8) > 0 {
				p.Account = r.account()
			}
			if size == 1 && r.rng.IntN(4) == 0 {
				p.Household = "" // a person on their own is their own household
			}
			r.people = append(r.people, p)
		}
	}
	// Every category appears at least once, whatever the draw.
	for i, c := range cats {
		r.people[i*7].Categories = dedupe(append(r.people[i*7].Categories, c))
	}
	for i, c := range demoCooperatives {
		code := policies.USCCWithCheck(fmt.Sprintf("93%sMA4%06d", c.county, 1000+i))
		r.coops = append(r.coops, demoPerson{
			ID: code, Name: c.name, County: c.county, Township: demoTownships[c.county][0], Village: demoVillages[i],
			Account: r.account(), Bank: demoBanks[i%len(demoBanks)], Categories: []string{"agri_operator"},
		})
	}
	for _, p := range slicesConcat(r.people, r.coops) {
		if err := r.put(p, validFrom); err != nil {
			return err
		}
	}
	return nil
}

func (r *demoRun) put(p demoPerson, validFrom string) error {
	periods := func(key string, values []string) []map[string]any {
		out := []map[string]any{}
		for _, v := range values {
			out = append(out, map[string]any{key: v, "valid_from": validFrom, "valid_to": nil})
		}
		return out
	}
	body := map[string]any{
		"name": p.Name, "county_code": p.County, "township": p.Township, "village": p.Village,
		"categories": periods("category", p.Categories), "residency": periods("type", p.Residency),
	}
	if policies.DetectIDType(p.ID) == policies.IDTypeUSCC {
		body["id_type"] = policies.IDTypeUSCC
	}
	if p.Household != "" {
		body["household_id"] = p.Household
	}
	if p.Account != "" {
		body["payout_account"], body["bank_name"] = p.Account, p.Bank
	}
	var answer map[string]any
	err := r.call("ADMIN", http.MethodPut, "/api/v1/beneficiaries/"+p.ID, body, http.StatusCreated, &answer)
	var apiErr *demoAPIError
	if errors.As(err, &apiErr) && apiErr.status == http.StatusOK {
		return nil
	}
	return err
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func slicesConcat[T any](a, b []T) []T { return append(append([]T{}, a...), b...) }

func has(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// demoClaim is a claim the demo filed, with what it became.
type demoClaim struct {
	ID, Plan, Programme, Status, Payable string
	Person                               demoPerson
	Insurer                              string
}

func (r *demoRun) evidence(kinds ...string) []map[string]string {
	out := []map[string]string{}
	for _, k := range kinds {
		r.seq++
		out = append(out, map[string]string{"kind": k, "sha256": fmt.Sprintf("%064x", r.seq*7919+len(k))})
	}
	return out
}

func (r *demoRun) money(min, max int) string {
	fen := min*100 + r.rng.IntN((max-min)*100+1)
	return fmt.Sprintf("%d.%02d", fen/100, fen%100)
}

// eventDate is an event between 10 and 30 days before the clock.
func (r *demoRun) eventDate() string {
	d := r.clock.Now().In(civil.Shanghai).AddDate(0, 0, -10-r.rng.IntN(20))
	if d.Year() < r.year {
		d = time.Date(r.year, 1, 2, 0, 0, 0, 0, civil.Shanghai)
	}
	if d.Year() > r.year { // early in a year: last year's plans cover the events
		d = time.Date(r.year, 12, 31-r.rng.IntN(20), 0, 0, 0, 0, civil.Shanghai)
	}
	return d.Format("2006-01-02")
}

// file submits one claim; the answer's status and payable are kept.
func (r *demoRun) file(insurer string, p demoPerson, prog, cause string, facts map[string]any, evidence []map[string]string) (demoClaim, error) {
	r.seq++
	org := "PICC"
	if insurer == "INS2" {
		org = "CPIC"
	}
	ref := fmt.Sprintf("%s-%s-%d-%06d", org, prog, r.year, r.seq)
	body := map[string]any{
		"plan": r.plans[prog], "external_ref": ref, "beneficiary_id": p.ID, "event_date": r.eventDate(),
		"cause": cause, "facts": facts, "evidence": evidence,
	}
	var v struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Payable string `json:"payable"`
	}
	if err := r.call(insurer, http.MethodPost, "/api/v1/claims", body, http.StatusCreated, &v, "Idempotency-Key", "demo-"+ref); err != nil {
		return demoClaim{}, err
	}
	c := demoClaim{ID: v.ID, Plan: r.plans[prog], Programme: prog, Status: v.Status, Payable: v.Payable, Person: p, Insurer: insurer}
	r.claims = append(r.claims, c)
	// An hour or two passes between claims in the insurer's office.
	r.clock.set(r.clock.Now().Add(time.Duration(40+r.rng.IntN(90)) * time.Minute))
	return c, nil
}

// fileClaims files claims of all four programmes over ten days: most
// payable, some rejected for a reason a clerk must see.
func (r *demoRun) fileClaims() error {
	zkbCats := []string{"illness_poverty", "disability_poverty", "rural_destitute"}
	fpbCats := []string{"unstable_out_of_poverty", "marginal_at_risk", "sudden_hardship"}
	insurer := func(i int) string {
		if i%3 == 2 {
			return "INS2"
		}
		return "INS"
	}
	i := 0
	for _, p := range r.people {
		i++
		switch {
		case hasAny(p.Categories, zkbCats) && i%2 == 0:
			service := "inpatient"
			total := r.money(8000, 90000)
			if r.rng.IntN(4) == 0 {
				service, total = "outpatient", r.money(800, 12000)
			}
			facts := zkbFacts(r, service, total)
			if _, err := r.file(insurer(i), p, policies.ZKB, policies.CauseMedical, facts, r.evidence("settlement_sheet")); err != nil {
				return err
			}
		case hasAny(p.Categories, fpbCats) && i%2 == 1:
			r.seq++
			facts := map[string]any{"household_income_per_capita": r.money(3000, 5900), "bill_ref": fmt.Sprintf("ZY%d%06d", r.year, r.seq), "self_pay": r.money(9000, 60000)}
			if _, err := r.file(insurer(i), p, policies.FPB, policies.CauseIllness, facts, r.evidence("settlement_sheet", "invoice")); err != nil {
				return err
			}
		}
		if i%9 == 0 && has(p.Residency, "hukou") {
			r.seq++
			classes := []map[string]any{
				{"loss_class": "house_collapsed", "rooms": 1 + r.rng.IntN(4)},
				{"loss_class": "house_damaged"},
				{"loss_class": "property_loss", "assessed_loss": r.money(2000, 30000)},
			}
			facts := map[string]any{"incident_ref": fmt.Sprintf("YJ-%d-%04d", r.year, r.seq)}
			for k, v := range classes[r.rng.IntN(len(classes))] {
				facts[k] = v
			}
			if _, err := r.file(insurer(i), p, policies.ZFB, policies.CauseDisaster, facts, r.evidence("incident_certificate")); err != nil {
				return err
			}
		}
	}
	// Large ones: a grade-1 disability under ZFB needs two approvers.
	for _, p := range r.people[3:5] {
		r.seq++
		facts := map[string]any{"incident_ref": fmt.Sprintf("YJ-%d-%04d", r.year, r.seq), "loss_class": "disability", "disability_grade": 1}
		if _, err := r.file("INS", p, policies.ZFB, policies.CauseDisaster, facts, r.evidence("incident_certificate")); err != nil {
			return err
		}
	}
	for j, c := range r.coops {
		r.seq++
		facts := map[string]any{"industry": demoCooperatives[j].industry, "primary_policy_no": fmt.Sprintf("PICC-NY-%d-%05d", r.year, r.seq),
			"premium_paid": r.money(4000, 60000), "county_subsidised": j%2 == 0}
		if _, err := r.file("INS", c, policies.CYB, policies.CausePremiumSubsidy, facts, r.evidence("premium_receipt")); err != nil {
			return err
		}
	}
	// Claims the pipeline refuses, each for a reason a clerk can read:
	// evidence missing, a person outside the programme's categories, a
	// household income above the prevention line, the same bill twice.
	noCat := r.people[0]
	for _, p := range r.people {
		if !hasAny(p.Categories, fpbCats) {
			noCat = p
			break
		}
	}
	r.seq++
	if _, err := r.file("INS", noCat, policies.FPB, policies.CauseIllness,
		map[string]any{"household_income_per_capita": "4100.00", "bill_ref": fmt.Sprintf("ZY%d%06d", r.year, r.seq), "self_pay": "18000.00"},
		r.evidence("settlement_sheet", "invoice")); err != nil {
		return err
	}
	for _, p := range r.people {
		if hasAny(p.Categories, fpbCats) {
			r.seq++
			if _, err := r.file("INS2", p, policies.FPB, policies.CauseIllness,
				map[string]any{"household_income_per_capita": "7800.00", "bill_ref": fmt.Sprintf("ZY%d%06d", r.year, r.seq), "self_pay": "26000.00"},
				r.evidence("settlement_sheet", "invoice")); err != nil {
				return err
			}
			break
		}
	}
	for _, p := range r.people {
		if hasAny(p.Categories, zkbCats) {
			if _, err := r.file("INS", p, policies.ZKB, policies.CauseMedical, zkbFacts(r, "inpatient", "30000.00"), r.evidence()); err != nil {
				return err
			}
			break
		}
	}
	return nil
}

func zkbFacts(r *demoRun, service, total string) map[string]any {
	r.seq++
	// Policy scope 80–95 % of the total; basic insurance 55 %, critical
	// illness 10 %, medical assistance 5 % of the scope, rounded to fen.
	totalFen := toFen(total)
	scope := totalFen * int64(80+r.rng.IntN(16)) / 100
	return map[string]any{
		"service_type": service, "bill_ref": fmt.Sprintf("YB%d%07d", r.year, r.seq), "total_cost": total,
		"policy_scope_cost": fenString(scope), "basic_insurance_paid": fenString(scope * 55 / 100),
		"critical_illness_paid": fenString(scope * 10 / 100), "medical_assistance_paid": fenString(scope * 5 / 100),
	}
}

func toFen(s string) int64 {
	var yuan, fen int64
	fmt.Sscanf(s, "%d.%d", &yuan, &fen)
	return yuan*100 + fen
}

func fenString(fen int64) string { return fmt.Sprintf("%d.%02d", fen/100, fen%100) }

func hasAny(xs, ys []string) bool {
	for _, y := range ys {
		if has(xs, y) {
			return true
		}
	}
	return false
}

// byState is the demo's claims currently in status, in filing order.
func (r *demoRun) byState(status string, prog ...string) []*demoClaim {
	var out []*demoClaim
	for i := range r.claims {
		c := &r.claims[i]
		if c.Status == status && (len(prog) == 0 || has(prog, c.Programme)) {
			out = append(out, c)
		}
	}
	return out
}

func (r *demoRun) advance(days int, hour int) {
	t := r.clock.Now().In(civil.Shanghai).AddDate(0, 0, days)
	r.clock.set(time.Date(t.Year(), t.Month(), t.Day(), hour, r.rng.IntN(60), 0, 0, civil.Shanghai))
}

type claimAnswer struct {
	Status string `json:"status"`
}

// approve: the next morning finance works through the queue. Most claims
// are approved; two are declined with a reason; an insurer withdraws one;
// the large disability claims get their two approvals; the last few stay
// in the queue for the console to show.
func (r *demoRun) approve() error {
	r.advance(1, 9)
	assessed := r.byState(claims.Assessed)
	for i, c := range assessed {
		var v claimAnswer
		switch {
		case i == 1:
			if err := r.call(c.Insurer, http.MethodPost, "/api/v1/claims/"+c.ID+"/withdraw", map[string]any{}, http.StatusOK, &v); err != nil {
				return err
			}
		case i == 4 || i == 9:
			if err := r.call("FIN", http.MethodPost, "/api/v1/claims/"+c.ID+"/decline",
				map[string]any{"reason": "经入户核查，住院发票与医保结算单金额不符，退回保险公司补正"}, http.StatusOK, &v); err != nil {
				return err
			}
		default:
			if err := r.call("FIN", http.MethodPost, "/api/v1/claims/"+c.ID+"/approve", map[string]any{}, http.StatusOK, &v); err != nil {
				return err
			}
			if v.Status == claims.Assessed { // above the dual-approval threshold
				if i%2 == 0 {
					r.clock.set(r.clock.Now().Add(25 * time.Minute))
					if err := r.call("FIN2", http.MethodPost, "/api/v1/claims/"+c.ID+"/approve", map[string]any{}, http.StatusOK, &v); err != nil {
						return err
					}
				}
			}
		}
		c.Status = v.Status
		r.clock.set(r.clock.Now().Add(time.Duration(3+r.rng.IntN(12)) * time.Minute))
	}
	return nil
}

type noticeAnswer struct {
	ID     string `json:"id"`
	EndsOn string `json:"ends_on"`
	Claims []struct {
		ClaimID string `json:"claim_id"`
	} `json:"claims"`
}

// publish posts the approved FPB and ZFB claims (plans with a notice
// period) for 公示, one notice per plan, and records objections during the
// notice: one upheld (the claim is revoked), one dismissed, one left open.
func (r *demoRun) publish() error {
	r.advance(1, 10)
	var notices []noticeAnswer
	for _, prog := range []string{policies.FPB, policies.ZFB} {
		if len(r.byState(claims.Approved, prog)) == 0 {
			continue
		}
		var n noticeAnswer
		if err := r.call("FIN", http.MethodPost, "/api/v1/notices", map[string]any{"plan": r.plans[prog]}, http.StatusCreated, &n); err != nil {
			return err
		}
		notices = append(notices, n)
	}
	var inNotice []string
	for _, n := range notices {
		for _, c := range n.Claims {
			inNotice = append(inNotice, c.ClaimID)
		}
	}
	if len(inNotice) < 3 {
		return nil
	}
	r.advance(2, 15)
	objections := []struct {
		raisedBy, reason, outcome, note string
	}{
		{"村民 李某（匿名来电）", "反映该户家中有经营性货车两辆，家庭收入明显高于监测线", "upheld", "乡镇入户核查属实，撤销该笔赔付"},
		{"村民代表 王某", "认为该户去年已领取过同类补助", "dismissed", "经核对，去年为临时救助，不属同一事项，异议不成立"},
		{"本村党支部", "该户住院费用中含非医保目录自费药品，请核实金额", "", ""},
	}
	for i, o := range objections {
		var obj struct {
			ID string `json:"id"`
		}
		claimID := inNotice[i*(len(inNotice)-1)/2]
		if err := r.call("FIN", http.MethodPost, "/api/v1/claims/"+claimID+"/objections",
			map[string]any{"raised_by": o.raisedBy, "reason": o.reason}, http.StatusCreated, &obj); err != nil {
			return err
		}
		if o.outcome == "" {
			continue
		}
		r.advance(1, 11)
		if err := r.call("FIN", http.MethodPost, "/api/v1/objections/"+obj.ID+"/resolve",
			map[string]any{"outcome": o.outcome, "note": o.note}, http.StatusOK, nil); err != nil {
			return err
		}
		if o.outcome == "upheld" {
			for j := range r.claims {
				if r.claims[j].ID == claimID {
					r.claims[j].Status = claims.Declined
				}
			}
		}
	}
	return nil
}

type batchAnswer struct {
	ID    string `json:"id"`
	Items []struct {
		ClaimID string `json:"claim_id"`
	} `json:"items"`
}

// disburse sends approved claims to the bank in batches and records the
// bank's answers: ZKB and CYB right away (no notice period), FPB and ZFB
// once their notice has ended, leaving out the claim whose objection is
// still open. One card is returned by the bank (退票); the latest batch
// still awaits the bank's file.
func (r *demoRun) disburse() error {
	// ZKB and CYB: a batch each, two days after approval.
	r.advance(0, 14)
	// CYB shares its budget pro rata: a settlement reserves the approved
	// claims' shares before they can be paid.
	if err := r.call("FIN", http.MethodPost, "/api/v1/plans/"+r.plans[policies.CYB]+"/settlements", map[string]any{}, http.StatusCreated, nil); err != nil {
		return err
	}
	var batches []batchAnswer
	for _, prog := range []string{policies.ZKB, policies.CYB} {
		ids := r.approvedWithAccount(prog)
		if len(ids) > 1 {
			ids = ids[:len(ids)-1] // the last stays approved, not yet sent
		}
		if len(ids) == 0 {
			continue
		}
		var b batchAnswer
		if err := r.call("FIN", http.MethodPost, "/api/v1/disbursements", map[string]any{"plan": r.plans[prog], "claim_ids": ids}, http.StatusCreated, &b); err != nil {
			return err
		}
		batches = append(batches, b)
	}
	// The bank's results two days later: all paid but one card returned.
	r.advance(2, 16)
	failed := false
	for _, b := range batches {
		var results []map[string]any
		for j, it := range b.Items {
			if !failed && j == len(b.Items)/2 {
				failed = true
				results = append(results, map[string]any{"claim_id": it.ClaimID, "outcome": "failed", "reason": "账户已销户"})
				continue
			}
			results = append(results, map[string]any{"claim_id": it.ClaimID, "outcome": "paid", "bank_reference": fmt.Sprintf("NX%s%04d", r.clock.Now().In(civil.Shanghai).Format("20060102"), j+1)})
		}
		if err := r.call("FIN", http.MethodPost, "/api/v1/disbursements/"+b.ID+"/results", map[string]any{"results": results}, http.StatusOK, nil); err != nil {
			return err
		}
	}
	// FPB and ZFB after the notice period (five working days, with a
	// weekend): nine days on.
	r.advance(9, 10)
	for _, prog := range []string{policies.FPB, policies.ZFB} {
		ids, err := r.disbursable(prog)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			continue
		}
		var b batchAnswer
		if err := r.call("FIN", http.MethodPost, "/api/v1/disbursements", map[string]any{"plan": r.plans[prog], "claim_ids": ids}, http.StatusCreated, &b); err != nil {
			return err
		}
		if prog == policies.ZFB {
			continue // awaiting the bank's file
		}
		r.advance(1, 15)
		var results []map[string]any
		for j, it := range b.Items {
			results = append(results, map[string]any{"claim_id": it.ClaimID, "outcome": "paid", "bank_reference": fmt.Sprintf("NX%s%04d", r.clock.Now().In(civil.Shanghai).Format("20060102"), j+1)})
		}
		if err := r.call("FIN", http.MethodPost, "/api/v1/disbursements/"+b.ID+"/results", map[string]any{"results": results}, http.StatusOK, nil); err != nil {
			return err
		}
	}
	return nil
}

// fileToday files the claims that arrived this morning and wait in the
// approval queue: some of each programme, CYB's a loss top-up.
func (r *demoRun) fileToday() error {
	zkbCats := []string{"illness_poverty", "disability_poverty", "rural_destitute"}
	fpbCats := []string{"unstable_out_of_poverty", "marginal_at_risk", "sudden_hardship"}
	zkb, fpb, zfb := 0, 0, 0
	for i := len(r.people) - 1; i >= 0; i-- {
		p := r.people[i]
		switch {
		case zkb < 3 && hasAny(p.Categories, zkbCats):
			zkb++
			if _, err := r.file("INS", p, policies.ZKB, policies.CauseMedical, zkbFacts(r, "inpatient", r.money(12000, 80000)), r.evidence("settlement_sheet")); err != nil {
				return err
			}
		case fpb < 3 && hasAny(p.Categories, fpbCats):
			fpb++
			r.seq++
			facts := map[string]any{"household_income_per_capita": r.money(3000, 5900), "bill_ref": fmt.Sprintf("ZY%d%06d", r.year, r.seq), "self_pay": r.money(9000, 60000)}
			if _, err := r.file("INS2", p, policies.FPB, policies.CauseIllness, facts, r.evidence("settlement_sheet", "invoice")); err != nil {
				return err
			}
		case zfb < 2 && has(p.Residency, "hukou"):
			zfb++
			r.seq++
			facts := map[string]any{"incident_ref": fmt.Sprintf("YJ-%d-%04d", r.year, r.seq), "loss_class": "house_collapsed", "rooms": 2}
			if _, err := r.file("INS", p, policies.ZFB, policies.CauseDisaster, facts, r.evidence("incident_certificate")); err != nil {
				return err
			}
		}
	}
	r.seq++
	c := r.coops[0]
	facts := map[string]any{"industry": demoCooperatives[0].industry, "primary_policy_no": fmt.Sprintf("PICC-NY-%d-%05d", r.year, r.seq), "primary_claim_paid": r.money(20000, 90000)}
	_, err := r.file("INS", c, policies.CYB, policies.CauseLossTopup, facts, r.evidence("claim_settlement"))
	return err
}

// approvedWithAccount lists the demo's approved claims of prog whose payee
// has a payout account.
func (r *demoRun) approvedWithAccount(prog string) []string {
	var ids []string
	for _, c := range r.byState(claims.Approved, prog) {
		if c.Person.Account != "" {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// disbursable lists the approved claims of prog that may be paid now: in a
// notice that has ended, with no open objection and a payout account. It
// asks the service, which is the authority.
func (r *demoRun) disbursable(prog string) ([]string, error) {
	var ids []string
	for _, id := range r.approvedWithAccount(prog) {
		var v struct {
			Status     string `json:"status"`
			Objections []struct {
				Status string `json:"status"`
			} `json:"objections"`
			Notice *struct {
				EndsOn string `json:"ends_on"`
			} `json:"notice"`
		}
		if err := r.call("FIN", http.MethodGet, "/api/v1/claims/"+id, nil, http.StatusOK, &v); err != nil {
			return nil, err
		}
		open := false
		for _, o := range v.Objections {
			open = open || o.Status == "open"
		}
		if v.Status == claims.Approved && !open && v.Notice != nil && v.Notice.EndsOn < r.clock.Now().In(civil.Shanghai).Format("2006-01-02") {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// summary prints what the demo made, by plan and status, read back from
// the service.
func (r *demoRun) summary(tokensPath string) {
	counts := map[string]map[string]int{}
	for _, c := range r.claims {
		var v claimAnswer
		if err := r.call("AUD", http.MethodGet, "/api/v1/claims/"+c.ID, nil, http.StatusOK, &v); err != nil {
			continue
		}
		if counts[c.Plan] == nil {
			counts[c.Plan] = map[string]int{}
		}
		counts[c.Plan][v.Status]++
	}
	plans := make([]string, 0, len(counts))
	for p := range counts {
		plans = append(plans, p)
	}
	sort.Strings(plans)
	fmt.Fprintf(r.log, "demo: %d people and %d cooperatives in the registry, %d claims:\n", len(r.people), len(r.coops), len(r.claims))
	for _, p := range plans {
		var parts []string
		for _, st := range claims.Statuses {
			if n := counts[p][st]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", st, n))
			}
		}
		fmt.Fprintf(r.log, "  %-9s %s\n", p, strings.Join(parts, ", "))
	}
	fmt.Fprintf(r.log, "demo: tokens for every role in %s (`. %s` sets $ADMIN $FIN $FIN2 $AUD $INS $INS2)\n", tokensPath, tokensPath)
}

// writeDemoTokens writes the tokens as shell assignments, readable by the
// owner only.
func writeDemoTokens(path string, tokens map[string]string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# Huimin demo tokens, one per role (source this file: . " + path + ")\n")
	for _, role := range demoRoles {
		fmt.Fprintf(&b, "%s=%s\n", role.key, tokens[role.key])
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

const demoUsage = `usage: huimin demo [--tokens FILE] [--seed N]

Fills an empty database (HUIMIN_DB; the embedded SQLite file by default) with
a demo registry and a season of claims of all four programmes in every state,
dated relative to today, and writes a token for every role to FILE (default
huimin-data/demo-tokens.env) as shell assignments: ". FILE" sets $ADMIN,
$FIN, $FIN2, $AUD, $INS and $INS2. The same seed gives the same demo.
`

// demoCmd is `huimin demo`.
func demoCmd(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, demoUsage) }
	tokens := fs.String("tokens", filepath.Join("huimin-data", "demo-tokens.env"), "where to write the tokens")
	seed := fs.Uint64("seed", 2026, "the random seed of names, amounts and accounts")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return exitError{2}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "huimin demo: unexpected argument %q\n\n%s", fs.Arg(0), demoUsage)
		return exitError{2}
	}
	d, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	newApp := func(now func() time.Time) *server.App { return server.New(d, server.Config{Now: now}) }
	return runDemo(ctx, newApp, time.Now(), *tokens, *seed, stdout)
}

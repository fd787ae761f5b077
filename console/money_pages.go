package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/civil"
	"huimin/internal/money"
	"huimin/internal/web"
	"huimin/ledger"
	"huimin/payouts"
	"huimin/policies"
)

// This file holds the money pages: the home page, budgets and settlement,
// disbursement batches, and the ledger with its exports and verification.

type homeData struct {
	Count, Waiting int
	Total          int64
	Truncated      bool
	Budgets        []budgetRow
}

func (c *Console) home(r *request) error {
	ctx := r.Request().Context()
	var d homeData
	if r.sess.Role == "finance" {
		_, count, total, waiting, _, truncated, err := c.scanQueue(ctx, queueFilter{}, "", 0)
		if err != nil {
			return err
		}
		d.Count, d.Total, d.Waiting, d.Truncated = count, total, waiting, truncated
	}
	rows, err := c.budgetRows(ctx)
	if err != nil {
		return err
	}
	d.Budgets = rows
	return r.render(http.StatusOK, "home", "home.title", "nav.home", d)
}

// budgetRow is one plan's figures and the stacked bar that draws them.
type budgetRow struct {
	Plan policies.Plan
	B    ledger.Budget
	Bars []bar
}

// bar is one part of a stacked bar, in percent of the funded total, for
// an SVG rect (no inline styles: the pages' CSP allows none).
type bar struct {
	Key, Class string
	X, W       string
}

func percent(part, whole int64) decimal.Decimal {
	if whole <= 0 {
		return decimal.Zero
	}
	return decimal.NewFromInt(part).Mul(decimal.NewFromInt(100)).Div(decimal.NewFromInt(whole)).Round(3)
}

func barsOf(b ledger.Budget) []bar {
	parts := []struct {
		key, class string
		v          int64
	}{{"budget.paid", "paid", b.Paid}, {"budget.in_payment", "inpay", b.InPayment}, {"budget.reserved", "reserved", b.Reserved}, {"budget.available", "available", b.Available}}
	x := decimal.Zero
	var out []bar
	for _, p := range parts {
		w := percent(p.v, b.Funded)
		out = append(out, bar{Key: p.key, Class: p.class, X: x.String() + "%", W: w.String() + "%"})
		x = x.Add(w)
	}
	return out
}

func (c *Console) budgetRows(ctx context.Context) ([]budgetRow, error) {
	plans, budgets, err := c.Plans.List(ctx, policies.ListFilter{Limit: 1000})
	if err != nil {
		return nil, err
	}
	rows := make([]budgetRow, len(plans))
	for i, p := range plans {
		rows[i] = budgetRow{Plan: p, B: budgets[p.Code], Bars: barsOf(budgets[p.Code])}
	}
	return rows, nil
}

func (c *Console) budgets(r *request) error {
	rows, err := c.budgetRows(r.Request().Context())
	if err != nil {
		return err
	}
	return r.render(http.StatusOK, "budgets", "budget.title", "nav.budgets", homeData{Budgets: rows})
}

// dayBar is one day of the burn chart.
type dayBar struct {
	Date       string
	Fen        int64
	X, Y, H, W string
}

type budgetData struct {
	Row        budgetRow
	Report     policies.BudgetReport
	Days       []dayBar
	MaxFen     int64
	First      string
	Last       string
	ProRata    bool
	Waiting    []claims.View
	WaitCount  int
	WaitTotal  int64
	Ratio      string
	Settlement *payouts.Settlement
}

// chartDays is how far back the burn chart goes.
const chartDays = 90

// burn is the money committed to claims per China day over the last
// chartDays days: reservations less releases, from the plan's ledger.
func (c *Console) burn(ctx context.Context, plan string) ([]dayBar, int64, error) {
	today := civil.Today(c.Now())
	start := today.AddDays(-(chartDays - 1))
	perDay := map[civil.Date]int64{}
	f := ledger.Filter{Plan: plan, From: start, Limit: 1000}
	// A bound on the pages read keeps a page of a plan with millions of
	// entries in 90 days from taking minutes; the chart then shows the
	// first 200,000 entries' days.
	for range 200 {
		es, err := c.Ledger.Entries(ctx, f)
		if err != nil {
			return nil, 0, err
		}
		for _, e := range es {
			var sign int64
			switch e.Kind {
			case ledger.Reserve:
				sign = 1
			case ledger.Release:
				sign = -1
			default:
				continue
			}
			at, err := time.Parse(time.RFC3339Nano, e.At)
			if err != nil {
				continue
			}
			d, err := money.Parse(e.Amount)
			if err != nil {
				continue
			}
			perDay[civil.Today(at)] += sign * money.ToFen(d)
		}
		if len(es) < f.Limit {
			break
		}
		last := es[len(es)-1]
		f.After = &[2]string{last.Plan, fmt.Sprint(last.Seq)}
	}
	days := make([]dayBar, chartDays)
	var maxFen int64
	for i := range days {
		d := start.AddDays(i)
		v := max(perDay[d], 0)
		days[i] = dayBar{Date: d.String(), Fen: v}
		maxFen = max(maxFen, v)
	}
	// Bars in a 1260 × 200 drawing: 14 units a day, the tallest 190 high.
	for i := range days {
		h := int64(0)
		if maxFen > 0 {
			h = days[i].Fen * 190 / maxFen
		}
		days[i].X, days[i].W = fmt.Sprint(i*14+1), "11"
		days[i].H, days[i].Y = fmt.Sprint(h), fmt.Sprint(200-h)
	}
	return days, maxFen, nil
}

func (c *Console) budgetPage(r *request, code string, status int, opts ...func(*Page)) error {
	ctx := r.Request().Context()
	p, b, err := c.Plans.Get(ctx, code)
	if err != nil {
		return err
	}
	rep, err := c.Plans.Report(ctx, code)
	if err != nil {
		return err
	}
	d := budgetData{Row: budgetRow{Plan: p, B: b, Bars: barsOf(b)}, Report: rep, ProRata: p.BudgetPolicy == policies.ProRata}
	if d.Days, d.MaxFen, err = c.burn(ctx, code); err != nil {
		return err
	}
	d.First, d.Last = d.Days[0].Date, d.Days[len(d.Days)-1].Date
	if d.ProRata {
		// The claims a settlement would share the budget among: approved
		// and not yet reserved.
		approved, err := c.allClaims(ctx, claims.Filter{Plan: code, Status: claims.Approved})
		if err != nil {
			return err
		}
		for _, v := range approved {
			if v.ReservedAmount.Fen() == 0 {
				d.WaitCount++
				d.WaitTotal += v.Payable.Fen()
				if len(d.Waiting) < 100 {
					d.Waiting = append(d.Waiting, v)
				}
			}
		}
		d.Ratio = ratio(b.Available, d.WaitTotal)
	}
	return r.render(status, "budget", "budget.title", "nav.budgets", d, opts...)
}

// allClaims reads every claim of a filter, newest first, up to 10,000.
func (c *Console) allClaims(ctx context.Context, f claims.Filter) ([]claims.View, error) {
	var out []claims.View
	f.Limit = 500
	for len(out) < payouts.MaxBatchClaims {
		vs, err := c.Claims.List(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
		if len(vs) < f.Limit {
			break
		}
		f.Before = vs[len(vs)-1].ID
	}
	return out, nil
}

func (c *Console) budget(r *request) error {
	code := r.Param("code")
	if !web.IsPlanCode(code) {
		return r.fail(http.StatusNotFound, r.T("err.not_found"))
	}
	return c.budgetPage(r, code, http.StatusOK)
}

func (c *Console) settle(r *request) error {
	code := r.Param("code")
	if !web.IsPlanCode(code) {
		return r.fail(http.StatusNotFound, r.T("err.not_found"))
	}
	s, err := c.Payouts.Settle(r.Request().Context(), r.who(), code)
	if err != nil {
		status, msg, fields := r.problemOf(err)
		return c.budgetPage(r, code, status, withProblem(msg, fields...))
	}
	return c.budgetPage(r, code, http.StatusOK, withNotice(r.Tf("budget.settle.done", s.Index, s.Claims, yuan(s.TotalPayable), yuan(s.TotalReserved))))
}

// Disbursements.

type batchesData struct {
	Batches []payouts.BatchView
	Next    string
	Plans   []policies.Plan
}

// disbursements lists recent batches. payouts has no list of batches; the
// audit log records each batch's creation (disbursement.create, target the
// batch id), so the list pages through those records, newest first, and
// reads each batch.
func (c *Console) disbursements(r *request) error {
	ctx := r.Request().Context()
	lq := web.ListQuery{Limit: 20}
	if cur := r.QueryParam("before"); web.IsID(cur) {
		lq.Cursor = []string{cur}
	}
	recs, err := c.Payouts.Audit(ctx, "", "disbursement.create", lq)
	if err != nil {
		return err
	}
	d := batchesData{}
	if len(recs) > lq.Limit {
		recs = recs[:lq.Limit]
		d.Next = recs[len(recs)-1].ID
	}
	for _, rec := range recs {
		if !web.IsID(rec.Target) || !strings.Contains(rec.Outcome, "claims") {
			continue // a refused attempt names the plan, not a batch
		}
		b, err := c.Payouts.Batch(ctx, rec.Target)
		if err != nil {
			continue
		}
		d.Batches = append(d.Batches, b)
	}
	if d.Plans, _, err = c.planList(ctx); err != nil {
		return err
	}
	return r.render(http.StatusOK, "disbursements", "disb.title", "nav.disbursements", d)
}

type newBatchData struct {
	Plans      []policies.Plan
	Plan       string
	Candidates []queueRow
	Checked    map[string]bool
	Total      int64
}

func (c *Console) newBatchPage(r *request, plan string, chosen []string, status int, opts ...func(*Page)) error {
	ctx := r.Request().Context()
	plans, _, err := c.planList(ctx)
	if err != nil {
		return err
	}
	d := newBatchData{Plans: plans, Plan: plan, Checked: map[string]bool{}}
	if plan != "" {
		approved, err := c.allClaims(ctx, claims.Filter{Plan: plan, Status: claims.Approved})
		if err != nil {
			return err
		}
		people := make([]string, len(approved))
		for i, v := range approved {
			people[i] = v.BeneficiaryID
		}
		nm := c.names(ctx, people)
		slices.Reverse(approved) // oldest first
		for _, v := range approved {
			if v.ReservedAmount.Fen() == 0 {
				continue // a pro-rata claim awaiting its share
			}
			d.Candidates = append(d.Candidates, queueRow{View: v, Name: nm[v.BeneficiaryID]})
			if len(chosen) == 0 || slices.Contains(chosen, v.ID) {
				d.Checked[v.ID] = true
				d.Total += v.ReservedAmount.Fen()
			}
		}
	}
	return r.render(status, "batch_new", "disb.new", "nav.disbursements", d, opts...)
}

func (c *Console) newBatch(r *request) error {
	plan := r.QueryParam("plan")
	if plan != "" && !web.IsPlanCode(plan) {
		plan = ""
	}
	var chosen []string
	for _, id := range strings.Split(r.QueryParam("claims"), ",") {
		if web.IsID(id) {
			chosen = append(chosen, id)
		}
	}
	return c.newBatchPage(r, plan, chosen, http.StatusOK)
}

func (c *Console) createBatch(r *request) error {
	form, err := r.FormParams()
	if err != nil {
		return err
	}
	in := payouts.DisburseInput{Plan: form.Get("plan"), ClaimIDs: form["id"]}
	b, err := c.Payouts.Disburse(r.Request().Context(), r.who(), in)
	if err != nil {
		status, msg, fields := r.problemOf(err)
		plan := in.Plan
		if !web.IsPlanCode(plan) {
			plan = ""
		}
		return c.newBatchPage(r, plan, in.ClaimIDs, status, withProblem(msg, fields...))
	}
	return r.Redirect(http.StatusSeeOther, "/console/disbursements/"+b.ID+"?msg=batch_created")
}

type batchData struct {
	B         payouts.BatchView
	Failed    []string
	Pending   int
	Rebatch   string
	HasRoster bool
}

func (c *Console) batchPage(r *request, id string, status int, opts ...func(*Page)) error {
	ctx := r.Request().Context()
	b, err := c.Payouts.Batch(ctx, id)
	if err != nil {
		return err
	}
	d := batchData{B: b, HasRoster: true}
	for _, it := range b.Items {
		switch it.Status {
		case payouts.ItemFailed:
			d.Failed = append(d.Failed, it.ClaimID)
		case payouts.ItemInPayment:
			d.Pending++
		}
	}
	if len(d.Failed) > 0 {
		d.Rebatch = "/console/disbursements/new?plan=" + b.Plan + "&claims=" + strings.Join(d.Failed, ",")
	}
	return r.render(status, "batch", "disb.batch", "nav.disbursements", d, opts...)
}

func (c *Console) batch(r *request) error {
	id := r.Param("id")
	if !web.IsID(id) {
		return r.fail(http.StatusNotFound, r.T("err.not_found"))
	}
	return c.batchPage(r, id, http.StatusOK)
}

// bankFile is the batch's bank file, through the same payouts.BankFile the
// API's ?format=csv uses (audited there as disbursement.bank_file).
func (c *Console) bankFile(r *request) error {
	id := r.Param("id")
	if !web.IsID(id) {
		return r.fail(http.StatusNotFound, r.T("err.not_found"))
	}
	f, err := c.Payouts.BankFile(r.Request().Context(), r.who(), id)
	if err != nil {
		return err
	}
	r.Response().Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "disbursement-" + f.BatchID + ".csv"}))
	return r.Blob(http.StatusOK, "text/csv; charset=utf-8", f.CSV)
}

// results records the bank's results from the form: for each item still in
// payment, an outcome with a bank reference (paid) or a reason (failed).
// Items left without an outcome are not sent.
func (c *Console) results(r *request) error {
	id := r.Param("id")
	if !web.IsID(id) {
		return r.fail(http.StatusNotFound, r.T("err.not_found"))
	}
	form, err := r.FormParams()
	if err != nil {
		return err
	}
	var in payouts.ResultsInput
	for _, claimID := range form["claim"] {
		outcome := form.Get("outcome_" + claimID)
		if outcome == "" {
			continue
		}
		res := payouts.Result{ClaimID: claimID, Outcome: outcome}
		if outcome == payouts.ItemPaid {
			res.BankReference = strings.TrimSpace(form.Get("ref_" + claimID))
		} else {
			res.Reason = strings.TrimSpace(form.Get("reason_" + claimID))
		}
		in.Results = append(in.Results, res)
	}
	if len(in.Results) == 0 {
		return c.batchPage(r, id, http.StatusUnprocessableEntity, withProblem(r.T("disb.no_results")))
	}
	if _, err := c.Payouts.RecordResults(r.Request().Context(), r.who(), id, in); err != nil {
		status, msg, fields := r.problemOf(err)
		// A field is named by its index in what was sent: say which claim.
		for i := range fields {
			for j, res := range in.Results {
				p := fmt.Sprintf("results[%d]", j)
				if strings.HasPrefix(fields[i].Field, p+".") || fields[i].Field == p {
					fields[i].Field = res.ClaimID + strings.TrimPrefix(fields[i].Field, p)
				}
			}
		}
		return c.batchPage(r, id, status, withProblem(msg, fields...))
	}
	return r.Redirect(http.StatusSeeOther, "/console/disbursements/"+id+"?msg=results_recorded")
}

// resultsFile records the bank's result file uploaded from the batch page,
// through payouts.RecordResultsFile: the API's rules exactly (a file with
// any bad row records nothing, and the page lists each bad row).
func (c *Console) resultsFile(r *request) error {
	id := r.Param("id")
	if !web.IsID(id) {
		return r.fail(http.StatusNotFound, r.T("err.not_found"))
	}
	fh, err := r.FormFile("file")
	if err != nil {
		return c.batchPage(r, id, http.StatusUnprocessableEntity, withProblem(r.T("disb.no_results")))
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return err
	}
	if len(data) > 1<<20 {
		return c.batchPage(r, id, http.StatusRequestEntityTooLarge, withProblem(r.T("disb.file_too_large")))
	}
	contentType := fh.Header.Get("Content-Type")
	if strings.HasSuffix(strings.ToLower(fh.Filename), ".xlsx") {
		contentType = ledger.ContentTypes[ledger.FormatXLSX]
	} else if !strings.HasPrefix(contentType, "text/") && contentType != ledger.ContentTypes[ledger.FormatXLSX] {
		contentType = "text/csv" // a browser's guess for .csv (application/vnd.ms-excel): the charset is detected
	}
	_, preview, err := c.Payouts.RecordResultsFile(r.Request().Context(), r.who(), id, data, contentType)
	if errors.Is(err, payouts.ErrResultRows) {
		fields := make([]apperr.FieldError, len(preview.Errors))
		for i, e := range preview.Errors {
			fields[i] = apperr.FieldError{Field: fmt.Sprintf("%s:%d %s", fh.Filename, e.Line, e.Field), Message: e.Message}
		}
		return c.batchPage(r, id, http.StatusUnprocessableEntity, withProblem(r.T("disb.file_bad_rows"), fields...))
	}
	if err != nil {
		status, msg, fields := r.problemOf(err)
		return c.batchPage(r, id, status, withProblem(msg, fields...))
	}
	return r.Redirect(http.StatusSeeOther, "/console/disbursements/"+id+"?msg=results_recorded")
}

// roster is the batch's 发放清册 (XLSX), through payouts.Roster, audited
// there as disbursement.roster.
func (c *Console) roster(r *request) error {
	id := r.Param("id")
	if !web.IsID(id) {
		return r.fail(http.StatusNotFound, r.T("err.not_found"))
	}
	ro, err := c.Payouts.Roster(r.Request().Context(), r.who(), id, payouts.RosterXLSX)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := ro.WriteXLSX(&buf); err != nil {
		return err
	}
	r.Response().Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "roster-" + id + ".xlsx"}))
	return r.Blob(http.StatusOK, ledger.ContentTypes[ledger.FormatXLSX], buf.Bytes())
}

// The ledger.

type ledgerData struct {
	Plans   []policies.Plan
	Plan    string
	V       *ledger.Verification
	BadSeq  int64
	Entries []ledger.EntryView
	Next    string
}

const ledgerPageSize = 50

func (c *Console) ledgerPage(r *request) error {
	ctx := r.Request().Context()
	plans, _, err := c.planList(ctx)
	if err != nil {
		return err
	}
	d := ledgerData{Plans: plans, Plan: r.QueryParam("plan")}
	if d.Plan != "" && !web.IsPlanCode(d.Plan) {
		d.Plan = ""
	}
	if d.Plan != "" {
		v, err := c.Ledger.Verify(ctx, d.Plan)
		if apperr.KindOf(err) == apperr.ErrNotFound {
			return r.fail(http.StatusNotFound, r.T("err.not_found"))
		}
		if err != nil {
			return err
		}
		d.V = &v
		if v.FirstBadSeq != nil {
			d.BadSeq = *v.FirstBadSeq
		}
		f := ledger.Filter{Plan: d.Plan, Limit: ledgerPageSize + 1}
		if after := r.QueryParam("after"); after != "" {
			var seq int64
			if _, err := fmt.Sscan(after, &seq); err == nil && seq > 0 {
				f.After = &[2]string{d.Plan, fmt.Sprint(seq)}
			}
		}
		if d.Entries, err = c.Ledger.Entries(ctx, f); err != nil {
			return err
		}
		if len(d.Entries) > ledgerPageSize {
			d.Entries = d.Entries[:ledgerPageSize]
			d.Next = fmt.Sprint(d.Entries[len(d.Entries)-1].Seq)
		}
	}
	return r.render(http.StatusOK, "ledger", "ledger.title", "nav.ledger", d)
}

// ledgerExport streams an export as the API's does, and writes the same
// audit record (ledger.export) before the first byte.
func (c *Console) ledgerExport(r *request) error {
	ctx := r.Request().Context()
	plan, format, lang := r.QueryParam("plan"), r.QueryParam("format"), r.QueryParam("headers")
	if _, ok := ledger.ContentTypes[format]; !ok {
		format = ledger.FormatCSV
	}
	if lang != ledger.LangZH {
		lang = ledger.LangEN
	}
	if plan != "" && !web.IsPlanCode(plan) {
		return r.fail(http.StatusNotFound, r.T("err.not_found"))
	}
	if err := c.DB.Tx(ctx, func(tx *gorm.DB) error {
		return audit.Write(ctx, tx, c.Now(), r.who(), "ledger.export", plan, format)
	}); err != nil {
		return err
	}
	filename := "ledger"
	if plan != "" {
		filename += "-" + plan
	}
	h := r.Response().Header()
	h.Set("Content-Type", ledger.ContentTypes[format])
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename + "." + format}))
	r.Response().WriteHeader(http.StatusOK)
	if err := c.Ledger.ExportLang(ctx, ledger.Filter{Plan: plan}, format, lang, r.Response()); err != nil {
		return fmt.Errorf("console ledger export interrupted: %w", err)
	}
	return nil
}

type verifyData struct {
	Done    bool
	Rows    int
	BadLine int
	Reason  string
	File    string
}

func (c *Console) verifyPage(r *request) error {
	return r.render(http.StatusOK, "verify", "verify.title", "nav.verify", verifyData{})
}

// verifyFile checks an uploaded export offline, with ledger.VerifyExport:
// the same check as `huimin ledger verify`.
func (c *Console) verifyFile(r *request) error {
	fh, err := r.FormFile("file")
	if err != nil {
		return r.render(http.StatusUnprocessableEntity, "verify", "verify.title", "nav.verify", verifyData{}, withProblem(r.T("verify.none")))
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	rows, bad, reason, err := ledger.VerifyExport(f)
	d := verifyData{Done: true, Rows: rows, BadLine: bad, Reason: reason, File: fh.Filename}
	if err != nil {
		d.BadLine, d.Reason = max(bad, 1), err.Error()
	}
	return r.render(http.StatusOK, "verify", "verify.title", "nav.verify", d)
}

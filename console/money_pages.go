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
	"huimin/internal/mask"
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
	Budgets        []budgetRow
}

func (c *Console) home(r *request) error {
	ctx := r.Request().Context()
	var d homeData
	if r.sess.Role == "finance" {
		q, err := c.Claims.Queue(ctx, claims.QueueFilter{}, "", 0)
		if err != nil {
			return err
		}
		d.Count, d.Total, d.Waiting = q.Count, q.TotalFen, q.Waiting
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

// settlePageSize is how many shares a page of the preview lists; the
// totals at its top are the whole settlement's.
const settlePageSize = 100

// settleRow is one share of the preview as the page shows it.
type settleRow struct {
	payouts.SettlementShare
	N      int    // its position in the whole settlement, from 1
	Masked string // the beneficiary's id, masked
	Name   string // and name, masked
}

type settlePreviewData struct {
	Plan     policies.Plan
	P        payouts.SettlementPreview
	Ratio    string // as a percentage
	Left     int64  // available after the settlement, fen
	Zero     int    // claims whose share rounds down to 0.00
	Rows     []settleRow
	From, To int
	Next     string // the claim id after which the next page starts
	Later    bool   // not the first page
}

// settlePreview shows every share the settlement would reserve now, a page
// at a time in claim id order (?after= the last id of the page before),
// with the whole settlement's totals and the form that confirms it with the
// basis's fingerprint.
func (c *Console) settlePreview(r *request) error {
	code := r.Param("code")
	if !web.IsPlanCode(code) {
		return r.fail(http.StatusNotFound, r.T("err.not_found"))
	}
	after := r.QueryParam("after")
	if !web.IsID(after) {
		after = ""
	}
	return c.settlePreviewPage(r, code, after, http.StatusOK)
}

func (c *Console) settlePreviewPage(r *request, code, after string, status int, opts ...func(*Page)) error {
	ctx := r.Request().Context()
	p, _, err := c.Plans.Get(ctx, code)
	if err != nil {
		return err
	}
	prev, err := c.Payouts.PreviewSettlement(ctx, code)
	if err != nil {
		return c.settleProblem(r, code, err)
	}
	d := settlePreviewData{Plan: p, P: prev, Ratio: ratio(prev.Available.Fen(), prev.TotalPayable.Fen()),
		Left: prev.Available.Fen() - prev.TotalReserved.Fen()}
	for _, sh := range prev.Shares {
		if sh.Share.Fen() == 0 {
			d.Zero++
		}
	}
	// Shares are in claim id order: the page starts after the given id.
	start, _ := slices.BinarySearchFunc(prev.Shares, after, func(sh payouts.SettlementShare, id string) int {
		return strings.Compare(sh.ClaimID, id)
	})
	if after != "" && start < len(prev.Shares) && prev.Shares[start].ClaimID == after {
		start++
	}
	end := min(start+settlePageSize, len(prev.Shares))
	page := prev.Shares[start:end]
	people := make([]string, len(page))
	for i, sh := range page {
		people[i] = sh.BeneficiaryID
	}
	nm := c.names(ctx, people)
	for i, sh := range page {
		d.Rows = append(d.Rows, settleRow{SettlementShare: sh, N: start + i + 1, Masked: mask.ID(sh.BeneficiaryID), Name: nm[sh.BeneficiaryID]})
	}
	d.From, d.To, d.Later = start+1, end, start > 0
	if end < len(prev.Shares) {
		d.Next = page[len(page)-1].ClaimID
	}
	return r.render(status, "settle_preview", "settle.title", "nav.budgets", d, opts...)
}

// settle commits the settlement the clerk previewed: payouts.SettlePreviewed
// settles exactly as the API's Settle does (one transaction with its ledger
// entries and audit record) when the basis is still the preview's, and
// refuses with 409 when a claim or the budget changed since; the page is
// then the preview again, computed anew.
func (c *Console) settle(r *request) error {
	code := r.Param("code")
	if !web.IsPlanCode(code) {
		return r.fail(http.StatusNotFound, r.T("err.not_found"))
	}
	s, err := c.Payouts.SettlePreviewed(r.Request().Context(), r.who(), code, r.FormValue("basis"))
	if errors.Is(err, payouts.ErrBasisChanged) {
		return c.settlePreviewPage(r, code, "", http.StatusConflict, withProblem(r.T("settle.changed")))
	}
	if err != nil {
		return c.settleProblem(r, code, err)
	}
	return c.budgetPage(r, code, http.StatusOK, withNotice(r.Tf("budget.settle.done", s.Index, s.Claims, yuan(s.TotalPayable), yuan(s.TotalReserved))))
}

// settleProblem is the budget page with what kept the plan from being
// previewed or settled; a plan that is not pro_rata says so in words.
func (c *Console) settleProblem(r *request, code string, err error) error {
	status, msg, fields := r.problemOf(err)
	if apperr.KindOf(err) == apperr.ErrInvalidState {
		msg = r.T("settle.first_come")
	}
	return c.budgetPage(r, code, status, withProblem(msg, fields...))
}

// The words of the settlement preview (merged into the catalogue with
// zhAdmin, import_pages.go).
var zhSettle = map[string]string{
	"settle.title":          "按比例分配预览",
	"settle.open":           "预览分配",
	"settle.intro":          "以下是按当前数据计算的每件理赔的分配额，确认后即按这些金额预留。如果预览后有理赔被批准或撤销、或预算有变动，确认将被拒绝，需要重新预览。",
	"settle.claims":         "理赔件数",
	"settle.total_payable":  "应付合计",
	"settle.available":      "可用预算",
	"settle.ratio":          "分配比例",
	"settle.total_reserved": "本次预留合计",
	"settle.left":           "分配后剩余可用",
	"settle.zero":           "其中 %d 件理赔的分配额不足 1 分，本次不预留，追加预算后可再次分配。",
	"settle.share":          "分配金额",
	"settle.range":          "第 %d–%d 件，共 %d 件",
	"settle.basis":          "数据指纹",
	"settle.confirm":        "确认结算",
	"settle.confirm_ask":    "确认按预览的金额预留预算？",
	"settle.back":           "返回预算",
	"settle.changed":        "预览后数据已变化，请重新预览",
	"settle.first_come":     "该计划按先到先得方式在批准时预留预算，无需按比例分配。",
}

var enSettle = map[string]string{
	"settle.title":          "Pro-rata settlement preview",
	"settle.open":           "Preview the settlement",
	"settle.intro":          "These are the shares the settlement would reserve on the current data; confirming reserves exactly these amounts. If a claim is approved or revoked, or the budget moves, after this preview, confirming is refused and the settlement must be previewed again.",
	"settle.claims":         "Claims",
	"settle.total_payable":  "Total payable",
	"settle.available":      "Available",
	"settle.ratio":          "Ratio",
	"settle.total_reserved": "Reserved in total",
	"settle.left":           "Available afterwards",
	"settle.zero":           "%d of the claims get a share below one fen: nothing is reserved for them this time; a settlement after a top-up includes them.",
	"settle.share":          "Share",
	"settle.range":          "Claims %d–%d of %d",
	"settle.basis":          "Fingerprint",
	"settle.confirm":        "Confirm the settlement",
	"settle.confirm_ask":    "Reserve the previewed amounts?",
	"settle.back":           "Back to the budget",
	"settle.changed":        "The data changed after the preview: preview again.",
	"settle.first_come":     "This plan reserves its budget first come, first served, at each approval: there is nothing to settle pro rata.",
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

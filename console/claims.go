package console

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/mask"
	"huimin/internal/money"
	"huimin/internal/web"
	"huimin/payouts"
	"huimin/policies"
)

// queueFilter is the approval queue's filter, as typed into the form.
type queueFilter struct {
	Plan, Programme, County, Cause, Min, Max string
	minFen, maxFen                           *int64
}

// queueRow is one claim of the queue.
type queueRow struct {
	claims.View
	Name          string // masked
	NeedsTwo      bool   // the payable reaches the plan's dual approval threshold
	WaitingSecond bool   // one approval given, the second awaited
}

type queueData struct {
	F          queueFilter
	Plans      []policies.Plan
	Programmes []policies.Programme
	Causes     []string
	Rows       []queueRow
	Count      int
	Total      int64
	Waiting    int
	Next       string     // the cursor of the next page, "" on the last
	After      string     // the cursor of this page, "" on the first
	Query      url.Values // the filter, for the paging links (PageURL)
}

// PageURL is the queue with the same filter, after the claim id after
// ("" for the first page). It is built here, whole, because html/template
// would escape a query string given to it as text, dropping the filter
// from the link.
func (d queueData) PageURL(after string) string {
	return pageURL("/console/queue", d.Query, "after", after)
}

// pageURL is path with the filter q, and the cursor under key unless it is
// "" (the first page).
func pageURL(path string, q url.Values, key, cursor string) string {
	out := url.Values{}
	for k, v := range q {
		out[k] = v
	}
	if cursor != "" {
		out.Set(key, cursor)
	}
	if len(out) == 0 {
		return path
	}
	return path + "?" + out.Encode()
}

// queuePage is the queue's page size.
const queuePage = 50

// claimsFilter is the filter as the claims service takes it.
func (f queueFilter) claimsFilter() claims.QueueFilter {
	return claims.QueueFilter{Plan: f.Plan, Programme: f.Programme, County: f.County, Cause: f.Cause, MinFen: f.minFen, MaxFen: f.maxFen}
}

// readQueueFilter reads and checks the filter; a bad value is a message.
func (r *request) readQueueFilter() (queueFilter, string) {
	f := queueFilter{Plan: r.QueryParam("plan"), Programme: r.QueryParam("programme"), County: r.QueryParam("county"),
		Cause: r.QueryParam("cause"), Min: strings.TrimSpace(r.QueryParam("min")), Max: strings.TrimSpace(r.QueryParam("max"))}
	// Codes are matched exactly (DESIGN §10): a malformed one selects nothing.
	if f.Plan != "" && !web.IsPlanCode(f.Plan) {
		f.Plan = ""
	}
	if _, ok := policies.ProgrammeByCode(f.Programme); !ok {
		f.Programme = ""
	}
	if _, ok := policies.CountyName(f.County); !ok {
		f.County = ""
	}
	if !web.IsCode(f.Cause, 40) {
		f.Cause = ""
	}
	for _, a := range []struct {
		s     string
		dst   **int64
		label string
	}{{f.Min, &f.minFen, "queue.min"}, {f.Max, &f.maxFen, "queue.max"}} {
		if a.s == "" {
			continue
		}
		d, err := money.Parse(strings.ReplaceAll(strings.TrimPrefix(a.s, "¥"), ",", ""))
		if err != nil {
			return f, r.Tf("queue.bad_field", r.T(a.label), r.T("queue.bad_amount"))
		}
		fen := money.ToFen(d)
		*a.dst = &fen
	}
	return f, ""
}

func (f queueFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"plan": f.Plan, "programme": f.Programme, "county": f.County, "cause": f.Cause, "min": f.Min, "max": f.Max} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// thresholds are the plans' dual approval thresholds in fen, by code.
func (c *Console) planList(ctx context.Context) ([]policies.Plan, map[string]policies.Plan, error) {
	plans, _, err := c.Plans.List(ctx, policies.ListFilter{Limit: 1000})
	if err != nil {
		return nil, nil, err
	}
	by := make(map[string]policies.Plan, len(plans))
	for _, p := range plans {
		by[p.Code] = p
	}
	return plans, by, nil
}

// names returns the registry names of people, masked, by id.
func (c *Console) names(ctx context.Context, ids []string) map[string]string {
	out := map[string]string{}
	if len(ids) == 0 {
		return out
	}
	people, err := policies.LoadBeneficiaries(ctx, c.DB.DB, ids)
	if err != nil {
		return out // names are a courtesy: the page still shows the masked ids
	}
	for id, b := range people {
		out[id] = displayName(b.Name)
	}
	return out
}

func (c *Console) queue(r *request) error {
	ctx := r.Request().Context()
	f, bad := r.readQueueFilter()
	plans, byCode, err := c.planList(ctx)
	if err != nil {
		return err
	}
	d := queueData{F: f, Plans: plans, Programmes: policies.Programmes(), Query: f.query()}
	for _, p := range d.Programmes {
		for _, cause := range p.Causes {
			if !slices.Contains(d.Causes, cause) {
				d.Causes = append(d.Causes, cause)
			}
		}
	}
	var opts []func(*Page)
	if bad != "" {
		opts = append(opts, withProblem(bad))
		return r.render(http.StatusUnprocessableEntity, "queue", "queue.title", "nav.queue", d, opts...)
	}
	after := r.QueryParam("after")
	if after != "" && !web.IsID(after) {
		after = ""
	}
	d.After = after
	q, err := c.Claims.Queue(ctx, f.claimsFilter(), after, queuePage)
	if err != nil {
		return err
	}
	d.Count, d.Total, d.Waiting, d.Next = q.Count, q.TotalFen, q.Waiting, q.Next
	people := make([]string, len(q.Claims))
	for i, v := range q.Claims {
		people[i] = v.BeneficiaryID
	}
	nm := c.names(ctx, people)
	for _, v := range q.Claims {
		row := queueRow{View: v, Name: nm[v.BeneficiaryID], WaitingSecond: len(v.Approvals) > 0}
		if p, ok := byCode[v.Plan]; ok {
			row.NeedsTwo = v.Payable.Fen() >= money.ToFen(p.DualApprovalThreshold)
		}
		d.Rows = append(d.Rows, row)
	}
	return r.render(http.StatusOK, "queue", "queue.title", "nav.queue", d, opts...)
}

// maxBulkApprove bounds one "approve selected".
const maxBulkApprove = 500

type approveResult struct {
	ID      string
	OK      bool
	Message string
	View    claims.View
}

type approveResults struct {
	Results []approveResult
	OK, Bad int
}

// approveMany approves the selected claims, each through the same
// payouts.Approve an API call makes, and shows each one's outcome. They run
// side by side so that the approvals share group commits.
func (c *Console) approveMany(r *request) error {
	form, err := r.FormParams()
	if err != nil {
		return err
	}
	var ids []string
	for _, id := range form["id"] {
		if web.IsID(id) && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return r.fail(http.StatusUnprocessableEntity, r.T("queue.none_selected"))
	}
	if len(ids) > maxBulkApprove {
		return r.fail(http.StatusUnprocessableEntity, r.Tf("queue.too_many", maxBulkApprove))
	}
	results := make([]approveResult, len(ids))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			v, err := c.Payouts.Approve(r.Request().Context(), r.who(), id)
			res := approveResult{ID: id, View: v, OK: err == nil}
			switch {
			case err != nil:
				_, res.Message, _ = r.problemOf(err)
			case v.Status == claims.Assessed:
				res.Message = r.T("msg.first_approval")
			default:
				res.Message = r.T("msg.approved")
			}
			results[i] = res
		}()
	}
	wg.Wait()
	d := approveResults{Results: results}
	for _, res := range results {
		if res.OK {
			d.OK++
		} else {
			d.Bad++
		}
	}
	return r.render(http.StatusOK, "queue_results", "queue.results", "nav.queue", d)
}

// fact is one fact of a claim as the page shows it.
type fact struct {
	Key, Value string
	Money      bool
}

type claimData struct {
	V         claims.View
	Plan      policies.Plan
	Name      string
	Known     bool
	IDMasked  string
	Facts     []fact
	NeedsTwo  bool
	Threshold string
	CanAct    bool
	Steps     []step
	Audit     []auditLine // the claim's audit records, oldest first
	AuditMore bool        // the claim has older records than Audit shows
}

// auditLine is one audit record of a claim as its page shows it.
type auditLine struct {
	At                    int64 // Unix ms
	Actor, Role, Action   string
	Outcome               string // in the page's language
	RequestID, OutcomeRaw string
}

// claimAuditMax is how many of a claim's audit records its page shows: the
// newest, which hold every change of state; a claim refused more often than
// that shows its latest attempts.
const claimAuditMax = 100

// claimAudit reads the audit records whose target is the claim, oldest
// first. Every claim transition writes one under the claim id (claim.submit
// for a claim filed alone, claim.approve, claim.decline, claim.revoke,
// claim.withdraw, refusals included); a claim filed in a batch has its
// batch's record instead (claim.batch, targeted at the batch's items).
func (c *Console) claimAudit(r *request, id string) ([]auditLine, bool, error) {
	recs, err := audit.List(r.Request().Context(), c.DB.DB, audit.Filter{Target: id, Limit: claimAuditMax + 1})
	if err != nil {
		return nil, false, err
	}
	more := len(recs) > claimAuditMax
	if more {
		recs = recs[:claimAuditMax]
	}
	out := make([]auditLine, len(recs))
	for i, rec := range recs {
		out[len(recs)-1-i] = auditLine{At: rec.At, Actor: rec.Actor, Role: rec.Role, Action: rec.Action,
			Outcome: r.auditOutcome(rec.Outcome), RequestID: rec.RequestID, OutcomeRaw: rec.Outcome}
	}
	return out, more, nil
}

// auditOutcome says a claim record's outcome in the page's language. The
// services write a status ("approved"), first_approval, "refused: <error
// code>" or "<status>: <reason typed by the approver>"; the codes become
// words, the reason stays as typed, anything else shows as stored.
func (r *request) auditOutcome(o string) string {
	word := func(key string) (string, bool) { s, ok := catalog[r.lang][key]; return s, ok }
	if s, ok := word("status." + o); ok {
		return s
	}
	if o == "first_approval" {
		return r.T("outcome.first_approval")
	}
	head, rest, found := strings.Cut(o, ": ")
	if !found {
		return o
	}
	if head == "refused" {
		if s, ok := word("err." + rest); ok {
			return r.Tf("outcome.refused", s)
		}
		return r.Tf("outcome.refused", rest)
	}
	if s, ok := word("status." + head); ok {
		return s + r.T("outcome.sep") + rest
	}
	return o
}

type step struct {
	Text   string
	Amount money.Amount
}

var moneyFact = regexp.MustCompile(`^[0-9]+\.[0-9]{2}$`)

// factsOf reads a claim's facts in the order they are stored.
func factsOf(raw json.RawMessage) []fact {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var out []fact
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return out
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return out
		}
		f := fact{Key: k.(string)}
		switch x := v.(type) {
		case string:
			f.Value, f.Money = x, moneyFact.MatchString(x)
		case json.Number:
			f.Value = x.String()
		case bool:
			f.Value = map[bool]string{true: "true", false: "false"}[x]
		default:
			b, _ := json.Marshal(x)
			f.Value = string(b)
		}
		out = append(out, f)
	}
	return out
}

// claimPage renders a claim, with a message when an action just ran.
func (c *Console) claimPage(r *request, id string, status int, opts ...func(*Page)) error {
	ctx := r.Request().Context()
	v, err := c.Claims.Get(ctx, "", id)
	if apperr.KindOf(err) == apperr.ErrNotFound {
		return r.fail(http.StatusNotFound, r.T("claim.not_found"))
	}
	if err != nil {
		return err
	}
	d := claimData{V: v, Facts: factsOf(v.Facts), IDMasked: mask.ID(v.BeneficiaryID)}
	if p, _, err := c.Plans.Get(ctx, v.Plan); err == nil {
		d.Plan = p
		d.NeedsTwo = v.Payable.Fen() >= money.ToFen(p.DualApprovalThreshold)
		d.Threshold = yuan(p.DualApprovalThreshold)
	}
	if n, ok := c.names(ctx, []string{v.BeneficiaryID})[v.BeneficiaryID]; ok {
		d.Name, d.Known = n, true
	}
	d.CanAct = r.sess.Role == "finance"
	for _, s := range v.Breakdown {
		t, _ := stepText(r.lang, s.Description)
		d.Steps = append(d.Steps, step{Text: t, Amount: s.Amount})
	}
	if d.Audit, d.AuditMore, err = c.claimAudit(r, id); err != nil {
		return err
	}
	return r.render(status, "claim", "claim.title", "nav.queue", d, opts...)
}

func (c *Console) claim(r *request) error {
	id := r.Param("id")
	if !web.IsID(id) {
		return r.fail(http.StatusNotFound, r.T("claim.not_found"))
	}
	return c.claimPage(r, id, http.StatusOK)
}

// act runs a claim transition and shows the claim again: 303 to it with a
// message on success, the claim with the problem otherwise.
func (c *Console) act(r *request, run func(id string) (claims.View, error), done func(claims.View) string) error {
	id := r.Param("id")
	if !web.IsID(id) {
		return r.fail(http.StatusNotFound, r.T("claim.not_found"))
	}
	v, err := run(id)
	if err != nil {
		status, msg, fields := r.problemOf(err)
		return c.claimPage(r, id, status, withProblem(msg, fields...))
	}
	return r.Redirect(http.StatusSeeOther, "/console/claims/"+id+"?msg="+done(v))
}

func (c *Console) approve(r *request) error {
	return c.act(r, func(id string) (claims.View, error) {
		return c.Payouts.Approve(r.Request().Context(), r.who(), id)
	}, func(v claims.View) string {
		if v.Status == claims.Assessed {
			return "first_approval"
		}
		return "approved"
	})
}

func (c *Console) decline(r *request) error {
	return c.act(r, func(id string) (claims.View, error) {
		return c.Payouts.Decline(r.Request().Context(), r.who(), id, payouts.ReasonInput{Reason: r.FormValue("reason")})
	}, func(claims.View) string { return "declined" })
}

func (c *Console) revoke(r *request) error {
	return c.act(r, func(id string) (claims.View, error) {
		return c.Payouts.Revoke(r.Request().Context(), r.who(), id, payouts.ReasonInput{Reason: r.FormValue("reason")})
	}, func(claims.View) string { return "revoked" })
}

// Package prevention is prevention and planning (DESIGN §20): the rules of
// the claims pipeline applied to what no one has claimed, changing nothing
// they read. The what-if (政策测算) re-assesses a plan's claims under
// proposed rules (claims.Simulate); the early warning (防贫预警) imports the
// 医保 system's medical settlement records and lists, per cap subject, the
// bills a claim would be paid for now but for which none was filed
// (claims.Judge), with the follow-up of each warning (visited, claimed,
// dismissed) and a claim draft for the insurer.
//
// It owns the tables medical_records and warnings, and reads claims,
// plans and the registry only through their packages.
package prevention

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/db"
	"huimin/internal/money"
	"huimin/internal/web"
	"huimin/policies"
)

// Service is prevention and planning on one database.
type Service struct {
	db  *db.DB
	now func() time.Time
}

// New returns the service on d with clock now.
func New(d *db.DB, now func() time.Time) *Service { return &Service{db: d, now: now} }

// WarningView is a warning in answers.
type WarningView struct {
	ID              string       `json:"id"`
	Plan            string       `json:"plan"`
	HouseholdID     *string      `json:"household_id"`
	CountyCode      string       `json:"county_code"`
	BeneficiaryIDs  []string     `json:"beneficiary_ids"`
	Bills           []string     `json:"bills"`
	ExpectedPayable money.Amount `json:"expected_payable"`
	Status          string       `json:"status"`
	// Details are the bills with their settlement and the payable each
	// would get, in the order their claims are to be filed.
	Details   []BillView     `json:"bill_details"`
	Followups []FollowupView `json:"followups"`
	UpdatedAt string         `json:"updated_at"`
}

// BillView is one bill of a warning in answers.
type BillView struct {
	RecordID        string       `json:"record_id"`
	BeneficiaryID   string       `json:"beneficiary_id"`
	BillRef         string       `json:"bill_ref"`
	SettledOn       string       `json:"settled_on"`
	Hospital        string       `json:"hospital"`
	ExpectedPayable money.Amount `json:"expected_payable"`
}

// FollowupView is one status change in answers.
type FollowupView struct {
	Status string `json:"status"`
	Note   string `json:"note"`
	Actor  string `json:"actor"`
	At     string `json:"at"`
}

func (w warningRow) view() WarningView {
	v := WarningView{
		ID: w.ID, Plan: w.PlanCode, CountyCode: w.CountyCode, ExpectedPayable: money.Fen(w.ExpectedPayable),
		Status: w.Status, UpdatedAt: web.Timestamp(w.UpdatedAt),
		BeneficiaryIDs: []string{}, Bills: []string{}, Details: []BillView{}, Followups: []FollowupView{},
	}
	if w.HouseholdID != "" {
		h := w.HouseholdID
		v.HouseholdID = &h
	}
	_ = json.Unmarshal([]byte(w.BeneficiaryIDs), &v.BeneficiaryIDs)
	for _, b := range w.bills() {
		if !slices.Contains(v.Bills, b.BillRef) {
			v.Bills = append(v.Bills, b.BillRef)
		}
		v.Details = append(v.Details, BillView{RecordID: b.RecordID, BeneficiaryID: b.BeneficiaryID, BillRef: b.BillRef,
			SettledOn: b.SettledOn, Hospital: b.Hospital, ExpectedPayable: money.Fen(b.Expected)})
	}
	for _, f := range w.followups() {
		v.Followups = append(v.Followups, FollowupView{Status: f.Status, Note: f.Note, Actor: f.Actor, At: web.Timestamp(f.At)})
	}
	return v
}

// warningPlan loads the plan of ?plan= for the warnings: 422 when missing,
// malformed or not a ZKB or FPB plan, 404 when unknown.
func (s *Service) warningPlan(ctx context.Context, code string) (policies.Plan, error) {
	switch {
	case code == "":
		return policies.Plan{}, apperr.Invalid("plan", "is required: the code of a ZKB or FPB plan")
	case !web.IsPlanCode(code):
		return policies.Plan{}, apperr.Invalid("plan", "%s", web.PlanCodeMessage(code))
	}
	p, err := policies.LoadPlan(ctx, s.db.DB, code, false)
	if err != nil {
		return p, db.Translate(err)
	}
	if !warns(p.Programme) {
		return p, apperr.Invalid("plan", "is a %s plan; warnings are computed for 政康保 (ZKB) and 防贫保 (FPB) plans, whose claims a medical bill makes", p.Programme)
	}
	return p, nil
}

// WarningFilter selects warnings for List.
type WarningFilter struct {
	Plan, Status, CountyCode string
	Cursor                   []string // the previous page's cursor parts, nil on the first page
	Limit                    int
}

// ListWarnings lists a plan's warnings, largest expected payable first
// (then newest id): the live ones, whatever their follow-up status, and the
// claimed ones. The first page (no cursor) computes the plan's warnings
// again first, so that what it lists is what would be payable now; later
// pages read what that computation stored, so that pages never shift.
func (s *Service) ListWarnings(ctx context.Context, who audit.Who, f WarningFilter) (web.List[WarningView], error) {
	plan, err := s.warningPlan(ctx, f.Plan)
	if err != nil {
		return web.List[WarningView]{}, err
	}
	lf := listFilter{Plan: plan.Code, Status: f.Status, CountyCode: f.CountyCode, Limit: f.Limit + 1}
	if f.Cursor == nil {
		if _, err := s.refresh(ctx, who, plan, refreshScope{}); err != nil {
			return web.List[WarningView]{}, err
		}
	} else {
		k, err := decodeListKey(f.Cursor)
		if err != nil {
			return web.List[WarningView]{}, err
		}
		lf.After = &k
	}
	rows, err := listWarnings(ctx, s.db.DB, lf)
	if err != nil {
		return web.List[WarningView]{}, db.Translate(err)
	}
	views := make([]WarningView, len(rows))
	for i, w := range rows {
		views[i] = w.view()
	}
	return web.Page(views, f.Limit, func(v WarningView) []string {
		return []string{money.String(v.ExpectedPayable.Decimal), v.ID}
	}), nil
}

func decodeListKey(parts []string) (listKey, error) {
	d, err := money.Parse(parts[0])
	if err != nil || !web.IsID(parts[1]) {
		return listKey{}, apperr.Invalid("cursor", "not a cursor this list returned")
	}
	return listKey{expected: money.ToFen(d), id: parts[1]}, nil
}

// Summary is GET /api/v1/warnings/summary: a plan's listed warnings by
// county, with how many there are in each status and the expected payable
// they add up to.
type Summary struct {
	Plan     string        `json:"plan"`
	Counties []SummaryLine `json:"counties"`
	Total    SummaryLine   `json:"total"`
}

// SummaryLine is one county's (or the total's) count of warnings.
type SummaryLine struct {
	CountyCode      string         `json:"county_code,omitempty"`
	CountyName      string         `json:"county_name,omitempty"`
	Warnings        int            `json:"warnings"`
	ByStatus        map[string]int `json:"by_status"`
	ExpectedPayable money.Amount   `json:"expected_payable"`
}

func newSummaryLine() SummaryLine {
	return SummaryLine{ByStatus: map[string]int{StatusOpen: 0, StatusVisited: 0, StatusClaimed: 0, StatusDismissed: 0}}
}

// Summarise computes the plan's warnings again (as the list's first page
// does) and counts them by county.
func (s *Service) Summarise(ctx context.Context, who audit.Who, code string) (Summary, error) {
	plan, err := s.warningPlan(ctx, code)
	if err != nil {
		return Summary{}, err
	}
	if _, err := s.refresh(ctx, who, plan, refreshScope{}); err != nil {
		return Summary{}, err
	}
	counts, err := summarise(ctx, s.db.DB, plan.Code)
	if err != nil {
		return Summary{}, db.Translate(err)
	}
	out := Summary{Plan: plan.Code, Counties: []SummaryLine{}, Total: newSummaryLine()}
	var total int64
	byCounty := map[string]int{}
	sums := map[string]int64{}
	for _, c := range counts {
		i, ok := byCounty[c.CountyCode]
		if !ok {
			i = len(out.Counties)
			byCounty[c.CountyCode] = i
			l := newSummaryLine()
			l.CountyCode = c.CountyCode
			l.CountyName, _ = policies.CountyName(c.CountyCode)
			out.Counties = append(out.Counties, l)
		}
		out.Counties[i].Warnings += c.N
		out.Counties[i].ByStatus[c.Status] += c.N
		sums[c.CountyCode] += c.Expected
		out.Total.Warnings += c.N
		out.Total.ByStatus[c.Status] += c.N
		total += c.Expected
	}
	for i := range out.Counties {
		out.Counties[i].ExpectedPayable = money.Fen(sums[out.Counties[i].CountyCode])
	}
	out.Total.ExpectedPayable = money.Fen(total)
	return out, nil
}

// StatusInput is the body of POST /api/v1/warnings/{id}/status.
type StatusInput struct {
	Status string `json:"status"`
	Note   string `json:"note"`
}

// NoteMax is the longest follow-up note in characters.
const NoteMax = 500

// SetStatus records a follow-up of a warning: its status (visited, claimed
// or dismissed) and a note, with who and when, in the warning's list of
// follow-ups and in the audit log, in one transaction. Any status may
// follow any other (a second visit is a second follow-up).
func (s *Service) SetStatus(ctx context.Context, who audit.Who, id string, in StatusInput) (WarningView, error) {
	var f apperr.Fields
	if !slices.Contains(Statuses, in.Status) {
		f.Add("status", "must be one of visited, claimed, dismissed")
	}
	switch {
	case strings.TrimSpace(in.Note) == "" && !strings.ContainsFunc(in.Note, web.BadRune):
		in.Note = "" // optional: a note of spaces only is no note
	default:
		web.CheckText(&f, "note", in.Note, NoteMax)
	}
	if err := f.Err(); err != nil {
		return WarningView{}, err
	}
	now := s.now()
	var w warningRow
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if w, err = lockWarning(ctx, tx, id); err != nil {
			return err
		}
		w.Followups = appendFollowup(w, Followup{Status: in.Status, Note: in.Note, Actor: who.Actor, At: now.UnixMilli()})
		w.Status, w.UpdatedAt = in.Status, now.UnixMilli()
		if err := tx.WithContext(ctx).Model(&warningRow{}).Where("id = ?", id).
			Updates(map[string]any{"status": w.Status, "followups": w.Followups, "updated_at": w.UpdatedAt}).Error; err != nil {
			return err
		}
		outcome := in.Status
		if in.Note != "" {
			outcome += ": " + in.Note
		}
		return audit.Write(ctx, tx, now, who, "warning.status", id, outcome)
	})
	if err != nil {
		return WarningView{}, err
	}
	return w.view(), nil
}

// ClaimDraft is a warning's bills as the body of POST /api/v1/claim-batches:
// one claim per bill, in the order to file them (settled_on), so that a
// visit ends in one request. Facts the settlement carries are filled in;
// what the visit must supply is left for the insurer, so that a draft sent
// unchanged is refused at intake (422) and nothing is stored: FPB's
// household_income_per_capita is null, and each required evidence kind has
// an empty sha256.
type ClaimDraft struct {
	Claims []map[string]any `json:"claims"`
}

// Draft computes the warning's subject again and returns its unclaimed
// bills as a claim batch body; each claim's external_ref links back to the
// warning and its record ("warning:<warning id>:<record id>"). A warning
// with nothing payable now is 409 invalid_state.
func (s *Service) Draft(ctx context.Context, who audit.Who, id string) (ClaimDraft, error) {
	w, err := readWarning(ctx, s.db.DB, id)
	if err != nil {
		return ClaimDraft{}, err
	}
	plan, err := policies.LoadPlan(ctx, s.db.DB, w.PlanCode, false)
	if err != nil {
		return ClaimDraft{}, db.Translate(err)
	}
	found, err := s.refresh(ctx, who, plan, refreshScope{subjects: []string{w.CapSubject}})
	if err != nil {
		return ClaimDraft{}, err
	}
	p, ok := found[w.CapSubject]
	if !ok {
		return ClaimDraft{}, apperr.New(apperr.ErrInvalidState, "warning %s has no bill that a claim would be paid for now", id)
	}
	c := cause(plan.Programme)
	out := ClaimDraft{Claims: []map[string]any{}}
	for _, r := range p.records {
		var facts map[string]any
		raw, _ := json.Marshal(r.facts(plan.Programme))
		_ = json.Unmarshal(raw, &facts)
		if plan.Programme == policies.FPB {
			facts["household_income_per_capita"] = nil // the visit finds it out
		}
		ev := []map[string]any{}
		for _, k := range evidence(plan.Rules, c) {
			ev = append(ev, map[string]any{"kind": k, "sha256": ""})
		}
		out.Claims = append(out.Claims, map[string]any{
			"plan": plan.Code, "external_ref": warningRef(id, r.ID), "beneficiary_id": r.IDNumber,
			"event_date": string(r.SettledOn), "cause": c, "facts": facts, "evidence": ev,
		})
	}
	return out, nil
}

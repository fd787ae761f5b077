package claims

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/civil"
	"huimin/internal/db"
	"huimin/internal/ids"
	"huimin/internal/money"
	"huimin/internal/webhooks"
	"huimin/migrations"
	"huimin/policies"
)

// item is one claim moving through the pipeline, with its outcome.
type item struct {
	index int
	body  []byte
	in    checked
	plan  policies.Plan // the claim's plan, once intake passed
	err   error         // intake or per-item failure; nothing stored
	// conflict marks err as process's own (duplicate_external_ref): it
	// depends on what the transaction saw, so a retried transaction
	// decides it again rather than keep a claim id that was rolled back.
	conflict bool

	rec      *record // the stored claim (created or replayed)
	replayed bool
	// deferred marks an item whose household another transaction held
	// (a batch chunk filed with busy households to skip): nothing was
	// decided or stored for it, and the batch files it later.
	deferred bool
}

// pastOf is what a claim just filed contributes to the next ones of its
// household in the same group.
func pastOf(r *record) policies.Prior {
	return policies.Prior{
		Plan: r.PlanCode, Programme: r.Programme, BeneficiaryID: r.BeneficiaryID, HouseholdID: r.HouseholdID,
		CapSubject: r.CapSubject, EventDate: r.EventDate, Cause: r.Cause, Reference: r.Reference,
		ServiceType: r.ServiceType, Base: r.Base, FactBase: r.FactBase, Payable: r.Payable,
	}
}

// process runs eligibility and assessment for the items that passed intake,
// all of one org, in transaction tx, and inserts the claims. Items whose
// external_ref already exists are replayed when their body is the same and
// fail with duplicate_external_ref otherwise. It serialises on each
// household involved, so concurrent claims of one household never overrun a
// cap or are both paid for one incident.
//
// With fresh set, the caller expects every external_ref to be new and skips
// the look-up: a ref that exists after all fails the insert on the unique
// index, and the caller files its items again without fresh. Groups of
// single claims take that bet (a retry is rare and costs the group one
// refiling); batches, whose retries resend whole chunks, do not.
//
// With busy set (a batch's chunks on MariaDB), households that another
// transaction holds are not waited for: their items are marked deferred and
// their households added to busy, and items of a household already in busy
// are deferred without trying, so that a household's claims are still
// decided in the batch's order. See lockFreeHouseholds.
func (s *Service) process(ctx context.Context, tx *gorm.DB, org string, items []*item, now time.Time, fresh bool, busy map[string]bool) error {
	live := make([]*item, 0, len(items))
	refs := make([]string, 0, len(items))
	for _, it := range items {
		it.rec, it.replayed, it.deferred = nil, false, false
		if it.conflict {
			it.err, it.conflict = nil, false
		}
		if it.err == nil {
			live = append(live, it)
			refs = append(refs, it.in.ExternalRef)
		}
	}
	if len(live) == 0 {
		return nil
	}

	// Existing claims of these external refs.
	byRef := make(map[string]*record, len(live))
	if !fresh {
		existing, err := claimsByRef(ctx, tx, org, refs)
		if err != nil {
			return err
		}
		for i := range existing {
			byRef[existing[i].ExternalRef] = &existing[i]
		}
	}

	// The beneficiaries, and the households to lock.
	idNumbers := make([]string, 0, len(live))
	for _, it := range live {
		idNumbers = append(idNumbers, it.in.BeneficiaryID)
	}
	people, err := policies.LoadBeneficiaries(ctx, tx, idNumbers)
	if err != nil {
		return err
	}
	households := make([]string, 0, len(live))
	for _, it := range live {
		households = append(households, householdOf(people, it.in.BeneficiaryID))
	}
	slices.Sort(households)
	households = slices.Compact(households)
	if busy != nil && s.db.Dialect == migrations.MySQL {
		if households, err = lockFreeHouseholds(ctx, s.db.DB, tx, households, busy, s.db.Galera); err != nil {
			return err
		}
	} else if err := lockHouseholds(ctx, tx, households); err != nil {
		return err
	}
	history, err := loadHistory(ctx, tx, households)
	if err != nil {
		return err
	}

	created := make([]*record, 0, len(live))
	for _, it := range live {
		if busy[householdOf(people, it.in.BeneficiaryID)] {
			it.deferred = true
			continue
		}
		if prev, ok := byRef[it.in.ExternalRef]; ok {
			if prev.RequestHash != it.in.hash {
				it.err = apperr.New(apperr.ErrDuplicateExternalRef, "external_ref %s was already used for claim %s", it.in.ExternalRef, prev.ID).
					WithDetails(map[string]any{"claim_id": prev.ID})
				it.conflict = true
				continue
			}
			it.rec, it.replayed = prev, true
			continue
		}
		start := time.Now()
		rec := s.decide(it.in, it.plan, people, history[householdOf(people, it.in.BeneficiaryID)], org, now)
		s.metrics.assessed(time.Since(start))
		it.rec = rec
		byRef[rec.ExternalRef] = rec
		created = append(created, rec)
		if rec.Counted {
			history[rec.HouseholdID] = append(history[rec.HouseholdID], pastOf(rec))
		}
	}
	if len(created) > 0 {
		if err := insertClaims(ctx, tx, created); err != nil {
			return err
		}
		if err := s.Webhooks.EnqueueMany(ctx, tx, filedEvents(created, now)); err != nil {
			return err
		}
	}
	return nil
}

// filedEvents are the webhook events of newly filed claims: assessed or
// rejected, each carrying the claim as the API answers it.
func filedEvents(created []*record, now time.Time) []webhooks.Event {
	evs := make([]webhooks.Event, 0, len(created))
	for _, rec := range created {
		typ := webhooks.ClaimAssessed
		if rec.Status == Rejected {
			typ = webhooks.ClaimRejected
		}
		r := rec
		evs = append(evs, webhooks.Event{Type: typ, Org: r.Org, ClaimID: r.ID, At: now, Claim: func() (any, error) { return r.view(nil), nil }})
	}
	return evs
}

// programmes are the four programmes by code, built once:
// policies.ProgrammeByCode renders the default rules on every call, which
// costs more than assessing the claim.
var programmes = sync.OnceValue(func() map[string]policies.Programme {
	out := map[string]policies.Programme{}
	for _, p := range policies.Programmes() {
		out[p.Code] = p
	}
	return out
})

// programme returns the programme of code (the zero Programme when unknown;
// plans are validated, so that does not happen).
func programme(code string) policies.Programme { return programmes()[code] }

// decide makes the record of a claim being filed and judges it (judge:
// eligibility in DESIGN §6's order, recording every failing reason, and the
// assessment of a claim that passes). history holds the counted claims of
// the claim's household.
func (s *Service) decide(in checked, plan policies.Plan, people map[string]policies.Beneficiary, history []policies.Prior, org string, now time.Time) *record {
	b, known := people[in.BeneficiaryID]
	household := householdOf(people, in.BeneficiaryID)
	subject := policies.CapSubjectOf(plan.Programme, in.BeneficiaryID, household)
	factBase := money.ToFen(money.Round(in.facts.Base()))
	rec := &record{
		ID: ids.New(now), PlanCode: plan.Code, Programme: plan.Programme, Org: org, ExternalRef: in.ExternalRef,
		BeneficiaryID: in.BeneficiaryID, HouseholdID: household, CapSubject: subject, CountyCode: b.CountyCode,
		EventDate: string(in.eventDate), Cause: in.Cause, Reference: in.facts.Reference(), ServiceType: in.facts.ServiceType,
		FactBase: factBase, RequestHash: in.hash, RulesVersion: plan.RulesVersion,
		SubmittedAt: now.UnixMilli(), UpdatedAt: now.UnixMilli(),
	}
	// Facts.MarshalJSON writes compact, escaped JSON: what json.Marshal
	// gives after checking and compacting it again, which cost a claim more
	// than writing it.
	facts, _ := in.facts.MarshalJSON()
	evidence, _ := json.Marshal(in.evidence)
	rec.Facts, rec.Evidence = string(facts), string(evidence)

	j := judge(claimCase{
		plan: plan, beneficiary: b, known: known, beneficiaryID: in.BeneficiaryID, household: household, subject: subject,
		eventDate: in.eventDate, cause: in.Cause, facts: in.facts, factBase: factBase, evidenceKinds: evidenceKinds(in.evidence),
	}, history, now)
	rec.Status, rec.Counted, rec.Base, rec.Payable = j.status, j.counted, j.base, j.payable
	rs, _ := json.Marshal(j.reasons)
	bd := policies.StepsJSON(j.breakdown)
	rec.Reasons, rec.Breakdown = string(rs), string(bd)
	return rec
}

// claimCase is one claim as judge sees it: the intake's typed fields and
// what the pipeline loaded for it. The claims pipeline builds it from a
// claim being filed; the what-if simulation from a stored claim; the early
// warnings from a settlement record no one has claimed.
type claimCase struct {
	plan          policies.Plan // its Rules are the rules applied
	beneficiary   policies.Beneficiary
	known         bool // the beneficiary is in the registry
	beneficiaryID string
	household     string // the cap household (householdOf)
	subject       string // the cap subject (policies.CapSubjectOf)
	eventDate     civil.Date
	cause         string
	facts         policies.Facts
	factBase      int64 // fen: money.ToFen(money.Round(facts.Base()))
	evidenceKinds []string
}

// judgement is the pipeline's decision on a claimCase.
type judgement struct {
	reasons       []Reason // never nil
	breakdown     []policies.Step
	status        string // Assessed or Rejected
	counted       bool
	base, payable int64 // fen; base is 0 unless the claim was assessed
}

// judge is the pipeline's rule on one claim, pure: eligibility in DESIGN
// §6's order, recording every failing reason, then the standing the earlier
// counted claims of its household (history) give it, and the assessment of
// a claim that passed. now is the filing instant (late_submission). Every
// caller that must decide as a claim would be decided calls it: decide,
// Simulate and Judge.
func judge(c claimCase, history []policies.Prior, now time.Time) judgement {
	plan, b, known := c.plan, c.beneficiary, c.known
	var reasons []Reason
	if !known {
		reasons = append(reasons, reason(ReasonUnknownBeneficiary))
	}
	if !c.eventDate.Within(plan.CoverageStart, plan.CoverageEnd) {
		reasons = append(reasons, reason(ReasonOutsideCoverage))
	}
	if civil.Today(now) > c.eventDate.AddDays(plan.FilingWindowDays) {
		reasons = append(reasons, reason(ReasonLateSubmission))
	}
	if known && !plan.CoversCounty(b.CountyCode) {
		reasons = append(reasons, reason(ReasonOutsidePlanArea))
	}
	categories := b.CategoriesOn(c.eventDate)
	for _, code := range policies.CheckEligibility(policies.EligibilityInput{
		Rules: plan.Rules, Cause: c.cause, Facts: c.facts, Categories: categories,
		Residency: b.ResidencyOn(c.eventDate), EvidenceKinds: c.evidenceKinds,
	}) {
		if !known && (code == ReasonNotCoveredCategory || code == ReasonResidencyNotEligible) {
			continue // implied by unknown_beneficiary
		}
		reasons = append(reasons, reason(code))
	}

	st := policies.StandingOf(c.pending(), history)
	h := st.History
	if st.Duplicate {
		reasons = append(reasons, reason(ReasonDuplicateClaim))
	}
	if st.AlreadyCompensated {
		reasons = append(reasons, reason(ReasonAlreadyCompensated))
	}

	var j judgement
	if len(reasons) == 0 {
		a := policies.Assess(policies.AssessInput{Rules: plan.Rules, Cause: c.cause, Facts: c.facts, Categories: categories, History: h})
		j.breakdown = a.Breakdown
		j.base, j.payable = money.ToFen(money.Round(a.Base)), money.ToFen(a.Payable)
		switch {
		case a.Payable.IsPositive():
		case a.CapReached:
			reasons = append(reasons, reason(ReasonAnnualCapReached))
		default:
			reasons = append(reasons, reason(ReasonNothingPayable))
		}
	}
	j.status = Assessed
	if len(reasons) > 0 {
		j.status = Rejected
		j.payable = 0
	}
	j.counted = counts(j.status, reasons)
	if reasons == nil {
		reasons = []Reason{}
	}
	if j.breakdown == nil {
		j.breakdown = []policies.Step{}
	}
	j.reasons = reasons
	return j
}

// pending is the claim as policies.StandingOf compares it with the earlier
// ones.
func (c claimCase) pending() policies.Pending {
	return policies.Pending{
		Plan: c.plan.Code, Programme: c.plan.Programme, BeneficiaryID: c.beneficiaryID, HouseholdID: c.household,
		CapSubject: c.subject, EventDate: string(c.eventDate), Cause: c.cause, Reference: c.facts.Reference(),
		ServiceType: c.facts.ServiceType, FactBase: c.factBase,
	}
}

// prior is what the judged claim contributes to later claims of its
// household when it counts: the same fields pastOf reads from a stored one.
func (c claimCase) prior(j judgement) policies.Prior {
	p := c.pending()
	return policies.Prior{
		Plan: p.Plan, Programme: p.Programme, BeneficiaryID: p.BeneficiaryID, HouseholdID: p.HouseholdID,
		CapSubject: p.CapSubject, EventDate: p.EventDate, Cause: p.Cause, Reference: p.Reference,
		ServiceType: p.ServiceType, Base: j.base, FactBase: p.FactBase, Payable: j.payable,
	}
}

// planFor loads an active plan for intake: 422 when the code is missing, 404
// when unknown, 409 plan_closed when closed.
func planFor(ctx context.Context, plans *policies.Plans, cache map[string]policies.Plan, code string) (policies.Plan, error) {
	if p, ok := cache[code]; ok {
		return p, nil
	}
	if code == "" {
		// An empty or null body lands here: a missing field, not an unknown plan.
		return policies.Plan{}, apperr.Invalid("plan", "is required")
	}
	p, err := plans.Current(ctx, code)
	if err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) && ae.Kind == apperr.ErrNotFound {
			return p, apperr.New(apperr.ErrNotFound, "no plan %q", code)
		}
		return p, db.Translate(err)
	}
	if p.Status != policies.PlanActive {
		return p, apperr.New(apperr.ErrPlanClosed, "plan %s is closed and takes no claims", code)
	}
	cache[code] = p
	return p, nil
}

func householdOf(people map[string]policies.Beneficiary, id string) string {
	if b, ok := people[id]; ok {
		return b.CapHousehold()
	}
	return selfHousehold + id
}

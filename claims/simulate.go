package claims

// The what-if (政策测算, DESIGN §20): a plan's claims re-assessed under
// proposed rules by the pipeline's own judge, in memory, changing nothing.

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"huimin/internal/civil"
	"huimin/internal/db"
	"huimin/policies"
)

// Simulated is one claim re-assessed by Simulate: the payable it holds and
// the one the simulated rules give it, in fen.
type Simulated struct {
	ClaimID     string
	CountyCode  string
	Cause       string
	HouseholdID string // the cap household (a person without one: "self:" + id)
	CapSubject  string
	Current     int64
	Simulated   int64
	// Status is what the simulated rules would make of the claim: Assessed,
	// or Rejected (Reasons then say why, in DESIGN §6's order).
	Status  string
	Reasons []string
}

// simulations bounds the simulations running at once in this process.
var simulations = make(chan struct{}, 2)

// SimulationPage is how many claims one keyset page of Simulate reads:
// 100,000 claims take fifty round trips, and a page's rows and
// beneficiaries stay a few MB. Tests make it small, so that a few thousand
// claims cross many pages.
var SimulationPage = 2000

// Simulate re-assesses the claims of plan under rules (a plan of the same
// programme; rules already validated and merged as for PUT …/rules) and
// calls each for every one, in submission order. Nothing is written: the
// claims are read from one snapshot of the database (the registry beside
// it, as it stands), in keyset pages.
//
// The claims re-assessed are those that passed eligibility and were not
// withdrawn or declined: the counted claims of DESIGN §5 (assessed,
// approved, disbursed, paid, rejected only for nothing_payable), and those
// rejected only for annual_cap_reached, since whether a claim finds room
// under a cap is exactly what a rule change decides. Each is judged by the
// pipeline's own judge (eligibility, offsets, accumulation, tiers, caps) as
// it was filed — same facts, evidence, event date, cap subject, and filing
// instant for the filing window — against the registry as it is now, the
// plan's other claims as the simulated rules decide them, and the other
// plans' counted claims filed before it as they stand. Submission order is
// claim id order (ULIDs of the filing instant, monotonic within one).
//
// With rules equal to the plan's current ones, and no claim of the plan
// withdrawn, declined or assessed under an older rules version since later
// ones were filed, every claim gets back exactly the payable it holds.
func Simulate(ctx context.Context, d *db.DB, plan policies.Plan, rules policies.Rules, each func(Simulated) error) error {
	if rules.Programme != plan.Programme {
		return fmt.Errorf("simulate %s: rules of %s", plan.Code, rules.Programme)
	}
	sim := plan
	// Only the payables are summed: the same assessment, without wording
	// each claim's breakdown.
	sim.Rules = rules.WithoutBreakdown()
	// A simulation holds two connections (its snapshot and the registry
	// reads) and taking the second while holding the first could starve if
	// many ran at once; two at a time cannot exhaust either pool, and a
	// third waits its turn within its deadline.
	select {
	case simulations <- struct{}{}:
		defer func() { <-simulations }()
	case <-ctx.Done():
		return ctx.Err()
	}
	return d.ReadSnapshot(ctx, func(tx *gorm.DB) error {
		// Three stages overlap, a page apart: the claims and their
		// households' other counted claims are read in the snapshot (the
		// only goroutine using tx), the registry records of their
		// beneficiaries on another connection, and the page before is
		// judged meanwhile.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		read, withPeople := make(chan simulationBatch, 1), make(chan simulationBatch, 1)
		var readErr, peopleErr error
		go func() {
			defer close(read)
			readErr = readSimulation(ctx, tx, plan.Code, read)
		}()
		go func() {
			defer close(withPeople)
			peopleErr = loadSimulationPeople(ctx, d.DB, read, withPeople)
		}()
		s := newSimulation(sim)
		var err error
		for b := range withPeople {
			if err == nil {
				if err = s.run(b, each); err != nil {
					cancel() // and drain, so that the stages end
				}
			}
		}
		for _, e := range []error{err, readErr, peopleErr} {
			if e != nil {
				return e
			}
		}
		return nil
	})
}

// simulationBatch is one page of claims with what judging them needs from
// the database that no earlier page brought: the other plans' counted
// claims of its households, and the registry records of its beneficiaries.
type simulationBatch struct {
	rows   []simulationRow
	others map[string][]priorAt
	people map[string]policies.Beneficiary
}

// readSimulation reads plan's claims page by page into pages, with the
// other plans' claims of the households new on each, until none is left,
// ctx ends or a read fails.
func readSimulation(ctx context.Context, tx *gorm.DB, plan string, pages chan<- simulationBatch) error {
	seen := map[string]bool{}
	after := ""
	for {
		page, last, err := simulationRows(ctx, tx, plan, after, SimulationPage)
		if err != nil || last == "" {
			return err
		}
		after = last
		b := simulationBatch{rows: page, others: map[string][]priorAt{}}
		var fresh []string
		for _, r := range page {
			if !seen[r.HouseholdID] {
				seen[r.HouseholdID] = true
				fresh = append(fresh, r.HouseholdID)
			}
		}
		if err := otherPlansHistory(ctx, tx, plan, fresh, b.others); err != nil {
			return err
		}
		select {
		case pages <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// loadSimulationPeople gives each page from in the registry records of its
// beneficiaries not given with an earlier page (each person is read once
// for the whole simulation), and passes it on.
func loadSimulationPeople(ctx context.Context, conn *gorm.DB, in <-chan simulationBatch, out chan<- simulationBatch) error {
	asked := map[string]bool{} // read already, found or not
	var failed error
	for b := range in {
		if failed != nil {
			continue // drain
		}
		var missing []string
		for _, r := range b.rows {
			if !asked[r.BeneficiaryID] {
				asked[r.BeneficiaryID] = true
				missing = append(missing, r.BeneficiaryID)
			}
		}
		if len(missing) > 0 {
			got, err := policies.LoadBeneficiaries(ctx, conn, missing)
			if err != nil {
				failed = err
				continue
			}
			b.people = got
		}
		select {
		case out <- b:
		case <-ctx.Done():
			failed = ctx.Err()
		}
	}
	return failed
}

// simulation is Simulate's state between pages. Households are independent
// (a claim's standing depends on its household's claims only), so each page
// is judged by several workers, a household always by the same one, each
// household's claims in submission order; the answers are then handed on
// in the page's order.
type simulation struct {
	plan    policies.Plan // with the simulated rules
	workers []*simulationWorker
	// others holds the households' counted claims of other plans, as
	// stored, with their ids so that each claim sees only earlier ones;
	// people the registry records of the beneficiaries. Workers only read
	// them.
	others map[string][]priorAt
	people map[string]policies.Beneficiary
	out    []Simulated
}

// simulationWorker judges the claims of its share of households.
type simulationWorker struct {
	// own holds the plan's claims of its households as the simulated
	// rules counted them, by cap household.
	own     map[string][]policies.Prior
	history []policies.Prior // scratch, reused for every claim
	rows    []int            // positions of the page's rows it judges, in order
	err     error
}

func newSimulation(plan policies.Plan) *simulation {
	s := &simulation{plan: plan, others: map[string][]priorAt{}, people: map[string]policies.Beneficiary{}}
	for range max(1, runtime.GOMAXPROCS(0)) {
		s.workers = append(s.workers, &simulationWorker{own: map[string][]policies.Prior{}})
	}
	return s
}

func (s *simulation) run(b simulationBatch, each func(Simulated) error) error {
	for h, qs := range b.others {
		s.others[h] = qs
	}
	for id, p := range b.people {
		s.people[id] = p
	}
	for _, w := range s.workers {
		w.rows = w.rows[:0]
	}
	for i, r := range b.rows {
		w := s.workers[int(fnv32(r.HouseholdID)%uint32(len(s.workers)))]
		w.rows = append(w.rows, i)
	}
	s.out = slices.Grow(s.out[:0], len(b.rows))[:len(b.rows)]
	var wg sync.WaitGroup
	for _, w := range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.err = nil
			for _, i := range w.rows {
				if w.err = s.judgeRow(w, b.rows[i], &s.out[i]); w.err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, w := range s.workers {
		if w.err != nil {
			return w.err
		}
	}
	for _, o := range s.out {
		if err := each(o); err != nil {
			return err
		}
	}
	return nil
}

// judgeRow re-assesses one stored claim into out.
func (s *simulation) judgeRow(w *simulationWorker, r simulationRow, out *Simulated) error {
	facts, errs := policies.ParseFacts(s.plan.Programme, r.Cause, json.RawMessage(r.Facts))
	if len(errs) > 0 {
		return fmt.Errorf("claim %s: stored facts no longer parse: %v", r.ID, errs.Err())
	}
	b, known := s.people[r.BeneficiaryID]
	w.history = append(w.history[:0], w.own[r.HouseholdID]...)
	for _, q := range s.others[r.HouseholdID] {
		if q.id < r.ID {
			w.history = append(w.history, q.Prior)
		}
	}
	c := claimCase{
		plan: s.plan, beneficiary: b, known: known, beneficiaryID: r.BeneficiaryID, household: r.HouseholdID,
		subject: r.CapSubject, eventDate: civil.Date(r.EventDate), cause: r.Cause, facts: facts, factBase: r.FactBase,
		evidenceKinds: storedEvidenceKinds(r.Evidence),
	}
	j := judge(c, w.history, time.UnixMilli(r.SubmittedAt))
	if j.counted {
		w.own[r.HouseholdID] = append(w.own[r.HouseholdID], c.prior(j))
	}
	*out = Simulated{
		ClaimID: r.ID, CountyCode: r.CountyCode, Cause: r.Cause, HouseholdID: r.HouseholdID, CapSubject: r.CapSubject,
		Current: r.Payable, Simulated: j.payable, Status: j.status,
	}
	if len(j.reasons) > 0 {
		out.Reasons = make([]string, len(j.reasons))
		for i, rs := range j.reasons {
			out.Reasons[i] = rs.Code
		}
	}
	return nil
}

// storedEvidenceKinds reads the kinds out of a claim's stored evidence,
// the JSON that json.Marshal of []Evidence wrote, without decoding the
// hashes and URIs that no rule reads: each item's "kind" comes first and is
// plain ASCII (intake checked [a-z][a-z0-9_]*), and no JSON string can hold
// the unescaped sequence `"kind":"`, so the scan finds exactly the kinds
// json.Unmarshal would (TestStoredEvidenceKinds).
func storedEvidenceKinds(raw string) []string {
	const key = `"kind":"`
	kinds := []string{}
	for {
		i := strings.Index(raw, key)
		if i < 0 {
			return kinds
		}
		raw = raw[i+len(key):]
		j := strings.IndexByte(raw, '"')
		if j < 0 {
			return kinds
		}
		kinds = append(kinds, raw[:j])
		raw = raw[j+1:]
	}
}

// priorAt is a counted claim of another plan and its id.
type priorAt struct {
	id string
	policies.Prior
}

// fnv32 is FNV-1a of s: which worker judges a household.
func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// simulationRow is what Simulate reads of a claim (its programme is the
// plan's).
type simulationRow struct {
	ID, BeneficiaryID, HouseholdID, CapSubject, CountyCode string
	EventDate, Cause, Facts, Evidence                      string
	FactBase, Payable, SubmittedAt                         int64
}

// simulationRows reads the next page of plan's claims after id after, in id
// order, and returns those Simulate re-assesses — the counted ones, and
// those rejected with the single reason annual_cap_reached (told apart from
// the other rejected ones by their reasons, decoded here) — and the id of
// the last row read, the next page's keyset ("" when none was left).
func simulationRows(ctx context.Context, tx *gorm.DB, plan, after string, limit int) (page []simulationRow, last string, err error) {
	// Each column read costs on every row (SQLite's driver looks up its
	// declared type each time): a counted claim's reasons, which nothing
	// reads, come back as "", so that one column says both.
	rows, err := tx.WithContext(ctx).Model(&record{}).
		Select("id, beneficiary_id, household_id, cap_subject, county_code, event_date, cause, facts, evidence, fact_base, payable, submitted_at, "+
			"CASE WHEN counted = ? THEN '' ELSE reasons END", true).
		Where("plan_code = ? AND id > ? AND (counted = ? OR status = ?)", plan, after, true, Rejected).
		Order("id").Limit(limit).Rows()
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r       simulationRow
			reasons string // "" when counted
		)
		if err := rows.Scan(&r.ID, &r.BeneficiaryID, &r.HouseholdID, &r.CapSubject, &r.CountyCode, &r.EventDate,
			&r.Cause, &r.Facts, &r.Evidence, &r.FactBase, &r.Payable, &r.SubmittedAt, &reasons); err != nil {
			return nil, "", err
		}
		last = r.ID
		// A claim rejected on eligibility, or as a duplicate, never passed:
		// it is not re-assessed.
		if reasons == "" || onlyCapReached(reasons) {
			page = append(page, r)
		}
	}
	return page, last, rows.Err()
}

// onlyCapReached reports stored reasons that are exactly annual_cap_reached.
func onlyCapReached(reasons string) bool {
	var rs []Reason
	return json.Unmarshal([]byte(reasons), &rs) == nil && len(rs) == 1 && rs[0].Code == ReasonAnnualCapReached
}

// otherPlansHistory adds to into, by household, the counted claims of
// households (new to into) of plans other than plan, with their ids.
func otherPlansHistory(ctx context.Context, tx *gorm.DB, plan string, households []string, into map[string][]priorAt) error {
	for lo := 0; lo < len(households); lo += 1000 {
		rows, err := tx.WithContext(ctx).Model(&record{}).
			Select("id, plan_code, programme, beneficiary_id, household_id, cap_subject, event_date, cause, reference, service_type, base, fact_base, payable").
			Where("household_id IN ? AND counted = ? AND plan_code <> ?", households[lo:min(lo+1000, len(households))], true, plan).Rows()
		if err != nil {
			return err
		}
		for rows.Next() {
			var q priorAt
			p := &q.Prior
			if err := rows.Scan(&q.id, &p.Plan, &p.Programme, &p.BeneficiaryID, &p.HouseholdID, &p.CapSubject, &p.EventDate,
				&p.Cause, &p.Reference, &p.ServiceType, &p.Base, &p.FactBase, &p.Payable); err != nil {
				_ = rows.Close()
				return err
			}
			into[p.HouseholdID] = append(into[p.HouseholdID], q)
		}
		err = rows.Err()
		_ = rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

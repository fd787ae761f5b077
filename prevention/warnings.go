package prevention

import (
	"cmp"
	"slices"
	"time"

	"huimin/claims"
	"huimin/policies"
)

// Warning statuses. A warning starts open; finance records a visit
// (visited), a claim made another way (claimed) or that nothing is to be
// done (dismissed). A warning whose bills all have a counted claim becomes
// claimed by itself; a claimed one whose subject has new payable bills
// opens again by itself.
const (
	StatusOpen      = "open"
	StatusVisited   = "visited"
	StatusClaimed   = "claimed"
	StatusDismissed = "dismissed"
)

// Statuses lists the statuses a follow-up may set.
var Statuses = []string{StatusVisited, StatusClaimed, StatusDismissed}

// Programmes with warnings: those whose claims a medical bill makes.
func warns(programme string) bool { return programme == policies.ZKB || programme == policies.FPB }

// Bill is one settlement record of a warning, with the payable a claim for
// it would get when the warning's bills are claimed in settled_on order.
type Bill struct {
	RecordID      string `json:"record_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	BillRef       string `json:"bill_ref"`
	SettledOn     string `json:"settled_on"`
	Hospital      string `json:"hospital"`
	Expected      int64  `json:"expected"` // fen
}

// prospect is a cap subject's warning as computed now: its unclaimed bills
// that a claim would count, in settled_on order, and what they would pay.
type prospect struct {
	subject       string
	household     string // the registry household_id, "" when none
	county        string
	beneficiaries []string
	bills         []Bill
	records       []Record // the bills' records, same order
	people        map[string]policies.Beneficiary
	expected      int64 // fen
}

// evidence is what a warning's claim would carry: everything the rules ask
// for, since the visit collects it.
func evidence(rules policies.Rules, cause string) []string { return rules.RequiredEvidence(cause) }

// prospects computes the warnings of plan (ZKB or FPB, active) from the
// settlement records of its coverage period, the registry records of their
// people and the counted claims of their households (claims.CountedHistory),
// judged as claims filed at now. For each cap subject (the person for ZKB,
// the household for FPB) the records of its people are taken in settled_on
// order (then bill_ref, then record id); a record with a counted claim of the
// plan for the same person and bill_ref is claimed and skipped (its claim is
// in the history already); each other one is judged by claims.Judge as the
// claim the warning's draft would file — the same eligibility (categories,
// residency and county on the settled date; the plan's area; the filing
// window from now), offsets, accumulation and caps — and, when that claim
// would count, it joins the history of the next ones, exactly as claims
// filed in that order would. A record whose claim would not count (not
// eligible, or no room under a cap) is left out; one that would count but
// adds nothing (a base of 0) too. A subject whose bills would pay more than
// 0.00 has a warning.
func prospects(plan policies.Plan, records []Record, people map[string]policies.Beneficiary, history map[string][]policies.Prior, now time.Time) map[string]*prospect {
	bySubject := map[string][]Record{}
	for _, r := range records {
		b, ok := people[r.IDNumber]
		if !ok || r.SettledOn < plan.CoverageStart || r.SettledOn > plan.CoverageEnd {
			continue
		}
		subject := policies.CapSubjectOf(plan.Programme, b.IDNumber, b.CapHousehold())
		bySubject[subject] = append(bySubject[subject], r)
	}
	c := cause(plan.Programme)
	kinds := evidence(plan.Rules, c)
	out := map[string]*prospect{}
	for subject, rs := range bySubject {
		slices.SortFunc(rs, func(a, b Record) int {
			return cmp.Or(cmp.Compare(a.SettledOn, b.SettledOn), cmp.Compare(a.BillRef, b.BillRef), cmp.Compare(a.ID, b.ID))
		})
		household := people[rs[0].IDNumber].CapHousehold()
		hist := slices.Clone(history[household])
		p := &prospect{subject: subject, people: people}
		for _, r := range rs {
			if claimedIn(hist, plan, r.IDNumber, r.BillRef) {
				continue
			}
			b := people[r.IDNumber]
			v := claims.Judge(claims.Prospect{
				Plan: plan, Beneficiary: b, EventDate: r.SettledOn, Cause: c, Facts: r.facts(plan.Programme), EvidenceKinds: kinds,
			}, hist, now)
			if !v.Counted {
				continue
			}
			hist = append(hist, v.Prior)
			if v.Payable == 0 && v.Base == 0 {
				continue
			}
			if len(p.bills) == 0 {
				p.household, p.county = b.HouseholdID, b.CountyCode
			}
			if !slices.Contains(p.beneficiaries, r.IDNumber) {
				p.beneficiaries = append(p.beneficiaries, r.IDNumber)
			}
			p.bills = append(p.bills, Bill{RecordID: r.ID, BeneficiaryID: r.IDNumber, BillRef: r.BillRef, SettledOn: string(r.SettledOn), Hospital: r.Hospital, Expected: v.Payable})
			p.records = append(p.records, r)
			p.expected += v.Payable
		}
		if p.expected > 0 {
			out[subject] = p
		}
	}
	return out
}

// claimedIn reports a counted claim of plan in history for the person's
// bill: what makes a bill claimed.
func claimedIn(history []policies.Prior, plan policies.Plan, idNumber, billRef string) bool {
	c := cause(plan.Programme)
	for _, q := range history {
		if q.Plan == plan.Code && q.BeneficiaryID == idNumber && q.Reference == billRef && q.Cause == c {
			return true
		}
	}
	return false
}

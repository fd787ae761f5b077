package policies

import "huimin/internal/money"

// Prior is an earlier counted claim as the rules see it (amounts in fen).
// Counted means DESIGN §5's counted: assessed, approved, disbursed, paid, or
// rejected only for nothing_payable. Its fields are what the claims store
// keeps for every claim, so a stored claim maps onto a Prior field by field.
type Prior struct {
	Plan, Programme, BeneficiaryID, HouseholdID, CapSubject string
	EventDate, Cause, Reference, ServiceType                string
	// Base is the base the claim's assessment counted (Assessment.Base,
	// after offsets); FactBase is the facts' own base (Facts.Base), the
	// one duplicate detection compares; Payable is what it was assessed to
	// pay.
	Base, FactBase, Payable int64 // fen
}

// Pending is the claim being decided (FactBase in fen): the same fields as a
// Prior, before it has an assessment. CapSubject may be left empty, in which
// case it is CapSubjectOf the programme, beneficiary and household.
// ServiceType is carried for symmetry with Prior; only the earlier claims'
// service type matters today (the outpatient payables).
type Pending struct {
	Plan, Programme, BeneficiaryID, HouseholdID, CapSubject string
	EventDate, Cause, Reference, ServiceType                string
	FactBase                                                int64
}

// Standing is what the earlier counted claims mean for a pending one.
type Standing struct {
	History            History // accumulation, caps used, offsets
	Duplicate          bool    // reason duplicate_claim
	AlreadyCompensated bool    // reason already_compensated
}

// CapSubjectOf is whose claims share a programme's caps and accumulate
// together: the person for ZKB and CYB, the household for ZFB and FPB
// (DESIGN §5). An unknown programme counts per person.
func CapSubjectOf(programme, beneficiaryID, household string) string {
	if s := specOf(programme); s != nil && s.CapSubject == CapSubjectHousehold {
		return household
	}
	return beneficiaryID
}

// StandingOf computes a pending claim's Standing from prior counted claims
// (any order is fine: only sums and matches).
//
// Only priors of the pending claim's household count. Everything a claim is
// compared with (its duplicates, the incident, the cap subject, the
// offsets) lies in its household, and the claims pipeline serialises on the
// household, not on anything wider; so a caller may pass a household's
// history or more, and gets the same answer.
//
// For every programme a prior of the same plan, beneficiary, cause, event
// date, reference and fact base makes the claim a duplicate, and the
// payables of the same plan and cap subject fill the annual cap
// (History.PaidAnnual). The programme adds the rest: the accumulated base
// (per cause for FPB), ZKB's outpatient payables, FPB's cause cap and its
// offsets from ZKB and ZFB, and ZFB's once per incident.
func StandingOf(p Pending, prior []Prior) Standing {
	if p.CapSubject == "" {
		p.CapSubject = CapSubjectOf(p.Programme, p.BeneficiaryID, p.HouseholdID)
	}
	spec := specOf(p.Programme)
	var s Standing
	for _, q := range prior {
		if q.HouseholdID != p.HouseholdID {
			continue
		}
		if q.Plan == p.Plan && q.BeneficiaryID == p.BeneficiaryID && q.Cause == p.Cause &&
			q.EventDate == p.EventDate && q.Reference == p.Reference && q.FactBase == p.FactBase {
			s.Duplicate = true
		}
		own := q.Plan == p.Plan && q.CapSubject == p.CapSubject
		if own {
			s.History.PaidAnnual = s.History.PaidAnnual.Add(money.FromFen(q.Payable))
		}
		if spec != nil {
			spec.accrue(p, q, own, &s)
		}
	}
	return s
}

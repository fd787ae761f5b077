package policies

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/money"
)

// The people of these tests: A and B live in household H1, C in H2.
const (
	personA, personB, personC = "A", "B", "C"
	householdH1, householdH2  = "H1", "H2"
	march1, march2            = "2026-03-01", "2026-03-02"
)

// householdOfPerson is where each test person lives.
var householdOfPerson = map[string]string{personA: householdH1, personB: householdH1, personC: householdH2}

// fen converts a yuan literal to fen.
func fen(yuan string) int64 { return money.ToFen(dec(yuan)) }

// programmeOfPlan gives a test plan code's programme: plans are named
// PROGRAMME-2026, with a -XICHUAN county plan of the same programme.
func programmeOfPlan(plan string) string { return plan[:3] }

// counted is an earlier counted claim of who under plan, for cause, with
// reference ref, its counted base and payable in yuan; the fact base is the
// base unless a test changes it, and the event date is 1 March.
func counted(plan, who, cause, ref, base, payable string) Prior {
	programme := programmeOfPlan(plan)
	household := householdOfPerson[who]
	return Prior{
		Plan: plan, Programme: programme, BeneficiaryID: who, HouseholdID: household,
		CapSubject: CapSubjectOf(programme, who, household), EventDate: march1, Cause: cause, Reference: ref,
		Base: fen(base), FactBase: fen(base), Payable: fen(payable),
	}
}

// outpatient marks a ZKB prior as an outpatient bill.
func outpatient(q Prior) Prior {
	q.ServiceType = "outpatient"
	return q
}

// pending is the claim being decided: who under plan for cause with
// reference ref and fact base factBase in yuan, on 1 March, cap subject
// left to StandingOf.
func pending(plan, who, cause, ref, factBase string) Pending {
	return Pending{
		Plan: plan, Programme: programmeOfPlan(plan), BeneficiaryID: who, HouseholdID: householdOfPerson[who],
		EventDate: march1, Cause: cause, Reference: ref, FactBase: fen(factBase),
	}
}

// standingWant is a Standing in yuan literals, for readable cases.
type standingWant struct {
	prevBase, paidAnnual, paidCause, paidOutpatient, offset string
	duplicate, compensated                                  bool
}

func requireStanding(t *testing.T, want standingWant, got Standing) {
	t.Helper()
	h := got.History
	require.Equal(t, want.prevBase, money.String(h.PrevBase), "PrevBase")
	require.Equal(t, want.paidAnnual, money.String(h.PaidAnnual), "PaidAnnual")
	require.Equal(t, want.paidCause, money.String(h.PaidCause), "PaidCause")
	require.Equal(t, want.paidOutpatient, money.String(h.PaidOutpatient), "PaidOutpatient")
	require.Equal(t, want.offset, money.String(h.Offset), "Offset")
	require.Equal(t, want.duplicate, got.Duplicate, "Duplicate")
	require.Equal(t, want.compensated, got.AlreadyCompensated, "AlreadyCompensated")
}

func TestStandingOf(t *testing.T) {
	const zero = "0.00"
	nothing := standingWant{prevBase: zero, paidAnnual: zero, paidCause: zero, paidOutpatient: zero, offset: zero}
	with := func(change func(w *standingWant)) standingWant {
		w := nothing
		change(&w)
		return w
	}
	nearDuplicate := counted("ZKB-2026", personA, CauseMedical, "B1", "8000.00", "6400.00")
	nearDuplicate.FactBase = fen("8000.01")
	otherDay := counted("ZKB-2026", personA, CauseMedical, "B1", "8000.00", "6400.00")
	otherDay.EventDate = march2

	cases := []struct {
		name    string
		pending Pending
		prior   []Prior
		want    standingWant
	}{
		{"no earlier claims: nothing used, nothing matched",
			pending("FPB-2026", personA, CauseIllness, "B1", "12000.00"), nil, nothing},
		{"ZKB accumulates only the same plan and person: not the housemate's, not another ZKB plan's",
			pending("ZKB-2026", personA, CauseMedical, "B9", "1000.00"),
			[]Prior{
				counted("ZKB-2026", personA, CauseMedical, "B1", "5000.00", "4000.00"),
				counted("ZKB-2026", personB, CauseMedical, "B2", "7000.00", "5600.00"),
				counted("ZKB-2026-XICHUAN", personA, CauseMedical, "B3", "3000.00", "2400.00"),
			},
			with(func(w *standingWant) { w.prevBase, w.paidAnnual = "5000.00", "4000.00" })},
		{"ZKB outpatient payables are summed apart, the base and annual cap take both services",
			pending("ZKB-2026", personA, CauseMedical, "B9", "1000.00"),
			[]Prior{
				outpatient(counted("ZKB-2026", personA, CauseMedical, "B1", "3750.00", "3000.00")),
				counted("ZKB-2026", personA, CauseMedical, "B2", "6250.00", "5000.00"),
				outpatient(counted("ZKB-2026", personB, CauseMedical, "B3", "1000.00", "800.00")),
			},
			with(func(w *standingWant) {
				w.prevBase, w.paidAnnual, w.paidOutpatient = "10000.00", "8000.00", "3000.00"
			})},
		{"FPB accumulates per cause over the household; the annual cap counts every cause",
			pending("FPB-2026", personA, CauseIllness, "B9", "1000.00"),
			[]Prior{
				counted("FPB-2026", personA, CauseIllness, "B1", "12000.00", "2100.00"),
				counted("FPB-2026", personB, CauseIllness, "B2", "3000.00", "900.00"),
				counted("FPB-2026", personB, CauseEducation, "", "9000.00", "500.00"),
				counted("FPB-2026-XICHUAN", personA, CauseIllness, "B3", "40000.00", "9999.00"),
			},
			with(func(w *standingWant) {
				w.prevBase, w.paidCause, w.paidAnnual = "15000.00", "3000.00", "3500.00"
			})},
		{"FPB illness is offset by ZKB on the same person's same bill, not on a housemate's or another bill",
			pending("FPB-2026", personA, CauseIllness, "B1", "12000.00"),
			[]Prior{
				counted("ZKB-2026", personA, CauseMedical, "B1", "8000.00", "6400.00"),
				counted("ZKB-2026-XICHUAN", personA, CauseMedical, "B1", "500.00", "400.00"),
				counted("ZKB-2026", personB, CauseMedical, "B1", "1000.00", "800.00"),
				counted("ZKB-2026", personA, CauseMedical, "B2", "2000.00", "1600.00"),
			},
			with(func(w *standingWant) { w.offset = "6800.00" })},
		{"FPB disaster is offset by ZFB to the same household for the same incident, whoever claimed",
			pending("FPB-2026", personA, CauseDisaster, "I1", "30000.00"),
			[]Prior{
				counted("ZFB-2026", personB, CauseDisaster, "I1", "15000.00", "15000.00"),
				counted("ZFB-2026", personA, CauseDisaster, "I2", "4000.00", "4000.00"),
				counted("ZFB-2026", personC, CauseDisaster, "I1", "20000.00", "20000.00"),
			},
			with(func(w *standingWant) { w.offset = "15000.00" })},
		{"FPB education and accident have no reference and take no offset",
			pending("FPB-2026", personA, CauseAccident, "", "30000.00"),
			[]Prior{counted("ZFB-2026", personA, CauseDisaster, "", "15000.00", "15000.00")},
			nothing},
		{"FPB offsets do not come from FPB claims of the same bill",
			pending("FPB-2026", personA, CauseIllness, "B1", "30000.00"),
			[]Prior{counted("FPB-2026-XICHUAN", personA, CauseIllness, "B1", "12000.00", "2100.00")},
			nothing},
		{"ZFB pays once per household and incident, across ZFB plans",
			pending("ZFB-2026", personA, CauseDisaster, "I1", "0.00"),
			[]Prior{counted("ZFB-2026-XICHUAN", personB, CauseDisaster, "I1", "15000.00", "15000.00")},
			with(func(w *standingWant) { w.compensated = true })},
		{"ZFB for another incident, or FPB for the same one, is no compensation; the same plan's relief fills the cap",
			pending("ZFB-2026", personA, CauseDisaster, "I1", "0.00"),
			[]Prior{
				counted("ZFB-2026", personB, CauseDisaster, "I2", "4000.00", "4000.00"),
				counted("FPB-2026", personA, CauseDisaster, "I1", "30000.00", "7500.00"),
			},
			with(func(w *standingWant) { w.prevBase, w.paidAnnual = "4000.00", "4000.00" })},
		{"the same plan, person, cause, date, reference and fact base is a duplicate",
			pending("ZKB-2026", personA, CauseMedical, "B1", "8000.00"),
			[]Prior{counted("ZKB-2026", personA, CauseMedical, "B1", "8000.00", "6400.00")},
			with(func(w *standingWant) { w.duplicate, w.prevBase, w.paidAnnual = true, "8000.00", "6400.00" })},
		{"a duplicate is one even when it paid nothing",
			pending("FPB-2026", personA, CauseIllness, "B1", "3000.00"),
			[]Prior{counted("FPB-2026", personA, CauseIllness, "B1", "3000.00", "0.00")},
			with(func(w *standingWant) { w.duplicate, w.prevBase = true, "3000.00" })},
		{"near-duplicates are not: another fact base, another date, another plan, another person",
			pending("ZKB-2026", personA, CauseMedical, "B1", "8000.00"),
			[]Prior{
				nearDuplicate,
				otherDay,
				counted("ZKB-2026-XICHUAN", personA, CauseMedical, "B1", "8000.00", "6400.00"),
				counted("ZKB-2026", personB, CauseMedical, "B1", "8000.00", "6400.00"),
			},
			with(func(w *standingWant) { w.prevBase, w.paidAnnual = "16000.00", "12800.00" })},
		{"claims of another household count for nothing, even the same person's under an old household",
			pending("FPB-2026", personA, CauseIllness, "B1", "12000.00"),
			[]Prior{func() Prior {
				q := counted("FPB-2026", personA, CauseIllness, "B1", "12000.00", "2100.00")
				q.HouseholdID, q.CapSubject = householdH2, householdH2
				return q
			}()},
			nothing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireStanding(t, tc.want, StandingOf(tc.pending, tc.prior))
		})
	}
}

func TestStandingOfIgnoresOrder(t *testing.T) {
	p := pending("FPB-2026", personA, CauseIllness, "B1", "30000.00")
	prior := []Prior{
		counted("FPB-2026", personA, CauseIllness, "B0", "12000.00", "2100.00"),
		counted("FPB-2026", personB, CauseEducation, "", "9000.00", "500.00"),
		counted("ZKB-2026", personA, CauseMedical, "B1", "8000.00", "6400.00"),
	}
	want := StandingOf(p, prior)
	reversed := []Prior{prior[2], prior[1], prior[0]}
	require.Equal(t, want, StandingOf(p, reversed))
}

func TestCapSubjectOf(t *testing.T) {
	for programme, want := range map[string]string{ZKB: personA, ZFB: householdH1, FPB: householdH1, CYB: personA, "XYZ": personA} {
		require.Equal(t, want, CapSubjectOf(programme, personA, householdH1), programme)
	}
	// An explicit cap subject is used as given.
	p := pending("ZKB-2026", personA, CauseMedical, "B9", "1.00")
	p.CapSubject = "someone-else"
	s := StandingOf(p, []Prior{counted("ZKB-2026", personA, CauseMedical, "B1", "5000.00", "4000.00")})
	require.True(t, s.History.PaidAnnual.IsZero())
}

// assessed is the Prior the pipeline stores for a claim once assessed: the
// counted base rounded to the fen and the payable.
func assessed(p Pending, serviceType string, a Assessment) Prior {
	return Prior{
		Plan: p.Plan, Programme: p.Programme, BeneficiaryID: p.BeneficiaryID, HouseholdID: p.HouseholdID,
		CapSubject: CapSubjectOf(p.Programme, p.BeneficiaryID, p.HouseholdID), EventDate: p.EventDate,
		Cause: p.Cause, Reference: p.Reference, ServiceType: serviceType,
		Base: money.ToFen(money.Round(a.Base)), FactBase: p.FactBase, Payable: money.ToFen(a.Payable),
	}
}

// pendingOf is the Pending of facts f claimed by who under plan on 1 March.
func pendingOf(plan, who string, f Facts) Pending {
	return Pending{
		Plan: plan, Programme: f.Programme, BeneficiaryID: who, HouseholdID: householdOfPerson[who],
		EventDate: march1, Cause: f.Cause, Reference: f.Reference(), ServiceType: f.ServiceType,
		FactBase: money.ToFen(money.Round(f.Base())),
	}
}

// TestStandingOfThenAssess runs claims in sequence as the pipeline does:
// each one's Standing from the claims before it, then Assess.
func TestStandingOfThenAssess(t *testing.T) {
	fpb := DefaultRules(FPB)
	illness := func(bill, selfPay string) Facts {
		return Facts{Programme: FPB, Cause: CauseIllness, HouseholdIncomePerCapita: dec("4000"), BillRef: bill, SelfPay: dec(selfPay)}
	}
	run := func(t *testing.T, rules Rules, categories []string, prior []Prior, plan, who string, f Facts) (Assessment, Prior) {
		t.Helper()
		p := pendingOf(plan, who, f)
		st := StandingOf(p, prior)
		require.False(t, st.Duplicate)
		require.False(t, st.AlreadyCompensated)
		a := Assess(AssessInput{Rules: rules, Cause: f.Cause, Facts: f, Categories: categories, History: st.History})
		return a, assessed(p, f.ServiceType, a)
	}

	t.Run("DESIGN: two FPB illness claims, 12000.00 then 30000.00, pay 2100.00 then F(42000) − F(12000) = 13400.00", func(t *testing.T) {
		first, stored := run(t, fpb, []string{"marginal_at_risk"}, nil, "FPB-2026", personA, illness("B1", "12000.00"))
		require.Equal(t, "2100.00", money.String(first.Payable))
		// The housemate's second bill accumulates on the household's tier.
		second, _ := run(t, fpb, []string{"marginal_at_risk"}, []Prior{stored}, "FPB-2026", personB, illness("B2", "30000.00"))
		require.Equal(t, "13400.00", money.String(second.Payable))
		require.Equal(t, "42000.00", money.String(second.Breakdown[1].Amount.Decimal), "accumulated base")
		require.Equal(t, "15500.00", money.String(second.Breakdown[2].Amount.Decimal), "F(42000)")
		require.Equal(t, "2100.00", money.String(second.Breakdown[3].Amount.Decimal), "F(12000)")
	})

	t.Run("ZKB on a bill is offset from FPB illness on the same bill: 12000.00 − 6400.00 above 5000.00 at 0.30", func(t *testing.T) {
		zkbBill := zkbFacts("inpatient", "48000.00", "30000.00", "6000.00", "4000.00")
		zkbBill.BillRef = "B1"
		zkb, stored := run(t, DefaultRules(ZKB), []string{"illness_poverty"}, nil, "ZKB-2026", personA, zkbBill)
		require.Equal(t, "6400.00", money.String(zkb.Payable))
		fpbClaim, _ := run(t, fpb, []string{"marginal_at_risk"}, []Prior{stored}, "FPB-2026", personA, illness("B1", "12000.00"))
		require.Equal(t, "5600.00", money.String(fpbClaim.Base))
		require.Equal(t, "180.00", money.String(fpbClaim.Payable))
	})

	t.Run("a second ZFB claim for the incident is already compensated; a resubmitted FPB claim is a duplicate", func(t *testing.T) {
		zfb := zfbFacts("house_collapsed", 3, 0, "")
		_, stored := run(t, DefaultRules(ZFB), nil, nil, "ZFB-2026", personA, zfb)
		require.True(t, StandingOf(pendingOf("ZFB-2026-XICHUAN", personB, zfb), []Prior{stored}).AlreadyCompensated)

		_, first := run(t, fpb, []string{"marginal_at_risk"}, nil, "FPB-2026", personA, illness("B1", "12000.00"))
		require.True(t, StandingOf(pendingOf("FPB-2026", personA, illness("B1", "12000.00")), []Prior{first}).Duplicate)
		require.False(t, StandingOf(pendingOf("FPB-2026", personA, illness("B1", "12000.01")), []Prior{first}).Duplicate)
	})
}

// pipelineStanding is the loop of claims/pipeline.go's decide that
// StandingOf took over, kept with only its names changed, as the
// specification StandingOf must reproduce. history is what the pipeline
// gave it: the counted claims of the pending claim's household.
func pipelineStanding(p Pending, history []Prior) Standing {
	subject := CapSubjectOf(p.Programme, p.BeneficiaryID, p.HouseholdID)
	var h History
	var duplicate, compensated bool
	for _, q := range history {
		if q.Plan == p.Plan && q.BeneficiaryID == p.BeneficiaryID && q.Cause == p.Cause &&
			q.EventDate == p.EventDate && q.Reference == p.Reference && q.FactBase == p.FactBase {
			duplicate = true
		}
		if p.Programme == ZFB && q.Programme == ZFB && q.HouseholdID == p.HouseholdID && q.Reference == p.Reference {
			compensated = true
		}
		if q.Plan == p.Plan && q.CapSubject == subject {
			h.PaidAnnual = h.PaidAnnual.Add(money.FromFen(q.Payable))
			if p.Programme != FPB || q.Cause == p.Cause {
				h.PrevBase = h.PrevBase.Add(money.FromFen(q.Base))
			}
			if p.Programme == FPB && q.Cause == p.Cause {
				h.PaidCause = h.PaidCause.Add(money.FromFen(q.Payable))
			}
			if p.Programme == ZKB && q.ServiceType == "outpatient" {
				h.PaidOutpatient = h.PaidOutpatient.Add(money.FromFen(q.Payable))
			}
		}
		if p.Programme == FPB && p.Reference != "" {
			switch {
			case p.Cause == CauseIllness && q.Programme == ZKB && q.BeneficiaryID == p.BeneficiaryID && q.Reference == p.Reference,
				p.Cause == CauseDisaster && q.Programme == ZFB && q.HouseholdID == p.HouseholdID && q.Reference == p.Reference:
				h.Offset = h.Offset.Add(money.FromFen(q.Payable))
			}
		}
	}
	return Standing{History: h, Duplicate: duplicate, AlreadyCompensated: compensated}
}

// TestStandingOfMatchesThePipelineLoop draws histories from small pools, so
// that plans, people, references, dates and bases collide often, and checks
// that StandingOf over every household's claims gives exactly what the
// pipeline's loop gave over the claim's own household.
func TestStandingOfMatchesThePipelineLoop(t *testing.T) {
	plans := []string{"ZKB-2026", "ZKB-2026-XICHUAN", "ZFB-2026", "ZFB-2026-XICHUAN", "FPB-2026", "FPB-2026-XICHUAN", "CYB-2026"}
	people := []string{personA, personB, personC}
	refs := []string{"R1", "R2", ""}
	amounts := []int64{0, 1, 210000, 640000, 1200000}
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	draw := func() Prior {
		plan, who := pick(plans), pick(people)
		programme := programmeOfPlan(plan)
		household := householdOfPerson[who]
		return Prior{
			Plan: plan, Programme: programme, BeneficiaryID: who, HouseholdID: household,
			CapSubject: CapSubjectOf(programme, who, household), EventDate: pick([]string{march1, march2}),
			Cause: pick(specOf(programme).Causes), Reference: pick(refs), ServiceType: pick(ServiceTypes),
			Base: amounts[rng.IntN(len(amounts))], FactBase: amounts[rng.IntN(len(amounts))], Payable: amounts[rng.IntN(len(amounts))],
		}
	}
	for i := range 5000 {
		prior := make([]Prior, rng.IntN(8))
		for j := range prior {
			prior[j] = draw()
		}
		q := draw()
		p := Pending{
			Plan: q.Plan, Programme: q.Programme, BeneficiaryID: q.BeneficiaryID, HouseholdID: q.HouseholdID,
			EventDate: q.EventDate, Cause: q.Cause, Reference: q.Reference, ServiceType: q.ServiceType, FactBase: q.FactBase,
		}
		var household []Prior
		for _, x := range prior {
			if x.HouseholdID == p.HouseholdID {
				household = append(household, x)
			}
		}
		want := pipelineStanding(p, household)
		require.Equal(t, want, StandingOf(p, prior), "draw %d: %+v over %+v", i, p, prior)
	}
}

package policies

import (
	"testing"

	"github.com/shopspring/decimal"
)

// maxFen is one more than the largest amount in fen (999999999999.99 yuan).
const maxFen = 100000000000000

// fenOf maps a fuzzed integer onto a valid amount, 0 … 999999999999.99.
func fenOf(v uint64) decimal.Decimal { return decimal.New(int64(v%maxFen), -2) }

// checkPayable asserts the invariants every assessment keeps: payable whole
// fen, 0 ≤ payable ≤ raw, payable within every cap's room, and CapReached
// exactly when caps alone stopped a positive raw amount.
func checkPayable(t *testing.T, a Assessment, rooms ...decimal.Decimal) {
	t.Helper()
	if a.Payable.IsNegative() {
		t.Fatalf("payable %s < 0", a.Payable)
	}
	if !a.Payable.Equal(a.Payable.Round(2)) || !a.Raw.Equal(a.Raw.Round(2)) {
		t.Fatalf("raw %s or payable %s is not whole fen", a.Raw, a.Payable)
	}
	if a.Payable.GreaterThan(a.Raw) {
		t.Fatalf("payable %s > raw %s", a.Payable, a.Raw)
	}
	for _, room := range rooms {
		if a.Payable.GreaterThan(nonNegative(room)) {
			t.Fatalf("payable %s > cap room %s", a.Payable, room)
		}
	}
	if a.CapReached != (a.Raw.IsPositive() && a.Payable.IsZero()) {
		t.Fatalf("cap reached %v with raw %s payable %s", a.CapReached, a.Raw, a.Payable)
	}
	if a.Base.IsNegative() {
		t.Fatalf("base %s < 0", a.Base)
	}
}

// FuzzAssessFPB checks the FPB invariants: payable within every cap, F
// monotone, and that splitting one cost into three claims applied in
// sequence (History updated as the pipeline would) pays exactly what one
// claim pays when no cap binds; the raw amounts always telescope.
func FuzzAssessFPB(f *testing.F) {
	f.Add(uint8(0), uint64(1200000), uint64(3000000), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), false)
	f.Add(uint8(0), uint64(500000), uint64(1), uint64(1499999), uint64(0), uint64(0), uint64(0), uint64(200000), false)
	f.Add(uint8(1), uint64(900000), uint64(900000), uint64(900000), uint64(100), uint64(1900000), uint64(1900000), uint64(0), false)
	f.Add(uint8(2), uint64(2000001), uint64(4999999), uint64(5000001), uint64(9999999), uint64(0), uint64(9999000), uint64(1500000), true)
	f.Add(uint8(3), uint64(99999999999999), uint64(99999999999999), uint64(99999999999999), uint64(99999999999999), uint64(0), uint64(0), uint64(0), true)
	f.Add(uint8(3), uint64(1), uint64(1), uint64(1), uint64(499999), uint64(0), uint64(0), uint64(0), false)

	def := DefaultRules(FPB)
	// Caps as wide as amounts go, so that the split property is exercised
	// far past the default caps.
	wide, errs := ParseRules(FPB, []byte(`{"annual_cap":"999999999999.99","causes":{"illness":{"cap":"999999999999.99"},"education":{"cap":"999999999999.99"},"disaster":{"cap":"999999999999.99"},"accident":{"cap":"999999999999.99"}}}`))
	if len(errs) > 0 {
		f.Fatal(errs)
	}
	f.Fuzz(func(t *testing.T, causeN uint8, p1, p2, p3, prevN, paidCauseN, paidAnnualN, offsetN uint64, wideCaps bool) {
		rules := def
		if wideCaps {
			rules = wide
		}
		cause := fpbCauses[int(causeN)%len(fpbCauses)]
		tier := rules.FPB.Causes[cause]
		parts := []decimal.Decimal{fenOf(p1), fenOf(p2), fenOf(p3)}
		total := parts[0].Add(parts[1]).Add(parts[2])
		start := History{PrevBase: fenOf(prevN), PaidCause: fenOf(paidCauseN), PaidAnnual: fenOf(paidAnnualN)}
		if start.PaidAnnual.LessThan(start.PaidCause) {
			start.PaidAnnual = start.PaidCause // the annual sum includes this cause's
		}

		// F is monotone.
		lo, hi := parts[0], parts[1]
		if hi.LessThan(lo) {
			lo, hi = hi, lo
		}
		if Tier(lo, tier.Deductible, tier.Brackets).GreaterThan(Tier(hi, tier.Deductible, tier.Brackets)) {
			t.Fatalf("F(%s) > F(%s)", lo, hi)
		}

		assess := func(amount decimal.Decimal, h History) Assessment {
			facts := Facts{Programme: FPB, Cause: cause, BillRef: "B", IncidentRef: "I", SelfPay: amount, NetLoss: amount}
			a := Assess(AssessInput{Rules: rules, Cause: cause, Facts: facts, History: h})
			checkPayable(t, a, tier.Cap.Sub(h.PaidCause), rules.FPB.AnnualCap.Sub(h.PaidAnnual))
			return a
		}

		// An offset never raises the payable.
		withOffset := start
		withOffset.Offset = fenOf(offsetN)
		if assess(parts[0], withOffset).Payable.GreaterThan(assess(parts[0], start).Payable) {
			t.Fatalf("an offset raised the payable")
		}

		one := assess(total, start)
		h := start
		rawSum, paidSum := decimal.Zero, decimal.Zero
		for _, part := range parts {
			a := assess(part, h)
			h.PrevBase = h.PrevBase.Add(a.Base)
			h.PaidCause = h.PaidCause.Add(a.Payable)
			h.PaidAnnual = h.PaidAnnual.Add(a.Payable)
			rawSum = rawSum.Add(a.Raw)
			paidSum = paidSum.Add(a.Payable)
		}
		if !rawSum.Equal(one.Raw) {
			t.Fatalf("raw of the parts %s ≠ raw of one claim %s", rawSum, one.Raw)
		}
		if one.Payable.Equal(one.Raw) && !paidSum.Equal(one.Payable) {
			t.Fatalf("no cap binds, yet the parts pay %s and one claim %s", paidSum, one.Payable)
		}
		if paidSum.GreaterThan(one.Raw) {
			t.Fatalf("the parts pay %s, more than the raw amount %s", paidSum, one.Raw)
		}
	})
}

// FuzzAssessZKB checks the same invariants for ZKB, where the tier is a ratio
// above the deductible and outpatient claims have a second cap.
func FuzzAssessZKB(f *testing.F) {
	f.Add(uint64(4800000), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), uint8(0), false)
	f.Add(uint64(1500000), uint64(1), uint64(333333), uint64(0), uint64(950000), uint64(0), uint8(1), true)
	f.Add(uint64(1), uint64(1), uint64(1), uint64(99999), uint64(9999999), uint64(999999), uint8(2), true)
	f.Add(uint64(99999999999999), uint64(99999999999999), uint64(99999999999999), uint64(99999999999999), uint64(0), uint64(0), uint8(3), false)

	rules, errs := ParseRules(ZKB, []byte(`{"deductible":"1000.00","eligible_categories":["illness_poverty","disability_poverty","rural_destitute","sudden_hardship"],"ratios":{"sudden_hardship":"0.3333"}}`))
	if len(errs) > 0 {
		f.Fatal(errs)
	}
	categorySets := [][]string{
		{"rural_destitute"}, {"illness_poverty", "rural_destitute"}, {"sudden_hardship"}, {"marginal_at_risk", "sudden_hardship", "disability_poverty"},
	}
	f.Fuzz(func(t *testing.T, p1, p2, p3, prevN, paidAnnualN, paidOutN uint64, catsN uint8, outpatient bool) {
		z := rules.ZKB
		cats := categorySets[int(catsN)%len(categorySets)]
		service := "inpatient"
		if outpatient {
			service = "outpatient"
		}
		_, ratio, _ := z.BestRatio(cats)
		brackets := []Bracket{{Rate: ratio}}
		parts := []decimal.Decimal{fenOf(p1), fenOf(p2), fenOf(p3)}
		total := parts[0].Add(parts[1]).Add(parts[2])
		start := History{PrevBase: fenOf(prevN), PaidAnnual: fenOf(paidAnnualN), PaidOutpatient: fenOf(paidOutN)}

		lo, hi := parts[0], parts[1]
		if hi.LessThan(lo) {
			lo, hi = hi, lo
		}
		if Tier(lo, z.Deductible, brackets).GreaterThan(Tier(hi, z.Deductible, brackets)) {
			t.Fatalf("F(%s) > F(%s)", lo, hi)
		}

		assess := func(amount decimal.Decimal, h History) Assessment {
			facts := Facts{Programme: ZKB, Cause: CauseMedical, ServiceType: service, BillRef: "B", TotalCost: amount, PolicyScopeCost: amount}
			a := Assess(AssessInput{Rules: rules, Cause: CauseMedical, Facts: facts, Categories: cats, History: h})
			rooms := []decimal.Decimal{z.AnnualCap.Sub(h.PaidAnnual)}
			if outpatient {
				rooms = append(rooms, z.OutpatientAnnualCap.Sub(h.PaidOutpatient))
			}
			checkPayable(t, a, rooms...)
			return a
		}

		one := assess(total, start)
		h := start
		rawSum, paidSum := decimal.Zero, decimal.Zero
		for _, part := range parts {
			a := assess(part, h)
			h.PrevBase = h.PrevBase.Add(a.Base)
			h.PaidAnnual = h.PaidAnnual.Add(a.Payable)
			if outpatient {
				h.PaidOutpatient = h.PaidOutpatient.Add(a.Payable)
			}
			rawSum = rawSum.Add(a.Raw)
			paidSum = paidSum.Add(a.Payable)
		}
		if !rawSum.Equal(one.Raw) {
			t.Fatalf("raw of the parts %s ≠ raw of one claim %s", rawSum, one.Raw)
		}
		if one.Payable.Equal(one.Raw) && !paidSum.Equal(one.Payable) {
			t.Fatalf("no cap binds, yet the parts pay %s and one claim %s", paidSum, one.Payable)
		}
	})
}

package policies

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// zkbFacts is a ZKB medical bill; the layers are the three insurance payers.
func zkbFacts(service, scope, basic, critical, assistance string) Facts {
	return Facts{
		Programme: ZKB, Cause: CauseMedical, ServiceType: service, BillRef: "NY-2026-0001",
		TotalCost: dec(scope), PolicyScopeCost: dec(scope),
		BasicInsurancePaid: dec(basic), CriticalIllnessPaid: dec(critical), MedicalAssistancePaid: dec(assistance),
	}
}

func fpbFacts(cause, amount string) Facts {
	f := Facts{Programme: FPB, Cause: cause, HouseholdIncomePerCapita: dec("4000")}
	switch cause {
	case CauseIllness:
		f.BillRef, f.SelfPay = "NY-2026-0001", dec(amount)
	case CauseEducation:
		f.SelfPay = dec(amount)
	case CauseDisaster:
		f.IncidentRef, f.NetLoss = "YJ-2026-7", dec(amount)
	case CauseAccident:
		f.NetLoss = dec(amount)
	}
	return f
}

func zfbFacts(class string, rooms, grade int, loss string) Facts {
	f := Facts{Programme: ZFB, Cause: CauseDisaster, IncidentRef: "YJ-2026-7", LossClass: class, Rooms: rooms, DisabilityGrade: grade}
	if loss != "" {
		f.AssessedLoss = dec(loss)
	}
	return f
}

func cybFacts(cause, amount string, county bool) Facts {
	f := Facts{Programme: CYB, Cause: cause, Industry: "tea", PrimaryPolicyNo: "PICC-88", CountySubsidised: county}
	if cause == CausePremiumSubsidy {
		f.PremiumPaid = dec(amount)
	} else {
		f.PrimaryClaimPaid = dec(amount)
	}
	return f
}

// hist builds a History from decimal literals ("" is zero).
func hist(prevBase, paidAnnual, paidCause, paidOutpatient, offset string) History {
	h := History{}
	if prevBase != "" {
		h.PrevBase = dec(prevBase)
	}
	if paidAnnual != "" {
		h.PaidAnnual = dec(paidAnnual)
	}
	if paidCause != "" {
		h.PaidCause = dec(paidCause)
	}
	if paidOutpatient != "" {
		h.PaidOutpatient = dec(paidOutpatient)
	}
	if offset != "" {
		h.Offset = dec(offset)
	}
	return h
}

type assessCase struct {
	name       string
	rules      Rules
	facts      Facts
	categories []string
	history    History
	base       string
	raw        string
	payable    string
	capReached bool
}

func runAssessCases(t *testing.T, cases []assessCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := Assess(AssessInput{Rules: tc.rules, Cause: tc.facts.Cause, Facts: tc.facts, Categories: tc.categories, History: tc.history})
			require.Equal(t, tc.base, a.Base.StringFixed(2), "base")
			require.Equal(t, tc.raw, a.Raw.StringFixed(2), "raw")
			require.Equal(t, tc.payable, a.Payable.StringFixed(2), "payable")
			require.Equal(t, tc.capReached, a.CapReached, "cap reached")
			require.True(t, a.Payable.Equal(a.Payable.Round(2)), "payable is whole fen")
			require.NotEmpty(t, a.Breakdown)
			last := a.Breakdown[len(a.Breakdown)-1]
			require.True(t, last.Amount.Equal(a.Payable), "the last breakdown line is the payable")
			for _, s := range a.Breakdown {
				require.NotEmpty(t, s.Description)
				require.True(t, s.Amount.Equal(s.Amount.Round(2)), "every line is whole fen: %q %s", s.Description, s.Amount.Decimal)
			}
		})
	}
}

func TestAssessZKB(t *testing.T) {
	def := DefaultRules(ZKB)
	withDeductible := mustRules(t, ZKB, `{"deductible":"1000.00"}`)
	noRural := mustRules(t, ZKB, `{"eligible_categories":["illness_poverty","disability_poverty"]}`)
	inpatient := zkbFacts("inpatient", "48000.00", "30000.00", "6000.00", "4000.00")
	runAssessCases(t, []assessCase{
		{name: "DESIGN: rural destitute inpatient, scope 48000 less 40000 of layers pays 8000.00",
			rules: def, facts: inpatient, categories: []string{"rural_destitute"},
			base: "8000.00", raw: "8000.00", payable: "8000.00"},
		{name: "DESIGN: the same bill for an illness_poverty person pays 6400.00",
			rules: def, facts: inpatient, categories: []string{"illness_poverty"},
			base: "8000.00", raw: "6400.00", payable: "6400.00"},
		{name: "DESIGN: outpatient base 15000 at 0.80 is 12000, capped at the outpatient cap 10000.00",
			rules: def, facts: zkbFacts("outpatient", "15000.00", "0", "0", "0"), categories: []string{"disability_poverty"},
			base: "15000.00", raw: "12000.00", payable: "10000.00"},
		{name: "best ratio among several categories: rural destitute beats illness poverty",
			rules: def, facts: inpatient, categories: []string{"illness_poverty", "rural_destitute", "marginal_at_risk"},
			base: "8000.00", raw: "8000.00", payable: "8000.00"},
		{name: "best ratio only among eligible categories: rural destitute not covered by this plan",
			rules: noRural, facts: inpatient, categories: []string{"rural_destitute", "disability_poverty"},
			base: "8000.00", raw: "6400.00", payable: "6400.00"},
		{name: "no eligible category pays nothing",
			rules: def, facts: inpatient, categories: []string{"marginal_at_risk"},
			base: "8000.00", raw: "0.00", payable: "0.00"},
		{name: "layers above the policy scope: zero base",
			rules: def, facts: zkbFacts("inpatient", "1000.00", "900.00", "200.00", "0"), categories: []string{"rural_destitute"},
			base: "0.00", raw: "0.00", payable: "0.00"},
		{name: "second claim accumulates with the first above the deductible",
			rules: withDeductible, facts: zkbFacts("inpatient", "800.00", "0", "0", "0"), categories: []string{"illness_poverty"},
			history: hist("500.00", "", "", "", ""), base: "800.00", raw: "240.00", payable: "240.00"},
		{name: "claim below the deductible pays nothing yet counts toward it",
			rules: withDeductible, facts: zkbFacts("inpatient", "600.00", "0", "0", "0"), categories: []string{"illness_poverty"},
			base: "600.00", raw: "0.00", payable: "0.00"},
		{name: "half a fen rounds up: 0.80 × 0.01 above the deductible is 0.008 → 0.01",
			rules: withDeductible, facts: zkbFacts("inpatient", "1000.01", "0", "0", "0"), categories: []string{"illness_poverty"},
			base: "1000.01", raw: "0.01", payable: "0.01"},
		{name: "annual cap partly used",
			rules: def, facts: inpatient, categories: []string{"rural_destitute"}, history: hist("", "95000.00", "", "", ""),
			base: "8000.00", raw: "8000.00", payable: "5000.00"},
		{name: "annual cap fully used: cap reached",
			rules: def, facts: inpatient, categories: []string{"rural_destitute"}, history: hist("", "100000.00", "", "", ""),
			base: "8000.00", raw: "8000.00", payable: "0.00", capReached: true},
		{name: "outpatient cap fully used: cap reached though the annual cap has room",
			rules: def, facts: zkbFacts("outpatient", "500.00", "0", "0", "0"), categories: []string{"rural_destitute"},
			history: hist("", "10000.00", "", "10000.00", ""), base: "500.00", raw: "500.00", payable: "0.00", capReached: true},
		{name: "inpatient claims ignore the outpatient cap",
			rules: def, facts: inpatient, categories: []string{"rural_destitute"}, history: hist("", "10000.00", "", "10000.00", ""),
			base: "8000.00", raw: "8000.00", payable: "8000.00"},
		{name: "an offset is not a ZKB concept and is ignored",
			rules: def, facts: inpatient, categories: []string{"rural_destitute"}, history: hist("", "", "", "", "5000.00"),
			base: "8000.00", raw: "8000.00", payable: "8000.00"},
		{name: "maximal amounts do not overflow",
			rules: def, facts: zkbFacts("inpatient", "999999999999.99", "0", "0", "0"), categories: []string{"illness_poverty"},
			history: hist("999999999999.99", "", "", "", ""), base: "999999999999.99", raw: "799999999999.99", payable: "100000.00"},
	})
}

func TestAssessZFB(t *testing.T) {
	def := DefaultRules(ZFB)
	oddGrade1 := mustRules(t, ZFB, `{"disability_grade1":"50000.05"}`)
	runAssessCases(t, []assessCase{
		{name: "DESIGN: 3 rooms collapsed pay 15000.00", rules: def, facts: zfbFacts("house_collapsed", 3, 0, ""),
			base: "15000.00", raw: "15000.00", payable: "15000.00"},
		{name: "DESIGN: 5 rooms collapsed are limited to 20000.00", rules: def, facts: zfbFacts("house_collapsed", 5, 0, ""),
			base: "20000.00", raw: "20000.00", payable: "20000.00"},
		{name: "4 rooms are exactly the maximum", rules: def, facts: zfbFacts("house_collapsed", 4, 0, ""),
			base: "20000.00", raw: "20000.00", payable: "20000.00"},
		{name: "house damaged pays the fixed amount", rules: def, facts: zfbFacts("house_damaged", 0, 0, ""),
			base: "4000.00", raw: "4000.00", payable: "4000.00"},
		{name: "death pays the fixed amount", rules: def, facts: zfbFacts("death", 0, 0, ""),
			base: "50000.00", raw: "50000.00", payable: "50000.00"},
		{name: "DESIGN: disability grade 4 pays 35000.00", rules: def, facts: zfbFacts("disability", 0, 4, ""),
			base: "35000.00", raw: "35000.00", payable: "35000.00"},
		{name: "disability grade 1 pays all of the grade-1 amount", rules: def, facts: zfbFacts("disability", 0, 1, ""),
			base: "50000.00", raw: "50000.00", payable: "50000.00"},
		{name: "disability grade 10 pays a tenth", rules: def, facts: zfbFacts("disability", 0, 10, ""),
			base: "5000.00", raw: "5000.00", payable: "5000.00"},
		{name: "half a fen rounds up: 50000.05 × 7/10 = 35000.035 → 35000.04", rules: oddGrade1, facts: zfbFacts("disability", 0, 4, ""),
			base: "35000.04", raw: "35000.04", payable: "35000.04"},
		{name: "DESIGN: property loss 7500.00 pays 0.50 × 6500 = 3250.00", rules: def, facts: zfbFacts("property_loss", 0, 0, "7500.00"),
			base: "3250.00", raw: "3250.00", payable: "3250.00"},
		{name: "property loss below the deductible pays nothing", rules: def, facts: zfbFacts("property_loss", 0, 0, "999.99"),
			base: "0.00", raw: "0.00", payable: "0.00"},
		{name: "property loss one fen above the deductible: 0.005 rounds up to 0.01", rules: def, facts: zfbFacts("property_loss", 0, 0, "1000.01"),
			base: "0.01", raw: "0.01", payable: "0.01"},
		{name: "property loss limited to its maximum", rules: def, facts: zfbFacts("property_loss", 0, 0, "999999999999.99"),
			base: "10000.00", raw: "10000.00", payable: "10000.00"},
		{name: "household annual cap partly used", rules: def, facts: zfbFacts("death", 0, 0, ""), history: hist("", "90000.00", "", "", ""),
			base: "50000.00", raw: "50000.00", payable: "10000.00"},
		{name: "household annual cap fully used: cap reached", rules: def, facts: zfbFacts("death", 0, 0, ""), history: hist("", "100000.00", "", "", ""),
			base: "50000.00", raw: "50000.00", payable: "0.00", capReached: true},
		{name: "payments above a lowered cap leave no room, not a negative one", rules: def, facts: zfbFacts("house_damaged", 0, 0, ""), history: hist("", "150000.00", "", "", ""),
			base: "4000.00", raw: "4000.00", payable: "0.00", capReached: true},
	})
}

func TestAssessFPB(t *testing.T) {
	def := DefaultRules(FPB)
	runAssessCases(t, []assessCase{
		{name: "DESIGN: first illness claim, self-pay 12000.00 → 0.30 × 7000 = 2100.00",
			rules: def, facts: fpbFacts(CauseIllness, "12000.00"),
			base: "12000.00", raw: "2100.00", payable: "2100.00"},
		{name: "DESIGN: second illness claim, self-pay 30000.00 → F(42000) − F(12000) = 15500.00 − 2100.00",
			rules: def, facts: fpbFacts(CauseIllness, "30000.00"), history: hist("12000.00", "2100.00", "2100.00", "", ""),
			base: "30000.00", raw: "13400.00", payable: "13400.00"},
		{name: "ZKB payable on the same bill is offset before the tier",
			rules: def, facts: fpbFacts(CauseIllness, "12000.00"), history: hist("", "", "", "", "2000.00"),
			base: "10000.00", raw: "1500.00", payable: "1500.00"},
		{name: "an offset above the self-pay leaves a zero base",
			rules: def, facts: fpbFacts(CauseIllness, "12000.00"), history: hist("", "", "", "", "12000.01"),
			base: "0.00", raw: "0.00", payable: "0.00"},
		{name: "ZFB payable for the same incident is offset from a disaster loss",
			rules: def, facts: fpbFacts(CauseDisaster, "20000.00"), history: hist("", "", "", "", "15000.00"),
			base: "5000.00", raw: "0.00", payable: "0.00"},
		{name: "education has no offset",
			rules: def, facts: fpbFacts(CauseEducation, "10000.00"), history: hist("", "", "", "", "5000.00"),
			base: "10000.00", raw: "1000.00", payable: "1000.00"},
		{name: "accident has no offset",
			rules: def, facts: fpbFacts(CauseAccident, "25000.00"), history: hist("", "", "", "", "5000.00"),
			base: "25000.00", raw: "7000.00", payable: "7000.00"},
		{name: "two small claims below the deductible add up past it",
			rules: def, facts: fpbFacts(CauseAccident, "3000.00"), history: hist("3000.00", "", "", "", ""),
			base: "3000.00", raw: "300.00", payable: "300.00"},
		{name: "zero base pays nothing and is not a cap",
			rules: def, facts: fpbFacts(CauseIllness, "0.00"), history: hist("", "100000.00", "100000.00", "", ""),
			base: "0.00", raw: "0.00", payable: "0.00"},
		{name: "education cause cap partly used",
			rules: def, facts: fpbFacts(CauseEducation, "50000.00"), history: hist("", "19000.00", "19000.00", "", ""),
			base: "50000.00", raw: "21000.00", payable: "1000.00"},
		{name: "education cause cap fully used: cap reached",
			rules: def, facts: fpbFacts(CauseEducation, "50000.00"), history: hist("", "20000.00", "20000.00", "", ""),
			base: "50000.00", raw: "21000.00", payable: "0.00", capReached: true},
		{name: "household annual cap across causes binds before the cause cap",
			rules: def, facts: fpbFacts(CauseIllness, "30000.00"), history: hist("", "99000.00", "0.00", "", ""),
			base: "30000.00", raw: "9500.00", payable: "1000.00"},
		{name: "household annual cap fully used by other causes: cap reached",
			rules: def, facts: fpbFacts(CauseAccident, "30000.00"), history: hist("", "100000.00", "0.00", "", ""),
			base: "30000.00", raw: "9500.00", payable: "0.00", capReached: true},
		{name: "maximal amount: exact tier without overflow, capped",
			rules: def, facts: fpbFacts(CauseIllness, "999999999999.99"),
			base: "999999999999.99", raw: "899999964499.99", payable: "100000.00"},
		{name: "maximal history and amount",
			rules: def, facts: fpbFacts(CauseDisaster, "999999999999.99"), history: hist("999999999999.99", "", "", "", ""),
			base: "999999999999.99", raw: "899999999999.99", payable: "100000.00"},
	})
}

func TestAssessFPBBracketBoundaries(t *testing.T) {
	def := DefaultRules(FPB)
	// Default illness tier: deductible 5000, 0.30 to 20000, 0.50 to 50000,
	// 0.70 to 100000, 0.90 above. One fen either side of every bound.
	cases := []struct {
		selfPay, exact, raw string
	}{
		{"0.00", "0", "0.00"},
		{"4999.99", "0", "0.00"},
		{"5000.00", "0", "0.00"},
		{"5000.01", "0.003", "0.00"},
		{"5000.02", "0.006", "0.01"},
		{"19999.99", "4499.997", "4500.00"},
		{"20000.00", "4500", "4500.00"},
		{"20000.01", "4500.005", "4500.01"},
		{"49999.99", "19499.995", "19500.00"},
		{"50000.00", "19500", "19500.00"},
		{"50000.01", "19500.007", "19500.01"},
		{"99999.99", "54499.993", "54499.99"},
		{"100000.00", "54500", "54500.00"},
		{"100000.01", "54500.009", "54500.01"},
	}
	ill := def.FPB.Causes[CauseIllness]
	for _, tc := range cases {
		t.Run(tc.selfPay, func(t *testing.T) {
			require.True(t, dec(tc.exact).Equal(Tier(dec(tc.selfPay), ill.Deductible, ill.Brackets)), "F(%s) = %s exactly", tc.selfPay, tc.exact)
			a := Assess(AssessInput{Rules: def, Cause: CauseIllness, Facts: fpbFacts(CauseIllness, tc.selfPay)})
			require.Equal(t, tc.raw, a.Raw.StringFixed(2))
		})
	}
}

func TestTier(t *testing.T) {
	bounded := []Bracket{{UpTo: ptr(dec("100")), Rate: dec("0.5")}, {UpTo: ptr(dec("200")), Rate: dec("1")}}
	cases := []struct {
		name       string
		x          string
		deductible string
		brackets   []Bracket
		want       string
	}{
		{"no brackets pay nothing", "1000", "0", nil, "0"},
		{"single unbounded bracket", "1000", "100", []Bracket{{Rate: dec("0.8")}}, "720"},
		{"below the deductible", "50", "100", []Bracket{{Rate: dec("0.8")}}, "0"},
		{"last bracket bounded: nothing above it", "1000", "0", bounded, "150"},
		{"inside the second band", "150", "0", bounded, "100"},
		{"negative x pays nothing", "-5", "0", bounded, "0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Tier(dec(tc.x), dec(tc.deductible), tc.brackets)
			require.True(t, dec(tc.want).Equal(got), "got %s", got)
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestAssessCYB(t *testing.T) {
	def := DefaultRules(CYB)
	runAssessCases(t, []assessCase{
		{name: "DESIGN: premium 12345.67 with county subsidy → 0.20 × 12345.67 = 2469.134 → 2469.13",
			rules: def, facts: cybFacts(CausePremiumSubsidy, "12345.67", true),
			base: "12345.67", raw: "2469.13", payable: "2469.13"},
		{name: "premium without county subsidy → 0.10 × 12345.67 = 1234.567 → 1234.57",
			rules: def, facts: cybFacts(CausePremiumSubsidy, "12345.67", false),
			base: "12345.67", raw: "1234.57", payable: "1234.57"},
		{name: "half a fen rounds up: 0.10 × 0.05 = 0.005 → 0.01",
			rules: def, facts: cybFacts(CausePremiumSubsidy, "0.05", false),
			base: "0.05", raw: "0.01", payable: "0.01"},
		{name: "loss top-up 0.10 of the primary claim",
			rules: def, facts: cybFacts(CauseLossTopup, "8000.00", false),
			base: "8000.00", raw: "800.00", payable: "800.00"},
		{name: "annual cap partly used",
			rules: def, facts: cybFacts(CausePremiumSubsidy, "12345.67", true), history: hist("", "49000.00", "", "", ""),
			base: "12345.67", raw: "2469.13", payable: "1000.00"},
		{name: "annual cap fully used: cap reached",
			rules: def, facts: cybFacts(CauseLossTopup, "8000.00", false), history: hist("", "50000.00", "", "", ""),
			base: "8000.00", raw: "800.00", payable: "0.00", capReached: true},
		{name: "maximal premium",
			rules: def, facts: cybFacts(CausePremiumSubsidy, "999999999999.99", true),
			base: "999999999999.99", raw: "200000000000.00", payable: "50000.00"},
	})
}

func TestAssessUncoveredCausePaysNothing(t *testing.T) {
	noEducation := mustRules(t, FPB, `{"causes":{"education":null}}`)
	a := Assess(AssessInput{Rules: noEducation, Cause: CauseEducation, Facts: fpbFacts(CauseEducation, "50000.00")})
	require.True(t, a.Payable.IsZero())
	require.False(t, a.CapReached)
	require.Len(t, a.Breakdown, 1)

	a = Assess(AssessInput{Rules: DefaultRules(ZKB), Cause: CauseIllness, Facts: fpbFacts(CauseIllness, "50000.00")})
	require.True(t, a.Payable.IsZero())
	a = Assess(AssessInput{})
	require.True(t, a.Payable.IsZero())
}

// The breakdown is what a finance clerk checks by hand; this pins its wording
// for the DESIGN FPB example with an offset.
func TestAssessFPBBreakdownReadsStepByStep(t *testing.T) {
	a := Assess(AssessInput{
		Rules: DefaultRules(FPB), Cause: CauseIllness, Facts: fpbFacts(CauseIllness, "32000.00"),
		History: hist("12000.00", "2100.00", "2100.00", "", "2000.00"),
	})
	type line struct{ desc, amount string }
	var got []line
	for _, s := range a.Breakdown {
		got = append(got, line{s.Description, s.Amount.String()})
	}
	require.Equal(t, []line{
		{"Illness self-pay on bill NY-2026-0001 (policy scope, after all insurance layers)", "32000.00"},
		{"Less 政康保 (ZKB) already paid on bill NY-2026-0001, not paid twice", "2000.00"},
		{"Base after offset: 32000.00 − 2000.00", "30000.00"},
		{"Accumulated illness base this year: earlier counted claims 12000.00 + this claim 30000.00", "42000.00"},
		{"F(42000.00) = 0.30 × (20000.00 − 5000.00) + 0.50 × (42000.00 − 20000.00) = 15500.00 [illness tier]", "15500.00"},
		{"F(12000.00) = 0.30 × (12000.00 − 5000.00) = 2100.00, for earlier counted claims", "2100.00"},
		{"This claim: F(42000.00) − F(12000.00) = 15500.00 − 2100.00", "13400.00"},
		{"Household illness cap 100000.00 − already paid for illness this year 2100.00 = room 97900.00", "97900.00"},
		{"Household annual cap 100000.00 − already paid this year, all causes 2100.00 = room 97900.00", "97900.00"},
		{"Payable", "13400.00"},
	}, got)
}

func TestAssessBreakdownShowsRoundingAndCaps(t *testing.T) {
	a := Assess(AssessInput{Rules: DefaultRules(CYB), Cause: CausePremiumSubsidy, Facts: cybFacts(CausePremiumSubsidy, "12345.67", true),
		History: hist("", "49000.00", "", "", "")})
	require.Equal(t, "Premium re-subsidy: rate 0.20 (county subsidised) × 12345.67 = 2469.134, rounded half-up to the fen 2469.13", a.Breakdown[1].Description)
	require.Equal(t, "Annual cap per operator 50000.00 − already paid this year 49000.00 = room 1000.00, limits this claim", a.Breakdown[2].Description)
	require.Equal(t, "Payable: 2469.13 limited by the cap", a.Breakdown[3].Description)

	f := Assess(AssessInput{Rules: DefaultRules(FPB), Cause: CauseIllness, Facts: fpbFacts(CauseIllness, "20000.01")})
	require.Equal(t, "F(20000.01) = 0.30 × (20000.00 − 5000.00) + 0.50 × (20000.01 − 20000.00) = 4500.005, rounded half-up to the fen 4500.01 [illness tier]", f.Breakdown[2].Description)
	require.Equal(t, "4500.01", f.Breakdown[2].Amount.String())
	require.Equal(t, "F(0.00) = 0.00, not above the deductible 5000.00, for earlier counted claims", f.Breakdown[3].Description)

	z := Assess(AssessInput{Rules: DefaultRules(ZKB), Cause: CauseMedical, Facts: zkbFacts("inpatient", "48000.00", "30000.00", "6000.00", "4000.00"),
		Categories: []string{"illness_poverty", "rural_destitute"}})
	require.Equal(t, "Base: policy-scope cost 48000.00 − basic medical insurance 30000.00 − critical illness insurance 6000.00 − medical assistance 4000.00", z.Breakdown[0].Description)
	require.Contains(t, z.Breakdown[2].Description, "ratio 1.00 of rural_destitute")
}

func TestCheckEligibility(t *testing.T) {
	zkb, zfb, fpb, cyb := DefaultRules(ZKB), DefaultRules(ZFB), DefaultRules(FPB), DefaultRules(CYB)
	noEducation := mustRules(t, FPB, `{"causes":{"education":null}}`)
	teaOnly := mustRules(t, CYB, `{"industries":["tea"]}`)
	rich := fpbFacts(CauseIllness, "1000")
	rich.HouseholdIncomePerCapita = dec("6000.00")
	justBelow := fpbFacts(CauseIllness, "1000")
	justBelow.HouseholdIncomePerCapita = dec("5999.99")
	rose := cybFacts(CauseLossTopup, "1", false)
	rose.Industry = "rose"
	cases := []struct {
		name string
		in   EligibilityInput
		want []string
	}{
		{"ZKB eligible", EligibilityInput{Rules: zkb, Cause: CauseMedical, Facts: zkbFacts("inpatient", "1", "0", "0", "0"),
			Categories: []string{"illness_poverty"}, EvidenceKinds: []string{"settlement_sheet", "photo"}}, nil},
		{"ZKB category not covered and evidence missing", EligibilityInput{Rules: zkb, Cause: CauseMedical, Facts: zkbFacts("inpatient", "1", "0", "0", "0"),
			Categories: []string{"marginal_at_risk"}}, []string{"not_covered_category", "evidence_missing"}},
		{"ZFB eligible by residence permit", EligibilityInput{Rules: zfb, Cause: CauseDisaster, Facts: zfbFacts("death", 0, 0, ""),
			Residency: []string{"residence_permit"}, EvidenceKinds: []string{"incident_certificate"}}, nil},
		{"ZFB without residency", EligibilityInput{Rules: zfb, Cause: CauseDisaster, Facts: zfbFacts("death", 0, 0, ""),
			Categories: []string{"rural_destitute"}, EvidenceKinds: []string{"incident_certificate"}}, []string{"residency_not_eligible"}},
		{"FPB income exactly at the prevention line is above it", EligibilityInput{Rules: fpb, Cause: CauseIllness, Facts: rich,
			Categories: []string{"marginal_at_risk"}, EvidenceKinds: []string{"settlement_sheet", "invoice"}}, []string{"above_prevention_line"}},
		{"FPB income one fen below the line", EligibilityInput{Rules: fpb, Cause: CauseIllness, Facts: justBelow,
			Categories: []string{"marginal_at_risk"}, EvidenceKinds: []string{"settlement_sheet", "invoice"}}, nil},
		{"FPB one of two evidence kinds missing", EligibilityInput{Rules: fpb, Cause: CauseIllness, Facts: justBelow,
			Categories: []string{"sudden_hardship"}, EvidenceKinds: []string{"invoice"}}, []string{"evidence_missing"}},
		{"FPB cause removed: no evidence asked", EligibilityInput{Rules: noEducation, Cause: CauseEducation, Facts: fpbFacts(CauseEducation, "1"),
			Categories: []string{"marginal_at_risk"}}, []string{"cause_not_covered"}},
		{"FPB every reason in order", EligibilityInput{Rules: fpb, Cause: CauseIllness, Facts: rich},
			[]string{"not_covered_category", "above_prevention_line", "evidence_missing"}},
		{"FPB category, cause and line in order", EligibilityInput{Rules: noEducation, Cause: CauseEducation, Facts: func() Facts {
			f := fpbFacts(CauseEducation, "1")
			f.HouseholdIncomePerCapita = dec("9000")
			return f
		}()}, []string{"not_covered_category", "cause_not_covered", "above_prevention_line"}},
		{"CYB industry not covered", EligibilityInput{Rules: teaOnly, Cause: CauseLossTopup, Facts: rose,
			Categories: []string{"agri_operator"}, EvidenceKinds: []string{"claim_settlement"}}, []string{"industry_not_covered"}},
		{"CYB every reason in order", EligibilityInput{Rules: teaOnly, Cause: CauseLossTopup, Facts: rose},
			[]string{"not_covered_category", "industry_not_covered", "evidence_missing"}},
		{"CYB default covers rose", EligibilityInput{Rules: cyb, Cause: CauseLossTopup, Facts: rose,
			Categories: []string{"agri_operator"}, EvidenceKinds: []string{"claim_settlement"}}, nil},
		{"facts of another cause", EligibilityInput{Rules: fpb, Cause: CauseEducation, Facts: justBelow,
			Categories: []string{"marginal_at_risk"}}, []string{"cause_not_covered"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, CheckEligibility(tc.in))
		})
	}
}

func TestMissingEvidence(t *testing.T) {
	fpb := DefaultRules(FPB)
	require.Equal(t, []string{"settlement_sheet", "invoice"}, MissingEvidence(fpb, CauseIllness, nil))
	require.Equal(t, []string{"invoice"}, MissingEvidence(fpb, CauseIllness, []string{"settlement_sheet", "photo"}))
	require.Nil(t, MissingEvidence(fpb, CauseIllness, []string{"invoice", "settlement_sheet"}))
}

package policies

import (
	"testing"

	"github.com/shopspring/decimal"
)

// BenchmarkAssess measures the pure payout math of the common heavy case, an
// FPB illness claim with an offset and earlier claims crossing brackets, so
// that the pipeline's per-claim cost outside the database is known.
func BenchmarkAssess(b *testing.B) {
	in := AssessInput{
		Rules: DefaultRules(FPB),
		Cause: CauseIllness,
		Facts: Facts{Programme: FPB, Cause: CauseIllness, BillRef: "NY-2026-0001",
			SelfPay: decimal.RequireFromString("32000.00"), HouseholdIncomePerCapita: decimal.RequireFromString("4200.00")},
		Categories: []string{"marginal_at_risk"},
		History: History{
			PrevBase:   decimal.RequireFromString("12000.00"),
			PaidAnnual: decimal.RequireFromString("2100.00"),
			PaidCause:  decimal.RequireFromString("2100.00"),
			Offset:     decimal.RequireFromString("2000.00"),
		},
	}
	want := decimal.RequireFromString("13400.00")
	b.ReportAllocs()
	for b.Loop() {
		a := Assess(in)
		if !a.Payable.Equal(want) {
			b.Fatalf("payable %s", a.Payable)
		}
	}
}

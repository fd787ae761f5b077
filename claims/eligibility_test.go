package claims_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// reasonOrder is DESIGN §6's order of eligibility reasons, followed by the
// two that assessment adds.
var reasonOrder = []string{
	"unknown_beneficiary", "outside_coverage_period", "late_submission", "outside_plan_area",
	"not_covered_category", "residency_not_eligible", "cause_not_covered", "above_prevention_line",
	"industry_not_covered", "evidence_missing", "duplicate_claim", "already_compensated",
	"nothing_payable", "annual_cap_reached",
}

// requireRejected asserts c was stored rejected with exactly want, in
// DESIGN order, payable 0, and that the stored row agrees (counted only for
// nothing_payable alone).
func (e *env) requireRejected(t *testing.T, c claimView, want ...string) {
	t.Helper()
	require.Equal(t, "rejected", c.Status)
	require.Equal(t, want, c.ReasonCodes())
	require.True(t, slices.IsSortedFunc(c.ReasonCodes(), func(a, b string) int {
		return slices.Index(reasonOrder, a) - slices.Index(reasonOrder, b)
	}), "reasons in DESIGN §6 order: %v", c.ReasonCodes())
	for _, r := range c.Reasons {
		require.NotEmpty(t, r.Message, r.Code)
	}
	require.Equal(t, "0.00", c.Payable)

	stored := e.get(t, "insurer", c.ID)
	require.Equal(t, "rejected", stored.Status)
	require.Equal(t, want, stored.ReasonCodes())
	var row struct {
		Status  string
		Counted bool
		Payable int64
	}
	require.NoError(t, e.d.Table("claims").Select("status, counted, payable").Where("id = ?", c.ID).Scan(&row).Error)
	require.Equal(t, "rejected", row.Status)
	require.Zero(t, row.Payable)
	require.Equal(t, slices.Equal(want, []string{"nothing_payable"}), row.Counted, "only nothing_payable alone still counts")
}

func TestEligibilityReasons(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.createPlan(t, map[string]any{"code": "FPB-2026Q1", "programme": "FPB", "coverage_start": "2026-01-01", "coverage_end": "2026-03-31"})
		e.createPlan(t, map[string]any{"code": "FPB-2026-XICHUAN", "programme": "FPB", "counties": []string{"411326"}})
		e.createPlan(t, map[string]any{"code": "FPB-2026-NOEDU", "programme": "FPB", "rules": map[string]any{"causes": map[string]any{"education": nil}}})
		e.createPlan(t, map[string]any{"code": "CYB-2026-TEA", "programme": "CYB", "rules": map[string]any{"industries": []string{"tea"}}})
		e.createPlan(t, map[string]any{"code": "ZFB-2026-B", "programme": "ZFB"})

		atRisk := e.register(t, servertest.Person{ID: servertest.ResidentID(100), Household: "HH-E1", Categories: []string{"marginal_at_risk"}})
		atRisk2 := e.register(t, servertest.Person{ID: servertest.ResidentID(101), Household: "HH-E2", Categories: []string{"unstable_out_of_poverty"}})
		ill := e.register(t, servertest.Person{ID: servertest.ResidentID(102), Categories: []string{"illness_poverty"}})
		noResidency := e.register(t, servertest.Person{ID: servertest.ResidentID(103), Categories: []string{"sudden_hardship"}})
		victim := e.register(t, servertest.Person{ID: servertest.ResidentID(104), Household: "HH-ZFB", Residency: []string{"residence_permit"}})
		victimWife := e.register(t, servertest.Person{ID: servertest.ResidentID(105), Household: "HH-ZFB", Residency: []string{"labour_contract"}})
		coop := e.register(t, servertest.Person{ID: cooperativeUSCC(7), Categories: []string{"agri_operator"}})
		stranger := servertest.ResidentID(999) // valid, never registered

		education := claim{
			"plan": "FPB-2026-NOEDU", "external_ref": servertest.Unique("edu"), "beneficiary_id": atRisk, "event_date": "2026-03-01", "cause": "education",
			"facts":    map[string]any{"household_income_per_capita": "3000.00", "self_pay": "12000.00"},
			"evidence": evidence("admission_notice", "fee_receipt"),
		}
		counted := e.file(t, fpbIllness(atRisk2, "BILL-DUP-1", "9000.00"))
		e.requirePaid(t, counted, "1200.00")
		firstZFB := e.file(t, zfbClaim(victim, "YJ-NY-2026-77", "house_damaged", nil))
		e.requirePaid(t, firstZFB, "4000.00")

		cases := []struct {
			name string
			body claim
			want []string
		}{
			{"a valid id that is not in the registry", fpbIllness(stranger, "B-1", "9000.00"), []string{"unknown_beneficiary"}},
			{"event after the plan's coverage period", fpbIllness(atRisk, "B-2", "9000.00").with("plan", "FPB-2026Q1"), []string{"outside_coverage_period"}},
			{"beneficiary's county outside the county plan", fpbIllness(atRisk, "B-3", "9000.00").with("plan", "FPB-2026-XICHUAN"), []string{"outside_plan_area"}},
			{"no category the plan covers", zkbClaim(atRisk, "B-4", "inpatient", "1000.00", "1000.00", "0", "0", "0"), []string{"not_covered_category"}},
			{"ZFB without an eligible residency", zfbClaim(noResidency, "YJ-1", "death", nil), []string{"residency_not_eligible"}},
			{"a cause the plan removed", education, []string{"cause_not_covered"}},
			{"income at the prevention line", fpbIllness(atRisk, "B-5", "9000.00").fact("household_income_per_capita", "6000.00"), []string{"above_prevention_line"}},
			{"an industry the plan leaves out", cybPremium(coop, "rose", "1000.00", false).with("plan", "CYB-2026-TEA"), []string{"industry_not_covered"}},
			{"required evidence missing", fpbIllness(atRisk, "B-6", "9000.00").with("evidence", evidence("invoice")), []string{"evidence_missing"}},
			{"the same claim again under a new external_ref", fpbIllness(atRisk2, "BILL-DUP-1", "9000.00"), []string{"duplicate_claim"}},
			{"a second ZFB claim of the household for one incident",
				zfbClaim(victimWife, "YJ-NY-2026-77", "house_collapsed", map[string]any{"rooms": 2}), []string{"already_compensated"}},
			{"one incident under another ZFB plan",
				zfbClaim(victimWife, "YJ-NY-2026-77", "death", nil).with("plan", "ZFB-2026-B"), []string{"already_compensated"}},
			{"the identical ZFB claim again", zfbClaim(victim, "YJ-NY-2026-77", "house_damaged", nil), []string{"duplicate_claim", "already_compensated"}},
			{"unknown beneficiary, outside coverage, evidence missing",
				fpbIllness(stranger, "B-7", "9000.00").with("plan", "FPB-2026Q1").with("evidence", []any{}),
				[]string{"unknown_beneficiary", "outside_coverage_period", "evidence_missing"}},
			{"area, category, income and evidence at once",
				fpbIllness(ill, "B-8", "9000.00").with("plan", "FPB-2026-XICHUAN").fact("household_income_per_capita", "7000.00").with("evidence", evidence("settlement_sheet")),
				[]string{"outside_plan_area", "not_covered_category", "above_prevention_line", "evidence_missing"}},
			{"an event of last year, also past the filing window",
				fpbIllness(atRisk, "B-9", "9000.00").with("event_date", "2025-12-01"), []string{"outside_coverage_period", "late_submission"}},
			{"category, industry and evidence at once",
				cybPremium(atRisk, "bee", "1000.00", true).with("plan", "CYB-2026-TEA").with("evidence", nil),
				[]string{"not_covered_category", "industry_not_covered", "evidence_missing"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e.requireRejected(t, e.file(t, tc.body), tc.want...)
			})
		}

		t.Run("nothing payable below the deductible still counts toward it", func(t *testing.T) {
			p := e.register(t, servertest.Person{ID: servertest.ResidentID(110), Household: "HH-DEDUCT", Categories: []string{"marginal_at_risk"}})
			small := e.file(t, fpbIllness(p, "B-SMALL-1", "3000.00"))
			e.requireRejected(t, small, "nothing_payable")
			// F(3000 + 4000) − F(3000) = 0.30 × (7000 − 5000).
			e.requirePaid(t, e.file(t, fpbIllness(p, "B-SMALL-2", "4000.00")), "600.00")
		})

		t.Run("annual cap reached", func(t *testing.T) {
			p := e.register(t, servertest.Person{ID: servertest.ResidentID(111), Household: "HH-CAP", Categories: []string{"marginal_at_risk"}})
			// F(200000) = 144500.00, limited to the 100000.00 cap.
			e.requirePaid(t, e.file(t, fpbIllness(p, "B-BIG-1", "200000.00")), "100000.00")
			e.requireRejected(t, e.file(t, fpbIllness(p, "B-BIG-2", "1000.00")), "annual_cap_reached")
			// ZFB: two deaths fill the household's 100000.00; a third incident finds no room.
			v := e.register(t, servertest.Person{ID: servertest.ResidentID(112), Household: "HH-ZFB-CAP", Residency: []string{"hukou"}})
			e.requirePaid(t, e.file(t, zfbClaim(v, "YJ-C-1", "death", nil)), "50000.00")
			e.requirePaid(t, e.file(t, zfbClaim(v, "YJ-C-2", "death", nil)), "50000.00")
			e.requireRejected(t, e.file(t, zfbClaim(v, "YJ-C-3", "house_damaged", nil)), "annual_cap_reached")
		})

		t.Run("categories count on the event date", func(t *testing.T) {
			id := servertest.ResidentID(120)
			r := e.h.Put(t, "admin", "/api/v1/beneficiaries/"+id, map[string]any{
				"name": "李四", "county_code": "411325",
				"categories": []map[string]any{
					{"category": "illness_poverty", "valid_from": "2025-01-01", "valid_to": "2026-04-30"},
					{"category": "rural_destitute", "valid_from": "2026-05-01", "valid_to": nil},
					{"category": "marginal_at_risk", "valid_from": "2026-06-01", "valid_to": nil},
				},
				"residency": []map[string]any{},
			})
			require.Contains(t, []int{200, 201}, r.Status, "%s", r.Body)
			bill := func(ref, date string) claim {
				return zkbClaim(id, ref, "inpatient", "1000.00", "1000.00", "0", "0", "0").with("event_date", date)
			}
			e.requirePaid(t, e.file(t, bill("CAT-1", "2026-04-30")), "800.00")  // illness_poverty 0.80
			e.requirePaid(t, e.file(t, bill("CAT-2", "2026-05-01")), "1000.00") // rural_destitute 1.00
			e.requireRejected(t, e.file(t, fpbIllness(id, "CAT-3", "9000.00").with("event_date", "2026-05-31")), "not_covered_category")
			e.requirePaid(t, e.file(t, fpbIllness(id, "CAT-4", "9000.00").with("event_date", "2026-06-01")), "1200.00")
		})

		t.Run("late submission once the clock passes the filing window", func(t *testing.T) {
			p := e.register(t, servertest.Person{ID: servertest.ResidentID(113), Household: "HH-LATE", Categories: []string{"marginal_at_risk"}})
			t.Cleanup(func() { e.h.Clock.Set(servertest.Start) })
			// Event 2026-05-01, window 180 days: the last day to file is 2026-10-28 (China time).
			e.h.Clock.Set(time.Date(2026, 10, 28, 23, 30, 0, 0, time.FixedZone("CST", 8*3600)))
			e.requirePaid(t, e.file(t, fpbIllness(p, "B-LATE-1", "6000.00")), "300.00")
			e.h.Clock.Advance(time.Hour) // 2026-10-29 00:30 in China
			e.requireRejected(t, e.file(t, fpbIllness(p, "B-LATE-2", "6000.00")), "late_submission")
		})
	})
}

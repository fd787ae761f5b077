package claims

import (
	"encoding/json"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"huimin/policies"
)

// TestStoredEvidenceKinds: the scan of stored evidence finds exactly the
// kinds that decoding it does, whatever the URIs hold.
func TestStoredEvidenceKinds(t *testing.T) {
	for _, ev := range [][]Evidence{
		{},
		{{Kind: "settlement_sheet", SHA256: "ab"}},
		{{Kind: "a", SHA256: "x", URI: `oss://"kind":"forged"`}, {Kind: "invoice", SHA256: "y", URI: `\"kind\":\"b\"`}},
		{{Kind: "k1", SHA256: "s", URI: "https://ny.example/证据/\u2028<&>"}, {Kind: "k_2", SHA256: "t"}},
	} {
		raw, err := json.Marshal(ev)
		require.NoError(t, err)
		var back []Evidence
		require.NoError(t, json.Unmarshal(raw, &back))
		kinds := []string{}
		for _, e := range back {
			kinds = append(kinds, e.Kind)
		}
		require.Equal(t, kinds, storedEvidenceKinds(string(raw)), "%s", raw)
	}
}

// TestQuietAssessmentPaysTheSame: the assessment Simulate runs (rules
// WithoutBreakdown) computes the base, raw amount, payable and cap outcome
// the explained one does, for every programme and cause, with offsets,
// accumulation and caps that limit; only the breakdown is left out.
func TestQuietAssessmentPaysTheSame(t *testing.T) {
	dec := func(s string) decimal.Decimal { return decimal.RequireFromString(s) }
	zkbRules, errs := policies.ParseRules(policies.ZKB, json.RawMessage(`{"deductible":"300.00"}`))
	require.Empty(t, errs)
	for _, c := range []struct {
		name, programme, cause, facts string
		rules                         policies.Rules
		categories                    []string
		history                       policies.History
	}{
		{"FPB illness crossing a bracket, with a ZKB offset", policies.FPB, policies.CauseIllness,
			`{"household_income_per_capita":"4200.00","bill_ref":"B-1","self_pay":"30000.00"}`, policies.DefaultRules(policies.FPB), nil,
			policies.History{PrevBase: dec("12000.00"), PaidAnnual: dec("2100.00"), PaidCause: dec("2100.00"), Offset: dec("1234.56")}},
		{"FPB education below the deductible", policies.FPB, policies.CauseEducation,
			`{"household_income_per_capita":"4200.00","self_pay":"7999.99"}`, policies.DefaultRules(policies.FPB), nil, policies.History{}},
		{"FPB disaster limited by the household cap", policies.FPB, policies.CauseDisaster,
			`{"household_income_per_capita":"100.00","incident_ref":"YJ-1","net_loss":"90000.00"}`, policies.DefaultRules(policies.FPB), nil,
			policies.History{PaidAnnual: dec("99000.00"), Offset: dec("100.00")}},
		{"FPB accident with no room left", policies.FPB, policies.CauseAccident,
			`{"household_income_per_capita":"100.00","net_loss":"9000.00"}`, policies.DefaultRules(policies.FPB), nil,
			policies.History{PaidAnnual: dec("100000.00")}},
		{"ZKB outpatient over its cap, sub-fen ratio", policies.ZKB, policies.CauseMedical,
			`{"service_type":"outpatient","bill_ref":"O-1","total_cost":"20000.00","policy_scope_cost":"15000.05","basic_insurance_paid":"0","critical_illness_paid":"0","medical_assistance_paid":"0"}`,
			zkbRules, []string{"illness_poverty"}, policies.History{PrevBase: dec("100.00"), PaidOutpatient: dec("500.00")}},
		{"ZKB with no eligible category", policies.ZKB, policies.CauseMedical,
			`{"service_type":"inpatient","bill_ref":"I-1","total_cost":"9000.00","policy_scope_cost":"8000.00","basic_insurance_paid":"3000.00","critical_illness_paid":"0","medical_assistance_paid":"0"}`,
			policies.DefaultRules(policies.ZKB), []string{"agri_operator"}, policies.History{}},
		{"ZFB house collapsed above the maximum", policies.ZFB, policies.CauseDisaster,
			`{"incident_ref":"YJ-2","loss_class":"house_collapsed","rooms":5}`, policies.DefaultRules(policies.ZFB), nil, policies.History{}},
		{"ZFB disability", policies.ZFB, policies.CauseDisaster,
			`{"incident_ref":"YJ-3","loss_class":"disability","disability_grade":4}`, policies.DefaultRules(policies.ZFB), nil, policies.History{PaidAnnual: dec("80000.00")}},
		{"ZFB property loss", policies.ZFB, policies.CauseDisaster,
			`{"incident_ref":"YJ-4","loss_class":"property_loss","assessed_loss":"7500.33"}`, policies.DefaultRules(policies.ZFB), nil, policies.History{}},
		{"CYB premium subsidy", policies.CYB, policies.CausePremiumSubsidy,
			`{"industry":"rose","primary_policy_no":"P-1","premium_paid":"12345.67","county_subsidised":true}`, policies.DefaultRules(policies.CYB), nil, policies.History{}},
		{"CYB loss top-up near the cap", policies.CYB, policies.CauseLossTopup,
			`{"industry":"tea","primary_policy_no":"P-2","primary_claim_paid":"80000.00"}`, policies.DefaultRules(policies.CYB), nil, policies.History{PaidAnnual: dec("45000.00")}},
		{"a cause the rules do not cover", policies.FPB, policies.CauseIllness,
			`{"household_income_per_capita":"4200.00","bill_ref":"B-2","self_pay":"9000.00"}`, policies.DefaultRules(policies.ZKB), nil, policies.History{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			facts, errs := policies.ParseFacts(c.programme, c.cause, json.RawMessage(c.facts))
			require.Empty(t, errs)
			in := policies.AssessInput{Rules: c.rules, Cause: c.cause, Facts: facts, Categories: c.categories, History: c.history}
			told := policies.Assess(in)
			in.Rules = c.rules.WithoutBreakdown()
			quiet := policies.Assess(in)
			require.NotEmpty(t, told.Breakdown)
			require.Empty(t, quiet.Breakdown)
			told.Breakdown = nil
			require.Equal(t, told, quiet)
		})
	}
	require.Equal(t, policies.DefaultRules(policies.FPB).WithoutBreakdown().FPB, policies.DefaultRules(policies.FPB).FPB, "the same rules")
	b, err := json.Marshal(zkbRules.WithoutBreakdown())
	require.NoError(t, err)
	a, err := json.Marshal(zkbRules)
	require.NoError(t, err)
	require.JSONEq(t, string(a), string(b), "written as the same rules")
}

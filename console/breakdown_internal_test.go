package console

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"huimin/policies"
)

// TestEveryBreakdownLineReadsInChinese assesses claims of every programme
// and cause, through caps, offsets, rounding and accumulation, with the
// real payout math (policies.Assess), and requires every line it writes to
// have its Chinese reading, with the same numbers.
func TestEveryBreakdownLineReadsInChinese(t *testing.T) {
	d := decimal.RequireFromString
	cases := []struct {
		name, programme, cause, facts string
		categories                    []string
		history                       policies.History
		rules                         string // the programme's, unless set
	}{
		{"ZKB inpatient, rural destitute", "ZKB", "medical", `{"service_type":"inpatient","bill_ref":"B-1","total_cost":"52000.00","policy_scope_cost":"48000.00","basic_insurance_paid":"30000.00","critical_illness_paid":"6000.00","medical_assistance_paid":"4000.00"}`, []string{"rural_destitute"}, policies.History{}, ""},
		{"ZKB outpatient over its cap, after earlier claims", "ZKB", "medical", `{"service_type":"outpatient","bill_ref":"B-2","total_cost":"15000.00","policy_scope_cost":"15000.00","basic_insurance_paid":"0","critical_illness_paid":"0","medical_assistance_paid":"0"}`, []string{"illness_poverty"}, policies.History{PrevBase: d("1000.00"), PaidAnnual: d("800.00"), PaidOutpatient: d("800.00")}, ""},
		{"ZKB layers above the scope, no eligible category", "ZKB", "medical", `{"service_type":"inpatient","bill_ref":"B-3","total_cost":"9000.00","policy_scope_cost":"5000.00","basic_insurance_paid":"6000.00","critical_illness_paid":"0","medical_assistance_paid":"0"}`, nil, policies.History{}, ""},
		{"ZKB with the annual cap used up", "ZKB", "medical", `{"service_type":"inpatient","bill_ref":"B-4","total_cost":"9000.00","policy_scope_cost":"9000.00","basic_insurance_paid":"0","critical_illness_paid":"0","medical_assistance_paid":"0"}`, []string{"rural_destitute"}, policies.History{PaidAnnual: d("100000.00")}, ""},
		{"ZFB three rooms collapsed", "ZFB", "disaster", `{"incident_ref":"YJ-1","loss_class":"house_collapsed","rooms":3}`, nil, policies.History{}, ""},
		{"ZFB five rooms collapsed, at the maximum", "ZFB", "disaster", `{"incident_ref":"YJ-1","loss_class":"house_collapsed","rooms":5}`, nil, policies.History{}, ""},
		{"ZFB house damaged", "ZFB", "disaster", `{"incident_ref":"YJ-1","loss_class":"house_damaged"}`, nil, policies.History{}, ""},
		{"ZFB death", "ZFB", "disaster", `{"incident_ref":"YJ-1","loss_class":"death"}`, nil, policies.History{PaidAnnual: d("60000.00")}, ""},
		{"ZFB disability grade 4", "ZFB", "disaster", `{"incident_ref":"YJ-1","loss_class":"disability","disability_grade":4}`, nil, policies.History{}, ""},
		{"ZFB property loss", "ZFB", "disaster", `{"incident_ref":"YJ-1","loss_class":"property_loss","assessed_loss":"7500.33"}`, nil, policies.History{}, ""},
		{"ZFB property loss at the maximum", "ZFB", "disaster", `{"incident_ref":"YJ-1","loss_class":"property_loss","assessed_loss":"90000.00"}`, nil, policies.History{}, ""},
		{"FPB illness after ZKB paid on the bill", "FPB", "illness", `{"household_income_per_capita":"3000.00","bill_ref":"B-1","self_pay":"30000.00"}`, nil, policies.History{PrevBase: d("12000.00"), PaidCause: d("2100.00"), PaidAnnual: d("2100.00"), Offset: d("1000.00")}, ""},
		{"FPB illness under the deductible", "FPB", "illness", `{"household_income_per_capita":"3000.00","bill_ref":"B-9","self_pay":"3000.00"}`, nil, policies.History{}, ""},
		{"FPB education", "FPB", "education", `{"household_income_per_capita":"3000.00","self_pay":"20000.33"}`, nil, policies.History{}, ""},
		{"FPB disaster after ZFB paid more than the loss", "FPB", "disaster", `{"household_income_per_capita":"3000.00","incident_ref":"YJ-2","net_loss":"30000.00"}`, nil, policies.History{Offset: d("40000.00")}, ""},
		{"FPB accident", "FPB", "accident", `{"household_income_per_capita":"3000.00","net_loss":"130000.00"}`, nil, policies.History{}, ""},
		{"CYB premium with county subsidy", "CYB", "premium_subsidy", `{"industry":"tea","primary_policy_no":"P-1","premium_paid":"12345.67","county_subsidised":true}`, nil, policies.History{}, ""},
		{"CYB premium without county subsidy", "CYB", "premium_subsidy", `{"industry":"bee","primary_policy_no":"P-1","premium_paid":"12345.67","county_subsidised":false}`, nil, policies.History{PaidAnnual: d("49000.00")}, ""},
		{"CYB loss top-up", "CYB", "loss_topup", `{"industry":"rose","primary_policy_no":"P-2","primary_claim_paid":"8000.05"}`, nil, policies.History{}, ""},
		{"rules that do not cover the cause", "ZKB", "medical", `{"service_type":"inpatient","bill_ref":"B-1","total_cost":"1.00","policy_scope_cost":"1.00","basic_insurance_paid":"0","critical_illness_paid":"0","medical_assistance_paid":"0"}`, nil, policies.History{}, "FPB"},
	}
	numbers := regexp.MustCompile(`[0-9]+(?:\.[0-9]+)?`)
	lines := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			facts, errs := policies.ParseFacts(tc.programme, tc.cause, json.RawMessage(tc.facts))
			require.Empty(t, errs)
			rules := policies.DefaultRules(tc.programme)
			if tc.rules != "" {
				rules = policies.DefaultRules(tc.rules)
			}
			a := policies.Assess(policies.AssessInput{Rules: rules, Cause: tc.cause, Facts: facts, Categories: tc.categories, History: tc.history})
			require.NotEmpty(t, a.Breakdown)
			for _, s := range a.Breakdown {
				zh, ok := stepText(LangZH, s.Description)
				require.True(t, ok, "no Chinese reading of %q", s.Description)
				require.Regexp(t, `\p{Han}`, zh)
				require.Equal(t, numbers.FindAllString(s.Description, -1), numbers.FindAllString(zh, -1),
					"the numbers carry over: %q → %q", s.Description, zh)
				en, ok := stepText(LangEN, s.Description)
				require.True(t, ok)
				require.Equal(t, s.Description, en)
				lines++
			}
		})
	}
	require.Greater(t, lines, 60)
}

func TestYuan(t *testing.T) {
	for in, want := range map[any]string{
		"12345.67": "¥12,345.67", "0.00": "¥0.00", "5.1": "¥5.10", "999.99": "¥999.99", "1000.00": "¥1,000.00",
		"130000000.00": "¥130,000,000.00", int64(123456789): "¥1,234,567.89", "-1234.50": "-¥1,234.50",
	} {
		require.Equal(t, want, yuan(in), "%v", in)
	}
}

func TestDisplayName(t *testing.T) {
	for in, want := range map[string]string{"张三": "张*", "张小三": "张*三", "欧阳小明": "欧**明", "李": "李", "": ""} {
		require.Equal(t, want, displayName(in))
	}
}

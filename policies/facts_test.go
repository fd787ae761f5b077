package policies

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// dec parses a decimal literal for expectations.
func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// mustFacts parses facts that the test expects to be valid.
func mustFacts(t testing.TB, programme, cause, raw string) Facts {
	t.Helper()
	f, errs := ParseFacts(programme, cause, json.RawMessage(raw))
	require.Empty(t, errs, "facts %s", raw)
	return f
}

func TestParseFactsAccepts(t *testing.T) {
	cases := []struct {
		name      string
		programme string
		cause     string
		raw       string
		canonical string // MarshalJSON of the result
		reference string
		base      string
	}{
		{"ZKB inpatient with string amounts", ZKB, CauseMedical,
			`{"service_type":"inpatient","bill_ref":"NY-2026-0001","total_cost":"52000.00","policy_scope_cost":"48000.00","basic_insurance_paid":"30000.00","critical_illness_paid":"6000.00","medical_assistance_paid":"4000.00"}`,
			`{"service_type":"inpatient","bill_ref":"NY-2026-0001","total_cost":"52000.00","policy_scope_cost":"48000.00","basic_insurance_paid":"30000.00","critical_illness_paid":"6000.00","medical_assistance_paid":"4000.00"}`,
			"NY-2026-0001", "8000"},
		{"ZKB outpatient with number amounts and a Chinese reference", ZKB, CauseMedical,
			`{"service_type":"outpatient","bill_ref":"南阳市第一人民医院 门诊 123","total_cost":15000,"policy_scope_cost":15000,"basic_insurance_paid":0,"critical_illness_paid":0,"medical_assistance_paid":0.5}`,
			`{"service_type":"outpatient","bill_ref":"南阳市第一人民医院 门诊 123","total_cost":"15000.00","policy_scope_cost":"15000.00","basic_insurance_paid":"0.00","critical_illness_paid":"0.00","medical_assistance_paid":"0.50"}`,
			"南阳市第一人民医院 门诊 123", "14999.5"},
		{"ZKB reference with characters JSON escapes", ZKB, CauseMedical,
			`{"service_type":"inpatient","bill_ref":"A<B>&C","total_cost":"1","policy_scope_cost":"1","basic_insurance_paid":"0","critical_illness_paid":"0","medical_assistance_paid":"0"}`,
			`{"service_type":"inpatient","bill_ref":"A\u003cB\u003e\u0026C","total_cost":"1.00","policy_scope_cost":"1.00","basic_insurance_paid":"0.00","critical_illness_paid":"0.00","medical_assistance_paid":"0.00"}`,
			"A<B>&C", "1"},
		{"ZKB layers above the policy scope give base 0", ZKB, CauseMedical,
			`{"service_type":"inpatient","bill_ref":"B","total_cost":"100","policy_scope_cost":"50","basic_insurance_paid":"60","critical_illness_paid":"0","medical_assistance_paid":"0"}`,
			`{"service_type":"inpatient","bill_ref":"B","total_cost":"100.00","policy_scope_cost":"50.00","basic_insurance_paid":"60.00","critical_illness_paid":"0.00","medical_assistance_paid":"0.00"}`,
			"B", "0"},
		{"ZFB house collapsed", ZFB, CauseDisaster,
			`{"incident_ref":"YJ-2026-7","loss_class":"house_collapsed","rooms":3}`,
			`{"incident_ref":"YJ-2026-7","loss_class":"house_collapsed","rooms":3}`, "YJ-2026-7", "0"},
		{"ZFB house damaged", ZFB, CauseDisaster,
			`{"incident_ref":"YJ-1","loss_class":"house_damaged"}`,
			`{"incident_ref":"YJ-1","loss_class":"house_damaged"}`, "YJ-1", "0"},
		{"ZFB death", ZFB, CauseDisaster,
			`{"incident_ref":"YJ-1","loss_class":"death"}`,
			`{"incident_ref":"YJ-1","loss_class":"death"}`, "YJ-1", "0"},
		{"ZFB disability", ZFB, CauseDisaster,
			`{"incident_ref":"YJ-1","loss_class":"disability","disability_grade":10}`,
			`{"incident_ref":"YJ-1","loss_class":"disability","disability_grade":10}`, "YJ-1", "0"},
		{"ZFB property loss", ZFB, CauseDisaster,
			`{"incident_ref":"YJ-1","loss_class":"property_loss","assessed_loss":7500}`,
			`{"incident_ref":"YJ-1","loss_class":"property_loss","assessed_loss":"7500.00"}`, "YJ-1", "7500"},
		{"FPB illness", FPB, CauseIllness,
			`{"household_income_per_capita":"4200.00","bill_ref":"NY-2026-0001","self_pay":"12000.00"}`,
			`{"household_income_per_capita":"4200.00","bill_ref":"NY-2026-0001","self_pay":"12000.00"}`, "NY-2026-0001", "12000"},
		{"FPB education", FPB, CauseEducation,
			`{"household_income_per_capita":"0","self_pay":"9000.1"}`,
			`{"household_income_per_capita":"0.00","self_pay":"9000.10"}`, "", "9000.1"},
		{"FPB disaster", FPB, CauseDisaster,
			`{"household_income_per_capita":"3000","incident_ref":"YJ-1","net_loss":"20000"}`,
			`{"household_income_per_capita":"3000.00","incident_ref":"YJ-1","net_loss":"20000.00"}`, "YJ-1", "20000"},
		{"FPB accident", FPB, CauseAccident,
			`{"household_income_per_capita":"3000","net_loss":"999999999999.99"}`,
			`{"household_income_per_capita":"3000.00","net_loss":"999999999999.99"}`, "", "999999999999.99"},
		{"CYB premium subsidy", CYB, CausePremiumSubsidy,
			`{"industry":"tea","primary_policy_no":"PICC-88","premium_paid":"12345.67","county_subsidised":true}`,
			`{"industry":"tea","primary_policy_no":"PICC-88","premium_paid":"12345.67","county_subsidised":true}`, "PICC-88", "12345.67"},
		{"CYB loss top-up", CYB, CauseLossTopup,
			`{"industry":"bee","primary_policy_no":"PICC-89","primary_claim_paid":"8000"}`,
			`{"industry":"bee","primary_policy_no":"PICC-89","primary_claim_paid":"8000.00"}`, "PICC-89", "8000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := mustFacts(t, tc.programme, tc.cause, tc.raw)
			require.Equal(t, tc.programme, f.Programme)
			require.Equal(t, tc.cause, f.Cause)
			require.Equal(t, tc.canonical, marshal(t, f))
			direct, err := f.MarshalJSON()
			require.NoError(t, err)
			require.Equal(t, tc.canonical, string(direct), "what the claim store writes, without json.Marshal")
			require.Equal(t, tc.reference, f.Reference())
			require.True(t, dec(tc.base).Equal(f.Base()), "base %s, want %s", f.Base(), tc.base)
			back := mustFacts(t, tc.programme, tc.cause, marshal(t, f))
			require.Equal(t, tc.canonical, marshal(t, back), "canonical facts parse back the same")
		})
	}
}

func TestParseFactsTypedValues(t *testing.T) {
	f := mustFacts(t, ZFB, CauseDisaster, `{"incident_ref":"YJ-1","loss_class":"disability","disability_grade":4}`)
	require.Equal(t, 4, f.DisabilityGrade)
	require.Equal(t, "disability", f.LossClass)

	f = mustFacts(t, CYB, CausePremiumSubsidy, `{"industry":"rose","primary_policy_no":"P","premium_paid":"1","county_subsidised":false}`)
	require.False(t, f.CountySubsidised)
	require.Equal(t, "rose", f.Industry)

	f = mustFacts(t, ZKB, CauseMedical, `{"service_type":"outpatient","bill_ref":"B","total_cost":"10","policy_scope_cost":"9","basic_insurance_paid":"1","critical_illness_paid":"2","medical_assistance_paid":"3"}`)
	require.Equal(t, "outpatient", f.ServiceType)
	require.True(t, dec("3").Equal(f.Base()))
}

func TestParseFactsRejects(t *testing.T) {
	zkbGood := map[string]string{
		"service_type": `"inpatient"`, "bill_ref": `"B-1"`, "total_cost": `"50000.00"`, "policy_scope_cost": `"48000.00"`,
		"basic_insurance_paid": `"30000.00"`, "critical_illness_paid": `"6000.00"`, "medical_assistance_paid": `"4000.00"`,
	}
	cases := []struct {
		name      string
		programme string
		cause     string
		raw       string
		want      []string
	}{
		{"unknown programme", "XYZ", CauseMedical, `{}`, []string{"cause"}},
		{"cause of another programme", ZKB, CauseIllness, `{}`, []string{"cause"}},
		{"FPB cause unknown", FPB, "theft", `{}`, []string{"cause"}},
		{"facts missing", FPB, CauseIllness, ``, []string{"facts"}},
		{"facts null", FPB, CauseIllness, `null`, []string{"facts"}},
		{"facts not an object", FPB, CauseIllness, `[1]`, []string{"facts"}},
		{"facts a string", FPB, CauseIllness, `"x"`, []string{"facts"}},

		{"ZKB every field missing", ZKB, CauseMedical, `{}`, []string{
			"facts.service_type", "facts.bill_ref", "facts.total_cost", "facts.policy_scope_cost",
			"facts.basic_insurance_paid", "facts.critical_illness_paid", "facts.medical_assistance_paid"}},
		{"ZKB unknown service type", ZKB, CauseMedical, withField(zkbGood, "service_type", `"dental"`), []string{"facts.service_type"}},
		{"ZKB policy scope above total", ZKB, CauseMedical, withField(zkbGood, "policy_scope_cost", `"50000.01"`), []string{"facts.policy_scope_cost"}},
		{"ZKB layers above total", ZKB, CauseMedical, withField(zkbGood, "basic_insurance_paid", `"40000.01"`), []string{"facts.total_cost"}},
		{"ZKB amount with three decimals", ZKB, CauseMedical, withField(zkbGood, "total_cost", `50000.001`), []string{"facts.total_cost"}},
		{"ZKB negative amount", ZKB, CauseMedical, withField(zkbGood, "critical_illness_paid", `-1`), []string{"facts.critical_illness_paid"}},
		{"ZKB amount above the maximum", ZKB, CauseMedical, withField(zkbGood, "total_cost", `"1000000000000.00"`), []string{"facts.total_cost"}},
		{"ZKB amount as a boolean", ZKB, CauseMedical, withField(zkbGood, "medical_assistance_paid", `true`), []string{"facts.medical_assistance_paid"}},
		{"ZKB amount null", ZKB, CauseMedical, withField(zkbGood, "medical_assistance_paid", `null`), []string{"facts.medical_assistance_paid"}},
		{"ZKB unknown key", ZKB, CauseMedical, withField(zkbGood, "hospital", `"x"`), []string{"facts.hospital"}},
		{"ZKB keys are case-sensitive", ZKB, CauseMedical, withField(zkbGood, "Bill_Ref", `"x"`), []string{"facts.Bill_Ref"}},
		{"ZKB reference empty", ZKB, CauseMedical, withField(zkbGood, "bill_ref", `""`), []string{"facts.bill_ref"}},
		{"ZKB reference too long", ZKB, CauseMedical, withField(zkbGood, "bill_ref", `"`+strings.Repeat("x", 65)+`"`), []string{"facts.bill_ref"}},
		{"ZKB reference with a control character", ZKB, CauseMedical, withField(zkbGood, "bill_ref", `"B\u0000"`), []string{"facts.bill_ref"}},
		{"ZKB reference with a newline", ZKB, CauseMedical, withField(zkbGood, "bill_ref", `"B\n1"`), []string{"facts.bill_ref"}},
		{"ZKB reference with surrounding space", ZKB, CauseMedical, withField(zkbGood, "bill_ref", `" B-1"`), []string{"facts.bill_ref"}},
		{"ZKB reference as a number", ZKB, CauseMedical, withField(zkbGood, "bill_ref", `12`), []string{"facts.bill_ref"}},

		{"ZFB missing loss class and reference", ZFB, CauseDisaster, `{}`, []string{"facts.incident_ref", "facts.loss_class"}},
		{"ZFB unknown loss class", ZFB, CauseDisaster, `{"incident_ref":"I","loss_class":"flood"}`, []string{"facts.loss_class"}},
		{"ZFB rooms missing", ZFB, CauseDisaster, `{"incident_ref":"I","loss_class":"house_collapsed"}`, []string{"facts.rooms"}},
		{"ZFB rooms zero", ZFB, CauseDisaster, `{"incident_ref":"I","loss_class":"house_collapsed","rooms":0}`, []string{"facts.rooms"}},
		{"ZFB rooms 51", ZFB, CauseDisaster, `{"incident_ref":"I","loss_class":"house_collapsed","rooms":51}`, []string{"facts.rooms"}},
		{"ZFB rooms not an integer", ZFB, CauseDisaster, `{"incident_ref":"I","loss_class":"house_collapsed","rooms":3.0}`, []string{"facts.rooms"}},
		{"ZFB rooms as a string", ZFB, CauseDisaster, `{"incident_ref":"I","loss_class":"house_collapsed","rooms":"3"}`, []string{"facts.rooms"}},
		{"ZFB rooms huge", ZFB, CauseDisaster, `{"incident_ref":"I","loss_class":"house_collapsed","rooms":99999999999999999999999}`, []string{"facts.rooms"}},
		{"ZFB grade 11", ZFB, CauseDisaster, `{"incident_ref":"I","loss_class":"disability","disability_grade":11}`, []string{"facts.disability_grade"}},
		{"ZFB grade in exponent form", ZFB, CauseDisaster, `{"incident_ref":"I","loss_class":"disability","disability_grade":1e1}`, []string{"facts.disability_grade"}},
		{"ZFB assessed loss missing", ZFB, CauseDisaster, `{"incident_ref":"I","loss_class":"property_loss"}`, []string{"facts.assessed_loss"}},
		{"ZFB measure of another class", ZFB, CauseDisaster, `{"incident_ref":"I","loss_class":"death","rooms":3,"assessed_loss":"1.00"}`, []string{"facts.rooms", "facts.assessed_loss"}},
		{"ZFB grade with house collapsed", ZFB, CauseDisaster, `{"incident_ref":"I","loss_class":"house_collapsed","rooms":2,"disability_grade":3}`, []string{"facts.disability_grade"}},

		{"FPB illness missing everything", FPB, CauseIllness, `{}`, []string{"facts.household_income_per_capita", "facts.bill_ref", "facts.self_pay"}},
		{"FPB education with a bill_ref", FPB, CauseEducation, `{"household_income_per_capita":"1","self_pay":"1","bill_ref":"B"}`, []string{"facts.bill_ref"}},
		{"FPB disaster without incident", FPB, CauseDisaster, `{"household_income_per_capita":"1","net_loss":"1"}`, []string{"facts.incident_ref"}},
		{"FPB accident with self_pay", FPB, CauseAccident, `{"household_income_per_capita":"1","net_loss":"1","self_pay":"1"}`, []string{"facts.self_pay"}},
		{"FPB income negative", FPB, CauseAccident, `{"household_income_per_capita":"-1","net_loss":"1"}`, []string{"facts.household_income_per_capita"}},

		{"CYB unknown industry", CYB, CauseLossTopup, `{"industry":"rice","primary_policy_no":"P","primary_claim_paid":"1"}`, []string{"facts.industry"}},
		{"CYB county_subsidised as a string", CYB, CausePremiumSubsidy, `{"industry":"tea","primary_policy_no":"P","premium_paid":"1","county_subsidised":"yes"}`, []string{"facts.county_subsidised"}},
		{"CYB county_subsidised missing", CYB, CausePremiumSubsidy, `{"industry":"tea","primary_policy_no":"P","premium_paid":"1"}`, []string{"facts.county_subsidised"}},
		{"CYB loss top-up with a premium", CYB, CauseLossTopup, `{"industry":"tea","primary_policy_no":"P","primary_claim_paid":"1","premium_paid":"1"}`, []string{"facts.premium_paid"}},
		{"CYB every error at once", CYB, CausePremiumSubsidy, `{"industry":7,"primary_policy_no":"","premium_paid":"x","county_subsidised":1,"extra":true}`, []string{
			"facts.extra", "facts.industry", "facts.primary_policy_no", "facts.premium_paid", "facts.county_subsidised"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, errs := ParseFacts(tc.programme, tc.cause, json.RawMessage(tc.raw))
			require.Equal(t, tc.want, paths(errs), "errors: %v", errs)
			require.Equal(t, Facts{}, f)
		})
	}
}

func TestParseFactsMessages(t *testing.T) {
	_, errs := ParseFacts(ZFB, CauseDisaster, json.RawMessage(`{"incident_ref":"I","loss_class":"death","rooms":3}`))
	require.Equal(t, "does not apply to loss_class death (only to house_collapsed)", errs[0].Message)
	_, errs = ParseFacts(ZKB, CauseIllness, json.RawMessage(`{}`))
	require.Equal(t, "is not a cause of ZKB (medical)", errs[0].Message)
	_, errs = ParseFacts(FPB, CauseIllness, json.RawMessage(`{"household_income_per_capita":"1.234","bill_ref":"B","self_pay":"1"}`))
	require.Equal(t, "must be a non-negative amount with at most two decimals, at most 999999999999.99", errs[0].Message)
}

// withField returns the JSON object of fields with key set to value (a raw
// JSON literal), for one-field-wrong cases.
func withField(fields map[string]string, key, value string) string {
	m := make(map[string]json.RawMessage, len(fields)+1)
	for k, v := range fields {
		m[k] = json.RawMessage(v)
	}
	m[key] = json.RawMessage(value)
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestFactsMarshalOutsideProgramme(t *testing.T) {
	require.Equal(t, "{}", marshal(t, Facts{}))
	require.Equal(t, "", Facts{}.Reference())
	require.True(t, Facts{}.Base().IsZero())
}

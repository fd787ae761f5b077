package policies

import (
	"encoding/json"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"huimin/internal/apperr"
)

// designDefaults are the default rules as DESIGN §5 prints them (FPB's
// disaster and accident spelled out), the contract the canonical JSON must
// match.
var designDefaults = map[string]string{
	ZKB: `{"eligible_categories":["illness_poverty","disability_poverty","rural_destitute"],"deductible":"0.00","ratios":{"rural_destitute":"1.00","illness_poverty":"0.80","disability_poverty":"0.80"},"annual_cap":"100000.00","outpatient_annual_cap":"10000.00","required_evidence":["settlement_sheet"]}`,
	ZFB: `{"eligible_residency":["hukou","residence_permit","labour_contract"],"house_collapsed":{"per_room":"5000.00","max":"20000.00"},"house_damaged":"4000.00","death":"50000.00","disability_grade1":"50000.00","property_loss":{"deductible":"1000.00","rate":"0.50","max":"10000.00"},"annual_cap":"100000.00","required_evidence":["incident_certificate"]}`,
	FPB: `{"eligible_categories":["unstable_out_of_poverty","marginal_at_risk","sudden_hardship"],"prevention_line":"6000.00","annual_cap":"100000.00","causes":{
		"illness":{"deductible":"5000.00","brackets":[{"up_to":"20000.00","rate":"0.30"},{"up_to":"50000.00","rate":"0.50"},{"up_to":"100000.00","rate":"0.70"},{"up_to":null,"rate":"0.90"}],"cap":"100000.00","required_evidence":["settlement_sheet","invoice"]},
		"education":{"deductible":"8000.00","brackets":[{"up_to":null,"rate":"0.50"}],"cap":"20000.00","required_evidence":["admission_notice","fee_receipt"]},
		"disaster":{"deductible":"5000.00","brackets":[{"up_to":"20000.00","rate":"0.30"},{"up_to":"50000.00","rate":"0.50"},{"up_to":"100000.00","rate":"0.70"},{"up_to":null,"rate":"0.90"}],"cap":"100000.00","required_evidence":["loss_certificate"]},
		"accident":{"deductible":"5000.00","brackets":[{"up_to":"20000.00","rate":"0.30"},{"up_to":"50000.00","rate":"0.50"},{"up_to":"100000.00","rate":"0.70"},{"up_to":null,"rate":"0.90"}],"cap":"100000.00","required_evidence":["accident_report"]}}}`,
	CYB: `{"eligible_categories":["agri_operator"],"industries":["rose","tea","herb","bee"],"premium_subsidy":{"rate_with_county":"0.20","rate_without_county":"0.10"},"loss_topup":{"rate":"0.10"},"annual_cap":"50000.00","required_evidence":{"premium_subsidy":["premium_receipt"],"loss_topup":["claim_settlement"]}}`,
}

var allProgrammes = []string{ZKB, ZFB, FPB, CYB}

// mustRules parses rules that the test expects to be valid.
func mustRules(t testing.TB, programme, raw string) Rules {
	t.Helper()
	r, errs := ParseRules(programme, json.RawMessage(raw))
	require.Empty(t, errs, "rules %s", raw)
	return r
}

// marshal is MarshalJSON that fails the test on error.
func marshal(t testing.TB, v json.Marshaler) string {
	t.Helper()
	b, err := v.MarshalJSON()
	require.NoError(t, err)
	return string(b)
}

// paths lists the field paths of errs in order.
func paths(errs apperr.Fields) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field
	}
	return out
}

func TestDefaultRulesAreDesignDefaults(t *testing.T) {
	for _, p := range allProgrammes {
		t.Run(p, func(t *testing.T) {
			require.JSONEq(t, designDefaults[p], marshal(t, DefaultRules(p)))
		})
	}
}

func TestDefaultRulesRoundTrip(t *testing.T) {
	for _, p := range allProgrammes {
		t.Run(p, func(t *testing.T) {
			def := DefaultRules(p)
			canonical := marshal(t, def)
			back, errs := ParseRules(p, json.RawMessage(canonical))
			require.Empty(t, errs)
			require.Equal(t, def, back, "canonical JSON parses back to the same rules")
			require.Equal(t, canonical, marshal(t, back), "canonical JSON is stable")
		})
	}
}

func TestDefaultRulesAreFreshCopies(t *testing.T) {
	a := DefaultRules(FPB)
	a.FPB.EligibleCategories[0] = "changed"
	delete(a.FPB.Causes, CauseIllness)
	b := DefaultRules(FPB)
	require.Equal(t, "unstable_out_of_poverty", b.FPB.EligibleCategories[0])
	require.Contains(t, b.FPB.Causes, CauseIllness)
}

func TestParseRulesEmptyMeansDefaults(t *testing.T) {
	for _, raw := range []string{"", "null", "{}", "  {}  "} {
		r, errs := ParseRules(FPB, json.RawMessage(raw))
		require.Empty(t, errs, "raw %q", raw)
		require.Equal(t, DefaultRules(FPB), r, "raw %q", raw)
	}
}

func TestParseRulesMergesOntoDefaults(t *testing.T) {
	cases := []struct {
		name      string
		programme string
		raw       string
		check     func(t *testing.T, r Rules)
	}{
		{
			name: "FPB illness cap changed, the rest of illness and the other causes keep their defaults", programme: FPB,
			raw: `{"causes":{"illness":{"cap":"80000.00"}}}`,
			check: func(t *testing.T, r Rules) {
				ill := r.FPB.Causes[CauseIllness]
				require.Equal(t, "80000", ill.Cap.String())
				require.Equal(t, "5000", ill.Deductible.String())
				require.Len(t, ill.Brackets, 4)
				require.Equal(t, []string{"settlement_sheet", "invoice"}, ill.RequiredEvidence)
				require.Len(t, r.FPB.Causes, 4)
				require.Equal(t, "6000", r.FPB.PreventionLine.String())
			},
		},
		{
			name: "FPB education set to null is no longer covered", programme: FPB,
			raw: `{"causes":{"education":null}}`,
			check: func(t *testing.T, r Rules) {
				require.False(t, r.CoversCause(CauseEducation))
				require.True(t, r.CoversCause(CauseIllness))
				require.Nil(t, r.RequiredEvidence(CauseEducation))
			},
		},
		{
			name: "a list replaces the default list wholesale", programme: FPB,
			raw: `{"eligible_categories":["marginal_at_risk"],"causes":{"education":{"brackets":[{"up_to":"20000.00","rate":"0.4"},{"up_to":null,"rate":"0.6"}]}}}`,
			check: func(t *testing.T, r Rules) {
				require.Equal(t, []string{"marginal_at_risk"}, r.FPB.EligibleCategories)
				require.Len(t, r.FPB.Causes[CauseEducation].Brackets, 2)
				require.Equal(t, "0.4", r.FPB.Causes[CauseEducation].Brackets[0].Rate.String())
			},
		},
		{
			name: "amounts and rates may be JSON numbers", programme: FPB,
			raw: `{"annual_cap":50000,"prevention_line":6500.5,"causes":{"education":{"brackets":[{"up_to":null,"rate":0.55}]}}}`,
			check: func(t *testing.T, r Rules) {
				require.Equal(t, "50000.00", marshalAmount(r.FPB.AnnualCap))
				require.Equal(t, "6500.50", marshalAmount(r.FPB.PreventionLine))
				require.Equal(t, "0.55", r.FPB.Causes[CauseEducation].Brackets[0].Rate.String())
			},
		},
		{
			name: "CYB loss_topup set to null is no longer covered, nor is its evidence asked", programme: CYB,
			raw: `{"loss_topup":null}`,
			check: func(t *testing.T, r Rules) {
				require.Nil(t, r.CYB.LossTopup)
				require.False(t, r.CoversCause(CauseLossTopup))
				require.True(t, r.CoversCause(CausePremiumSubsidy))
				require.Equal(t, map[string][]string{CausePremiumSubsidy: {"premium_receipt"}}, r.CYB.RequiredEvidence)
			},
		},
		{
			name: "CYB industries narrowed", programme: CYB,
			raw: `{"industries":["tea"],"premium_subsidy":{"rate_with_county":"0.25"}}`,
			check: func(t *testing.T, r Rules) {
				require.Equal(t, []string{"tea"}, r.CYB.Industries)
				require.Equal(t, "0.25", r.CYB.PremiumSubsidy.RateWithCounty.String())
				require.Equal(t, "0.1", r.CYB.PremiumSubsidy.RateWithoutCounty.String())
			},
		},
		{
			name: "ZKB gains a category with its ratio; ratios of dropped categories are not kept", programme: ZKB,
			raw: `{"eligible_categories":["rural_destitute","sudden_hardship"],"ratios":{"sudden_hardship":"0.6"}}`,
			check: func(t *testing.T, r Rules) {
				require.Equal(t, map[string]decimal.Decimal{
					"rural_destitute": decimal.RequireFromString("1.00"),
					"sudden_hardship": decimal.RequireFromString("0.6"),
				}, r.ZKB.Ratios)
			},
		},
		{
			name: "ZFB property loss rate and a four-decimal rate", programme: ZFB,
			raw: `{"property_loss":{"rate":"0.3333"},"eligible_residency":["hukou"]}`,
			check: func(t *testing.T, r Rules) {
				require.Equal(t, "0.3333", r.ZFB.PropertyLoss.Rate.String())
				require.Equal(t, "10000", r.ZFB.PropertyLoss.Max.String())
				require.Equal(t, []string{"hukou"}, r.ZFB.EligibleResidency)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := mustRules(t, tc.programme, tc.raw)
			tc.check(t, r)
			// Whatever was changed, the canonical JSON gives back the same
			// rules: that is what a stored rules version relies on.
			back, errs := ParseRules(tc.programme, json.RawMessage(marshal(t, r)))
			require.Empty(t, errs)
			require.Equal(t, marshal(t, r), marshal(t, back))
			require.Equal(t, r.CoversCause(CauseEducation), back.CoversCause(CauseEducation))
			require.Equal(t, r.CoversCause(CauseLossTopup), back.CoversCause(CauseLossTopup))
		})
	}
}

func marshalAmount(d decimal.Decimal) string { return d.StringFixed(2) }

func TestCanonicalJSONWritesRemovedCausesAsNull(t *testing.T) {
	r := mustRules(t, FPB, `{"causes":{"education":null,"accident":null}}`)
	var top map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(marshal(t, r)), &top))
	var causes map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(top["causes"], &causes))
	require.JSONEq(t, "null", string(causes["education"]))
	require.JSONEq(t, "null", string(causes["accident"]))
	back := mustRules(t, FPB, marshal(t, r))
	require.Len(t, back.FPB.Causes, 2)
}

func TestParseRulesRejects(t *testing.T) {
	cases := []struct {
		name      string
		programme string
		raw       string
		want      []string // field paths, in order
	}{
		{"brackets descending", FPB,
			`{"causes":{"illness":{"brackets":[{"up_to":"20000.00","rate":"0.30"},{"up_to":"10000.00","rate":"0.50"},{"up_to":null,"rate":"0.90"}]}}}`,
			[]string{"rules.causes.illness.brackets[1].up_to"}},
		{"bracket equal to the previous one", FPB,
			`{"causes":{"illness":{"brackets":[{"up_to":"20000.00","rate":"0.30"},{"up_to":"20000.00","rate":"0.50"}]}}}`,
			[]string{"rules.causes.illness.brackets[1].up_to"}},
		{"first bracket not above the deductible", FPB,
			`{"causes":{"illness":{"deductible":"5000.00","brackets":[{"up_to":"5000.00","rate":"0.30"},{"up_to":null,"rate":"0.50"}]}}}`,
			[]string{"rules.causes.illness.brackets[0].up_to"}},
		{"rate 1.5", FPB,
			`{"causes":{"illness":{"brackets":[{"up_to":"20000.00","rate":"0.30"},{"up_to":"50000.00","rate":"0.50"},{"up_to":null,"rate":"1.5"}]}}}`,
			[]string{"rules.causes.illness.brackets[2].rate"}},
		{"rate with five decimals", FPB,
			`{"causes":{"education":{"brackets":[{"up_to":null,"rate":"0.12345"}]}}}`,
			[]string{"rules.causes.education.brackets[0].rate"}},
		{"negative rate", CYB, `{"loss_topup":{"rate":"-0.1"}}`, []string{"rules.loss_topup.rate"}},
		{"rate as a boolean", ZFB, `{"property_loss":{"rate":true}}`, []string{"rules.property_loss.rate"}},
		{"unbounded bracket not last", FPB,
			`{"causes":{"accident":{"brackets":[{"up_to":null,"rate":"0.30"},{"up_to":"50000.00","rate":"0.50"}]}}}`,
			[]string{"rules.causes.accident.brackets[0].up_to"}},
		{"empty brackets", FPB, `{"causes":{"disaster":{"brackets":[]}}}`, []string{"rules.causes.disaster.brackets"}},
		{"bracket without up_to", FPB, `{"causes":{"disaster":{"brackets":[{"rate":"0.3"}]}}}`, []string{"rules.causes.disaster.brackets[0].up_to"}},
		{"bracket not an object", FPB, `{"causes":{"disaster":{"brackets":["0.3"]}}}`, []string{"rules.causes.disaster.brackets[0]"}},
		{"unknown key in a cause", FPB, `{"causes":{"illness":{"foo":1}}}`, []string{"rules.causes.illness.foo"}},
		{"unknown key at the top", ZKB, `{"annual_cao":"5.00"}`, []string{"rules.annual_cao"}},
		{"unknown key set to null is still named", ZKB, `{"annual_cao":null}`, []string{"rules.annual_cao"}},
		{"unknown key in a bracket", FPB, `{"causes":{"illness":{"brackets":[{"up_to":null,"rate":"0.3","from":"0"}]}}}`, []string{"rules.causes.illness.brackets[0].from"}},
		{"unknown FPB cause", FPB, `{"causes":{"theft":{"cap":"1.00"}}}`, []string{"rules.causes.theft"}},
		{"every FPB cause removed", FPB, `{"causes":{"illness":null,"education":null,"disaster":null,"accident":null}}`, []string{"rules.causes"}},
		{"causes not an object", FPB, `{"causes":[]}`, []string{"rules.causes"}},
		{"negative amount", FPB, `{"annual_cap":"-5.00"}`, []string{"rules.annual_cap"}},
		{"negative amount as a number", ZFB, `{"death":-1}`, []string{"rules.death"}},
		{"amount with three decimals", ZFB, `{"house_collapsed":{"per_room":"5000.001"}}`, []string{"rules.house_collapsed.per_room"}},
		{"amount as a boolean", ZKB, `{"deductible":true}`, []string{"rules.deductible"}},
		{"amount in exponent form", ZKB, `{"deductible":1e3}`, []string{"rules.deductible"}},
		{"required amount removed", ZKB, `{"annual_cap":null}`, []string{"rules.annual_cap"}},
		{"annual cap zero", CYB, `{"annual_cap":"0.00"}`, []string{"rules.annual_cap"}},
		{"outpatient cap zero", ZKB, `{"outpatient_annual_cap":0}`, []string{"rules.outpatient_annual_cap"}},
		{"cause cap zero", FPB, `{"causes":{"education":{"cap":"0"}}}`, []string{"rules.causes.education.cap"}},
		{"empty evidence list", FPB, `{"causes":{"education":{"required_evidence":[]}}}`, []string{"rules.causes.education.required_evidence"}},
		{"missing evidence list", FPB, `{"causes":{"education":{"required_evidence":null}}}`, []string{"rules.causes.education.required_evidence"}},
		{"evidence list not a list", ZKB, `{"required_evidence":"settlement_sheet"}`, []string{"rules.required_evidence"}},
		{"badly formed evidence kind", ZKB, `{"required_evidence":["settlement_sheet","Fee Receipt",7]}`, []string{"rules.required_evidence[1]", "rules.required_evidence[2]"}},
		{"duplicate evidence kind", ZFB, `{"required_evidence":["photo","photo"]}`, []string{"rules.required_evidence[1]"}},
		{"CYB evidence of a covered cause removed", CYB, `{"required_evidence":{"loss_topup":null}}`, []string{"rules.required_evidence.loss_topup"}},
		{"CYB evidence of an unknown cause", CYB, `{"required_evidence":{"theft":["x"]}}`, []string{"rules.required_evidence.theft"}},
		{"CYB covers nothing", CYB, `{"premium_subsidy":null,"loss_topup":null}`, []string{"rules"}},
		{"unknown category", FPB, `{"eligible_categories":["marginal_at_risk","rich"]}`, []string{"rules.eligible_categories[1]"}},
		{"empty category list", CYB, `{"eligible_categories":[]}`, []string{"rules.eligible_categories"}},
		{"category list not a list", FPB, `{"eligible_categories":"marginal_at_risk"}`, []string{"rules.eligible_categories"}},
		{"unknown residency", ZFB, `{"eligible_residency":["hukou","visa"]}`, []string{"rules.eligible_residency[1]"}},
		{"unknown industry", CYB, `{"industries":["tea","rice"]}`, []string{"rules.industries[1]"}},
		{"ZKB eligible category without a ratio", ZKB, `{"eligible_categories":["rural_destitute","sudden_hardship"]}`, []string{"rules.ratios.sudden_hardship"}},
		{"ZKB ratio removed for an eligible category", ZKB, `{"ratios":{"illness_poverty":null}}`, []string{"rules.ratios.illness_poverty"}},
		{"ZKB ratio of an unknown category", ZKB, `{"ratios":{"nobody":"0.5"}}`, []string{"rules.ratios.nobody"}},
		{"ZKB ratio above 1", ZKB, `{"ratios":{"rural_destitute":"1.01"}}`, []string{"rules.ratios.rural_destitute"}},
		{"rules not an object", FPB, `[1,2]`, []string{"rules"}},
		{"rules not JSON", FPB, `{"annual_cap":`, []string{"rules"}},
		{"unknown programme", "XYZ", `{}`, []string{"programme"}},
		{"every error collected, not only the first", FPB,
			`{"annual_cap":"-1","foo":1,"eligible_categories":["rich"],"causes":{"illness":{"brackets":[{"up_to":"20000.00","rate":"0.30"},{"up_to":"10000.00","rate":"0.50"},{"up_to":null,"rate":"1.5"}]},"education":{"required_evidence":[]}}}`,
			[]string{
				"rules.foo",
				"rules.eligible_categories[0]",
				"rules.annual_cap",
				"rules.causes.illness.brackets[1].up_to",
				"rules.causes.illness.brackets[2].rate",
				"rules.causes.education.required_evidence",
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, errs := ParseRules(tc.programme, json.RawMessage(tc.raw))
			require.Equal(t, tc.want, paths(errs), "errors: %v", errs)
			require.Equal(t, Rules{}, r, "invalid rules give the zero Rules")
			for _, e := range errs {
				require.NotEmpty(t, e.Message)
			}
		})
	}
}

func TestParseRulesMessages(t *testing.T) {
	cases := []struct {
		name, programme, raw, path, message string
	}{
		{"descending bracket names the previous bound", FPB,
			`{"causes":{"illness":{"brackets":[{"up_to":"20000.00","rate":"0.30"},{"up_to":"10000.00","rate":"0.50"}]}}}`,
			"rules.causes.illness.brackets[1].up_to", "must be above the previous bracket's up_to (20000.00)"},
		{"unknown key", FPB, `{"causes":{"illness":{"foo":1}}}`, "rules.causes.illness.foo", "unknown key"},
		{"rate out of range", FPB, `{"causes":{"education":{"brackets":[{"up_to":null,"rate":"1.5"}]}}}`,
			"rules.causes.education.brackets[0].rate", `must be a rate from 0 to 1 with at most 4 decimals, e.g. "0.30"`},
		{"missing ratio", ZKB, `{"eligible_categories":["sudden_hardship"]}`, "rules.ratios.sudden_hardship", "is required for each eligible category"},
		{"empty evidence", FPB, `{"causes":{"education":{"required_evidence":[]}}}`, "rules.causes.education.required_evidence", "must not be empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := ParseRules(tc.programme, json.RawMessage(tc.raw))
			require.Contains(t, errs, apperr.FieldError{Field: tc.path, Message: tc.message})
		})
	}
}

func TestRulesAccessors(t *testing.T) {
	zkb, fpb, cyb, zfb := DefaultRules(ZKB), DefaultRules(FPB), DefaultRules(CYB), DefaultRules(ZFB)
	require.True(t, zkb.CoversCause(CauseMedical))
	require.False(t, zkb.CoversCause(CauseIllness))
	require.True(t, zfb.CoversCause(CauseDisaster))
	require.Equal(t, []string{"settlement_sheet", "invoice"}, fpb.RequiredEvidence(CauseIllness))
	require.Equal(t, []string{"claim_settlement"}, cyb.RequiredEvidence(CauseLossTopup))
	require.Nil(t, zfb.EligibleCategories())
	require.Equal(t, []string{"agri_operator"}, cyb.EligibleCategories())
	require.Equal(t, "50000", cyb.AnnualCap().String())
	require.False(t, Rules{}.CoversCause(CauseMedical))
	require.Equal(t, "null", marshal(t, Rules{}))
	_, err := Rules{Programme: FPB}.MarshalJSON()
	require.Error(t, err)
}

func TestProgrammes(t *testing.T) {
	ps := Programmes()
	require.Len(t, ps, 4)
	for i, code := range allProgrammes {
		require.Equal(t, code, ps[i].Code)
		require.JSONEq(t, designDefaults[code], string(ps[i].DefaultRules))
		p, ok := ProgrammeByCode(code)
		require.True(t, ok)
		require.Equal(t, ps[i], p)
	}
	require.Equal(t, "防贫保", ps[2].Name)
	require.Equal(t, "poverty_prevention", ps[2].Kind)
	require.Equal(t, []string{"illness", "education", "disaster", "accident"}, ps[2].Causes)
	require.Equal(t, CapSubjectHousehold, ps[2].CapSubject)
	require.Equal(t, CapSubjectPerson, ps[0].CapSubject)
	require.True(t, ps[3].HasCause(CauseLossTopup))
	_, ok := ProgrammeByCode("zkb")
	require.False(t, ok)

	b, err := json.Marshal(ps[0])
	require.NoError(t, err)
	require.Contains(t, string(b), `"default_rules":{"eligible_categories"`)
}

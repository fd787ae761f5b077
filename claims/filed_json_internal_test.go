package claims

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/money"
	"huimin/policies"
)

// A claim's first answer (filedJSON, the stored lists as they are) is the
// bytes its view renders (what a replay or a GET answers), for lists of any
// content, and for columns left empty.
func TestFiledJSONIsTheView(t *testing.T) {
	enc := func(v any) string { b, err := json.Marshal(v); require.NoError(t, err); return string(b) }
	evidence := []Evidence{{Kind: "settlement_sheet", SHA256: "ab"}, {Kind: "invoice", SHA256: "cd", URI: "oss://证据/<a&b>\u2028"}}
	reasons := []Reason{{Code: "unknown_beneficiary", Message: "the beneficiary is not in the registry"}, {Code: "x", Message: `"q" <b>`}}
	steps := []policies.Step{{Description: "起付线 300.00 元 <&>", Amount: money.Fen(30000)}, {Description: "应付", Amount: money.Fen(12345)}}
	household := "HH-1"
	for _, r := range []record{
		{ID: "01J0000000000000000000000A", PlanCode: "ZKB-2026", Programme: "ZKB", Org: "insurer", ExternalRef: "R-1",
			BeneficiaryID: "411325195001010774", HouseholdID: household, CountyCode: "411325", EventDate: "2026-05-01",
			Cause: "medical", Facts: `{"a":"1.00"}`, Evidence: enc(evidence), Status: Assessed, Payable: 12345,
			Reasons: enc([]Reason{}), Breakdown: string(policies.StepsJSON(steps)), RulesVersion: 3,
			SubmittedAt: 1780000000123, UpdatedAt: 1780000000123},
		{ID: "01J0000000000000000000000B", PlanCode: "FPB-2026", Programme: "FPB", Org: "insurer", ExternalRef: "R-2",
			BeneficiaryID: "411325195001010774", HouseholdID: "self:411325195001010774", Facts: `{}`, Evidence: enc([]Evidence{}),
			Status: Rejected, Reasons: enc(reasons), Breakdown: string(policies.StepsJSON([]policies.Step{})), RulesVersion: 1},
		{ID: "01J0000000000000000000000C", Facts: `{}`}, // empty columns
		{ID: "01J0000000000000000000000D", Facts: `{}`, Evidence: "null", Reasons: "null", Breakdown: "null"},
	} {
		want, err := json.Marshal(r.view(nil))
		require.NoError(t, err)
		got, err := r.filedJSON()
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	}

	var names = func(t reflect.Type) []string {
		var out []string
		for i := range t.NumField() {
			out = append(out, t.Field(i).Name+" "+t.Field(i).Tag.Get("json"))
		}
		return out
	}
	require.Equal(t, names(reflect.TypeFor[View]()), names(reflect.TypeFor[filedJSONView]()), "the same fields, names and order")
}

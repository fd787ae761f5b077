package prevention

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/civil"
	"huimin/policies"
)

// zkbFields are the record columns that are 政康保 facts.
var zkbFields = []string{"service_type", "bill_ref", "total_cost", "policy_scope_cost", "basic_insurance_paid", "critical_illness_paid", "medical_assistance_paid"}

// TestRecordRulesAreTheFactsRules: a record's bill columns are refused
// exactly when, and for exactly the columns where, a claim's 政康保 facts
// with those values are refused by policies.ParseFacts — so that every
// stored record makes a claim that intake accepts.
func TestRecordRulesAreTheFactsRules(t *testing.T) {
	services := []string{"inpatient", "outpatient", "", "Inpatient", "emergency"}
	refs := []string{"B-1", "", "住院-2026-001", strings.Repeat("惠", 64), strings.Repeat("a", 65), " B", "B\u200b1", "B\t1", "#/:._-"}
	amounts := []string{"0", "100", "100.5", "100.50", "", "12.345", "-1", "1e3", "abc", "999999999999.99", "1000000000000.00", "30000.00", "5000", " 7"}
	n := 0
	for i := range 4000 {
		ss, rs, as := services, refs, amounts
		if i%2 == 0 { // mostly good values, so that the cross-field rules are reached
			ss, rs, as = services[:2], []string{refs[0], refs[2], refs[3], refs[8]}, []string{"0", "100", "100.5", "5000", "30000.00", "999999999999.99"}
		}
		row := []string{policies.ResidentIDWithCheck("41132519800101001"), "2026-05-01", "南阳市中心医院",
			ss[i%len(ss)], rs[i/7%len(rs)],
			as[i/3%len(as)], as[i/11%len(as)], as[i/5%len(as)], as[i/13%len(as)], as[i/17%len(as)], "0"}
		_, mine := parseRecord(row, "2026-06-15")
		facts := map[string]string{}
		for c := colServiceType; c <= colAssistance; c++ {
			if row[c] != "" {
				facts[recordColumns[c]] = row[c]
			}
		}
		raw, err := json.Marshal(facts)
		require.NoError(t, err)
		_, theirs := policies.ParseFacts(policies.ZKB, policies.CauseMedical, raw)
		var a, b []string
		for _, f := range mine {
			if slices.Contains(zkbFields, f.Field) {
				a = append(a, f.Field)
			}
		}
		for _, f := range theirs {
			b = append(b, strings.TrimPrefix(f.Field, "facts."))
		}
		slices.Sort(a)
		slices.Sort(b)
		require.Equal(t, b, a, "row %q", row)
		if len(b) == 0 {
			n++
		}
	}
	require.Greater(t, n, 100, "enough rows are good for the comparison to mean something")
}

// TestParseRecordsCSV names every bad row and column, keeps the good rows,
// trims cells, skips blank rows and reads a header-only file as empty.
func TestParseRecordsCSV(t *testing.T) {
	id := policies.ResidentIDWithCheck("41132519800101001")
	today := civil.Date("2026-06-15")
	good := id + ",2026-05-01,南阳市中心医院,inpatient,B-1,30000.00,26000.00,15000.00,3000.00,2000.00,10000.00"
	cases := []struct {
		name   string
		line   string
		fields []string
	}{
		{"a good row", good, nil},
		{"padded cells are trimmed", " " + id + " , 2026-05-01 ,南阳市中心医院, inpatient ,B-1, 30000 ,26000,15000,3000,2000,0", nil},
		{"a credit code is not a person", policies.USCCWithCheck("93411325MA0000001") + ",2026-05-01,医院,inpatient,B-1,1,1,0,0,0,0", []string{"id_number"}},
		{"a mistyped resident id", id[:17] + "0,2026-05-01,医院,inpatient,B-1,1,1,0,0,0,0", []string{"id_number"}},
		{"a date in the future", id + ",2026-06-16,医院,inpatient,B-1,1,1,0,0,0,0", []string{"settled_on"}},
		{"no hospital", id + ",2026-05-01,,inpatient,B-1,1,1,0,0,0,0", []string{"hospital"}},
		{"a long hospital", id + ",2026-05-01," + strings.Repeat("院", 201) + ",inpatient,B-1,1,1,0,0,0,0", []string{"hospital"}},
		{"self-pay above what the layers left", id + ",2026-05-01,医院,inpatient,B-1,100,100,50,0,0,50.01", []string{"self_pay"}},
		{"three decimals and a sign", id + ",2026-05-01,医院,inpatient,B-1,100.001,-1,0,0,0,0", []string{"total_cost", "policy_scope_cost"}},
		{"the layers above the total", id + ",2026-05-01,医院,inpatient,B-1,100,100,60,50,0,0", []string{"total_cost"}},
		{"every column missing", ",,,,,,,,,,", nil}, // blank: skipped
		{"too few columns", id + ",2026-05-01", []string{"row"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, errs := ParseRecordsCSV([]byte("\ufeff"+RecordsCSVHeader+"\r\n"+c.line+"\r\n"), today)
			var fields []string
			for _, e := range errs {
				require.Equal(t, 2, e.Line)
				fields = append(fields, e.Field)
			}
			require.Equal(t, c.fields, fields, "%v", errs)
			if c.fields == nil && c.line != ",,,,,,,,,," {
				require.Len(t, rows, 1)
				require.Equal(t, 2, rows[0].line)
				require.Equal(t, id, rows[0].IDNumber)
				require.Equal(t, "B-1", rows[0].BillRef)
				require.EqualValues(t, 3000000, rows[0].TotalCost)
			}
		})
	}
	_, errs := ParseRecordsCSV([]byte("id_number,settled_on\n"), today)
	require.Len(t, errs, 1)
	require.Equal(t, "header", errs[0].Field)
	rows, errs := ParseRecordsCSV([]byte(RecordsCSVHeader+"\n"), today)
	require.Empty(t, rows)
	require.Empty(t, errs)
	_, errs = ParseRecordsCSV(nil, today)
	require.Equal(t, "header", errs[0].Field)
}

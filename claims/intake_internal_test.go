package claims

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/civil"
	"huimin/policies"
)

// loadBody is the body huimin-load files: a ZKB inpatient claim.
const loadBody = `{"plan":"ZKB-2026","external_ref":"L1202-77","beneficiary_id":"411325195001010774","event_date":"2026-05-01",` +
	`"cause":"medical","facts":{"service_type":"inpatient","bill_ref":"BILL-L1202-77","total_cost":"4321.00",` +
	`"policy_scope_cost":"3821.00","basic_insurance_paid":"100.00","critical_illness_paid":"0.00","medical_assistance_paid":"0.00"},` +
	`"evidence":[{"kind":"settlement_sheet","sha256":"abababababababababababababababababababababababababababababababab"}]}`

// BenchmarkIntake is the server's own work on one claim before the
// database sees it: decoding, checking every field and the facts, and the
// request hash (what intake does for each claim of a batch).
//
//	go test -run '^$' -bench Intake -benchmem ./claims/
func BenchmarkIntake(b *testing.B) {
	start, _ := civil.Parse("2026-01-01")
	end, _ := civil.Parse("2026-12-31")
	plan := policies.Plan{Code: "ZKB-2026", Programme: policies.ZKB, CoverageStart: start, CoverageEnd: end,
		Status: "active", RulesVersion: 1, Rules: policies.DefaultRules(policies.ZKB)}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	body := []byte(loadBody)
	b.ReportAllocs()
	for b.Loop() {
		in, err := decodeInput(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, errs := check(in, plan, now); errs.Err() != nil {
			b.Fatal(errs.Err())
		}
		_ = requestHash(body)
	}
}

// The hash of a decoded body is the hash requestHash gives it: the same
// compact bytes, so that answers stored before replay as before.
func TestDecodedHashIsRequestHash(t *testing.T) {
	for _, body := range []string{loadBody, "{}", ` { "a" : [ 1 , 2 ] ,"b":"x y\t\"z\" \\" } `, "{\n\t\"名\": \"值 \\u0041\"\r\n}",
		`{"s":"\\\\"}`, `{"s":"\\\\\" }"}`, `[ true , false , null ]`} {
		require.True(t, json.Valid([]byte(body)), body)
		require.Equal(t, requestHash([]byte(body)), decodedHash([]byte(body)), "%q", body)
	}
}

func FuzzDecodedHash(f *testing.F) {
	f.Add(loadBody)
	f.Add(` { "a" : "b\" c" } `)
	f.Fuzz(func(t *testing.T, body string) {
		if !json.Valid([]byte(body)) {
			return
		}
		if requestHash([]byte(body)) != decodedHash([]byte(body)) {
			t.Fatalf("decodedHash(%q) differs from requestHash", body)
		}
	})
}

package web

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"huimin/internal/apperr"
)

// benchClaim has the shape of claims.Input (which this package cannot
// import): the body every claim submission decodes.
type benchClaim struct {
	Plan          string          `json:"plan"`
	ExternalRef   string          `json:"external_ref"`
	BeneficiaryID string          `json:"beneficiary_id"`
	EventDate     string          `json:"event_date"`
	Cause         string          `json:"cause"`
	Facts         json.RawMessage `json:"facts"`
	Evidence      json.RawMessage `json:"evidence"`
}

// zkbClaimBody is a ZKB claim as an insurer's system sends it (compact,
// as encoding/json writes it), with the facts and evidence of
// claims/testhelpers_test.go's zkbClaim.
const zkbClaimBody = `{"beneficiary_id":"411323198001011234","cause":"medical","event_date":"2026-05-10",` +
	`"evidence":[{"kind":"settlement_sheet","sha256":"5f2b1c9e0d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c","uri":"oss://claims/settlement_sheet.pdf"}],` +
	`"external_ref":"PICC-ZKB-2026-000123","facts":{"basic_insurance_paid":"30000.00","bill_ref":"NY-2026-住院-0042",` +
	`"critical_illness_paid":"6000.00","medical_assistance_paid":"4000.00","policy_scope_cost":"48000.00",` +
	`"service_type":"inpatient","total_cost":"50000.00"},"plan":"ZKB-2026"}`

// BenchmarkDecodeClaim measures the strict decoding of one claim body, the
// first step of every claim in a batch (DESIGN §12: ≥ 5000 claims/s).
func BenchmarkDecodeClaim(b *testing.B) {
	body := []byte(zkbClaimBody)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var in benchClaim
		if err := Decode(body, &in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeClaimRefused measures a claim body with three problems
// (bad text, a wrong type, an unknown field), each named in the answer: the
// path on which the decoder runs once per problem (explain).
func BenchmarkDecodeClaimRefused(b *testing.B) {
	body := []byte(strings.Replace(strings.Replace(zkbClaimBody, `"cause":"medical"`, `"cause":7,"priority":"high"`, 1), "NY-2026", `NY\u0000`, 1))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var in benchClaim
		var ve *apperr.ValidationError
		if err := Decode(body, &in); !errors.As(err, &ve) || len(ve.Fields) != 3 {
			b.Fatal(err)
		}
	}
}

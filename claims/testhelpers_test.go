package claims_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/policies"
	"huimin/server/servertest"
)

// env is one application under test with the helpers the claim tests share:
// registry entries, claim bodies and submissions through the real router.
type env struct {
	h *servertest.Harness
	d *db.DB
}

func newEnv(t testing.TB, d *db.DB) *env {
	t.Helper()
	return &env{h: servertest.New(t, d), d: d}
}

// claimView is a claim as the API answers it (DESIGN §11).
type claimView struct {
	ID            string          `json:"id"`
	Plan          string          `json:"plan"`
	Programme     string          `json:"programme"`
	Org           string          `json:"org"`
	ExternalRef   string          `json:"external_ref"`
	BeneficiaryID string          `json:"beneficiary_id"`
	HouseholdID   *string         `json:"household_id"`
	CountyCode    string          `json:"county_code"`
	EventDate     string          `json:"event_date"`
	Cause         string          `json:"cause"`
	Facts         json.RawMessage `json:"facts"`
	Evidence      []struct {
		Kind   string `json:"kind"`
		SHA256 string `json:"sha256"`
		URI    string `json:"uri"`
	} `json:"evidence"`
	Status         string `json:"status"`
	Payable        string `json:"payable"`
	ReservedAmount string `json:"reserved_amount"`
	Reasons        []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"reasons"`
	Breakdown []struct {
		Description string `json:"description"`
		Amount      string `json:"amount"`
	} `json:"breakdown"`
	RulesVersion int    `json:"rules_version"`
	SubmittedAt  string `json:"submitted_at"`
	UpdatedAt    string `json:"updated_at"`
}

// ReasonCodes lists the reason codes in the order stored.
func (c claimView) ReasonCodes() []string {
	out := make([]string, len(c.Reasons))
	for i, r := range c.Reasons {
		out[i] = r.Code
	}
	return out
}

// ---- identifiers -----------------------------------------------------------

// cooperativeUSCC returns a valid unified social credit code (GB 32100) of a
// farmers' cooperative (93) registered in 411325, distinct for every n below
// 10^7.
func cooperativeUSCC(n int) string {
	return policies.USCCWithCheck(fmt.Sprintf("93411325MA%07d", n))
}

// ---- registry --------------------------------------------------------------

// register creates or replaces p in the registry as the administrator would.
func (e *env) register(t testing.TB, p servertest.Person) string {
	t.Helper()
	r := e.h.PutPerson(t, p)
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, r.Status, "register %s: %s", p.ID, r.Body)
	return p.ID
}

// ---- claim bodies ------------------------------------------------------------

// claim is a claim body under construction.
type claim map[string]any

func (c claim) with(key string, v any) claim {
	out := maps.Clone(c)
	out[key] = v
	return out
}

// fact returns a copy with facts[key] = v (v == nil deletes the key).
func (c claim) fact(key string, v any) claim {
	out := maps.Clone(c)
	facts := maps.Clone(c["facts"].(map[string]any))
	if v == nil {
		delete(facts, key)
	} else {
		facts[key] = v
	}
	out["facts"] = facts
	return out
}

func evidence(kinds ...string) []map[string]any {
	out := make([]map[string]any, len(kinds))
	for i, k := range kinds {
		out[i] = map[string]any{"kind": k, "sha256": servertest.SHA(k + fmt.Sprint(i)), "uri": "oss://claims/" + k + ".pdf"}
	}
	return out
}

func zkbClaim(beneficiary, billRef, service, total, scope, basic, critical, assistance string) claim {
	return claim{
		"plan": "ZKB-2026", "external_ref": servertest.Unique("zkb"), "beneficiary_id": beneficiary,
		"event_date": "2026-05-10", "cause": "medical",
		"facts": map[string]any{
			"service_type": service, "bill_ref": billRef, "total_cost": total, "policy_scope_cost": scope,
			"basic_insurance_paid": basic, "critical_illness_paid": critical, "medical_assistance_paid": assistance,
		},
		"evidence": evidence("settlement_sheet"),
	}
}

// zfbClaim is a ZFB claim; measure holds the loss class's measure key(s).
func zfbClaim(beneficiary, incident, lossClass string, measure map[string]any) claim {
	facts := map[string]any{"incident_ref": incident, "loss_class": lossClass}
	maps.Copy(facts, measure)
	return claim{
		"plan": "ZFB-2026", "external_ref": servertest.Unique("zfb"), "beneficiary_id": beneficiary,
		"event_date": "2026-04-20", "cause": "disaster", "facts": facts,
		"evidence": evidence("incident_certificate"),
	}
}

func fpbIllness(beneficiary, billRef, selfPay string) claim {
	return claim{
		"plan": "FPB-2026", "external_ref": servertest.Unique("fpb"), "beneficiary_id": beneficiary,
		"event_date": "2026-05-01", "cause": "illness",
		"facts":    map[string]any{"household_income_per_capita": "4200.00", "bill_ref": billRef, "self_pay": selfPay},
		"evidence": evidence("settlement_sheet", "invoice"),
	}
}

func cybPremium(beneficiary, industry, premium string, county bool) claim {
	return claim{
		"plan": "CYB-2026", "external_ref": servertest.Unique("cyb"), "beneficiary_id": beneficiary,
		"event_date": "2026-03-01", "cause": "premium_subsidy",
		"facts": map[string]any{
			"industry": industry, "primary_policy_no": servertest.Unique("PICC-NY-2026"), "premium_paid": premium, "county_subsidised": county,
		},
		"evidence": evidence("premium_receipt"),
	}
}

// ---- submissions -------------------------------------------------------------

// submission is POST /api/v1/claims of body (any JSON value, string or
// []byte) as token with Idempotency-Key key.
func submission(token, key string, body any) servertest.Request {
	return servertest.Request{
		Method: http.MethodPost, Path: "/api/v1/claims", Token: token, Body: body,
		Header: map[string]string{"Idempotency-Key": key},
	}
}

// submit sends a submission through the router and checks the exchange.
func (e *env) submit(t testing.TB, token, key string, body any) *servertest.Response {
	t.Helper()
	return e.h.Do(t, submission(token, key, body))
}

// file submits a claim as the picc insurer under a fresh key and requires 201.
func (e *env) file(t testing.TB, body claim) claimView {
	t.Helper()
	return e.fileAs(t, "insurer", body)
}

func (e *env) fileAs(t testing.TB, token string, body claim) claimView {
	t.Helper()
	r := e.submit(t, token, servertest.Unique("key"), body)
	servertest.RequireStatus(t, r, http.StatusCreated)
	var c claimView
	r.JSON(t, &c)
	require.NotEmpty(t, c.ID)
	return c
}

// get reads a claim as token.
func (e *env) get(t testing.TB, token, id string) claimView {
	t.Helper()
	r := e.h.Get(t, token, "/api/v1/claims/"+id)
	servertest.RequireStatus(t, r, http.StatusOK)
	var c claimView
	r.JSON(t, &c)
	return c
}

// createPlan creates a plan as the administrator and requires 201.
func (e *env) createPlan(t testing.TB, body map[string]any) {
	t.Helper()
	base := map[string]any{"name": "test plan", "coverage_start": "2026-01-01", "coverage_end": "2026-12-31", "budget": "1000000.00"}
	maps.Copy(base, body)
	r := e.h.Post(t, "admin", "/api/v1/plans", base)
	servertest.RequireStatus(t, r, http.StatusCreated)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

package claims_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

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

// residentID returns a valid resident ID (GB 11643) of county 411325 that is
// distinct for every n from 0 to 999999: the birth date moves a day per
// thousand.
func residentID(n int) string {
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n/1000)
	return policies.ResidentIDWithCheck(fmt.Sprintf("411325%s%03d", birth.Format("20060102"), n%1000))
}

// cooperativeUSCC returns a valid unified social credit code (GB 32100) of a
// farmers' cooperative (93) registered in 411325, distinct for every n below
// 10^7.
func cooperativeUSCC(n int) string {
	return policies.USCCWithCheck(fmt.Sprintf("93411325MA%07d", n))
}

// sha returns the lowercase hex SHA-256 of s: a well-formed evidence hash.
func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

var uniq atomic.Int64

// unique returns a process-wide unique suffix for external refs and keys.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, uniq.Add(1))
}

// ---- registry --------------------------------------------------------------

// person is a registry entry to create through PUT /api/v1/beneficiaries.
type person struct {
	ID         string
	Name       string
	County     string   // default 411325
	Household  string   // optional
	Categories []string // valid from 2020-01-01, open-ended
	Residency  []string // valid from 2020-01-01, open-ended
	Payout     string   // optional
}

func (p person) body() map[string]any {
	county := p.County
	if county == "" {
		county = "411325"
	}
	name := p.Name
	if name == "" {
		name = "张三"
	}
	cats := []map[string]any{}
	for _, c := range p.Categories {
		cats = append(cats, map[string]any{"category": c, "valid_from": "2020-01-01", "valid_to": nil})
	}
	res := []map[string]any{}
	for _, r := range p.Residency {
		res = append(res, map[string]any{"type": r, "valid_from": "2020-01-01", "valid_to": nil})
	}
	b := map[string]any{"name": name, "county_code": county, "categories": cats, "residency": res}
	if p.Household != "" {
		b["household_id"] = p.Household
	}
	if p.Payout != "" {
		b["payout_account"] = p.Payout
	}
	return b
}

// register creates p in the registry as the administrator would.
func (e *env) register(t testing.TB, p person) string {
	t.Helper()
	r := e.h.Put(t, "admin", "/api/v1/beneficiaries/"+p.ID, p.body())
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
		out[i] = map[string]any{"kind": k, "sha256": sha(k + fmt.Sprint(i)), "uri": "oss://claims/" + k + ".pdf"}
	}
	return out
}

func zkbClaim(beneficiary, billRef, service, total, scope, basic, critical, assistance string) claim {
	return claim{
		"plan": "ZKB-2026", "external_ref": unique("zkb"), "beneficiary_id": beneficiary,
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
		"plan": "ZFB-2026", "external_ref": unique("zfb"), "beneficiary_id": beneficiary,
		"event_date": "2026-04-20", "cause": "disaster", "facts": facts,
		"evidence": evidence("incident_certificate"),
	}
}

func fpbIllness(beneficiary, billRef, selfPay string) claim {
	return claim{
		"plan": "FPB-2026", "external_ref": unique("fpb"), "beneficiary_id": beneficiary,
		"event_date": "2026-05-01", "cause": "illness",
		"facts":    map[string]any{"household_income_per_capita": "4200.00", "bill_ref": billRef, "self_pay": selfPay},
		"evidence": evidence("settlement_sheet", "invoice"),
	}
}

func cybPremium(beneficiary, industry, premium string, county bool) claim {
	return claim{
		"plan": "CYB-2026", "external_ref": unique("cyb"), "beneficiary_id": beneficiary,
		"event_date": "2026-03-01", "cause": "premium_subsidy",
		"facts": map[string]any{
			"industry": industry, "primary_policy_no": unique("PICC-NY-2026"), "premium_paid": premium, "county_subsidised": county,
		},
		"evidence": evidence("premium_receipt"),
	}
}

// ---- submissions -------------------------------------------------------------

// submit posts body (any JSON value, string or []byte) as token with
// Idempotency-Key key.
func (e *env) submit(t testing.TB, token, key string, body any) *servertest.Response {
	t.Helper()
	return e.h.Do(t, servertest.Request{
		Method: http.MethodPost, Path: "/api/v1/claims", Token: token, Body: body,
		Header: map[string]string{"Idempotency-Key": key},
	})
}

// file submits a claim as the picc insurer under a fresh key and requires 201.
func (e *env) file(t testing.TB, body claim) claimView {
	t.Helper()
	return e.fileAs(t, "insurer", body)
}

func (e *env) fileAs(t testing.TB, token string, body claim) claimView {
	t.Helper()
	r := e.submit(t, token, unique("key"), body)
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

// countClaims is the number of rows in claims.
func countClaims(t testing.TB, d *db.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, d.Table("claims").Count(&n).Error)
	return n
}

// createPlan creates a plan as the administrator and requires 201.
func (e *env) createPlan(t testing.TB, body map[string]any) {
	t.Helper()
	base := map[string]any{"name": "test plan", "coverage_start": "2026-01-01", "coverage_end": "2026-12-31", "budget": "1000000.00"}
	maps.Copy(base, body)
	r := e.h.Post(t, "admin", "/api/v1/plans", base)
	servertest.RequireStatus(t, r, http.StatusCreated)
}

// rawResponse is an answer taken outside the test goroutine.
type rawResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// rawPost sends a claim through the real router without touching t, so that
// goroutines may call it; the caller checks the answers on the test
// goroutine.
func (e *env) rawPost(token, path, key string, body []byte) rawResponse {
	req := httptest.NewRequest(http.MethodPost, "http://huimin.test"+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.h.Tokens[token])
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	rec := httptest.NewRecorder()
	e.h.App.Echo.ServeHTTP(rec, req)
	return rawResponse{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

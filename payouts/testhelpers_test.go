package payouts_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/ids"
	"huimin/ledger"
	"huimin/payouts"
	"huimin/server/servertest"
)

// env is one application under test with the helpers the payout tests
// share: registry entries, plans, claims in the assessed state, and readers
// of the stored budget, ledger and claims.
type env struct {
	h      *servertest.Harness
	d      *db.DB
	svc    *payouts.Service
	ledger *ledger.Service
}

func newEnv(t testing.TB, d *db.DB) *env {
	t.Helper()
	h := servertest.New(t, d)
	return &env{h: h, d: d, svc: h.App.Payouts, ledger: h.App.Ledger}
}

// payoutAccount is the bank card every registered person gets unless a test
// says otherwise.
const payoutAccount = "6222020000000000001"

// destitute is a rural_destitute beneficiary of 411325 (ZKB ratio 1.00, so
// the payable is the policy-scope cost) with a new id and the account; an
// empty account leaves the person without a payout account.
func destitute(account string) servertest.Person {
	return servertest.Person{
		ID: servertest.NewPersonID(), Name: "李秀英", Payout: account,
		Categories: []string{"rural_destitute"}, ValidFrom: "2026-01-01",
	}
}

// register puts a destitute person in the registry through PUT
// /api/v1/beneficiaries/{id}, as the administrator would, and returns the id.
func (e *env) register(t testing.TB, account string) string {
	t.Helper()
	p := destitute(account)
	servertest.RequireStatus(t, e.h.PutPerson(t, p), http.StatusCreated)
	return p.ID
}

// planOpts are the fields of a test plan.
type planOpts struct {
	budget    string // default 50000.00
	policy    string // default first_come
	threshold string // default 50000.00
}

// createPlan creates a ZKB plan as the administrator and returns its code.
func (e *env) createPlan(t testing.TB, o planOpts) string {
	t.Helper()
	code := servertest.Unique("ZKB-T")
	body := map[string]any{
		"code": code, "programme": "ZKB", "name": "政康保 测试 " + code,
		"coverage_start": "2026-01-01", "coverage_end": "2026-12-31",
		"budget": or(o.budget, "50000.00"), "budget_policy": or(o.policy, "first_come"),
		"dual_approval_threshold": or(o.threshold, "50000.00"),
	}
	r := e.h.Post(t, "admin", "/api/v1/plans", body)
	servertest.RequireStatus(t, r, http.StatusCreated)
	return code
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// claimView is the part of a claim answer the payout tests read.
type claimView struct {
	ID             string `json:"id"`
	Plan           string `json:"plan"`
	BeneficiaryID  string `json:"beneficiary_id"`
	Status         string `json:"status"`
	Payable        string `json:"payable"`
	ReservedAmount string `json:"reserved_amount"`
	Approvals      []struct {
		Actor string `json:"actor"`
		At    string `json:"at"`
	} `json:"approvals"`
}

// submit files a ZKB inpatient claim as the picc insurer through POST
// /api/v1/claims and requires it assessed with payable == scope (the
// beneficiary is rural destitute, ratio 1.00, and no other layer paid).
func (e *env) submit(t testing.TB, plan, beneficiary, scope string) claimView {
	t.Helper()
	ref := servertest.Unique("BILL")
	body := map[string]any{
		"plan": plan, "external_ref": servertest.Unique("picc-zkb"), "beneficiary_id": beneficiary,
		"event_date": "2026-05-01", "cause": "medical",
		"facts": map[string]any{
			"service_type": "inpatient", "bill_ref": ref, "total_cost": scope, "policy_scope_cost": scope,
			"basic_insurance_paid": "0", "critical_illness_paid": "0", "medical_assistance_paid": "0",
		},
		"evidence": []map[string]any{{"kind": "settlement_sheet", "sha256": servertest.SHA(ref)}},
	}
	r := e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: body,
		Header: map[string]string{"Idempotency-Key": servertest.Unique("key")}})
	servertest.RequireStatus(t, r, http.StatusCreated)
	var c claimView
	r.JSON(t, &c)
	require.Equal(t, "assessed", c.Status, "claim body: %s", r.Body)
	require.Equal(t, scope, c.Payable)
	return c
}

// assessed registers a fresh person with a payout account and files one
// claim for scope on plan.
func (e *env) assessed(t testing.TB, plan, scope string) claimView {
	t.Helper()
	return e.submit(t, plan, e.register(t, payoutAccount), scope)
}

// insertAssessed writes n assessed claims of payable fen each on plan
// straight into the claims table, each for its own new beneficiary (with a
// payout account), and returns their ids in order. It is the fast path for
// the race tests; the HTTP flow tests file claims through the API.
func (e *env) insertAssessed(t testing.TB, plan string, n int, payable int64) []string {
	t.Helper()
	now := e.h.Clock.Now().UnixMilli()
	out := make([]string, n)
	people := make([]servertest.Person, n)
	rows := make([]map[string]any, n)
	for i := range n {
		people[i] = destitute(payoutAccount)
		person := people[i].ID
		id := ids.New(e.h.Clock.Now())
		out[i] = id
		rows[i] = map[string]any{
			"id": id, "plan_code": plan, "programme": "ZKB", "org": "picc", "external_ref": servertest.Unique("sql"),
			"beneficiary_id": person, "household_id": "self:" + person, "cap_subject": person,
			"county_code": "411325", "event_date": "2026-05-01", "cause": "medical", "reference": servertest.Unique("BILL"),
			"service_type": "inpatient", "facts": "{}", "evidence": "[]", "status": "assessed", "counted": true,
			"base": payable, "fact_base": payable, "payable": payable, "reasons": "[]", "breakdown": "[]",
			"rules_version": 1, "submitted_at": now, "updated_at": now,
		}
	}
	servertest.InsertPeople(t, e.d, people...)
	require.NoError(t, e.d.Table("claims").CreateInBatches(rows, 200).Error)
	return out
}

// figures is a budget as the plan answer shows it.
type figures struct {
	Funded    string `json:"funded"`
	Available string `json:"available"`
	Reserved  string `json:"reserved"`
	InPayment string `json:"in_payment"`
	Paid      string `json:"paid"`
}

// budget reads a plan's budget figures through GET /api/v1/plans/{code}.
func (e *env) budget(t testing.TB, plan string) figures {
	t.Helper()
	r := e.h.Get(t, "auditor", "/api/v1/plans/"+plan)
	servertest.RequireStatus(t, r, http.StatusOK)
	var p struct {
		Budget figures `json:"budget"`
	}
	r.JSON(t, &p)
	return p.Budget
}

// claim reads a claim through the API as the auditor.
func (e *env) claim(t testing.TB, id string) claimView {
	t.Helper()
	r := e.h.Get(t, "auditor", "/api/v1/claims/"+id)
	servertest.RequireStatus(t, r, http.StatusOK)
	var c claimView
	r.JSON(t, &c)
	return c
}

// entries reads a plan's stored ledger entries in seq order.
func (e *env) entries(t testing.TB, plan string) []ledger.Entry {
	t.Helper()
	var es []ledger.Entry
	require.NoError(t, e.d.Where("plan_code = ?", plan).Order("seq").Find(&es).Error)
	return es
}

// kinds lists the kinds of es after the initial fund entry.
func kinds(es []ledger.Entry) []string {
	var out []string
	for _, e := range es {
		if e.Kind != ledger.Fund {
			out = append(out, e.Kind)
		}
	}
	return out
}

// approve posts an approval as token.
func (e *env) approve(t testing.TB, token, id string) *servertest.Response {
	t.Helper()
	return e.h.Post(t, token, "/api/v1/claims/"+id+"/approve", map[string]any{})
}

// approved approves id as finance and requires 200 approved.
func (e *env) approved(t testing.TB, id string) claimView {
	t.Helper()
	r := e.approve(t, "finance", id)
	servertest.RequireStatus(t, r, http.StatusOK)
	var c claimView
	r.JSON(t, &c)
	require.Equal(t, "approved", c.Status)
	return c
}

// batchView is a disbursement batch answer.
type batchView struct {
	ID     string `json:"id"`
	Plan   string `json:"plan"`
	Status string `json:"status"`
	Total  string `json:"total"`
	Items  []struct {
		ClaimID       string  `json:"claim_id"`
		Amount        string  `json:"amount"`
		Status        string  `json:"status"`
		BankReference *string `json:"bank_reference"`
		Reason        *string `json:"reason"`
	} `json:"items"`
}

// disburse posts a batch as finance.
func (e *env) disburse(t testing.TB, plan string, claimIDs ...string) *servertest.Response {
	t.Helper()
	return e.h.Post(t, "finance", "/api/v1/disbursements", map[string]any{"plan": plan, "claim_ids": claimIDs})
}

// disbursed posts a batch and requires 201.
func (e *env) disbursed(t testing.TB, plan string, claimIDs ...string) batchView {
	t.Helper()
	r := e.disburse(t, plan, claimIDs...)
	servertest.RequireStatus(t, r, http.StatusCreated)
	var b batchView
	r.JSON(t, &b)
	return b
}

// paid is a paid result.
func paid(claimID, ref string) map[string]any {
	return map[string]any{"claim_id": claimID, "outcome": "paid", "bank_reference": ref}
}

// failed is a failed result.
func failed(claimID, reason string) map[string]any {
	return map[string]any{"claim_id": claimID, "outcome": "failed", "reason": reason}
}

// results posts bank results for a batch as finance.
func (e *env) results(t testing.TB, batch string, rs ...map[string]any) *servertest.Response {
	t.Helper()
	return e.h.Post(t, "finance", "/api/v1/disbursements/"+batch+"/results", map[string]any{"results": rs})
}

// requireSound asserts that every invariant of DESIGN §8 holds: Check finds
// no breach and the plan's chain verifies.
func (e *env) requireSound(t testing.TB, plans ...string) {
	t.Helper()
	ctx := context.Background()
	breaches, err := e.svc.Check(ctx)
	require.NoError(t, err)
	require.Empty(t, breaches)
	for _, p := range plans {
		v, err := e.ledger.Verify(ctx, p)
		require.NoError(t, err)
		require.True(t, v.OK, "plan %s: %+v", p, v)
	}
}

// snapshot is the stored state a refused request must leave alone.
type snapshot struct {
	Budget    ledger.Budget
	Entries   int64
	Approvals int64
	Claims    map[string]string // id → status/reserved_amount
	Batches   int64
}

func (e *env) snapshot(t testing.TB, plan string) snapshot {
	t.Helper()
	s := snapshot{Claims: map[string]string{}}
	require.NoError(t, e.d.Where("plan_code = ?", plan).Take(&s.Budget).Error)
	s.Entries = servertest.Count(t, e.d, "ledger_entries", "plan_code = ?", plan)
	s.Approvals = servertest.Count(t, e.d, "claim_approvals", "1 = 1")
	s.Batches = servertest.Count(t, e.d, "disbursement_batches", "1 = 1")
	var rows []struct {
		ID, Status     string
		ReservedAmount int64
		Reserved       bool
	}
	require.NoError(t, e.d.Table("claims").Select("id, status, reserved_amount, reserved").Find(&rows).Error)
	for _, r := range rows {
		s.Claims[r.ID] = fmt.Sprintf("%s/%t/%d", r.Status, r.Reserved, r.ReservedAmount)
	}
	return s
}

// fenOf parses a two-decimal yuan string into fen.
func fenOf(t testing.TB, s string) int64 {
	t.Helper()
	var yuan, cents int64
	_, err := fmt.Sscanf(s, "%d.%02d", &yuan, &cents)
	require.NoError(t, err, "amount %q", s)
	require.Len(t, s[strings.IndexByte(s, '.')+1:], 2, "amount %q has two decimals", s)
	return yuan*100 + cents
}

package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/policies"
	"huimin/server/servertest"
)

// The input rules of DESIGN §10, each through the real router on both
// databases: bad input is a 4xx naming the field, and nothing is stored.

// hardening is a harness with one person (with a payout account) and the
// helpers to take a claim of theirs through its states.
type hardening struct {
	h      *servertest.Harness
	d      *db.DB
	person string
}

func newHardening(t *testing.T, d *db.DB) *hardening {
	t.Helper()
	h := servertest.New(t, d)
	p := servertest.Person{ID: servertest.NewPersonID(), Payout: "6222020000000000001", Categories: []string{"illness_poverty"}}
	servertest.RequireStatus(t, h.PutPerson(t, p), http.StatusCreated)
	return &hardening{h: h, d: d, person: p.ID}
}

// claimBody is a payable ZKB claim of the person (7200.00, below the dual
// approval threshold).
func (e *hardening) claimBody(ref string) map[string]any {
	return map[string]any{
		"plan": "ZKB-2026", "external_ref": ref, "beneficiary_id": e.person, "event_date": "2026-05-01", "cause": "medical",
		"facts": map[string]any{
			"service_type": "inpatient", "bill_ref": "B-" + ref, "total_cost": "10000.00", "policy_scope_cost": "9000.00",
			"basic_insurance_paid": "0", "critical_illness_paid": "0", "medical_assistance_paid": "0",
		},
		"evidence": []map[string]string{{"kind": "settlement_sheet", "sha256": servertest.SHA(ref)}},
	}
}

// submitRaw posts a claim body as given (bytes are sent as they are).
func (e *hardening) submitRaw(t *testing.T, body any) *servertest.Response {
	t.Helper()
	return e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: body, NoCheck: true,
		Header: map[string]string{"Idempotency-Key": servertest.Unique("hardening")}})
}

// assessed files a claim and returns its id.
func (e *hardening) assessed(t *testing.T) string {
	t.Helper()
	r := e.submitRaw(t, e.claimBody(servertest.Unique("H")))
	servertest.RequireStatus(t, r, http.StatusCreated)
	var c struct{ ID, Status string }
	r.JSON(t, &c)
	require.Equal(t, "assessed", c.Status, "body: %s", r.Body)
	return c.ID
}

// disbursed files, approves and disburses a claim; it returns the claim
// and the batch.
func (e *hardening) disbursed(t *testing.T) (claimID, batchID string) {
	t.Helper()
	claimID = e.assessed(t)
	servertest.RequireStatus(t, e.h.Post(t, "finance", "/api/v1/claims/"+claimID+"/approve", map[string]any{}), http.StatusOK)
	r := e.h.Post(t, "finance", "/api/v1/disbursements", map[string]any{"plan": "ZKB-2026", "claim_ids": []string{claimID}})
	servertest.RequireStatus(t, r, http.StatusCreated)
	return claimID, r.Map(t)["id"].(string)
}

func (e *hardening) status(t *testing.T, claimID string) string {
	t.Helper()
	r := e.h.Get(t, "finance", "/api/v1/claims/"+claimID)
	servertest.RequireStatus(t, r, http.StatusOK)
	return r.Map(t)["status"].(string)
}

// rows counts the rows that a refused request might have written.
func (e *hardening) rows(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, table := range []string{"plans", "beneficiaries", "claims", "ledger_entries", "disbursement_batches", "settlements", "plan_rule_versions"} {
		out[table] = servertest.Count(t, e.d, table, "1 = 1")
	}
	out["paid items"] = servertest.Count(t, e.d, "disbursement_items", "status <> ?", "in_payment")
	out["closed plans"] = servertest.Count(t, e.d, "plans", "status = ?", "closed")
	out["non-assessed claims"] = servertest.Count(t, e.d, "claims", "status <> ?", "assessed")
	return out
}

// refused sends r, requires a 422 naming exactly fields, and requires that
// nothing was stored.
func (e *hardening) refused(t *testing.T, r servertest.Request, fields ...string) servertest.ErrorBody {
	t.Helper()
	before := e.rows(t)
	r.NoCheck = true
	er := servertest.RequireError(t, e.h.Do(t, r), http.StatusUnprocessableEntity, "validation_failed")
	require.Equal(t, fields, er.FieldNames(), "%s", er.Error.Fields)
	require.Equal(t, before, e.rows(t), "a refused request stores nothing")
	return er
}

func post(token, path string, body any) servertest.Request {
	return servertest.Request{Method: http.MethodPost, Path: path, Token: token, Body: body}
}

func newPlan(code, name string) map[string]any {
	return map[string]any{"code": code, "programme": "FPB", "name": name, "coverage_start": "2026-01-01", "coverage_end": "2026-12-31", "budget": "1000.00"}
}

func TestWhitespaceOnlyRequiredTextIsMissing(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newHardening(t, d)
		claimID, batchID := e.disbursed(t)
		results := "/api/v1/disbursements/" + batchID + "/results"
		for _, blank := range []string{"   ", "\u3000", " \u00a0 "} {
			er := e.refused(t, post("finance", results, map[string]any{"results": []any{map[string]any{"claim_id": claimID, "outcome": "paid", "bank_reference": blank}}}),
				"results[0].bank_reference")
			require.Contains(t, er.Error.Fields[0].Message, "required")
			e.refused(t, post("finance", results, map[string]any{"results": []any{map[string]any{"claim_id": claimID, "outcome": "failed", "reason": blank}}}),
				"results[0].reason")
		}
		e.refused(t, post("finance", results, map[string]any{"results": []any{map[string]any{"claim_id": claimID, "outcome": "paid", "bank_reference": " ICBC-1"}}}),
			"results[0].bank_reference")
		require.Equal(t, "disbursed", e.status(t, claimID), "a blank bank reference never marks a claim paid")

		e.refused(t, post("admin", "/api/v1/plans", newPlan(servertest.Unique("FPB-W"), "   ")), "name")
		e.refused(t, post("admin", "/api/v1/plans", newPlan("   ", "防贫保")), "code")
		e.refused(t, post("finance", "/api/v1/plans/ZKB-2026/funding", map[string]any{"amount": "1.00", "reason": "  ", "reference": "   "}), "reason", "reference")
		e.refused(t, post("finance", "/api/v1/claims/"+e.assessed(t)+"/decline", map[string]any{"reason": "   "}), "reason")
		e.refused(t, post("finance", "/api/v1/disbursements", map[string]any{"plan": "  ", "claim_ids": []string{claimID}}), "plan")
		body := e.claimBody(servertest.Unique("W"))
		body["plan"] = " "
		e.refused(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: body,
			Header: map[string]string{"Idempotency-Key": servertest.Unique("w")}}, "plan")

		person := servertest.Person{ID: servertest.NewPersonID(), Name: "   ", Categories: []string{"illness_poverty"}}
		er := e.refused(t, servertest.Request{Method: http.MethodPut, Path: "/api/v1/beneficiaries/" + person.ID, Token: "admin", Body: person.Body()}, "name")
		require.Equal(t, "required", er.Error.Fields[0].Message)
	})
}

func TestControlCharactersAreRefusedInEveryText(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newHardening(t, d)
		claimID, batchID := e.disbursed(t)
		assessed := e.assessed(t)
		for name, bad := range map[string]string{"NUL": "a\x00b", "line feed": "a\nb", "carriage return": "a\rb", "tab": "a\tb",
			"DEL": "a\x7fb", "C1 next line": "a\u0085b", "line separator": "a\u2028b", "escape": "a\x1b[31mb"} {
			t.Run(name, func(t *testing.T) {
				e.refused(t, post("finance", "/api/v1/disbursements/"+batchID+"/results", map[string]any{"results": []any{
					map[string]any{"claim_id": claimID, "outcome": "paid", "bank_reference": "ICBC" + bad}}}), "results[0].bank_reference")
				e.refused(t, post("finance", "/api/v1/disbursements/"+batchID+"/results", map[string]any{"results": []any{
					map[string]any{"claim_id": claimID, "outcome": "failed", "reason": "户名不符" + bad}}}), "results[0].reason")
				e.refused(t, post("finance", "/api/v1/claims/"+assessed+"/decline", map[string]any{"reason": bad}), "reason")
				e.refused(t, post("admin", "/api/v1/plans", newPlan(servertest.Unique("FPB-C"), "防贫保"+bad)), "name")
				e.refused(t, post("admin", "/api/v1/plans/ZKB-2026/funding", map[string]any{"amount": "1.00", "reason": "追加" + bad, "reference": "财预" + bad}),
					"reason", "reference")
				body := e.claimBody(servertest.Unique("C"))
				body["facts"].(map[string]any)["bill_ref"] = "NY" + bad
				e.refused(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: body,
					Header: map[string]string{"Idempotency-Key": servertest.Unique("c")}}, "facts.bill_ref")
				p := servertest.Person{ID: servertest.NewPersonID(), Name: "张" + bad, Categories: []string{"illness_poverty"}}
				e.refused(t, servertest.Request{Method: http.MethodPut, Path: "/api/v1/beneficiaries/" + p.ID, Token: "admin", Body: p.Body()}, "name")
				e.refused(t, post("admin", "/api/v1/tokens", map[string]any{"role": "auditor", "name": "aud" + bad}), "name")
			})
		}
		require.Equal(t, "disbursed", e.status(t, claimID))
		require.Equal(t, "assessed", e.status(t, assessed))
	})
}

func TestInvalidUTF8IsRefusedNotReplaced(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newHardening(t, d)
		good := string(mustMarshal(t, e.claimBody("U-1")))
		require.Contains(t, good, `"bill_ref":"B-U-1"`)
		for name, ref := range map[string]string{
			"a stray byte":              "B-\xff",
			"a truncated character":     "B-\xe5\x8c",
			"an overlong encoding":      "B-\xc0\xaf",
			"a UTF-8 encoded surrogate": "B-\xed\xa0\x80",
			"an unpaired escape":        `B-\ud800`,
			"a reversed pair":           `B-\udc00\ud800`,
		} {
			t.Run(name, func(t *testing.T) {
				body := strings.Replace(good, `"bill_ref":"B-U-1"`, `"bill_ref":"`+ref+`"`, 1)
				e.refused(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: []byte(body),
					Header: map[string]string{"Idempotency-Key": servertest.Unique("u")}}, "facts.bill_ref")

				plan := string(mustMarshal(t, newPlan(servertest.Unique("FPB-U"), "NAME")))
				e.refused(t, post("admin", "/api/v1/plans", []byte(strings.Replace(plan, "NAME", "防贫保"+ref, 1))), "name")
			})
		}
		// The same body with a real character is a claim: what was refused
		// was the encoding, not the text.
		body := strings.Replace(good, `"bill_ref":"B-U-1"`, `"bill_ref":"B-\u5357"`, 1)
		r := e.submitRaw(t, []byte(body))
		servertest.RequireStatus(t, r, http.StatusCreated)
		require.Equal(t, "B-南", r.Map(t)["facts"].(map[string]any)["bill_ref"])
	})
}

func TestRepeatedKeysAreRefused(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newHardening(t, d)
		good := string(mustMarshal(t, e.claimBody("K-1")))
		cases := map[string]struct{ body, field string }{
			"a repeated fact":            {strings.Replace(good, `"total_cost":"10000.00"`, `"total_cost":"10000.00","total_cost":"99999.00"`, 1), "facts.total_cost"},
			"a repeated plan":            {strings.Replace(good, `"plan":"ZKB-2026"`, `"plan":"ZKB-2026","plan":"FPB-2026"`, 1), "plan"},
			"a repeat through an escape": {strings.Replace(good, `"cause":"medical"`, `"cause":"medical","c\u0061use":"medical"`, 1), "cause"},
			"a repeated evidence key":    {strings.Replace(good, `"kind":"settlement_sheet"`, `"kind":"settlement_sheet","kind":"x"`, 1), "evidence[0].kind"},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				require.NotEqual(t, good, tc.body)
				e.refused(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: []byte(tc.body),
					Header: map[string]string{"Idempotency-Key": servertest.Unique("k")}}, tc.field)
			})
		}

		t.Run("in a batch one claim with a repeated key fails itself, not the batch", func(t *testing.T) {
			other := string(mustMarshal(t, e.claimBody(servertest.Unique("K"))))
			batch := `{"claims":[` + cases["a repeated fact"].body + `,` + other + `]}`
			r := e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claim-batches", Token: "insurer", Body: []byte(batch), NoCheck: true})
			servertest.RequireStatus(t, r, http.StatusOK)
			var ans struct {
				Results []struct {
					Status string `json:"status"`
					Error  *struct {
						Code   string `json:"code"`
						Fields []struct{ Field string }
					} `json:"error"`
				}
			}
			r.JSON(t, &ans)
			require.Len(t, ans.Results, 2, "body: %s", r.Body)
			require.NotNil(t, ans.Results[0].Error, "body: %s", r.Body)
			require.Equal(t, "validation_failed", ans.Results[0].Error.Code)
			require.Equal(t, "facts.total_cost", ans.Results[0].Error.Fields[0].Field)
			require.Nil(t, ans.Results[1].Error, "body: %s", r.Body)

			e.refused(t, post("insurer", "/api/v1/claim-batches", []byte(`{"claims":[],"claims":[`+other+`]}`)), "claims")
		})

		e.refused(t, post("admin", "/api/v1/plans/ZKB-2026/funding", []byte(`{"amount":"1.00","amount":"1000000.00","reason":"r","reference":"x"}`)), "amount")
		e.refused(t, servertest.Request{Method: http.MethodPut, Path: "/api/v1/plans/ZKB-2026/rules", Token: "admin",
			Body: []byte(`{"deductible":"0.00","deductible":"9000.00"}`)}, "rules.deductible")
	})
}

func TestFieldPathsKeepListIndexes(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newHardening(t, d)
		p := servertest.Person{ID: servertest.NewPersonID(), Categories: []string{"illness_poverty", "rural_destitute"}}
		put := func(mutate func(b map[string]any)) servertest.Request {
			b := p.Body()
			mutate(b)
			return servertest.Request{Method: http.MethodPut, Path: "/api/v1/beneficiaries/" + p.ID, Token: "admin", Body: b}
		}
		categories := func(b map[string]any) []map[string]any { return b["categories"].([]map[string]any) }
		e.refused(t, put(func(b map[string]any) { categories(b)[0]["category"] = 7 }), "categories[0].category")
		e.refused(t, put(func(b map[string]any) { categories(b)[1]["colour"] = "red" }), "categories[1].colour")
		e.refused(t, put(func(b map[string]any) { categories(b)[1]["valid_to"] = false }), "categories[1].valid_to")

		claimID, batchID := e.disbursed(t)
		e.refused(t, post("finance", "/api/v1/disbursements/"+batchID+"/results", map[string]any{"results": []any{
			map[string]any{"claim_id": claimID, "outcome": "paid", "bank_reference": "ICBC-1"},
			map[string]any{"claim_id": claimID, "outcome": 1},
		}}), "results[1].outcome")
		e.refused(t, post("finance", "/api/v1/disbursements", map[string]any{"plan": "ZKB-2026", "claim_ids": []any{claimID, 7}}), "claim_ids[1]")
		body := e.claimBody(servertest.Unique("P"))
		body["evidence"] = []any{map[string]any{"kind": "settlement_sheet", "sha256": servertest.SHA("x"), "note": "n"}}
		e.refused(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: body,
			Header: map[string]string{"Idempotency-Key": servertest.Unique("p")}}, "evidence[0].note")
	})
}

// TestEndpointsWithoutABodyFollowOneRule: approve, withdraw, close and
// settle take no body; each answers malformed JSON 400, a field 422, and
// takes no body or {} alike.
func TestEndpointsWithoutABodyFollowOneRule(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newHardening(t, d)
		plan := servertest.Unique("FPB-E")
		servertest.RequireStatus(t, e.h.Post(t, "admin", "/api/v1/plans", newPlan(plan, "防贫保 E")), http.StatusCreated)
		endpoints := []struct {
			name  string
			token string
			path  func() string // a fresh target
			ok    int
		}{
			{"approve", "finance", func() string { return "/api/v1/claims/" + e.assessed(t) + "/approve" }, http.StatusOK},
			{"withdraw", "insurer", func() string { return "/api/v1/claims/" + e.assessed(t) + "/withdraw" }, http.StatusOK},
			{"close", "admin", func() string { return "/api/v1/plans/" + plan + "/close" }, http.StatusOK},
			{"settle", "finance", func() string { return "/api/v1/plans/CYB-2026/settlements" }, http.StatusCreated},
		}
		for _, ep := range endpoints {
			t.Run(ep.name, func(t *testing.T) {
				path := ep.path()
				for _, malformed := range []string{`{"x":`, `{} {}`, `nul`, `[]`} {
					before := e.rows(t)
					r := e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: path, Token: ep.token, Body: malformed, NoCheck: true})
					servertest.RequireError(t, r, http.StatusBadRequest, "bad_request")
					require.Equal(t, before, e.rows(t), "%q changed something", malformed)
				}
				e.refused(t, servertest.Request{Method: http.MethodPost, Path: path, Token: ep.token, Body: `{"force":true}`}, "force")
				e.refused(t, servertest.Request{Method: http.MethodPost, Path: path, Token: ep.token, Body: `{"a":1,"a":2}`}, "a")
				servertest.RequireStatus(t, e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: path, Token: ep.token}), ep.ok)
				if ep.name == "close" || ep.name == "settle" { // repeatable
					servertest.RequireStatus(t, e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: path, Token: ep.token, Body: " {} "}), ep.ok)
				}
			})
		}
	})
}

func TestMistypedResidentIDIsNotACreditCode(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newHardening(t, d)
		const mistyped = "411323200008135820" // 4113232000081358 2X: check character 0 where GB 11643 wants another
		require.Error(t, policies.ValidateResidentID(mistyped))
		require.NoError(t, policies.ValidateUSCC(mistyped), "the premise: it passes GB 32100's check")

		firm := servertest.Person{ID: mistyped, Name: "西峡县某合作社", County: "411323", Categories: []string{"agri_operator"}}
		er := e.refused(t, servertest.Request{Method: http.MethodPut, Path: "/api/v1/beneficiaries/" + mistyped, Token: "admin", Body: firm.Body()}, "id_number")
		require.Contains(t, er.Error.Fields[0].Message, "resident ID")
		e.refused(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/beneficiaries/" + mistyped, Token: "admin"}, "id_number")
		body := e.claimBody(servertest.Unique("ID"))
		body["beneficiary_id"] = mistyped
		e.refused(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: body,
			Header: map[string]string{"Idempotency-Key": servertest.Unique("id")}}, "beneficiary_id")

		// Declared a credit code, it is one (DESIGN §4), and can be read back.
		b := firm.Body()
		b["id_type"] = "uscc"
		servertest.RequireStatus(t, e.h.Put(t, "admin", "/api/v1/beneficiaries/"+mistyped, b), http.StatusCreated)
		r := e.h.Get(t, "admin", "/api/v1/beneficiaries/"+mistyped)
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Equal(t, "uscc", r.Map(t)["id_type"])
	})
}

func TestCodesMatchExactlyOnBothStores(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newHardening(t, d)
		claimID := e.assessed(t)
		_, batchID := e.disbursed(t)
		notFound := func(t *testing.T, r servertest.Request) {
			t.Helper()
			before := e.rows(t)
			r.NoCheck = true
			servertest.RequireError(t, e.h.Do(t, r), http.StatusNotFound, "not_found")
			require.Equal(t, before, e.rows(t), "%s %s stored something", r.Method, r.Path)
		}
		for _, code := range []string{"ZKB-2026 ", "ZKB-2026  ", "ZKB-2026\t", " ZKB-2026"} {
			t.Run(url.PathEscape(code), func(t *testing.T) {
				p := "/api/v1/plans/" + url.PathEscape(code)
				notFound(t, post("admin", p+"/funding", map[string]any{"amount": "1.00", "reason": "top-up", "reference": "财预-1"}))
				notFound(t, servertest.Request{Method: http.MethodGet, Path: p, Token: "admin"})
				notFound(t, servertest.Request{Method: http.MethodGet, Path: p + "/budget", Token: "admin"})
				notFound(t, servertest.Request{Method: http.MethodGet, Path: p + "/rules/1", Token: "admin"})
				notFound(t, servertest.Request{Method: http.MethodPut, Path: p + "/rules", Token: "admin", Body: map[string]any{}})
				notFound(t, post("admin", p+"/close", nil))
				notFound(t, post("finance", "/api/v1/plans/"+url.PathEscape(strings.Replace(code, "ZKB", "CYB", 1))+"/settlements", map[string]any{}))

				// A code in a body names the plan to act on: malformed, it
				// names none, as an unknown one does (DESIGN §6: 404).
				// (A tab is a control character, refused as text first.)
				inBody := notFound
				want := `"code":"not_found"`
				if strings.ContainsRune(code, '\t') {
					inBody = func(t *testing.T, r servertest.Request) { e.refused(t, r, "plan") }
					want = `"field":"plan"`
				}
				body := e.claimBody(servertest.Unique("X"))
				body["plan"] = code
				inBody(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: body,
					Header: map[string]string{"Idempotency-Key": servertest.Unique("x")}})
				r := e.h.Post(t, "insurer", "/api/v1/claim-batches", map[string]any{"claims": []any{body}})
				servertest.RequireStatus(t, r, http.StatusOK)
				require.Contains(t, string(r.Body), want)
				inBody(t, post("finance", "/api/v1/disbursements", map[string]any{"plan": code, "claim_ids": []string{claimID}}))
				q := "?plan=" + url.QueryEscape(code)
				notFound(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/ledger/verify" + q, Token: "auditor"})

				// A filter is a field of the query: malformed, it is 422.
				audits := servertest.Count(t, d, "audit_log", "action = ?", "ledger.export")
				for _, path := range []string{"/api/v1/claims", "/api/v1/ledger", "/api/v1/ledger/export"} {
					e.refused(t, servertest.Request{Method: http.MethodGet, Path: path + q, Token: "auditor"}, "plan")
				}
				require.Equal(t, audits, servertest.Count(t, d, "audit_log", "action = ?", "ledger.export"), "a refused export is not on record as one")
			})
		}
		require.Equal(t, int64(0), servertest.Count(t, d, "ledger_entries", "plan_code <> ? AND plan_code LIKE ?", "ZKB-2026", "ZKB-2026%"))

		t.Run("ids", func(t *testing.T) {
			for _, suffix := range []string{"%20", "%20%20", "%09"} {
				notFound(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/claims/" + claimID + suffix, Token: "finance"})
				notFound(t, post("insurer", "/api/v1/claims/"+claimID+suffix+"/withdraw", nil))
				notFound(t, post("finance", "/api/v1/claims/"+claimID+suffix+"/approve", nil))
				notFound(t, post("finance", "/api/v1/claims/"+claimID+suffix+"/decline", map[string]any{"reason": "r"}))
				notFound(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/disbursements/" + batchID + suffix, Token: "finance"})
				notFound(t, post("finance", "/api/v1/disbursements/"+batchID+suffix+"/results", map[string]any{"results": []any{}}))
				notFound(t, post("finance", "/api/v1/disbursements", map[string]any{"plan": "ZKB-2026", "claim_ids": []string{claimID + suffix}}))
			}
			require.Equal(t, "assessed", e.status(t, claimID))
		})
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

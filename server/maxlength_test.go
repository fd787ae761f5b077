package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"huimin/docs"
	"huimin/internal/audit"
	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// Every text the API stores must fit where it is stored on both databases
// (MariaDB refuses a VARCHAR overflow with error 1406, SQLite does not), or be
// refused with 422 at the length docs/openapi.yaml states. These tests take
// the limits from the document itself: a field that gains a maxLength, or an
// operation that gains a body, is covered without editing a list of fields.

// limitDoc is docs/openapi.yaml, loaded as servertest loads it.
func limitDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(context.Background()))
	return doc
}

// boundedField is one string with a maxLength: a property of a request body
// (path of keys, 0 for a list's first item) or a path parameter.
type boundedField struct {
	path   []any
	param  string // the path parameter's name, when it is one
	schema *openapi3.Schema
}

// name is the field as the server names it in errors: facts.bill_ref,
// evidence[0].kind, id_number.
func (f boundedField) name() string { return fieldName(f.path, f.param) }

func fieldName(path []any, param string) string {
	if param != "" {
		return param
	}
	var b strings.Builder
	for _, p := range path {
		switch p := p.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(p) + "]")
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p)
		}
	}
	return b.String()
}

// walkStrings calls fn for every string property of s, at any depth, with
// its path; list items are at index 0. The alternatives of a oneOf and the
// parts of an allOf are walked too (a claim is one schema per cause, ZFB's
// facts one per loss class), and a path met in several of them is reported
// once. anyOf is not: it only says a value may be a string or a number
// (AmountInput), not which texts are stored.
func walkStrings(s *openapi3.Schema, path []any, fn func(path []any, s *openapi3.Schema)) {
	seen := map[string]bool{}
	walkSchema(s, path, func(path []any, s *openapi3.Schema) {
		if k := fieldName(path, ""); !seen[k] {
			seen[k] = true
			fn(path, s)
		}
	})
}

func walkSchema(s *openapi3.Schema, path []any, fn func(path []any, s *openapi3.Schema)) {
	if s == nil {
		return
	}
	for _, parts := range []openapi3.SchemaRefs{s.OneOf, s.AllOf} {
		for _, p := range parts {
			walkSchema(p.Value, path, fn)
		}
	}
	if s.Type.Is(openapi3.TypeString) {
		fn(path, s)
	}
	keys := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		walkSchema(s.Properties[k].Value, append(slices.Clone(path), k), fn)
	}
	if s.Items != nil {
		walkSchema(s.Items.Value, append(slices.Clone(path), 0), fn)
	}
}

// limitedOperation is one operation of the document with its JSON body schema
// and path parameters.
type limitedOperation struct {
	id, method, path string
	op               *openapi3.Operation
	body             *openapi3.Schema // nil without a JSON body
	params           []*openapi3.Parameter
}

func limitedOperations(doc *openapi3.T) []limitedOperation {
	var out []limitedOperation
	paths := doc.Paths.Map()
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, p := range keys {
		item := paths[p]
		ops := item.Operations()
		methods := make([]string, 0, len(ops))
		for m := range ops {
			methods = append(methods, m)
		}
		slices.Sort(methods)
		for _, m := range methods {
			op := ops[m]
			lo := limitedOperation{id: op.OperationID, method: m, path: p, op: op}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
					lo.body = mt.Schema.Value
				}
			}
			for _, ps := range []openapi3.Parameters{item.Parameters, op.Parameters} {
				for _, pr := range ps {
					if pr.Value != nil && pr.Value.In == openapi3.ParameterInPath {
						lo.params = append(lo.params, pr.Value)
					}
				}
			}
			out = append(out, lo)
		}
	}
	return out
}

// claimBatchItems: each item of a claim batch is the body of submitClaim,
// and is walked as that schema (with the batch's path before it).
const claimBatchItems = "ClaimInput"

// fields lists the bounded fields of an operation, body properties first.
func (lo limitedOperation) fields(doc *openapi3.T) []boundedField {
	var out []boundedField
	body := lo.body
	var prefix []any
	if lo.id == "submitClaimBatch" {
		body, prefix = doc.Components.Schemas[claimBatchItems].Value, []any{"claims", 0}
	}
	walkStrings(body, prefix, func(path []any, s *openapi3.Schema) {
		if s.MaxLength != nil {
			out = append(out, boundedField{path: path, schema: s})
		}
	})
	for _, p := range lo.params {
		if s := p.Schema.Value; s != nil && s.Type.Is(openapi3.TypeString) && s.MaxLength != nil {
			out = append(out, boundedField{param: p.Name, schema: s})
		}
	}
	return out
}

// TestEveryRequestTextIsBoundedInTheDocument: every string a client sends in
// a JSON body or a path states its bound, so that no stored text is
// unbounded by accident: a maxLength, an enum, or x-refers-to for a value
// that only names something that exists (and is 404 when it names nothing).
func TestEveryRequestTextIsBoundedInTheDocument(t *testing.T) {
	doc := limitDoc(t)
	for _, lo := range limitedOperations(doc) {
		check := func(where string, s *openapi3.Schema) {
			if s.MaxLength == nil && len(s.Enum) == 0 && s.Extensions["x-refers-to"] == nil {
				t.Errorf("%s %s (%s): %s is a string without maxLength, enum or x-refers-to", lo.method, lo.path, lo.id, where)
			}
			if s.MaxLength != nil && s.Pattern != "" {
				_, err := regexp.Compile(s.Pattern)
				require.NoError(t, err, "%s: %s's pattern", lo.id, where)
			}
		}
		walkStrings(lo.body, nil, func(path []any, s *openapi3.Schema) { check(fieldName(path, ""), s) })
		for _, p := range lo.params {
			if p.Schema.Value.Type.Is(openapi3.TypeString) {
				check("path parameter "+p.Name, p.Schema.Value)
			}
		}
	}
}

// variant makes valid requests of an operation: body builds a fresh body
// (cheap: new references only, so variants can be inspected), prepare does
// what the request needs first (a claim in the right state, a batch) and
// returns the path parameters, filling body as needed.
type variant struct {
	token   string
	body    func() map[string]any
	prepare func(t *testing.T, body map[string]any) map[string]string
	header  func() map[string]string
}

// limitFixtures builds, on h, a valid request of every operation whose body
// or path holds a bounded text. An operation of the document that has
// bounded fields and no entry here fails the test: add its valid request.
type limitFixtures struct {
	h      *servertest.Harness
	person string
}

func newLimitFixtures(t *testing.T, h *servertest.Harness) *limitFixtures {
	t.Helper()
	p := servertest.Person{ID: servertest.NewPersonID(), Name: "王惠民", Payout: "6222020000000000002", Household: servertest.Unique("HH"),
		Categories: []string{"illness_poverty", "agri_operator"}, Residency: []string{"hukou"}}
	servertest.RequireStatus(t, h.PutPerson(t, p), http.StatusCreated)
	return &limitFixtures{h: h, person: p.ID}
}

// claim bodies: a payable ZKB claim (80.00, far below every cap and the dual
// approval threshold), a ZFB and a CYB claim for the facts only they have.
func (fx *limitFixtures) zkbClaim() map[string]any {
	ref := servertest.Unique("ML")
	return map[string]any{
		"plan": "ZKB-2026", "external_ref": ref, "beneficiary_id": fx.person, "event_date": "2026-05-01", "cause": "medical",
		"facts": map[string]any{
			"service_type": "inpatient", "bill_ref": "B-" + ref, "total_cost": "100.00", "policy_scope_cost": "100.00",
			"basic_insurance_paid": "0", "critical_illness_paid": "0", "medical_assistance_paid": "0",
		},
		"evidence": []any{map[string]any{"kind": "settlement_sheet", "sha256": servertest.SHA(ref), "uri": "https://ny.example/证据/" + ref}},
	}
}

func (fx *limitFixtures) zfbClaim() map[string]any {
	ref := servertest.Unique("ML")
	return map[string]any{
		"plan": "ZFB-2026", "external_ref": ref, "beneficiary_id": fx.person, "event_date": "2026-05-01", "cause": "disaster",
		"facts":    map[string]any{"incident_ref": "YJ-" + ref, "loss_class": "house_damaged"},
		"evidence": []any{map[string]any{"kind": "incident_certificate", "sha256": servertest.SHA(ref)}},
	}
}

func (fx *limitFixtures) cybClaim() map[string]any {
	ref := servertest.Unique("ML")
	return map[string]any{
		"plan": "CYB-2026", "external_ref": ref, "beneficiary_id": fx.person, "event_date": "2026-05-01", "cause": "premium_subsidy",
		"facts":    map[string]any{"industry": "rose", "primary_policy_no": "P-" + ref, "premium_paid": "100.00", "county_subsidised": true},
		"evidence": []any{map[string]any{"kind": "premium_receipt", "sha256": servertest.SHA(ref)}},
	}
}

// file submits a ZKB claim and returns its id, assessed.
func (fx *limitFixtures) file(t *testing.T) string {
	t.Helper()
	r := fx.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: fx.zkbClaim(),
		Header: map[string]string{"Idempotency-Key": servertest.Unique("ml")}})
	servertest.RequireStatus(t, r, http.StatusCreated)
	c := r.Map(t)
	require.Equal(t, "assessed", c["status"], "body: %s", r.Body)
	return c["id"].(string)
}

func (fx *limitFixtures) approved(t *testing.T) string {
	t.Helper()
	id := fx.file(t)
	r := fx.h.Post(t, "finance", "/api/v1/claims/"+id+"/approve", map[string]any{})
	servertest.RequireStatus(t, r, http.StatusOK)
	require.Equal(t, "approved", r.Map(t)["status"])
	return id
}

// disbursed returns a claim in payment and its batch.
func (fx *limitFixtures) disbursed(t *testing.T) (claimID, batchID string) {
	t.Helper()
	claimID = fx.approved(t)
	r := fx.h.Post(t, "finance", "/api/v1/disbursements", map[string]any{"plan": "ZKB-2026", "claim_ids": []string{claimID}})
	servertest.RequireStatus(t, r, http.StatusCreated)
	return claimID, r.Map(t)["id"].(string)
}

func (fx *limitFixtures) variants() map[string][]variant {
	none := func(*testing.T, map[string]any) map[string]string { return nil }
	claimKey := func() map[string]string { return map[string]string{"Idempotency-Key": servertest.Unique("ml")} }
	claims := []func() map[string]any{fx.zkbClaim, fx.zfbClaim, fx.cybClaim}
	var submit, batch []variant
	for _, c := range claims {
		submit = append(submit, variant{token: "insurer", body: c, prepare: none, header: claimKey})
		batch = append(batch, variant{token: "insurer", body: func() map[string]any { return map[string]any{"claims": []any{c()}} }, prepare: none})
	}
	results := func(r map[string]any) func() map[string]any {
		return func() map[string]any { return map[string]any{"results": []any{r}} }
	}
	disbursedInto := func(t *testing.T, body map[string]any) map[string]string {
		claimID, batchID := fx.disbursed(t)
		body["results"].([]any)[0].(map[string]any)["claim_id"] = claimID
		return map[string]string{"id": batchID}
	}
	return map[string][]variant{
		"createPlan": {{token: "admin", prepare: none, body: func() map[string]any {
			return map[string]any{"code": servertest.Unique("ML"), "programme": "FPB", "name": "防贫保 上限", "coverage_start": "2026-01-01",
				"coverage_end": "2026-12-31", "budget": "1000.00"}
		}}},
		"fundPlan": {{token: "finance", body: func() map[string]any {
			return map[string]any{"amount": "1.00", "reason": "追加预算", "reference": "宛财预〔2026〕" + servertest.Unique("号")}
		}, prepare: func(*testing.T, map[string]any) map[string]string { return map[string]string{"code": "ZKB-2026"} }}},
		"putBeneficiary": {{token: "admin", body: func() map[string]any {
			return map[string]any{
				"id_type": "resident_id", "name": "李惠", "county_code": "411325", "household_id": servertest.Unique("HH"), "payout_account": "62220200000001",
				"categories": []any{map[string]any{"category": "illness_poverty", "valid_from": "2020-01-01", "valid_to": "2030-12-31"}},
				"residency":  []any{map[string]any{"type": "hukou", "valid_from": "2020-01-01", "valid_to": "2030-12-31"}},
			}
		}, prepare: func(*testing.T, map[string]any) map[string]string {
			return map[string]string{"id_number": servertest.NewPersonID()}
		}}},
		"submitClaim":      submit,
		"submitClaimBatch": batch,
		"declineClaim": {{token: "finance", body: func() map[string]any { return map[string]any{"reason": "材料不全"} },
			prepare: func(t *testing.T, _ map[string]any) map[string]string { return map[string]string{"id": fx.file(t)} }}},
		"revokeClaim": {{token: "finance", body: func() map[string]any { return map[string]any{"reason": "重复申报"} },
			prepare: func(t *testing.T, _ map[string]any) map[string]string { return map[string]string{"id": fx.approved(t)} }}},
		"recordResults": {
			{token: "finance", body: results(map[string]any{"outcome": "paid", "bank_reference": servertest.Unique("ICBC")}), prepare: disbursedInto},
			{token: "finance", body: results(map[string]any{"outcome": "failed", "reason": "户名不符"}), prepare: disbursedInto},
		},
		"createToken": {{token: "admin", prepare: none, body: func() map[string]any {
			return map[string]any{"role": "insurer", "name": servertest.Unique("ins"), "org": servertest.Unique("org")}
		}}},
		// 公示 and objections (DESIGN §14): a notice of ZFB-2026 (5 working
		// days) needs an approved claim to publish, an objection an approved
		// claim, a resolution an open objection.
		"createNotice": {{token: "finance", body: func() map[string]any {
			return map[string]any{"plan": "ZFB-2026", "county_code": "411325", "contact": "内乡县财政局 0377-65000000"}
		}, prepare: func(t *testing.T, _ map[string]any) map[string]string { fx.approvedForNotice(t); return nil }}},
		"raiseObjection": {{token: "finance", body: func() map[string]any {
			return map[string]any{"raised_by": "村民 王某", "reason": "家庭收入超过标准"}
		}, prepare: func(t *testing.T, _ map[string]any) map[string]string { return map[string]string{"id": fx.approved(t)} }}},
		"resolveObjection": {{token: "finance", body: func() map[string]any {
			return map[string]any{"outcome": "dismissed", "note": "经核实，异议不成立"}
		}, prepare: func(t *testing.T, _ map[string]any) map[string]string {
			r := fx.h.Post(t, "finance", "/api/v1/claims/"+fx.approved(t)+"/objections", map[string]any{"raised_by": "村民", "reason": "核实"})
			servertest.RequireStatus(t, r, http.StatusCreated)
			return map[string]string{"id": r.Map(t)["id"].(string)}
		}}},
		"putCalendar": {{token: "admin", body: func() map[string]any {
			return map[string]any{"holidays": []any{"2027-01-01"}, "workdays": []any{"2027-01-02"}}
		}, prepare: func(*testing.T, map[string]any) map[string]string { return map[string]string{"year": "2027"} }}},
		"createWebhook": {{token: "admin", prepare: none, body: func() map[string]any {
			return map[string]any{"org": servertest.Unique("org"), "url": "https://hooks.example/惠民", "events": []any{"claim.paid"}}
		}}},
		// Prevention (DESIGN §20): a follow-up needs a warning.
		"setWarningStatus": {{token: "finance", body: func() map[string]any {
			return map[string]any{"status": "visited", "note": "已入户核查"}
		}, prepare: func(t *testing.T, _ map[string]any) map[string]string { return map[string]string{"id": fx.warning(t)} }}},
	}
}

// warning imports a settled bill of the fixture's person, who is 政康保's,
// and returns the id of the person's ZKB-2026 warning.
func (fx *limitFixtures) warning(t *testing.T) string {
	t.Helper()
	csv := "id_number,settled_on,hospital,service_type,bill_ref,total_cost,policy_scope_cost,basic_insurance_paid,critical_illness_paid,medical_assistance_paid,self_pay\n" +
		fx.person + ",2026-05-01,南阳市中心医院,inpatient," + servertest.Unique("MR") + ",1000.00,1000.00,0,0,0,1000.00\n"
	r := fx.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/medical-records/import", Token: "admin", Body: csv,
		Header: map[string]string{"Content-Type": "text/csv; charset=utf-8"}})
	servertest.RequireStatus(t, r, http.StatusOK)
	r = fx.h.Get(t, "finance", "/api/v1/warnings?plan=ZKB-2026")
	servertest.RequireStatus(t, r, http.StatusOK)
	for _, w := range r.Map(t)["items"].([]any) {
		w := w.(map[string]any)
		if slices.Contains(w["beneficiary_ids"].([]any), any(fx.person)) {
			return w["id"].(string)
		}
	}
	t.Fatalf("no warning for the fixture's person: %s", r.Body)
	return ""
}

// approvedForNotice approves a ZFB claim of a new person, for a notice of
// ZFB-2026 to publish.
func (fx *limitFixtures) approvedForNotice(t *testing.T) {
	t.Helper()
	p := servertest.Person{ID: servertest.NewPersonID(), Name: "赵惠民", Payout: "6222020000000000003", Residency: []string{"hukou"}}
	servertest.RequireStatus(t, fx.h.PutPerson(t, p), http.StatusCreated)
	body := fx.zfbClaim()
	body["beneficiary_id"] = p.ID
	r := fx.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: body,
		Header: map[string]string{"Idempotency-Key": servertest.Unique("ml")}})
	servertest.RequireStatus(t, r, http.StatusCreated)
	servertest.RequireStatus(t, fx.h.Post(t, "finance", "/api/v1/claims/"+r.Map(t)["id"].(string)+"/approve", map[string]any{}), http.StatusOK)
}

// lookup returns the value at path in v and whether it is there.
func lookup(v any, path []any) (any, bool) {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[p]; !ok {
				return nil, false
			}
		case int:
			l, ok := v.([]any)
			if !ok || p >= len(l) {
				return nil, false
			}
			v = l[p]
		}
	}
	return v, true
}

// pick chooses the variant whose body already has the field, else the first
// one where the field's parent object exists (a new optional field is then
// added to it), and says whether it found one.
func pick(vs []variant, f boundedField) (variant, bool) {
	if f.param != "" {
		return vs[0], len(vs) > 0
	}
	for _, v := range vs {
		if _, ok := lookup(v.body(), f.path); ok {
			return v, true
		}
	}
	for _, v := range vs {
		if parent, ok := lookup(v.body(), f.path[:len(f.path)-1]); ok {
			if _, isObject := parent.(map[string]any); isObject {
				return v, true
			}
		}
	}
	return variant{}, false
}

// fills are the characters a text is lengthened with, in order of
// preference: a Chinese character first (three bytes in UTF-8, one
// character to MariaDB's utf8mb4 VARCHAR), then what a code's pattern takes.
var fills = []string{"惠", "a", "1"}

// atLimit lengthens start to the field's maxLength with the first fill
// that its pattern accepts, and returns it and the same with one more.
func atLimit(t *testing.T, f boundedField, start string) (atMax, over string) {
	t.Helper()
	max := int(*f.schema.MaxLength)
	n := utf8.RuneCountInString(start)
	require.LessOrEqual(t, n, max, "%s: the valid request's value %q is already over its maxLength", f.name(), start)
	for _, c := range fills {
		v := start + strings.Repeat(c, max-n)
		if f.schema.Pattern == "" || regexp.MustCompile(f.schema.Pattern).MatchString(v) {
			return v, v + c
		}
	}
	t.Fatalf("%s: no character of %q lengthens %q within the pattern %s", f.name(), fills, start, f.schema.Pattern)
	return "", ""
}

// set puts value at path in body, which must hold the path's parent.
func set(t *testing.T, body map[string]any, path []any, value string) {
	t.Helper()
	parent, ok := lookup(body, path[:len(path)-1])
	require.True(t, ok, "no %s in the body", fieldName(path[:len(path)-1], ""))
	switch k := path[len(path)-1].(type) {
	case string:
		parent.(map[string]any)[k] = value
	case int:
		parent.([]any)[k] = value
	}
}

// send builds and sends one request of lo from v with the field f set to
// value, and returns the answer.
func send(t *testing.T, h *servertest.Harness, lo limitedOperation, v variant, f boundedField, value string) *servertest.Response {
	t.Helper()
	body := v.body()
	params := v.prepare(t, body)
	if params == nil {
		params = map[string]string{}
	}
	if f.param != "" {
		params[f.param] = value
	} else {
		set(t, body, f.path, value)
	}
	path := lo.path
	for k, p := range params {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(p))
	}
	require.NotContains(t, path, "{", "%s: a path parameter has no value", lo.id)
	r := servertest.Request{Method: lo.method, Path: path, Token: v.token, Body: body}
	if v.header != nil {
		r.Header = v.header()
	}
	return h.Do(t, r)
}

// startValue is the value the valid request has at f, which the test
// lengthens.
func startValue(t *testing.T, v variant, f boundedField) string {
	t.Helper()
	if f.param != "" {
		return v.prepare(t, v.body())[f.param]
	}
	s, _ := lookup(v.body(), f.path)
	str, _ := s.(string)
	return str
}

// refusedFields returns the fields an error answer names, or of the first
// item of a claim batch answer.
func refusedFields(t *testing.T, lo limitedOperation, r *servertest.Response) (code string, fields []string) {
	t.Helper()
	if lo.id != "submitClaimBatch" || r.Status != http.StatusOK {
		if r.Status < 400 {
			return "", nil
		}
		var e servertest.ErrorBody
		r.JSON(t, &e)
		return e.Error.Code, e.FieldNames()
	}
	var ans struct {
		Results []struct {
			Status string                  `json:"status"`
			Error  *servertest.ErrorDetail `json:"error"`
		} `json:"results"`
	}
	r.JSON(t, &ans)
	require.Len(t, ans.Results, 1, "body: %s", r.Body)
	if ans.Results[0].Status != "failed" {
		return "", nil
	}
	require.NotNil(t, ans.Results[0].Error, "body: %s", r.Body)
	for _, f := range ans.Results[0].Error.Fields {
		fields = append(fields, f.Field)
	}
	return ans.Results[0].Error.Code, fields
}

// TestEveryBoundedTextFitsAtItsMaximum sends, for every operation and every
// string of its body or path with a maxLength in docs/openapi.yaml, a valid
// request with that field at exactly its maximum (Chinese characters where
// the field takes any text) and one with a character more, on SQLite and
// MariaDB. The first must not fail for that field (2xx, or a 4xx that names
// another: a plan code of 40 "a" is a new plan, an evidence kind of 40
// letters is an unknown kind); the second is 422 naming it. A claim batch is
// judged by its item's result.
func TestEveryBoundedTextFitsAtItsMaximum(t *testing.T) {
	doc := limitDoc(t)
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		fx := newLimitFixtures(t, h)
		all := fx.variants()
		covered := 0
		for _, lo := range limitedOperations(doc) {
			fields := lo.fields(doc)
			if len(fields) == 0 {
				continue
			}
			vs, ok := all[lo.id]
			if !ok {
				if lo.method == http.MethodGet {
					continue // nothing is stored from a read
				}
				t.Errorf("%s %s (%s) has bounded texts %v but this test has no valid request of it: add one to variants",
					lo.method, lo.path, lo.id, fields[0].name())
				continue
			}
			for _, f := range fields {
				// In a batch, an item's errors name its fields from the item.
				want := f.name()
				if lo.id == "submitClaimBatch" {
					want = fieldName(f.path[2:], "")
				}
				t.Run(lo.id+"/"+f.name(), func(t *testing.T) {
					v, ok := pick(vs, f)
					require.True(t, ok, "no valid request of %s has a place for %s", lo.id, f.name())
					atMax, over := atLimit(t, f, startValue(t, v, f))

					r := send(t, h, lo, v, f, atMax)
					require.Less(t, r.Status, 500, "body: %s", r.Body)
					code, named := refusedFields(t, lo, r)
					require.NotContains(t, named, want, "%s of exactly %d characters is refused (%s): %s", want, *f.schema.MaxLength, code, r.Body)

					r = send(t, h, lo, v, f, over)
					if lo.id != "submitClaimBatch" {
						servertest.RequireStatus(t, r, http.StatusUnprocessableEntity)
					}
					code, named = refusedFields(t, lo, r)
					require.Equal(t, "validation_failed", code, "%s of %d characters: %s", want, *f.schema.MaxLength+1, r.Body)
					require.Contains(t, named, want, "%s of %d characters: %s", want, *f.schema.MaxLength+1, r.Body)
				})
				covered++
			}
		}
		require.NotZero(t, covered)
	})
}

// TestAuditSummariesFitTheirColumns: the audit record keeps a funding
// reason whole, shortens a long decline reason, and internal/audit shortens
// any target or outcome to its column on both databases rather than fail
// the change it records.
func TestAuditSummariesFitTheirColumns(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		fx := newLimitFixtures(t, h)
		lastOutcome := func(t *testing.T, action string) string {
			t.Helper()
			r := h.Get(t, "auditor", "/api/v1/audit?action="+action+"&limit=1")
			servertest.RequireStatus(t, r, http.StatusOK)
			items := r.Map(t)["items"].([]any)
			require.Len(t, items, 1)
			return items[0].(map[string]any)["outcome"].(string)
		}

		reason := strings.Repeat("惠", 200)
		servertest.RequireStatus(t, h.Post(t, "finance", "/api/v1/plans/ZKB-2026/funding",
			map[string]any{"amount": "999999999999.99", "reason": reason, "reference": strings.Repeat("财", 128)}), http.StatusCreated)
		require.Equal(t, "999999999999.99: "+reason, lastOutcome(t, "plan.fund"), "the funding reason is on record whole")

		r := h.Post(t, "finance", "/api/v1/claims/"+fx.file(t)+"/decline", map[string]any{"reason": strings.Repeat("民", 500)})
		servertest.RequireStatus(t, r, http.StatusOK)
		outcome := lastOutcome(t, "claim.decline")
		require.True(t, strings.HasPrefix(outcome, "declined: 民"), outcome)
		require.True(t, strings.HasSuffix(outcome, "…"), outcome)
		require.LessOrEqual(t, utf8.RuneCountInString(outcome), audit.MaxOutcome)

		who := audit.Who{Actor: "test", Role: "admin"}
		long := strings.Repeat("长", 1000)
		require.NoError(t, audit.Write(context.Background(), d.DB, servertest.Start, who, "test.write", long, long))
		require.NoError(t, audit.WriteAll(context.Background(), d.DB, []audit.Record{
			audit.NewRecord(servertest.Start, who, "test.writeall", long, long),
			{ID: "01J0000000000000000000TEST", At: 1, Actor: "test", Role: "admin", Action: "test.byhand", Target: long, Outcome: long},
		}))
		var recs []audit.Record
		require.NoError(t, d.Where("action LIKE ?", "test.%").Find(&recs).Error)
		require.Len(t, recs, 3)
		for _, rec := range recs {
			require.Equal(t, strings.Repeat("长", audit.MaxTarget-1)+"…", rec.Target, rec.Action)
			require.Equal(t, strings.Repeat("长", audit.MaxOutcome-1)+"…", rec.Outcome, rec.Action)
		}
		require.Equal(t, "短", audit.Summary("短", 1))
		require.Equal(t, fmt.Sprint(strings.Repeat("a", 4), "…"), audit.Summary("aaaaaa", 5))
	})
}

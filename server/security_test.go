package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"huimin/docs"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/internal/web"
	"huimin/policies"
	"huimin/server/servertest"
)

// apiOperation is one /api/v1 operation: in the router and in the OpenAPI
// document, with the roles the document grants it (x-roles).
type apiOperation struct {
	ID     string // operationId
	Method string
	Path   string // OpenAPI form: /api/v1/claims/{id}
	Roles  []string
}

// echoParam is a path parameter in Echo's form (:id).
var echoParam = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

// apiOperations lists every /api/v1 operation, failing the test when the
// router and docs/openapi.yaml disagree on which exist, or when an operation
// lacks a valid x-roles list. The matrix below is built from this, so a new
// route is covered (or the test fails) without anyone editing it.
func apiOperations(t *testing.T, e *echo.Echo) []apiOperation {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	require.NoError(t, err)
	documented := map[string]apiOperation{}
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		for method, op := range item.Operations() {
			key := method + " " + path
			list, ok := op.Extensions["x-roles"].([]any)
			require.True(t, ok, "%s has no x-roles list in docs/openapi.yaml", key)
			require.NotEmpty(t, list, "%s: x-roles is empty", key)
			var roles []string
			for _, r := range list {
				s, _ := r.(string)
				require.Contains(t, auth.AllRoles, s, "%s: x-roles holds %v, which is not a role", key, r)
				roles = append(roles, s)
			}
			require.NotEmpty(t, op.OperationID, "%s has no operationId", key)
			documented[key] = apiOperation{ID: op.OperationID, Method: method, Path: path, Roles: roles}
		}
	}
	routed := map[string]bool{}
	for _, r := range e.Routes() {
		if strings.HasPrefix(r.Path, "/api/v1/") {
			routed[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
		}
	}
	var ops []apiOperation
	for key := range routed {
		op, ok := documented[key]
		require.True(t, ok, "the router serves %s but docs/openapi.yaml does not document it", key)
		ops = append(ops, op)
	}
	for key := range documented {
		require.True(t, routed[key], "docs/openapi.yaml documents %s but the router does not serve it", key)
	}
	require.GreaterOrEqual(t, len(ops), 30, "the API has at least the 30 operations of DESIGN §11")
	sort.Slice(ops, func(i, j int) bool { return ops[i].ID < ops[j].ID })
	return ops
}

// fakeParams fill path parameters with values that name nothing, so an
// allowed role's request reaches its handler and changes nothing.
var fakeParams = map[string]string{
	"id":        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
	"code":      "NOPE-2026",
	"version":   "1",
	"year":      "1999",
	"id_number": policies.ResidentIDWithCheck("41132519800101999"),
}

var openAPIParam = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// probe is a minimal request to op with the given Authorization header
// ("" for none). Bodies are deliberately minimal (so NoCheck): an allowed
// role gets through to the handler, which may well refuse them.
func (op apiOperation) probe(t *testing.T, authorization string) servertest.Request {
	t.Helper()
	path := openAPIParam.ReplaceAllStringFunc(op.Path, func(m string) string {
		v, ok := fakeParams[strings.Trim(m, "{}")]
		require.True(t, ok, "%s %s: no fake value for path parameter %s; add one to fakeParams", op.Method, op.Path, m)
		return v
	})
	// A request id of our own: the server's random ones are, once in about
	// 80,000, all digits, which the harness's log check would take for an
	// account number.
	r := servertest.Request{Method: op.Method, Path: path, Header: map[string]string{"X-Request-ID": "probe-" + op.ID}, NoCheck: true}
	if authorization != "" {
		r.Header["Authorization"] = authorization
	}
	if op.Method == http.MethodPost || op.Method == http.MethodPut {
		r.Body = "{}"
	}
	switch op.Method + " " + op.Path {
	case "POST /api/v1/claims":
		// Without a key the answer is 400 — which would also prove the caller
		// got through, but the key makes the handler go further.
		r.Header["Idempotency-Key"] = "role-matrix-probe"
	case "POST /api/v1/beneficiaries/import":
		r.Body = policies.RegistryCSVHeader + "\n"
		r.Header["Content-Type"] = "text/csv; charset=utf-8"
	}
	return r
}

// garbageAuthorizations are Authorization headers that must never pass.
var garbageAuthorizations = map[string]string{
	"well-formed unknown token": "Bearer hm_" + strings.Repeat("A", 43),
	"short token":               "Bearer hm_x",
	"overlong token":            "Bearer hm_" + strings.Repeat("A", 200),
	"foreign prefix":            "Bearer sk_" + strings.Repeat("A", 43),
	"no scheme":                 "hm_" + strings.Repeat("A", 43),
	"basic auth":                "Basic YWRtaW46YWRtaW4=",
	"empty bearer":              "Bearer ",
}

// TestRoleMatrix proves DESIGN §9 on every /api/v1 operation the router
// serves: each role x-roles names gets past authorization (any answer but
// 401/403), every other role is 403 forbidden, and no token or a bad one is
// 401 unauthorized. The router and docs/openapi.yaml must list the same
// operations, so a new route cannot escape the matrix.
func TestRoleMatrix(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		for _, op := range apiOperations(t, h.App.Echo) {
			t.Run(op.ID, func(t *testing.T) {
				for _, role := range auth.AllRoles {
					r := h.Do(t, op.probe(t, "Bearer "+h.Tokens[role]))
					if slices.Contains(op.Roles, role) {
						require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, r.Status,
							"%s %s: role %s is in x-roles %v but was refused: %s", op.Method, op.Path, role, op.Roles, r.Body)
						continue
					}
					e := servertest.RequireError(t, r, http.StatusForbidden, "forbidden")
					require.Contains(t, e.Error.Message, role)
				}
				servertest.RequireError(t, h.Do(t, op.probe(t, "")), http.StatusUnauthorized, "unauthorized")
				for name, authz := range garbageAuthorizations {
					r := h.Do(t, op.probe(t, authz))
					require.Equal(t, http.StatusUnauthorized, r.Status, "%s: %s", name, r.Body)
					servertest.RequireError(t, r, http.StatusUnauthorized, "unauthorized")
				}
			})
		}

		// One operation narrows its roles by a parameter: the bank file
		// (?format=csv) holds full account numbers and is finance's only —
		// refused before the batch is even looked up.
		t.Run("bank file", func(t *testing.T) {
			for _, role := range auth.AllRoles {
				r := h.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/disbursements/" + fakeParams["id"] + "?format=csv", NoCheck: true,
					Header: map[string]string{"Authorization": "Bearer " + h.Tokens[role], "X-Request-ID": "probe-bank-file"}})
				if role == auth.Finance {
					servertest.RequireError(t, r, http.StatusNotFound, "not_found")
				} else {
					servertest.RequireError(t, r, http.StatusForbidden, "forbidden")
				}
			}
		})
	})
}

// TestRevokedTokensAreRefusedEverywhere revokes a token of every role and
// then calls every operation with each: all are 401 at once, with no grace
// period or cache; the tokens that were not revoked keep working.
func TestRevokedTokensAreRefusedEverywhere(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		ops := apiOperations(t, h.App.Echo)
		type issued struct{ id, token, role string }
		var tokens []issued
		for _, role := range auth.AllRoles {
			in := map[string]string{"role": role, "name": "doomed-" + role}
			if role == auth.Insurer {
				in["org"] = "picc"
			}
			r := h.Post(t, "admin", "/api/v1/tokens", in)
			servertest.RequireStatus(t, r, http.StatusCreated)
			var tok struct{ ID, Token string }
			r.JSON(t, &tok)
			servertest.RequireStatus(t, h.Get(t, tok.Token, "/api/v1/programmes"), http.StatusOK)
			tokens = append(tokens, issued{tok.ID, tok.Token, role})
		}
		for _, tok := range tokens {
			r := h.Do(t, servertest.Request{Method: http.MethodDelete, Path: "/api/v1/tokens/" + tok.id, Token: "admin"})
			servertest.RequireStatus(t, r, http.StatusOK)
		}
		for _, op := range ops {
			for _, tok := range tokens {
				r := h.Do(t, op.probe(t, "Bearer "+tok.token))
				require.Equal(t, http.StatusUnauthorized, r.Status, "%s %s with a revoked %s token: %s", op.Method, op.Path, tok.role, r.Body)
				servertest.RequireError(t, r, http.StatusUnauthorized, "unauthorized")
			}
		}
		for _, role := range auth.AllRoles {
			servertest.RequireStatus(t, h.Get(t, role, "/api/v1/programmes"), http.StatusOK)
		}
	})
}

// TestRevocationIsImmediateUnderConcurrentUse revokes a token that other
// clients are using at that very moment, while an admin revokes other
// tokens too (each revocation empties the server's principal cache, so
// lookups of the busy token keep going to the database). Once the
// revocation has been answered, no request made with the token gets
// through: not from the cache, and not through a lookup that raced the
// revocation and finished after it.
func TestRevocationIsImmediateUnderConcurrentUse(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		serve := func(method, path, token string) int {
			return h.Raw(servertest.Request{Method: method, Path: path, Token: token,
				Header: map[string]string{"X-Request-ID": "revocation-race"}}).Status
		}
		newToken := func(name string) (id, raw string) {
			r := h.Post(t, "admin", "/api/v1/tokens", map[string]string{"role": "auditor", "name": name})
			servertest.RequireStatus(t, r, http.StatusCreated)
			var tok struct{ ID, Token string }
			r.JSON(t, &tok)
			return tok.ID, tok.Token
		}
		decoy, _ := newToken("decoy")
		for round := range 10 {
			id, raw := newToken(fmt.Sprintf("busy-%d", round))
			var (
				stop, revoked atomic.Bool
				late, other   atomic.Int64
				wg            sync.WaitGroup
			)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						after := revoked.Load() // read before the request starts
						switch code := serve(http.MethodGet, "/api/v1/programmes", raw); {
						case code == http.StatusOK && after:
							late.Add(1)
						case code != http.StatusOK && code != http.StatusUnauthorized:
							other.Add(1)
						}
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					if code := serve(http.MethodDelete, "/api/v1/tokens/"+decoy, "admin"); code != http.StatusOK {
						other.Add(1)
					}
				}
			}()
			time.Sleep(20 * time.Millisecond)
			servertest.RequireStatus(t, h.Do(t, servertest.Request{Method: http.MethodDelete, Path: "/api/v1/tokens/" + id, Token: "admin"}), http.StatusOK)
			revoked.Store(true)
			time.Sleep(20 * time.Millisecond)
			stop.Store(true)
			wg.Wait()
			require.Zero(t, late.Load(), "round %d: requests begun after the revocation was answered got through", round)
			require.Zero(t, other.Load(), "round %d: answers other than 200 and 401", round)
			require.Equal(t, http.StatusUnauthorized, serve(http.MethodGet, "/api/v1/programmes", raw))
		}
	})
}

// isolationBeneficiary is a ZKB-eligible person of county 411325.
var isolationBeneficiary = map[string]any{
	"name": "张三", "county_code": "411325", "payout_account": "6222020000000000001",
	"categories": []map[string]any{{"category": "rural_destitute", "valid_from": "2026-01-01", "valid_to": nil}},
}

func isolationClaim(beneficiaryID, ref string) map[string]any {
	return map[string]any{
		"plan": "ZKB-2026", "external_ref": ref, "beneficiary_id": beneficiaryID, "event_date": "2026-05-01", "cause": "medical",
		"facts": map[string]any{
			"service_type": "inpatient", "bill_ref": "B-" + ref, "total_cost": "10000.00", "policy_scope_cost": "9000.00",
			"basic_insurance_paid": "0", "critical_illness_paid": "0", "medical_assistance_paid": "0",
		},
		"evidence": []map[string]string{{"kind": "settlement_sheet", "sha256": strings.Repeat("a1", 32)}},
	}
}

// listedIDs returns the claim ids a list answer holds (one page of 500).
func listedIDs(t *testing.T, h *servertest.Harness, token, path string) []string {
	t.Helper()
	r := h.Get(t, token, path)
	servertest.RequireStatus(t, r, http.StatusOK)
	var page struct{ Items []struct{ ID string } }
	r.JSON(t, &page)
	ids := make([]string, len(page.Items))
	for i, it := range page.Items {
		ids[i] = it.ID
	}
	return ids
}

// TestInsurersSeeOnlyTheirOwnClaims proves DESIGN §9's org isolation on every
// claim route an insurer may call: another insurer's claim is 404 — exactly
// as a claim that does not exist — to read and to withdraw, it is in none of
// that insurer's lists whatever the filter, and idempotency keys and
// external refs are scoped per org, so reusing one never replays another
// org's answer.
func TestInsurersSeeOnlyTheirOwnClaims(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		person := policies.ResidentIDWithCheck("41132519800101001")
		servertest.RequireStatus(t, h.Put(t, "admin", "/api/v1/beneficiaries/"+person, isolationBeneficiary), http.StatusCreated)

		body := isolationClaim(person, "R1")
		r := h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: body,
			Header: map[string]string{"Idempotency-Key": "iso-key-1"}})
		servertest.RequireStatus(t, r, http.StatusCreated)
		var claim struct{ ID, Org, Status string }
		r.JSON(t, &claim)
		require.Equal(t, "picc", claim.Org)
		require.Equal(t, "assessed", claim.Status, "an assessed claim, so withdrawing it would succeed for its owner: %s", r.Body)

		// The owner and the staff roles see it; the test would fail if they did not.
		for _, who := range []string{"insurer", "finance", "auditor"} {
			servertest.RequireStatus(t, h.Get(t, who, "/api/v1/claims/"+claim.ID), http.StatusOK)
		}
		lists := []string{
			"/api/v1/claims",
			"/api/v1/claims?limit=500",
			"/api/v1/claims?beneficiary_id=" + person,
			"/api/v1/claims?plan=ZKB-2026",
			"/api/v1/claims?status=assessed",
			"/api/v1/claims?county_code=411325",
			"/api/v1/claims?from=2026-06-01&to=2026-06-30",
		}
		for _, path := range lists {
			require.Contains(t, listedIDs(t, h, "insurer", path), claim.ID, "the owner lists it: %s", path)
			require.Contains(t, listedIDs(t, h, "finance", path), claim.ID, "finance lists it: %s", path)
		}

		// Another insurer: as if it did not exist.
		unknown := fakeParams["id"]
		for _, req := range []struct{ method, path string }{
			{http.MethodGet, "/api/v1/claims/%s"},
			{http.MethodPost, "/api/v1/claims/%s/withdraw"},
		} {
			var reqBody any
			if req.method == http.MethodPost {
				reqBody = map[string]any{}
			}
			theirs := h.Do(t, servertest.Request{Method: req.method, Path: fmt.Sprintf(req.path, claim.ID), Token: "insurer2", Body: reqBody})
			e := servertest.RequireError(t, theirs, http.StatusNotFound, "not_found")
			none := h.Do(t, servertest.Request{Method: req.method, Path: fmt.Sprintf(req.path, unknown), Token: "insurer2", Body: reqBody})
			n := servertest.RequireError(t, none, http.StatusNotFound, "not_found")
			require.Equal(t, strings.ReplaceAll(n.Error.Message, unknown, claim.ID), e.Error.Message,
				"another org's claim answers exactly like a claim that does not exist")
		}
		for _, path := range lists {
			require.NotContains(t, listedIDs(t, h, "insurer2", path), claim.ID, "another insurer lists it: %s", path)
		}

		// The refused withdrawal changed nothing; the owner's still works.
		r = h.Get(t, "insurer", "/api/v1/claims/"+claim.ID)
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Equal(t, "assessed", r.Map(t)["status"])

		// The same Idempotency-Key and body from another org is that org's
		// own request: a new claim, not picc's answer replayed.
		r = h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer2", Body: body,
			Header: map[string]string{"Idempotency-Key": "iso-key-1"}})
		servertest.RequireStatus(t, r, http.StatusCreated)
		require.Empty(t, r.Header.Get("Idempotent-Replayed"))
		var theirs struct{ ID, Org string }
		r.JSON(t, &theirs)
		require.Equal(t, "cpic", theirs.Org)
		require.NotEqual(t, claim.ID, theirs.ID)
		require.NotContains(t, string(r.Body), claim.ID)

		// Likewise an external_ref in a batch.
		r = h.Post(t, "insurer2", "/api/v1/claim-batches", map[string]any{"claims": []any{isolationClaim(person, "R1")}})
		servertest.RequireStatus(t, r, http.StatusOK)
		var batch struct {
			Results []struct {
				Status  string `json:"status"`
				ClaimID string `json:"claim_id"`
			}
		}
		r.JSON(t, &batch)
		require.Len(t, batch.Results, 1)
		require.NotEqual(t, claim.ID, batch.Results[0].ClaimID, "a batch never replays another org's claim: %s", r.Body)
		require.NotContains(t, string(r.Body), claim.ID)

		r = h.Post(t, "insurer", "/api/v1/claims/"+claim.ID+"/withdraw", map[string]any{})
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Equal(t, "withdrawn", r.Map(t)["status"])

		// An insurer reads the eligibility view of a person, never the name
		// or the payout account.
		r = h.Get(t, "insurer2", "/api/v1/beneficiaries/"+person)
		servertest.RequireStatus(t, r, http.StatusOK)
		view := r.Map(t)
		require.NotContains(t, view, "name")
		require.NotContains(t, view, "payout_account")
		require.NotContains(t, string(r.Body), "6222020000000000001")
		require.NotContains(t, string(r.Body), "张三")
	})
}

// serveUnsized sends a body of unknown length (as a chunked upload does):
// the limit must hold without the client declaring the size.
func serveUnsized(t *testing.T, h *servertest.Harness, method, path, token, contentType string, body []byte, header map[string]string) (int, servertest.ErrorBody) {
	t.Helper()
	req := httptest.NewRequest(method, "http://huimin.test"+path, struct{ io.Reader }{bytes.NewReader(body)})
	require.EqualValues(t, -1, req.ContentLength)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+h.Tokens[token])
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.App.Echo.ServeHTTP(rec, req)
	var e servertest.ErrorBody
	if rec.Code >= 400 {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "body: %s", rec.Body.String())
	}
	return rec.Code, e
}

// registryCSV builds a valid registry import of at least size bytes: the
// rows of 100 people repeated (exact duplicates merge, so the database work
// stays small), then one more person on the very last line, who is
// imported only if the whole body was read.
func registryCSV(size int) (csv []byte, people int) {
	row := func(n int) string {
		id := policies.ResidentIDWithCheck(fmt.Sprintf("41132519700101%03d", n))
		return fmt.Sprintf("%s,resident_id,受益人%d,411325,H411325%07d,62220200%010d,category,rural_destitute,2026-01-01,\n", id, n, n, n)
	}
	var b bytes.Buffer
	b.WriteString(policies.RegistryCSVHeader + "\n")
	for i := 0; b.Len() < size; i++ {
		b.WriteString(row(i % 100))
	}
	b.WriteString(row(100))
	return b.Bytes(), 101
}

// TestBodyLimits proves DESIGN §9's limits: over 1 MiB is 413 on ordinary
// routes, bulk routes take more than 1 MiB but not over 32 MiB, and the
// limits hold whether or not the client declares the size.
func TestBodyLimits(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		over := []byte(`{"role":"auditor","name":"` + strings.Repeat("a", web.BodyLimit) + `"}`)
		under := []byte(`{"role":"auditor","name":"` + strings.Repeat("a", web.BodyLimit-64) + `"}`)
		require.Less(t, len(under), web.BodyLimit)

		t.Run("ordinary routes", func(t *testing.T) {
			servertest.RequireError(t, h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/tokens", Token: "admin", Body: over}),
				http.StatusRequestEntityTooLarge, "payload_too_large")
			// Just under the limit the body is read and judged on its merits.
			servertest.RequireError(t, h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/tokens", Token: "admin", Body: under}),
				http.StatusUnprocessableEntity, "validation_failed")
			servertest.RequireError(t, h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: over,
				Header: map[string]string{"Idempotency-Key": "big"}}), http.StatusRequestEntityTooLarge, "payload_too_large")
			servertest.RequireError(t, h.Do(t, servertest.Request{Method: http.MethodPut, Path: "/api/v1/plans/ZKB-2026/rules", Token: "admin", Body: over}),
				http.StatusRequestEntityTooLarge, "payload_too_large")

			status, e := serveUnsized(t, h, http.MethodPost, "/api/v1/tokens", "admin", "application/json", over, nil)
			require.Equal(t, http.StatusRequestEntityTooLarge, status)
			require.Equal(t, "payload_too_large", e.Error.Code)
			status, e = serveUnsized(t, h, http.MethodPost, "/api/v1/claims", "insurer", "application/json", over, map[string]string{"Idempotency-Key": "big2"})
			require.Equal(t, http.StatusRequestEntityTooLarge, status)
			require.Equal(t, "payload_too_large", e.Error.Code)
			status, _ = serveUnsized(t, h, http.MethodPost, "/api/v1/tokens", "admin", "application/json", under, nil)
			require.Equal(t, http.StatusUnprocessableEntity, status)

			// Nothing of the refused requests was stored.
			var n int64
			require.NoError(t, d.Raw("SELECT COUNT(*) FROM tokens").Scan(&n).Error)
			require.EqualValues(t, 6, n, "admin and the five harness tokens only")
		})

		t.Run("bulk routes", func(t *testing.T) {
			csv, people := registryCSV(2 << 20)
			require.Greater(t, len(csv), 2<<20)
			r := h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/beneficiaries/import", Token: "admin", Body: csv,
				Header: map[string]string{"Content-Type": "text/csv; charset=utf-8"}})
			servertest.RequireStatus(t, r, http.StatusOK)
			var ans struct {
				Created int
				Errors  []json.RawMessage
			}
			r.JSON(t, &ans)
			require.Equal(t, people, ans.Created, "a 2 MiB import is read to its last line")
			require.Empty(t, ans.Errors)

			huge := bytes.Repeat([]byte("x"), web.BulkBodyLimit+1<<20) // 33 MiB
			servertest.RequireError(t, h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/beneficiaries/import", Token: "admin", Body: huge,
				Header: map[string]string{"Content-Type": "text/csv; charset=utf-8"}}), http.StatusRequestEntityTooLarge, "payload_too_large")
			servertest.RequireError(t, h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claim-batches", Token: "insurer", Body: huge}),
				http.StatusRequestEntityTooLarge, "payload_too_large")
			status, e := serveUnsized(t, h, http.MethodPost, "/api/v1/beneficiaries/import", "admin", "text/csv", huge, nil)
			require.Equal(t, http.StatusRequestEntityTooLarge, status)
			require.Equal(t, "payload_too_large", e.Error.Code)
			status, e = serveUnsized(t, h, http.MethodPost, "/api/v1/claim-batches", "insurer", "application/x-ndjson", huge, nil)
			require.Equal(t, http.StatusRequestEntityTooLarge, status)
			require.Equal(t, "payload_too_large", e.Error.Code)

			// A bulk route's prefix does not lend its limit to another path.
			servertest.RequireError(t, h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims?x=/claim-batches", Token: "insurer", Body: over,
				Header: map[string]string{"Idempotency-Key": "big3"}}), http.StatusRequestEntityTooLarge, "payload_too_large")
		})
	})
}

package docs_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"huimin/docs"
	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// workedExample is an example's x-worked-example: how its beneficiary is
// registered and what filing it answers (one claim, or each of a batch's).
type workedExample struct {
	Beneficiary struct {
		Categories []string `json:"categories"`
		Residency  []string `json:"residency"`
	} `json:"beneficiary"`
	Status  string        `json:"status"`
	Payable string        `json:"payable"`
	Results []batchResult `json:"results"`
}

type batchResult struct {
	Status      string `json:"status"`
	ClaimStatus string `json:"claim_status"`
	Payable     string `json:"payable"`
}

func (w workedExample) person(id string) servertest.Person {
	return servertest.Person{ID: id, Household: servertest.Unique("HH-EX"), Categories: w.Beneficiary.Categories, Residency: w.Beneficiary.Residency}
}

// namedExample is one request example of an operation.
type namedExample struct {
	name   string
	value  any
	worked *workedExample
}

func requestExamples(t *testing.T, doc *openapi3.T, path, contentType string) []namedExample {
	t.Helper()
	op := doc.Paths.Value(path).Post
	require.NotNil(t, op, "POST %s", path)
	mt := op.RequestBody.Value.Content.Get(contentType)
	require.NotNil(t, mt, "POST %s %s", path, contentType)
	var out []namedExample
	for name, ex := range mt.Examples {
		e := namedExample{name: name, value: ex.Value.Value}
		if raw, ok := ex.Value.Extensions["x-worked-example"]; ok {
			b, err := json.Marshal(raw)
			require.NoError(t, err)
			e.worked = &workedExample{}
			require.NoError(t, json.Unmarshal(b, e.worked), "%s: x-worked-example", name)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b namedExample) int { return strings.Compare(a.name, b.name) })
	return out
}

// claimsOf returns an example's claims: the value itself, or its "claims".
func claimsOf(t *testing.T, v any) []map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var one map[string]any
	require.NoError(t, json.Unmarshal(b, &one))
	if list, ok := one["claims"]; ok {
		var out []map[string]any
		b, _ = json.Marshal(list)
		require.NoError(t, json.Unmarshal(b, &out))
		return out
	}
	return []map[string]any{one}
}

// TestClaimExamplesPayWhatTheySay files every request example of
// POST /api/v1/claims and /api/v1/claim-batches, as the document has it,
// for a beneficiary registered as its x-worked-example says, on the seed
// plans, and checks that it answers what the example says: status and
// payable of the claim, or of each claim of the batch. The NDJSON batch
// example must be the JSON one line by line (sent again, it replays).
// Each example's event is within the seed plans' 180-day filing window of
// the test's day, so an example that no longer pays what it says fails
// here, not in an integrator's hands. Every exchange is also checked
// against the document by the harness.
func TestClaimExamplesPayWhatTheySay(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	require.NoError(t, err)
	single := requestExamples(t, doc, "/api/v1/claims", "application/json")
	batches := requestExamples(t, doc, "/api/v1/claim-batches", "application/json")
	lines := requestExamples(t, doc, "/api/v1/claim-batches", "application/x-ndjson")
	require.GreaterOrEqual(t, len(single), 4, "a claim example for each programme")
	require.NotEmpty(t, batches)

	// Every programme has an example, and every example says what it pays.
	var plans []string
	latest := ""
	for _, ex := range append(slices.Clone(single), batches...) {
		require.NotNil(t, ex.worked, "example %s has no x-worked-example", ex.name)
		for _, c := range claimsOf(t, ex.value) {
			plans = append(plans, c["plan"].(string))
			latest = max(latest, c["event_date"].(string))
		}
	}
	for _, p := range []string{"ZKB-2026", "ZFB-2026", "FPB-2026", "CYB-2026"} {
		require.Contains(t, plans, p)
	}
	day, err := time.ParseInLocation(time.DateOnly, latest, time.FixedZone("CST", 8*3600))
	require.NoError(t, err)
	filed := day.Add(24*time.Hour + 10*time.Hour) // the next day, 10:00 in China

	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		h.Clock.Set(filed)
		register := func(t *testing.T, w *workedExample, claims []map[string]any) {
			t.Helper()
			done := map[string]bool{}
			for _, c := range claims {
				id := c["beneficiary_id"].(string)
				if !done[id] {
					servertest.RequireStatus(t, h.PutPerson(t, w.person(id)), http.StatusCreated)
					done[id] = true
				}
			}
		}

		for _, ex := range single {
			t.Run(ex.name, func(t *testing.T) {
				body := claimsOf(t, ex.value)[0]
				register(t, ex.worked, []map[string]any{body})
				r := h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: body,
					Header: map[string]string{"Idempotency-Key": "example-" + ex.name}})
				servertest.RequireStatus(t, r, http.StatusCreated)
				c := r.Map(t)
				require.Equal(t, ex.worked.Status, c["status"], "body: %s", r.Body)
				require.Equal(t, ex.worked.Payable, c["payable"], "body: %s", r.Body)
			})
		}

		for _, ex := range batches {
			t.Run("batch/"+ex.name, func(t *testing.T) {
				claims := claimsOf(t, ex.value)
				// The NDJSON example of the same name is the same claims.
				i := slices.IndexFunc(lines, func(l namedExample) bool { return l.name == ex.name })
				require.GreaterOrEqual(t, i, 0, "no application/x-ndjson example %s", ex.name)
				text, ok := lines[i].value.(string)
				require.True(t, ok, "the NDJSON example is a string")
				rows := strings.Split(strings.TrimSpace(text), "\n")
				var got []map[string]any
				for _, line := range rows {
					var c map[string]any
					require.NoError(t, json.Unmarshal([]byte(line), &c), "line %q", line)
					got = append(got, c)
				}
				require.Equal(t, claims, got, "the NDJSON example is the JSON one, one claim per line")

				// Filed as JSON with the NDJSON example's lines as its items:
				// a batch item replays only when its bytes (up to whitespace)
				// are the first filing's, key order included.
				register(t, ex.worked, claims)
				r := h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claim-batches", Token: "insurer",
					Body: `{"claims":[` + strings.Join(rows, ",") + `]}`})
				servertest.RequireStatus(t, r, http.StatusOK)
				var ans struct{ Results []batchResult }
				r.JSON(t, &ans)
				require.Equal(t, ex.worked.Results, ans.Results, "body: %s", r.Body)

				// Sent again as NDJSON, every claim replays.
				r = h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claim-batches", Token: "insurer", Body: text,
					Header: map[string]string{"Content-Type": "application/x-ndjson"}})
				servertest.RequireStatus(t, r, http.StatusOK)
				var again struct {
					Summary struct{ Created, Replayed, Failed int }
				}
				r.JSON(t, &again)
				require.Equal(t, len(claims), again.Summary.Replayed, "body: %s", r.Body)
				require.Zero(t, again.Summary.Created+again.Summary.Failed, "body: %s", r.Body)
			})
		}
	})
}

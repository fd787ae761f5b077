package claims_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// batchAnswer is the answer to POST /api/v1/claim-batches.
type batchAnswer struct {
	Results []struct {
		Index       int                     `json:"index"`
		Status      string                  `json:"status"`
		ClaimID     string                  `json:"claim_id"`
		ClaimStatus string                  `json:"claim_status"`
		Payable     *string                 `json:"payable"`
		Error       *servertest.ErrorDetail `json:"error"`
	} `json:"results"`
	Summary struct {
		Created, Replayed, Failed int
	} `json:"summary"`
}

func (e *env) batch(t *testing.T, token string, claims []any) *servertest.Response {
	t.Helper()
	return e.h.Post(t, token, "/api/v1/claim-batches", map[string]any{"claims": claims})
}

func (e *env) batchOK(t *testing.T, claims []any) batchAnswer {
	t.Helper()
	r := e.batch(t, "insurer", claims)
	servertest.RequireStatus(t, r, http.StatusOK)
	var a batchAnswer
	r.JSON(t, &a)
	require.Len(t, a.Results, len(claims))
	for i, res := range a.Results {
		require.Equal(t, i, res.Index, "results in the batch's order")
	}
	return a
}

func ndjson(t *testing.T, lines ...any) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, l := range lines {
		switch v := l.(type) {
		case raw:
			b.WriteString(string(v))
		default:
			b.Write(mustJSON(t, v))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func TestClaimBatches(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := e.register(t, servertest.Person{ID: servertest.ResidentID(600), Household: "HH-BATCH", Categories: []string{"marginal_at_risk"}})
		v := e.register(t, servertest.Person{ID: servertest.ResidentID(601), Household: "HH-BATCH-Z", Residency: []string{"hukou"}})

		good1 := fpbIllness(p, "BILL-B-1", "12000.00")
		good2 := fpbIllness(p, "BILL-B-2", "30000.00")
		bad := fpbIllness(p, "BILL-B-3", "12.345").fact("colour", "red")
		rejected := zkbClaim(p, "BILL-B-4", "inpatient", "100.00", "100.00", "0", "0", "0")
		zfb := zfbClaim(v, "YJ-B-1", "house_collapsed", map[string]any{"rooms": 3})
		items := []any{good1, bad, good2, rejected, zfb, fpbIllness(p, "BILL-B-7", "100.00").with("plan", "NOPE")}
		before := servertest.Count(t, d, "claims", "1 = 1")

		a := e.batchOK(t, items)
		require.Equal(t, 4, a.Summary.Created)
		require.Equal(t, 0, a.Summary.Replayed)
		require.Equal(t, 2, a.Summary.Failed)
		want := []struct{ status, claimStatus, payable string }{
			{"created", "assessed", "2100.00"},
			{"failed", "", ""},
			{"created", "assessed", "13400.00"}, // accumulates on the first, in batch order
			{"created", "rejected", "0.00"},
			{"created", "assessed", "15000.00"},
			{"failed", "", ""},
		}
		for i, w := range want {
			res := a.Results[i]
			require.Equal(t, w.status, res.Status, "item %d", i)
			if w.status == "failed" {
				require.Empty(t, res.ClaimID)
				require.NotNil(t, res.Error)
				continue
			}
			require.Nil(t, res.Error)
			require.NotEmpty(t, res.ClaimID)
			require.Equal(t, w.claimStatus, res.ClaimStatus, "item %d", i)
			require.Equal(t, w.payable, *res.Payable, "item %d", i)
		}
		require.Equal(t, "validation_failed", a.Results[1].Error.Code)
		fields := []string{}
		for _, f := range a.Results[1].Error.Fields {
			fields = append(fields, f.Field)
		}
		require.ElementsMatch(t, []string{"facts.self_pay", "facts.colour"}, fields)
		require.Equal(t, "not_found", a.Results[5].Error.Code)
		require.Equal(t, before+4, servertest.Count(t, d, "claims", "1 = 1"))
		stored := e.get(t, "insurer", a.Results[3].ClaimID)
		require.Equal(t, []string{"not_covered_category"}, stored.ReasonCodes())

		t.Run("the same batch again replays every claim", func(t *testing.T) {
			again := e.batchOK(t, items)
			require.Equal(t, 0, again.Summary.Created)
			require.Equal(t, 4, again.Summary.Replayed)
			require.Equal(t, 2, again.Summary.Failed)
			for i, res := range again.Results {
				if res.Status == "failed" {
					continue
				}
				require.Equal(t, "replayed", res.Status)
				require.Equal(t, a.Results[i].ClaimID, res.ClaimID)
				require.Equal(t, a.Results[i].ClaimStatus, res.ClaimStatus)
				require.Equal(t, *a.Results[i].Payable, *res.Payable)
			}
			require.Equal(t, before+4, servertest.Count(t, d, "claims", "1 = 1"))
		})

		t.Run("a used external_ref with another body fails", func(t *testing.T) {
			changed := good1.fact("self_pay", "12000.01")
			fresh := fpbIllness(p, "BILL-B-5", "100.00")
			res := e.batchOK(t, []any{changed, fresh})
			require.Equal(t, "failed", res.Results[0].Status)
			require.Equal(t, "duplicate_external_ref", res.Results[0].Error.Code)
			require.Equal(t, a.Results[0].ClaimID, res.Results[0].Error.Details["claim_id"])
			require.Equal(t, "created", res.Results[1].Status)
		})

		t.Run("one external_ref twice in a batch", func(t *testing.T) {
			c := fpbIllness(p, "BILL-B-6", "100.00")
			res := e.batchOK(t, []any{c, c, c.fact("self_pay", "200.00")})
			require.Equal(t, "created", res.Results[0].Status)
			require.Equal(t, "replayed", res.Results[1].Status)
			require.Equal(t, res.Results[0].ClaimID, res.Results[1].ClaimID)
			require.Equal(t, "failed", res.Results[2].Status)
			require.Equal(t, "duplicate_external_ref", res.Results[2].Error.Code)
			require.Equal(t, res.Results[0].ClaimID, res.Results[2].Error.Details["claim_id"])
		})

		t.Run("NDJSON", func(t *testing.T) {
			n1 := fpbIllness(p, "BILL-N-1", "500.00")
			n2 := zfbClaim(v, "YJ-N-1", "property_loss", map[string]any{"assessed_loss": "7500.00"})
			body := ndjson(t, n1, raw(""), raw(`{"plan":"FPB-2026",`), n2, n1.with("event_date", "2026-02-30"))
			for _, ct := range []string{"application/x-ndjson", "application/x-ndjson; charset=utf-8"} {
				r := e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claim-batches", Token: "insurer",
					Body: body, Header: map[string]string{"Content-Type": ct}})
				servertest.RequireStatus(t, r, http.StatusOK)
				var res batchAnswer
				r.JSON(t, &res)
				require.Len(t, res.Results, 4, "blank lines are skipped")
				require.Equal(t, "failed", res.Results[1].Status)
				require.Equal(t, "bad_request", res.Results[1].Error.Code)
				require.Equal(t, "3250.00", *res.Results[2].Payable)
				require.Equal(t, "failed", res.Results[3].Status)
				require.Equal(t, "validation_failed", res.Results[3].Error.Code)
				require.Equal(t, "event_date", res.Results[3].Error.Fields[0].Field)
				if ct == "application/x-ndjson" {
					require.Equal(t, []string{"created", "failed", "created", "failed"}, statuses(res))
				} else {
					require.Equal(t, []string{"replayed", "failed", "replayed", "failed"}, statuses(res))
				}
			}
		})

		t.Run("an item that is not an object fails alone", func(t *testing.T) {
			// Each claim is checked on its own (DESIGN §6): a non-object
			// item fails alone, and the document allows such items.
			r := e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claim-batches", Token: "insurer",
				Body: map[string]any{"claims": []any{"not an object", 7, nil, fpbIllness(p, "BILL-B-8", "100.00")}}})
			servertest.RequireStatus(t, r, http.StatusOK)
			var res batchAnswer
			r.JSON(t, &res)
			require.Equal(t, []string{"failed", "failed", "failed", "created"}, statuses(res))
			require.Equal(t, "bad_request", res.Results[0].Error.Code)
			require.Equal(t, "bad_request", res.Results[1].Error.Code)
		})

		t.Run("batch-level errors", func(t *testing.T) {
			servertest.RequireError(t, e.batch(t, "finance", []any{good1}), http.StatusForbidden, "forbidden")
			servertest.RequireError(t, e.batch(t, "auditor", []any{good1}), http.StatusForbidden, "forbidden")
			er := servertest.RequireError(t, e.batch(t, "insurer", []any{}), 422, "validation_failed")
			require.Equal(t, []string{"claims"}, er.FieldNames())
			er = servertest.RequireError(t, e.h.Post(t, "insurer", "/api/v1/claim-batches", map[string]any{}), 422, "validation_failed")
			require.Equal(t, []string{"claims"}, er.FieldNames())
			er = servertest.RequireError(t, e.h.Post(t, "insurer", "/api/v1/claim-batches", map[string]any{"claims": "x"}), 422, "validation_failed")
			require.Equal(t, []string{"claims"}, er.FieldNames())
			er = servertest.RequireError(t, e.h.Post(t, "insurer", "/api/v1/claim-batches", map[string]any{"claims": []any{}, "extra": 1}), 422, "validation_failed")
			require.Contains(t, er.FieldNames(), "extra")
			servertest.RequireError(t, e.h.Post(t, "insurer", "/api/v1/claim-batches", raw(`{"claims":[`)), 400, "bad_request")

			n := servertest.Count(t, d, "claims", "1 = 1")
			huge := make([]any, 10001)
			for i := range huge {
				huge[i] = fpbIllness(p, fmt.Sprintf("BILL-H-%d", i), "100.00")
			}
			er = servertest.RequireError(t, e.batch(t, "insurer", huge), 422, "validation_failed")
			require.Equal(t, []string{"claims"}, er.FieldNames())
			require.Equal(t, n, servertest.Count(t, d, "claims", "1 = 1"), "nothing of a refused batch is stored")
		})
	})
}

func statuses(a batchAnswer) []string {
	out := make([]string, len(a.Results))
	for i, r := range a.Results {
		out[i] = r.Status
	}
	return out
}

// list is a page of GET /api/v1/claims.
type list struct {
	Items      []claimView `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

func (e *env) list(t *testing.T, token string, q url.Values) list {
	t.Helper()
	r := e.h.Get(t, token, "/api/v1/claims?"+q.Encode())
	servertest.RequireStatus(t, r, http.StatusOK)
	var l list
	r.JSON(t, &l)
	return l
}

func ids(cs []claimView) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestClaimListsAndWithdrawal(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		wancheng := e.register(t, servertest.Person{ID: servertest.ResidentID(700), County: "411302", Household: "HH-L1", Categories: []string{"marginal_at_risk", "illness_poverty"}})
		xichuan := e.register(t, servertest.Person{ID: servertest.ResidentID(701), County: "411326", Household: "HH-L2", Categories: []string{"marginal_at_risk"}})

		c1 := e.file(t, fpbIllness(wancheng, "L-1", "12000.00"))                                               // FPB assessed 2100.00
		c2 := e.file(t, zkbClaim(wancheng, "L-2", "inpatient", "5000.00", "5000.00", "1000.00", "0", "0"))     // ZKB assessed
		c3 := e.file(t, fpbIllness(xichuan, "L-3", "12000.00").fact("household_income_per_capita", "9000.00")) // FPB rejected
		c4 := e.fileAs(t, "insurer2", fpbIllness(xichuan, "L-4", "20000.00"))                                  // cpic
		e.h.Clock.Set(servertest.Start.Add(5 * 24 * time.Hour))                                                // 2026-06-20
		t.Cleanup(func() { e.h.Clock.Set(servertest.Start) })
		c5 := e.file(t, zkbClaim(xichuan, "L-5", "outpatient", "800.00", "800.00", "0", "0", "0").with("event_date", "2026-06-19")) // not_covered_category
		require.Equal(t, "rejected", c5.Status)
		all := []string{c5.ID, c4.ID, c3.ID, c2.ID, c1.ID} // newest first

		t.Run("filters", func(t *testing.T) {
			cases := []struct {
				name  string
				token string
				q     url.Values
				want  []string
			}{
				{"everything, newest first", "auditor", url.Values{}, all},
				{"by plan", "finance", url.Values{"plan": {"ZKB-2026"}}, []string{c5.ID, c2.ID}},
				{"by status", "auditor", url.Values{"status": {"rejected"}}, []string{c5.ID, c3.ID}},
				{"by county", "auditor", url.Values{"county_code": {"411326"}}, []string{c5.ID, c4.ID, c3.ID}},
				{"by beneficiary", "auditor", url.Values{"beneficiary_id": {wancheng}}, []string{c2.ID, c1.ID}},
				{"submitted from a date", "auditor", url.Values{"from": {"2026-06-16"}}, []string{c5.ID}},
				{"submitted up to a date, inclusive", "auditor", url.Values{"to": {"2026-06-15"}}, []string{c4.ID, c3.ID, c2.ID, c1.ID}},
				{"a one-day window", "auditor", url.Values{"from": {"2026-06-20"}, "to": {"2026-06-20"}}, []string{c5.ID}},
				{"combined", "auditor", url.Values{"plan": {"FPB-2026"}, "status": {"assessed"}, "county_code": {"411326"}}, []string{c4.ID}},
				{"nothing matches", "auditor", url.Values{"plan": {"CYB-2026"}}, []string{}},
				{"an insurer sees its own claims only", "insurer", url.Values{}, []string{c5.ID, c3.ID, c2.ID, c1.ID}},
				{"the other insurer too", "insurer2", url.Values{}, []string{c4.ID}},
				{"filters within the insurer's own", "insurer2", url.Values{"county_code": {"411326"}, "status": {"assessed"}}, []string{c4.ID}},
				{"finance sees every org", "finance", url.Values{"county_code": {"411326"}}, []string{c5.ID, c4.ID, c3.ID}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					l := e.list(t, tc.token, tc.q)
					require.Equal(t, tc.want, ids(l.Items))
					require.Nil(t, l.NextCursor)
				})
			}
		})

		t.Run("bad filters", func(t *testing.T) {
			for q, field := range map[string]string{
				"status=lost": "status", "from=2026-02-30": "from", "to=yesterday": "to",
				"limit=0": "limit", "limit=501": "limit", "limit=x": "limit", "cursor=%25%25": "cursor",
			} {
				r := e.h.Do(t, servertest.Request{Method: http.MethodGet, Path: "/api/v1/claims?" + q, Token: "auditor", NoCheck: true})
				er := servertest.RequireError(t, r, 422, "validation_failed")
				require.Equal(t, []string{field}, er.FieldNames(), q)
			}
			servertest.RequireError(t, e.h.Get(t, "admin", "/api/v1/claims"), 403, "forbidden")
		})

		t.Run("cursor pages see every claim once while claims arrive", func(t *testing.T) {
			for i := range 5 {
				e.file(t, fpbIllness(wancheng, fmt.Sprintf("P-%d", i), "100.00"))
			}
			existing := ids(e.list(t, "auditor", url.Values{"limit": {"500"}}).Items)
			require.Len(t, existing, 10)
			var seen, arrived []string
			q := url.Values{"limit": {"2"}}
			for page := 0; ; page++ {
				require.Less(t, page, 20)
				l := e.list(t, "auditor", q)
				require.LessOrEqual(t, len(l.Items), 2)
				seen = append(seen, ids(l.Items)...)
				// A claim arrives between two page fetches.
				arrived = append(arrived, e.file(t, fpbIllness(xichuan, fmt.Sprintf("Q-%d", page), "100.00")).ID)
				if l.NextCursor == nil {
					break
				}
				q.Set("cursor", *l.NextCursor)
			}
			require.Equal(t, existing, seen, "every claim of the first page's moment, once, newest first, none that arrived later")
			for _, id := range arrived {
				require.NotContains(t, seen, id)
			}
			require.True(t, slices.IsSortedFunc(seen, func(a, b string) int { return strings.Compare(b, a) }))
		})

		t.Run("org isolation", func(t *testing.T) {
			servertest.RequireError(t, e.h.Get(t, "insurer2", "/api/v1/claims/"+c1.ID), 404, "not_found")
			servertest.RequireError(t, e.h.Post(t, "insurer2", "/api/v1/claims/"+c1.ID+"/withdraw", nil), 404, "not_found")
			servertest.RequireError(t, e.h.Get(t, "insurer", "/api/v1/claims/"+c4.ID), 404, "not_found")
			servertest.RequireError(t, e.h.Get(t, "insurer", "/api/v1/claims/01ARZ3NDEKTSV4RRFFQ69G5FAV"), 404, "not_found")
			require.Equal(t, "assessed", e.get(t, "insurer", c1.ID).Status, "the failed withdrawal changed nothing")
			for _, reader := range []string{"finance", "auditor"} {
				require.Equal(t, "picc", e.get(t, reader, c1.ID).Org)
				require.Equal(t, "cpic", e.get(t, reader, c4.ID).Org)
			}
		})

		t.Run("withdrawal", func(t *testing.T) {
			servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/claims/"+c1.ID+"/withdraw", nil), 403, "forbidden")
			r := e.h.Post(t, "insurer", "/api/v1/claims/"+c1.ID+"/withdraw", nil)
			servertest.RequireStatus(t, r, http.StatusOK)
			var w claimView
			r.JSON(t, &w)
			require.Equal(t, "withdrawn", w.Status)
			require.Equal(t, "withdrawn", e.get(t, "auditor", c1.ID).Status)
			servertest.RequireError(t, e.h.Post(t, "insurer", "/api/v1/claims/"+c1.ID+"/withdraw", nil), 409, "invalid_state")
			servertest.RequireError(t, e.h.Post(t, "insurer", "/api/v1/claims/"+c3.ID+"/withdraw", nil), 409, "invalid_state")
			var counted bool
			require.NoError(t, d.Table("claims").Select("counted").Where("id = ?", c1.ID).Scan(&counted).Error)
			require.False(t, counted)
		})

		t.Run("a withdrawn claim no longer counts toward the deductible", func(t *testing.T) {
			p := e.register(t, servertest.Person{ID: servertest.ResidentID(710), Household: "HH-W", Categories: []string{"marginal_at_risk"}})
			first := e.file(t, fpbIllness(p, "W-1", "12000.00"))
			require.Equal(t, "2100.00", first.Payable)
			servertest.RequireStatus(t, e.h.Post(t, "insurer", "/api/v1/claims/"+first.ID+"/withdraw", nil), http.StatusOK)
			// Counted, the same bill again would pay F(24000) − F(12000) = 4400.00.
			again := e.file(t, fpbIllness(p, "W-1", "12000.00"))
			require.Equal(t, "assessed", again.Status, "not a duplicate of a withdrawn claim")
			require.Equal(t, "2100.00", again.Payable)
		})
	})
}

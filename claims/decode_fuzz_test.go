package claims_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// FuzzClaimDecode feeds arbitrary bytes as a claim body through the real
// router and intake on SQLite: no input may panic or be answered with a 5xx,
// an error is always the envelope, and a 201 is always a stored claim. The
// seed corpus runs in every `go test`; explore with
// `go test -run '^$' -fuzz FuzzClaimDecode ./claims/`.
func FuzzClaimDecode(f *testing.F) {
	e := newEnv(f, testdb.Open(f, "sqlite"))
	p := e.register(f, servertest.Person{ID: servertest.ResidentID(800), Household: "HH-FUZZ", Categories: []string{"marginal_at_risk", "illness_poverty"}})
	v := e.register(f, servertest.Person{ID: servertest.ResidentID(801), Residency: []string{"hukou"}})
	coop := e.register(f, servertest.Person{ID: cooperativeUSCC(800), Categories: []string{"agri_operator"}})

	seeds := []any{
		fpbIllness(p, "F-1", "12000.00"),
		zkbClaim(p, "F-2", "inpatient", "50000.00", "48000.00", "30000.00", "6000.00", "4000.00"),
		zfbClaim(v, "F-3", "disability", map[string]any{"disability_grade": 4}),
		cybPremium(coop, "tea", "12345.67", true),
		fpbIllness(p, "F-4", "12000.00").fact("self_pay", json.RawMessage("1e30")),
		fpbIllness(p, "F-5", "12000.00").with("facts", "x"),
		fpbIllness(p, "F-6", "12000.00").with("evidence", []any{map[string]any{"kind": 1}}),
		zfbClaim(v, "F-7", "house_collapsed", map[string]any{"rooms": 2.5}),
		raw(""), raw("null"), raw("{}"), raw("[]"), raw(`{"plan":`), raw(`{"plan":"FPB-2026","facts":{"a":[[[[[]]]]]}}`),
		raw("\xff\xfe\x00"), raw(`{"plan":"FPB-2026","plan":"ZKB-2026"}`), raw(`{"facts":{"self_pay":"NaN"}}`),
	}
	for _, s := range seeds {
		switch b := s.(type) {
		case raw:
			f.Add([]byte(b))
		default:
			f.Add(mustJSON(f, b))
		}
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		r := e.h.Do(t, servertest.Request{
			Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: body, NoCheck: true,
			Header: map[string]string{"Idempotency-Key": servertest.Unique("fuzz")},
		})
		require.Less(t, r.Status, 500, "body: %s", r.Body)
		if r.Status == http.StatusCreated {
			var c claimView
			r.JSON(t, &c)
			require.Contains(t, []string{"assessed", "rejected"}, c.Status)
			require.NotEmpty(t, c.ID)
			return
		}
		require.GreaterOrEqual(t, r.Status, 400)
		var er servertest.ErrorBody
		r.JSON(t, &er)
		require.NotEmpty(t, er.Error.Code, "body: %s", r.Body)
		if r.Status == http.StatusUnprocessableEntity {
			require.NotEmpty(t, er.Error.Fields, "a 422 names a field")
		}
	})
}

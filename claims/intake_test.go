package claims_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// raw is a body sent byte for byte.
type raw string

// nested returns a claim whose facts hold depth nested arrays.
func nested(good claim, depth int) raw {
	b, _ := json.Marshal(good.with("facts", "PLACEHOLDER"))
	return raw(strings.Replace(string(b), `"PLACEHOLDER"`, strings.Repeat("[", depth)+strings.Repeat("]", depth), 1))
}

// TestIntakeRefusesBadClaims sends malformed and hostile claims: each is a
// 4xx that names the field, nothing is stored, and nothing is a 500 (the
// harness fails any 5xx).
func TestIntakeRefusesBadClaims(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		fpbPerson := e.register(t, servertest.Person{ID: servertest.ResidentID(500), Household: "HH-INTAKE", Categories: []string{"marginal_at_risk"}})
		zfbPerson := e.register(t, servertest.Person{ID: servertest.ResidentID(501), Household: "HH-INTAKE-Z", Residency: []string{"hukou"}})
		coop := e.register(t, servertest.Person{ID: cooperativeUSCC(500), Categories: []string{"agri_operator"}})
		e.createPlan(t, map[string]any{"code": "ZFB-2026-OLD", "programme": "ZFB"})
		servertest.RequireStatus(t, e.h.Post(t, "admin", "/api/v1/plans/ZFB-2026-OLD/close", nil), http.StatusOK)

		fpb := fpbIllness(fpbPerson, "BILL-INTAKE", "12000.00")
		zkb := zkbClaim(fpbPerson, "BILL-INTAKE-ZKB", "inpatient", "50000.00", "48000.00", "30000.00", "6000.00", "4000.00")
		zfb := zfbClaim(zfbPerson, "YJ-INTAKE", "house_collapsed", map[string]any{"rooms": 3})
		cyb := cybPremium(coop, "tea", "1000.00", true)
		goodID := servertest.ResidentID(502)
		badCheck := goodID[:17] + string("0123456789"[(strings.IndexByte("0123456789X", goodID[17])+1)%10])
		lowerX := servertest.ResidentID(7)
		require.Equal(t, byte('X'), lowerX[17])
		lowerX = lowerX[:17] + "x"
		ev := func(item map[string]any) []any { return []any{item, evidence("invoice")[0]} }
		okItem := evidence("settlement_sheet")[0]
		with := func(k string, v any) map[string]any {
			m := map[string]any{"kind": okItem["kind"], "sha256": okItem["sha256"], "uri": okItem["uri"]}
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
			return m
		}
		manyEvidence := make([]any, 51)
		for i := range manyEvidence {
			manyEvidence[i] = okItem
		}

		cases := []struct {
			name   string
			body   any // claim, raw or nil
			status int
			code   string
			field  string // "" for 400s, which name no field
		}{
			// Types.
			{"plan as a number", fpb.with("plan", 2026), 422, "validation_failed", "plan"},
			{"external_ref as an object", fpb.with("external_ref", map[string]any{"a": 1}), 422, "validation_failed", "external_ref"},
			{"facts as a string", fpb.with("facts", "self_pay=12000"), 422, "validation_failed", "facts"},
			{"facts as a list", fpb.with("facts", []any{1, 2}), 422, "validation_failed", "facts"},
			{"facts null", fpb.with("facts", nil), 422, "validation_failed", "facts"},
			{"evidence as an object", fpb.with("evidence", map[string]any{"kind": "invoice"}), 422, "validation_failed", "evidence"},
			{"evidence item as a string", fpb.with("evidence", []any{"invoice"}), 422, "validation_failed", "evidence[0]"},
			{"boolean as a string", cyb.fact("county_subsidised", "true"), 422, "validation_failed", "facts.county_subsidised"},
			{"boolean as a number", cyb.fact("county_subsidised", 1), 422, "validation_failed", "facts.county_subsidised"},
			{"rooms as a string", zfb.fact("rooms", "3"), 422, "validation_failed", "facts.rooms"},
			{"amount as a boolean", fpb.fact("self_pay", true), 422, "validation_failed", "facts.self_pay"},
			// Amounts.
			{"three decimals in a string", fpb.fact("self_pay", "12000.005"), 422, "validation_failed", "facts.self_pay"},
			{"three decimals in a number", fpb.fact("self_pay", json.RawMessage("12.345")), 422, "validation_failed", "facts.self_pay"},
			{"negative string", fpb.fact("self_pay", "-1.00"), 422, "validation_failed", "facts.self_pay"},
			{"negative number", fpb.fact("household_income_per_capita", -5), 422, "validation_failed", "facts.household_income_per_capita"},
			{"1e30", fpb.fact("self_pay", json.RawMessage("1e30")), 422, "validation_failed", "facts.self_pay"},
			{"exponent that is an integer", fpb.fact("self_pay", json.RawMessage("1e2")), 422, "validation_failed", "facts.self_pay"},
			{"one fen above the maximum", fpb.fact("self_pay", "1000000000000.00"), 422, "validation_failed", "facts.self_pay"},
			{"NaN", fpb.fact("self_pay", "NaN"), 422, "validation_failed", "facts.self_pay"},
			{"Infinity", fpb.fact("self_pay", "Infinity"), 422, "validation_failed", "facts.self_pay"},
			{"amount with spaces", fpb.fact("self_pay", " 12.00"), 422, "validation_failed", "facts.self_pay"},
			{"amount with a thousands separator", fpb.fact("self_pay", "12,000.00"), 422, "validation_failed", "facts.self_pay"},
			{"empty amount", fpb.fact("self_pay", ""), 422, "validation_failed", "facts.self_pay"},
			// Strings.
			{"external_ref of 10k characters", fpb.with("external_ref", strings.Repeat("R", 10000)), 422, "validation_failed", "external_ref"},
			{"empty external_ref", fpb.with("external_ref", ""), 422, "validation_failed", "external_ref"},
			{"SQL in external_ref", fpb.with("external_ref", "1' OR '1'='1"), 422, "validation_failed", "external_ref"},
			{"SQL comment in external_ref", fpb.with("external_ref", "x'; DROP TABLE claims; --"), 422, "validation_failed", "external_ref"},
			{"line break in external_ref", fpb.with("external_ref", "a\nb"), 422, "validation_failed", "external_ref"},
			{"invalid UTF-8 in external_ref", raw(strings.Replace(string(mustJSON(t, fpb.with("external_ref", "XYZZY"))), "XYZZY", "\xff\xfe", 1)), 422, "validation_failed", "external_ref"},
			{"bill_ref of 65 characters", fpb.fact("bill_ref", strings.Repeat("b", 65)), 422, "validation_failed", "facts.bill_ref"},
			{"bill_ref with a control character", fpb.fact("bill_ref", "B\u0000ILL"), 422, "validation_failed", "facts.bill_ref"},
			{"bill_ref with surrounding spaces", fpb.fact("bill_ref", " BILL "), 422, "validation_failed", "facts.bill_ref"},
			// Unknown fields.
			{"unknown top-level field", fpb.with("colour", "red"), 422, "validation_failed", "colour"},
			{"unknown fact", fpb.fact("colour", "red"), 422, "validation_failed", "facts.colour"},
			{"a fact of another cause", fpb.fact("net_loss", "100.00"), 422, "validation_failed", "facts.net_loss"},
			{"missing fact", fpb.fact("household_income_per_capita", nil), 422, "validation_failed", "facts.household_income_per_capita"},
			// Beneficiary ids.
			{"bad resident id checksum", fpb.with("beneficiary_id", badCheck), 422, "validation_failed", "beneficiary_id"},
			{"lowercase x check character", fpb.with("beneficiary_id", lowerX), 422, "validation_failed", "beneficiary_id"},
			{"17 digits", fpb.with("beneficiary_id", goodID[:17]), 422, "validation_failed", "beneficiary_id"},
			{"impossible birth date", fpb.with("beneficiary_id", "411325"+"19800230"+"0011"), 422, "validation_failed", "beneficiary_id"},
			{"lowercase credit code", cyb.with("beneficiary_id", strings.ToLower(coop)), 422, "validation_failed", "beneficiary_id"},
			{"id as a number", fpb.with("beneficiary_id", json.RawMessage("411325198001010011")), 422, "validation_failed", "beneficiary_id"},
			// Dates.
			{"impossible date", fpb.with("event_date", "2026-02-30"), 422, "validation_failed", "event_date"},
			{"date with slashes", fpb.with("event_date", "2026/05/01"), 422, "validation_failed", "event_date"},
			{"timestamp instead of a date", fpb.with("event_date", "2026-05-01T00:00:00Z"), 422, "validation_failed", "event_date"},
			{"tomorrow in China", fpb.with("event_date", "2026-06-16"), 422, "validation_failed", "event_date"},
			{"far future", fpb.with("event_date", "2099-01-01"), 422, "validation_failed", "event_date"},
			// Causes.
			{"a cause of another programme", fpb.with("cause", "medical"), 422, "validation_failed", "cause"},
			{"a ZFB claim with an FPB cause", zfb.with("cause", "illness"), 422, "validation_failed", "cause"},
			{"missing cause", fpb.with("cause", nil), 422, "validation_failed", "cause"},
			// Evidence.
			{"uppercase evidence hash", fpb.with("evidence", ev(with("sha256", strings.ToUpper(servertest.SHA("x"))))), 422, "validation_failed", "evidence[0].sha256"},
			{"short evidence hash", fpb.with("evidence", ev(with("sha256", "abc123"))), 422, "validation_failed", "evidence[0].sha256"},
			{"missing evidence hash", fpb.with("evidence", ev(with("sha256", nil))), 422, "validation_failed", "evidence[0].sha256"},
			{"unknown evidence key", fpb.with("evidence", ev(with("size", 12))), 422, "validation_failed", "evidence[0].size"},
			{"evidence kind with spaces", fpb.with("evidence", ev(with("kind", "Settlement Sheet"))), 422, "validation_failed", "evidence[0].kind"},
			{"evidence uri with a space", fpb.with("evidence", ev(with("uri", "oss://a b"))), 422, "validation_failed", "evidence[0].uri"},
			{"evidence uri of 513 characters", fpb.with("evidence", ev(with("uri", strings.Repeat("u", 513)))), 422, "validation_failed", "evidence[0].uri"},
			{"51 evidence items", fpb.with("evidence", manyEvidence), 422, "validation_failed", "evidence"},
			// ZKB consistency.
			{"policy scope above the total", zkb.fact("policy_scope_cost", "50000.01"), 422, "validation_failed", "facts.policy_scope_cost"},
			{"insurance layers above the total", zkb.fact("basic_insurance_paid", "45000.00"), 422, "validation_failed", "facts.total_cost"},
			{"unknown service type", zkb.fact("service_type", "emergency"), 422, "validation_failed", "facts.service_type"},
			// ZFB measures.
			{"0 rooms", zfb.fact("rooms", 0), 422, "validation_failed", "facts.rooms"},
			{"51 rooms", zfb.fact("rooms", 51), 422, "validation_failed", "facts.rooms"},
			{"2.5 rooms", zfb.fact("rooms", 2.5), 422, "validation_failed", "facts.rooms"},
			{"huge rooms", zfb.fact("rooms", json.RawMessage("99999999999999999999999")), 422, "validation_failed", "facts.rooms"},
			{"disability grade 11", zfb.fact("loss_class", "disability").fact("rooms", nil).fact("disability_grade", 11), 422, "validation_failed", "facts.disability_grade"},
			{"disability grade 0", zfb.fact("loss_class", "disability").fact("rooms", nil).fact("disability_grade", 0), 422, "validation_failed", "facts.disability_grade"},
			{"a measure of another loss class", zfb.fact("disability_grade", 3), 422, "validation_failed", "facts.disability_grade"},
			{"unknown loss class", zfb.fact("loss_class", "earthquake"), 422, "validation_failed", "facts.loss_class"},
			{"unknown industry", cyb.fact("industry", "rice"), 422, "validation_failed", "facts.industry"},
			// Shape of the body.
			{"malformed JSON", raw(`{"plan":"FPB-2026",`), 400, "bad_request", ""},
			{"a list instead of an object", raw(`[1,2,3]`), 400, "bad_request", ""},
			{"data after the object", raw(string(mustJSON(t, fpb)) + ` {}`), 400, "bad_request", ""},
			{"10k levels of nesting", nested(fpb, 10000), 400, "bad_request", ""},
			{"empty body", raw(""), 422, "validation_failed", "plan"},
			{"JSON null", raw("null"), 422, "validation_failed", "plan"},
			{"empty object", raw("{}"), 422, "validation_failed", "plan"},
			// Plans.
			{"unknown plan", fpb.with("plan", "FPB-2099"), 404, "not_found", ""},
			{"SQL in the plan code", fpb.with("plan", "FPB-2026' OR '1'='1"), 404, "not_found", ""},
			{"closed plan", zfb.with("plan", "ZFB-2026-OLD"), 409, "plan_closed", ""},
		}
		before := servertest.Count(t, d, "claims", "1 = 1")
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var body any = tc.body
				if r, ok := tc.body.(raw); ok {
					body = []byte(r)
				}
				r := e.h.Do(t, servertest.Request{
					Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: body,
					Header: map[string]string{"Idempotency-Key": servertest.Unique("intake")},
				})
				er := servertest.RequireError(t, r, tc.status, tc.code)
				if tc.field != "" {
					require.Contains(t, er.FieldNames(), tc.field, "body: %s", r.Body)
				}
			})
		}
		require.Equal(t, before, servertest.Count(t, d, "claims", "1 = 1"), "no bad claim is stored")
		var keys int64
		require.NoError(t, d.Table("idempotency_keys").Count(&keys).Error)
		require.Zero(t, keys, "no failed request consumes its key")

		t.Run("every bad field is named at once", func(t *testing.T) {
			body := fpb.with("external_ref", "").with("beneficiary_id", badCheck).with("event_date", "2026-13-01").
				fact("self_pay", "-1").fact("bill_ref", "").with("evidence", ev(with("sha256", "x")))
			er := servertest.RequireError(t, e.submit(t, "insurer", servertest.Unique("k"), body), 422, "validation_failed")
			require.ElementsMatch(t, []string{"external_ref", "beneficiary_id", "event_date", "facts.self_pay", "facts.bill_ref", "evidence[0].sha256"}, er.FieldNames())
		})

		t.Run("nesting inside the limit is a 422 on facts", func(t *testing.T) {
			er := servertest.RequireError(t, e.submit(t, "insurer", servertest.Unique("k"), []byte(nested(fpb, 5000))), 422, "validation_failed")
			require.Contains(t, er.FieldNames(), "facts")
		})

		t.Run("the future is judged in China time", func(t *testing.T) {
			t.Cleanup(func() { e.h.Clock.Set(servertest.Start) })
			body := fpb.with("event_date", "2026-06-16")
			e.h.Clock.Set(time.Date(2026, 6, 15, 15, 59, 0, 0, time.UTC)) // 23:59 on the 15th in China
			er := servertest.RequireError(t, e.submit(t, "insurer", servertest.Unique("k"), body.with("external_ref", servertest.Unique("tz"))), 422, "validation_failed")
			require.Equal(t, []string{"event_date"}, er.FieldNames())
			e.h.Clock.Set(time.Date(2026, 6, 15, 16, 1, 0, 0, time.UTC)) // 00:01 on the 16th in China, still the 15th in UTC
			require.Equal(t, "2026-06-16", e.file(t, body.with("external_ref", servertest.Unique("tz"))).EventDate)
		})

		t.Run("only insurers submit", func(t *testing.T) {
			for _, role := range []string{"finance", "auditor", "admin"} {
				servertest.RequireError(t, e.submit(t, role, servertest.Unique("k"), fpb), 403, "forbidden")
			}
			servertest.RequireError(t, e.submit(t, "", servertest.Unique("k"), fpb), 401, "unauthorized")
		})

		t.Run("hostile text that is valid is stored verbatim", func(t *testing.T) {
			n := servertest.Count(t, d, "claims", "1 = 1")
			c := e.file(t, fpb.fact("bill_ref", "1' OR '1'='1 <script>--"))
			require.Equal(t, "assessed", c.Status)
			stored := e.get(t, "auditor", c.ID)
			var facts map[string]any
			require.NoError(t, json.Unmarshal(stored.Facts, &facts))
			require.Equal(t, "1' OR '1'='1 <script>--", facts["bill_ref"])
			require.Equal(t, n+1, servertest.Count(t, d, "claims", "1 = 1"))
		})

		t.Run("evidence too large to store is refused, not a 500", func(t *testing.T) {
			// 50 items with 512-character URIs: plain ASCII fits the stored
			// column; characters that take four UTF-8 bytes, or six once JSON
			// escapes them, would not, and are refused naming evidence.
			for _, tc := range []struct {
				char   string
				status int
			}{{"u", http.StatusCreated}, {"<", http.StatusUnprocessableEntity}, {"𠀀", http.StatusUnprocessableEntity}} {
				items := make([]any, 50)
				for i := range items {
					items[i] = map[string]any{"kind": "settlement_sheet", "sha256": servertest.SHA(tc.char), "uri": "oss://" + strings.Repeat(tc.char, 506)}
				}
				items[1] = map[string]any{"kind": "invoice", "sha256": servertest.SHA("i"), "uri": "oss://" + strings.Repeat(tc.char, 506)}
				r := e.submit(t, "insurer", servertest.Unique("k"), fpb.with("external_ref", servertest.Unique("big")).with("evidence", items))
				if tc.status == http.StatusCreated {
					servertest.RequireStatus(t, r, http.StatusCreated)
					var c claimView
					r.JSON(t, &c)
					require.Len(t, e.get(t, "auditor", c.ID).Evidence, 50)
					continue
				}
				er := servertest.RequireError(t, r, tc.status, "validation_failed")
				require.Equal(t, []string{"evidence"}, er.FieldNames())
			}
		})
	})
}

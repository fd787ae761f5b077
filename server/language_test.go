package server_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/i18n"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// Chinese for people (DESIGN §16): the same requests answered in English
// and, with Accept-Language: zh-CN or ?lang=zh, in Chinese, through the real
// router on both databases.

// peopleTexts collects the values of every "message" and "description"
// member of a JSON answer: the words the language applies to.
func peopleTexts(t *testing.T, body []byte) []string {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(body, &v), "body: %s", body)
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "message" || k == "description") {
					out = append(out, s)
					continue
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return out
}

var han = regexp.MustCompile(`\p{Han}`)

// bilingual sends r in English and in Chinese (the header, or ?lang=zh when
// byQuery) and checks the pair: the same status and, for each word for
// people in the English answer, a Chinese rendering from the catalogue (not
// the fallback), which the Chinese answer shows; codes and field names the
// same. It returns both answers.
func bilingual(t *testing.T, h *servertest.Harness, r servertest.Request, byQuery bool) (en, zh *servertest.Response) {
	t.Helper()
	r.NoCheck = true
	en = h.Do(t, r)
	zr := r
	zr.Header = map[string]string{}
	for k, v := range r.Header {
		zr.Header[k] = v
	}
	if byQuery {
		sep := "?"
		if strings.Contains(zr.Path, "?") {
			sep = "&"
		}
		zr.Path += sep + "lang=zh"
	} else {
		zr.Header["Accept-Language"] = "zh-CN,zh;q=0.9,en;q=0.5"
	}
	if k, ok := zr.Header["Idempotency-Key"]; ok {
		zr.Header["Idempotency-Key"] = k + "-zh"
	}
	zh = h.Do(t, zr)
	require.Equal(t, en.Status, zh.Status, "en %s\nzh %s", en.Body, zh.Body)
	enTexts, zhTexts := peopleTexts(t, en.Body), peopleTexts(t, zh.Body)
	require.NotEmpty(t, enTexts, "the answer has words for people: %s", en.Body)
	for _, s := range enTexts {
		want, ok := i18n.Translate(i18n.Chinese, s)
		require.Truef(t, ok, "%s %s: no Chinese for %q", r.Method, r.Path, s)
		require.Containsf(t, zhTexts, want, "the Chinese answer says %q for %q: %s", want, s, zh.Body)
		require.Regexp(t, han, want)
		requireNoEnglishLeft(t, r, want)
	}
	require.Equal(t, "zh-CN", zh.Header.Get("Content-Language"))
	require.Empty(t, en.Header.Get("Content-Language"))
	require.Equal(t, stripTexts(t, en.Body), stripTexts(t, zh.Body), "only the words for people differ")
	return en, zh
}

// englishWord is a run of three or more ASCII letters.
var englishWord = regexp.MustCompile(`[A-Za-z]{3,}`)

// notEnglish are the ASCII words a Chinese message may keep: what a client
// sends or reads as a code (roles, formats, headers, standards) rather than
// words for people.
var notEnglish = map[string]bool{
	"admin": true, "insurer": true, "finance": true, "auditor": true, "Bearer": true, "Authorization": true,
	"JSON": true, "NDJSON": true, "ASCII": true, "UTF": true, "GBK": true, "CSV": true, "XLSX": true, "URI": true,
	"NUL": true, "YYYY": true, "null": true, "true": true, "false": true, "Idempotency": true, "Key": true,
	"GB/T": true, "base": true, "assessed": true, "approved": true, "disbursed": true, "paid": true,
	"rejected": true, "declined": true, "withdrawn": true,
}

// requireNoEnglishLeft: past the words the request itself carries (its
// path, body and headers: codes, field names, values a client sent) and
// codes, nothing of a Chinese message is English. The detail a JSON parser
// gives for malformed input is quoted as it is, after 「JSON 格式有误：」.
func requireNoEnglishLeft(t *testing.T, r servertest.Request, zh string) {
	t.Helper()
	if strings.HasPrefix(zh, "JSON 格式有误：") {
		return
	}
	sent := r.Path
	if b, err := json.Marshal(r.Body); err == nil {
		sent += string(b)
	}
	if s, ok := r.Body.(string); ok {
		sent += s
	}
	for _, w := range englishWord.FindAllString(zh, -1) {
		if notEnglish[w] || strings.Contains(sent, w) || strings.Contains(zh, w+"_") || strings.Contains(zh, "_"+w) {
			continue
		}
		t.Errorf("English %q left in %q", w, zh)
	}
}

// stripTexts is an answer without its words for people and request id.
func stripTexts(t *testing.T, body []byte) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(body, &v))
	var walk func(v any) any
	walk = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				switch k {
				case "message", "description", "request_id", "id", "claim_id", "submitted_at", "updated_at", "external_ref":
					v[k] = "·"
				default:
					v[k] = walk(x)
				}
			}
		case []any:
			for i, x := range v {
				v[i] = walk(x)
			}
		}
		return v
	}
	return walk(v)
}

func TestErrorsInChinese(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newHardening(t, d)
		h := e.h
		badClaim := e.claimBody("ZH-1")
		badClaim["event_date"] = "2026-13-01"
		badClaim["facts"].(map[string]any)["total_cost"] = "12.345"
		badClaim["facts"].(map[string]any)["policy_scope_cost"] = "-1"
		badClaim["evidence"] = []map[string]string{{"kind": "Settlement", "sha256": "xyz"}}
		unknownField := e.claimBody("ZH-3")
		unknownField["extra"] = true
		for _, tc := range []struct {
			name    string
			r       servertest.Request
			byQuery bool
		}{
			{"bad list parameters", servertest.Request{Method: http.MethodGet, Token: "finance",
				Path: "/api/v1/claims?limit=0&status=bogus&plan=bad%20code&county_code=1&beneficiary_id=x&cursor=zz&from=2026-02-30"}, false},
			{"no such claim", servertest.Request{Method: http.MethodGet, Token: "finance", Path: "/api/v1/claims/01J000000000000000000000ZZ"}, true},
			{"no token", servertest.Request{Method: http.MethodGet, Path: "/api/v1/claims"}, false},
			{"a bad token", servertest.Request{Method: http.MethodGet, Path: "/api/v1/claims", Token: "hm_nope"}, false},
			{"the wrong role", servertest.Request{Method: http.MethodPost, Token: "auditor", Path: "/api/v1/claims/01J000000000000000000000ZZ/approve", Body: map[string]any{}}, false},
			{"no route", servertest.Request{Method: http.MethodGet, Token: "finance", Path: "/api/v1/nowhere"}, false},
			{"a wrong method", servertest.Request{Method: http.MethodDelete, Token: "finance", Path: "/api/v1/claims"}, false},
			{"no idempotency key", servertest.Request{Method: http.MethodPost, Token: "insurer", Path: "/api/v1/claims", Body: e.claimBody("ZH-2")}, false},
			{"malformed JSON", servertest.Request{Method: http.MethodPost, Token: "insurer", Path: "/api/v1/claims", Body: `{"plan":`,
				Header: map[string]string{"Idempotency-Key": "zh-malformed"}}, false},
			{"a list, not an object", servertest.Request{Method: http.MethodPost, Token: "insurer", Path: "/api/v1/claims", Body: `[1]`,
				Header: map[string]string{"Idempotency-Key": "zh-list"}}, true},
			{"a claim with bad fields", servertest.Request{Method: http.MethodPost, Token: "insurer", Path: "/api/v1/claims", Body: badClaim,
				Header: map[string]string{"Idempotency-Key": "zh-bad"}}, false},
			{"an unknown field", servertest.Request{Method: http.MethodPost, Token: "insurer", Path: "/api/v1/claims", Body: unknownField,
				Header: map[string]string{"Idempotency-Key": "zh-extra"}}, false},
			{"an unknown plan", servertest.Request{Method: http.MethodPost, Token: "insurer", Path: "/api/v1/claims",
				Body: map[string]any{"plan": "NOPE-2026", "external_ref": "X"}, Header: map[string]string{"Idempotency-Key": "zh-plan"}}, false},
			{"a bad registry entry", servertest.Request{Method: http.MethodPut, Token: "admin", Path: "/api/v1/beneficiaries/411325199001011234",
				Body: map[string]any{"name": " ", "county_code": "110101", "categories": []map[string]any{{"category": "rich", "valid_from": "2026-01-32"}}}}, false},
			{"bad plan rules", servertest.Request{Method: http.MethodPost, Token: "admin", Path: "/api/v1/plans",
				Body: map[string]any{"code": "FPB-X", "programme": "FPB", "name": "x", "coverage_start": "2026-01-01", "coverage_end": "2025-12-31", "budget": "1000.00",
					"budget_policy": "whoever", "rules": map[string]any{"prevention_line": "abc", "causes": map[string]any{"illness": map[string]any{"brackets": []map[string]any{{"up_to": "100.00", "rate": "1.5"}}}}}}}, false},
			{"an empty disbursement", servertest.Request{Method: http.MethodPost, Token: "finance", Path: "/api/v1/disbursements",
				Body: map[string]any{"plan": "ZKB-2026", "claim_ids": []string{}}}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				en, zh := bilingual(t, h, tc.r, tc.byQuery)
				require.GreaterOrEqual(t, en.Status, 400)
				var ee, ze servertest.ErrorBody
				en.JSON(t, &ee)
				zh.JSON(t, &ze)
				require.Equal(t, ee.Error.Code, ze.Error.Code)
				require.Equal(t, ee.FieldNames(), ze.FieldNames(), "field names never change")
			})
		}

		// Each refused item of a batch is Chinese too.
		bad := e.claimBody("ZH-B1")
		bad["event_date"] = "tomorrow"
		bilingual(t, h, servertest.Request{Method: http.MethodPost, Token: "insurer", Path: "/api/v1/claim-batches",
			Body: map[string]any{"claims": []any{bad, map[string]any{"plan": "NOPE", "external_ref": "ZH-B2"}}}}, false)
	})
}

func TestClaimsInChinese(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newHardening(t, d)
		h := e.h
		rich := servertest.Person{ID: servertest.NewPersonID(), Categories: []string{"marginal_at_risk"}}
		servertest.RequireStatus(t, h.PutPerson(t, rich), http.StatusCreated)

		// An assessed ZKB claim: its breakdown in Chinese, read back later.
		key := servertest.Unique("zh")
		first := h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: e.claimBody("ZH-C1"),
			Header: map[string]string{"Idempotency-Key": key, "Accept-Language": "zh-CN"}})
		servertest.RequireStatus(t, first, http.StatusCreated)
		var c struct {
			ID        string `json:"id"`
			Breakdown []struct{ Description, Amount string }
		}
		first.JSON(t, &c)
		require.Equal(t, "计算基数：政策范围内费用 9,000.00 元 − 基本医保 0.00 元 − 大病保险 0.00 元 − 医疗救助 0.00 元", c.Breakdown[0].Description)
		require.Equal(t, "9000.00", c.Breakdown[0].Amount, "amounts never change")

		get := servertest.Request{Method: http.MethodGet, Path: "/api/v1/claims/" + c.ID, Token: "finance"}
		en, zh := bilingual(t, h, get, false)
		require.Contains(t, string(en.Body), `"description":"Base: policy-scope cost 9000.00 − basic medical insurance 0.00`)
		require.Contains(t, string(zh.Body), "应付金额")

		// The key keeps a reference to the claim, not a copy of the answer;
		// a replay in English is the English answer, one in Chinese the
		// first answer byte for byte.
		replay := func(lang string) *servertest.Response {
			hdr := map[string]string{"Idempotency-Key": key}
			if lang != "" {
				hdr["Accept-Language"] = lang
			}
			r := h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: e.claimBody("ZH-C1"), Header: hdr})
			servertest.RequireStatus(t, r, http.StatusCreated)
			require.Equal(t, "true", r.Header.Get("Idempotent-Replayed"))
			return r
		}
		var stored string
		require.NoError(t, d.Table("idempotency_keys").Where("idem_key = ?", key).Select("response").Scan(&stored).Error)
		require.Empty(t, stored, "kept by reference")
		english := replay("")
		require.NotContains(t, string(english.Body), "计算基数", "the answer without Accept-Language is English")
		require.Equal(t, stripTexts(t, first.Body), stripTexts(t, english.Body))
		require.Equal(t, string(first.Body), string(replay("zh").Body), "a Chinese replay is the first answer")

		// A rejected FPB claim: its reason by code, in Chinese.
		rejected := map[string]any{
			"plan": "FPB-2026", "external_ref": "ZH-R1", "beneficiary_id": rich.ID, "event_date": "2026-05-01", "cause": "illness",
			"facts":    map[string]any{"household_income_per_capita": "9000.00", "bill_ref": "B-R1", "self_pay": "12000.00"},
			"evidence": []map[string]string{{"kind": "settlement_sheet", "sha256": servertest.SHA("r1")}, {"kind": "invoice", "sha256": servertest.SHA("r2")}},
		}
		r := h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: rejected,
			Header: map[string]string{"Idempotency-Key": servertest.Unique("zh")}})
		servertest.RequireStatus(t, r, http.StatusCreated)
		id := r.Map(t)["id"].(string)
		_, zh = bilingual(t, h, servertest.Request{Method: http.MethodGet, Path: "/api/v1/claims/" + id, Token: "auditor"}, true)
		var rc struct {
			Status  string
			Reasons []struct{ Code, Message string }
		}
		zh.JSON(t, &rc)
		require.Equal(t, "rejected", rc.Status, "codes never change")
		require.Equal(t, "above_prevention_line", rc.Reasons[0].Code)
		require.Equal(t, "超出防贫监测线：家庭人均纯收入不低于防贫监测线", rc.Reasons[0].Message)

		// A list of claims, and a transition's answer.
		bilingual(t, h, servertest.Request{Method: http.MethodGet, Path: "/api/v1/claims?limit=10", Token: "finance"}, false)
		r = h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims/" + c.ID + "/decline", Token: "finance",
			Body: map[string]any{"reason": "test"}, Header: map[string]string{"Accept-Language": "zh"}})
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Equal(t, "declined", r.Map(t)["status"])
		for _, s := range peopleTexts(t, r.Body) {
			require.Regexp(t, han, s)
		}
	})
}

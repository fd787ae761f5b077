package prevention_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// The people of the early-warning tests: a 防贫保 household of two in 淅川县
// (A marginal_at_risk; B unstable_out_of_poverty and illness_poverty, so
// also 政康保), a 政康保 person without a household (C, illness_poverty,
// ratio 0.80), and E, in the registry but covered by neither.
type earlyPeople struct {
	a, b, c, e, d string // d is not in the registry
	household     string
}

func registerEarly(t *testing.T, e *env) earlyPeople {
	t.Helper()
	p := earlyPeople{
		a: servertest.NewPersonID(), b: servertest.NewPersonID(), c: servertest.NewPersonID(),
		e: servertest.NewPersonID(), d: servertest.NewPersonID(), household: servertest.Unique("HH-W"),
	}
	servertest.InsertPeople(t, e.d,
		servertest.Person{ID: p.a, Name: "张桂兰", County: "411326", Household: p.household, Categories: []string{"marginal_at_risk"}},
		servertest.Person{ID: p.b, Name: "张建国", County: "411326", Household: p.household, Categories: []string{"unstable_out_of_poverty", "illness_poverty"}},
		servertest.Person{ID: p.c, Name: "李秀英", County: "411325", Categories: []string{"illness_poverty"}},
		servertest.Person{ID: p.e, Name: "王强", County: "411325", Categories: []string{"agri_operator"}},
	)
	return p
}

// TestEarlyWarningFromAGBKSettlementFile is issue 15's "done when": a
// settlement file in GBK is imported; the warnings are those a hand
// computation gives, and their expected payables are what the claims for
// those bills then pay; a visit is recorded; the claims are filed from the
// warning's draft in one request; the warning becomes claimed by itself and
// stays listed.
func TestEarlyWarningFromAGBKSettlementFile(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := registerEarly(t, e)
		bill := func(who, ref string) string { return ref + "-" + who[len(who)-4:] }
		file := csvOf(
			// A's two bills and B's one: 防贫保 self-pay 9000 + 8000 + 3000.
			settlement{p.a, "2026-02-10", "南阳市中心医院", "inpatient", bill(p.a, "A-1"), "30000.00", "26000.00", "15000.00", "3000.00", "2000.00", "9000.00"},
			settlement{p.b, "2026-03-05", "淅川县人民医院", "inpatient", bill(p.b, "B-1"), "20000.00", "18000.00", "9000.00", "0", "1000.00", "8000.00"},
			settlement{p.a, "2026-04-20", "南阳市中心医院", "outpatient", bill(p.a, "A-2"), "5000.00", "4000.00", "1500.00", "0", "0", "3000"},
			// C: 政康保 bases 48000 − 40000 = 8000 and 3000 − 1000 = 2000.
			settlement{p.c, "2026-05-08", "南阳市第二人民医院", "inpatient", bill(p.c, "C-1"), "52000.00", "48000.00", "30000.00", "6000.00", "4000.00", "10000.00"},
			settlement{p.c, "2026-05-20", "南阳市第二人民医院", "outpatient", bill(p.c, "C-2"), "3000.00", "3000.00", "1000.00", "0", "0", "2000.00"},
			// D is not in the registry; E is, but neither programme covers E.
			settlement{p.d, "2026-05-01", "卧龙区医院", "inpatient", bill(p.d, "D-1"), "9000.00", "9000.00", "1000.00", "0", "0", "8000.00"},
			settlement{p.e, "2026-05-01", "卧龙区医院", "inpatient", bill(p.e, "E-1"), "9000.00", "9000.00", "1000.00", "0", "0", "8000.00"},
			// A again: the same bill twice (a duplicate), a bill of last year.
			settlement{p.a, "2026-02-10", "南阳市中心医院", "inpatient", bill(p.a, "A-1"), "30000.00", "26000.00", "15000.00", "3000.00", "2000.00", "9000.00"},
			settlement{p.a, "2025-12-20", "南阳市中心医院", "inpatient", bill(p.a, "A-0"), "30000.00", "26000.00", "15000.00", "3000.00", "2000.00", "9000.00"},
			// Bad rows: self-pay above what the layers left; a date that is not one.
			settlement{p.a, "2026-03-01", "南阳市中心医院", "inpatient", bill(p.a, "A-X"), "10000.00", "10000.00", "5000.00", "0", "0", "5000.01"},
			settlement{p.a, "2026-02-30", "南阳市中心医院", "inpatient", bill(p.a, "A-Y"), "10000.00", "10000.00", "5000.00", "0", "0", "100.00"},
		)
		ans := e.importRecords(t, gbk(t, file), "text/csv; charset=GBK")
		require.Equal(t, 7, ans.Created, "%+v", ans)
		require.Equal(t, 1, ans.Duplicates)
		require.Equal(t, 1, ans.Unmatched)
		require.Len(t, ans.Errors, 2, "%+v", ans.Errors)
		require.Equal(t, 11, ans.Errors[0].Line)
		require.Equal(t, "self_pay", ans.Errors[0].Field)
		require.Equal(t, 12, ans.Errors[1].Line)
		require.Equal(t, "settled_on", ans.Errors[1].Field)
		require.EqualValues(t, 7, servertest.Count(t, d, "medical_records", "1 = 1"))
		var hospital string
		require.NoError(t, d.Table("medical_records").Where("bill_ref = ?", bill(p.b, "B-1")).Pluck("hospital", &hospital).Error)
		require.Equal(t, "淅川县人民医院", hospital, "the GBK text is stored as UTF-8")

		// 防贫保: the household's three bills in settled_on order, tier 0.30
		// above 5000: F(9000) = 1200; F(17000) − F(9000) = 3600 − 1200 =
		// 2400; F(20000) − F(17000) = 4500 − 3600 = 900. Together 4500.
		fpb := e.warnings(t, "finance", "FPB-2026")
		require.Len(t, fpb, 1, "A's last-year bill, D and E have none")
		w := fpb[0]
		require.Equal(t, "FPB-2026", w.Plan)
		require.Equal(t, p.household, *w.HouseholdID)
		require.Equal(t, "411326", w.CountyCode)
		require.Equal(t, []string{p.a, p.b}, w.BeneficiaryIDs)
		require.Equal(t, []string{bill(p.a, "A-1"), bill(p.b, "B-1"), bill(p.a, "A-2")}, w.Bills)
		require.Equal(t, "4500.00", w.ExpectedPayable)
		require.Equal(t, "open", w.Status)
		var each []string
		for _, b := range w.Details {
			each = append(each, b.ExpectedPayable)
		}
		require.Equal(t, []string{"1200.00", "2400.00", "900.00"}, each)
		require.Equal(t, "南阳市中心医院", w.Details[0].Hospital)

		// 政康保: C's bills at 0.80 (8000 → 6400, 2000 → 1600) and B's
		// (18000 − 10000 = 8000 → 6400); A has no 政康保 category. Largest first.
		zkb := e.warnings(t, "auditor", "ZKB-2026")
		require.Len(t, zkb, 2)
		require.Equal(t, []string{p.c}, zkb[0].BeneficiaryIDs)
		require.Nil(t, zkb[0].HouseholdID, "C has no household")
		require.Equal(t, "8000.00", zkb[0].ExpectedPayable)
		require.Equal(t, []string{p.b}, zkb[1].BeneficiaryIDs)
		require.Equal(t, "6400.00", zkb[1].ExpectedPayable)

		// The township visits the household (入户核查).
		r := e.setStatus(t, "finance", w.ID, "visited", "已入户核查，家庭人均收入约3000元")
		servertest.RequireStatus(t, r, http.StatusOK)
		var visited warning
		r.JSON(t, &visited)
		require.Equal(t, "visited", visited.Status)
		require.Len(t, visited.Followups, 1)
		require.Equal(t, "fin-wang", visited.Followups[0].Actor)
		require.Equal(t, servertest.Start.Format("2006-01-02T15:04:05.000Z"), visited.Followups[0].At)
		require.EqualValues(t, 1, servertest.Count(t, d, "audit_log", "action = ? AND target = ? AND actor = ?", "warning.status", w.ID, "fin-wang"))
		again := e.warnings(t, "finance", "FPB-2026")
		require.Equal(t, w.ID, again[0].ID, "the warning keeps its id when computed again")
		require.Equal(t, "visited", again[0].Status, "and its follow-up")

		// The insurer files the household's claims from the draft in one
		// request: they pay exactly what the warning expected.
		e.h.Clock.Advance(time.Hour)
		statuses, payables := e.fileDraft(t, w.ID, "3000.00")
		require.Equal(t, []string{"assessed", "assessed", "assessed"}, statuses)
		require.Equal(t, each, payables)

		fpb = e.warnings(t, "finance", "FPB-2026")
		require.Len(t, fpb, 1, "a claimed warning stays listed")
		require.Equal(t, w.ID, fpb[0].ID)
		require.Equal(t, "claimed", fpb[0].Status)
		require.Equal(t, "4500.00", fpb[0].ExpectedPayable)
		require.Equal(t, w.Bills, fpb[0].Bills)
		require.Len(t, fpb[0].Followups, 2)
		require.Equal(t, "claimed", fpb[0].Followups[1].Status)
		require.Equal(t, "system", fpb[0].Followups[1].Actor)
		require.EqualValues(t, 1, servertest.Count(t, d, "audit_log", "action = ? AND target = ? AND actor = ?", "warning.status", w.ID, "system"))

		// The same for 政康保: each warning's claims pay what it expected.
		for _, zw := range zkb {
			_, payables := e.fileDraft(t, zw.ID, "")
			var sum int64
			for _, p := range payables {
				sum += fen(t, p)
			}
			require.Equal(t, fen(t, zw.ExpectedPayable), sum)
		}
		for _, zw := range e.warnings(t, "finance", "ZKB-2026") {
			require.Equal(t, "claimed", zw.Status)
		}

		// Importing the same file again stores nothing new.
		ans = e.importRecords(t, []byte(file), "")
		require.Zero(t, ans.Created)
		require.Equal(t, 8, ans.Duplicates)
		require.Equal(t, 1, ans.Unmatched)
	})
}

// fen reads a two-decimal amount as fen.
func fen(t testing.TB, s string) int64 {
	t.Helper()
	whole, frac, ok := strings.Cut(s, ".")
	require.True(t, ok && len(frac) == 2, "amount %q", s)
	var n int64
	for _, c := range whole + frac {
		n = n*10 + int64(c-'0')
	}
	return n
}

// TestWarningsFollowTheClaimsRules: what changes a warning is what changes
// a claim — an offset from 政康保 on the same bill, a bill claimed already,
// the filing window, the cap — and a warning's follow-up survives every
// recomputation.
func TestWarningsFollowTheClaimsRules(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := registerEarly(t, e)
		bill := func(ref string) string { return ref + "-" + p.a[len(p.a)-4:] }
		e.importRecords(t, []byte(csvOf(
			settlement{p.a, "2026-01-05", "南阳市中心医院", "inpatient", bill("A-1"), "30000.00", "26000.00", "15000.00", "3000.00", "2000.00", "9000.00"},
			settlement{p.b, "2026-03-05", "淅川县人民医院", "inpatient", bill("B-1"), "20000.00", "18000.00", "9000.00", "0", "1000.00", "8000.00"},
			settlement{p.a, "2026-04-20", "南阳市中心医院", "outpatient", bill("A-2"), "5000.00", "4000.00", "1500.00", "0", "0", "3000.00"},
		)), "text/csv")
		w := e.warnings(t, "finance", "FPB-2026")[0]
		require.Equal(t, "4500.00", w.ExpectedPayable)

		// 政康保 pays B's bill first (6400.00): 防贫保 does not pay it twice.
		// The household's bases become 9000, 8000 − 6400 = 1600 and 3000:
		// F(9000) = 1200, F(10600) − 1200 = 480, F(13600) − 1680 = 900.
		zb := warningOf(t, e.warnings(t, "finance", "ZKB-2026"), p.b)
		_, paid := e.fileDraft(t, zb.ID, "")
		require.Equal(t, []string{"6400.00"}, paid)
		w = e.warnings(t, "finance", "FPB-2026")[0]
		require.Equal(t, "2580.00", w.ExpectedPayable)

		// Dismissed, it stays dismissed, with the same id, as it is computed again.
		servertest.RequireStatus(t, e.setStatus(t, "admin", w.ID, "dismissed", ""), http.StatusOK)
		w2 := e.warnings(t, "finance", "FPB-2026")[0]
		require.Equal(t, w.ID, w2.ID)
		require.Equal(t, "dismissed", w2.Status)

		// A's first bill was settled on 2026-01-05: 180 days later, on
		// 2026-07-04, a claim for it would be late, so the warning no longer
		// counts it; the others add up to 1600 + 3000, below the deductible
		// of 5000: nothing is payable, and the warning is no longer listed.
		// Its status is kept.
		e.h.Clock.Set(time.Date(2026, 7, 10, 2, 0, 0, 0, time.UTC))
		require.False(t, hasWarning(e.warnings(t, "finance", "FPB-2026"), p.a))
		var status string
		require.NoError(t, d.Table("warnings").Where("id = ?", w.ID).Pluck("status", &status).Error)
		require.Equal(t, "dismissed", status)

		// A draft of a warning with nothing payable is refused, as is an
		// unknown warning.
		servertest.RequireError(t, e.h.Get(t, "insurer", "/api/v1/warnings/"+w.ID+"/claim-draft"), http.StatusConflict, "invalid_state")
		servertest.RequireError(t, e.h.Get(t, "insurer", "/api/v1/warnings/01ARZ3NDEKTSV4RRFFQ69G5FAV/claim-draft"), http.StatusNotFound, "not_found")
		servertest.RequireError(t, e.h.Get(t, "insurer", "/api/v1/warnings/nope/claim-draft"), http.StatusNotFound, "not_found")
	})
}

// TestWarningSummaryAndFilters: the summary counts the listed warnings by
// county and status; the list filters by status and county.
func TestWarningSummaryAndFilters(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := registerEarly(t, e)
		e.importRecords(t, []byte(csvOf(
			settlement{p.b, "2026-03-05", "淅川县人民医院", "inpatient", "S-B-1", "20000.00", "18000.00", "9000.00", "0", "1000.00", "8000.00"},
			settlement{p.c, "2026-05-08", "南阳市第二人民医院", "inpatient", "S-C-1", "52000.00", "48000.00", "30000.00", "6000.00", "4000.00", "10000.00"},
		)), "")
		zkb := e.warnings(t, "finance", "ZKB-2026")
		require.Len(t, zkb, 2)
		servertest.RequireStatus(t, e.setStatus(t, "finance", warningOf(t, zkb, p.c).ID, "visited", "电话已联系"), http.StatusOK)

		r := e.h.Get(t, "admin", "/api/v1/warnings/summary?plan=ZKB-2026")
		servertest.RequireStatus(t, r, http.StatusOK)
		var sum struct {
			Plan     string `json:"plan"`
			Counties []struct {
				CountyCode      string         `json:"county_code"`
				CountyName      string         `json:"county_name"`
				Warnings        int            `json:"warnings"`
				ByStatus        map[string]int `json:"by_status"`
				ExpectedPayable string         `json:"expected_payable"`
			} `json:"counties"`
			Total struct {
				Warnings        int            `json:"warnings"`
				ByStatus        map[string]int `json:"by_status"`
				ExpectedPayable string         `json:"expected_payable"`
			} `json:"total"`
		}
		r.JSON(t, &sum)
		require.Len(t, sum.Counties, 2)
		require.Equal(t, "411325", sum.Counties[0].CountyCode)
		require.Equal(t, "内乡县", sum.Counties[0].CountyName)
		require.Equal(t, 1, sum.Counties[0].ByStatus["visited"])
		require.Equal(t, "6400.00", sum.Counties[0].ExpectedPayable)
		require.Equal(t, "411326", sum.Counties[1].CountyCode)
		require.Equal(t, 1, sum.Counties[1].ByStatus["open"])
		require.Equal(t, 2, sum.Total.Warnings)
		require.Equal(t, "12800.00", sum.Total.ExpectedPayable)

		r = e.h.Get(t, "finance", "/api/v1/warnings?plan=ZKB-2026&status=visited")
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Len(t, r.Map(t)["items"], 1)
		r = e.h.Get(t, "finance", "/api/v1/warnings?plan=ZKB-2026&county_code=411326")
		servertest.RequireStatus(t, r, http.StatusOK)
		items := r.Map(t)["items"].([]any)
		require.Len(t, items, 1)
		require.Equal(t, p.b, items[0].(map[string]any)["beneficiary_ids"].([]any)[0])
	})
}

// TestPreventionRefusesBadInput: every bad request is a 4xx naming the
// field, and changes nothing.
func TestPreventionRefusesBadInput(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := registerEarly(t, e)
		e.importRecords(t, []byte(csvOf(settlement{p.c, "2026-05-08", "南阳市第二人民医院", "inpatient", "BAD-C-1", "52000.00", "48000.00", "30000.00", "6000.00", "4000.00", "10000.00"})), "")
		w := e.warnings(t, "finance", "ZKB-2026")[0]
		fields := func(r *servertest.Response) []string {
			return servertest.RequireError(t, r, http.StatusUnprocessableEntity, "validation_failed").FieldNames()
		}
		before := servertest.Count(t, d, "audit_log", "1 = 1")

		// Warnings.
		require.Equal(t, []string{"plan"}, fields(e.h.Get(t, "finance", "/api/v1/warnings")))
		require.Equal(t, []string{"plan"}, fields(e.h.Get(t, "finance", "/api/v1/warnings?plan=ZFB-2026")))
		require.Equal(t, []string{"plan"}, fields(e.h.Get(t, "finance", "/api/v1/warnings/summary?plan=CYB-2026")))
		require.Equal(t, []string{"plan"}, fields(e.h.Get(t, "finance", "/api/v1/warnings?plan=ZKB-2026%20")))
		servertest.RequireError(t, e.h.Get(t, "finance", "/api/v1/warnings?plan=NOPE-2026"), http.StatusNotFound, "not_found")
		require.ElementsMatch(t, []string{"status", "county_code", "limit"}, fields(e.h.Get(t, "finance", "/api/v1/warnings?plan=ZKB-2026&status=new&county_code=110101&limit=0")))
		require.Equal(t, []string{"cursor"}, fields(e.h.Get(t, "finance", "/api/v1/warnings?plan=ZKB-2026&cursor=eA")))
		require.Equal(t, []string{"status"}, fields(e.setStatus(t, "finance", w.ID, "open", "")))
		require.Equal(t, []string{"status"}, fields(e.h.Post(t, "finance", "/api/v1/warnings/"+w.ID+"/status", map[string]any{"note": "x"})))
		require.Equal(t, []string{"note"}, fields(e.setStatus(t, "finance", w.ID, "visited", strings.Repeat("惠", 501))))
		require.Equal(t, []string{"note"}, fields(e.setStatus(t, "finance", w.ID, "visited", "两行\n备注")))
		require.Equal(t, []string{"force"}, fields(e.h.Post(t, "finance", "/api/v1/warnings/"+w.ID+"/status", map[string]any{"status": "visited", "force": true})))
		servertest.RequireError(t, e.setStatus(t, "finance", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "visited", ""), http.StatusNotFound, "not_found")

		// Simulations.
		sim := func(body any, query string) *servertest.Response {
			return e.h.Post(t, "finance", "/api/v1/plans/FPB-2026/simulations"+query, body)
		}
		require.Equal(t, []string{"rules"}, fields(sim(map[string]any{}, "")))
		require.Equal(t, []string{"rules.causes.illness.deductible"}, fields(sim(map[string]any{"rules": map[string]any{"causes": map[string]any{"illness": map[string]any{"deductible": "-1.00"}}}}, "")))
		require.Equal(t, []string{"rules.surprise"}, fields(sim(map[string]any{"rules": map[string]any{"surprise": 1}}, "")))
		require.Equal(t, []string{"rules.causes.illness.brackets[1].up_to"}, fields(sim(map[string]any{"rules": map[string]any{"causes": map[string]any{"illness": map[string]any{
			"brackets": []any{map[string]any{"up_to": "20000.00", "rate": "0.30"}, map[string]any{"up_to": "10000.00", "rate": "0.50"}, map[string]any{"up_to": nil, "rate": "0.70"}}}}}}, "")))
		require.Equal(t, []string{"format"}, fields(sim(map[string]any{"rules": map[string]any{}}, "?format=csv")))
		require.Equal(t, []string{"deductible"}, fields(sim(map[string]any{"deductible": "1.00"}, "")))
		servertest.RequireError(t, sim(`{"rules":`, ""), http.StatusBadRequest, "bad_request")
		servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/plans/NOPE-2026/simulations", map[string]any{"rules": map[string]any{}}), http.StatusNotFound, "not_found")
		require.Equal(t, before, servertest.Count(t, d, "audit_log", "1 = 1"), "a refused request is not audited")

		// The import.
		servertest.RequireError(t, e.h.Do(t, e.importRequest(nil, "text/csv")), http.StatusUnprocessableEntity, "validation_failed")
		servertest.RequireError(t, e.h.Do(t, e.importRequest([]byte("a,b\n"), "text/csv; charset=latin1")), http.StatusUnsupportedMediaType, "unsupported_media_type")
		ans := e.importRecords(t, []byte("id_number,settled_on\n1,2\n"), "text/csv")
		require.Len(t, ans.Errors, 1)
		require.Equal(t, "header", ans.Errors[0].Field)
		require.Equal(t, before+1, servertest.Count(t, d, "audit_log", "1 = 1"), "an import that stores nothing is still audited, once")
	})
}

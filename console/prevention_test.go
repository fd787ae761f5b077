package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/mask"
	"huimin/internal/testdb"
	"huimin/prevention"
	"huimin/server/servertest"
)

// The people of the prevention pages: three 防贫保 (FPB-2026) households, one
// in 宛城区 and two in 淅川县, each with a settlement of 医保 whose self-pay
// no claim has been filed for. Under the default illness rules (deductible
// 5000.00, 0.30 up to 20000.00) they would be paid 0.30 × (12000 − 5000) =
// 2100.00, 0.30 × (9000 − 5000) = 1200.00 and 0.30 × (6000 − 5000) = 300.00.
type warnedPeople struct{ wancheng, xichuan1, xichuan2 string }

func (e *env) warnedPeople(t *testing.T) warnedPeople {
	t.Helper()
	p := warnedPeople{servertest.NewPersonID(), servertest.NewPersonID(), servertest.NewPersonID()}
	servertest.InsertPeople(t, e.d,
		servertest.Person{ID: p.wancheng, Name: "张桂兰", County: "411302", Household: servertest.Unique("HH-WC"), Categories: []string{"marginal_at_risk"}},
		servertest.Person{ID: p.xichuan1, Name: "王建国", County: "411326", Household: servertest.Unique("HH-XC"), Categories: []string{"marginal_at_risk"}},
		servertest.Person{ID: p.xichuan2, Name: "刘秀珍", County: "411326", Household: servertest.Unique("HH-XC"), Categories: []string{"unstable_out_of_poverty"}},
	)
	rows := []string{prevention.RecordsCSVHeader,
		p.wancheng + ",2026-05-10,南阳市中心医院,inpatient,WC-1,30000.00,26000.00,10000.00,2000.00,2000.00,12000.00",
		p.xichuan1 + ",2026-05-12,淅川县人民医院,inpatient,XC-1,20000.00,18000.00,7000.00,1000.00,1000.00,9000.00",
		p.xichuan2 + ",2026-05-20,淅川县人民医院,outpatient,XC-2,9000.00,8000.00,2000.00,0,0,6000.00",
	}
	r := e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/medical-records/import", Token: "admin",
		Body: []byte(strings.Join(rows, "\r\n") + "\r\n"), Header: map[string]string{"Content-Type": "text/csv; charset=utf-8"}})
	servertest.RequireStatus(t, r, http.StatusOK)
	require.Contains(t, string(r.Body), `"created":3`)
	return p
}

// warningID is the id of the FPB-2026 warning naming beneficiary, read
// through the API.
func (e *env) warningID(t *testing.T, beneficiary string) (id, status string) {
	t.Helper()
	r := e.h.Get(t, "finance", "/api/v1/warnings?plan=FPB-2026")
	servertest.RequireStatus(t, r, http.StatusOK)
	var page struct {
		Items []struct {
			ID             string   `json:"id"`
			BeneficiaryIDs []string `json:"beneficiary_ids"`
			Status         string   `json:"status"`
		} `json:"items"`
	}
	r.JSON(t, &page)
	for _, w := range page.Items {
		if len(w.BeneficiaryIDs) == 1 && w.BeneficiaryIDs[0] == beneficiary {
			return w.ID, w.Status
		}
	}
	t.Fatalf("no warning names %s: %s", beneficiary, r.Body)
	return "", ""
}

// cells are the texts of a table row's cells, tags removed.
func cells(t *testing.T, body, rowAttr string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr[^>]*` + regexp.QuoteMeta(rowAttr) + `[^>]*>(.*?)</tr>`).FindStringSubmatch(body)
	require.NotNil(t, m, "no row %s", rowAttr)
	var out []string
	for _, c := range regexp.MustCompile(`(?s)<t[dh][^>]*>(.*?)</t[dh]>`).FindAllStringSubmatch(m[1], -1) {
		out = append(out, strings.TrimSpace(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(c[1], "")))
	}
	return out
}

func TestWarningsPage(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.user(t, "finance", "fin-wang")
		e.user(t, "auditor", "aud-zhao")
		p := e.warnedPeople(t)
		fin := e.client(t)
		require.Equal(t, http.StatusSeeOther, fin.login("fin-wang", password).StatusCode)

		// In Chinese, per county: counts by status and the expected totals.
		page := fin.get("/console/warnings?plan=FPB-2026")
		require.Equal(t, http.StatusOK, page.StatusCode, page.Body)
		require.Contains(t, page.Body, "<h1>防贫预警")
		require.Equal(t, []string{"宛城区", "1", "1", "0", "0", "0", "¥2,100.00"}, cells(t, page.Body, `data-county="411302"`))
		require.Equal(t, []string{"淅川县", "2", "2", "0", "0", "0", "¥1,500.00"}, cells(t, page.Body, `data-county="411326"`))
		require.Equal(t, []string{"合计", "3", "3", "0", "0", "0", "¥3,600.00"}, cells(t, page.Body, `id="warnings-total"`))

		// The list: largest first, ids masked, bills, expected payable, status in Chinese.
		id, _ := e.warningID(t, p.wancheng)
		row := cells(t, page.Body, `data-warning="`+id+`"`)
		require.Equal(t, "宛城区", row[0])
		require.Equal(t, "张*兰 "+mask.ID(p.wancheng), row[1])
		require.Equal(t, "WC-1", row[2])
		require.Equal(t, "¥2,100.00", row[3])
		require.Equal(t, "待跟进", row[4])
		for _, full := range []string{p.wancheng, p.xichuan1, p.xichuan2} {
			require.NotContains(t, page.Body, full, "beneficiary ids are masked")
		}
		order := regexp.MustCompile(`data-warning="([0-9A-Z]+)"`).FindAllStringSubmatch(page.Body, -1)
		require.Len(t, order, 3)
		require.Equal(t, id, order[0][1], "the largest expected payable first")

		// The filter narrows the list, not the county summary.
		filtered := fin.get("/console/warnings?plan=FPB-2026&county=411326")
		require.Equal(t, http.StatusOK, filtered.StatusCode)
		require.Len(t, regexp.MustCompile(`data-warning="`).FindAllString(filtered.Body, -1), 2)
		require.NotContains(t, filtered.Body, `data-warning="`+id+`"`)

		// Keyset paging, as the API pages: two pages of two and one.
		first := fin.get("/console/warnings?plan=FPB-2026&limit=2")
		require.Len(t, regexp.MustCompile(`data-warning="`).FindAllString(first.Body, -1), 2)
		next := regexp.MustCompile(`id="next-page" href="([^"]+)"`).FindStringSubmatch(first.Body)
		require.NotNil(t, next, "a next page link")
		second := fin.get(strings.ReplaceAll(next[1], "&amp;", "&") + "&limit=2")
		require.Equal(t, http.StatusOK, second.StatusCode)
		rest := regexp.MustCompile(`data-warning="([0-9A-Z]+)"`).FindAllStringSubmatch(second.Body, -1)
		require.Len(t, rest, 1)
		require.Equal(t, order[2][1], rest[0][1])

		// Record a visit: through SetStatus, with who and when, back on the list.
		tok := csrfField.FindStringSubmatch(page.Body)[1]
		ans := fin.post("/console/warnings/"+id+"/status", url.Values{"csrf": {tok}, "plan": {"FPB-2026"}, "status": {"visited"},
			"note": {"已入户核实，家庭人均收入 4200 元"}, "status_filter": {""}})
		require.Equal(t, http.StatusSeeOther, ans.StatusCode, ans.Body)
		require.Equal(t, "/console/warnings?msg=warning_saved&plan=FPB-2026#w-"+id, ans.Header.Get("Location"))
		_, status := e.warningID(t, p.wancheng)
		require.Equal(t, "visited", status)
		page = fin.get("/console/warnings?plan=FPB-2026&msg=warning_saved")
		require.Contains(t, page.Body, "跟进情况已记录。")
		require.Equal(t, "已走访", cells(t, page.Body, `data-warning="`+id+`"`)[4])
		require.Equal(t, []string{"宛城区", "1", "0", "1", "0", "0", "¥2,100.00"}, cells(t, page.Body, `data-county="411302"`))
		require.Contains(t, page.Body, "<td>fin-wang</td><td>已走访</td><td>已入户核实，家庭人均收入 4200 元</td>")
		require.Contains(t, page.Body, "2026-06-15 10:00:00", "when, in China time")
		require.Equal(t, []string{"visited: 已入户核实，家庭人均收入 4200 元"}, e.auditOutcomes(t, "fin-wang", "warning.status"))

		// A status the service refuses: the field named, 422, nothing stored.
		bad := fin.post("/console/warnings/"+id+"/status", url.Values{"csrf": {tok}, "plan": {"FPB-2026"}, "status": {"open"}})
		require.Equal(t, http.StatusUnprocessableEntity, bad.StatusCode)
		require.Contains(t, bad.Body, "<code>status</code>")
		_, status = e.warningID(t, p.wancheng)
		require.Equal(t, "visited", status)
		require.Equal(t, http.StatusNotFound, fin.post("/console/warnings/01J0000000000000000000000Z/status",
			url.Values{"csrf": {tok}, "status": {"visited"}}).StatusCode)

		// The auditor reads the warnings, without the forms, and is refused a follow-up.
		aud := e.client(t)
		require.Equal(t, http.StatusSeeOther, aud.login("aud-zhao", password).StatusCode)
		ap := aud.get("/console/warnings?plan=FPB-2026")
		require.Equal(t, http.StatusOK, ap.StatusCode)
		require.NotContains(t, ap.Body, `action="/console/warnings/`)
		atok := aud.csrf("/console/")
		refused := aud.post("/console/warnings/"+id+"/status", url.Values{"csrf": {atok}, "status": {"dismissed"}})
		require.Equal(t, http.StatusForbidden, refused.StatusCode)
		require.Contains(t, refused.Body, "您的角色无权进行此操作")
		_, status = e.warningID(t, p.wancheng)
		require.Equal(t, "visited", status)
		require.Equal(t, http.StatusForbidden, aud.get("/console/whatif").StatusCode)

		// The English switch.
		en := fin.get("/console/warnings?plan=FPB-2026&lang=en")
		require.Contains(t, en.Body, "<h1>Early warnings")
		require.Equal(t, "Wancheng District", cells(t, en.Body, `data-county="411302"`)[0])
	})
}

// fpbClaim files a 防贫保 illness claim on FPB-2026 for a new marginal at
// risk person of county and returns the payable.
func (e *env) fpbClaim(t *testing.T, county, selfPay string) string {
	t.Helper()
	who := servertest.NewPersonID()
	servertest.InsertPeople(t, e.d, servertest.Person{ID: who, County: county, Categories: []string{"marginal_at_risk"}})
	ref := servertest.Unique("FPB-BILL")
	r := e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: map[string]any{
		"plan": "FPB-2026", "external_ref": servertest.Unique("picc-fpb"), "beneficiary_id": who, "event_date": "2026-05-01", "cause": "illness",
		"facts":    map[string]any{"household_income_per_capita": "4200.00", "bill_ref": ref, "self_pay": selfPay},
		"evidence": []map[string]any{{"kind": "settlement_sheet", "sha256": servertest.SHA(ref)}, {"kind": "invoice", "sha256": servertest.SHA(ref + "i")}},
	}, Header: map[string]string{"Idempotency-Key": servertest.Unique("key")}})
	servertest.RequireStatus(t, r, http.StatusCreated)
	return r.Map(t)["payable"].(string)
}

func TestWhatIfPage(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.user(t, "finance", "fin-wang")
		// 0.30 × (12000 − 5000) and 0.30 × (6000 − 5000); with a deductible
		// of 3000.00: 0.30 × 9000 = 2700.00 and 0.30 × 3000 = 900.00.
		require.Equal(t, "2100.00", e.fpbClaim(t, "411302", "12000.00"))
		require.Equal(t, "300.00", e.fpbClaim(t, "411326", "6000.00"))
		fin := e.client(t)
		require.Equal(t, http.StatusSeeOther, fin.login("fin-wang", password).StatusCode)

		// The current rules as a form: the illness deductible without JSON.
		page := fin.get("/console/whatif?plan=FPB-2026")
		require.Equal(t, http.StatusOK, page.StatusCode, page.Body)
		require.Contains(t, page.Body, `<label for="rule-causes-illness-deductible">因病 · 起付线</label>`)
		require.Contains(t, page.Body, `name="f.causes.illness.deductible" id="rule-causes-illness-deductible" value="5000.00"`)
		require.Contains(t, page.Body, `<label for="rule-causes-illness-brackets-1-rate">因病 · 第 2 档 · 比例</label>`)
		require.Contains(t, page.Body, "&#34;prevention_line&#34;: &#34;6000.00&#34;", "the whole rules in the JSON area")
		form := formOf(t, page.Body, "whatif-form")
		// Every programme's numbers are fields, named in words.
		for plan, label := range map[string]string{
			"ZKB-2026": `<label for="rule-ratios-illness_poverty">报销比例 · 因病致贫</label>`,
			"ZFB-2026": `<label for="rule-house_collapsed-per_room">房屋倒塌 · 每间</label>`,
			"CYB-2026": `<label for="rule-premium_subsidy-rate_with_county">保费补贴 · 有县级补贴时比例</label>`,
		} {
			other := fin.get("/console/whatif?plan=" + plan)
			require.Equal(t, http.StatusOK, other.StatusCode, other.Body)
			require.Contains(t, other.Body, label, plan)
		}

		// A lower deductible pays more: current vs proposed, by county and cause.
		form.Set("f.causes.illness.deductible", "3000.00")
		res := fin.post("/console/whatif", form)
		require.Equal(t, http.StatusOK, res.StatusCode, res.Body)
		require.Equal(t, []string{"赔付合计", "¥2,400.00", "¥3,600.00", "¥1,200.00"}, cells(t, res.Body, `id="whatif-total"`))
		require.Equal(t, []string{"受益户数", "2", "2", "0"}, cells(t, res.Body, `id="whatif-households"`))
		require.Equal(t, []string{"宛城区", "¥2,100.00", "¥2,700.00", "¥600.00"}, cells(t, res.Body, `data-county="411302"`))
		require.Equal(t, []string{"淅川县", "¥300.00", "¥900.00", "¥600.00"}, cells(t, res.Body, `data-county="411326"`))
		require.Equal(t, []string{"因病", "¥2,400.00", "¥3,600.00", "¥1,200.00"}, cells(t, res.Body, `data-cause="illness"`))
		require.Contains(t, res.Body, "<td>因病 · 起付线</td><td class=\"num\">5000.00</td><td class=\"num\">3000.00</td>")
		require.Contains(t, res.Body, `value="3000.00"`, "the form now holds the rules simulated")
		// The same numbers as the API's simulation of the same rules, and
		// nothing changed.
		api := e.h.Post(t, "finance", "/api/v1/plans/FPB-2026/simulations",
			map[string]any{"rules": map[string]any{"causes": map[string]any{"illness": map[string]any{"deductible": "3000.00"}}}})
		servertest.RequireStatus(t, api, http.StatusOK)
		require.Equal(t, "3600.00", api.Map(t)["simulated_total"])
		require.Equal(t, int64(1), servertest.Count(t, d, "claims", "payable = ?", 210000))

		// The workbook of the simulation.
		href := regexp.MustCompile(`id="whatif-xlsx" href="([^"]+)"`).FindStringSubmatch(res.Body)
		require.NotNil(t, href)
		x := fin.get(strings.ReplaceAll(href[1], "&amp;", "&"))
		require.Equal(t, http.StatusOK, x.StatusCode, x.Body)
		require.Equal(t, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", x.Header.Get("Content-Type"))
		require.True(t, strings.HasPrefix(x.Body, "PK"), "an XLSX file is a zip")

		// A change in the JSON area is kept when the fields are left as drawn.
		form = formOf(t, page.Body, "whatif-form")
		form.Set("rules", strings.Replace(form.Get("rules"), `"deductible": "5000.00"`, `"deductible": "4000.00"`, 1))
		res = fin.post("/console/whatif", form)
		require.Equal(t, http.StatusOK, res.StatusCode, res.Body)
		require.Equal(t, []string{"赔付合计", "¥2,400.00", "¥3,000.00", "¥600.00"}, cells(t, res.Body, `id="whatif-total"`))

		// Bad proposed rules: the field named, 422, the form as typed.
		form = formOf(t, page.Body, "whatif-form")
		form.Set("f.causes.illness.deductible", "三千")
		bad := fin.post("/console/whatif", form)
		require.Equal(t, http.StatusUnprocessableEntity, bad.StatusCode, bad.Body)
		require.Contains(t, bad.Body, "<code>rules.causes.illness.deductible</code>")
		require.Contains(t, bad.Body, `value="三千"`)
		require.Regexp(t, `<tr class="bad" data-path="causes.illness.deductible">`, bad.Body)
		form = formOf(t, page.Body, "whatif-form")
		form.Set("rules", `{"causes": `)
		bad = fin.post("/console/whatif", form)
		require.Equal(t, http.StatusUnprocessableEntity, bad.StatusCode, bad.Body)
		require.Contains(t, bad.Body, "<code>rules</code>：不是有效的 JSON 对象")
	})
}

// formOf reads the named inputs and text areas of the form with id on a
// page, as a browser would submit them.
func formOf(t *testing.T, body, id string) url.Values {
	t.Helper()
	m := regexp.MustCompile(`(?s)<form[^>]*id="` + id + `"[^>]*>(.*?)</form>`).FindStringSubmatch(body)
	require.NotNil(t, m, "no form %s", id)
	v := url.Values{}
	for _, in := range regexp.MustCompile(`<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
		v.Add(in[1], unescape(in[2]))
	}
	for _, ta := range regexp.MustCompile(`(?s)<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>`).FindAllStringSubmatch(m[1], -1) {
		v.Add(ta[1], unescape(ta[2]))
	}
	return v
}

func unescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

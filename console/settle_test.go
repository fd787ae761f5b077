package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/ids"
	"huimin/internal/mask"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// proRataPlan creates a ZKB plan with budget policy pro_rata as the
// administrator and returns its code.
func (e *env) proRataPlan(t testing.TB, budget string) string {
	t.Helper()
	code := servertest.Unique("ZKB-PR")
	r := e.h.Post(t, "admin", "/api/v1/plans", map[string]any{
		"code": code, "programme": "ZKB", "name": "政康保 按比例 " + code,
		"coverage_start": "2026-01-01", "coverage_end": "2026-12-31", "budget": budget, "budget_policy": "pro_rata",
	})
	servertest.RequireStatus(t, r, http.StatusCreated)
	return code
}

// approvedOn files a ZKB claim for scope on plan through the API for a new
// person of 宛城区 and approves it as finance2 (a pro_rata approval
// reserves nothing); it returns the claim's id and the person's.
func (e *env) approvedOn(t testing.TB, plan, scope string) (claim, person string) {
	t.Helper()
	person = e.person(t)
	ref := servertest.Unique("BILL")
	body := map[string]any{
		"plan": plan, "external_ref": servertest.Unique("picc-zkb"), "beneficiary_id": person,
		"event_date": "2026-05-01", "cause": "medical",
		"facts": map[string]any{
			"service_type": "inpatient", "bill_ref": ref, "total_cost": scope, "policy_scope_cost": scope,
			"basic_insurance_paid": "0", "critical_illness_paid": "0", "medical_assistance_paid": "0",
		},
		"evidence": []map[string]any{{"kind": "settlement_sheet", "sha256": servertest.SHA(ref)}},
	}
	r := e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: body,
		Header: map[string]string{"Idempotency-Key": servertest.Unique("key")}})
	servertest.RequireStatus(t, r, http.StatusCreated)
	claim = r.Map(t)["id"].(string)
	servertest.RequireStatus(t, e.h.Post(t, "finance2", "/api/v1/claims/"+claim+"/approve", map[string]any{}), http.StatusOK)
	return claim, person
}

var basisField = regexp.MustCompile(`name="basis" value="([0-9a-f]{64})"`)

// basisOn is the fingerprint the preview page's confirm form carries.
func basisOn(t testing.TB, page answer) string {
	t.Helper()
	m := basisField.FindStringSubmatch(page.Body)
	require.NotNil(t, m, "no basis field on the preview: %s", page.Body)
	return m[1]
}

// TestSettlementPreviewPage: the budget page's settle button opens the
// preview, which lists every share in Chinese with ¥ amounts and changes
// nothing; confirming a preview whose basis has changed since is refused
// with 409 and the preview anew; confirming the current one reserves the
// shares it showed.
func TestSettlementPreviewPage(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.user(t, "finance", "fin-wang")
		e.user(t, "auditor", "aud-li")
		plan := e.proRataPlan(t, "10000.00")
		a, pa := e.approvedOn(t, plan, "3333.33")
		b, _ := e.approvedOn(t, plan, "6666.67")
		c, _ := e.approvedOn(t, plan, "5000.00")
		preview := "/console/budgets/" + plan + "/settle"

		wang := e.client(t)
		require.Equal(t, http.StatusSeeOther, wang.login("fin-wang", password).StatusCode)
		p := wang.get("/console/budgets/" + plan)
		require.Equal(t, http.StatusOK, p.StatusCode)
		require.Contains(t, p.Body, `href="`+preview+`"`, "the settle button opens the preview")
		require.Contains(t, p.Body, "预览分配")

		p = wang.get(preview)
		require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
		require.Contains(t, p.Body, "按比例分配预览")
		// The totals at the top: 10000.00 / 15000.00 = 2/3.
		for _, want := range []string{
			`<strong id="settle-claims">3</strong>`, `<strong id="settle-payable">¥15,000.00</strong>`,
			`<strong id="settle-available">¥10,000.00</strong>`, `<strong id="settle-ratio">66.66%</strong>`,
			`<strong id="settle-reserved">¥9,999.99</strong>`, `<strong id="settle-left">¥0.01</strong>`,
			"第 1–3 件，共 3 件", "确认结算",
		} {
			require.Contains(t, p.Body, want)
		}
		// Each share, rounded down to the fen, in a row of its claim.
		for id, share := range map[string]string{a: "¥2,222.22", b: "¥4,444.44", c: "¥3,333.33"} {
			row := regexp.MustCompile(`(?s)<tr>\s*<td class="num">\d+</td>\s*<td><a class="mono" href="/console/claims/` + id + `">.*?</tr>`).FindString(p.Body)
			require.NotEmpty(t, row, "a row for claim %s", id)
			require.Contains(t, row, "宛城区")
			require.Contains(t, row, `<td class="num">`+share+`</td>`, "claim %s", id)
		}
		require.Contains(t, p.Body, mask.ID(pa), "the beneficiary is masked")
		require.NotContains(t, p.Body, pa, "never the whole id")
		require.Contains(t, p.Body, "李*英")
		first := basisOn(t, p)
		for _, id := range []string{a, b, c} {
			require.Equal(t, "0.00", e.claimStatus(t, id)["reserved_amount"], "a preview reserves nothing")
		}
		require.Zero(t, servertest.Count(t, d, "settlements", "plan_code = ?", plan))

		// A claim approved after the preview: confirming it is refused,
		// and the page is the preview again, with four claims now.
		late, _ := e.approvedOn(t, plan, "1000.00")
		tok := wang.csrf(preview)
		p = wang.post(preview, url.Values{"csrf": {tok}, "basis": {first}})
		require.Equal(t, http.StatusConflict, p.StatusCode, p.Body)
		require.Contains(t, p.Body, "预览后数据已变化，请重新预览")
		require.Contains(t, p.Body, `<strong id="settle-claims">4</strong>`)
		require.Contains(t, p.Body, `<strong id="settle-payable">¥16,000.00</strong>`)
		require.Zero(t, servertest.Count(t, d, "settlements", "plan_code = ?", plan), "nothing settled")
		require.Equal(t, "0.00", e.claimStatus(t, a)["reserved_amount"])
		require.Equal(t, []string{"refused: conflict"}, e.auditOutcomes(t, "fin-wang", "plan.settle"))
		second := basisOn(t, p)
		require.NotEqual(t, first, second)

		// The preview of the page just shown is what is reserved.
		shown := map[string]string{}
		for _, m := range regexp.MustCompile(`(?s)href="/console/claims/([0-9A-Z]+)">.*?<td class="num">¥[0-9,.]+</td>\s*<td class="num">¥([0-9,.]+)</td>`).FindAllStringSubmatch(p.Body, -1) {
			shown[m[1]] = strings.ReplaceAll(m[2], ",", "")
		}
		require.Len(t, shown, 4)
		p = wang.post(preview, url.Values{"csrf": {tok}, "basis": {second}})
		require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
		require.Contains(t, p.Body, "第 1 次分配：4 件理赔")
		for _, id := range []string{a, b, c, late} {
			require.Equal(t, shown[id], e.claimStatus(t, id)["reserved_amount"], "claim %s", id)
		}
		require.Equal(t, int64(1), servertest.Count(t, d, "settlements", "plan_code = ?", plan))
		outcomes := e.auditOutcomes(t, "fin-wang", "plan.settle")
		require.Len(t, outcomes, 2)
		require.True(t, strings.HasPrefix(outcomes[0], "settlement 1: 4 claims"), outcomes[0])

		// A first_come plan has nothing to settle.
		p = wang.get("/console/budgets/ZKB-2026/settle")
		require.Equal(t, http.StatusConflict, p.StatusCode)
		require.Contains(t, p.Body, "该计划按先到先得方式在批准时预留预算，无需按比例分配。")

		// Without the page's token nothing is settled; an auditor may not
		// open the preview.
		require.Equal(t, http.StatusForbidden, wang.post(preview, url.Values{"csrf": {"forged"}, "basis": {second}}).StatusCode)
		li := e.client(t)
		require.Equal(t, http.StatusSeeOther, li.login("aud-li", password).StatusCode)
		require.Equal(t, http.StatusForbidden, li.get(preview).StatusCode)
	})
}

// TestSettlementPreviewPages: a settlement of many claims is listed a page
// at a time, with the whole settlement's totals on every page.
func TestSettlementPreviewPages(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.user(t, "finance", "fin-wang")
		plan := e.proRataPlan(t, "1000.00")
		const n = 130
		now := e.h.Clock.Now()
		people := make([]servertest.Person, n)
		rows := make([]map[string]any, n)
		for i := range n {
			people[i] = servertest.Person{ID: servertest.NewPersonID(), Name: "王小明", County: "411303", Payout: payoutAccount,
				Categories: []string{"rural_destitute"}, ValidFrom: "2026-01-01"}
			id := people[i].ID
			rows[i] = map[string]any{
				"id": ids.New(now), "plan_code": plan, "programme": "ZKB", "org": "picc", "external_ref": servertest.Unique("sql"),
				"beneficiary_id": id, "household_id": "self:" + id, "cap_subject": id,
				"county_code": "411303", "event_date": "2026-05-01", "cause": "medical", "reference": servertest.Unique("BILL"),
				"service_type": "inpatient", "facts": "{}", "evidence": "[]", "status": "approved", "counted": true,
				"base": 1000, "fact_base": 1000, "payable": 1000, "reasons": "[]", "breakdown": "[]",
				"rules_version": 1, "submitted_at": now.UnixMilli(), "updated_at": now.UnixMilli(),
			}
		}
		servertest.InsertPeople(t, d, people...)
		require.NoError(t, d.Table("claims").CreateInBatches(rows, 200).Error)

		wang := e.client(t)
		require.Equal(t, http.StatusSeeOther, wang.login("fin-wang", password).StatusCode)
		preview := "/console/budgets/" + plan + "/settle"
		p := wang.get(preview)
		require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
		require.Contains(t, p.Body, "第 1–100 件，共 130 件")
		require.Contains(t, p.Body, `<strong id="settle-payable">¥1,300.00</strong>`)
		require.Equal(t, 100, strings.Count(p.Body, `href="/console/claims/`))
		next := regexp.MustCompile(`id="next-page" href="([^"]+)"`).FindStringSubmatch(p.Body)
		require.NotNil(t, next)
		basis := basisOn(t, p)

		p = wang.get(strings.ReplaceAll(next[1], "&amp;", "&"))
		require.Equal(t, http.StatusOK, p.StatusCode)
		require.Contains(t, p.Body, "第 101–130 件，共 130 件")
		require.Contains(t, p.Body, `<strong id="settle-payable">¥1,300.00</strong>`, "the totals are the whole settlement's")
		require.Contains(t, p.Body, `<td class="num">101</td>`)
		require.Equal(t, 30, strings.Count(p.Body, `href="/console/claims/`))
		require.NotContains(t, p.Body, `id="next-page"`)
		require.Contains(t, p.Body, `id="first-page"`)
		require.Equal(t, basis, basisOn(t, p), "the same basis on every page")

		// In English too.
		p = wang.get(preview + "?lang=en")
		require.Contains(t, p.Body, "Pro-rata settlement preview")
		require.Contains(t, p.Body, fmt.Sprintf("Claims 1–100 of %d", n))
	})
}

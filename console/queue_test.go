package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

var (
	queueRow   = regexp.MustCompile(`<tr data-claim="([0-9A-Z]{26})">`)
	nextPage   = regexp.MustCompile(`id="next-page" href="([^"]+)"`)
	auditLine  = regexp.MustCompile(`(?s)<tr data-action="([a-z_.]+)">\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>\s*<td[^>]*>([^<]*)</td>`)
	summaryOut = regexp.MustCompile(`<p class="summary" id="queue-summary">([^<]*)</p>`)
)

// queueIDs are the claim ids of a queue page's rows, in order.
func queueIDs(body string) []string {
	var out []string
	for _, m := range queueRow.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestQueuePage: the 待审批 page counts and totals the whole filter in
// ¥12,345.67 form, lists the queue oldest first 50 at a time with a "next
// page" link that reads the rest without a gap or a repeat, says which
// amount is malformed, and never claims to have stopped short.
func TestQueuePage(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.user(t, "finance", "fin-wang")
		big := e.claim(t, "60000.00")
		filed := []string{big}
		for range 50 {
			e.h.Clock.Advance(time.Second)
			filed = append(filed, e.claim(t, "100.00"))
		}
		e.h.Clock.Advance(time.Second)
		filed = append(filed, e.claim(t, "1234.56"))
		servertest.RequireStatus(t, e.h.Post(t, "finance2", "/api/v1/claims/"+big+"/approve", map[string]any{}), http.StatusOK)

		wang := e.client(t)
		require.Equal(t, http.StatusSeeOther, wang.login("fin-wang", password).StatusCode)
		p := wang.get("/console/queue")
		require.Equal(t, http.StatusOK, p.StatusCode)
		require.Equal(t, "符合条件：52 件，合计应付 ¥66,234.56；其中 1 件等待第二人审批", summaryOut.FindStringSubmatch(p.Body)[1])
		require.NotContains(t, p.Body, `id="truncated"`)
		first := queueIDs(p.Body)
		require.Equal(t, filed[:50], first, "the oldest 50, oldest first")
		m := nextPage.FindStringSubmatch(p.Body)
		require.NotNil(t, m, "a next page link")
		next := strings.ReplaceAll(m[1], "&amp;", "&")
		require.Equal(t, "/console/queue?after="+filed[49], next)

		p = wang.get(next)
		require.Equal(t, http.StatusOK, p.StatusCode)
		require.Equal(t, filed[50:], queueIDs(p.Body), "the rest, after the first page's last")
		require.NotContains(t, p.Body, `id="next-page"`, "the last page")
		require.Contains(t, p.Body, "符合条件：52 件，合计应付 ¥66,234.56", "the figures are the filter's, on every page")

		// A filter: the figures and the rows are the filter's; its paging
		// links keep it.
		p = wang.get("/console/queue?min=" + url.QueryEscape("1,000") + "&programme=ZKB")
		require.Equal(t, http.StatusOK, p.StatusCode)
		require.Equal(t, "符合条件：2 件，合计应付 ¥61,234.56；其中 1 件等待第二人审批", summaryOut.FindStringSubmatch(p.Body)[1])
		require.Equal(t, []string{big, filed[51]}, queueIDs(p.Body))
		p = wang.get("/console/queue?max=1234.56&county=411302")
		require.Equal(t, "符合条件：51 件，合计应付 ¥6,234.56", summaryOut.FindStringSubmatch(p.Body)[1])
		require.Equal(t, filed[1:51], queueIDs(p.Body))
		m = nextPage.FindStringSubmatch(p.Body)
		require.NotNil(t, m)
		require.Contains(t, m[1], "max=1234.56")
		require.Contains(t, m[1], "county=411302")
		require.Contains(t, m[1], "after="+filed[50])
		p = wang.get(strings.ReplaceAll(m[1], "&amp;", "&"))
		require.Equal(t, filed[51:], queueIDs(p.Body))
		require.NotContains(t, p.Body, `id="next-page"`)
		// Exactly a page's worth is one page, with no link to an empty one.
		p = wang.get("/console/queue?max=100.00")
		require.Equal(t, "符合条件：50 件，合计应付 ¥5,000.00", summaryOut.FindStringSubmatch(p.Body)[1])
		require.Len(t, queueIDs(p.Body), 50)
		require.NotContains(t, p.Body, `id="next-page"`)

		// A malformed amount is a 422 that names the field.
		p = wang.get("/console/queue?max=12.345")
		require.Equal(t, http.StatusUnprocessableEntity, p.StatusCode)
		require.Contains(t, p.Body, "最高金额：金额格式不正确")
	})
}

// TestClaimAuditHistory: the claim page lists the claim's audit records
// oldest first — China time, the actor and their role, the action and the
// outcome in Chinese, refusals included — and in English on the switch.
func TestClaimAuditHistory(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.user(t, "finance", "fin-wang")
		e.user(t, "finance", "fin-li")
		e.user(t, "auditor", "aud-zhao")
		id := e.claim(t, "60000.00")  // 10:00:00 China time
		other := e.claim(t, "500.00") // another claim's records stay on its page

		wang, li := e.client(t), e.client(t)
		require.Equal(t, http.StatusSeeOther, wang.login("fin-wang", password).StatusCode)
		require.Equal(t, http.StatusSeeOther, li.login("fin-li", password).StatusCode)
		e.h.Clock.Advance(5 * time.Minute)
		tok := wang.csrf("/console/claims/" + id)
		require.Equal(t, http.StatusSeeOther, wang.post("/console/claims/"+id+"/approve", url.Values{"csrf": {tok}}).StatusCode)
		e.h.Clock.Advance(time.Minute)
		require.Equal(t, http.StatusConflict, wang.post("/console/claims/"+id+"/approve", url.Values{"csrf": {tok}}).StatusCode)
		e.h.Clock.Advance(time.Minute)
		tok = li.csrf("/console/claims/" + id)
		require.Equal(t, http.StatusSeeOther, li.post("/console/claims/"+id+"/approve", url.Values{"csrf": {tok}}).StatusCode)
		e.h.Clock.Advance(20 * time.Minute)
		p := li.post("/console/claims/"+id+"/revoke", url.Values{"csrf": {tok}, "reason": {"发票重复"}})
		require.Equal(t, http.StatusSeeOther, p.StatusCode)
		require.Equal(t, "/console/claims/"+id+"?msg=revoked", p.Header.Get("Location"))

		aud := e.client(t)
		require.Equal(t, http.StatusSeeOther, aud.login("aud-zhao", password).StatusCode)
		p = aud.get("/console/claims/" + id)
		require.Equal(t, http.StatusOK, p.StatusCode)
		require.Contains(t, p.Body, "<h2>审计记录</h2>")
		var got [][]string
		for _, m := range auditLine.FindAllStringSubmatch(p.Body, -1) {
			got = append(got, m[1:5])
		}
		require.Equal(t, [][]string{
			{"claim.submit", "2026-06-15 10:00:00", "picc-api（保险机构）", "提交理赔"},
			{"claim.approve", "2026-06-15 10:05:00", "fin-wang（财务）", "审批理赔"},
			{"claim.approve", "2026-06-15 10:06:00", "fin-wang（财务）", "审批理赔"},
			{"claim.approve", "2026-06-15 10:07:00", "fin-li（财务）", "审批理赔"},
			{"claim.revoke", "2026-06-15 10:27:00", "fin-li（财务）", "撤销批准"},
		}, got)
		var outcomes []string
		for _, m := range auditLine.FindAllStringSubmatch(p.Body, -1) {
			outcomes = append(outcomes, m[5])
		}
		require.Equal(t, []string{"待审批", "第一人已批准，待第二人审批", "未执行：您已经批准过这件理赔，需另一位财务人员批准。", "已批准", "不予批准：发票重复"}, outcomes)
		require.NotContains(t, p.Body, other, "no record of another claim")

		// The other claim has only its own filing.
		p = aud.get("/console/claims/" + other)
		require.Len(t, auditLine.FindAllStringSubmatch(p.Body, -1), 1)

		// In English.
		p = aud.get("/console/claims/" + id + "?lang=en")
		require.Contains(t, p.Body, "<h2>Audit history</h2>")
		require.Contains(t, p.Body, "fin-li (Finance)")
		require.Contains(t, p.Body, `<td>claim.revoke</td>`, "English names the action by its code")
		require.Contains(t, p.Body, "refused: You already approved this claim; another finance approver must approve it.")
		require.Contains(t, p.Body, "declined: 发票重复")
	})
}

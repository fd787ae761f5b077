package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
)

// Browser tests: the console in a real headless Chromium (Debian's
// chromium package), driven from Go over the DevTools protocol with
// chromedp — a pure Go driver, so the tests need no Node. They run in every
// `make test`; without Chromium they are skipped locally and fail in CI
// (CI=true). With HUIMIN_SCREENSHOTS=1 they also write the screenshots of
// docs/screenshots/ (at 1366×768, the usual office screen).

// chromium returns the browser to drive.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is required in CI: apt-get install -y chromium (.ci/run installs it)")
	}
	t.Skip("Chromium not installed (apt-get install -y chromium); set CI=true to make this fatal")
	return ""
}

// newBrowser starts one Chromium for a test with a fresh profile, with
// exactly these flags, and returns a context that holds it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	t.Cleanup(cancelAlloc)
	root, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(root), "start Chromium") // no timeout: it would end the browser
	return root
}

// tab is one person at the browser: a browser context of its own (cookies
// are not shared with other tabs), 1366×768, accepting every confirmation.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func (e *env) tab(t *testing.T, browser context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1366, 768)))
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return &tab{t: t, ctx: ctx, base: e.srv.URL}
}

func runFor[T any](b *tab, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	require.NoError(b.t, err)
	return v
}

func (b *tab) run(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	runFor(b, chromedp.Steps(steps...))
}

// open loads a console page and waits for it.
func (b *tab) open(path string) {
	b.t.Helper()
	b.run(chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("main")))
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(runFor(b, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)))
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	return runFor(b, chromedp.Evaluate[string](js))
}

func (b *tab) has(sel string) bool {
	b.t.Helper()
	return runFor(b, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`)) > 0
}

func (b *tab) location() string {
	b.t.Helper()
	return strings.TrimPrefix(runFor(b, chromedp.Location()), b.base)
}

// click clicks what loads another page (accepting any confirmation), waits
// for it to load and for what it shows.
func (b *tab) click(sel, waitFor string) {
	b.t.Helper()
	runFor(b, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)))
	b.run(chromedp.WaitVisible(chromedp.CSS(waitFor)))
}

func (b *tab) type_(sel, text string) {
	b.t.Helper()
	b.run(chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (b *tab) login(name, pw string) {
	b.t.Helper()
	b.open("/console/login")
	b.type_("#name", name)
	b.type_("#password", pw)
	b.click("#login-submit", "main h1")
}

// fetch runs a same-origin request from the page, with its cookies, and
// returns the status and body: what a link or a script of the page gets.
func (b *tab) fetch(method, path string, headers map[string]string) (int, string) {
	b.t.Helper()
	h := "{"
	for k, v := range headers {
		h += jsString(k) + ":" + jsString(v) + ","
	}
	h += "}"
	type result struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	r := runFor(b, chromedp.Evaluate[result](`fetch(`+jsString(path)+`, {method: `+jsString(method)+`, headers: `+h+
		`, credentials: "same-origin", redirect: "manual"}).then(async r => ({status: r.status, body: await r.text()}))`, chromedp.EvalAwaitPromise))
	return r.Status, r.Body
}

func (b *tab) csrf() string {
	b.t.Helper()
	return b.eval(`(document.querySelector('input[name=csrf]') || {}).value || ""`)
}

func (b *tab) cookies() map[string]*network.Cookie {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/console/"}})
	require.NoError(b.t, err)
	out := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		out[c.Name] = c
	}
	return out
}

// shot saves a screenshot of the viewport as docs/screenshots/NAME.png
// when HUIMIN_SCREENSHOTS is set.
func (b *tab) shot(name string) {
	b.t.Helper()
	if os.Getenv("HUIMIN_SCREENSHOTS") == "" {
		return
	}
	png := runFor(b, chromedp.CaptureScreenshot())
	dir := filepath.Join("..", "docs", "screenshots")
	require.NoError(b.t, os.MkdirAll(dir, 0o755))
	require.NoError(b.t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

// TestBrowser walks a day at the console in Chromium, on each database: a
// failed sign-in, the queue in Chinese, approving from it, declining with a
// reason, dual approval refused for the same person across the API and the
// console and given by a second one, the budget, a disbursement batch with
// its bank file and results, the English switch, the auditor's ledger,
// export and verification, the auditor refused an approval, a request
// without its CSRF token refused, and a session ended by idleness.
func TestBrowser(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		browser := newBrowser(t)
		e := newEnv(t, d)
		e.user(t, "finance", "fin-wang")
		e.user(t, "finance", "fin-li")
		e.user(t, "auditor", "aud-zhao")
		shots := strings.HasSuffix(t.Name(), "sqlite")
		toApprove := e.claim(t, "8000.00")
		toDecline := e.claim(t, "9000.00")
		dual := e.claim(t, "60000.00")
		// fin-wang gives the first approval of the large claim over the API.
		r := e.h.Post(t, "finance", "/api/v1/claims/"+dual+"/approve", map[string]any{})
		require.Equal(t, 200, r.Status, "body: %s", r.Body)
		e.h.Clock.Advance(time.Minute)

		wang := e.tab(t, browser)
		t.Run("a failed sign-in sets no session", func(t *testing.T) {
			wang.t = t
			wang.login("fin-wang", "not-the-password-1")
			require.Contains(t, wang.text("#problem"), "用户名或密码不正确")
			require.NotContains(t, wang.cookies(), "hm_session")
			if shots {
				wang.shot("login")
			}
		})

		t.Run("sign in: the queue in Chinese", func(t *testing.T) {
			wang.t = t
			wang.login("fin-wang", password)
			require.Equal(t, "/console/", wang.location())
			require.Contains(t, wang.cookies(), "hm_session")
			require.True(t, wang.cookies()["hm_session"].HTTPOnly)
			require.Equal(t, network.CookieSameSiteStrict, wang.cookies()["hm_session"].SameSite)
			require.Equal(t, "3 件待审批，合计应付 ¥77,000.00", wang.text("#queue-count"))
			if shots {
				wang.shot("home")
			}
			wang.open("/console/queue")
			require.Equal(t, "符合条件：3 件，合计应付 ¥77,000.00；其中 1 件等待第二人审批", wang.text("#queue-summary"))
			row := wang.text(`tr[data-claim="` + toApprove + `"]`)
			for _, want := range []string{"李*英", "政康保", "宛城区", "医疗", "2026-05-01", "¥8,000.00"} {
				require.Contains(t, row, want)
			}
			require.Contains(t, wang.text(`tr[data-claim="`+dual+`"]`), "待第二人审批 fin-wang")
			// Oldest first.
			order := runFor(wang, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#queue tbody tr")].map(r => r.dataset.claim)`))
			require.Equal(t, []string{toApprove, toDecline, dual}, order)
			if shots {
				wang.shot("queue")
			}
			// A filter narrows the count and total.
			wang.open("/console/queue?min=8500")
			require.Equal(t, "符合条件：2 件，合计应付 ¥69,000.00；其中 1 件等待第二人审批", wang.text("#queue-summary"))
		})

		t.Run("approve from the queue", func(t *testing.T) {
			wang.t = t
			wang.open("/console/queue")
			wang.run(chromedp.Click(chromedp.CSS(`tr[data-claim="` + toApprove + `"] input[name=id]`)))
			wang.click("#approve-selected", "#results-summary")
			require.Equal(t, "成功 1 件，未成功 0 件", wang.text("#results-summary"))
			require.Contains(t, wang.text(`#results tr[data-claim="`+toApprove+`"]`), "已批准")
			c := e.claimStatus(t, toApprove)
			require.Equal(t, "approved", c["status"])
			require.Equal(t, "fin-wang", c["approvals"].([]any)[0].(map[string]any)["actor"])
		})

		t.Run("decline with a reason", func(t *testing.T) {
			wang.t = t
			wang.open("/console/claims/" + toDecline)
			require.Contains(t, wang.text("#breakdown"), "计算基数：政策范围内费用 9000.00")
			if shots {
				wang.shot("claim")
			}
			wang.type_("#decline-reason", "发票与结算单不符")
			wang.click("#decline", "#notice")
			require.Equal(t, "已不予批准。", wang.text("#notice"))
			require.Equal(t, "不予批准", wang.text("#claim-status"))
			require.Equal(t, "declined", e.claimStatus(t, toDecline)["status"])
			require.Equal(t, []string{"declined: 发票与结算单不符"}, e.auditOutcomes(t, "fin-wang", "claim.decline"))
		})

		li := e.tab(t, browser)
		t.Run("dual approval: the same person twice is refused, a second person completes it", func(t *testing.T) {
			wang.t, li.t = t, t
			wang.open("/console/claims/" + dual)
			require.Contains(t, wang.text("main"), "需两位不同的财务人员批准")
			wang.click("#approve", "#problem")
			require.Contains(t, wang.text("#problem"), "您已经批准过这件理赔")
			require.Equal(t, "assessed", e.claimStatus(t, dual)["status"])
			li.login("fin-li", password)
			li.open("/console/claims/" + dual)
			li.click("#approve", "#notice")
			require.Equal(t, "已批准。", li.text("#notice"))
			require.Equal(t, "已批准", li.text("#claim-status"))
			require.Contains(t, li.text("#approvals"), "fin-wang")
			require.Contains(t, li.text("#approvals"), "fin-li")
		})

		t.Run("the budget in figures", func(t *testing.T) {
			wang.t = t
			wang.open("/console/budgets/ZKB-2026")
			require.Equal(t, "¥129,932,000.00", wang.text("#available"))
			require.Contains(t, wang.text("#figures"), "¥130,000,000.00")
			require.Contains(t, wang.text("#figures"), "¥68,000.00")
			if shots {
				wang.shot("budget")
			}
		})

		var batchURL string
		t.Run("a disbursement batch, its bank file and results", func(t *testing.T) {
			wang.t = t
			wang.open("/console/disbursements/new?plan=ZKB-2026")
			require.Contains(t, wang.text("#candidates"), toApprove)
			require.Contains(t, wang.text("#candidates"), dual)
			wang.click("#create-batch", "#notice")
			require.Equal(t, "发放批次已生成。", wang.text("#notice"))
			require.Equal(t, "¥68,000.00", wang.text("#batch-total"))
			batchURL = strings.SplitN(wang.location(), "?", 2)[0]
			status, csv := wang.fetch("GET", batchURL+"/bank.csv", nil)
			require.Equal(t, 200, status)
			require.Contains(t, csv, "batch_id,plan,claim_id,payout_account,amount,status")
			require.Contains(t, csv, toApprove+","+payoutAccount+",8000.00,in_payment")
			require.Contains(t, csv, dual+","+payoutAccount+",60000.00,in_payment")
			require.Equal(t, []string{"2 rows"}, e.auditOutcomes(t, "fin-wang", "disbursement.bank_file"))
			// The 发放清册 for the bank, as XLSX (a zip), audited.
			status, xlsx := wang.fetch("GET", batchURL+"/roster.xlsx", nil)
			require.Equal(t, 200, status)
			require.True(t, strings.HasPrefix(xlsx, "PK"), "an XLSX file is a zip")
			require.Len(t, e.auditOutcomes(t, "fin-wang", "disbursement.roster"), 1)
			if shots {
				wang.shot("batch")
			}
			// The bank paid one and returned the other.
			wang.run(
				chromedp.SetValue(chromedp.CSS(`select[name="outcome_`+toApprove+`"]`), "paid"),
				chromedp.SendKeys(chromedp.CSS(`input[name="ref_`+toApprove+`"]`), "ICBC-0001"),
				chromedp.SetValue(chromedp.CSS(`select[name="outcome_`+dual+`"]`), "failed"),
				chromedp.SendKeys(chromedp.CSS(`input[name="reason_`+dual+`"]`), "账户已销户"),
			)
			wang.click("#save-results", "#notice")
			require.Equal(t, "银行结果已记录。", wang.text("#notice"))
			require.Equal(t, "部分失败", wang.text("#batch-status"))
			require.Equal(t, "paid", e.claimStatus(t, toApprove)["status"])
			require.Equal(t, "approved", e.claimStatus(t, dual)["status"])
			// The failed one goes in a new batch.
			wang.click("#rebatch", "#candidates")
			wang.click("#create-batch", "#notice")
			require.Equal(t, "¥60,000.00", wang.text("#batch-total"))
			require.Equal(t, "disbursed", e.claimStatus(t, dual)["status"])
		})

		t.Run("the English switch", func(t *testing.T) {
			wang.t = t
			wang.open("/console/queue")
			wang.click("#lang-switch", "main h1")
			require.Equal(t, "Approval queue", wang.text("main h1"))
			require.Equal(t, "No claims await approval.", wang.text(".empty"))
			wang.open("/console/budgets/ZKB-2026")
			require.Equal(t, "¥129,932,000.00", wang.text("#available"), "amounts read the same")
			require.Contains(t, wang.text(".nav"), "Disbursements")
			wang.click("#lang-switch", "main h1")
			require.Contains(t, wang.text(".nav"), "待审批")
		})

		aud := e.tab(t, browser)
		t.Run("the auditor: ledger, export, verification", func(t *testing.T) {
			aud.t = t
			aud.login("aud-zhao", password)
			aud.open("/console/ledger?plan=ZKB-2026")
			require.Contains(t, aud.text("#chain"), "完整")
			head := aud.text("#head-hash")
			require.Len(t, head, 64)
			require.Contains(t, aud.text("#entries"), "预留")
			if shots {
				aud.shot("ledger")
			}
			href := aud.eval(`document.querySelector("#export-csv").getAttribute("href")`)
			status, export := aud.fetch("GET", href, nil)
			require.Equal(t, 200, status)
			require.Contains(t, export, head, "the export ends at the head")
			require.Equal(t, []string{"csv"}, e.auditOutcomes(t, "aud-zhao", "ledger.export"))

			dir := t.TempDir()
			good, bad := filepath.Join(dir, "ledger.csv"), filepath.Join(dir, "edited.csv")
			require.NoError(t, os.WriteFile(good, []byte(export), 0o600))
			require.NoError(t, os.WriteFile(bad, []byte(strings.Replace(export, ",8000.00,", ",8001.00,", 1)), 0o600))
			aud.open("/console/ledger/verify")
			aud.run(chromedp.SetUploadFiles(chromedp.CSS("#verify-file"), []string{good}))
			aud.click("#verify-submit", "#verify-result")
			require.Contains(t, aud.text("#verify-result"), "文件完整")
			aud.run(chromedp.SetUploadFiles(chromedp.CSS("#verify-file"), []string{bad}))
			aud.click("#verify-submit", "#verify-result")
			require.Contains(t, aud.text("#verify-result"), "文件已被改动")
		})

		t.Run("the auditor sees no approve button and is refused one", func(t *testing.T) {
			aud.t = t
			other := e.claim(t, "1000.00")
			aud.open("/console/claims/" + other)
			require.Contains(t, aud.text("#payable"), "¥1,000.00")
			require.False(t, aud.has("#approve"))
			status, body := aud.fetch("POST", "/console/claims/"+other+"/approve", map[string]string{"X-CSRF-Token": aud.csrf()})
			require.Equal(t, 403, status)
			require.Contains(t, body, "您的角色无权进行此操作")
			require.Equal(t, "assessed", e.claimStatus(t, other)["status"])

			// A finance user's request without the token is refused too.
			li.t = t
			li.open("/console/")
			status, _ = li.fetch("POST", "/console/claims/"+other+"/approve", nil)
			require.Equal(t, 403, status)
			require.Equal(t, "assessed", e.claimStatus(t, other)["status"])
		})

		t.Run("an idle session ends", func(t *testing.T) {
			wang.t = t
			e.h.Clock.Advance(31 * time.Minute)
			wang.open("/console/queue")
			require.True(t, strings.HasPrefix(wang.location(), "/console/login?expired=1"), wang.location())
			require.Equal(t, "您已长时间未操作，请重新登录。", wang.text("#problem"))
		})
	})
}

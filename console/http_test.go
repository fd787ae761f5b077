package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// These tests speak HTTP to the real server as a browser would, to check
// what a browser test cannot see: cookie flags, statuses, redirects and the
// stored state. browser_test.go drives the same flows in Chromium.

func TestSignIn(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.user(t, "finance", "fin-wang")
		c := e.client(t)

		// / and every console page without a session go to the sign-in page.
		p := c.get("/")
		require.Equal(t, http.StatusFound, p.StatusCode)
		require.Equal(t, "/console/", p.Header.Get("Location"))
		p = c.get("/console/queue?plan=ZKB-2026")
		require.Equal(t, http.StatusSeeOther, p.StatusCode)
		require.Equal(t, "/console/login?next=%2Fconsole%2Fqueue%3Fplan%3DZKB-2026", p.Header.Get("Location"))

		// A failed sign-in sets no session and says the same for an unknown
		// name as for a wrong password.
		p = c.login("fin-wang", "wrong-password-123")
		require.Equal(t, http.StatusUnauthorized, p.StatusCode)
		require.Nil(t, cookie(p, "hm_session"), "a failed sign-in sets no session cookie")
		require.Contains(t, p.Body, "用户名或密码不正确")
		require.Contains(t, p.Body, `value="fin-wang"`, "the name is kept")
		q := c.login("nobody", "wrong-password-123")
		require.Equal(t, http.StatusUnauthorized, q.StatusCode)
		require.Contains(t, q.Body, "用户名或密码不正确")
		require.Equal(t, http.StatusSeeOther, c.get("/console/").StatusCode, "still no session")
		require.Equal(t, []string{"failed: wrong password"}, e.auditOutcomes(t, "fin-wang", "session.login"))
		require.Equal(t, []string{"failed: unknown user"}, e.auditOutcomes(t, "nobody", "session.login"))

		// A sign-in without the page's CSRF field is refused.
		p = c.post("/console/login", url.Values{"name": {"fin-wang"}, "password": {password}})
		require.Equal(t, http.StatusForbidden, p.StatusCode)
		require.Nil(t, cookie(p, "hm_session"))

		// The right password: a session cookie, HttpOnly, SameSite=Strict,
		// on /console/, not Secure over plain HTTP; and back where the user
		// was going.
		tok := c.csrf("/console/login?next=%2Fconsole%2Fbudgets")
		p = c.post("/console/login", url.Values{"csrf": {tok}, "name": {"fin-wang"}, "password": {password}, "next": {"/console/budgets"}})
		require.Equal(t, http.StatusSeeOther, p.StatusCode, p.Body)
		require.Equal(t, "/console/budgets", p.Header.Get("Location"))
		ck := cookie(p, "hm_session")
		require.NotNil(t, ck)
		require.True(t, ck.HttpOnly)
		require.Equal(t, http.SameSiteStrictMode, ck.SameSite)
		require.Equal(t, "/console/", ck.Path)
		require.False(t, ck.Secure)
		require.Len(t, ck.Value, 43, "32 random bytes")
		require.Equal(t, int64(0), servertest.Count(t, d, "sessions", "id = ?", ck.Value), "only the hash is stored")
		require.Equal(t, int64(1), servertest.Count(t, d, "sessions", "1 = 1"))
		p = c.get("/console/")
		require.Equal(t, http.StatusOK, p.StatusCode)
		require.Contains(t, p.Body, "fin-wang · 财务")
		require.Equal(t, []string{"signed_in", "failed: wrong password"}, e.auditOutcomes(t, "fin-wang", "session.login"))

		// A redirect off the console is not followed.
		tok = c.csrf("/console/login")
		p = c.post("/console/login", url.Values{"csrf": {tok}, "name": {"fin-wang"}, "password": {password}, "next": {"//evil.example/console/"}})
		require.Equal(t, "/console/", p.Header.Get("Location"))

		// Behind a TLS proxy the cookie is Secure.
		tok = c.csrf("/console/login")
		p = c.post("/console/login", url.Values{"csrf": {tok}, "name": {"fin-wang"}, "password": {password}}, "X-Forwarded-Proto", "https")
		require.True(t, cookie(p, "hm_session").Secure)

		// Signing out ends the session on the server, and is audited.
		c2 := e.client(t)
		require.Equal(t, http.StatusSeeOther, c2.login("fin-wang", password).StatusCode)
		tok = c2.csrf("/console/")
		p = c2.post("/console/logout", url.Values{"csrf": {tok}})
		require.Equal(t, http.StatusSeeOther, p.StatusCode)
		require.Equal(t, "/console/login?out=1", p.Header.Get("Location"))
		require.Equal(t, http.StatusSeeOther, c2.get("/console/").StatusCode)
		require.Equal(t, []string{"signed_out"}, e.auditOutcomes(t, "fin-wang", "session.logout"))
	})
}

func TestCSRFRefused(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.user(t, "finance", "fin-wang")
		e.user(t, "finance", "fin-li")
		id := e.claim(t, "8000.00")
		c, other := e.client(t), e.client(t)
		require.Equal(t, http.StatusSeeOther, c.login("fin-wang", password).StatusCode)
		require.Equal(t, http.StatusSeeOther, other.login("fin-li", password).StatusCode)
		othersToken := other.csrf("/console/")

		for name, form := range map[string]url.Values{
			"no token":          {},
			"another session's": {"csrf": {othersToken}},
			"a token made up":   {"csrf": {strings.Repeat("A", 43)}},
		} {
			p := c.post("/console/claims/"+id+"/approve", form)
			require.Equal(t, http.StatusForbidden, p.StatusCode, name)
			require.Contains(t, p.Body, "页面已过期或来源不明", name)
		}
		// The right token from another site's page is refused by its Origin.
		tok := c.csrf("/console/claims/" + id)
		p := c.post("/console/claims/"+id+"/approve", url.Values{"csrf": {tok}}, "Origin", "http://evil.example")
		require.Equal(t, http.StatusForbidden, p.StatusCode)
		require.Equal(t, "assessed", e.claimStatus(t, id)["status"], "nothing was approved")
		require.Empty(t, e.auditOutcomes(t, "fin-wang", "claim.approve"))

		// The header form of the token, as a script's fetch sends it.
		p = c.post("/console/claims/"+id+"/approve", url.Values{}, "X-CSRF-Token", tok)
		require.Equal(t, http.StatusSeeOther, p.StatusCode, p.Body)
		require.Equal(t, "approved", e.claimStatus(t, id)["status"])
	})
}

func TestLockout(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.user(t, "finance", "fin-wang")
		c := e.client(t)
		for i := 1; i <= 4; i++ {
			p := c.login("fin-wang", "wrong-password-123")
			require.Equal(t, http.StatusUnauthorized, p.StatusCode, "attempt %d", i)
			e.h.Clock.Advance(time.Minute)
		}
		// The fifth failure within 15 minutes locks the name, and says so.
		p := c.login("fin-wang", "wrong-password-123")
		require.Equal(t, http.StatusTooManyRequests, p.StatusCode)
		require.Contains(t, p.Body, "登录失败次数过多")
		// The first failure was at 10:00 China time: locked until 10:15.
		require.Contains(t, p.Body, "2026-06-15 10:15:00")
		// Locked, the right password is refused too, and no session is made.
		p = c.login("fin-wang", password)
		require.Equal(t, http.StatusTooManyRequests, p.StatusCode)
		require.Nil(t, cookie(p, "hm_session"))
		require.Equal(t, int64(0), servertest.Count(t, d, "sessions", "1 = 1"))
		require.Equal(t, "refused: locked", e.auditOutcomes(t, "fin-wang", "session.login")[0])
		// Another name is not locked.
		e.user(t, "finance", "fin-li")
		require.Equal(t, http.StatusSeeOther, e.client(t).login("fin-li", password).StatusCode)

		// Once the first failures leave the 15-minute window, it opens.
		e.h.Clock.Advance(11 * time.Minute) // 10:15
		p = c.login("fin-wang", password)
		require.Equal(t, http.StatusSeeOther, p.StatusCode, p.Body)
		require.Equal(t, int64(0), servertest.Count(t, d, "login_failures", "name = ?", "fin-wang"), "a sign-in clears the failures")
	})
}

func TestSessionEnds(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.user(t, "finance", "fin-wang")
		c := e.client(t)
		require.Equal(t, http.StatusSeeOther, c.login("fin-wang", password).StatusCode)

		// Used every 29 minutes, a session stays open past 30.
		for range 3 {
			e.h.Clock.Advance(29 * time.Minute)
			require.Equal(t, http.StatusOK, c.get("/console/budgets").StatusCode)
		}
		// Idle for 30 minutes, it is over: the sign-in page says why.
		e.h.Clock.Advance(30 * time.Minute)
		p := c.get("/console/budgets")
		require.Equal(t, http.StatusSeeOther, p.StatusCode)
		require.Equal(t, "/console/login?expired=1&next=%2Fconsole%2Fbudgets", p.Header.Get("Location"))
		require.Contains(t, c.get(p.Header.Get("Location")).Body, "您已长时间未操作")
		require.Equal(t, []string{"expired: idle"}, e.auditOutcomes(t, "fin-wang", "session.expire"))
		require.Equal(t, int64(0), servertest.Count(t, d, "sessions", "1 = 1"))

		// However busy, a session ends 12 hours after sign-in.
		require.Equal(t, http.StatusSeeOther, c.login("fin-wang", password).StatusCode)
		for range 24 {
			e.h.Clock.Advance(29 * time.Minute)
			require.Equal(t, http.StatusOK, c.get("/console/").StatusCode)
		}
		e.h.Clock.Advance(29 * time.Minute) // 12 h 05 min
		require.Equal(t, http.StatusSeeOther, c.get("/console/").StatusCode)
		require.Equal(t, "expired: max age", e.auditOutcomes(t, "fin-wang", "session.expire")[0])

		// Disabling a user ends their sessions at once.
		require.Equal(t, http.StatusSeeOther, c.login("fin-wang", password).StatusCode)
		admin := e.client(t)
		e.user(t, "admin", "adm-chen")
		require.Equal(t, http.StatusSeeOther, admin.login("adm-chen", password).StatusCode)
		tok := admin.csrf("/console/users")
		p = admin.post("/console/users/fin-wang/disable", url.Values{"csrf": {tok}})
		require.Equal(t, http.StatusSeeOther, p.StatusCode, p.Body)
		require.Equal(t, http.StatusSeeOther, c.get("/console/").StatusCode)
		require.Equal(t, int64(0), servertest.Count(t, d, "sessions", "user_id = (SELECT id FROM users WHERE name = ?)", "fin-wang"))
		p = c.login("fin-wang", password)
		require.Equal(t, http.StatusForbidden, p.StatusCode)
		require.Contains(t, p.Body, "该账户已停用")
	})
}

func TestRolesAndActors(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.user(t, "finance", "fin-wang")
		e.user(t, "finance", "fin-li")
		e.user(t, "auditor", "aud-zhao")
		id := e.claim(t, "60000.00") // at the dual approval threshold of 50000.00

		// An auditor sees the claim without the approve button, and a post
		// with a valid token is 403 and changes nothing.
		aud := e.client(t)
		require.Equal(t, http.StatusSeeOther, aud.login("aud-zhao", password).StatusCode)
		p := aud.get("/console/claims/" + id)
		require.Equal(t, http.StatusOK, p.StatusCode)
		require.Contains(t, p.Body, "¥60,000.00")
		require.NotContains(t, p.Body, `id="approve"`)
		tok := aud.csrf("/console/claims/" + id)
		p = aud.post("/console/claims/"+id+"/approve", url.Values{"csrf": {tok}})
		require.Equal(t, http.StatusForbidden, p.StatusCode)
		require.Contains(t, p.Body, "您的角色无权进行此操作")
		require.Equal(t, http.StatusForbidden, aud.get("/console/queue").StatusCode)
		require.Empty(t, e.claimStatus(t, id)["approvals"])

		// fin-wang approves over the API with a token; the console user
		// fin-wang is the same actor and cannot give the second approval.
		servertest.RequireStatus(t, e.h.Post(t, "finance", "/api/v1/claims/"+id+"/approve", map[string]any{}), http.StatusOK)
		wang := e.client(t)
		require.Equal(t, http.StatusSeeOther, wang.login("fin-wang", password).StatusCode)
		tok = wang.csrf("/console/claims/" + id)
		p = wang.post("/console/claims/"+id+"/approve", url.Values{"csrf": {tok}})
		require.Equal(t, http.StatusConflict, p.StatusCode)
		require.Contains(t, p.Body, "您已经批准过这件理赔")
		require.Equal(t, "assessed", e.claimStatus(t, id)["status"])
		require.Contains(t, e.auditOutcomes(t, "fin-wang", "claim.approve"), "refused: same_approver")

		// fin-li, in the console, completes it a minute later: the approval
		// and the reservation are under fin-li's name.
		e.h.Clock.Advance(time.Minute)
		li := e.client(t)
		require.Equal(t, http.StatusSeeOther, li.login("fin-li", password).StatusCode)
		tok = li.csrf("/console/claims/" + id)
		p = li.post("/console/claims/"+id+"/approve", url.Values{"csrf": {tok}})
		require.Equal(t, http.StatusSeeOther, p.StatusCode, p.Body)
		require.Equal(t, "/console/claims/"+id+"?msg=approved", p.Header.Get("Location"))
		c := e.claimStatus(t, id)
		require.Equal(t, "approved", c["status"])
		actors := []string{}
		for _, a := range c["approvals"].([]any) {
			actors = append(actors, a.(map[string]any)["actor"].(string))
		}
		require.Equal(t, []string{"fin-wang", "fin-li"}, actors)
		require.Equal(t, int64(1), servertest.Count(t, d, "ledger_entries", "claim_id = ? AND kind = 'reserve' AND actor = ?", id, "fin-li"))
		require.Equal(t, []string{"approved"}, e.auditOutcomes(t, "fin-li", "claim.approve"))
	})
}

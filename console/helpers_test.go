package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/server/servertest"
)

// env is the real application on a test database (servertest: the seeded
// plans and a token per role), served over HTTP on a loopback port as a
// browser reaches it.
type env struct {
	h   *servertest.Harness
	d   *db.DB
	srv *httptest.Server
}

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	h := servertest.New(t, d)
	srv := httptest.NewServer(h.App.Echo)
	t.Cleanup(srv.Close)
	return &env{h: h, d: d, srv: srv}
}

// password is every test user's password (it contains no user's name).
const password = "Wancheng-惠民-2026"

// user creates a console user with the test password.
func (e *env) user(t testing.TB, role, name string) {
	t.Helper()
	_, _, err := e.h.App.Users.Create(context.Background(), audit.Who{Actor: "test", Role: auth.Admin},
		auth.NewUserInput{Role: role, Name: name, Password: password})
	require.NoError(t, err)
}

// payoutAccount is every registered person's bank card.
const payoutAccount = "6222020000000000001"

// person registers a rural destitute beneficiary of 宛城区 (ZKB ratio 1.00:
// the payable is the policy-scope cost) and returns the id.
func (e *env) person(t testing.TB) string {
	t.Helper()
	p := servertest.Person{ID: servertest.NewPersonID(), Name: "李秀英", County: "411302", Payout: payoutAccount,
		Categories: []string{"rural_destitute"}, ValidFrom: "2026-01-01"}
	servertest.RequireStatus(t, e.h.PutPerson(t, p), http.StatusCreated)
	return p.ID
}

// claim files a ZKB inpatient claim for scope on ZKB-2026 through the API
// as the insurer, for a new person, and returns its id; it is assessed with
// payable == scope.
func (e *env) claim(t testing.TB, scope string) string {
	t.Helper()
	ref := servertest.Unique("BILL")
	body := map[string]any{
		"plan": "ZKB-2026", "external_ref": servertest.Unique("picc-zkb"), "beneficiary_id": e.person(t),
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
	m := r.Map(t)
	require.Equal(t, "assessed", m["status"], "body: %s", r.Body)
	require.Equal(t, scope, m["payable"])
	return m["id"].(string)
}

// claimStatus reads a claim through the API.
func (e *env) claimStatus(t testing.TB, id string) map[string]any {
	t.Helper()
	r := e.h.Get(t, "auditor", "/api/v1/claims/"+id)
	servertest.RequireStatus(t, r, http.StatusOK)
	return r.Map(t)
}

// auditOutcomes lists the outcomes of the audit records of an action by an
// actor, newest first.
func (e *env) auditOutcomes(t testing.TB, actor, action string) []string {
	t.Helper()
	r := e.h.Get(t, "auditor", "/api/v1/audit?actor="+url.QueryEscape(actor)+"&action="+url.QueryEscape(action))
	servertest.RequireStatus(t, r, http.StatusOK)
	var page struct {
		Items []struct{ Outcome string } `json:"items"`
	}
	r.JSON(t, &page)
	out := make([]string, len(page.Items))
	for i, it := range page.Items {
		out[i] = it.Outcome
	}
	return out
}

// client is a browser-like HTTP client: a cookie jar, redirects not
// followed, so that each answer can be checked as sent.
type client struct {
	t    testing.TB
	base string
	c    *http.Client
}

func (e *env) client(t testing.TB) *client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &client{t: t, base: e.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// page is an answer with its body read.
type answer struct {
	*http.Response
	Body string
}

func (c *client) do(req *http.Request) answer {
	c.t.Helper()
	resp, err := c.c.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return answer{Response: resp, Body: string(b)}
}

func (c *client) get(path string) answer {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	require.NoError(c.t, err)
	return c.do(req)
}

func (c *client) post(path string, form url.Values, header ...string) answer {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of the forms on a page.
func (c *client) csrf(path string) string {
	c.t.Helper()
	p := c.get(path)
	require.Equal(c.t, http.StatusOK, p.StatusCode, "GET %s: %s", path, p.Body)
	m := csrfField.FindStringSubmatch(p.Body)
	require.NotNil(c.t, m, "no csrf field on %s", path)
	return m[1]
}

// login signs in through the form and returns the answer (303 on success).
func (c *client) login(name, pw string) answer {
	c.t.Helper()
	tok := c.csrf("/console/login")
	return c.post("/console/login", url.Values{"csrf": {tok}, "name": {name}, "password": {pw}})
}

// cookie returns the named cookie the answer set, or nil.
func cookie(p answer, name string) *http.Cookie {
	for _, ck := range p.Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

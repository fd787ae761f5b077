package console

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"huimin/internal/auth"
	"huimin/internal/web"
)

// The sign-in page carries a CSRF token before there is a session: the
// same random value in a cookie and in the form's hidden field csrf (a
// double submit), so that another site cannot sign a browser in under an
// account of its choosing.

type loginData struct {
	Name string
	Next string
}

func (c *Console) loginPage(r *request) error {
	tok := newLoginToken()
	r.SetCookie(&http.Cookie{Name: loginCSRF, Value: tok, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overTLS(r.Context)})
	var opts []func(*Page)
	switch {
	case r.QueryParam("expired") != "":
		opts = append(opts, withProblem(r.T("login.expired")))
	case r.QueryParam("out") != "":
		opts = append(opts, withNotice(r.T("login.signedout")))
	}
	opts = append(opts, func(p *Page) { p.CSRF = tok })
	return r.render(http.StatusOK, "login", "login.title", "", loginData{Next: safeNext(r.QueryParam("next"))}, opts...)
}

func newLoginToken() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// safeNext keeps a redirect after sign-in on the console: a path under
// /console/ and nothing that a browser could read as another host.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return ""
	}
	return next
}

// login checks the form. A failed sign-in sets no session cookie; the form
// comes back with the name kept and a message that does not tell an
// unknown name from a wrong password.
func (c *Console) login(r *request) error {
	name, password := strings.TrimSpace(r.FormValue("name")), r.FormValue("password")
	next := safeNext(r.FormValue("next"))
	again := func(status int, msg string) error {
		tok := newLoginToken()
		r.SetCookie(&http.Cookie{Name: loginCSRF, Value: tok, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overTLS(r.Context)})
		return r.render(status, "login", "login.title", "", loginData{Name: name, Next: next},
			withProblem(msg), func(p *Page) { p.CSRF = tok })
	}
	ck, err := r.Cookie(loginCSRF)
	if err != nil || !auth.SameToken(r.FormValue("csrf"), ck.Value) || !sameOrigin(r.Context) {
		return again(http.StatusForbidden, r.T("login.csrf"))
	}
	s, until, err := c.Users.SignIn(r.Request().Context(), name, password, web.RequestID(r.Context))
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		return again(http.StatusUnauthorized, r.T("login.failed"))
	case errors.Is(err, auth.ErrLockedOut):
		return again(http.StatusTooManyRequests, r.Tf("login.locked", chinaTime(until)))
	case errors.Is(err, auth.ErrUserDisabled):
		return again(http.StatusForbidden, r.T("login.disabled"))
	case err != nil:
		status, msg, _ := r.problemOf(err)
		return again(status, msg)
	}
	clearCookie(r.Context, loginCSRF)
	r.SetCookie(&http.Cookie{Name: sessionCookie, Value: s.Raw, Path: Prefix, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: overTLS(r.Context)})
	if next == "" {
		next = Prefix
	}
	return r.Redirect(http.StatusSeeOther, next)
}

func (c *Console) logout(r *request) error {
	if err := c.Users.SignOut(r.Request().Context(), *r.sess, web.RequestID(r.Context)); err != nil {
		return err
	}
	clearCookie(r.Context, sessionCookie)
	return r.Redirect(http.StatusSeeOther, "/console/login?out=1")
}

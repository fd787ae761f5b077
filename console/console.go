// Package console is the web console for the people who run the
// programmes — finance staff (财务), auditors (审计) and administrators
// (管理员) — served by the same binary under /console/ (DESIGN §18).
//
// Pages are rendered on the server with html/template, Chinese first with an
// English switch, and every asset (CSS, a little vanilla JavaScript) is
// embedded in the binary: county and township offices often sit on an
// intranet without the internet, on office PCs whose browsers are 360 or QQ
// builds of Chromium, and there is no front-end build step to keep working.
//
// A page is a view over the same service methods the API calls, under the
// signed-in user's name as the actor: no rule exists twice. Staff sign in
// with a name and password (internal/auth: argon2id, sessions, lockout);
// every mutating request carries the session's CSRF token.
package console

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/web"
	"huimin/ledger"
	"huimin/payouts"
	"huimin/policies"
	"huimin/prevention"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Deps are the services the console is a view over.
type Deps struct {
	DB         *db.DB
	Users      *auth.Users
	Tokens     *auth.Service
	Plans      *policies.Plans
	Registry   *policies.Registry
	Claims     *claims.Service
	Payouts    *payouts.Service
	Ledger     *ledger.Service
	Prevention *prevention.Service
	Now        func() time.Time
	Log        *slog.Logger
}

// Console serves the pages.
type Console struct {
	Deps
	pages map[string]*template.Template
}

// New parses the templates (a bad template is a bug: it panics at start-up,
// and every test catches it).
func New(d Deps) *Console {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	c := &Console{Deps: d, pages: map[string]*template.Template{}}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		c.pages[base] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/partials.html", n))
	}
	return c
}

// Prefix is where the console lives.
const Prefix = "/console/"

// Owns reports the paths the console answers, errors included.
func Owns(path string) bool { return path == "/console" || strings.HasPrefix(path, Prefix) }

// Role sets of the pages.
var (
	anyStaff = auth.StaffRoles
	finance  = []string{auth.Finance}
	books    = []string{auth.Finance, auth.Auditor}
	readers  = []string{auth.Admin, auth.Finance, auth.Auditor}
	auditors = []string{auth.Auditor}
	admins   = []string{auth.Admin}
)

// Routes mounts the console on e. Its routes are outside /api/, so the API's
// token middleware does not run for them; they check the session instead.
func (c *Console) Routes(e *echo.Echo) {
	e.GET("/console", func(ec echo.Context) error { return ec.Redirect(http.StatusFound, Prefix) })
	static, _ := fs.Sub(staticFS, "static")
	e.GET("/console/static/*", echo.WrapHandler(http.StripPrefix("/console/static/", staticHandler(static))))
	e.GET("/console/login", c.public(c.loginPage))
	e.POST("/console/login", c.public(c.login))
	e.POST("/console/logout", c.staff(anyStaff, c.logout))
	e.GET("/console/", c.staff(anyStaff, c.home))

	e.GET("/console/queue", c.staff(finance, c.queue))
	e.POST("/console/queue/approve", c.staff(finance, c.approveMany))
	e.GET("/console/claims/:id", c.staff(books, c.claim))
	e.POST("/console/claims/:id/approve", c.staff(finance, c.approve))
	e.POST("/console/claims/:id/decline", c.staff(finance, c.decline))
	e.POST("/console/claims/:id/revoke", c.staff(finance, c.revoke))

	e.GET("/console/budgets", c.staff(readers, c.budgets))
	e.GET("/console/budgets/:code", c.staff(readers, c.budget))
	e.GET("/console/budgets/:code/settle", c.staff(finance, c.settlePreview))
	e.POST("/console/budgets/:code/settle", c.staff(finance, c.settle))

	e.GET("/console/disbursements", c.staff(books, c.disbursements))
	e.GET("/console/disbursements/new", c.staff(finance, c.newBatch))
	e.POST("/console/disbursements", c.staff(finance, c.createBatch))
	e.GET("/console/disbursements/:id", c.staff(books, c.batch))
	e.GET("/console/disbursements/:id/bank.csv", c.staff(finance, c.bankFile))
	e.GET("/console/disbursements/:id/roster.xlsx", c.staff(finance, c.roster))
	e.POST("/console/disbursements/:id/results", c.staff(finance, c.results))
	e.POST("/console/disbursements/:id/results-file", c.staff(finance, c.resultsFile))

	e.GET("/console/ledger", c.staff(books, c.ledgerPage))
	e.GET("/console/ledger/export", c.staff(books, c.ledgerExport))
	e.GET("/console/ledger/verify", c.staff(books, c.verifyPage))
	e.POST("/console/ledger/verify", c.staff(books, c.verifyFile))
	e.GET("/console/audit", c.staff(auditors, c.auditLog))

	e.GET("/console/plans", c.staff(readers, c.plans))
	e.GET("/console/plans/:code", c.staff(readers, c.plan))
	e.GET("/console/registry", c.staff(readers, c.registry))
	e.GET("/console/users", c.staff(admins, c.usersGet))
	e.POST("/console/users", c.staff(admins, c.createUser))
	e.POST("/console/users/:name/disable", c.staff(admins, c.disableUser))
	e.POST("/console/users/:name/reset", c.staff(admins, c.resetUser))
	e.POST("/console/tokens", c.staff(admins, c.createToken))
	e.POST("/console/tokens/:id/revoke", c.staff(admins, c.revokeToken))

	c.preventionRoutes(e) // 防贫预警 and what-if (prevention_pages.go)
	c.importRoutes(e)     // registry import by upload (import_pages.go)

	// Anything else under /console/ is the console's own 404 page.
	e.Any("/console/*", func(ec echo.Context) error { return echo.ErrNotFound })
}

// staticHandler serves the embedded assets; they change only with the
// binary, so browsers may keep them for a day.
func staticHandler(fsys fs.FS) http.Handler {
	files := http.FileServer(http.FS(fsys))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}

// request is one console request: its language and, on staff pages, the
// session.
type request struct {
	echo.Context
	c    *Console
	lang string
	sess *auth.StaffSession
}

type handler func(r *request) error

func (c *Console) newRequest(ec echo.Context) *request {
	setSecurityHeaders(ec)
	return &request{Context: ec, c: c, lang: langOf(ec)}
}

// setSecurityHeaders: pages hold personal data, so nothing is cached or
// framed, and only the console's own scripts, styles and forms run.
func setSecurityHeaders(ec echo.Context) {
	h := ec.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
}

func (c *Console) public(h handler) echo.HandlerFunc {
	return func(ec echo.Context) error { return h(c.newRequest(ec)) }
}

// Cookie names.
const (
	sessionCookie = "hm_session"
	loginCSRF     = "hm_login_csrf"
)

// HeaderCSRF carries the CSRF token of a script's request (fetch).
const HeaderCSRF = "X-CSRF-Token"

// overTLS reports whether the browser reached us over HTTPS: directly, or
// through a proxy that says so in X-Forwarded-Proto. Trusting the header is
// safe here: it only decides whether cookies are marked Secure, and a
// client that lies gets cookies its browser will not send back over HTTP.
func overTLS(ec echo.Context) bool {
	return ec.Request().TLS != nil || strings.EqualFold(ec.Request().Header.Get("X-Forwarded-Proto"), "https")
}

// staff lets through a signed-in user of one of roles. Without a valid
// session it redirects (303) to the sign-in page, carrying where the user
// was going; a mutating request must carry the session's CSRF token (form
// field csrf, or the X-CSRF-Token header) and, when the browser sends an
// Origin, come from this host; another role gets the 403 page.
func (c *Console) staff(roles []string, h handler) echo.HandlerFunc {
	return func(ec echo.Context) error {
		r := c.newRequest(ec)
		raw := ""
		if ck, err := ec.Cookie(sessionCookie); err == nil {
			raw = ck.Value
		}
		s, err := c.Users.Session(ec.Request().Context(), raw, web.RequestID(ec))
		if errors.Is(err, auth.ErrNoSession) {
			q := url.Values{}
			if ec.Request().Method == http.MethodGet {
				q.Set("next", ec.Request().URL.RequestURI())
			}
			if raw != "" {
				clearCookie(ec, sessionCookie)
				q.Set("expired", "1")
			}
			target := "/console/login"
			if len(q) > 0 {
				target += "?" + q.Encode()
			}
			return ec.Redirect(http.StatusSeeOther, target)
		}
		if err != nil {
			return err
		}
		r.sess = &s
		web.SetPrincipalName(ec, s.Name)
		if m := ec.Request().Method; m != http.MethodGet && m != http.MethodHead {
			tok := ec.Request().Header.Get(HeaderCSRF)
			if tok == "" {
				tok = ec.FormValue("csrf")
			}
			if !auth.SameToken(tok, s.CSRF) || !sameOrigin(ec) {
				return r.fail(http.StatusForbidden, text(r.lang, "err.csrf"))
			}
		}
		if !slices.Contains(roles, s.Role) {
			return r.fail(http.StatusForbidden, text(r.lang, "err.forbidden"))
		}
		return h(r)
	}
}

// sameOrigin checks the Origin header when the browser sends one: a form
// posted from another site is refused even before its token is compared.
func sameOrigin(ec echo.Context) bool {
	o := ec.Request().Header.Get(echo.HeaderOrigin)
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == ec.Request().Host
}

func clearCookie(ec echo.Context, name string) {
	ec.SetCookie(&http.Cookie{Name: name, Value: "", Path: Prefix, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overTLS(ec)})
}

// who is the signed-in user as the services' audit identity: their name is
// the actor, as a token of the same name would be.
func (r *request) who() audit.Who {
	return audit.Who{Actor: r.sess.Name, Role: r.sess.Role, Org: r.sess.Org, RequestID: web.RequestID(r.Context)}
}

// T is the word for key in the request's language.
func (r *request) T(key string) string { return text(r.lang, key) }

// Tf is T with fmt arguments.
func (r *request) Tf(key string, args ...any) string { return fmt.Sprintf(text(r.lang, key), args...) }

// Page is what every template gets: the frame (language, user, navigation,
// CSRF token, messages) and the page's own Data.
type Page struct {
	Lang    string
	Title   string
	Active  string // the navigation item to highlight
	User    *auth.Principal
	CSRF    string
	Nav     []NavItem
	Path    string // the current URL, for the language switch
	Notice  string // a success message
	Problem string // an error message
	Fields  []apperr.FieldError
	Data    any
	r       *request
}

// NavItem is one link of the navigation bar.
type NavItem struct {
	Key, Href string
}

// navFor lists the pages a role may open, in the order a day's work goes.
func navFor(role string) []NavItem {
	switch role {
	case auth.Finance:
		return []NavItem{{"nav.home", "/console/"}, {"nav.queue", "/console/queue"}, {"nav.budgets", "/console/budgets"},
			{"nav.disbursements", "/console/disbursements"}, {"nav.ledger", "/console/ledger"}, {"nav.plans", "/console/plans"},
			{"nav.registry", "/console/registry"}, {"nav.warnings", "/console/warnings"}, {"nav.whatif", "/console/whatif"}}
	case auth.Auditor:
		return []NavItem{{"nav.home", "/console/"}, {"nav.ledger", "/console/ledger"}, {"nav.verify", "/console/ledger/verify"},
			{"nav.audit", "/console/audit"}, {"nav.budgets", "/console/budgets"}, {"nav.disbursements", "/console/disbursements"},
			{"nav.plans", "/console/plans"}, {"nav.registry", "/console/registry"}, {"nav.warnings", "/console/warnings"}}
	case auth.Admin:
		return []NavItem{{"nav.home", "/console/"}, {"nav.plans", "/console/plans"}, {"nav.registry", "/console/registry"},
			{"nav.registry_import", "/console/registry/import"}, {"nav.users", "/console/users"}, {"nav.budgets", "/console/budgets"},
			{"nav.warnings", "/console/warnings"}, {"nav.whatif", "/console/whatif"}}
	}
	return nil
}

// render writes a page with the layout.
func (r *request) render(status int, page, titleKey, active string, data any, opts ...func(*Page)) error {
	p := &Page{Lang: r.lang, Title: r.T(titleKey), Active: active, Path: r.Request().URL.RequestURI(), Data: data, r: r}
	if r.sess != nil {
		pr := r.sess.Principal
		p.User, p.CSRF, p.Nav = &pr, r.sess.CSRF, navFor(pr.Role)
	}
	if m := r.QueryParam("msg"); m != "" {
		if _, ok := catalog[LangZH]["msg."+m]; ok {
			p.Notice = r.T("msg." + m)
		}
	}
	for _, o := range opts {
		o(p)
	}
	t, ok := r.c.pages[page]
	if !ok {
		return fmt.Errorf("console: no template %q", page)
	}
	var b strings.Builder
	if err := t.Execute(&b, p); err != nil {
		return fmt.Errorf("console: render %s: %w", page, err)
	}
	return r.HTML(status, b.String())
}

// withProblem shows an error message above the page.
func withProblem(msg string, fields ...apperr.FieldError) func(*Page) {
	return func(p *Page) { p.Problem, p.Fields = msg, fields }
}

// withNotice shows a success message above the page.
func withNotice(msg string) func(*Page) { return func(p *Page) { p.Notice = msg } }

// fail renders the error page with a message.
func (r *request) fail(status int, msg string) error {
	return r.render(status, "error", "err.title", "", nil, withProblem(msg))
}

// problemOf turns a service's error into what the page says: the Chinese
// (or English) message of its kind, and the fields of a validation error.
// Unknown errors are logged with the request id and shown only by it.
func (r *request) problemOf(err error) (int, string, []apperr.FieldError) {
	var ve *apperr.ValidationError
	if errors.As(err, &ve) {
		return http.StatusUnprocessableEntity, r.T("err.validation_failed"), ve.Fields
	}
	k := apperr.KindOf(err)
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return http.StatusNotFound, r.T("err.page_not_found"), nil
		case http.StatusMethodNotAllowed:
			return http.StatusMethodNotAllowed, r.T("err.page_not_found"), nil
		case http.StatusRequestEntityTooLarge:
			k = apperr.ErrPayloadTooLarge
		default:
			k = apperr.ErrBadRequest
		}
	}
	if errors.Is(err, db.ErrDown) || db.Unavailable(err) {
		k = apperr.ErrUnavailable
	}
	if k == apperr.ErrInternal {
		r.c.Log.Error("console request failed", "request_id", web.RequestID(r.Context), "route", r.Path(), "error", err.Error())
		return http.StatusInternalServerError, r.Tf("err.internal", web.RequestID(r.Context)), nil
	}
	msg, ok := catalog[r.lang]["err."+k.Code]
	if !ok {
		msg = r.T("err.bad_request")
	}
	return k.Status, msg, nil
}

// ErrorHandler answers errors on console paths with the console's error
// page (HTML, in the user's language) and hands every other path's to next,
// the API's envelope handler.
func ErrorHandler(c *Console, next echo.HTTPErrorHandler) echo.HTTPErrorHandler {
	return func(err error, ec echo.Context) {
		if !Owns(ec.Request().URL.Path) || ec.Response().Committed {
			next(err, ec)
			return
		}
		r := c.newRequest(ec)
		status, msg, fields := r.problemOf(err)
		if status == http.StatusServiceUnavailable {
			ec.Response().Header().Set("Retry-After", "2")
		}
		if rerr := r.render(status, "error", "err.title", "", nil, withProblem(msg, fields...)); rerr != nil {
			next(err, ec)
		}
	}
}

// funcs are the template helpers; everything that needs the language is a
// method of Page instead.
var funcs = template.FuncMap{
	"yuan": yuan,
	"time": chinaTime,
	"add":  func(a, b int) int { return a + b },
	"join": strings.Join,
}

// T is the word for key in the page's language.
func (p *Page) T(key string) string { return text(p.Lang, key) }

// Tf is T with fmt arguments.
func (p *Page) Tf(key string, args ...any) string { return fmt.Sprintf(text(p.Lang, key), args...) }

// Name is the word for a code: Name "county" "411302" is 宛城区.
func (p *Page) Name(kind, code string) string { return name(p.Lang, kind, code) }

// Step is a breakdown line in the page's language.
func (p *Page) Step(stored string) string { s, _ := stepText(p.Lang, stored); return s }

// LangURL is the current page in the other language.
func (p *Page) LangURL() string {
	other := LangEN
	if p.Lang == LangEN {
		other = LangZH
	}
	u, err := url.Parse(p.Path)
	if err != nil {
		return "?lang=" + other
	}
	q := u.Query()
	q.Set("lang", other)
	q.Del("msg")
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// RoleName is the user's role in words.
func (p *Page) RoleName(role string) string { return text(p.Lang, "role."+role) }

// Is reports whether the signed-in user has one of roles.
func (p *Page) Is(roles ...string) bool { return p.User != nil && slices.Contains(roles, p.User.Role) }

// Counties lists the 13 county codes in order, for filters.
func (p *Page) Counties() []string {
	out := make([]string, 0, len(policies.Counties))
	for code := range policies.Counties {
		out = append(out, code)
	}
	slices.Sort(out)
	return out
}

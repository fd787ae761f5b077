package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"huimin/internal/apperr"
	"huimin/internal/auth"
	"huimin/internal/civil"
	"huimin/internal/mask"
	"huimin/internal/web"
	"huimin/payouts"
	"huimin/policies"
)

// This file holds the auditor's audit log and the administrator's pages:
// plans and their rule versions, the registry look-up, users and tokens.

type auditData struct {
	Actor, Action, From, To string
	Items                   []payouts.AuditView
	Next                    string
	Actions                 []string
}

// auditActions are the actions the filter offers (any other is typed).
var auditActions = []string{"claim.approve", "claim.decline", "claim.revoke", "claim.submit", "claim.batch", "claim.withdraw",
	"disbursement.create", "disbursement.results", "disbursement.bank_file", "disbursement.roster", "plan.create", "plan.rules",
	"plan.fund", "plan.settle", "plan.close", "ledger.export", "token.create", "token.revoke", "user.create", "user.disable",
	"user.reset", "session.login", "session.logout", "session.expire"}

func (c *Console) auditLog(r *request) error {
	d := auditData{Actor: strings.TrimSpace(r.QueryParam("actor")), Action: strings.TrimSpace(r.QueryParam("action")),
		From: r.QueryParam("from"), To: r.QueryParam("to"), Actions: auditActions}
	lq := web.ListQuery{Limit: 50}
	var bad []string
	if d.Actor != "" && !web.IsCode(d.Actor, 64) {
		bad = append(bad, r.T("audit.actor"))
	}
	if d.Action != "" && !web.IsCode(d.Action, 64) {
		bad = append(bad, r.T("audit.action"))
	}
	for _, x := range []struct {
		s   string
		dst *civil.Date
		key string
	}{{d.From, &lq.From, "audit.from"}, {d.To, &lq.To, "audit.to"}} {
		if x.s == "" {
			continue
		}
		dt, err := civil.Parse(x.s)
		if err != nil {
			bad = append(bad, r.T(x.key))
			continue
		}
		*x.dst = dt
	}
	if len(bad) > 0 {
		return r.render(http.StatusUnprocessableEntity, "audit", "audit.title", "nav.audit", d,
			withProblem(r.Tf("audit.bad_filter", strings.Join(bad, "、"))))
	}
	if cur := r.QueryParam("before"); web.IsID(cur) {
		lq.Cursor = []string{cur}
	}
	items, err := c.Payouts.Audit(r.Request().Context(), d.Actor, d.Action, lq)
	if err != nil {
		return err
	}
	if len(items) > lq.Limit {
		items = items[:lq.Limit]
		d.Next = items[len(items)-1].ID
	}
	d.Items = items
	return r.render(http.StatusOK, "audit", "audit.title", "nav.audit", d)
}

// Plans and rules.

func (c *Console) plans(r *request) error {
	rows, err := c.budgetRows(r.Request().Context())
	if err != nil {
		return err
	}
	return r.render(http.StatusOK, "plans", "plans.title", "nav.plans", homeData{Budgets: rows})
}

// ruleChange is one rule that differs between two versions.
type ruleChange struct {
	Key, A, B string
}

type planData struct {
	P        policies.Plan
	Versions []int
	A, B     int
	Changes  []ruleChange
	Rules    string
	Compared bool
}

// flatten lists a rules document as path → value, for the comparison.
func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			out[prefix] = "{}"
		}
		for k, vv := range x {
			flatten(joinPath(prefix, k), vv, out)
		}
	case []any:
		if len(x) == 0 {
			out[prefix] = "[]"
		}
		for i, vv := range x {
			flatten(prefix+"["+strconv.Itoa(i)+"]", vv, out)
		}
	case nil:
		out[prefix] = "null"
	default:
		b, _ := json.Marshal(x)
		out[prefix] = strings.Trim(string(b), `"`)
	}
}

func joinPath(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func (c *Console) plan(r *request) error {
	ctx := r.Request().Context()
	code := r.Param("code")
	if !web.IsPlanCode(code) {
		return r.fail(http.StatusNotFound, r.T("err.not_found"))
	}
	p, _, err := c.Plans.Get(ctx, code)
	if err != nil {
		return err
	}
	d := planData{P: p}
	for v := 1; v <= p.RulesVersion; v++ {
		d.Versions = append(d.Versions, v)
	}
	rules, _ := json.MarshalIndent(p.Rules, "", "  ")
	d.Rules = string(rules)
	d.A, d.B = max(p.RulesVersion-1, 1), p.RulesVersion
	if a, err := strconv.Atoi(r.QueryParam("a")); err == nil && a >= 1 && a <= p.RulesVersion {
		d.A = a
	}
	if b, err := strconv.Atoi(r.QueryParam("b")); err == nil && b >= 1 && b <= p.RulesVersion {
		d.B = b
	}
	if d.A != d.B {
		va, err := c.Plans.Version(ctx, code, d.A)
		if err != nil {
			return err
		}
		vb, err := c.Plans.Version(ctx, code, d.B)
		if err != nil {
			return err
		}
		var ta, tb any
		_ = json.Unmarshal(va.Rules, &ta)
		_ = json.Unmarshal(vb.Rules, &tb)
		fa, fb := map[string]string{}, map[string]string{}
		flatten("", ta, fa)
		flatten("", tb, fb)
		keys := map[string]bool{}
		for k := range fa {
			keys[k] = true
		}
		for k := range fb {
			keys[k] = true
		}
		for k := range keys {
			if fa[k] != fb[k] {
				d.Changes = append(d.Changes, ruleChange{Key: k, A: fa[k], B: fb[k]})
			}
		}
		slices.SortFunc(d.Changes, func(x, y ruleChange) int { return strings.Compare(x.Key, y.Key) })
		d.Compared = true
	}
	return r.render(http.StatusOK, "plan", "plans.title", "nav.plans", d)
}

// The registry.

type registryData struct {
	ID       string
	Found    bool
	B        policies.Beneficiary
	Account  string
	Searched bool
}

func (c *Console) registry(r *request) error {
	d := registryData{ID: strings.TrimSpace(r.QueryParam("id"))}
	if d.ID == "" {
		return r.render(http.StatusOK, "registry", "registry.title", "nav.registry", d)
	}
	d.Searched = true
	if policies.DetectIDType(d.ID) == "" && policies.ValidateUSCC(d.ID) != nil {
		return r.render(http.StatusUnprocessableEntity, "registry", "registry.title", "nav.registry", d, withProblem(r.T("registry.bad_id")))
	}
	b, err := c.Registry.Get(r.Request().Context(), d.ID)
	if apperr.KindOf(err) == apperr.ErrNotFound {
		return r.render(http.StatusNotFound, "registry", "registry.title", "nav.registry", d, withProblem(r.T("registry.none")))
	}
	if err != nil {
		return err
	}
	d.Found, d.B = true, b
	if b.PayoutAccount != "" {
		d.Account = mask.ID(b.PayoutAccount)
	}
	return r.render(http.StatusOK, "registry", "registry.title", "nav.registry", d)
}

// Users and tokens.

type userRow struct {
	auth.User
	Sessions int64
}

type usersData struct {
	Users    []userRow
	Tokens   []auth.Token
	Secret   string // a password or token, shown once
	SecretOf string
}

func (c *Console) usersPage(r *request, status int, d usersData, opts ...func(*Page)) error {
	ctx := r.Request().Context()
	us, err := c.Users.List(ctx, 1000, "")
	if err != nil {
		return err
	}
	for _, u := range us {
		n, err := c.Users.SessionCount(ctx, u.ID)
		if err != nil {
			return err
		}
		d.Users = append(d.Users, userRow{User: u, Sessions: n})
	}
	if d.Tokens, err = c.Tokens.List(ctx, 1000, ""); err != nil {
		return err
	}
	return r.render(status, "users", "users.title", "nav.users", d, opts...)
}

func (c *Console) usersGet(r *request) error { return c.usersPage(r, http.StatusOK, usersData{}) }

func (c *Console) createUser(r *request) error {
	in := auth.NewUserInput{Role: r.FormValue("role"), Name: strings.TrimSpace(r.FormValue("name")), Org: strings.TrimSpace(r.FormValue("org"))}
	pw, u, err := c.Users.Create(r.Request().Context(), r.who(), in)
	if err != nil {
		status, msg, fields := r.problemOf(err)
		return c.usersPage(r, status, usersData{}, withProblem(msg, fields...))
	}
	return c.usersPage(r, http.StatusCreated, usersData{Secret: pw, SecretOf: u.Name}, withNotice(r.T("msg.user_created")+" "+r.T("msg.password_once")))
}

func (c *Console) disableUser(r *request) error {
	if _, err := c.Users.Disable(r.Request().Context(), r.who(), r.Param("name")); err != nil {
		status, msg, fields := r.problemOf(err)
		return c.usersPage(r, status, usersData{}, withProblem(msg, fields...))
	}
	return r.Redirect(http.StatusSeeOther, "/console/users?msg=user_disabled")
}

func (c *Console) resetUser(r *request) error {
	pw, u, err := c.Users.Reset(r.Request().Context(), r.who(), r.Param("name"), "")
	if err != nil {
		status, msg, fields := r.problemOf(err)
		return c.usersPage(r, status, usersData{}, withProblem(msg, fields...))
	}
	return c.usersPage(r, http.StatusOK, usersData{Secret: pw, SecretOf: u.Name}, withNotice(r.T("msg.user_reset")+" "+r.T("msg.password_once")))
}

func (c *Console) createToken(r *request) error {
	in := auth.NewInput{Role: r.FormValue("role"), Name: strings.TrimSpace(r.FormValue("name")), Org: strings.TrimSpace(r.FormValue("org"))}
	raw, t, err := c.Tokens.Create(r.Request().Context(), r.who(), in)
	if err != nil {
		status, msg, fields := r.problemOf(err)
		return c.usersPage(r, status, usersData{}, withProblem(msg, fields...))
	}
	return c.usersPage(r, http.StatusCreated, usersData{Secret: raw, SecretOf: fmt.Sprintf("%s (%s)", t.Name, t.Role)},
		withNotice(r.T("msg.token_created")+" "+r.T("msg.token_once")))
}

func (c *Console) revokeToken(r *request) error {
	id := r.Param("id")
	if !web.IsID(id) {
		return r.fail(http.StatusNotFound, r.T("err.not_found"))
	}
	if _, err := c.Tokens.Revoke(r.Request().Context(), r.who(), id); err != nil {
		status, msg, fields := r.problemOf(err)
		return c.usersPage(r, status, usersData{}, withProblem(msg, fields...))
	}
	return r.Redirect(http.StatusSeeOther, "/console/users?msg=token_revoked")
}

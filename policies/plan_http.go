package policies

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"huimin/internal/apperr"
	"huimin/internal/auth"
	"huimin/internal/money"
	"huimin/internal/web"
	"huimin/ledger"
)

// Routes mounts the programme and plan endpoints of DESIGN §11 on the
// /api/v1 group.
func (s *Plans) Routes(g *echo.Group) {
	anyone := auth.Require(auth.Any...)
	admin := auth.Require(auth.Admin)
	g.GET("/programmes", s.programmes, anyone)
	g.GET("/plans", s.list, anyone)
	g.POST("/plans", s.create, admin)
	g.GET("/plans/:code", s.get, anyone)
	g.PUT("/plans/:code/rules", s.changeRules, admin)
	g.GET("/plans/:code/rules/:version", s.version, anyone)
	g.POST("/plans/:code/close", s.close, admin)
	g.POST("/plans/:code/funding", s.fund, auth.Require(auth.Admin, auth.Finance))
	g.GET("/plans/:code/budget", s.budget, auth.Require(auth.Admin, auth.Finance, auth.Auditor))
}

// View renders a plan with its budget figures.
func (p Plan) View(b ledger.Budget) PlanView {
	return PlanView{
		Code: p.Code, Programme: p.Programme, Name: p.Name,
		CoverageStart: string(p.CoverageStart), CoverageEnd: string(p.CoverageEnd),
		Counties: p.Counties, BudgetPolicy: p.BudgetPolicy,
		DualApprovalThreshold: money.Of(p.DualApprovalThreshold), FilingWindowDays: p.FilingWindowDays, NoticeDays: p.NoticeDays,
		Status: p.Status, Rules: p.Rules, RulesVersion: p.RulesVersion, Budget: b.Figures(),
		CreatedAt: web.Timestamp(p.CreatedAt), UpdatedAt: web.Timestamp(p.UpdatedAt),
	}
}

func (s *Plans) programmes(c echo.Context) error {
	return c.JSON(http.StatusOK, web.NewList(Programmes(), ""))
}

func (s *Plans) create(c echo.Context) error {
	var in PlanInput
	if err := web.Bind(c, &in); err != nil {
		return err
	}
	p, budget, errs := in.ToPlan()
	if err := errs.Err(); err != nil {
		return err
	}
	p, b, err := s.Create(c.Request().Context(), auth.Who(c), p, budget)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p.View(b))
}

// PlanCodeParam returns the {code} path parameter, or 404 when it is not a
// well-formed plan code and so names no plan, on any database (DESIGN §10:
// codes match exactly; see web.IsPlanCode).
func PlanCodeParam(c echo.Context) (string, error) {
	code := c.Param("code")
	if !web.IsPlanCode(code) {
		return "", apperr.New(apperr.ErrNotFound, "no plan %q", code)
	}
	return code, nil
}

func (s *Plans) get(c echo.Context) error {
	code, err := PlanCodeParam(c)
	if err != nil {
		return err
	}
	p, b, err := s.Get(c.Request().Context(), code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p.View(b))
}

func (s *Plans) list(c echo.Context) error {
	var fe apperr.Fields
	lq := web.ReadList(c, web.ListSpec{Default: 100, Max: 500, CursorParts: 1}, &fe)
	limit, cur := lq.Limit, lq.Cursor
	f := ListFilter{Programme: c.QueryParam("programme"), Status: c.QueryParam("status"), Limit: limit + 1}
	if _, ok := ProgrammeByCode(f.Programme); f.Programme != "" && !ok {
		fe.Add("programme", "must be one of ZKB, ZFB, FPB, CYB")
	}
	if f.Status != "" && f.Status != PlanActive && f.Status != PlanClosed {
		fe.Add("status", "must be %s or %s", PlanActive, PlanClosed)
	}
	if err := fe.Err(); err != nil {
		return err
	}
	if cur != nil {
		f.After = cur[0]
	}
	plans, budgets, err := s.List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	views := make([]PlanView, len(plans))
	for i, p := range plans {
		views[i] = p.View(budgets[p.Code])
	}
	return c.JSON(http.StatusOK, web.Page(views, limit, func(v PlanView) []string { return []string{v.Code} }))
}

func (s *Plans) changeRules(c echo.Context) error {
	code, err := PlanCodeParam(c)
	if err != nil {
		return err
	}
	body, err := web.ReadBody(c)
	if err != nil {
		return err
	}
	// The body is the rules document, whose fields ParseRules names under
	// "rules"; the decoder's findings (a repeated key, bad text) are named
	// alike.
	var probe any
	if err := web.Decode(body, &probe); err != nil {
		return apperr.Under(rulesRoot, err)
	}
	ctx := c.Request().Context()
	p, err := s.ChangeRules(ctx, auth.Who(c), code, body)
	if err != nil {
		return err
	}
	_, b, err := s.Get(ctx, p.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p.View(b))
}

func (s *Plans) version(c echo.Context) error {
	code, err := PlanCodeParam(c)
	if err != nil {
		return err
	}
	v, err := strconv.Atoi(c.Param("version"))
	if err != nil || v < 1 {
		return apperr.Invalid("version", "must be a positive integer")
	}
	rv, err := s.Version(c.Request().Context(), code, v)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{
		"plan": rv.Plan, "version": rv.Version, "rules": rv.Rules, "actor": rv.Actor, "created_at": web.Timestamp(rv.CreatedAt),
	})
}

func (s *Plans) close(c echo.Context) error {
	code, err := PlanCodeParam(c)
	if err != nil {
		return err
	}
	if err := web.BindEmpty(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	p, err := s.Close(ctx, auth.Who(c), code)
	if err != nil {
		return err
	}
	_, b, err := s.Get(ctx, p.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p.View(b))
}

// BudgetView is a plan's budget figures in answers.
type BudgetView struct {
	Plan string `json:"plan"`
	ledger.Figures
}

func (s *Plans) fund(c echo.Context) error {
	code, err := PlanCodeParam(c)
	if err != nil {
		return err
	}
	var in FundingInput
	if err := web.Bind(c, &in); err != nil {
		return err
	}
	b, err := s.Fund(c.Request().Context(), auth.Who(c), code, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, BudgetView{Plan: b.PlanCode, Figures: b.Figures()})
}

// BudgetReport is GET /plans/{code}/budget: the figures, the average amount
// committed to claims per day over the last 30 days (reservations less
// releases), and the date `available` runs out at that pace (null when
// nothing is being committed).
type BudgetReport struct {
	BudgetView
	BurnPerDay30d       money.Amount `json:"burn_per_day_30d"`
	ProjectedExhaustion *string      `json:"projected_exhaustion"`
}

func (s *Plans) budget(c echo.Context) error {
	code, err := PlanCodeParam(c)
	if err != nil {
		return err
	}
	r, err := s.Report(c.Request().Context(), code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

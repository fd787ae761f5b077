package payouts

import (
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/auth"
	"huimin/internal/web"
)

// NoticeRoutes mounts the public notice and objection endpoints of DESIGN
// §14 on the /api/v1 group: finance posts notices; finance, auditors and
// administrators read them and their printable rosters (names and ids
// masked); finance and administrators record and resolve objections.
func (s *Service) NoticeRoutes(g *echo.Group) {
	readers := auth.Require(auth.Finance, auth.Auditor, auth.Admin)
	staff := auth.Require(auth.Finance, auth.Admin)
	g.POST("/notices", s.createNotice, auth.Require(auth.Finance))
	g.GET("/notices", s.listNotices, readers)
	g.GET("/notices/:id", s.notice, readers)
	g.POST("/claims/:id/objections", s.raiseObjection, staff)
	g.POST("/objections/:id/resolve", s.resolveObjection, staff)
}

func (s *Service) createNotice(c echo.Context) error {
	var in NoticeInput
	if err := web.Bind(c, &in); err != nil {
		return err
	}
	v, err := s.CreateNotice(c.Request().Context(), auth.Who(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

func (s *Service) listNotices(c echo.Context) error {
	var fe apperr.Fields
	lq := web.ReadList(c, web.ListSpec{Default: 100, Max: 500, CursorParts: 1}, &fe)
	plan := c.QueryParam("plan")
	if plan != "" && !web.IsPlanCode(plan) {
		fe.Add("plan", "%s", web.PlanCodeMessage(plan))
	}
	if err := fe.Err(); err != nil {
		return err
	}
	views, err := s.Notices(c.Request().Context(), plan, lq)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, web.Page(views, lq.Limit, func(v NoticeSummary) []string { return []string{v.ID} }))
}

// notice answers a notice as JSON, or its roster (公示名单) with
// ?format=xlsx or ?format=html; each roster handed out is audited.
func (s *Service) notice(c echo.Context) error {
	id := c.Param("id")
	if !web.IsID(id) {
		return apperr.New(apperr.ErrNotFound, "no notice %q", id)
	}
	ctx := c.Request().Context()
	format := c.QueryParam("format")
	switch format {
	case "", "json":
		v, err := s.Notice(ctx, id)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	case noticeXLSX, noticeHTML:
	default:
		return apperr.Invalid("format", "must be json, xlsx or html")
	}
	r, err := s.NoticeRoster(ctx, auth.Who(c), id, format)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	if format == noticeXLSX {
		body, err := r.XLSX()
		if err != nil {
			return err
		}
		h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": "notice-" + id + ".xlsx"}))
		return c.Blob(http.StatusOK, xlsxType, body)
	}
	body, err := r.HTML()
	if err != nil {
		return err
	}
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("inline", map[string]string{"filename": "notice-" + id + ".html"}))
	return c.Blob(http.StatusOK, "text/html; charset=utf-8", body)
}

func (s *Service) raiseObjection(c echo.Context) error {
	id, err := claims.IDParam(c)
	if err != nil {
		return err
	}
	var in ObjectionInput
	if err := web.Bind(c, &in); err != nil {
		return err
	}
	v, err := s.RaiseObjection(c.Request().Context(), auth.Who(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, v)
}

func (s *Service) resolveObjection(c echo.Context) error {
	id := c.Param("id")
	if !web.IsID(id) {
		return apperr.New(apperr.ErrNotFound, "no objection %q", id)
	}
	var in ResolveInput
	if err := web.Bind(c, &in); err != nil {
		return err
	}
	v, err := s.ResolveObjection(c.Request().Context(), auth.Who(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

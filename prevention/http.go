package prevention

import (
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"huimin/internal/apperr"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/web"
	"huimin/policies"
)

// xlsxType is the media type of a workbook.
const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// Routes mounts the endpoints of DESIGN §20 on the /api/v1 group.
func (s *Service) Routes(g *echo.Group) {
	readers := auth.Require(auth.Admin, auth.Finance, auth.Auditor)
	g.POST("/plans/:code/simulations", s.simulate, readers)
	g.POST("/medical-records/import", s.importRecords, auth.Require(auth.Admin))
	g.GET("/warnings", s.listWarnings, readers)
	g.GET("/warnings/summary", s.summary, readers)
	g.GET("/warnings/:id/claim-draft", s.draft, auth.Require(auth.Insurer, auth.Finance))
	g.POST("/warnings/:id/status", s.setStatus, auth.Require(auth.Finance, auth.Admin))
}

// wantsXLSX reads the answer's format: ?format=json|xlsx, else the Accept
// header (the workbook's media type asks for it).
func wantsXLSX(c echo.Context) (bool, error) {
	switch f := c.QueryParam("format"); f {
	case "xlsx":
		return true, nil
	case "json":
		return false, nil
	case "":
		for _, part := range strings.Split(c.Request().Header.Get(echo.HeaderAccept), ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == xlsxType {
				return true, nil
			}
		}
		return false, nil
	}
	return false, apperr.Invalid("format", "must be json or xlsx")
}

func (s *Service) simulate(c echo.Context) error {
	code, err := policies.PlanCodeParam(c)
	if err != nil {
		return err
	}
	xlsx, err := wantsXLSX(c)
	if err != nil {
		return err
	}
	var in SimulationInput
	if err := web.Bind(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	sim, err := s.Simulate(ctx, auth.Who(c), code, in.Rules)
	if err != nil {
		return err
	}
	if !xlsx {
		return c.JSON(http.StatusOK, sim)
	}
	plan, err := policies.LoadPlan(ctx, s.db.DB, code, false)
	if err != nil {
		return db.Translate(err)
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, xlsxType)
	h.Set(echo.HeaderContentDisposition, `attachment; filename="simulation-`+code+`.xlsx"`)
	c.Response().WriteHeader(http.StatusOK)
	return sim.WriteXLSX(c.Response(), plan.Programme, plan.Name)
}

func (s *Service) importRecords(c echo.Context) error {
	raw, err := web.ReadBody(c)
	if err != nil {
		return err
	}
	if len(raw) == 0 {
		return apperr.Invalid("body", "is empty; send the CSV file as the request body, line 1 being the header %s", RecordsCSVHeader)
	}
	text, err := policies.DecodeCSV(raw, c.Request().Header.Get(echo.HeaderContentType))
	if err != nil {
		return err
	}
	ans, err := s.ImportRecords(c.Request().Context(), auth.Who(c), text)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ans)
}

// idParam returns a warning's {id}, or 404 when it is not an id this
// application makes.
func idParam(c echo.Context) (string, error) {
	id := c.Param("id")
	if !web.IsID(id) {
		return "", apperr.New(apperr.ErrNotFound, "no warning %q", id)
	}
	return id, nil
}

func (s *Service) listWarnings(c echo.Context) error {
	var fe apperr.Fields
	lq := web.ReadList(c, web.ListSpec{Default: 100, Max: 500, CursorParts: 2}, &fe)
	f := WarningFilter{Plan: c.QueryParam("plan"), Status: c.QueryParam("status"), CountyCode: c.QueryParam("county_code"), Limit: lq.Limit, Cursor: lq.Cursor}
	if f.Status != "" && !slices.Contains([]string{StatusOpen, StatusVisited, StatusClaimed, StatusDismissed}, f.Status) {
		fe.Add("status", "must be one of open, visited, claimed, dismissed")
	}
	if _, ok := policies.CountyName(f.CountyCode); f.CountyCode != "" && !ok {
		fe.Add("county_code", "must be one of the 13 Nanyang county codes of GB/T 2260")
	}
	if f.Plan == "" {
		fe.Add("plan", "is required: the code of a ZKB or FPB plan")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	list, err := s.ListWarnings(c.Request().Context(), auth.Who(c), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, list)
}

func (s *Service) summary(c echo.Context) error {
	sum, err := s.Summarise(c.Request().Context(), auth.Who(c), c.QueryParam("plan"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sum)
}

func (s *Service) draft(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	d, err := s.Draft(c.Request().Context(), auth.Who(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (s *Service) setStatus(c echo.Context) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var in StatusInput
	if err := web.Bind(c, &in); err != nil {
		return err
	}
	v, err := s.SetStatus(c.Request().Context(), auth.Who(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

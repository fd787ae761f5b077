package ledger

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/web"
)

// Routes mounts the ledger endpoints of DESIGN §11.
func (s *Service) Routes(g *echo.Group) {
	books := auth.Require(auth.Finance, auth.Auditor)
	g.GET("/ledger", s.list, books)
	g.GET("/ledger/export", s.export, books)
	g.GET("/ledger/verify", s.verify, books)
}

func (s *Service) list(c echo.Context) error {
	var fe apperr.Fields
	lq := web.ReadList(c, web.ListSpec{Default: 100, Max: 1000, CursorParts: 2, Dates: true}, &fe)
	limit, cur := lq.Limit, lq.Cursor
	f := Filter{Plan: c.QueryParam("plan"), From: lq.From, To: lq.To, Limit: limit + 1}
	if err := checkPlanParam(fe, f.Plan).Err(); err != nil {
		return err
	}
	if cur != nil {
		if _, err := strconv.ParseInt(cur[1], 10, 64); err != nil {
			return apperr.Invalid("cursor", "not a cursor this list returned")
		}
		f.After = &[2]string{cur[0], cur[1]}
	}
	es, err := s.Entries(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, web.Page(es, limit, func(e EntryView) []string {
		return []string{e.Plan, strconv.FormatInt(e.Seq, 10)}
	}))
}

// export streams the export. The audit record is written before the
// first byte, so that every export is on record even if the download breaks.
func (s *Service) export(c echo.Context) error {
	var fe apperr.Fields
	from, to := web.DateRange(c, &fe)
	format := c.QueryParam("format")
	if format == "" {
		format = FormatCSV
	}
	if _, ok := ContentTypes[format]; !ok {
		fe.Add("format", "must be csv, xlsx or ndjson")
	}
	// lang picks the header's language (DESIGN §16); NDJSON keys never
	// change, so it takes the parameter and ignores it.
	lang := c.QueryParam("lang")
	switch lang {
	case "":
		lang = LangEN
	case LangEN, LangZH:
	default:
		fe.Add("lang", "must be en or zh")
	}
	plan := c.QueryParam("plan")
	fe = checkPlanParam(fe, plan)
	if err := fe.Err(); err != nil {
		return err
	}
	f := Filter{Plan: plan, From: from, To: to}
	ctx := c.Request().Context()
	if err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		outcome := format
		if lang == LangZH && format != FormatNDJSON {
			outcome += " zh"
		}
		return audit.Write(ctx, tx, s.now(), auth.Who(c), "ledger.export", f.Plan, outcome)
	}); err != nil {
		return err
	}
	name := "ledger"
	if f.Plan != "" {
		name += "-" + f.Plan
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, ContentTypes[format])
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": name + "." + format}))
	c.Response().WriteHeader(http.StatusOK)
	// Past this point the status is sent; a failure can only cut the stream,
	// and the verifier will then find the file incomplete.
	if err := s.ExportLang(ctx, f, format, lang, c.Response()); err != nil {
		return fmt.Errorf("ledger export interrupted: %w", db.Translate(err))
	}
	return nil
}

func (s *Service) verify(c echo.Context) error {
	plan := c.QueryParam("plan")
	if plan == "" {
		return apperr.Invalid("plan", "is required: the chain is per plan")
	}
	// The chain of a plan is looked up like the plan: a malformed code
	// names none (404), as an unknown one does.
	if err := web.CheckPlanCode("plan", plan); err != nil {
		return err
	}
	v, err := s.Verify(c.Request().Context(), plan)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// checkPlanParam adds to fe a plan query parameter that is not a
// well-formed plan code, so that it never reaches a query: codes match
// exactly on either database (DESIGN §10), and MariaDB's collation would
// take "ZKB-2026 " for ZKB-2026. Empty means every plan.
func checkPlanParam(fe apperr.Fields, plan string) apperr.Fields {
	if plan != "" && !web.IsPlanCode(plan) {
		fe.Add("plan", "%s", web.PlanCodeMessage(plan))
	}
	return fe
}

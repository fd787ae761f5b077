package payouts

import (
	"bytes"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/web"
	"huimin/ledger"
)

// ReportRoutes mounts the statistics routes of DESIGN §17 on the /api/v1
// group.
func (s *Service) ReportRoutes(g *echo.Group) {
	g.GET("/reports/monthly", s.monthlyReport, auth.Require(auth.Finance, auth.Auditor, auth.Admin))
}

// Report formats: the JSON answer (default) or a workbook.
const (
	ReportJSON = "json"
	ReportXLSX = "xlsx"
)

func invalidMonth() error { return apperr.Invalid("month", "must be a month YYYY-MM") }

// monthlyReport answers GET /api/v1/reports/monthly?plan=&month=[&format=][&by=].
func (s *Service) monthlyReport(c echo.Context) error {
	var fe apperr.Fields
	plan, month := c.QueryParam("plan"), c.QueryParam("month")
	format, by := c.QueryParam("format"), c.QueryParam("by")
	if _, _, ok := ReportMonth(month); !ok {
		if month == "" {
			fe.Add("month", "is required")
		} else {
			fe.Add("month", "must be a month YYYY-MM")
		}
	}
	switch format {
	case "":
		format = ReportJSON
	case ReportJSON, ReportXLSX:
	default:
		fe.Add("format", "must be json or xlsx")
	}
	switch by {
	case "":
		by = ByCounty
	case ByCounty, ByTownship:
	default:
		fe.Add("by", "must be county or township")
	}
	if strings.TrimSpace(plan) == "" {
		fe.Add("plan", "is required")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	// A malformed code names no plan: 404, as an unknown one is.
	if err := web.CheckPlanCode("plan", plan); err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, err := s.MonthlyReport(ctx, plan, month, by)
	if err != nil {
		return err
	}
	if format == ReportJSON {
		return c.JSON(http.StatusOK, r)
	}
	// A workbook leaves the system: it is an export, and audited as one.
	if err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		return audit.Write(ctx, tx, s.now(), auth.Who(c), "report.export", plan+" "+month, format+" by "+by)
	}); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := r.WriteXLSX(&buf); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition,
		mime.FormatMediaType("attachment", map[string]string{"filename": "report-" + plan + "-" + month + ".xlsx"}))
	return c.Blob(http.StatusOK, ledger.ContentTypes[ledger.FormatXLSX], buf.Bytes())
}

package payouts

import (
	"context"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/web"
	"huimin/policies"
)

// Routes mounts the payout and audit endpoints of DESIGN §11.
func (s *Service) Routes(g *echo.Group) {
	finance := auth.Require(auth.Finance)
	books := auth.Require(auth.Finance, auth.Auditor)
	g.POST("/claims/:id/approve", s.approve, finance)
	g.POST("/claims/:id/decline", withReason(s.Decline), finance)
	g.POST("/claims/:id/revoke", withReason(s.Revoke), finance)
	g.POST("/plans/:code/settlements", s.settle, finance)
	g.POST("/disbursements", s.disburse, finance)
	g.GET("/disbursements/:id", s.batch, books)
	g.POST("/disbursements/:id/results", s.results, finance)
	g.GET("/disbursements/:id/roster", s.roster, finance)
	g.GET("/disbursements/failed", s.failedList, books)
	g.GET("/audit", s.auditList, auth.Require(auth.Auditor))
}

func (s *Service) approve(c echo.Context) error {
	id, err := claims.IDParam(c)
	if err != nil {
		return err
	}
	if err := web.BindEmpty(c); err != nil {
		return err
	}
	v, err := s.Approve(c.Request().Context(), auth.Who(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// withReason makes the handler of a transition that takes {reason}.
func withReason(act func(ctx context.Context, who audit.Who, id string, in ReasonInput) (claims.View, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := claims.IDParam(c)
		if err != nil {
			return err
		}
		var in ReasonInput
		if err := web.Bind(c, &in); err != nil {
			return err
		}
		v, err := act(c.Request().Context(), auth.Who(c), id, in)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	}
}

func (s *Service) settle(c echo.Context) error {
	code, err := policies.PlanCodeParam(c)
	if err != nil {
		return err
	}
	dryRun := false
	switch v := c.QueryParam("dry_run"); v {
	case "", "false":
	case "true":
		dryRun = true
	default:
		return apperr.Invalid("dry_run", "must be true or false")
	}
	if err := web.BindEmpty(c); err != nil {
		return err
	}
	if dryRun {
		// Every share the settlement would reserve now, changing nothing
		// (settle_preview.go).
		p, err := s.PreviewSettlement(c.Request().Context(), code)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, p)
	}
	out, err := s.Settle(c.Request().Context(), auth.Who(c), code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, out)
}

func (s *Service) disburse(c echo.Context) error {
	var in DisburseInput
	if err := web.Bind(c, &in); err != nil {
		return err
	}
	out, err := s.Disburse(c.Request().Context(), auth.Who(c), in)
	if err != nil {
		return err
	}
	s.count(out.Plan, "disbursed", len(out.Items))
	return c.JSON(http.StatusCreated, out)
}

// batch answers a batch as JSON, or with ?format=csv the bank file: full
// account numbers, so finance only, and the download is audited.
func (s *Service) batch(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := batchIDParam(c)
	if err != nil {
		return err
	}
	switch c.QueryParam("format") {
	case "", "json":
		v, err := s.Batch(ctx, id)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	case "csv":
	default:
		return apperr.Invalid("format", "must be json or csv")
	}
	if auth.From(c).Role != auth.Finance {
		return apperr.New(apperr.ErrForbidden, "the bank file is for finance only")
	}
	f, err := s.BankFile(ctx, auth.Who(c), id)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": "disbursement-" + f.BatchID + ".csv"}))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", f.CSV)
}

// batchIDParam returns a batch's {id} path parameter, or 404 when it is not
// an id this application makes (DESIGN §10: ids match exactly, whatever the
// database's collation).
func batchIDParam(c echo.Context) (string, error) {
	id := c.Param("id")
	if !web.IsID(id) {
		return "", apperr.New(apperr.ErrNotFound, "no disbursement batch %q", id)
	}
	return id, nil
}

// results records bank results: the JSON body, or the bank's result file
// (CSV, XLSX, or a form's file part; results_file.go), which ?dry_run=true
// previews. Any other Content-Type is read as JSON, as it always was.
func (s *Service) results(c echo.Context) error {
	id, err := batchIDParam(c)
	if err != nil {
		return err
	}
	dryRun := false
	switch v := c.QueryParam("dry_run"); v {
	case "", "false":
	case "true":
		dryRun = true
	default:
		return apperr.Invalid("dry_run", "must be true or false")
	}
	if mediaType, params, isFile := resultFileType(c.Request().Header.Get(echo.HeaderContentType)); isFile {
		return s.resultsFile(c, id, mediaType, params, dryRun)
	}
	if dryRun {
		return apperr.Invalid("dry_run", "previews a result file (text/csv, XLSX or multipart/form-data); a JSON body is recorded or refused as a whole")
	}
	var in ResultsInput
	if err := web.Bind(c, &in); err != nil {
		return err
	}
	out, err := s.RecordResults(c.Request().Context(), auth.Who(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// AuditView is an audit record in answers.
type AuditView struct {
	ID        string `json:"id"`
	At        string `json:"at"`
	Actor     string `json:"actor"`
	Role      string `json:"role"`
	Org       string `json:"org"`
	Action    string `json:"action"`
	Target    string `json:"target"`
	Outcome   string `json:"outcome"`
	RequestID string `json:"request_id"`
}

func (s *Service) auditList(c echo.Context) error {
	var fe apperr.Fields
	lq := web.ReadList(c, web.ListSpec{Default: 100, Max: 1000, CursorParts: 1, Dates: true}, &fe)
	// Actor names and actions are codes, matched exactly on either
	// database (DESIGN §10): a malformed one is refused, not left to the
	// collation.
	actor, action := c.QueryParam("actor"), c.QueryParam("action")
	if actor != "" && !web.IsCode(actor, 64) {
		fe.Add("actor", "must be an actor name: 1 to 64 of A-Z a-z 0-9 _ . -")
	}
	if action != "" && !web.IsCode(action, 64) {
		fe.Add("action", "must be an action such as claim.approve")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	views, err := s.Audit(c.Request().Context(), actor, action, lq)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, web.Page(views, lq.Limit, func(v AuditView) []string { return []string{v.ID} }))
}

// Audit lists audit records for the auditor: by actor and action, in a
// China date range, one page of lq.Limit (plus one to tell a next page).
func (s *Service) Audit(ctx context.Context, actor, action string, lq web.ListQuery) ([]AuditView, error) {
	f := audit.Filter{Actor: actor, Action: action, Limit: lq.Limit + 1}
	if lq.From != "" {
		f.From = lq.From.Time()
	}
	if lq.To != "" {
		f.To = lq.To.AddDays(1).Time()
	}
	if lq.Cursor != nil {
		f.Before = lq.Cursor[0]
	}
	recs, err := audit.List(ctx, s.db.DB, f)
	if err != nil {
		return nil, db.Translate(err)
	}
	views := make([]AuditView, len(recs))
	for i, r := range recs {
		views[i] = AuditView{ID: r.ID, At: web.Timestamp(r.At), Actor: r.Actor, Role: r.Role, Org: r.Org,
			Action: r.Action, Target: r.Target, Outcome: r.Outcome, RequestID: r.RequestID}
	}
	return views, nil
}

package payouts

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/ids"
	"huimin/internal/money"
	"huimin/internal/web"
)

// Routes mounts the payout, ledger and audit endpoints of DESIGN §11.
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
	g.GET("/ledger", s.ledgerList, books)
	g.GET("/ledger/export", s.ledgerExport, books)
	g.GET("/ledger/verify", s.ledgerVerify, books)
	g.GET("/audit", s.auditList, auth.Require(auth.Auditor))
}

func (s *Service) approve(c echo.Context) error {
	var body struct{}
	if err := web.Bind(c, &body); err != nil {
		return err
	}
	v, err := s.Approve(c.Request().Context(), auth.Who(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// withReason makes the handler of a transition that takes {reason}.
func withReason(act func(ctx context.Context, who audit.Who, id string, in ReasonInput) (claims.View, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in ReasonInput
		if err := web.Bind(c, &in); err != nil {
			return err
		}
		v, err := act(c.Request().Context(), auth.Who(c), c.Param("id"), in)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, v)
	}
}

func (s *Service) settle(c echo.Context) error {
	var body struct{}
	if err := web.Bind(c, &body); err != nil {
		return err
	}
	out, err := s.Settle(c.Request().Context(), auth.Who(c), c.Param("code"))
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
	return c.JSON(http.StatusCreated, out)
}

// batch answers a batch as JSON, or with ?format=csv the bank file: full
// account numbers, so finance only, and the download is audited.
func (s *Service) batch(c echo.Context) error {
	ctx := c.Request().Context()
	switch c.QueryParam("format") {
	case "", "json":
		v, err := s.Batch(ctx, c.Param("id"))
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
	var (
		b     batchRecord
		items []itemRecord
	)
	now := s.now()
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if b, items, err = loadBatch(ctx, tx, c.Param("id"), false); err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, auth.Who(c), "disbursement.bank_file", b.ID, fmt.Sprintf("%d rows", len(items)))
	})
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="disbursement-%s.csv"`, b.ID))
	c.Response().WriteHeader(http.StatusOK)
	_, _ = c.Response().Write([]byte("\ufeff"))
	w := csv.NewWriter(c.Response())
	w.UseCRLF = true
	_ = w.Write([]string{"batch_id", "plan", "claim_id", "payout_account", "amount", "status"})
	for _, it := range items {
		_ = w.Write([]string{b.ID, b.PlanCode, it.ClaimID, it.PayoutAccount, money.String(money.FromFen(it.Amount)), it.Status})
	}
	w.Flush()
	return w.Error()
}

func (s *Service) results(c echo.Context) error {
	var in ResultsInput
	if err := web.Bind(c, &in); err != nil {
		return err
	}
	out, err := s.RecordResults(c.Request().Context(), auth.Who(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Service) ledgerList(c echo.Context) error {
	limit, err := web.Limit(c, 100, 1000)
	if err != nil {
		return err
	}
	cur, err := web.DecodeCursor(c, 2)
	if err != nil {
		return err
	}
	var fe apperr.Fields
	from, to := web.DateRange(c, &fe)
	if err := fe.Err(); err != nil {
		return err
	}
	f := LedgerFilter{Plan: c.QueryParam("plan"), From: from, To: to, Limit: limit + 1}
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

// ledgerExport streams the export. The audit record is written before the
// first byte, so that every export is on record even if the download breaks.
func (s *Service) ledgerExport(c echo.Context) error {
	var fe apperr.Fields
	from, to := web.DateRange(c, &fe)
	format := c.QueryParam("format")
	if format == "" {
		format = FormatCSV
	}
	if _, ok := ContentTypes[format]; !ok {
		fe.Add("format", "must be csv, xlsx or ndjson")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	f := LedgerFilter{Plan: c.QueryParam("plan"), From: from, To: to}
	ctx := c.Request().Context()
	if err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		return audit.Write(ctx, tx, s.now(), auth.Who(c), "ledger.export", f.Plan, format)
	}); err != nil {
		return err
	}
	name := "ledger"
	if f.Plan != "" {
		name += "-" + f.Plan
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, ContentTypes[format])
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.%s"`, name, format))
	c.Response().WriteHeader(http.StatusOK)
	// Past this point the status is sent; a failure can only cut the stream,
	// and the verifier will then find the file incomplete.
	if err := s.Export(ctx, f, format, c.Response()); err != nil {
		return fmt.Errorf("ledger export interrupted: %w", db.Translate(err))
	}
	return nil
}

func (s *Service) ledgerVerify(c echo.Context) error {
	plan := c.QueryParam("plan")
	if plan == "" {
		return apperr.Invalid("plan", "is required: the chain is per plan")
	}
	v, err := s.Verify(c.Request().Context(), plan)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
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
	limit, err := web.Limit(c, 100, 1000)
	if err != nil {
		return err
	}
	cur, err := web.DecodeCursor(c, 1)
	if err != nil {
		return err
	}
	var fe apperr.Fields
	from, to := web.DateRange(c, &fe)
	if err := fe.Err(); err != nil {
		return err
	}
	q := s.db.WithContext(c.Request().Context()).Order("id DESC").Limit(limit + 1)
	if v := c.QueryParam("actor"); v != "" {
		q = q.Where("actor = ?", v)
	}
	if v := c.QueryParam("action"); v != "" {
		q = q.Where("action = ?", v)
	}
	// Audit ids are ULIDs of the record's instant: a date range is an id
	// range on the primary key.
	if from != "" {
		q = q.Where("id >= ?", ids.Floor(from.Time()))
	}
	if to != "" {
		q = q.Where("id < ?", ids.Floor(to.AddDays(1).Time()))
	}
	if cur != nil {
		q = q.Where("id < ?", cur[0])
	}
	var recs []audit.Record
	if err := q.Find(&recs).Error; err != nil {
		return db.Translate(err)
	}
	views := make([]AuditView, len(recs))
	for i, r := range recs {
		views[i] = AuditView{ID: r.ID, At: web.Timestamp(r.At), Actor: r.Actor, Role: r.Role, Org: r.Org,
			Action: r.Action, Target: r.Target, Outcome: r.Outcome, RequestID: r.RequestID}
	}
	return c.JSON(http.StatusOK, web.Page(views, limit, func(v AuditView) []string { return []string{v.ID} }))
}

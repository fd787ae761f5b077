package claims

import (
	"bufio"
	"bytes"
	"mime"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"huimin/internal/apperr"
	"huimin/internal/auth"
	"huimin/internal/web"
	"huimin/policies"
)

// Routes mounts the claim endpoints of DESIGN §11 on the /api/v1 group.
func (s *Service) Routes(g *echo.Group) {
	insurer := auth.Require(auth.Insurer)
	readers := auth.Require(auth.Insurer, auth.Finance, auth.Auditor)
	g.POST("/claims", s.submit, insurer)
	g.POST("/claim-batches", s.submitBatch, insurer)
	g.GET("/claims", s.list, readers)
	g.GET("/claims/:id", s.get, readers)
	g.POST("/claims/:id/withdraw", s.withdraw, insurer)
}

// orgScope is the org an insurer is confined to; other roles see every org.
func orgScope(c echo.Context) string {
	if p := auth.From(c); p.Role == auth.Insurer {
		return p.Org
	}
	return ""
}

func (s *Service) submit(c echo.Context) error {
	body, err := web.ReadBody(c)
	if err != nil {
		return err
	}
	a, err := s.Submit(c.Request().Context(), auth.Who(c), c.Request().Header.Get("Idempotency-Key"), body)
	if err != nil {
		return err
	}
	if a.Replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	return c.JSONBlob(a.Status, a.Body)
}

func (s *Service) submitBatch(c echo.Context) error {
	body, err := web.ReadBody(c)
	if err != nil {
		return err
	}
	var bodies [][]byte
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mt == "application/x-ndjson" || mt == "application/jsonl" {
		// Each line is kept as a sub-slice of the body, not a copy: the
		// split records where in the body each line starts (bufio.ScanLines
		// returns a line from the start of what it is given).
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 0, 64*1024), web.BodyLimit)
		pos, start := 0, 0
		sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
			advance, token, err := bufio.ScanLines(data, atEOF)
			if token != nil {
				start = pos
			}
			pos += advance
			return advance, token, err
		})
		for sc.Scan() {
			tok := sc.Bytes()
			line := body[start : start+len(tok) : start+len(tok)]
			if line = bytes.TrimSpace(line); len(line) > 0 {
				bodies = append(bodies, line)
			}
		}
		if err := sc.Err(); err != nil {
			return apperr.New(apperr.ErrBadRequest, "malformed NDJSON: a line is longer than 1 MiB")
		}
	} else {
		// Each claim is decoded on its own, as each NDJSON line is, so that
		// one bad claim (a repeated key, bad text) fails itself, not the batch.
		items, err := web.DecodeList(body, "claims")
		if err != nil {
			return err
		}
		bodies = make([][]byte, len(items))
		for i, raw := range items {
			bodies[i] = raw
		}
	}
	ans, err := s.SubmitBatch(c.Request().Context(), auth.Who(c), bodies)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ans)
}

// IDParam returns a claim's {id} path parameter, or 404 when it is not an id
// this application makes and so names no claim, on any database (DESIGN
// §10: MariaDB's collation would otherwise find a claim by its id with a
// trailing space).
func IDParam(c echo.Context) (string, error) {
	id := c.Param("id")
	if !web.IsID(id) {
		return "", apperr.New(apperr.ErrNotFound, "no claim %q", id)
	}
	return id, nil
}

func (s *Service) get(c echo.Context) error {
	id, err := IDParam(c)
	if err != nil {
		return err
	}
	v, err := s.Get(c.Request().Context(), orgScope(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Service) list(c echo.Context) error {
	var fe apperr.Fields
	lq := web.ReadList(c, web.ListSpec{Default: 100, Max: 500, CursorParts: 1, Dates: true}, &fe)
	limit := lq.Limit
	f := Filter{
		Org: orgScope(c), Plan: c.QueryParam("plan"), Status: c.QueryParam("status"),
		CountyCode: c.QueryParam("county_code"), BeneficiaryID: c.QueryParam("beneficiary_id"), Limit: limit + 1,
		From: lq.From, To: lq.To,
	}
	// Filters are codes, matched exactly on either database: a malformed
	// one is refused rather than left to the collation (DESIGN §10).
	if f.Status != "" && !slices.Contains(Statuses, f.Status) {
		fe.Add("status", "must be one of %v", Statuses)
	}
	if f.Plan != "" && !web.IsPlanCode(f.Plan) {
		fe.Add("plan", "%s", web.PlanCodeMessage(f.Plan))
	}
	if _, ok := policies.CountyName(f.CountyCode); f.CountyCode != "" && !ok {
		fe.Add("county_code", "must be one of the 13 Nanyang county codes of GB/T 2260")
	}
	if id := f.BeneficiaryID; id != "" && policies.DetectIDType(id) == "" && policies.ValidateUSCC(id) != nil {
		fe.Add("beneficiary_id", "must be an 18-character resident ID or unified social credit code")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	if lq.Cursor != nil {
		f.Before = lq.Cursor[0]
	}
	views, err := s.List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, web.Page(views, limit, func(v View) []string { return []string{v.ID} }))
}

func (s *Service) withdraw(c echo.Context) error {
	id, err := IDParam(c)
	if err != nil {
		return err
	}
	if err := web.BindEmpty(c); err != nil {
		return err
	}
	v, err := s.Withdraw(c.Request().Context(), auth.Who(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

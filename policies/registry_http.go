package policies

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/web"
)

// Routes mounts the registry endpoints of DESIGN §11 on the /api/v1 group
// (authentication already applied): PUT and GET
// /beneficiaries/{id_number}, POST /beneficiaries/import.
func (r *Registry) Routes(g *echo.Group) {
	admin := auth.Require(auth.Admin)
	g.POST("/beneficiaries/import", r.importCSV, admin)
	g.PUT("/beneficiaries/:id_number", r.putBeneficiary, admin)
	g.GET("/beneficiaries/:id_number", r.getBeneficiary, auth.Require(auth.Admin, auth.Finance, auth.Auditor, auth.Insurer))
}

// ImportAnswer is the answer to POST /api/v1/beneficiaries/import: the
// people created, updated and found unchanged, and every bad row (never null).
type ImportAnswer struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
	// Unchanged counts the people whose record and periods already were
	// exactly those of the file; they are not rewritten.
	Unchanged int        `json:"unchanged"`
	Errors    []RowError `json:"errors"`
}

// putBeneficiary answers 201 with the stored record when the person is new,
// 200 when they were replaced.
func (r *Registry) putBeneficiary(c echo.Context) error {
	var body BeneficiaryBody
	if err := web.Bind(c, &body); err != nil {
		return err
	}
	b, f := body.ToBeneficiary(c.Param("id_number"))
	f = append(f, registryPeriodClashes(b)...)
	if err := f.Err(); err != nil {
		return err
	}
	stored, created, err := r.put(c.Request().Context(), auth.Who(c), b)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, stored.View(true))
}

// getBeneficiary answers the full record to admin, finance and auditors,
// and categories, residency and county only to insurers (DESIGN §11). A
// malformed id is 422, a well-formed unknown one 404. A credit code shaped
// like a resident ID, which DetectIDType refuses (DESIGN §4), is answered
// only when it is on record as one (stored with id_type uscc); otherwise it
// is the mistyped resident ID it looks like, and 422.
func (r *Registry) getBeneficiary(c echo.Context) error {
	id := c.Param("id_number")
	declaredOnly := DetectIDType(id) == "" && LooksLikeResidentID(id) && ValidateUSCC(id) == nil
	if DetectIDType(id) == "" && !declaredOnly {
		return apperr.Invalid("id_number", "%s", undetectableIDMessage(id))
	}
	b, err := r.Get(c.Request().Context(), id)
	if declaredOnly && (apperr.KindOf(err) == apperr.ErrNotFound || err == nil && b.IDType != IDTypeUSCC) {
		return apperr.Invalid("id_number", "%s", undetectableIDMessage(id))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b.View(auth.From(c).Role != auth.Insurer))
}

// importCSV answers POST /api/v1/beneficiaries/import with ImportFile: the
// body, or the first file part of a multipart/form-data form.
func (r *Registry) importCSV(c echo.Context) error {
	raw, err := web.ReadBody(c)
	if err != nil {
		return err
	}
	if len(raw) == 0 {
		return apperr.Invalid("body", "is empty; send the CSV file as the request body, line 1 being the header %s", RegistryCSVHeader)
	}
	answer, err := r.ImportFile(c.Request().Context(), auth.Who(c), raw, c.Request().Header.Get(echo.HeaderContentType))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, answer)
}

// ReadRegistryImport reads an import file — CSV (UTF-8 or GBK, DESIGN §4)
// or XLSX, or the first file part of a multipart/form-data form, as
// contentType says — into the people it names, rows merged per person, and
// every bad row in line order (never nil). The people of a bad row are left
// out; the good rows' people are returned. An error is the request's:
// nothing could be read.
func ReadRegistryImport(body []byte, contentType string) ([]Beneficiary, []RowError, error) {
	rows, errs, err := readRegistryFile(body, contentType)
	if err != nil {
		return nil, nil, err
	}
	people, errs := parseRegistryRows(rows, errs)
	people, clashes := registryDropClashes(rows, people)
	if len(clashes) > 0 {
		errs = append(errs, clashes...)
		slices.SortStableFunc(errs, func(a, b RowError) int { return cmp.Compare(a.Line, b.Line) })
	}
	if errs == nil {
		errs = []RowError{}
	}
	return people, errs, nil
}

// ImportFile is the registry import of DESIGN §4, for the API and the
// console alike: it reads the file (ReadRegistryImport), stores the good
// rows' people (chunked transactions, one audit record; see Import) and
// answers the counts with every bad row. Good rows are kept when others are
// bad.
func (r *Registry) ImportFile(ctx context.Context, who audit.Who, body []byte, contentType string) (ImportAnswer, error) {
	people, errs, err := ReadRegistryImport(body, contentType)
	if err != nil {
		return ImportAnswer{}, err
	}
	n, err := r.importPeople(ctx, who, people, len(errs))
	if err != nil {
		return ImportAnswer{}, err
	}
	if r.imported != nil {
		r.imported.WithLabelValues("created").Add(float64(n.Created))
		r.imported.WithLabelValues("updated").Add(float64(n.Updated))
		r.imported.WithLabelValues("unchanged").Add(float64(n.Unchanged))
		r.imported.WithLabelValues("error").Add(float64(len(errs)))
	}
	return ImportAnswer{Created: n.Created, Updated: n.Updated, Unchanged: n.Unchanged, Errors: errs}, nil
}

// registryDropClashes removes the people with two periods of one kind and
// value starting the same day but ending differently (which
// parseRegistryRows keeps, as they are separately valid rows) and reports the
// second row of each such pair. A dropped person is not stored at all.
func registryDropClashes(rows []registryRow, people []Beneficiary) ([]Beneficiary, []RowError) {
	var clashing map[string]bool
	kept := people[:0]
	for _, p := range people {
		if len(registryPeriodClashes(p)) == 0 {
			kept = append(kept, p)
			continue
		}
		if clashing == nil {
			clashing = map[string]bool{}
		}
		clashing[p.IDNumber] = true
	}
	if clashing == nil {
		return kept, nil
	}
	return kept, registryClashRows(rows, clashing)
}

// registryClashRows goes through the rows again (trimmed and normalised by
// parseRegistryRows), only when a clash was found, to name the lines of the
// clashing rows of the people in clashing: each row that repeats an earlier
// row's id_number, kind, value and valid_from with another valid_to. Every
// clash has such a row, since its two periods came from two rows of the
// file.
func registryClashRows(rows []registryRow, clashing map[string]bool) []RowError {
	type period struct{ id, kind, value, from string }
	type firstRow struct {
		line int
		to   string
	}
	seen := map[period]firstRow{}
	var errs []RowError
	columns := len(rows[0].cells) // the header's, which parseRegistryRows accepted
	for _, row := range rows[1:] {
		rec := row.cells
		if len(rec) != columns || !clashing[rec[regColIDNumber]] {
			continue // a row of a person without clashes
		}
		key := period{rec[regColIDNumber], rec[regColKind], rec[regColValue], rec[regColValidFrom]}
		first, ok := seen[key]
		if !ok {
			seen[key] = firstRow{row.line, rec[regColValidTo]}
			continue
		}
		if first.to != rec[regColValidTo] {
			errs = append(errs, RowError{Line: row.line, Field: "valid_to", Message: fmt.Sprintf(
				"line %d gives the same %s %s from %s with another valid_to; one period cannot have two ends, so no row of this id_number was imported",
				first.line, key.kind, key.value, key.from)})
		}
	}
	return errs
}

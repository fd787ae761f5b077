package payouts

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/xuri/excelize/v2"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/web"
	"huimin/ledger"
	"huimin/policies"
)

// A bank answers a 发放清册 with a file: the rows it paid and the rows it
// returned (退票), with a reason and its own reference. POST
// /api/v1/disbursements/{id}/results takes that file (DESIGN §15) besides the
// JSON body: CSV in GBK or UTF-8 (the charset detected as for a registry
// import), or XLSX, sent as the body or as the file part of a
// multipart/form-data form (a browser's upload). Each row becomes the Result
// the JSON form would carry, and RecordResults records them — the same rules,
// one transaction, all or nothing. With ?dry_run=true nothing is recorded:
// the answer previews what would change and which rows are bad.

// ResultChange is a result that would change an item, in a preview.
type ResultChange struct {
	ClaimID string `json:"claim_id"`
	Outcome string `json:"outcome"`
}

// ResultsPreview is the answer of a dry run: the changes of the good rows
// (a row that repeats a recorded result changes nothing and is not listed)
// and the errors of the bad ones, each naming its line and the column by its
// header in the file. Both lists are never null.
type ResultsPreview struct {
	Changes []ResultChange      `json:"changes"`
	Errors  []policies.RowError `json:"errors"`
}

// The media types of a result file besides CSV: an XLSX workbook, and a
// browser's form upload.
var mediaXLSX = ledger.ContentTypes[ledger.FormatXLSX]

const mediaMultipart = "multipart/form-data"

// Limits of reading an XLSX result file: the body is at most 1 MiB, but a
// zip can expand a thousandfold; excelize refuses a workbook whose parts
// unzip to more than resultsUnzipLimit.
const resultsUnzipLimit = 32 << 20

// resultColumn is one column a result file may have: its names in a header
// (English, then Chinese) and the canonical name that errors use when the
// column is missing.
type resultColumn struct {
	canonical string
	names     []string
}

var (
	colClaimID = resultColumn{"claim_id", []string{"claim_id", "理赔编号"}}
	colAccount = resultColumn{"账号", []string{"账号", "payout_account"}}
	colOutcome = resultColumn{"outcome", []string{"outcome", "结果"}}
	colReason  = resultColumn{"reason", []string{"reason", "失败原因"}}
	colBankRef = resultColumn{"bank_reference", []string{"bank_reference", "银行流水号"}}

	resultColumns = []resultColumn{colClaimID, colAccount, colOutcome, colReason, colBankRef}
)

// The outcomes a file may state, in English or Chinese.
var resultOutcomes = map[string]string{"paid": ItemPaid, "成功": ItemPaid, "failed": ItemFailed, "失败": ItemFailed}

// sheetRow is one row of a result file and the line (CSV) or row (XLSX)
// number it starts on.
type sheetRow struct {
	line  int
	cells []string
}

// resultHeader is where each column is in a file: its index and its header
// as written, or -1 when the file has no such column.
type resultHeader struct {
	index map[string]int    // by canonical name
	name  map[string]string // by canonical name
}

func (h resultHeader) has(c resultColumn) bool { return h.index[c.canonical] >= 0 }

// field names a column in errors: its header as the file writes it, or the
// canonical name when the file lacks it.
func (h resultHeader) field(c resultColumn) string {
	if h.has(c) {
		return h.name[c.canonical]
	}
	return c.canonical
}

func (h resultHeader) cell(r sheetRow, c resultColumn) string {
	i := h.index[c.canonical]
	if i < 0 || i >= len(r.cells) {
		return ""
	}
	return strings.TrimSpace(r.cells[i])
}

// readResultHeader finds the columns in header (cells trimmed; English names
// in any case). Other columns — a returned roster's 姓名, 金额, … — are
// ignored. It says what is missing or repeated, or "".
func readResultHeader(header []string) (resultHeader, string) {
	h := resultHeader{index: map[string]int{}, name: map[string]string{}}
	for _, c := range resultColumns {
		h.index[c.canonical] = -1
	}
	for i, cell := range header {
		name := strings.TrimSpace(cell)
		for _, c := range resultColumns {
			for _, n := range c.names {
				if !strings.EqualFold(name, n) {
					continue
				}
				if h.has(c) {
					return h, fmt.Sprintf("columns %d and %d both name the %s column (%s); keep one", h.index[c.canonical]+1, i+1, c.canonical, strings.Join(c.names, " or "))
				}
				h.index[c.canonical], h.name[c.canonical] = i, name
			}
		}
	}
	switch {
	case !h.has(colClaimID) && !h.has(colAccount):
		return h, "names neither claim_id (理赔编号) nor 账号: the first line of the file must be its header, with claim_id or 账号, and outcome or 结果"
	case !h.has(colOutcome):
		return h, "has no outcome (结果) column: the first line of the file must be its header, with claim_id or 账号, and outcome or 结果"
	}
	return h, ""
}

// readResultRows reads a result file's rows: an XLSX workbook, told by its
// zip signature or named by contentType, or else CSV, whose charset
// contentType may name (a non-text type names none: it is detected).
func readResultRows(file []byte, contentType string) ([]sheetRow, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if bytes.HasPrefix(file, []byte("PK\x03\x04")) || mt == mediaXLSX {
		return readResultXLSX(file)
	}
	if !strings.HasPrefix(mt, "text/") {
		contentType = ""
	}
	return readResultCSV(file, contentType)
}

// readResultCSV decodes the file as a registry import is decoded (the
// Content-Type's charset, else UTF-8 if valid, else GBK; a BOM is dropped)
// and reads its records with their line numbers.
func readResultCSV(body []byte, contentType string) ([]sheetRow, error) {
	text, err := policies.DecodeCSV(body, contentType)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(text))
	r.FieldsPerRecord = -1
	var rows []sheetRow
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, apperr.Invalid("body", "is not readable CSV: line %d, column %d: %v", pe.StartLine, pe.Column, pe.Err)
			}
			return nil, apperr.Invalid("body", "is not readable CSV: %v", err)
		}
		line, _ := r.FieldPos(0)
		rows = append(rows, sheetRow{line: line, cells: rec})
	}
}

// readResultXLSX reads the first sheet of a workbook, each row with its
// number. Cells are read as stored, not as formatted: a text cell is its
// text, whatever the column's display format.
func readResultXLSX(body []byte) ([]sheetRow, error) {
	x, err := excelize.OpenReader(bytes.NewReader(body), excelize.Options{UnzipSizeLimit: resultsUnzipLimit})
	if err != nil {
		return nil, apperr.Invalid("body", "is not a readable XLSX workbook: %v", err)
	}
	defer x.Close()
	sheets := x.GetSheetList()
	if len(sheets) == 0 {
		return nil, apperr.Invalid("body", "is a workbook without a sheet")
	}
	it, err := x.Rows(sheets[0])
	if err != nil {
		return nil, apperr.Invalid("body", "cannot read the sheet %q: %v", sheets[0], err)
	}
	defer it.Close()
	var rows []sheetRow
	for n := 1; it.Next(); n++ {
		cells, err := it.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, apperr.Invalid("body", "cannot read row %d of the sheet %q: %v", n, sheets[0], err)
		}
		rows = append(rows, sheetRow{line: n, cells: cells})
	}
	if err := it.Error(); err != nil {
		return nil, apperr.Invalid("body", "cannot read the sheet %q: %v", sheets[0], err)
	}
	return rows, nil
}

// resultRows turns a file's rows into the results the JSON form would carry,
// checked against the batch's items as they are now: every bad row is an
// error naming its line and its column by the header the file gives it, and
// rows that would change an item are the preview's changes. A row whose key
// and outcome cells are all empty (a blank line, a returned roster's totals
// row or footer) is skipped.
func resultRows(rows []sheetRow, items []itemRecord) (ResultsInput, ResultsPreview) {
	preview := ResultsPreview{Changes: []ResultChange{}, Errors: []policies.RowError{}}
	var in ResultsInput
	bad := func(line int, field, format string, args ...any) {
		preview.Errors = append(preview.Errors, policies.RowError{Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	start := 0
	for start < len(rows) && blankRow(rows[start]) {
		start++
	}
	if start == len(rows) {
		bad(1, "header", "the file is empty: its first line must be the header, with claim_id or 账号, and outcome or 结果")
		return in, preview
	}
	h, problem := readResultHeader(rows[start].cells)
	if problem != "" {
		bad(rows[start].line, "header", "%s", problem)
		return in, preview
	}
	byClaim := make(map[string]*itemRecord, len(items))
	byAccount := make(map[string][]*itemRecord, len(items))
	for i := range items {
		it := &items[i]
		byClaim[it.ClaimID] = it
		byAccount[it.PayoutAccount] = append(byAccount[it.PayoutAccount], it)
	}
	firstLine := map[string]int{}
	for _, row := range rows[start+1:] {
		claimID, account, outcome := h.cell(row, colClaimID), h.cell(row, colAccount), h.cell(row, colOutcome)
		if claimID == "" && account == "" && outcome == "" {
			continue
		}
		before := len(preview.Errors)
		var it *itemRecord
		switch {
		case claimID != "":
			if it = byClaim[claimID]; it == nil {
				bad(row.line, h.field(colClaimID), "is not a claim of this batch")
			} else if account != "" && account != it.PayoutAccount {
				bad(row.line, h.field(colAccount), "is not the account this batch pays claim %s to", claimID)
			}
		case account != "":
			switch n := len(byAccount[account]); n {
			case 0:
				bad(row.line, h.field(colAccount), "no item of this batch is paid to this account; if the sheet stores accounts as numbers, they may have lost digits: give claim_id or store 账号 as text")
			case 1:
				it = byAccount[account][0]
			default:
				bad(row.line, h.field(colAccount), "%d items of this batch are paid to this account; give claim_id to tell them apart", n)
			}
		default:
			bad(row.line, h.field(colClaimID), "is required: give claim_id or 账号")
		}
		r := Result{Reason: h.cell(row, colReason), BankReference: h.cell(row, colBankRef)}
		var f apperr.Fields
		switch r.Outcome = resultOutcomes[strings.ToLower(outcome)]; {
		case outcome == "":
			bad(row.line, h.field(colOutcome), "is required: paid, failed, 成功 or 失败")
		case r.Outcome == "":
			bad(row.line, h.field(colOutcome), "must be paid, failed, 成功 or 失败")
		case r.Outcome == ItemPaid:
			web.CheckRef(&f, h.field(colBankRef), r.BankReference, BankReferenceMax)
			if r.Reason != "" {
				web.CheckText(&f, h.field(colReason), r.Reason, ResultReasonMax)
			}
		default:
			web.CheckText(&f, h.field(colReason), r.Reason, ResultReasonMax)
			if r.BankReference != "" {
				web.CheckRef(&f, h.field(colBankRef), r.BankReference, BankReferenceMax)
			}
		}
		for _, fe := range f {
			msg := fe.Message
			if (fe.Field == colBankRef.canonical && !h.has(colBankRef)) || (fe.Field == colReason.canonical && !h.has(colReason)) {
				msg = fmt.Sprintf("is required for a %s result, and the file has no %s column", r.Outcome, strings.Join(map[string][]string{
					colBankRef.canonical: colBankRef.names, colReason.canonical: colReason.names}[fe.Field], " or "))
			}
			bad(row.line, fe.Field, "%s", msg)
		}
		if it != nil {
			if line, seen := firstLine[it.ClaimID]; seen {
				key := h.field(colClaimID)
				if claimID == "" {
					key = h.field(colAccount)
				}
				bad(row.line, key, "repeats line %d: claim %s is listed twice", line, it.ClaimID)
			} else {
				firstLine[it.ClaimID] = row.line
			}
		}
		if len(preview.Errors) > before || it == nil {
			continue
		}
		r.ClaimID = it.ClaimID
		if it.Status != ItemInPayment {
			// The rule of RecordResults: the same result again is nothing
			// to do; another one is refused.
			if it.Status != r.Outcome || (r.Outcome == ItemPaid && it.BankReference != r.BankReference) {
				bad(row.line, h.field(colOutcome), "claim %s is already recorded as %s in this batch; a result once recorded does not change", it.ClaimID, it.Status)
				continue
			}
		} else {
			preview.Changes = append(preview.Changes, ResultChange{ClaimID: it.ClaimID, Outcome: r.Outcome})
		}
		in.Results = append(in.Results, r)
	}
	return in, preview
}

func blankRow(r sheetRow) bool {
	for _, c := range r.cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// PreviewResultsFile reads a bank's result file — CSV in GBK or UTF-8 (the
// charset contentType names, else detected), or XLSX (told by its content;
// contentType may be "") — against the batch as it is now, and says what
// recording it would change and which rows are bad, changing nothing. The
// console's upload calls it as the API does.
func (s *Service) PreviewResultsFile(ctx context.Context, id string, file []byte, contentType string) (ResultsPreview, error) {
	_, preview, err := s.previewResults(ctx, id, file, contentType)
	return preview, err
}

func (s *Service) previewResults(ctx context.Context, id string, file []byte, contentType string) (ResultsInput, ResultsPreview, error) {
	if len(file) == 0 {
		return ResultsInput{}, ResultsPreview{}, apperr.Invalid("body", "is empty; send the bank's result file")
	}
	rows, err := readResultRows(file, contentType)
	if err != nil {
		return ResultsInput{}, ResultsPreview{}, err
	}
	b, items, err := loadBatch(ctx, s.db.DB, id, false)
	if err != nil {
		return ResultsInput{}, ResultsPreview{}, db.Translate(err)
	}
	// As RecordResults: no results before the batch is issued (409).
	if err := issuedOrLater(b); err != nil {
		return ResultsInput{}, ResultsPreview{}, err
	}
	in, preview := resultRows(rows, items)
	return in, preview, nil
}

// RecordResultsFile records a result file (read as PreviewResultsFile reads
// it): when every row is good, exactly as RecordResults records the same
// results — one transaction, a repeat a no-op, a contradiction refused —
// and answers the batch; otherwise it records nothing and returns
// ErrResultRows with the preview, whose errors say why.
func (s *Service) RecordResultsFile(ctx context.Context, who audit.Who, id string, file []byte, contentType string) (BatchView, ResultsPreview, error) {
	in, preview, err := s.previewResults(ctx, id, file, contentType)
	if err != nil {
		return BatchView{}, preview, err
	}
	if len(preview.Errors) > 0 {
		return BatchView{}, preview, ErrResultRows
	}
	if len(in.Results) == 0 {
		preview.Errors = append(preview.Errors, policies.RowError{Line: 1, Field: "body", Message: "the file has a header but no result rows"})
		return BatchView{}, preview, ErrResultRows
	}
	v, err := s.RecordResults(ctx, who, id, in)
	return v, preview, err
}

// ErrResultRows is RecordResultsFile's refusal of a file with bad rows (a
// validation error: 422).
var ErrResultRows = apperr.New(apperr.ErrValidation, "the result file has bad rows; nothing was recorded")

// resultsFile answers a result file posted to
// /api/v1/disbursements/{id}/results: 200 with the preview on a dry run, 200
// with the batch when recorded, 422 with the rows' errors when any is bad.
func (s *Service) resultsFile(c echo.Context, id, mediaType string, params map[string]string, dryRun bool) error {
	file, err := web.ReadBody(c)
	if err != nil {
		return err
	}
	contentType := c.Request().Header.Get(echo.HeaderContentType)
	if mediaType == mediaMultipart {
		if file, contentType, err = web.FilePart(file, params["boundary"]); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	if dryRun {
		preview, err := s.PreviewResultsFile(ctx, id, file, contentType)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, preview)
	}
	v, preview, err := s.RecordResultsFile(ctx, auth.Who(c), id, file, contentType)
	if errors.Is(err, ErrResultRows) {
		return badResultRows(c, preview.Errors)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// badResultRows answers 422 validation_failed with the envelope of DESIGN
// §11: fields names each bad cell by its header, the message starting with
// the line; details.errors is the list a dry run answers, {line, field,
// message}.
func badResultRows(c echo.Context, errs []policies.RowError) error {
	fields := make([]apperr.FieldError, len(errs))
	for i, e := range errs {
		fields[i] = apperr.FieldError{Field: e.Field, Message: fmt.Sprintf("line %d: %s", e.Line, e.Message)}
	}
	return c.JSON(http.StatusUnprocessableEntity, web.Envelope{
		Error: web.EnvelopeError{
			Code:    apperr.ErrValidation.Code,
			Message: fmt.Sprintf("the result file has %d bad row(s); nothing was recorded", len(errs)),
			Fields:  fields,
			Details: map[string]any{"errors": errs},
		},
		RequestID: web.RequestID(c),
	})
}

// resultFileType reports whether a Content-Type announces a result file —
// CSV (as servers and browsers label it), XLSX or a form upload — and
// returns its media type and parameters.
func resultFileType(contentType string) (string, map[string]string, bool) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", nil, false
	}
	switch mt {
	case "text/csv", "application/csv", "text/comma-separated-values", "application/vnd.ms-excel", mediaXLSX, mediaMultipart:
		return mt, params, true
	}
	return mt, params, false
}

package payouts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"golang.org/x/text/encoding/simplifiedchinese"
	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/money"
	"huimin/ledger"
	"huimin/policies"
)

// The 发放清册 (disbursement roster, DESIGN §15) is what the finance bureau
// sends the commissioned bank for a batch: one row per payee with the full id
// and account numbers, a totals row and, in a footer, the batch id and a
// SHA-256 of the rows, so that bank and bureau can tell they hold the same
// list.

// RosterColumns are the roster's columns, in order.
var RosterColumns = []string{"序号", "姓名", "身份证号", "账号", "开户行", "金额", "补贴项目", "乡镇", "村", "摘要"}

// rosterWidths are the XLSX widths of RosterColumns, in characters.
var rosterWidths = []float64{6, 10, 21, 24, 30, 14, 20, 14, 14, 56}

// The labels of the roster's totals row and footer, in 序号's column.
const (
	rosterTotal    = "合计"
	rosterBatchID  = "批次号"
	rosterChecksum = "SHA-256校验码"
)

// Roster formats and CSV charsets (DESIGN §15).
const (
	RosterXLSX  = "xlsx"
	RosterCSV   = "csv"
	CharsetUTF8 = "utf-8"
	CharsetGBK  = "gbk"
)

// RosterRow is one payee of a roster.
type RosterRow struct {
	Seq       int
	Name      string
	IDNumber  string
	Account   string
	BankName  string
	Amount    int64 // fen
	Programme string
	Township  string
	Village   string
	Purpose   string
}

// cells are the row's ten cells as text, as the CSV writes them and the
// checksum reads them.
func (r RosterRow) cells() []string {
	return []string{strconv.Itoa(r.Seq), r.Name, r.IDNumber, r.Account, r.BankName, money.String(money.FromFen(r.Amount)),
		r.Programme, r.Township, r.Village, r.Purpose}
}

// Roster is a batch's 发放清册.
type Roster struct {
	BatchID string
	Plan    string
	Rows    []RosterRow
	Total   int64 // fen, the sum of the rows' amounts: the batch total
	// SHA256 is the hex SHA-256 of the rows (RosterChecksum).
	SHA256 string
}

// RosterChecksum is the roster's footer checksum: the hex SHA-256 of the
// UTF-8 text made of each row's ten cells as the CSV writes them (序号 an
// integer, 金额 with two decimals, every other cell as is), joined by "|",
// each row ended by "\n", in row order. The header, the totals row and the
// footer are not part of it, nor is the charset or the file format: the
// XLSX and both CSVs of a batch carry the same checksum, and anyone can
// recompute it from any of them.
func RosterChecksum(rows [][]string) string {
	h := sha256.New()
	for _, r := range rows {
		io.WriteString(h, strings.Join(r, "|"))
		io.WriteString(h, "\n")
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Roster reads a batch's roster and audits the download
// (disbursement.roster) in the same transaction, so every roster handed out
// is on record. It holds full id and account numbers: the caller must be
// finance. The account is the one the batch recorded when it was issued; the
// name, id number, township, village and bank come from the registry; rows
// are in claim id order, as the batch lists its items. label says which file
// was asked for, for the audit record.
func (s *Service) Roster(ctx context.Context, who audit.Who, id, label string) (Roster, error) {
	now := s.now()
	var out Roster
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		b, items, err := loadBatch(ctx, tx, id, false)
		if err != nil {
			return err
		}
		// Like the bank file: none while the batch is still being made.
		if err := issuedOrLater(b); err != nil {
			return err
		}
		plan, err := policies.LoadPlan(ctx, tx, b.PlanCode, false)
		if err != nil {
			return err
		}
		claimIDs := make([]string, len(items))
		for i, it := range items {
			claimIDs[i] = it.ClaimID
		}
		// The claims package offers no bulk read without a lock; locking
		// the batch's claims for this short transaction costs nothing a
		// roster download would notice, and they are all in payment.
		states, err := claims.LockStates(ctx, tx, claimIDs)
		if err != nil {
			return err
		}
		person := make(map[string]string, len(states))
		ids := make([]string, len(states))
		for i, st := range states {
			person[st.ID], ids[i] = st.BeneficiaryID, st.BeneficiaryID
		}
		people, err := policies.LoadRegistryEntries(ctx, tx, ids)
		if err != nil {
			return err
		}
		programme := plan.Programme
		if p, ok := policies.ProgrammeByCode(plan.Programme); ok {
			programme = p.Name
		}
		year := string(plan.CoverageStart)[:4]
		out = Roster{BatchID: b.ID, Plan: b.PlanCode, Rows: make([]RosterRow, len(items))}
		cells := make([][]string, len(items))
		for i, it := range items {
			idNumber := person[it.ClaimID]
			p := people[idNumber]
			out.Rows[i] = RosterRow{
				Seq: i + 1, Name: p.Name, IDNumber: idNumber, Account: it.PayoutAccount, BankName: p.BankName,
				Amount: it.Amount, Programme: programme + " " + b.PlanCode, Township: p.Township, Village: p.Village,
				Purpose: fmt.Sprintf("%s年%s理赔款 理赔编号 %s", year, programme, it.ClaimID),
			}
			out.Total += it.Amount
			cells[i] = out.Rows[i].cells()
		}
		out.SHA256 = RosterChecksum(cells)
		return audit.Write(ctx, tx, now, who, "disbursement.roster", b.ID, fmt.Sprintf("%s, %d rows", label, len(items)))
	})
	return out, db.Translate(err)
}

// totals is the totals row: 合计, the number of rows, the sum.
func (r Roster) totals() []string {
	row := make([]string, len(RosterColumns))
	row[0], row[1], row[5] = rosterTotal, strconv.Itoa(len(r.Rows)), money.String(money.FromFen(r.Total))
	return row
}

// footer is the batch id and the checksum, each a row of its own.
func (r Roster) footer() [][]string {
	row := func(label, value string) []string {
		out := make([]string, len(RosterColumns))
		out[0], out[1] = label, value
		return out
	}
	return [][]string{row(rosterBatchID, r.BatchID), row(rosterChecksum, r.SHA256)}
}

// WriteCSV writes the roster as RFC 4180 CSV with CRLF line ends: UTF-8
// with a byte order mark, or GBK without one. Digits are written plainly
// (no ="…" or leading quote): the CSV is for the bank's system; a clerk
// opens the XLSX. GBK is written by the GB18030 encoder, which gives every
// character GBK has its GBK bytes and a rare one GBK lacks (some names'
// characters) its four-byte GB18030 code, rather than losing it.
func (r Roster) WriteCSV(w io.Writer, charset string) error {
	var buf bytes.Buffer
	if charset != CharsetGBK {
		buf.WriteString("\ufeff")
	}
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true
	_ = cw.Write(RosterColumns)
	for _, row := range r.Rows {
		_ = cw.Write(row.cells())
	}
	_ = cw.Write(r.totals())
	for _, row := range r.footer() {
		_ = cw.Write(row)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	out := buf.Bytes()
	if charset == CharsetGBK {
		var err error
		if out, err = simplifiedchinese.GB18030.NewEncoder().Bytes(out); err != nil {
			return err
		}
	}
	_, err := w.Write(out)
	return err
}

// WriteXLSX writes the roster as a workbook of one sheet, 发放清册: the
// header bold and frozen; 序号 an integer, 金额 a number with two decimals
// (so that SUM over it is the batch total), and every other cell text — an
// id number or a 19-digit card number stays exactly its digits, never a
// number in scientific notation. The totals row is bold.
func (r Roster) WriteXLSX(w io.Writer) error {
	cols := make([]ledger.SheetColumn, len(RosterColumns))
	for i, h := range RosterColumns {
		cols[i] = ledger.SheetColumn{Header: h, Width: rosterWidths[i]}
	}
	sh, err := ledger.NewSheet("发放清册", cols)
	if err != nil {
		return err
	}
	defer sh.Close()
	for _, row := range r.Rows {
		if err := sh.Row(row.Seq, row.Name, row.IDNumber, row.Account, row.BankName, ledger.SheetAmount(row.Amount),
			row.Programme, row.Township, row.Village, row.Purpose); err != nil {
			return err
		}
	}
	if err := sh.BoldRow(rosterTotal, len(r.Rows), nil, nil, nil, ledger.SheetAmount(r.Total)); err != nil {
		return err
	}
	for _, row := range r.footer() {
		if err := sh.Row(row[0], row[1]); err != nil {
			return err
		}
	}
	_, err = sh.WriteTo(w)
	return err
}

// roster answers GET /api/v1/disbursements/{id}/roster: format=xlsx (the
// default) or csv with charset=utf-8 (the default, with a BOM) or gbk.
func (s *Service) roster(c echo.Context) error {
	id, err := batchIDParam(c)
	if err != nil {
		return err
	}
	var fe apperr.Fields
	format, charset := c.QueryParam("format"), strings.ToLower(c.QueryParam("charset"))
	switch format {
	case "":
		format = RosterXLSX
	case RosterXLSX, RosterCSV:
	default:
		fe.Add("format", "must be xlsx or csv")
	}
	switch charset {
	case "", CharsetUTF8, CharsetGBK:
		if charset != "" && format == RosterXLSX {
			fe.Add("charset", "applies to format=csv only; an XLSX file has no charset")
		}
	default:
		fe.Add("charset", "must be gbk or utf-8")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	label := format
	if format == RosterCSV {
		if charset == "" {
			charset = CharsetUTF8
		}
		label += " " + charset
	}
	r, err := s.Roster(c.Request().Context(), auth.Who(c), id, label)
	if err != nil {
		return err
	}
	var (
		buf         bytes.Buffer
		contentType string
	)
	if format == RosterXLSX {
		contentType, err = ledger.ContentTypes[ledger.FormatXLSX], r.WriteXLSX(&buf)
	} else {
		contentType, err = "text/csv; charset="+map[string]string{CharsetUTF8: "utf-8", CharsetGBK: "GBK"}[charset], r.WriteCSV(&buf, charset)
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentDisposition,
		mime.FormatMediaType("attachment", map[string]string{"filename": "roster-" + r.BatchID + "." + format}))
	return c.Blob(http.StatusOK, contentType, buf.Bytes())
}

package ledger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/civil"
	"huimin/internal/db"
	"huimin/internal/mask"
	"huimin/internal/money"
	"huimin/internal/web"
)

// Columns of the ledger export and list (DESIGN §8), in order.
var Columns = []string{"seq", "at", "plan", "kind", "claim_id", "beneficiary_id", "county_code", "amount",
	"from_account", "to_account", "actor", "prev_hash", "hash"}

// ColumnsZH are Columns as the Chinese header of an export with lang=zh
// names them (DESIGN §16), in the same order. Only the header changes: the
// values, and so the hash chain, are the same in either language.
var ColumnsZH = []string{"序号", "时间", "计划", "类型", "理赔编号", "受益人证件号", "区县代码", "金额",
	"转出账户", "转入账户", "操作人", "前哈希", "哈希"}

// Header languages of an export.
const (
	LangEN = "en"
	LangZH = "zh"
)

// Header returns the export's header row in lang (LangEN or LangZH).
func Header(lang string) []string {
	if lang == LangZH {
		return ColumnsZH
	}
	return Columns
}

// columnWidths are the XLSX widths of Columns, in characters: an `at` is 24
// characters, a claim id 26, a hash 64.
var columnWidths = []float64{8, 25, 18, 10, 28, 20, 10, 16, 12, 12, 14, 66, 66}

// EntryView is a ledger entry as the list and exports show it. The
// beneficiary id is masked; it is outside the hash.
type EntryView struct {
	Seq           int64  `json:"seq"`
	At            string `json:"at"`
	Plan          string `json:"plan"`
	Kind          string `json:"kind"`
	ClaimID       string `json:"claim_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	CountyCode    string `json:"county_code"`
	Amount        string `json:"amount"`
	FromAccount   string `json:"from_account"`
	ToAccount     string `json:"to_account"`
	Actor         string `json:"actor"`
	PrevHash      string `json:"prev_hash"`
	Hash          string `json:"hash"`
}

func entryView(e Entry) EntryView {
	v := EntryView{
		Seq: e.Seq, At: web.Timestamp(e.At), Plan: e.PlanCode, Kind: e.Kind, ClaimID: e.ClaimID,
		CountyCode: e.CountyCode, Amount: money.String(money.FromFen(e.Amount)), FromAccount: e.FromAccount,
		ToAccount: e.ToAccount, Actor: e.Actor, PrevHash: e.PrevHash, Hash: e.Hash,
	}
	if e.BeneficiaryID != "" {
		v.BeneficiaryID = mask.ID(e.BeneficiaryID)
	}
	return v
}

func (v EntryView) row() []string {
	return []string{strconv.FormatInt(v.Seq, 10), v.At, v.Plan, v.Kind, v.ClaimID, v.BeneficiaryID, v.CountyCode,
		v.Amount, v.FromAccount, v.ToAccount, v.Actor, v.PrevHash, v.Hash}
}

// Filter selects entries: one plan or all, and a date range on `at`
// (China time, inclusive).
type Filter struct {
	Plan     string
	From, To civil.Date
	After    *[2]string // cursor: plan and seq of the last entry of the previous page
	Limit    int        // 0: no limit (exports)
}

func (f Filter) query(tx *gorm.DB) *gorm.DB {
	q := tx.Model(&Entry{}).Order("plan_code, seq")
	if f.Plan != "" {
		q = q.Where("plan_code = ?", f.Plan)
	}
	if f.From != "" {
		q = q.Where("at >= ?", f.From.Time().UnixMilli())
	}
	if f.To != "" {
		q = q.Where("at < ?", f.To.AddDays(1).Time().UnixMilli())
	}
	if f.After != nil {
		seq, _ := strconv.ParseInt(f.After[1], 10, 64)
		q = q.Where("plan_code > ? OR (plan_code = ? AND seq > ?)", f.After[0], f.After[0], seq)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	return q
}

// Entries returns one page of entries ordered by plan and seq.
func (s *Service) Entries(ctx context.Context, f Filter) ([]EntryView, error) {
	var es []Entry
	if err := f.query(s.db.WithContext(ctx)).Find(&es).Error; err != nil {
		return nil, db.Translate(err)
	}
	out := make([]EntryView, len(es))
	for i, e := range es {
		out[i] = entryView(e)
	}
	return out, nil
}

// eachEntry streams the selected entries from the database one row at a
// time, so that memory does not grow with the
func (s *Service) eachEntry(ctx context.Context, f Filter, fn func(Entry) error) error {
	return eachEntry(ctx, s.db.DB, f, fn)
}

func eachEntry(ctx context.Context, q *gorm.DB, f Filter, fn func(Entry) error) error {
	rows, err := f.query(q.WithContext(ctx)).Select("plan_code, seq, kind, claim_id, amount, from_account, to_account, actor, at, beneficiary_id, county_code, reference, prev_hash, hash").Rows()
	if err != nil {
		return db.Translate(err)
	}
	defer rows.Close()
	var e Entry
	for rows.Next() {
		if err := rows.Scan(&e.PlanCode, &e.Seq, &e.Kind, &e.ClaimID, &e.Amount, &e.FromAccount, &e.ToAccount,
			&e.Actor, &e.At, &e.BeneficiaryID, &e.CountyCode, &e.Reference, &e.PrevHash, &e.Hash); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Export formats.
const (
	FormatCSV    = "csv"
	FormatXLSX   = "xlsx"
	FormatNDJSON = "ndjson"
)

// ContentTypes of the export formats.
var ContentTypes = map[string]string{
	FormatCSV:    "text/csv; charset=utf-8",
	FormatXLSX:   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	FormatNDJSON: "application/x-ndjson",
}

// Export writes the selected entries to w in format with the English
// header (ExportLang with LangEN).
func (s *Service) Export(ctx context.Context, f Filter, format string, w io.Writer) error {
	return s.ExportLang(ctx, f, format, LangEN, w)
}

// ExportLang writes the selected entries to w in format, the header (CSV,
// XLSX) in lang; NDJSON keys are the English column names whatever lang is.
// CSV starts with a UTF-8 BOM so that Excel shows Chinese text, and follows
// RFC 4180.
func (s *Service) ExportLang(ctx context.Context, f Filter, format, lang string, w io.Writer) error {
	switch format {
	case FormatCSV:
		bw := bufio.NewWriterSize(w, 64*1024)
		if _, err := bw.WriteString("\ufeff"); err != nil {
			return err
		}
		cw := csv.NewWriter(bw)
		cw.UseCRLF = true
		if err := cw.Write(Header(lang)); err != nil {
			return err
		}
		if err := s.eachEntry(ctx, f, func(e Entry) error { return cw.Write(entryView(e).row()) }); err != nil {
			return err
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		return bw.Flush()
	case FormatNDJSON:
		bw := bufio.NewWriterSize(w, 64*1024)
		enc := json.NewEncoder(bw)
		if err := s.eachEntry(ctx, f, func(e Entry) error { return enc.Encode(entryView(e)) }); err != nil {
			return err
		}
		return bw.Flush()
	case FormatXLSX:
		return s.exportXLSX(ctx, f, lang, w)
	}
	return apperr.Invalid("format", "must be csv, xlsx or ndjson")
}

// exportXLSX writes the entries as a Sheet (streamed: memory does not grow
// with the number of rows). seq is an integer cell and amount a number cell
// with two decimals, so that a spreadsheet adds them up; every other column
// — at, the ids, county_code, the hashes — is text, exactly as in the CSV, so
// that the hashed values survive (DESIGN §16).
func (s *Service) exportXLSX(ctx context.Context, f Filter, lang string, w io.Writer) error {
	header := Header(lang)
	cols := make([]SheetColumn, len(header))
	for i, h := range header {
		cols[i] = SheetColumn{Header: h, Width: columnWidths[i]}
	}
	sh, err := NewSheet("Sheet1", cols)
	if err != nil {
		return err
	}
	defer sh.Close()
	err = s.eachEntry(ctx, f, func(e Entry) error {
		v := entryView(e)
		return sh.Row(v.Seq, v.At, v.Plan, v.Kind, v.ClaimID, v.BeneficiaryID, v.CountyCode, SheetAmount(e.Amount),
			v.FromAccount, v.ToAccount, v.Actor, v.PrevHash, v.Hash)
	})
	if err != nil {
		return err
	}
	_, err = sh.WriteTo(w)
	return err
}

// Verification is the answer of GET /api/v1/ledger/verify.
type Verification struct {
	Plan        string `json:"plan"`
	OK          bool   `json:"ok"`
	Entries     int64  `json:"entries"`
	HeadHash    string `json:"head_hash"`
	FirstBadSeq *int64 `json:"first_bad_seq,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// chain checks entries of one plan as they stream in seq order.
type chain struct {
	plan    string
	n       int64
	prev    string
	lastSeq int64
	bad     *int64
	reason  string
}

func newChain(plan string) *chain { return &chain{plan: plan, prev: GenesisHash} }

// add checks the next entry; after the first breach it only counts.
func (c *chain) add(seq int64, prevHash, canonical, hash string) {
	c.n++
	if c.bad != nil {
		return
	}
	fail := func(why string) { s := seq; c.bad, c.reason = &s, why }
	switch {
	case seq != c.lastSeq+1:
		s := c.lastSeq + 1
		c.bad, c.reason = &s, fmt.Sprintf("seq %d follows %d: an entry is missing or out of order", seq, c.lastSeq)
	case prevHash != c.prev:
		fail("prev_hash does not match the previous entry's hash")
	case ChainHash(prevHash, canonical) != hash:
		fail("hash does not match the entry's contents")
	}
	c.lastSeq, c.prev = seq, hash
}

// Verify recomputes a plan's hash chain from the stored entries and compares
// its head with the budget row's, which catches a deleted tail too.
func (s *Service) Verify(ctx context.Context, plan string) (Verification, error) {
	var v Verification
	err := s.db.ReadSnapshot(ctx, func(tx *gorm.DB) error {
		var err error
		v, err = VerifyTx(ctx, tx, plan)
		return err
	})
	return v, err
}

// VerifyTx is Verify within tx, which must be a consistent snapshot.
func VerifyTx(ctx context.Context, tx *gorm.DB, plan string) (Verification, error) {
	b, err := Get(ctx, tx, plan)
	if err != nil {
		return Verification{}, db.Translate(err)
	}
	c := newChain(plan)
	err = eachEntry(ctx, tx, Filter{Plan: plan}, func(e Entry) error {
		c.add(e.Seq, e.PrevHash, e.Canonical(), e.Hash)
		return nil
	})
	if err != nil {
		return Verification{}, db.Translate(err)
	}
	v := Verification{Plan: plan, Entries: c.n, HeadHash: c.prev}
	if c.bad == nil && (c.lastSeq != b.LastSeq || c.prev != b.LastHash) {
		s := c.lastSeq + 1
		if c.lastSeq > b.LastSeq {
			s = b.LastSeq + 1
		}
		c.bad, c.reason = &s, fmt.Sprintf("the chain ends at seq %d but the plan's head is seq %d", c.lastSeq, b.LastSeq)
	}
	v.OK, v.FirstBadSeq, v.Reason = c.bad == nil, c.bad, c.reason
	return v, nil
}

// VerifyExport checks an exported CSV offline: per plan, seq runs without
// gaps, each prev_hash is the previous row's hash, and each hash matches the
// row. An export that starts mid-chain (a date filter) is taken from its
// first row's prev_hash. It returns the first bad line (1 = header) and why.
//
// It reads the file as downloaded and as a spreadsheet saves it again, as
// far as that keeps what was hashed (README, "Spreadsheets"):
//   - the header may be either language's (Columns or ColumnsZH); columns
//     are read by position, the same in both;
//   - UTF-8 with or without a BOM, or GBK (a Chinese header saved as "CSV"
//     on a Chinese Windows; every value is ASCII, the same in either);
//   - an amount written without its trailing zeros (100 for 100.00): the
//     chain hashes the amount with two decimals (DESIGN §8), so it is
//     hashed that way whatever the file shows;
//   - a first prev_hash of 64 zeros shortened to zeros (a spreadsheet takes
//     it for the number 0).
//
// Anything else changed — a value, an `at` turned into a date, a hash — is
// a bad line.
func VerifyExport(r io.Reader) (rows int, badLine int, reason string, err error) {
	br := bufio.NewReaderSize(r, 64*1024)
	if b, _ := br.Peek(3); string(b) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	in := io.Reader(br)
	if first, _ := br.Peek(4096); len(first) > 0 {
		if i := bytes.IndexByte(first, '\n'); i >= 0 {
			first = first[:i]
		}
		if !utf8.Valid(first) {
			in = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
		}
	}
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = len(Columns)
	header, err := cr.Read()
	if err != nil {
		return 0, 1, "", fmt.Errorf("read header: %w", err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(header[i])
	}
	if got := strings.Join(header, ","); got != strings.Join(Columns, ",") && got != strings.Join(ColumnsZH, ",") {
		return 0, 1, "the header is not the ledger export's (in English or Chinese)", nil
	}
	chains := map[string]*chain{}
	line := 1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, 0, "", nil
		}
		line++
		if err != nil {
			return rows, line, fmt.Sprintf("unreadable row: %v", err), nil
		}
		rows++
		seq, serr := strconv.ParseInt(rec[0], 10, 64)
		amount, aerr := money.Parse(rec[7])
		if serr != nil || aerr != nil {
			return rows, line, "seq or amount is not a number", nil
		}
		if strings.Trim(rec[11], "0") == "" && rec[11] != "" {
			rec[11] = GenesisHash
		}
		plan := rec[2]
		c, ok := chains[plan]
		if !ok {
			c = newChain(plan)
			c.prev, c.lastSeq = rec[11], seq-1
			chains[plan] = c
		}
		canonical := strings.Join([]string{rec[0], plan, rec[3], rec[4], money.String(amount), rec[8], rec[9], rec[10], rec[1]}, "|")
		c.add(seq, rec[11], canonical, rec[12])
		if c.bad != nil {
			return rows, line, c.reason, nil
		}
	}
}

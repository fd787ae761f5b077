package ledger

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
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

// Export writes the selected entries to w in format. CSV starts with a
// UTF-8 BOM so that Excel shows Chinese text, and follows RFC 4180.
func (s *Service) Export(ctx context.Context, f Filter, format string, w io.Writer) error {
	switch format {
	case FormatCSV:
		bw := bufio.NewWriterSize(w, 64*1024)
		if _, err := bw.WriteString("\ufeff"); err != nil {
			return err
		}
		cw := csv.NewWriter(bw)
		cw.UseCRLF = true
		if err := cw.Write(Columns); err != nil {
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
		return s.exportXLSX(ctx, f, w)
	}
	return apperr.Invalid("format", "must be csv, xlsx or ndjson")
}

// exportXLSX uses excelize's StreamWriter, which spills rows to a temporary
// file instead of holding the sheet in memory.
func (s *Service) exportXLSX(ctx context.Context, f Filter, w io.Writer) error {
	x := excelize.NewFile()
	defer x.Close()
	sw, err := x.NewStreamWriter("Sheet1")
	if err != nil {
		return err
	}
	header := make([]any, len(Columns))
	for i, c := range Columns {
		header[i] = c
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	n := 1
	row := make([]any, len(Columns))
	err = s.eachEntry(ctx, f, func(e Entry) error {
		n++
		for i, v := range entryView(e).row() {
			row[i] = v // text cells: amounts and hashes must stay exactly as written
		}
		cell, _ := excelize.CoordinatesToCellName(1, n)
		return sw.SetRow(cell, row)
	})
	if err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return x.Write(w)
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
func VerifyExport(r io.Reader) (rows int, badLine int, reason string, err error) {
	br := bufio.NewReader(r)
	if b, _ := br.Peek(3); string(b) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = len(Columns)
	header, err := cr.Read()
	if err != nil {
		return 0, 1, "", fmt.Errorf("read header: %w", err)
	}
	if strings.Join(header, ",") != strings.Join(Columns, ",") {
		return 0, 1, "the header is not the ledger export's", nil
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
		if _, aerr := money.Parse(rec[7]); serr != nil || aerr != nil {
			return rows, line, "seq or amount is not a number", nil
		}
		plan := rec[2]
		c, ok := chains[plan]
		if !ok {
			c = newChain(plan)
			c.prev, c.lastSeq = rec[11], seq-1
			chains[plan] = c
		}
		canonical := strings.Join([]string{rec[0], plan, rec[3], rec[4], rec[7], rec[8], rec[9], rec[10], rec[1]}, "|")
		c.add(seq, rec[11], canonical, rec[12])
		if c.bad != nil {
			return rows, line, c.reason, nil
		}
	}
}

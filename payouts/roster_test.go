package payouts_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/payouts"
	"huimin/server/servertest"
)

// payee is a registry person with the place fields of DESIGN §4.
type payee struct {
	servertest.Person
	township, village, bank string
}

// registerPayee puts p in the registry through PUT, places included.
func (e *env) registerPayee(t testing.TB, p payee) {
	t.Helper()
	body := p.Body()
	for k, v := range map[string]string{"township": p.township, "village": p.village, "bank_name": p.bank} {
		if v != "" {
			body[k] = v
		}
	}
	r := e.h.Put(t, "admin", "/api/v1/beneficiaries/"+p.ID, body)
	require.Contains(t, []int{http.StatusCreated, http.StatusOK}, r.Status, "body: %s", r.Body)
}

// rosterBatch is a batch of three claims of one plan: two payees with the
// place fields (one with a 19-digit card), one without.
type rosterBatch struct {
	plan   string
	batch  batchView
	payees map[string]payee // by claim id
}

func (e *env) rosterBatch(t testing.TB) rosterBatch {
	t.Helper()
	plan := e.createPlan(t, planOpts{budget: "100000.00"})
	out := rosterBatch{plan: plan, payees: map[string]payee{}}
	var ids []string
	for _, tc := range []struct {
		p      payee
		amount string
	}{
		{payee{servertest.Person{ID: servertest.NewPersonID(), Name: "张秀兰", Payout: "6222021234567890123",
			Categories: []string{"rural_destitute"}, ValidFrom: "2026-01-01"}, "赤眉镇", "桃园村", "中国农业银行内乡县支行"}, "1234.56"},
		{payee{servertest.Person{ID: servertest.NewPersonID(), Name: "欧阳·丽娟", Payout: "62170000123456789",
			Categories: []string{"rural_destitute"}, ValidFrom: "2026-01-01"}, "马山口镇", "", "南阳村镇银行"}, "8000.00"},
		{payee{servertest.Person{ID: servertest.NewPersonID(), Name: "王五", Payout: "9559981234567",
			Categories: []string{"rural_destitute"}, ValidFrom: "2026-01-01"}, "", "", ""}, "0.01"},
	} {
		e.registerPayee(t, tc.p)
		c := e.submit(t, plan, tc.p.ID, tc.amount)
		e.approved(t, c.ID)
		out.payees[c.ID] = tc.p
		ids = append(ids, c.ID)
	}
	out.batch = e.disbursed(t, plan, ids...)
	return out
}

// roster downloads a batch's roster as finance with the query.
func (e *env) roster(t testing.TB, batch, query string) *servertest.Response {
	t.Helper()
	r := e.h.Get(t, "finance", "/api/v1/disbursements/"+batch+"/roster"+query)
	servertest.RequireStatus(t, r, http.StatusOK)
	return r
}

// checksum is the roster's footer checksum computed here, from its
// definition in docs/openapi.yaml: each data row's cells joined by "|" and
// ended by "\n", hashed with SHA-256.
func checksum(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, "|") + "\n")
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// The 发放清册 of DESIGN §15 in XLSX: payees from the registry, the account
// the batch recorded, ids and cards as text cells whatever their length, the
// amount a number with two decimals that adds up to the batch total, a
// totals row, and the batch id and checksum in the footer.
func TestRosterXLSX(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		rb := e.rosterBatch(t)
		r := e.roster(t, rb.batch.ID, "")
		require.Equal(t, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", r.Header.Get("Content-Type"))
		require.Contains(t, r.Header.Get("Content-Disposition"), "roster-"+rb.batch.ID+".xlsx")

		x, err := excelize.OpenReader(bytes.NewReader(r.Body))
		require.NoError(t, err)
		defer x.Close()
		const sheet = "发放清册"
		require.Equal(t, []string{sheet}, x.GetSheetList())
		rows, err := x.GetRows(sheet)
		require.NoError(t, err)
		require.Len(t, rows, 1+3+1+2, "header, three payees, totals, two footer rows")
		require.Equal(t, payouts.RosterColumns, rows[0])
		require.Equal(t, []string{"序号", "姓名", "身份证号", "账号", "开户行", "金额", "补贴项目", "乡镇", "村", "摘要"}, rows[0])

		// Rows follow the batch's items (claim id order).
		for i, it := range rb.batch.Items {
			p := rb.payees[it.ClaimID]
			row := i + 2
			want := []string{itoa(i + 1), p.Name, p.ID, p.Payout, p.bank, it.Amount, "政康保 " + rb.plan, p.township, p.village,
				"2026年政康保理赔款 理赔编号 " + it.ClaimID}
			require.Equal(t, strings.TrimRight(strings.Join(want, "\x1f"), "\x1f"), strings.Join(rows[row-1], "\x1f"), "row %d", row)

			for _, col := range []string{"B", "C", "D"} {
				cell := col + itoa(row)
				typ, err := x.GetCellType(sheet, cell)
				require.NoError(t, err)
				require.Equal(t, excelize.CellTypeInlineString, typ, "%s is a text cell", cell)
			}
			raw, err := x.GetCellValue(sheet, "D"+itoa(row), excelize.Options{RawCellValue: true})
			require.NoError(t, err)
			require.Equal(t, p.Payout, raw, "the account is stored digit for digit")
			raw, err = x.GetCellValue(sheet, "C"+itoa(row), excelize.Options{RawCellValue: true})
			require.NoError(t, err)
			require.Equal(t, p.ID, raw)

			requireNumberCell(t, x, sheet, "A"+itoa(row), itoa(i+1), 1)
			requireNumberCell(t, x, sheet, "F"+itoa(row), it.Amount, 2)
		}
		require.Equal(t, "6222021234567890123", rows[1+indexOfAccount(rb, "6222021234567890123")][3], "the 19-digit card is intact")

		// The totals row: 合计, the number of rows, the batch total; a SUM
		// over the amounts gives the same.
		require.Equal(t, []string{"合计", "3", "", "", "", rb.batch.Total}, rows[4])
		require.Equal(t, "9234.57", rb.batch.Total)
		requireNumberCell(t, x, sheet, "B5", "3", 1)
		requireNumberCell(t, x, sheet, "F5", rb.batch.Total, 2)
		require.NoError(t, x.SetCellFormula(sheet, "L1", "SUM(F2:F4)"))
		sum, err := x.CalcCellValue(sheet, "L1")
		require.NoError(t, err)
		require.Equal(t, "9234.57", sum, "the amount cells are numbers that add up to the batch total")

		require.Equal(t, []string{"批次号", rb.batch.ID}, rows[5])
		require.Equal(t, "SHA-256校验码", rows[6][0])
		require.Equal(t, checksum(rows[1:4]), rows[6][1], "the checksum is the rows' as documented")

		panes, err := x.GetPanes(sheet)
		require.NoError(t, err)
		require.True(t, panes.Freeze)
		require.Equal(t, 1, panes.YSplit, "the header row is frozen")
		styleID, err := x.GetCellStyle(sheet, "A1")
		require.NoError(t, err)
		st, err := x.GetStyle(styleID)
		require.NoError(t, err)
		require.True(t, st.Font != nil && st.Font.Bold, "the header is bold")
		width, err := x.GetColWidth(sheet, "D")
		require.NoError(t, err)
		require.GreaterOrEqual(t, width, 20.0, "the account column fits a 19-digit card")

		// Every download is on the audit log.
		audits := e.h.Get(t, "auditor", "/api/v1/audit?action=disbursement.roster")
		servertest.RequireStatus(t, audits, http.StatusOK)
		items := audits.Map(t)["items"].([]any)
		require.Len(t, items, 1)
		rec := items[0].(map[string]any)
		require.Equal(t, rb.batch.ID, rec["target"])
		require.Equal(t, "xlsx, 3 rows", rec["outcome"])
		require.Equal(t, "fin-wang", rec["actor"])
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

func indexOfAccount(rb rosterBatch, account string) int {
	for i, it := range rb.batch.Items {
		if rb.payees[it.ClaimID].Payout == account {
			return i
		}
	}
	return -1
}

// requireNumberCell asserts that cell is a number cell whose stored value is
// exactly want, shown with the built-in number format numFmt (1 "0", 2
// "0.00").
func requireNumberCell(t *testing.T, x *excelize.File, sheet, cell, want string, numFmt int) {
	t.Helper()
	typ, err := x.GetCellType(sheet, cell)
	require.NoError(t, err)
	require.Contains(t, []excelize.CellType{excelize.CellTypeUnset, excelize.CellTypeNumber}, typ, "%s is a number cell", cell)
	raw, err := x.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
	require.NoError(t, err)
	// The stored text is the exact decimal, in its shortest form (8000.00
	// is stored as 8000): no binary rounding crept in.
	require.Equal(t, decimal.RequireFromString(want).String(), raw, "%s holds %s", cell, want)
	styleID, err := x.GetCellStyle(sheet, cell)
	require.NoError(t, err)
	st, err := x.GetStyle(styleID)
	require.NoError(t, err)
	require.Equal(t, numFmt, st.NumFmt, "%s's number format", cell)
}

// The roster as CSV: UTF-8 with a BOM by default or on request, GBK without
// one; the same rows, totals and footer as the XLSX, with the same checksum;
// digits written plainly.
func TestRosterCSV(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		rb := e.rosterBatch(t)

		x, err := excelize.OpenReader(bytes.NewReader(e.roster(t, rb.batch.ID, "?format=xlsx").Body))
		require.NoError(t, err)
		defer x.Close()
		xlsxRows, err := x.GetRows("发放清册")
		require.NoError(t, err)

		utf8 := e.roster(t, rb.batch.ID, "?format=csv")
		require.Equal(t, "text/csv; charset=utf-8", utf8.Header.Get("Content-Type"))
		require.Contains(t, utf8.Header.Get("Content-Disposition"), "roster-"+rb.batch.ID+".csv")
		require.True(t, bytes.HasPrefix(utf8.Body, []byte("\ufeff")), "UTF-8 with a byte order mark")
		require.Equal(t, utf8.Body, e.roster(t, rb.batch.ID, "?format=csv&charset=utf-8").Body)

		gbk := e.roster(t, rb.batch.ID, "?format=csv&charset=gbk")
		require.Equal(t, "text/csv; charset=GBK", gbk.Header.Get("Content-Type"))
		require.False(t, bytes.HasPrefix(gbk.Body, []byte("\xEF\xBB\xBF")), "GBK has no byte order mark")
		require.NotContains(t, string(gbk.Body), "张秀兰", "the GBK file is not UTF-8")
		decoded, err := simplifiedchinese.GBK.NewDecoder().Bytes(gbk.Body)
		require.NoError(t, err)
		require.Equal(t, string(utf8.Body[3:]), string(decoded), "GBK and UTF-8 carry the same text")
		require.Equal(t, gbk.Body, e.roster(t, rb.batch.ID, "?format=csv&charset=GBK").Body, "the charset's case does not matter")

		rows, err := csv.NewReader(bytes.NewReader(decoded)).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 7)
		require.True(t, bytes.HasPrefix(decoded, []byte(strings.Join(payouts.RosterColumns, ",")+"\r\n")), "header first, CRLF line ends")
		for i := range rows {
			require.Equal(t, xlsxRows[i], trimEmpty(rows[i]), "CSV row %d is the XLSX row", i+1)
		}
		require.Equal(t, "6222021234567890123", rows[1+indexOfAccount(rb, "6222021234567890123")][3])
		require.Contains(t, string(decoded), ",6222021234567890123,", "digits are written plainly")
		require.Equal(t, []string{"合计", "3", "", "", "", "9234.57", "", "", "", ""}, rows[4])
		require.Equal(t, checksum(rows[1:4]), rows[6][1], "the checksum recomputes from the GBK file")

		var outcomes []string
		require.NoError(t, d.Table("audit_log").Where("action = ?", "disbursement.roster").Order("id").Pluck("outcome", &outcomes).Error)
		require.Equal(t, []string{"xlsx, 3 rows", "csv utf-8, 3 rows", "csv utf-8, 3 rows", "csv gbk, 3 rows", "csv gbk, 3 rows"}, outcomes)

		// The bank file of the batch itself is as it was.
		bank := e.h.Get(t, "finance", "/api/v1/disbursements/"+rb.batch.ID+"?format=csv")
		servertest.RequireStatus(t, bank, http.StatusOK)
		require.True(t, bytes.HasPrefix(bank.Body, []byte("\ufeffbatch_id,plan,claim_id,payout_account,amount,status\r\n")))
	})
}

func trimEmpty(row []string) []string {
	for len(row) > 0 && row[len(row)-1] == "" {
		row = row[:len(row)-1]
	}
	return row
}

// The roster is finance's alone, and its parameters are checked.
func TestRosterAccessAndParameters(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		c := e.assessed(t, e.createPlan(t, planOpts{}), "100.00")
		e.approved(t, c.ID)
		b := e.disbursed(t, c.Plan, c.ID)
		path := "/api/v1/disbursements/" + b.ID + "/roster"
		for _, role := range []string{"auditor", "admin", "insurer"} {
			servertest.RequireError(t, e.h.Get(t, role, path), http.StatusForbidden, "forbidden")
		}
		for _, tc := range []struct{ query, field string }{
			{"?format=pdf", "format"},
			{"?format=csv&charset=latin1", "charset"},
			{"?charset=gbk", "charset"},
		} {
			er := servertest.RequireError(t, e.h.Get(t, "finance", path+tc.query), http.StatusUnprocessableEntity, "validation_failed")
			require.Equal(t, []string{tc.field}, er.FieldNames(), tc.query)
		}
		servertest.RequireError(t, e.h.Get(t, "finance", "/api/v1/disbursements/01JZZZZZZZZZZZZZZZZZZZZZZZ/roster"), http.StatusNotFound, "not_found")
		servertest.RequireError(t, e.h.Get(t, "finance", "/api/v1/disbursements/nope/roster"), http.StatusNotFound, "not_found")
		require.Zero(t, servertest.Count(t, d, "audit_log", "action = ?", "disbursement.roster"), "refused downloads hand out nothing")
	})
}

// A batch still being made (preparing, issuing) has no roster and takes no
// result file yet, as it has no bank file and takes no results.
func TestRosterAndResultFileWaitForTheBatch(t *testing.T) {
	defer payouts.SetDisburseChunks(3, 2)()
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "100000.00"})
		ids := e.approvedClaims(t, plan, 5, 10000)
		id, err := e.svc.DisburseUntilCrash(context.Background(), finWang, payouts.DisburseInput{Plan: plan, ClaimIDs: ids}, -1, 1)
		require.NoError(t, err)
		require.Equal(t, "issuing", e.batch(t, id).Status)
		servertest.RequireError(t, e.h.Get(t, "finance", "/api/v1/disbursements/"+id+"/roster"), http.StatusConflict, "invalid_state")
		file := []byte("claim_id,outcome,bank_reference\r\n" + ids[0] + ",paid,X-1\r\n")
		for _, q := range []string{"?dry_run=true", ""} {
			servertest.RequireError(t, e.postFile(t, id, q, "text/csv", file), http.StatusConflict, "invalid_state")
		}
		require.Zero(t, servertest.Count(t, d, "audit_log", "action = ?", "disbursement.roster"))
	})
}

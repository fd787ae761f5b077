package payouts_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/ledger"
	"huimin/server/servertest"
)

// The XLSX ledger export adds up (DESIGN §16): seq and amount are number
// cells, amount shown with two decimals, and SUM over the amount column is
// the CSV's total; everything hashed or an id stays text, exactly the CSV's.
func TestLedgerXLSXAddsUp(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan, _ := e.ledgerPlan(t, 5)
		c := e.assessed(t, plan, "8888.88")
		e.approved(t, c.ID)
		b := e.disbursed(t, plan, c.ID)
		servertest.RequireStatus(t, e.results(t, b.ID, paid(c.ID, "ICBC-1")), http.StatusOK)

		csvRows, err := csv.NewReader(bytes.NewReader(e.export(t, "auditor", "plan="+plan+"&format=csv").Body[3:])).ReadAll()
		require.NoError(t, err)
		total := decimal.Zero
		for _, row := range csvRows[1:] {
			total = total.Add(decimal.RequireFromString(row[7]))
		}

		x, err := excelize.OpenReader(bytes.NewReader(e.export(t, "auditor", "plan="+plan+"&format=xlsx").Body))
		require.NoError(t, err)
		defer x.Close()
		rows, err := x.GetRows("Sheet1")
		require.NoError(t, err)
		require.Equal(t, csvRows, rows, "the cells show the CSV's text")
		n := len(rows)
		for r := 2; r <= n; r++ {
			row := itoa(r)
			requireNumberCell(t, x, "Sheet1", "A"+row, csvRows[r-1][0], 1)
			requireNumberCell(t, x, "Sheet1", "H"+row, csvRows[r-1][7], 2)
			for _, col := range []string{"B", "C", "D", "E", "F", "G", "I", "J", "K", "L", "M"} {
				typ, err := x.GetCellType("Sheet1", col+row)
				require.NoError(t, err)
				if csvRows[r-1][strings.Index("ABCDEFGHIJKLM", col)] == "" {
					continue // a fund entry's empty claim_id and beneficiary_id
				}
				require.Equal(t, excelize.CellTypeInlineString, typ, "%s%s is text", col, row)
			}
		}
		require.NoError(t, x.SetCellFormula("Sheet1", "O1", "SUM(H2:H"+itoa(n)+")"))
		sum, err := x.CalcCellValue("Sheet1", "O1")
		require.NoError(t, err)
		require.Equal(t, total.String(), sum, "SUM of the amount cells is the CSV's total")
		require.True(t, total.GreaterThan(decimal.RequireFromString("100000")), "the fund entry is in the total: %s", total)

		panes, err := x.GetPanes("Sheet1")
		require.NoError(t, err)
		require.True(t, panes.Freeze)
		require.Equal(t, 1, panes.YSplit)
		styleID, err := x.GetCellStyle("Sheet1", "M1")
		require.NoError(t, err)
		st, err := x.GetStyle(styleID)
		require.NoError(t, err)
		require.True(t, st.Font != nil && st.Font.Bold, "the header is bold")
		width, err := x.GetColWidth("Sheet1", "M")
		require.NoError(t, err)
		require.GreaterOrEqual(t, width, 64.0, "a hash fits its column")
	})
}

// lang=zh gives the CSV and XLSX a Chinese header; the rows, and so the
// chain, are byte for byte the same, the CSV still verifies offline, and
// NDJSON keys do not change.
func TestLedgerExportInChinese(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan, _ := e.ledgerPlan(t, 4)
		zhHeader := "序号,时间,计划,类型,理赔编号,受益人证件号,区县代码,金额,转出账户,转入账户,操作人,前哈希,哈希"
		require.Equal(t, zhHeader, strings.Join(ledger.ColumnsZH, ","))

		en := e.export(t, "auditor", "plan="+plan+"&format=csv").Body
		zh := e.export(t, "auditor", "plan="+plan+"&format=csv&lang=zh").Body
		require.Equal(t, "text/csv; charset=utf-8", e.export(t, "auditor", "plan="+plan+"&lang=zh").Header.Get("Content-Type"))
		require.True(t, bytes.HasPrefix(zh, []byte("\ufeff"+zhHeader+"\r\n")))
		enBody := en[bytes.Index(en, []byte("\r\n")):]
		zhBody := zh[bytes.Index(zh, []byte("\r\n")):]
		require.Equal(t, enBody, zhBody, "only the header differs")
		require.Equal(t, en, e.export(t, "auditor", "plan="+plan+"&format=csv&lang=en").Body)

		rows, bad, reason, err := ledger.VerifyExport(bytes.NewReader(zh))
		require.NoError(t, err)
		require.Zero(t, bad, reason)
		require.Equal(t, 5, rows, "huimin ledger verify reads the Chinese header")
		tampered := bytes.Replace(zh, []byte(",100.02,"), []byte(",100.20,"), 1)
		require.NotEqual(t, zh, tampered)
		_, bad, _, err = ledger.VerifyExport(bytes.NewReader(tampered))
		require.NoError(t, err)
		require.Equal(t, 5, bad, "an edit under the Chinese header is found too (seq 4, line 5)")

		x, err := excelize.OpenReader(bytes.NewReader(e.export(t, "auditor", "plan="+plan+"&format=xlsx&lang=zh").Body))
		require.NoError(t, err)
		defer x.Close()
		xrows, err := x.GetRows("Sheet1")
		require.NoError(t, err)
		require.Equal(t, ledger.ColumnsZH, xrows[0])
		zhCSV, err := csv.NewReader(bytes.NewReader(zh[3:])).ReadAll()
		require.NoError(t, err)
		require.Equal(t, zhCSV, xrows)

		require.Equal(t, e.export(t, "auditor", "plan="+plan+"&format=ndjson").Body,
			e.export(t, "auditor", "plan="+plan+"&format=ndjson&lang=zh").Body, "NDJSON keys never change")

		er := servertest.RequireError(t, e.h.Get(t, "auditor", "/api/v1/ledger/export?lang=fr"), http.StatusUnprocessableEntity, "validation_failed")
		require.Equal(t, []string{"lang"}, er.FieldNames())

		var outcomes []string
		require.NoError(t, d.Table("audit_log").Where("action = ?", "ledger.export").Order("id").Pluck("outcome", &outcomes).Error)
		require.Equal(t, []string{"csv", "csv zh", "csv zh", "csv", "xlsx zh", "ndjson", "ndjson"}, outcomes)
	})
}

// What a spreadsheet does to an export when it saves it again, and what
// huimin ledger verify makes of it (README, "Spreadsheets"): the XLSX saved
// as CSV, and the CSV opened and saved — amounts without trailing zeros, the
// first prev_hash taken for the number 0, a Chinese header in GBK — still
// verify, since what was hashed is unchanged; a changed value never does.
func TestLedgerExportSpreadsheetRoundTrip(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan, _ := e.ledgerPlan(t, 4)
		verify := func(t *testing.T, file []byte) (int, int) {
			t.Helper()
			rows, bad, reason, err := ledger.VerifyExport(bytes.NewReader(file))
			require.NoError(t, err)
			if bad != 0 {
				t.Logf("line %d: %s", bad, reason)
			}
			return rows, bad
		}
		write := func(rows [][]string) []byte {
			var buf bytes.Buffer
			w := csv.NewWriter(&buf)
			w.UseCRLF = true
			require.NoError(t, w.WriteAll(rows))
			return buf.Bytes()
		}

		t.Run("the XLSX saved as CSV", func(t *testing.T) {
			x, err := excelize.OpenReader(bytes.NewReader(e.export(t, "auditor", "plan="+plan+"&format=xlsx&lang=zh").Body))
			require.NoError(t, err)
			defer x.Close()
			shown, err := x.GetRows("Sheet1") // the cells as displayed, which is what "Save as CSV" writes
			require.NoError(t, err)
			file := write(shown)
			rows, bad := verify(t, file)
			require.Zero(t, bad)
			require.Equal(t, 5, rows)
			gbkFile, err := simplifiedchinese.GBK.NewEncoder().Bytes(file)
			require.NoError(t, err)
			require.NotEqual(t, file, gbkFile, "the Chinese header differs in GBK")
			_, bad = verify(t, gbkFile)
			require.Zero(t, bad, "saved as GBK \"CSV\" on a Chinese Windows")
		})

		t.Run("the CSV opened and saved again", func(t *testing.T) {
			rows, err := csv.NewReader(bytes.NewReader(e.export(t, "auditor", "plan="+plan).Body[3:])).ReadAll()
			require.NoError(t, err)
			for _, row := range rows[1:] {
				row[7] = strings.TrimSuffix(strings.TrimRight(row[7], "0"), ".") // 100.00 → 100, 100.01 → 100.01
				if strings.Trim(row[11], "0") == "" {
					row[11] = "0" // 64 zeros read as a number
				}
			}
			require.Equal(t, "1000000", rows[1][7], "the fund entry's amount lost its decimals")
			require.Equal(t, "0", rows[1][11])
			n, bad := verify(t, write(rows))
			require.Zero(t, bad)
			require.Equal(t, 5, n)

			rows[3][7] = "100.1" // 100.01 edited
			_, bad = verify(t, write(rows))
			require.Equal(t, 4, bad, "an edited value is still found")
		})

		t.Run("an at turned into a date cannot be verified", func(t *testing.T) {
			rows, err := csv.NewReader(bytes.NewReader(e.export(t, "auditor", "plan="+plan).Body[3:])).ReadAll()
			require.NoError(t, err)
			rows[2][1] = "2026/6/15 10:00"
			_, bad := verify(t, write(rows))
			require.Equal(t, 3, bad)
		})
	})
}

package payouts_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/ledger"
	"huimin/server/servertest"
)

// postFile posts a result file to a batch as finance.
func (e *env) postFile(t testing.TB, batch, query, contentType string, body []byte) *servertest.Response {
	t.Helper()
	return e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/disbursements/" + batch + "/results" + query,
		Token: "finance", Body: body, Header: map[string]string{"Content-Type": contentType}})
}

// preview is the answer of a dry run.
type preview struct {
	Changes []struct {
		ClaimID string `json:"claim_id"`
		Outcome string `json:"outcome"`
	} `json:"changes"`
	Errors []rowError `json:"errors"`
}

type rowError struct {
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// at is where an error points.
type at struct {
	Line  int
	Field string
}

func where(errs []rowError) []at {
	out := []at{}
	for _, e := range errs {
		out = append(out, at{e.Line, e.Field})
	}
	return out
}

// fileBatch is a batch of three claims, each paid to its own account.
func (e *env) fileBatch(t testing.TB) (plan string, b batchView, accounts map[string]string) {
	t.Helper()
	plan = e.createPlan(t, planOpts{budget: "100000.00"})
	accounts = map[string]string{}
	var ids []string
	for i, acct := range []string{"6222021234567890123", "6222021234567890124", "6222021234567890125"} {
		c := e.submit(t, plan, e.register(t, acct), []string{"1000.00", "2000.00", "3000.00"}[i])
		e.approved(t, c.ID)
		ids = append(ids, c.ID)
		accounts[c.ID] = acct
	}
	return plan, e.disbursed(t, plan, ids...), accounts
}

func gbk(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	require.NoError(t, err)
	return b
}

// A bank's result file in GBK, as Excel saves it in China, keyed by 账号:
// one claim paid, one failed, recorded exactly as the JSON form would.
func TestResultsFileGBK(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan, b, accounts := e.fileBatch(t)
		paidID, failedID, waitingID := b.Items[0].ClaimID, b.Items[1].ClaimID, b.Items[2].ClaimID
		file := gbk(t, "序号,姓名,账号,金额,结果,失败原因,银行流水号\r\n"+
			"1,李秀英,"+accounts[paidID]+",1000.00,成功,,ICBC-2026-0001\r\n"+
			"2,李秀英,"+accounts[failedID]+",2000.00,失败,户名与账号不符,\r\n"+
			"合计,2,,3000.00,,,\r\n")
		require.False(t, utf8.Valid(file), "the file is GBK, and no charset is declared: it is detected")
		r := e.postFile(t, b.ID, "", "text/csv", file)
		servertest.RequireStatus(t, r, http.StatusOK)
		var got batchView
		r.JSON(t, &got)
		require.Equal(t, "issued", got.Status, "one item still awaits the bank")
		status := map[string]string{}
		for _, it := range got.Items {
			status[it.ClaimID] = it.Status
			switch it.ClaimID {
			case paidID:
				require.Equal(t, "ICBC-2026-0001", *it.BankReference)
			case failedID:
				require.Equal(t, "户名与账号不符", *it.Reason, "the GBK reason is stored as Chinese text")
			}
		}
		require.Equal(t, map[string]string{paidID: "paid", failedID: "failed", waitingID: "in_payment"}, status)
		require.Equal(t, "paid", e.claim(t, paidID).Status)
		require.Equal(t, "approved", e.claim(t, failedID).Status, "a failed payment returns the claim to approved")
		require.Equal(t, "disbursed", e.claim(t, waitingID).Status)
		require.Equal(t, []string{"reserve", "reserve", "reserve", "disburse", "disburse", "disburse", "pay", "fail"}, kinds(e.entries(t, plan)))
		require.Equal(t, figures{Funded: "100000.00", Available: "94000.00", Reserved: "2000.00", InPayment: "3000.00", Paid: "1000.00"}, e.budget(t, plan))
		e.requireSound(t, plan)

		// The same file again changes nothing: every row repeats a result.
		before := e.snapshot(t, plan)
		servertest.RequireStatus(t, e.postFile(t, b.ID, "", "text/csv; charset=GBK", file), http.StatusOK)
		require.Equal(t, before, e.snapshot(t, plan))

		var outcomes []string
		require.NoError(t, d.Table("audit_log").Where("action = ?", "disbursement.results").Order("id").Pluck("outcome", &outcomes).Error)
		require.Equal(t, []string{"2 recorded, 0 repeated", "0 recorded, 2 repeated"}, outcomes, "audited as the JSON form is")
	})
}

// A dry run previews the changes of the good rows and the errors of the bad
// ones and changes nothing; the same file posted for real is refused whole
// with the same errors.
func TestResultsFileDryRunAndBadRows(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan, b, accounts := e.fileBatch(t)
		one, two, three := b.Items[0].ClaimID, b.Items[1].ClaimID, b.Items[2].ClaimID
		servertest.RequireStatus(t, e.results(t, b.ID, paid(three, "BOC-3")), http.StatusOK)

		good := "claim_id,outcome,reason,bank_reference\r\n" +
			one + ",paid,,BOC-1\r\n" +
			two + ",FAILED,账户已销户,\r\n" +
			three + ",paid,,BOC-3\r\n" // a repeat: no change
		before := e.snapshot(t, plan)
		r := e.postFile(t, b.ID, "?dry_run=true", "text/csv; charset=utf-8", []byte("\ufeff"+good))
		servertest.RequireStatus(t, r, http.StatusOK)
		var p preview
		r.JSON(t, &p)
		require.Empty(t, p.Errors)
		require.Len(t, p.Changes, 2, "the repeat changes nothing and is not listed")
		require.Equal(t, one, p.Changes[0].ClaimID)
		require.Equal(t, "paid", p.Changes[0].Outcome)
		require.Equal(t, two, p.Changes[1].ClaimID)
		require.Equal(t, "failed", p.Changes[1].Outcome)
		require.Equal(t, before, e.snapshot(t, plan), "a dry run changes nothing")

		bad := "账号,结果,失败原因,银行流水号\r\n" +
			accounts[one] + ",成功,,BOC-1\r\n" + // 2 good
			accounts[two] + ",退回,,\r\n" + // 3 not an outcome
			"6222020000000009999,成功,,BOC-9\r\n" + // 4 not this batch's account
			accounts[three] + ",失败,卡已挂失,\r\n" + // 5 contradicts the recorded paid
			accounts[one] + ",成功,,BOC-1\r\n" + // 6 repeats line 2
			",,,\r\n" + // blank: skipped
			accounts[two] + ",成功,,\r\n" // 8 paid without a bank reference, and line 3's claim again
		r = e.postFile(t, b.ID, "?dry_run=true", "text/csv", gbk(t, bad))
		servertest.RequireStatus(t, r, http.StatusOK)
		p = preview{}
		r.JSON(t, &p)
		require.Equal(t, []at{{3, "结果"}, {4, "账号"}, {5, "结果"}, {6, "账号"}, {8, "银行流水号"}, {8, "账号"}}, where(p.Errors), "%+v", p.Errors)
		require.Len(t, p.Changes, 1)
		require.Equal(t, one, p.Changes[0].ClaimID, "the good row's change is listed")
		require.Contains(t, p.Errors[2].Message, "already recorded as paid")
		require.Contains(t, p.Errors[3].Message, "repeats line 2")
		require.Equal(t, before, e.snapshot(t, plan))

		r = e.postFile(t, b.ID, "", "text/csv", gbk(t, bad))
		er := servertest.RequireError(t, r, http.StatusUnprocessableEntity, "validation_failed")
		require.Equal(t, []string{"结果", "账号", "结果", "账号", "银行流水号", "账号"}, er.FieldNames())
		require.True(t, strings.HasPrefix(er.Error.Fields[0].Message, "line 3: "), er.Error.Fields[0].Message)
		var details struct {
			Error struct {
				Details struct {
					Errors []rowError `json:"errors"`
				} `json:"details"`
			} `json:"error"`
		}
		r.JSON(t, &details)
		require.Equal(t, p.Errors, details.Error.Details.Errors, "the same errors as the dry run")
		require.Equal(t, before, e.snapshot(t, plan), "a file with a bad row records nothing, not even its good rows")
		require.Equal(t, "disbursed", e.claim(t, one).Status)

		// Fixed, the file goes through.
		servertest.RequireStatus(t, e.postFile(t, b.ID, "", "text/csv", []byte(good)), http.StatusOK)
		require.Equal(t, "paid", e.claim(t, one).Status)
		require.Equal(t, "approved", e.claim(t, two).Status)
		e.requireSound(t, plan)
	})
}

// Files that cannot be read as results are refused naming what is wrong.
func TestResultsFileUnreadable(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan, b, _ := e.fileBatch(t)
		before := e.snapshot(t, plan)
		for _, tc := range []struct {
			name, contentType string
			body              []byte
			field             string
		}{
			{"a header without an outcome column", "text/csv", []byte("claim_id,金额\r\n" + b.Items[0].ClaimID + ",1000.00\r\n"), "header"},
			{"a header without a key column", "text/csv", []byte("姓名,结果\r\n李秀英,成功\r\n"), "header"},
			{"two outcome columns", "text/csv", []byte("claim_id,outcome,结果\r\n"), "header"},
			{"a header and nothing else", "text/csv", []byte("claim_id,outcome\r\n"), "body"},
			{"a claim of another batch", "text/csv", []byte("claim_id,outcome,reason\r\n01JZZZZZZZZZZZZZZZZZZZZZZZ,failed,x\r\n"), "claim_id"},
			{"a failed row without a reason column", "text/csv", []byte("claim_id,outcome\r\n" + b.Items[0].ClaimID + ",failed\r\n"), "reason"},
			{"an unreadable workbook", ledger.ContentTypes["xlsx"], []byte("PK\x03\x04 not really"), "body"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				er := servertest.RequireError(t, e.postFile(t, b.ID, "", tc.contentType, tc.body), http.StatusUnprocessableEntity, "validation_failed")
				require.Equal(t, []string{tc.field}, er.FieldNames(), "%+v", er.Error)
			})
		}
		servertest.RequireError(t, e.postFile(t, b.ID, "", "text/csv; charset=latin1", []byte("claim_id,outcome\r\n")),
			http.StatusUnsupportedMediaType, "unsupported_media_type")
		er := servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/disbursements/"+b.ID+"/results?dry_run=true",
			map[string]any{"results": []any{paid(b.Items[0].ClaimID, "X-1")}}), http.StatusUnprocessableEntity, "validation_failed")
		require.Equal(t, []string{"dry_run"}, er.FieldNames(), "a dry run previews files, not JSON")
		er = servertest.RequireError(t, e.postFile(t, b.ID, "?dry_run=yes", "text/csv", []byte("claim_id,outcome\r\n")), http.StatusUnprocessableEntity, "validation_failed")
		require.Equal(t, []string{"dry_run"}, er.FieldNames())
		servertest.RequireError(t, e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/disbursements/" + b.ID + "/results",
			Token: "auditor", Body: []byte("claim_id,outcome\r\n"), Header: map[string]string{"Content-Type": "text/csv"}}), http.StatusForbidden, "forbidden")
		require.Equal(t, before, e.snapshot(t, plan))
	})
}

// xlsxFile builds a workbook whose first sheet holds rows, every cell text.
func xlsxFile(t testing.TB, rows [][]string) []byte {
	t.Helper()
	x := excelize.NewFile()
	defer x.Close()
	require.NoError(t, x.SetSheetName("Sheet1", "结果"))
	for i, row := range rows {
		cells := make([]any, len(row))
		for j, c := range row {
			cells[j] = c
		}
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		require.NoError(t, err)
		require.NoError(t, x.SetSheetRow("结果", cell, &cells))
	}
	var buf bytes.Buffer
	require.NoError(t, x.Write(&buf))
	return buf.Bytes()
}

// An XLSX result file, as the body or as a browser's form upload, is
// recorded like the CSV.
func TestResultsFileXLSXAndForm(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan, b, accounts := e.fileBatch(t)
		one, two, three := b.Items[0].ClaimID, b.Items[1].ClaimID, b.Items[2].ClaimID
		file := xlsxFile(t, [][]string{
			{"理赔编号", "账号", "结果", "失败原因", "银行流水号"},
			{one, accounts[one], "成功", "", "ABC-0001"},
			{},
			{two, accounts[two], "失败", "账户冻结", ""},
		})
		r := e.postFile(t, b.ID, "?dry_run=true", ledger.ContentTypes["xlsx"], file)
		servertest.RequireStatus(t, r, http.StatusOK)
		var p preview
		r.JSON(t, &p)
		require.Empty(t, p.Errors)
		require.Len(t, p.Changes, 2)

		r = e.postFile(t, b.ID, "", ledger.ContentTypes["xlsx"], file)
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Equal(t, "paid", e.claim(t, one).Status)
		require.Equal(t, "approved", e.claim(t, two).Status)

		// A row number points at the sheet's row.
		bad := xlsxFile(t, [][]string{{"claim_id", "outcome", "bank_reference"}, {}, {three, "paid", " ABC-3"}})
		r = e.postFile(t, b.ID, "?dry_run=true", ledger.ContentTypes["xlsx"], bad)
		servertest.RequireStatus(t, r, http.StatusOK)
		p = preview{}
		r.JSON(t, &p)
		require.Empty(t, p.Errors, "cells are trimmed, as Excel pads them")

		// The form upload of a browser: a CSV part.
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		require.NoError(t, mw.WriteField("note", "第二批回单"))
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="回单.csv"`)
		h.Set("Content-Type", "text/csv")
		part, err := mw.CreatePart(h)
		require.NoError(t, err)
		_, err = part.Write(gbk(t, "账号,结果,银行流水号\r\n"+accounts[three]+",成功,ABC-0003\r\n"))
		require.NoError(t, err)
		require.NoError(t, mw.Close())
		r = e.postFile(t, b.ID, "", mw.FormDataContentType(), form.Bytes())
		servertest.RequireStatus(t, r, http.StatusOK)
		var got batchView
		r.JSON(t, &got)
		require.Equal(t, "partially_failed", got.Status)
		require.Equal(t, "paid", e.claim(t, three).Status)

		// And an XLSX part, told by its content.
		var form2 bytes.Buffer
		mw = multipart.NewWriter(&form2)
		fw, err := mw.CreateFormFile("upload", "回单.xlsx")
		require.NoError(t, err)
		_, err = fw.Write(xlsxFile(t, [][]string{{"claim_id", "outcome", "bank_reference"}, {three, "paid", "ABC-0003"}}))
		require.NoError(t, err)
		require.NoError(t, mw.Close())
		r = e.postFile(t, b.ID, "?dry_run=true", mw.FormDataContentType(), form2.Bytes())
		servertest.RequireStatus(t, r, http.StatusOK)
		p = preview{}
		r.JSON(t, &p)
		require.Empty(t, p.Errors)
		require.Empty(t, p.Changes, "a repeat")
		e.requireSound(t, plan)
	})
}

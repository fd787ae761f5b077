package console_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// upload posts a file as the batch page's form does: multipart, with the
// page's CSRF token.
func (c *client) upload(path, csrf, filename, contentType string, data []byte) answer {
	c.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	require.NoError(c.t, w.WriteField("csrf", csrf))
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+filename+`"`)
	h.Set("Content-Type", contentType)
	part, err := w.CreatePart(h)
	require.NoError(c.t, err)
	_, err = part.Write(data)
	require.NoError(c.t, err)
	require.NoError(c.t, w.Close())
	req, err := http.NewRequest(http.MethodPost, c.base+path, &body)
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.do(req)
}

// TestBankResultFileFromTheBatchPage: finance uploads the bank's result file
// on the batch page. A file with a bad row records nothing and the page
// names the row; the bank's GBK file, keyed by 账号 and 理赔编号 as banks
// send it, marks one claim paid and one failed.
func TestBankResultFileFromTheBatchPage(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.user(t, "finance", "fin-wang")
		first, second := e.claim(t, "8000.00"), e.claim(t, "6000.00")
		for _, id := range []string{first, second} {
			servertest.RequireStatus(t, e.h.Post(t, "finance2", "/api/v1/claims/"+id+"/approve", map[string]any{}), http.StatusOK)
		}
		r := e.h.Post(t, "finance2", "/api/v1/disbursements", map[string]any{"plan": "ZKB-2026", "claim_ids": []string{first, second}})
		servertest.RequireStatus(t, r, http.StatusCreated)
		batch := r.Map(t)["id"].(string)
		page := "/console/disbursements/" + batch

		wang := e.client(t)
		require.Equal(t, http.StatusSeeOther, wang.login("fin-wang", password).StatusCode)
		tok := wang.csrf(page)
		require.Contains(t, wang.get(page).Body, `id="results-file-form"`)

		bad := "理赔编号,结果,失败原因\r\n" + first + ",成功,\r\n" + second + ",也许,\r\n"
		p := wang.upload(page+"/results-file", tok, "回单.csv", "text/csv", []byte(bad))
		require.Equal(t, http.StatusUnprocessableEntity, p.StatusCode, p.Body)
		require.Contains(t, p.Body, "回单文件中有错误的行，未记录任何结果")
		require.Contains(t, p.Body, "回单.csv:3")
		require.Equal(t, "disbursed", e.claimStatus(t, first)["status"], "a file with a bad row records nothing")

		good := "理赔编号,结果,失败原因,银行流水号\r\n" + first + ",成功,,NX-0001\r\n" + second + ",失败,账户已销户,\r\n"
		gbk, err := simplifiedchinese.GBK.NewEncoder().String(good)
		require.NoError(t, err)
		p = wang.upload(page+"/results-file", tok, "回单.csv", "application/vnd.ms-excel", []byte(gbk))
		require.Equal(t, http.StatusSeeOther, p.StatusCode, p.Body)
		require.Equal(t, page+"?msg=results_recorded", p.Header.Get("Location"))
		require.Equal(t, "paid", e.claimStatus(t, first)["status"])
		require.Equal(t, "approved", e.claimStatus(t, second)["status"], "a returned payment waits for a new batch")
		require.Equal(t, []string{"2 recorded, 0 repeated"}, e.auditOutcomes(t, "fin-wang", "disbursement.results"))

		// Without the page's token nothing is recorded.
		p = wang.upload(page+"/results-file", "forged", "回单.csv", "text/csv", []byte(good))
		require.Equal(t, http.StatusForbidden, p.StatusCode)
	})
}

package policies_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/policies"
	"huimin/server/servertest"
)

const regMediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// regMultipart builds a form with a text field and then one file part of
// the given Content-Type, and returns the body and the form's Content-Type.
func regMultipart(t *testing.T, file []byte, partType string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("remark", "2026 年第一批"))
	if file != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="registry"; filename="花名册.csv"`)
		h.Set("Content-Type", partType)
		part, err := mw.CreatePart(h)
		require.NoError(t, err)
		_, err = part.Write(file)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return buf.Bytes(), mw.FormDataContentType()
}

// regWorkbook builds a workbook whose first sheet has the header and rows,
// each cell as excelize stores a Go value (string: text; number; time: a
// date cell).
func regWorkbook(t *testing.T, rows ...[]any) []byte {
	t.Helper()
	x := excelize.NewFile()
	defer x.Close()
	sheet := x.GetSheetName(0)
	header := []any{}
	for _, h := range strings.Split(policies.RegistryCSVHeader, ",") {
		header = append(header, h)
	}
	for i, row := range append([][]any{header}, rows...) {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		require.NoError(t, err)
		require.NoError(t, x.SetSheetRow(sheet, cell, &row))
	}
	var buf bytes.Buffer
	require.NoError(t, x.Write(&buf))
	return buf.Bytes()
}

func regUpdatedAt(t *testing.T, d *db.DB, id string) int64 {
	t.Helper()
	var at int64
	require.NoError(t, d.Raw("SELECT updated_at FROM beneficiaries WHERE id_number = ?", id).Scan(&at).Error)
	return at
}

func TestBeneficiaryImportXLSX(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		body := regWorkbook(t,
			[]any{regZhang, "resident_id", "张三", 411325, "NX-0001", "6222021234567890123", "category", "illness_poverty", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
			[]any{regZhang, "resident_id", "张三", 411325, "NX-0001", "6222021234567890123", "residency", "hukou", "2010/3/1", ""},
			[]any{4.1130219720304e17, "resident_id", "欧阳·丽娟", 411326, "XC-0420", "", "residency", "hukou", "2018-05-01"},
			[]any{regCoop, "uscc", "邓州市月季花卉专业合作社", "411381", "", 12345678901, "category", "agri_operator", "2026-1-1", "2026/12/31"},
		)
		a := regImport(t, h, body, regMediaXLSX)
		require.Equal(t, 2, a.Created)
		require.Zero(t, a.Updated+a.Unchanged)
		require.Len(t, a.Errors, 1)
		require.Equal(t, 4, a.Errors[0].Line, "lines are the sheet's row numbers")
		require.Equal(t, "id_number", a.Errors[0].Field, "an id stored as a number has lost digits and is refused, not guessed")

		zhang := regGet(t, h, "admin", regZhang)
		require.Equal(t, "411325", zhang.CountyCode)
		require.Equal(t, []policies.CategoryBody{{Category: "illness_poverty", ValidFrom: "2026-01-01"}}, zhang.Categories, "a date cell is a date")
		require.Equal(t, []policies.ResidencyBody{{Type: "hukou", ValidFrom: "2010-03-01"}}, zhang.Residency, "an Excel-style date in a text cell is normalised")
		coop := regGet(t, h, "admin", regCoop)
		require.Equal(t, ptrTo("12345678901"), coop.PayoutAccount, "a number cell of up to 15 digits is its digits")
		require.Equal(t, []policies.CategoryBody{{Category: "agri_operator", ValidFrom: "2026-01-01", ValidTo: ptrTo("2026-12-31")}}, coop.Categories)
		require.EqualValues(t, 2, regCount(t, d))

		// A body with the zip signature is a workbook whatever its
		// Content-Type; the same rows again change nothing.
		a = regImport(t, h, body, "text/csv")
		require.Equal(t, regImportAnswer{Unchanged: 2, Errors: a.Errors}, a)
		require.Len(t, a.Errors, 1)

		// A workbook that is not one.
		r := h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/beneficiaries/import", Token: "admin",
			Body: []byte("PK\x03\x04broken"), Header: map[string]string{"Content-Type": regMediaXLSX}})
		require.Equal(t, []string{"body"}, servertest.RequireError(t, r, http.StatusUnprocessableEntity, "validation_failed").FieldNames())
	})
}

func TestBeneficiaryImportMultipartAndUnchanged(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(regText))
		require.NoError(t, err)

		// A browser's upload of a GBK .csv, typed as Windows types it.
		form, formType := regMultipart(t, gbk, "application/vnd.ms-excel")
		a := regImport(t, h, form, formType)
		require.Empty(t, a.Errors)
		require.Equal(t, 3, a.Created)
		require.Equal(t, "欧阳·丽娟", regGet(t, h, "admin", regLi).Name, "the charset of the part is detected")
		before := regUpdatedAt(t, d, regLi)

		// The same file again, as a workbook in a form: nothing is rewritten.
		h.Clock.Advance(time.Hour)
		var rows [][]any
		for _, line := range strings.Split(strings.TrimSpace(regText), "\r\n")[1:] {
			var row []any
			for _, cell := range strings.Split(strings.ReplaceAll(line, `"`, ""), ",") {
				row = append(row, cell)
			}
			rows = append(rows, row)
		}
		form, formType = regMultipart(t, regWorkbook(t, rows...), "application/octet-stream")
		a = regImport(t, h, form, formType)
		require.Equal(t, regImportAnswer{Unchanged: 3, Errors: a.Errors}, a)
		require.Empty(t, a.Errors)
		require.Equal(t, before, regUpdatedAt(t, d, regLi), "an unchanged person is not rewritten")

		// One period changed, with Excel's dates: one update.
		h.Clock.Advance(time.Hour)
		changed := strings.Replace(regText, "marginal_at_risk,2026-01-01,2026-12-31", "marginal_at_risk,2026/1/1,2026/6/30", 1)
		require.NotEqual(t, regText, changed)
		a = regImport(t, h, []byte(changed), "text/csv; charset=utf-8")
		require.Equal(t, regImportAnswer{Updated: 1, Unchanged: 2, Errors: a.Errors}, a)
		require.Empty(t, a.Errors)
		require.Equal(t, []policies.CategoryBody{{Category: "marginal_at_risk", ValidFrom: "2026-01-01", ValidTo: ptrTo("2026-06-30")}}, regGet(t, h, "admin", regLi).Categories)
		require.Equal(t, h.Clock.Now().UnixMilli(), regUpdatedAt(t, d, regLi))

		var outcomes []string
		require.NoError(t, d.Raw("SELECT outcome FROM audit_log WHERE action = 'beneficiary.import' ORDER BY id").Scan(&outcomes).Error)
		require.Equal(t, []string{
			"created=3 updated=0 unchanged=0 errors=0", "created=0 updated=0 unchanged=3 errors=0", "created=0 updated=1 unchanged=2 errors=0",
		}, outcomes)

		// A form without a file part names the field.
		form, formType = regMultipart(t, nil, "")
		r := h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/beneficiaries/import", Token: "admin",
			Body: form, Header: map[string]string{"Content-Type": formType}})
		require.Equal(t, []string{"file"}, servertest.RequireError(t, r, http.StatusUnprocessableEntity, "validation_failed").FieldNames())
		form, formType = regMultipart(t, []byte{}, "text/csv")
		r = h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/beneficiaries/import", Token: "admin",
			Body: form, Header: map[string]string{"Content-Type": formType}})
		require.Equal(t, []string{"file"}, servertest.RequireError(t, r, http.StatusUnprocessableEntity, "validation_failed").FieldNames())
		regRequireNoRawIDs(t, d, regZhang, regLi, regCoop)
	})
}

package policies

import (
	"bytes"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
)

func TestRegistryDateNormalisesExcelDates(t *testing.T) {
	for in, want := range map[string]string{
		"2026/1/1":   "2026-01-01",
		"2026-1-1":   "2026-01-01",
		"2026/01/01": "2026-01-01",
		"2026/12/31": "2026-12-31",
		"2026-01-01": "2026-01-01",
		"2026-2-30":  "2026-02-30", // normalised; validation refuses it
		"31/12/2026": "31/12/2026",
		"2026/1-1":   "2026/1-1",
		"2026.1.1":   "2026.1.1",
		"26/1/1":     "26/1/1",
		"2026/001/1": "2026/001/1",
		"":           "",
		"x":          "x",
	} {
		require.Equal(t, want, registryDate(in), in)
	}
}

func TestParseRegistryCSVAcceptsExcelDates(t *testing.T) {
	people, errs := ParseRegistryCSV(regCSV(
		regRow("category", "illness_poverty", "2026/1/1", "2026-12-31"),
		regRow("residency", "hukou", "2010-3-1", ""),
		regRow("category", "sudden_hardship", "2026/02/30", ""),
		regRow("category", "marginal_at_risk", "1/1/2026", ""),
	))
	require.Equal(t, []regLine{{4, "valid_from"}, {5, "valid_from"}}, regLines(errs))
	require.Len(t, people, 1)
	require.Equal(t, []Grant{{Value: "illness_poverty", ValidFrom: "2026-01-01", ValidTo: "2026-12-31"}}, people[0].Categories)
	require.Equal(t, []Grant{{Value: "hukou", ValidFrom: "2010-03-01"}}, people[0].Residency)
}

// regXLSX builds a workbook whose first sheet has the header and then the
// rows set by fill (cell reference → value, as excelize stores it).
func regXLSX(t *testing.T, fill func(x *excelize.File, sheet string)) []byte {
	t.Helper()
	x := excelize.NewFile()
	defer x.Close()
	sheet := x.GetSheetName(0)
	for i, name := range strings.Split(RegistryCSVHeader, ",") {
		cell, err := excelize.CoordinatesToCellName(i+1, 1)
		require.NoError(t, err)
		require.NoError(t, x.SetCellStr(sheet, cell, name))
	}
	fill(x, sheet)
	var buf bytes.Buffer
	require.NoError(t, x.Write(&buf))
	return buf.Bytes()
}

// regSetRow writes cells from column A of row n.
func regSetRow(t *testing.T, x *excelize.File, sheet string, n int, cells ...any) {
	t.Helper()
	cell, err := excelize.CoordinatesToCellName(1, n)
	require.NoError(t, err)
	require.NoError(t, x.SetSheetRow(sheet, cell, &cells))
}

func TestReadRegistryXLSXTurnsNumberCellsBackIntoText(t *testing.T) {
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	body := regXLSX(t, func(x *excelize.File, sheet string) {
		// Row 2: county code and a short account as numbers, valid_from a
		// date cell, valid_to empty (not stored at all).
		regSetRow(t, x, sheet, 2, regIDZhang, "resident_id", "张三", 411325, "NX-0001", 12345678901, "category", "illness_poverty", day)
		// Row 3: text that looks like numbers stays text.
		regSetRow(t, x, sheet, 3, regIDZhang, "resident_id", "张三", "411325", "NX-0001", "12345678901", "residency", "hukou", "2010/3/1", "")
		// Row 4 is blank; row 5 has the id as a number, as Excel keeps it.
		regSetRow(t, x, sheet, 5, 4.1130219720304e17, "resident_id", "李四", 411302, "", "", "category", "rural_destitute", "2026-01-01")
		// Row 6: a 19-digit account typed as a number.
		regSetRow(t, x, sheet, 6, regIDLi, "resident_id", "李四", "411302", "", 6.222021234567891e18, "category", "rural_destitute", "2026-01-01")
		// Row 7: a cell past the header.
		regSetRow(t, x, sheet, 7, regIDLi, "resident_id", "李四", "411302", "", "", "category", "rural_destitute", "2026-01-01", "", "extra")
	})
	rows, errs, err := readRegistryFile(body, registryMediaXLSX)
	require.NoError(t, err)
	require.Equal(t, []regLine{{5, "id_number"}, {6, "payout_account"}}, regLines(errs))
	require.Contains(t, errs[0].Message, "15 digits")
	require.Equal(t, []int{1, 2, 3, 7}, func() (lines []int) {
		for _, r := range rows {
			lines = append(lines, r.line)
		}
		return lines
	}(), "a blank row and the refused rows are left out; lines are row numbers")
	require.Equal(t, []string{regIDZhang, "resident_id", "张三", "411325", "NX-0001", "12345678901", "category", "illness_poverty", "2026-01-01", ""}, rows[1].cells)

	// The zip signature is enough, whatever the Content-Type says.
	rows2, _, err := readRegistryFile(body, "application/octet-stream")
	require.NoError(t, err)
	require.Equal(t, rows, rows2)

	people, errs := parseRegistryRows(rows, errs)
	require.Equal(t, []regLine{{5, "id_number"}, {6, "payout_account"}, {7, "row"}}, regLines(errs))
	require.Equal(t, []Beneficiary{{
		IDNumber: regIDZhang, IDType: IDTypeResidentID, Name: "张三", CountyCode: "411325", HouseholdID: "NX-0001", PayoutAccount: "12345678901",
		Categories: []Grant{{Value: "illness_poverty", ValidFrom: "2026-01-01"}},
		Residency:  []Grant{{Value: "hukou", ValidFrom: "2010-03-01"}},
	}}, people)

}

func TestReadRegistryXLSXRefusesWhatIsNoWorkbook(t *testing.T) {
	_, _, err := readRegistryFile([]byte("PK\x03\x04 not a zip"), registryMediaXLSX)
	require.ErrorContains(t, err, "is not a readable XLSX workbook")

	rows, errs, err := readRegistryFile(regXLSX(t, func(x *excelize.File, sheet string) {
		require.NoError(t, x.SetCellStr(sheet, "A1", "身份证号"))
	}), registryMediaXLSX)
	require.NoError(t, err)
	_, errs = parseRegistryRows(rows, errs)
	require.Equal(t, []regLine{{1, "header"}}, regLines(errs))
}

func TestReadRegistryFileTakesTheFirstFilePart(t *testing.T) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("note", "not the file"))
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="upload"; filename="registry.csv"`)
	h.Set("Content-Type", "application/vnd.ms-excel") // what Windows says of a .csv
	part, err := mw.CreatePart(h)
	require.NoError(t, err)
	gbk := []byte("\xd5\xc5\xc8\xfd") // 张三 in GBK
	_, err = part.Write(bytes.ReplaceAll(regCSV(regRow("category", "illness_poverty", "2026/1/1", "")), []byte("张三"), gbk))
	require.NoError(t, err)
	require.NoError(t, mw.Close())

	rows, errs, err := readRegistryFile(buf.Bytes(), mw.FormDataContentType())
	require.NoError(t, err)
	people, errs := parseRegistryRows(rows, errs)
	require.Empty(t, errs)
	require.Len(t, people, 1)
	require.Equal(t, "张三", people[0].Name, "a non-text part type: the charset is detected")
	require.Equal(t, []Grant{{Value: "illness_poverty", ValidFrom: "2026-01-01"}}, people[0].Categories)

	buf.Reset()
	mw = multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("note", "no file"))
	require.NoError(t, mw.Close())
	_, _, err = readRegistryFile(buf.Bytes(), mw.FormDataContentType())
	require.ErrorContains(t, err, "no file part")
}

func TestRegistryUnchangedComparesPeriodsAsSets(t *testing.T) {
	a := regZhang([]Grant{{Value: "illness_poverty", ValidFrom: "2026-01-01"}, {Value: "sudden_hardship", ValidFrom: "2025-07-01", ValidTo: "2025-12-31"}}, nil)
	b := regZhang([]Grant{{Value: "sudden_hardship", ValidFrom: "2025-07-01", ValidTo: "2025-12-31"}, {Value: "illness_poverty", ValidFrom: "2026-01-01"}, {Value: "illness_poverty", ValidFrom: "2026-01-01"}}, nil)
	require.True(t, registryUnchanged(a, b), "order and exact repeats do not matter")
	c := b
	c.Village = "东村"
	require.False(t, registryUnchanged(a, c))
	d := regZhang([]Grant{{Value: "illness_poverty", ValidFrom: "2026-01-01", ValidTo: "2026-12-31"}, {Value: "sudden_hardship", ValidFrom: "2025-07-01", ValidTo: "2025-12-31"}}, nil)
	require.False(t, registryUnchanged(a, d), "another end is a change")
	require.False(t, registryUnchanged(a, regZhang(a.Categories, []Grant{{Value: "hukou", ValidFrom: "2010-03-01"}})))
}

package policies

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"huimin/internal/apperr"
)

// Ids used across the CSV tests.
var (
	regIDZhang = ResidentIDWithCheck("41132519850615001")
	regIDLi    = ResidentIDWithCheck("41130219720304002")
	regIDCoop  = "91350100M000100Y43"
)

// regCSV builds an import body: the header, then rows, each ended by CRLF as
// Excel writes them.
func regCSV(rows ...string) []byte {
	return []byte(RegistryCSVHeader + "\r\n" + strings.Join(rows, "\r\n") + "\r\n")
}

// regRow builds a row of zhang (内乡县, household NX-0001) granting kind=value.
func regRow(kind, value, from, to string) string {
	return strings.Join([]string{regIDZhang, "resident_id", "张三", "411325", "NX-0001", "6222021234567890123", kind, value, from, to}, ",")
}

// regLine is a RowError without its message, for comparing where errors are.
type regLine struct {
	Line  int
	Field string
}

func regLines(errs []RowError) []regLine {
	var out []regLine
	for _, e := range errs {
		out = append(out, regLine{e.Line, e.Field})
	}
	return out
}

// regZhang is the beneficiary regRow rows describe, with the given grants.
func regZhang(categories, residency []Grant) Beneficiary {
	return Beneficiary{
		IDNumber: regIDZhang, IDType: IDTypeResidentID, Name: "张三", CountyCode: "411325",
		HouseholdID: "NX-0001", PayoutAccount: "6222021234567890123",
		Categories: categories, Residency: residency,
	}
}

func TestParseRegistryCSVMergesRowsOfOnePerson(t *testing.T) {
	body := regCSV(
		regRow("category", "illness_poverty", "2026-01-01", ""),
		regIDLi+",,李四,411302,,,category,rural_destitute,2026-01-01,2026-12-31",
		regRow("residency", "hukou", "2020-01-01", ""),
		regRow("category", "unstable_out_of_poverty", "2025-01-01", "2025-12-31"),
		regIDCoop+`,uscc,"内乡县月季种植专业合作社",411325,,12345678,category,agri_operator,2026-01-01,`,
		regRow("category", "illness_poverty", "2026-01-01", ""), // exact repeat merges
	)
	people, errs := ParseRegistryCSV(body)
	require.Empty(t, errs)
	require.Equal(t, []Beneficiary{
		regZhang(
			[]Grant{{Value: "illness_poverty", ValidFrom: "2026-01-01"}, {Value: "unstable_out_of_poverty", ValidFrom: "2025-01-01", ValidTo: "2025-12-31"}},
			[]Grant{{Value: "hukou", ValidFrom: "2020-01-01"}},
		),
		{
			IDNumber: regIDLi, IDType: IDTypeResidentID, Name: "李四", CountyCode: "411302",
			Categories: []Grant{{Value: "rural_destitute", ValidFrom: "2026-01-01", ValidTo: "2026-12-31"}},
		},
		{
			IDNumber: regIDCoop, IDType: IDTypeUSCC, Name: "内乡县月季种植专业合作社", CountyCode: "411325", PayoutAccount: "12345678",
			Categories: []Grant{{Value: "agri_operator", ValidFrom: "2026-01-01"}},
		},
	}, people, "people in order of first appearance; empty id_type detected")
}

func TestParseRegistryCSVTextHandling(t *testing.T) {
	cases := []struct {
		name     string
		body     []byte
		wantName string
	}{
		{"UTF-8 with a byte order mark", append([]byte("\uFEFF"), regCSV(regRow("category", "illness_poverty", "2026-01-01", ""))...), "张三"},
		{"LF line ends", []byte(RegistryCSVHeader + "\n" + regRow("category", "illness_poverty", "2026-01-01", "") + "\n"), "张三"},
		{"no final line end", []byte(RegistryCSVHeader + "\n" + regRow("category", "illness_poverty", "2026-01-01", "")), "张三"},
		{"quoted name with a comma and quotes", regCSV(regIDZhang + `,resident_id,"张三,""小张""",411325,,,category,illness_poverty,2026-01-01,`), `张三,"小张"`},
		{"cells padded by spaces are trimmed", regCSV(" " + regIDZhang + " , resident_id , 张三 ,411325,,,category , illness_poverty ,2026-01-01 , "), "张三"},
		{"blank and comma-only lines are skipped", regCSV("", ",,,,,,,,,", regRow("category", "illness_poverty", "2026-01-01", ""), " , , ,,,,,,,"), "张三"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			people, errs := ParseRegistryCSV(tc.body)
			require.Empty(t, errs)
			require.Len(t, people, 1)
			require.Equal(t, tc.wantName, people[0].Name)
			require.Equal(t, []Grant{{Value: "illness_poverty", ValidFrom: "2026-01-01"}}, people[0].Categories)
		})
	}
}

func TestParseRegistryCSVReportsBadRowsAndKeepsGoodOnes(t *testing.T) {
	good := regRow("category", "illness_poverty", "2026-01-01", "")
	li := func(cells ...string) string { // a row of 李四 with cells replaced by name=value
		row := map[string]string{"id_number": regIDLi, "id_type": "resident_id", "name": "李四", "county_code": "411302",
			"household_id": "", "payout_account": "", "kind": "category", "value": "rural_destitute", "valid_from": "2026-01-01", "valid_to": ""}
		for _, c := range cells {
			k, v, _ := strings.Cut(c, "=")
			row[k] = v
		}
		var out []string
		for _, col := range strings.Split(RegistryCSVHeader, ",") {
			out = append(out, row[col])
		}
		return strings.Join(out, ",")
	}
	cases := []struct {
		name       string
		bad        string // placed on line 3, between two good rows of zhang
		wantErrs   []regLine
		wantPeople int // people kept: zhang, plus li when li's row is good
	}{
		{"county outside Nanyang", li("county_code=410102"), []regLine{{3, "county_code"}}, 1},
		{"bad check digit", li("id_number=110105194912310021"), []regLine{{3, "id_number"}}, 1},
		{"lowercase x", li("id_number=11010519491231002x"), []regLine{{3, "id_number"}}, 1},
		{"id type that does not fit the id", li("id_type=uscc"), []regLine{{3, "id_number"}}, 1},
		{"unknown id type", li("id_type=passport"), []regLine{{3, "id_type"}}, 1},
		{"missing name", li("name="), []regLine{{3, "name"}}, 1},
		{"household id with a dot", li("household_id=NX.1"), []regLine{{3, "household_id"}}, 1},
		{"payout account with letters", li("payout_account=6222ABC12345"), []regLine{{3, "payout_account"}}, 1},
		{"unknown kind", li("kind=subsidy"), []regLine{{3, "kind"}}, 1},
		{"unknown kind and unknown value", li("kind=subsidy", "value=veteran"), []regLine{{3, "kind"}, {3, "value"}}, 1},
		{"missing kind", li("kind="), []regLine{{3, "kind"}}, 1},
		{"category that is a residency type", li("value=hukou"), []regLine{{3, "value"}}, 1},
		{"residency type that is a category", li("kind=residency", "value=rural_destitute"), []regLine{{3, "value"}}, 1},
		{"valid_from not a date", li("valid_from=2026-02-30"), []regLine{{3, "valid_from"}}, 1},
		{"valid_from missing", li("valid_from="), []regLine{{3, "valid_from"}}, 1},
		{"valid_to day first", li("valid_to=31/12/2026"), []regLine{{3, "valid_to"}}, 1},
		{"valid_to before valid_from", li("valid_to=2025-12-31"), []regLine{{3, "valid_to"}}, 1},
		{"every bad column of a row", li("county_code=1", "value=x", "valid_from=x"), []regLine{{3, "county_code"}, {3, "value"}, {3, "valid_from"}}, 1},
		{"nine columns", regIDLi + ",resident_id,李四,411302,,,category,rural_destitute,2026-01-01", []regLine{{3, "row"}}, 1},
		{"eleven columns", li() + ",extra", []regLine{{3, "row"}}, 1},
		{"bare quote in a field", strings.Replace(li(), "李四", `李"四`, 1), []regLine{{3, "row"}}, 1},
		{"a good row of another person", li(), nil, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			people, errs := ParseRegistryCSV(regCSV(good, tc.bad, regRow("residency", "hukou", "2020-01-01", "")))
			require.Equal(t, tc.wantErrs, regLines(errs), "%v", errs)
			for _, e := range errs {
				require.NotEmpty(t, e.Message)
			}
			require.Len(t, people, tc.wantPeople)
			require.Equal(t, regZhang(
				[]Grant{{Value: "illness_poverty", ValidFrom: "2026-01-01"}},
				[]Grant{{Value: "hukou", ValidFrom: "2020-01-01"}},
			), people[0], "the good rows on lines 2 and 4 are kept and merged")
		})
	}
}

func TestParseRegistryCSVPersonFieldsMustAgree(t *testing.T) {
	first := regRow("category", "illness_poverty", "2026-01-01", "")
	cases := []struct {
		name      string
		row       string
		wantField []regLine
	}{
		{"other name", strings.Replace(regRow("residency", "hukou", "2020-01-01", ""), "张三", "张叁", 1), []regLine{{3, "name"}}},
		{"other county", strings.Replace(regRow("residency", "hukou", "2020-01-01", ""), ",411325,", ",411302,", 1), []regLine{{3, "county_code"}}},
		{"household left empty", strings.Replace(regRow("residency", "hukou", "2020-01-01", ""), "NX-0001", "", 1), []regLine{{3, "household_id"}}},
		{"other account", strings.Replace(regRow("residency", "hukou", "2020-01-01", ""), "6222021234567890123", "6222021234567890999", 1), []regLine{{3, "payout_account"}}},
		{"several fields at once", strings.Replace(strings.Replace(regRow("residency", "hukou", "2020-01-01", ""), "张三", "张叁", 1), "NX-0001", "NX-0002", 1), []regLine{{3, "name"}, {3, "household_id"}}},
		{"empty id type that detects to the same type agrees", strings.Replace(regRow("residency", "hukou", "2020-01-01", ""), "resident_id", "", 1), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			people, errs := ParseRegistryCSV(regCSV(first, tc.row))
			require.Equal(t, tc.wantField, regLines(errs), "%v", errs)
			for _, e := range errs {
				require.Contains(t, e.Message, "differs from line 2")
				require.NotContains(t, e.Message, "6222021234567890", "messages must not repeat accounts")
			}
			require.Len(t, people, 1)
			require.Equal(t, "张三", people[0].Name, "the first good row defines the person")
			if tc.wantField != nil {
				require.Empty(t, people[0].Residency, "the disagreeing row is skipped")
			}
		})
	}
}

func TestParseRegistryCSVFirstGoodRowDefinesThePerson(t *testing.T) {
	people, errs := ParseRegistryCSV(regCSV(
		strings.Replace(regRow("category", "illness_poverty", "2026-01-01", ""), ",411325,", ",999999,", 1),
		strings.Replace(regRow("residency", "hukou", "2020-01-01", ""), "张三", "张叁", 1),
		regRow("category", "illness_poverty", "2026-01-01", ""),
	))
	require.Equal(t, []regLine{{2, "county_code"}, {4, "name"}}, regLines(errs),
		"line 2 is bad on its own; line 3 is the first good row, so line 4 disagrees with it: %v", errs)
	require.Len(t, people, 1)
	require.Equal(t, "张叁", people[0].Name)
	require.Equal(t, []Grant{{Value: "hukou", ValidFrom: "2020-01-01"}}, people[0].Residency)
	require.Empty(t, people[0].Categories)
}

func TestParseRegistryCSVLineNumbersCountQuotedLineBreaks(t *testing.T) {
	body := regCSV(
		regIDZhang+",resident_id,\"张\n三\",411325,,,category,illness_poverty,2026-01-01,", // lines 2–3
		regIDLi+",resident_id,李四,000000,,,category,rural_destitute,2026-01-01,",          // line 4
	)
	people, errs := ParseRegistryCSV(body)
	require.Equal(t, []regLine{{2, "name"}, {4, "county_code"}}, regLines(errs), "%v", errs)
	require.Empty(t, people)
}

func TestParseRegistryCSVHeader(t *testing.T) {
	row := regRow("category", "illness_poverty", "2026-01-01", "")
	cases := []struct {
		name string
		body []byte
		want string // substring of the message
	}{
		{"empty file", nil, "file is empty"},
		{"only a byte order mark", []byte("\uFEFF"), "file is empty"},
		{"Chinese column names", []byte("身份证号,证件类型,姓名,县区,户号,账户,类型,值,起始,截止\n" + row), `column 1 is "身份证号"`},
		{"columns in another order", []byte(strings.Replace(RegistryCSVHeader, "id_number,id_type", "id_type,id_number", 1) + "\n" + row), `column 1 is "id_type"`},
		{"missing valid_to", []byte(strings.TrimSuffix(RegistryCSVHeader, ",valid_to") + "\n" + row), "has 9 columns"},
		{"extra column", []byte(RegistryCSVHeader + ",note\n" + row), "has 11 columns"},
		{"no header, data first", []byte(row + "\n" + row), "column 1 is"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			people, errs := ParseRegistryCSV(tc.body)
			require.Empty(t, people)
			require.Len(t, errs, 1)
			require.Equal(t, regLine{1, "header"}, regLine{errs[0].Line, errs[0].Field})
			require.Contains(t, errs[0].Message, tc.want)
		})
	}
}

func TestParseRegistryCSVErrorsAreSortedByLine(t *testing.T) {
	var rows []string
	for i := 0; i < 5; i++ {
		rows = append(rows, strings.Replace(regRow("category", "illness_poverty", "2026-01-01", ""), "2026-01-01", "bad", 1))
	}
	_, errs := ParseRegistryCSV(regCSV(rows...))
	require.Equal(t, []regLine{{2, "valid_from"}, {3, "valid_from"}, {4, "valid_from"}, {5, "valid_from"}, {6, "valid_from"}}, regLines(errs))
}

func TestRegistryColumnOf(t *testing.T) {
	for path, want := range map[string]string{
		"categories[3].category":  "value",
		"residency[0].type":       "value",
		"categories[1].valid_to":  "valid_to",
		"residency[2].valid_from": "valid_from",
		"categories":              "kind",
		"county_code":             "county_code",
	} {
		require.Equal(t, want, registryColumnOf(path), path)
	}
}

// regGBKText is the content of testdata/registry_gbk.csv before encoding.
var regGBKText = RegistryCSVHeader + "\r\n" +
	regIDZhang + ",resident_id,张三,411325,NX-0001,6222021234567890123,category,illness_poverty,2026-01-01,\r\n" +
	regIDLi + `,resident_id,"欧阳·丽娟",411326,XC-0420,,residency,hukou,2018-05-01,` + "\r\n" +
	regIDLi + `,resident_id,"欧阳·丽娟",411326,XC-0420,,category,marginal_at_risk,2026-01-01,2026-12-31` + "\r\n" +
	regIDCoop + ",uscc,邓州市月季花卉专业合作社,411381,,12345678901,category,agri_operator,2026-01-01,\r\n"

// regGBKPeople is what regGBKText holds.
func regGBKPeople() []Beneficiary {
	return []Beneficiary{
		regZhang([]Grant{{Value: "illness_poverty", ValidFrom: "2026-01-01"}}, nil),
		{
			IDNumber: regIDLi, IDType: IDTypeResidentID, Name: "欧阳·丽娟", CountyCode: "411326", HouseholdID: "XC-0420",
			Residency:  []Grant{{Value: "hukou", ValidFrom: "2018-05-01"}},
			Categories: []Grant{{Value: "marginal_at_risk", ValidFrom: "2026-01-01", ValidTo: "2026-12-31"}},
		},
		{
			IDNumber: regIDCoop, IDType: IDTypeUSCC, Name: "邓州市月季花卉专业合作社", CountyCode: "411381", PayoutAccount: "12345678901",
			Categories: []Grant{{Value: "agri_operator", ValidFrom: "2026-01-01"}},
		},
	}
}

func regGBK(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	require.NoError(t, err)
	return b
}

// TestRegistryGBKFixture reads the committed file as Excel in China saves it.
// HUIMIN_WRITE_TESTDATA=1 go test -run TestRegistryGBKFixture ./policies/
// rewrites it from regGBKText.
func TestRegistryGBKFixture(t *testing.T) {
	path := filepath.Join("testdata", "registry_gbk.csv")
	if os.Getenv("HUIMIN_WRITE_TESTDATA") != "" {
		require.NoError(t, os.WriteFile(path, regGBK(t, regGBKText), 0o644))
	}
	body, err := os.ReadFile(path)
	require.NoError(t, err)
	require.False(t, utf8.Valid(body), "the fixture must really be GBK")
	require.Equal(t, regGBK(t, regGBKText), body, "the fixture is regGBKText in GBK")

	for _, contentType := range []string{"", "text/csv", "text/csv; charset=GBK", "text/csv;charset=gb18030", `text/csv; charset="gb2312"`} {
		t.Run("Content-Type "+contentType, func(t *testing.T) {
			text, err := DecodeCSV(body, contentType)
			require.NoError(t, err)
			require.Equal(t, regGBKText, string(text))
			people, errs := ParseRegistryCSV(text)
			require.Empty(t, errs)
			require.Equal(t, regGBKPeople(), people)
		})
	}
}

func TestDecodeCSV(t *testing.T) {
	text := []byte(regGBKText)
	gbk := regGBK(t, regGBKText)
	withBOM := append([]byte("\uFEFF"), text...)
	cases := []struct {
		name        string
		body        []byte
		contentType string
		want        []byte // nil when an error is expected
		wantKind    *apperr.Kind
	}{
		{"UTF-8 detected", text, "", text, nil},
		{"UTF-8 declared", text, "text/csv; charset=utf-8", text, nil},
		{"UTF-8 declared in capitals", text, "text/csv; charset=UTF-8", text, nil},
		{"byte order mark stripped", withBOM, "", text, nil},
		{"byte order mark stripped when UTF-8 is declared", withBOM, "text/csv; charset=utf-8", text, nil},
		{"byte order mark wins over a GBK label", withBOM, "text/csv; charset=GBK", text, nil},
		{"GBK detected", gbk, "", text, nil},
		{"GBK declared", gbk, "text/csv; charset=GBK", text, nil},
		{"GB2312 declared", gbk, "text/csv; charset=gb2312", text, nil},
		{"GB18030 declared", gbk, "text/csv; charset=GB18030", text, nil},
		{"GB18030 four-byte character", []byte("\x81\x30\x81\x30"), "text/csv; charset=gb18030", []byte("\u0080"), nil},
		{"ASCII GBK is the same text", []byte("a,b\n"), "text/csv; charset=gbk", []byte("a,b\n"), nil},
		{"GBK bytes labelled UTF-8", gbk, "text/csv; charset=utf-8", nil, apperr.ErrValidation},
		{"bytes that are neither UTF-8 nor GBK", []byte("id\n\xff\xff\xff"), "", nil, apperr.ErrValidation},
		{"truncated GBK character", []byte("id\n\xd5"), "text/csv; charset=gbk", nil, apperr.ErrValidation},
		{"unknown charset", text, "text/csv; charset=latin1", nil, apperr.ErrUnsupportedMedia},
		{"UTF-16", []byte("\xff\xfei\x00d\x00"), "", nil, apperr.ErrUnsupportedMedia},
		{"malformed Content-Type", text, "text/csv; charset", nil, apperr.ErrBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeCSV(tc.body, tc.contentType)
			if tc.wantKind != nil {
				require.Error(t, err)
				require.True(t, errors.Is(err, tc.wantKind), "got %v, want %s", err, tc.wantKind.Code)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestDecodeCSVNamesTheBadLine(t *testing.T) {
	_, err := DecodeCSV([]byte("a\nb\n\xff\n"), "text/csv; charset=utf-8")
	var ve *apperr.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "body", ve.Fields[0].Field)
	require.Contains(t, ve.Fields[0].Message, "line 3")
}

// regLargeCSV makes n rows: n/2 people with a category and a residency row.
func regLargeCSV(n int) []byte {
	counties := []string{"411302", "411303", "411321", "411322", "411323", "411324", "411325", "411326", "411327", "411328", "411329", "411330", "411381"}
	var b bytes.Buffer
	b.Grow(n * 110)
	b.WriteString(RegistryCSVHeader + "\r\n")
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	for p := 0; p < (n+1)/2; p++ {
		county := counties[p%len(counties)]
		id := ResidentIDWithCheck(county + birth.AddDate(0, 0, p/999).Format("20060102") + fmt.Sprintf("%03d", p%999+1))
		person := fmt.Sprintf("%s,resident_id,\"测试,%d\",%s,H%d,62220212345%06d,", id, p, county, p/3, p)
		b.WriteString(person + "category,unstable_out_of_poverty,2026-01-01,2026-12-31\r\n")
		if 2*p+1 < n {
			b.WriteString(person + "residency,hukou,2010-01-01,\r\n")
		}
	}
	return b.Bytes()
}

func TestParseRegistryCSVLargeImport(t *testing.T) {
	people, errs := ParseRegistryCSV(regLargeCSV(20000))
	require.Empty(t, errs)
	require.Len(t, people, 10000)
	for _, p := range people {
		require.Len(t, p.Categories, 1)
		require.Len(t, p.Residency, 1)
	}
}

func BenchmarkParseRegistryCSV(b *testing.B) {
	body := regLargeCSV(100000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		people, errs := ParseRegistryCSV(body)
		if len(errs) != 0 || len(people) != 50000 {
			b.Fatalf("%d people, %d errors", len(people), len(errs))
		}
	}
}

package policies

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"huimin/internal/apperr"
	"huimin/internal/civil"
	"huimin/internal/web"
)

// RegistryCSVHeader is the exact first line of a registry import (DESIGN §4).
const RegistryCSVHeader = "id_number,id_type,name,county_code,household_id,payout_account,kind,value,valid_from,valid_to"

// RegistryCSVPlaceColumns may follow RegistryCSVHeader, all three in this
// order (DESIGN §4: optional extra columns). A file without them imports as
// before and leaves the place fields empty.
const RegistryCSVPlaceColumns = "township,village,bank_name"

// The values of a registry row's kind column.
const (
	// RegistryKindCategory marks a row whose value is one of Categories.
	RegistryKindCategory = "category"
	// RegistryKindResidency marks a row whose value is one of ResidencyTypes.
	RegistryKindResidency = "residency"
)

// Column positions of RegistryCSVHeader.
const (
	regColIDNumber = iota
	regColIDType
	regColName
	regColCountyCode
	regColHouseholdID
	regColPayoutAccount
	regColKind
	regColValue
	regColValidFrom
	regColValidTo
	regColCount // the columns of RegistryCSVHeader
)

// Column positions of RegistryCSVPlaceColumns, which follow.
const (
	regColTownship = regColCount + iota
	regColVillage
	regColBankName
	regColCountWithPlaces // the columns of a header with the place columns
)

var (
	registryCSVColumns = strings.Split(RegistryCSVHeader+","+RegistryCSVPlaceColumns, ",")
	utf8BOM            = []byte{0xEF, 0xBB, 0xBF}
	// registryAnyValue accepts a value of either kind, to check the value of
	// a row whose kind is itself wrong without reporting it twice.
	registryAnyValue = slices.Concat(Categories, ResidencyTypes)
)

// RowError names a bad line of an import and the column at fault ("row" for
// a line that cannot be read as a row, "header" for line 1). Lines count from
// 1, the header; a quoted field spanning lines counts where its row starts.
type RowError struct {
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// DecodeCSV returns the body as UTF-8 without a byte order mark. The charset
// is the Content-Type's charset parameter (utf-8; gbk, gb2312, gb18030 and
// their aliases all read as GB18030, a superset of GBK and GB2312, as the
// WHATWG Encoding Standard does) or, without one, detected: valid UTF-8, else
// GBK, which is what Excel saves in China. A UTF-8 byte order mark wins over
// the label, as in the WHATWG "decode" algorithm. An unknown charset wraps
// apperr.ErrUnsupportedMedia; bytes that are not text in the charset are a
// validation error on field "body".
func DecodeCSV(body []byte, contentType string) ([]byte, error) {
	charset := ""
	if strings.TrimSpace(contentType) != "" {
		_, params, err := mime.ParseMediaType(contentType)
		if err != nil {
			return nil, apperr.New(apperr.ErrBadRequest, "malformed Content-Type: %v", err)
		}
		charset = strings.ToLower(strings.TrimSpace(params["charset"]))
	}
	if bytes.HasPrefix(body, utf8BOM) {
		return registryCheckUTF8(body[len(utf8BOM):], "the body starts with a UTF-8 byte order mark")
	}
	if bytes.HasPrefix(body, []byte{0xFF, 0xFE}) || bytes.HasPrefix(body, []byte{0xFE, 0xFF}) {
		return nil, apperr.New(apperr.ErrUnsupportedMedia, "UTF-16 text is not supported; save the sheet as CSV UTF-8 or CSV (GBK)")
	}
	switch charset {
	case "":
		if utf8.Valid(body) {
			return body, nil
		}
		return registryDecodeGB(body)
	case "utf-8", "utf8", "us-ascii":
		return registryCheckUTF8(body, "charset="+charset+" was declared")
	case "gbk", "gb2312", "gb_2312-80", "gb18030", "cp936", "windows-936", "x-gbk", "csgb2312", "chinese":
		return registryDecodeGB(body)
	}
	return nil, apperr.New(apperr.ErrUnsupportedMedia, "charset %q is not supported; use utf-8 or gbk", charset)
}

// registryCheckUTF8 returns b if it is valid UTF-8, else a validation error
// naming the line of the first bad byte.
func registryCheckUTF8(b []byte, why string) ([]byte, error) {
	if utf8.Valid(b) {
		return b, nil
	}
	at := 0
	for at < len(b) {
		r, size := utf8.DecodeRune(b[at:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		at += size
	}
	return nil, apperr.Invalid("body", "is not valid UTF-8 (%s): bad bytes on line %d", why, 1+bytes.Count(b[:at], []byte{'\n'}))
}

// registryDecodeGB decodes GBK/GB18030. The decoder turns bad bytes into
// U+FFFD; a legitimate file encodes U+FFFD only as 84 31 A4 37, so a
// replacement character without that sequence means the body was not GBK.
func registryDecodeGB(b []byte) ([]byte, error) {
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
	if err != nil {
		return nil, apperr.Invalid("body", "is neither UTF-8 nor GBK: %v", err)
	}
	if at := bytes.IndexRune(out, utf8.RuneError); at >= 0 && !bytes.Contains(b, []byte{0x84, 0x31, 0xA4, 0x37}) {
		return nil, apperr.Invalid("body", "is neither UTF-8 nor GBK: bad bytes on line %d", 1+bytes.Count(out[:at], []byte{'\n'}))
	}
	return out, nil
}

// ParseRegistryCSV reads a registry import (DESIGN §4) from UTF-8 text, with
// or without a byte order mark. Each row grants one category or residency
// period; rows with the same id_number merge into one Beneficiary, in the
// order of each person's first good row. Cells are trimmed of surrounding
// spaces (Excel pads them); rows whose cells are all empty are skipped.
//
// Every bad row is reported, once per bad column, and skipped; good rows are
// kept. A row's person fields (id_type, name, county_code, household_id,
// payout_account, and township, village, bank_name when the file has them)
// must equal those of the person's first good row; an empty id_type is
// detected from the id number. Exact duplicate rows merge. A header other
// than RegistryCSVHeader, optionally followed by RegistryCSVPlaceColumns, is
// one error at line 1 and nothing is read. Errors are sorted by line.
func ParseRegistryCSV(utf8Text []byte) (people []Beneficiary, errs []RowError) {
	rows, errs := readRegistryCSV(utf8Text)
	return parseRegistryRows(rows, errs)
}

// registryRow is one record of an import file: its cells and the line (CSV)
// or row (XLSX) it starts on.
type registryRow struct {
	line  int
	cells []string
}

// readRegistryCSV reads the records of a CSV import: the header first. A
// record CSV cannot read is an error of its line, and is left out; a header
// that cannot be read is the only error, and no record is returned.
func readRegistryCSV(utf8Text []byte) (rows []registryRow, errs []RowError) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(utf8Text, utf8BOM)))
	r.FieldsPerRecord = -1 // column counts are checked per row, to name the line

	header, err := r.Read()
	if err != nil {
		msg := fmt.Sprintf("cannot read the header: %v", err)
		if err == io.EOF {
			msg = "the file is empty; line 1 must be the header " + RegistryCSVHeader
		}
		return nil, []RowError{{Line: 1, Field: "header", Message: msg}}
	}
	rows = append(rows, registryRow{line: 1, cells: header})
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				errs = append(errs, RowError{Line: pe.StartLine, Field: "row", Message: fmt.Sprintf("malformed CSV (column %d): %v", pe.Column, pe.Err)})
				continue
			}
			errs = append(errs, RowError{Line: 0, Field: "row", Message: fmt.Sprintf("cannot read: %v", err)})
			break
		}
		line, _ := r.FieldPos(0)
		rows = append(rows, registryRow{line: line, cells: rec})
	}
	return rows, errs
}

// parseRegistryRows is ParseRegistryCSV on records already read (rows[0]
// the header), with the errors of reading them. Cells are trimmed in place,
// and valid_from and valid_to normalised (registryDate).
func parseRegistryRows(rows []registryRow, errs []RowError) (people []Beneficiary, _ []RowError) {
	if len(rows) == 0 {
		if len(errs) == 0 {
			errs = []RowError{{Line: 1, Field: "header", Message: "the file is empty; line 1 must be the header " + RegistryCSVHeader}}
		}
		return nil, errs
	}
	columns, msg := registryHeaderColumns(rows[0].cells)
	if msg != "" {
		return nil, []RowError{{Line: 1, Field: "header", Message: msg}}
	}

	byID := make(map[string]int)
	var firstLine []int // firstLine[i] is the line of people[i]'s first good row
	for _, row := range rows[1:] {
		rec, line := row.cells, row.line
		if registryTrimRow(rec) {
			continue
		}
		if len(rec) != columns {
			errs = append(errs, RowError{Line: line, Field: "row", Message: fmt.Sprintf("has %d columns, expected %d: %s", len(rec), columns, strings.Join(registryCSVColumns[:columns], ","))})
			continue
		}
		rec[regColValidFrom], rec[regColValidTo] = registryDate(rec[regColValidFrom]), registryDate(rec[regColValidTo])

		row := Beneficiary{
			IDNumber:      rec[regColIDNumber],
			IDType:        rec[regColIDType],
			Name:          rec[regColName],
			CountyCode:    rec[regColCountyCode],
			HouseholdID:   rec[regColHouseholdID],
			PayoutAccount: rec[regColPayoutAccount],
		}
		if columns == regColCountWithPlaces {
			row.Township, row.Village, row.BankName = rec[regColTownship], rec[regColVillage], rec[regColBankName]
		}
		if row.IDType == "" {
			row.IDType = DetectIDType(row.IDNumber)
		}
		grant := Grant{Value: rec[regColValue], ValidFrom: civil.Date(rec[regColValidFrom]), ValidTo: civil.Date(rec[regColValidTo])}
		var f apperr.Fields
		validateBeneficiaryPerson(&f, row)
		kind := rec[regColKind]
		switch kind {
		case RegistryKindCategory:
			validateBeneficiaryGrant(&f, beneficiaryGrantPath{valueName: "value"}, grant, Categories, "category")
		case RegistryKindResidency:
			validateBeneficiaryGrant(&f, beneficiaryGrantPath{valueName: "value"}, grant, ResidencyTypes, "residency type")
		default:
			if kind == "" {
				f.Add("kind", "required")
			} else {
				f.Add("kind", "must be %s or %s", RegistryKindCategory, RegistryKindResidency)
			}
			validateBeneficiaryGrant(&f, beneficiaryGrantPath{valueName: "value"}, grant, registryAnyValue, "category or residency type")
		}
		if len(f) > 0 {
			for _, fe := range f {
				errs = append(errs, RowError{Line: line, Field: fe.Field, Message: fe.Message})
			}
			continue
		}

		idx, seen := byID[row.IDNumber]
		if !seen {
			idx = len(people)
			byID[row.IDNumber] = idx
			people = append(people, row)
			firstLine = append(firstLine, line)
		} else if mismatches := registryPersonMismatches(people[idx], row); len(mismatches) > 0 {
			for _, col := range mismatches {
				errs = append(errs, RowError{Line: line, Field: col, Message: fmt.Sprintf("differs from line %d, the first row of this id_number; all rows of a person must agree", firstLine[idx])})
			}
			continue
		}
		p := &people[idx]
		if kind == RegistryKindCategory {
			p.Categories = registryAddGrant(p.Categories, grant)
		} else {
			p.Residency = registryAddGrant(p.Residency, grant)
		}
	}

	// Rows were checked one by one; the merged record is checked as a whole
	// so that an import can never store what the JSON API would refuse.
	kept := people[:0]
	for i, p := range people {
		fs := p.Validate()
		if len(fs) == 0 {
			kept = append(kept, p)
			continue
		}
		for _, fe := range fs {
			errs = append(errs, RowError{Line: firstLine[i], Field: registryColumnOf(fe.Field), Message: fe.Message})
		}
	}
	slices.SortStableFunc(errs, func(a, b RowError) int { return cmp.Compare(a.Line, b.Line) })
	return kept, errs
}

// registryTrimRow trims the cells of rec of surrounding spaces, in place,
// and reports whether they are all empty.
func registryTrimRow(rec []string) (blank bool) {
	blank = true
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
		blank = blank && rec[i] == ""
	}
	return blank
}

// registryDate normalises the dates Excel writes to YYYY-MM-DD: 2026/1/1,
// 2026-1-1 and 2026/01/01 are 2026-01-01. A year has four digits, a month
// and a day one or two, and one separator, / or -, is used throughout.
// Anything else, a date that does not exist included, is returned as it is,
// for validation to refuse it naming the column.
func registryDate(s string) string {
	if len(s) < len("2026-1-1") || len(s) > len("2026-01-01") {
		return s
	}
	sep := s[4]
	if sep != '/' && sep != '-' {
		return s
	}
	parts := strings.Split(s, string(sep))
	if len(parts) != 3 || len(parts[0]) != 4 {
		return s
	}
	for _, p := range parts {
		if p == "" || len(p) > 4 || strings.Trim(p, "0123456789") != "" {
			return s
		}
	}
	if len(parts[1]) > 2 || len(parts[2]) > 2 {
		return s
	}
	return parts[0] + "-" + registryPad2(parts[1]) + "-" + registryPad2(parts[2])
}

func registryPad2(s string) string {
	if len(s) == 1 {
		return "0" + s
	}
	return s
}

// registryHeaderColumns returns the number of columns a header announces:
// regColCount for RegistryCSVHeader, regColCountWithPlaces when
// RegistryCSVPlaceColumns follow it. Anything else is a message saying how
// the header differs.
func registryHeaderColumns(header []string) (int, string) {
	expected := fmt.Sprintf("line 1 must be exactly %s, optionally followed by ,%s", RegistryCSVHeader, RegistryCSVPlaceColumns)
	if len(header) != regColCount && len(header) != regColCountWithPlaces {
		for i := range min(len(header), regColCount) {
			if got := strings.TrimSpace(header[i]); got != registryCSVColumns[i] {
				return 0, fmt.Sprintf("column %d is %q, expected %q; %s", i+1, got, registryCSVColumns[i], expected)
			}
		}
		return 0, fmt.Sprintf("has %d columns; %s", len(header), expected)
	}
	for i := range header {
		if got := strings.TrimSpace(header[i]); got != registryCSVColumns[i] {
			return 0, fmt.Sprintf("column %d is %q, expected %q; %s", i+1, got, registryCSVColumns[i], expected)
		}
	}
	return len(header), ""
}

// registryPersonMismatches lists the person columns where row differs from
// the person as first read.
func registryPersonMismatches(p, row Beneficiary) []string {
	var cols []string
	if row.IDType != p.IDType {
		cols = append(cols, "id_type")
	}
	if row.Name != p.Name {
		cols = append(cols, "name")
	}
	if row.CountyCode != p.CountyCode {
		cols = append(cols, "county_code")
	}
	if row.HouseholdID != p.HouseholdID {
		cols = append(cols, "household_id")
	}
	if row.PayoutAccount != p.PayoutAccount {
		cols = append(cols, "payout_account")
	}
	if row.Township != p.Township {
		cols = append(cols, "township")
	}
	if row.Village != p.Village {
		cols = append(cols, "village")
	}
	if row.BankName != p.BankName {
		cols = append(cols, "bank_name")
	}
	return cols
}

// registryAddGrant appends g unless the same period is already there.
func registryAddGrant(gs []Grant, g Grant) []Grant {
	if slices.Contains(gs, g) {
		return gs
	}
	return append(gs, g)
}

// registryColumnOf maps a Validate path to the CSV column it came from:
// categories[0].valid_to → valid_to, residency[1].type → value.
func registryColumnOf(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 && strings.Contains(path[:i], "[") {
		switch col := path[i+1:]; col {
		case "category", "type":
			return "value"
		default:
			return col
		}
	}
	if path == "categories" || path == "residency" {
		return "kind"
	}
	return path
}

// The media types of an import besides CSV: an XLSX workbook, and a
// browser's form upload.
const (
	registryMediaXLSX      = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	registryMediaMultipart = "multipart/form-data"
)

// registryUnzipLimit bounds what an XLSX import may unzip to: a body is at
// most web.BulkBodyLimit, but a zip can expand a thousandfold.
const registryUnzipLimit = 256 << 20

// readRegistryFile reads the records of an import body (rows[0] the
// header), with the errors of records it could not read: the first file
// part of a multipart/form-data form (a part with a file name, or named
// "file") read as its own Content-Type says, or else the body itself. A
// workbook, told by its zip signature or by the XLSX media type, is read
// from its first sheet (readRegistryXLSX); anything else is CSV, decoded by
// DecodeCSV. An error is the request's: nothing can be read.
func readRegistryFile(body []byte, contentType string) ([]registryRow, []RowError, error) {
	mt := ""
	if strings.TrimSpace(contentType) != "" {
		var params map[string]string
		var err error
		if mt, params, err = mime.ParseMediaType(contentType); err != nil {
			return nil, nil, apperr.New(apperr.ErrBadRequest, "malformed Content-Type: %v", err)
		}
		if mt == registryMediaMultipart {
			part, partType, err := web.FilePart(body, params["boundary"])
			if err != nil {
				return nil, nil, err
			}
			if len(part) == 0 {
				return nil, nil, apperr.Invalid("file", "is empty; send the CSV or XLSX file, line 1 being the header %s", RegistryCSVHeader)
			}
			// A browser names a .csv file by what the system says of it
			// (application/vnd.ms-excel on Windows): only a text type's
			// charset is taken, else the charset is detected.
			body, contentType, mt = part, partType, ""
			if pt, _, err := mime.ParseMediaType(partType); err == nil {
				mt = pt
			}
			if !strings.HasPrefix(mt, "text/") {
				contentType = ""
			}
		}
	}
	if mt == registryMediaXLSX || bytes.HasPrefix(body, []byte("PK\x03\x04")) {
		rows, errs, err := readRegistryXLSX(body)
		return rows, errs, err
	}
	text, err := DecodeCSV(body, contentType)
	if err != nil {
		return nil, nil, err
	}
	rows, errs := readRegistryCSV(text)
	return rows, errs, nil
}

// readRegistryXLSX reads the first sheet of a workbook as the records of
// an import, each with its row number as its line. Cells are read as
// stored, not as displayed: a text cell is its text. Excel keeps what looks
// like a number as a number, so number cells are turned back into the text
// they were typed as: in valid_from and valid_to a date (a serial day
// number) becomes YYYY-MM-DD; elsewhere an integer of up to 15 digits is its
// digits. An id_number cell that is a number, or a longer number elsewhere
// (a payout account), has lost its last digits — Excel keeps 15 — and its
// row is an error naming the column, left out: the id is never guessed.
// Cells past the header's last column must be empty; missing ones at the
// end of a row (Excel does not store empty cells) are empty.
func readRegistryXLSX(body []byte) ([]registryRow, []RowError, error) {
	x, err := excelize.OpenReader(bytes.NewReader(body), excelize.Options{UnzipSizeLimit: registryUnzipLimit})
	if err != nil {
		return nil, nil, apperr.Invalid("body", "is not a readable XLSX workbook: %v", err)
	}
	defer x.Close()
	sheets := x.GetSheetList()
	if len(sheets) == 0 {
		return nil, nil, apperr.Invalid("body", "is a workbook without a sheet")
	}
	sheet := sheets[0]
	date1904 := false
	if props, err := x.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		date1904 = *props.Date1904
	}
	it, err := x.Rows(sheet)
	if err != nil {
		return nil, nil, apperr.Invalid("body", "cannot read the sheet %q: %v", sheet, err)
	}
	defer it.Close()
	var (
		rows    []registryRow
		errs    []RowError
		columns int
	)
	for n := 1; it.Next(); n++ {
		cells, err := it.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, nil, apperr.Invalid("body", "cannot read row %d of the sheet %q: %v", n, sheet, err)
		}
		end := len(cells)
		for end > 0 && strings.TrimSpace(cells[end-1]) == "" {
			end--
		}
		if n == 1 {
			columns = end
			rows = append(rows, registryRow{line: 1, cells: cells[:end]})
			continue
		}
		if end == 0 {
			continue // a blank row
		}
		if end < columns {
			cells = append(cells[:end], make([]string, columns-end)...)
		} else {
			cells = cells[:end]
		}
		bad := false
		for col, v := range cells {
			if col >= regColCountWithPlaces || !registryLooksNumeric(v) {
				continue
			}
			cell, err := excelize.CoordinatesToCellName(col+1, n)
			if err != nil {
				continue
			}
			typ, err := x.GetCellType(sheet, cell)
			if err != nil || typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
				continue // text that looks like a number is text
			}
			text, msg := registryNumberCell(col, v, date1904)
			if msg != "" {
				name := "row"
				if col < len(registryCSVColumns) {
					name = registryCSVColumns[col]
				}
				errs = append(errs, RowError{Line: n, Field: name, Message: msg})
				bad = true
				continue
			}
			cells[col] = text
		}
		if !bad {
			rows = append(rows, registryRow{line: n, cells: cells})
		}
	}
	if err := it.Error(); err != nil {
		return nil, nil, apperr.Invalid("body", "cannot read the sheet %q: %v", sheet, err)
	}
	if len(rows) == 0 {
		return nil, []RowError{{Line: 1, Field: "header", Message: "the file is empty; line 1 must be the header " + RegistryCSVHeader}}, nil
	}
	return rows, errs, nil
}

// registryLooksNumeric tells a cell's raw value that a number cell can
// hold: digits, a sign, a decimal point, an exponent.
func registryLooksNumeric(v string) bool {
	v = strings.TrimSpace(v)
	return v != "" && strings.Trim(v, "0123456789.eE+-") == "" && strings.ContainsAny(v, "0123456789")
}

// registryNumberCell turns the raw value of a number cell in column col
// back into the text it was typed as, or says why it cannot.
func registryNumberCell(col int, raw string, date1904 bool) (text, msg string) {
	raw = strings.TrimSpace(raw)
	switch col {
	case regColIDNumber:
		return "", "is a number cell in the sheet; Excel keeps only 15 digits of a number, so the id has lost digits: format the column as text (文本) and type the id again"
	case regColValidFrom, regColValidTo:
		serial, err := strconv.ParseFloat(raw, 64)
		if err != nil || serial < 1 {
			return raw, "" // validation refuses it as a date
		}
		t, err := excelize.ExcelDateToTime(serial, date1904)
		if err != nil {
			return raw, ""
		}
		return t.Format(time.DateOnly), ""
	}
	if len(raw) <= 15 && strings.Trim(raw, "0123456789") == "" {
		return raw, ""
	}
	whole, _, _ := strings.Cut(strings.TrimLeft(raw, "+-"), ".")
	if strings.ContainsAny(raw, "eE") || len(strings.TrimLeft(whole, "0")) > 15 {
		return "", "is a number of more than 15 digits in the sheet, which Excel does not keep exactly: format the column as text (文本) and type it again"
	}
	return raw, ""
}

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
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"huimin/internal/apperr"
	"huimin/internal/civil"
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
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(utf8Text, utf8BOM)))
	r.FieldsPerRecord = -1 // column counts are checked per row, to name the line
	r.ReuseRecord = true

	header, err := r.Read()
	if err != nil {
		msg := fmt.Sprintf("cannot read the header: %v", err)
		if err == io.EOF {
			msg = "the file is empty; line 1 must be the header " + RegistryCSVHeader
		}
		return nil, []RowError{{Line: 1, Field: "header", Message: msg}}
	}
	columns, msg := registryHeaderColumns(header)
	if msg != "" {
		return nil, []RowError{{Line: 1, Field: "header", Message: msg}}
	}

	byID := make(map[string]int)
	var firstLine []int // firstLine[i] is the line of people[i]'s first good row
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
		blank := true
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
			blank = blank && rec[i] == ""
		}
		if blank {
			continue
		}
		if len(rec) != columns {
			errs = append(errs, RowError{Line: line, Field: "row", Message: fmt.Sprintf("has %d columns, expected %d: %s", len(rec), columns, strings.Join(registryCSVColumns[:columns], ","))})
			continue
		}

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

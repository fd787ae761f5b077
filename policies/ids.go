package policies

import (
	"huimin/internal/mask"

	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// The two kinds of beneficiary id of DESIGN §4, as they appear in id_type.
const (
	// IDTypeResidentID is an 18-character resident ID (居民身份证号码, GB 11643).
	IDTypeResidentID = "resident_id"
	// IDTypeUSCC is an 18-character unified social credit code
	// (统一社会信用代码, GB 32100) of a cooperative or firm.
	IDTypeUSCC = "uscc"
)

// IDTypes lists the accepted id_type values.
var IDTypes = []string{IDTypeResidentID, IDTypeUSCC}

// GB 11643-1999 §8.2: ISO 7064 MOD 11-2 weights of the first 17 digits and the
// check character for each remainder of the weighted sum.
var (
	residentIDWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	residentIDChecks  = "10X98765432"
)

// Birth years outside this range are typos, not people: the registry holds no
// one born before 1900 and an id cannot be issued for a birth after 2100. A
// fixed bound keeps validation independent of the clock.
const (
	residentIDMinYear = 1900
	residentIDMaxYear = 2100
)

// ValidateResidentID checks s is a resident ID of GB 11643: 18 characters,
// the first 17 digits, characters 7–14 a real birth date YYYYMMDD (years
// 1900..2100) and the 18th the MOD 11-2 check character (a digit or an
// uppercase X). The error message never repeats s, so it may be logged.
func ValidateResidentID(s string) error {
	if n := utf8.RuneCountInString(s); n != 18 {
		return fmt.Errorf("must be 18 characters, got %d", n)
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Errorf("character %d must be a digit", i+1)
		}
	}
	if err := residentIDBirthDate(s[6:14]); err != nil {
		return err
	}
	last := s[17]
	switch {
	case last == 'x':
		return errors.New("the check character must be an uppercase X; use uppercase X")
	case last != 'X' && (last < '0' || last > '9'):
		return errors.New("character 18 must be a digit or X")
	}
	if last != residentIDCheck(s[:17]) {
		return errors.New("check character does not match the first 17 digits (GB 11643); the number is mistyped")
	}
	return nil
}

// residentIDBirthDate checks the eight digits YYYYMMDD form a real date.
func residentIDBirthDate(d string) error {
	year := int(d[0]-'0')*1000 + int(d[1]-'0')*100 + int(d[2]-'0')*10 + int(d[3]-'0')
	month := int(d[4]-'0')*10 + int(d[5]-'0')
	day := int(d[6]-'0')*10 + int(d[7]-'0')
	if year < residentIDMinYear || year > residentIDMaxYear {
		return fmt.Errorf("birth year %d (characters 7–10) is outside %d..%d", year, residentIDMinYear, residentIDMaxYear)
	}
	if month < 1 || month > 12 || day < 1 || day > residentIDDaysIn(year, time.Month(month)) {
		return errors.New("characters 7–14 must be a real birth date YYYYMMDD")
	}
	return nil
}

// residentIDDaysIn is the number of days of month m in year y.
func residentIDDaysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// residentIDCheck computes the check character of 17 digits.
func residentIDCheck(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * residentIDWeights[i]
	}
	return residentIDChecks[sum%11]
}

// ResidentIDWithCheck returns first17 followed by its GB 11643 check
// character. It is for tests and the load generator, which need valid
// synthetic ids; it panics unless first17 is 17 digits.
func ResidentIDWithCheck(first17 string) string {
	if len(first17) != 17 || strings.IndexFunc(first17, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		panic("policies.ResidentIDWithCheck: want 17 digits")
	}
	return first17 + string(residentIDCheck(first17))
}

// GB 32100-2015 §4: the code's character set (digits and capitals without
// I, O, Z, S, V) and the weights 3^i mod 31 of the first 17 characters.
var (
	usccCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	// usccValue maps a byte to its value in usccCharset, or -1.
	usccValue = func() (v [256]int8) {
		for i := range v {
			v[i] = -1
		}
		for i := 0; i < len(usccCharset); i++ {
			v[usccCharset[i]] = int8(i)
		}
		return v
	}()
)

// ValidateUSCC checks s is a unified social credit code of GB 32100: 18
// characters from 0-9 and A-Y without I, O, Z, S, V (uppercase only),
// characters 3–8 the registering authority's region code (digits), and the
// 18th the MOD 31 check character. The message never repeats s.
func ValidateUSCC(s string) error {
	if n := utf8.RuneCountInString(s); n != 18 {
		return fmt.Errorf("must be 18 characters, got %d", n)
	}
	for i := 0; i < 18; i++ {
		c := s[i]
		if usccValue[c] >= 0 {
			continue
		}
		if c >= 'a' && c <= 'z' {
			return fmt.Errorf("character %d is lowercase; use uppercase letters", i+1)
		}
		return fmt.Errorf("character %d must be a digit or a capital letter other than I, O, Z, S, V", i+1)
	}
	for i := 2; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return errors.New("characters 3–8 must be a region code (digits)")
		}
	}
	if s[17] != usccCheck(s[:17]) {
		return errors.New("check character does not match the first 17 characters (GB 32100); the code is mistyped")
	}
	return nil
}

// usccCheck computes the check character of 17 characters of usccCharset.
func usccCheck(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(usccValue[first17[i]]) * usccWeights[i]
	}
	c := 31 - sum%31
	if c == 31 {
		c = 0
	}
	return usccCharset[c]
}

// USCCWithCheck returns first17 followed by its GB 32100 check character. It
// is for tests and the load generator; it panics unless first17 is 17
// characters of the code's character set.
func USCCWithCheck(first17 string) string {
	if len(first17) != 17 {
		panic("policies.USCCWithCheck: want 17 characters")
	}
	for i := 0; i < 17; i++ {
		if usccValue[first17[i]] < 0 {
			panic("policies.USCCWithCheck: character outside 0-9A-Y without I, O, Z, S, V")
		}
	}
	return first17 + string(usccCheck(first17))
}

// ValidateID checks s against the format of idType (IDTypeResidentID or
// IDTypeUSCC); any other idType is an error.
func ValidateID(idType, s string) error {
	switch idType {
	case IDTypeResidentID:
		return ValidateResidentID(s)
	case IDTypeUSCC:
		return ValidateUSCC(s)
	}
	return fmt.Errorf("unknown id_type %q; must be %s or %s", idType, IDTypeResidentID, IDTypeUSCC)
}

// DetectIDType returns the type of an id given without id_type (DESIGN §4),
// or "" when s is neither kind. A string shaped like a resident ID (see
// LooksLikeResidentID) is a resident ID and is checked by GB 11643 only:
// were it also tried as a credit code, about one mistyped resident ID in 31
// would pass GB 32100's unrelated mod-31 check and be taken for a firm
// (411323200008135820, a resident ID with a wrong check digit, is a valid
// code). Anything else is a credit code if GB 32100 says so. A credit code
// of digits only whose characters 7–14 happen to form a date therefore needs
// id_type uscc, and a claim, which has no id_type, cannot name one. In
// Nanyang that is rare: characters 7–8 end the region code (02, 03, 21–30 or
// 81 for its counties), and the only birth year 1900–2100 they can begin is
// 2100 (南召县 411321 followed by "00").
func DetectIDType(s string) string {
	if LooksLikeResidentID(s) {
		if ValidateResidentID(s) == nil {
			return IDTypeResidentID
		}
		return ""
	}
	if ValidateUSCC(s) == nil {
		return IDTypeUSCC
	}
	return ""
}

// LooksLikeResidentID reports whether s has the shape of a resident ID,
// valid or mistyped: 18 characters, 17 digits then a digit or X (either
// case), characters 7–14 a real birth date. Its check character is not
// looked at.
func LooksLikeResidentID(s string) bool {
	if len(s) != 18 {
		return false
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	if last := s[17]; !(last >= '0' && last <= '9' || last == 'X' || last == 'x') {
		return false
	}
	return residentIDBirthDate(s[6:14]) == nil
}

// MaskID hides the middle of an id for exports and logs: the first 6 and last
// 4 characters stay and the rest become asterisks ("411325********1234").
// Strings shorter than 14 characters, which would show too much, are masked
// entirely.
func MaskID(s string) string { return mask.ID(s) }

// Counties are the 13 county-level divisions of Nanyang (GB/T 2260) that the
// registry accepts as county_code, with their names.
var Counties = map[string]string{
	"411302": "宛城区",
	"411303": "卧龙区",
	"411321": "南召县",
	"411322": "方城县",
	"411323": "西峡县",
	"411324": "镇平县",
	"411325": "内乡县",
	"411326": "淅川县",
	"411327": "社旗县",
	"411328": "唐河县",
	"411329": "新野县",
	"411330": "桐柏县",
	"411381": "邓州市",
}

// CountyName returns the name of a Nanyang county code and whether the code
// is one of Counties.
func CountyName(code string) (string, bool) {
	name, ok := Counties[code]
	return name, ok
}

package policies

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidateResidentID(t *testing.T) {
	cases := []struct {
		name    string
		id      string
		wantErr string // "" = valid; else a substring of the message
	}{
		{"GB 11643 example with an X check character", "11010519491231002X", ""},
		{"synthetic Neixiang resident", ResidentIDWithCheck("41132519850615001"), ""},
		{"born on a leap day", ResidentIDWithCheck("41130220000229001"), ""},
		{"born on 1900-01-01, the lower bound", ResidentIDWithCheck("41130219000101001"), ""},
		{"lowercase x is refused with a hint", "11010519491231002x", "use uppercase X"},
		{"check digit off by one", "110105194912310021", "check character does not match"},
		{"two adjacent digits swapped", "11010519491231020X", "check character does not match"},
		{"February 30 is not a date", ResidentIDWithCheck("41132519900230001"), "real birth date"},
		{"1900 was not a leap year", ResidentIDWithCheck("41132519000229001"), "real birth date"},
		{"month 13", ResidentIDWithCheck("41132519901301001"), "real birth date"},
		{"day 00", ResidentIDWithCheck("41132519900100001"), "real birth date"},
		{"GB 11643's 1880 example is outside the year range", "440524188001010014", "birth year 1880"},
		{"born after 2100", ResidentIDWithCheck("41132521010101001"), "birth year 2101"},
		{"17 characters", "11010519491231002", "must be 18 characters, got 17"},
		{"19 characters", "11010519491231002X1", "must be 18 characters, got 19"},
		{"empty", "", "must be 18 characters, got 0"},
		{"old 15-digit id", "110105491231002", "must be 18 characters, got 15"},
		{"letter among the first 17", "1101051949123100AX", "character 17 must be a digit"},
		{"full-width digit", "１10105194912310021", "character 1 must be a digit"},
		{"check character neither digit nor X", "11010519491231002Y", "digit or X"},
		{"surrounding space", " 11010519491231002X", "must be 18 characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateResidentID(tc.id)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.wantErr)
			if len(tc.id) > 6 {
				require.NotContains(t, err.Error(), tc.id, "messages must not repeat the id")
			}
		})
	}
}

// MOD 11-2 detects every single-character error: no change of one character
// of a valid id may leave it valid.
func TestValidateResidentIDRejectsEverySingleSubstitution(t *testing.T) {
	valid := ResidentIDWithCheck("41132519850615001")
	require.NoError(t, ValidateResidentID(valid))
	for i := 0; i < 18; i++ {
		for _, c := range "0123456789X" {
			if byte(c) == valid[i] {
				continue
			}
			changed := valid[:i] + string(c) + valid[i+1:]
			require.Error(t, ValidateResidentID(changed), "position %d changed to %c", i+1, c)
		}
	}
}

func TestResidentIDWithCheck(t *testing.T) {
	require.Equal(t, "11010519491231002X", ResidentIDWithCheck("11010519491231002"))
	require.Equal(t, "440524188001010014", ResidentIDWithCheck("44052418800101001"))
	require.Panics(t, func() { ResidentIDWithCheck("1101051949123100") }, "16 digits")
	require.Panics(t, func() { ResidentIDWithCheck("1101051949123100A") }, "a letter")
}

func TestValidateUSCC(t *testing.T) {
	cases := []struct {
		name    string
		code    string
		wantErr string
	}{
		{"GB 32100 example", "91350100M000100Y43", ""},
		{"synthetic Nanyang cooperative", USCCWithCheck("93411325MA9ABCDE1"), ""},
		{"synthetic firm whose check is a letter", usccWithCheckChar(t, 'Y'), ""},
		{"check value 31 becomes 0", usccWithCheckChar(t, '0'), ""},
		{"bad check character", "91350100M000100Y44", "check character does not match"},
		{"two adjacent characters swapped", "91350100M00010Y043", "check character does not match"},
		{"lowercase letter", "91350100m000100Y43", "character 9 is lowercase"},
		{"letter I is not in the charset", "91350100I000100Y43", "other than I, O, Z, S, V"},
		{"letter O is not in the charset", "91350100O000100Y43", "other than I, O, Z, S, V"},
		{"letter Z is not in the charset", "91350100M000100Z43", "other than I, O, Z, S, V"},
		{"letter S is not in the charset", "S1350100M000100Y43", "other than I, O, Z, S, V"},
		{"letter V is not in the charset", "91350100M000100V43", "other than I, O, Z, S, V"},
		{"region code with a letter", USCCWithCheck("9135A100M000100Y4"), "characters 3–8 must be a region code"},
		{"17 characters", "91350100M000100Y4", "must be 18 characters, got 17"},
		{"empty", "", "must be 18 characters, got 0"},
		{"hyphenated", "91350100-M000100Y4", "character 9 must be a digit or a capital letter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateUSCC(tc.code)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

// usccWithCheckChar finds a synthetic valid code whose check character is want.
func usccWithCheckChar(t *testing.T, want byte) string {
	t.Helper()
	for i := 0; i < 100000; i++ {
		first17 := fmt.Sprintf("93411325MA%07d", i)
		if code := USCCWithCheck(first17); code[17] == want {
			return code
		}
	}
	t.Fatalf("no code with check character %c", want)
	return ""
}

// The weights 3^i mod 31 are all non-zero modulo the prime 31, so every
// single-character error changes the check.
func TestValidateUSCCRejectsEverySingleSubstitution(t *testing.T) {
	valid := "91350100M000100Y43"
	for i := 0; i < 18; i++ {
		for j := 0; j < len(usccCharset); j++ {
			c := usccCharset[j]
			if c == valid[i] {
				continue
			}
			changed := valid[:i] + string(c) + valid[i+1:]
			require.Error(t, ValidateUSCC(changed), "position %d changed to %c", i+1, c)
		}
	}
}

func TestUSCCWithCheckPanicsOnBadInput(t *testing.T) {
	require.Equal(t, "91350100M000100Y43", USCCWithCheck("91350100M000100Y4"))
	require.Panics(t, func() { USCCWithCheck("91350100M000100Y") })
	require.Panics(t, func() { USCCWithCheck("91350100I000100Y4") })
}

func TestValidateIDAndDetectIDType(t *testing.T) {
	resident := ResidentIDWithCheck("41132519850615001")
	firm := "91350100M000100Y43"
	cases := []struct {
		name       string
		idType, id string
		wantValid  bool
		wantDetect string
	}{
		{"resident id as resident_id", IDTypeResidentID, resident, true, IDTypeResidentID},
		{"uscc as uscc", IDTypeUSCC, firm, true, IDTypeUSCC},
		{"uscc declared as resident_id", IDTypeResidentID, firm, false, IDTypeUSCC},
		{"resident id declared as uscc", IDTypeUSCC, resident, false, IDTypeResidentID},
		{"unknown id type", "passport", resident, false, IDTypeResidentID},
		{"neither", IDTypeResidentID, "123", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateID(tc.idType, tc.id)
			if tc.wantValid {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
			require.Equal(t, tc.wantDetect, DetectIDType(tc.id))
		})
	}
}

func TestMaskID(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"resident id", "411325198506150012", "411325********0012"},
		{"uscc", "91350100M000100Y43", "913501********0Y43"},
		{"15-digit legacy id", "411325850615001", "411325*****5001"},
		{"too short to show anything", "4113251985061", "*************"},
		{"empty", "", ""},
		{"runes are masked whole", "四一一三二五一九八五零六一五零零一二", "四一一三二五********零零一二"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, MaskID(tc.in))
		})
	}
}

func TestCounties(t *testing.T) {
	require.Len(t, Counties, 13)
	name, ok := CountyName("411325")
	require.True(t, ok)
	require.Equal(t, "内乡县", name)
	name, ok = CountyName("411381")
	require.True(t, ok)
	require.Equal(t, "邓州市", name)
	_, ok = CountyName("411300") // Nanyang city itself is not a county
	require.False(t, ok)
	for code := range Counties {
		require.True(t, strings.HasPrefix(code, "4113"), code)
	}
}

// TestDetectIDTypeNeverTakesAMistypedResidentIDForACreditCode: every wrong
// check character of many resident IDs is refused, although about one in 31
// of them passes GB 32100's check (DESIGN §4).
func TestDetectIDTypeNeverTakesAMistypedResidentIDForACreditCode(t *testing.T) {
	const example = "411323200008135820" // from a field report: a mistyped resident ID
	require.Error(t, ValidateResidentID(example))
	require.NoError(t, ValidateUSCC(example), "the premise: it is a valid credit code")
	require.Empty(t, DetectIDType(example))
	require.Error(t, ValidateID(IDTypeResidentID, example))
	require.NoError(t, ValidateID(IDTypeUSCC, example), "declared a credit code, it is one")

	passedAsUSCC := 0
	for n := 0; n < 2000; n++ {
		first17 := fmt.Sprintf("4113%02d%s%03d", 21+n%10, fmt.Sprintf("19%02d%02d%02d", 50+n%50, 1+n%12, 1+n%28), n%1000)
		valid := ResidentIDWithCheck(first17)
		require.Equal(t, IDTypeResidentID, DetectIDType(valid))
		for _, c := range residentIDChecks {
			mistyped := first17 + string(c)
			if mistyped == valid {
				continue
			}
			require.True(t, LooksLikeResidentID(mistyped))
			require.Empty(t, DetectIDType(mistyped), "%s has a wrong check character", mistyped)
			if ValidateUSCC(mistyped) == nil {
				passedAsUSCC++
			}
		}
	}
	require.Greater(t, passedAsUSCC, 300, "the test must include mistyped ids that pass as credit codes (about 20000/31)")
}

func TestDetectIDTypeOfCreditCodes(t *testing.T) {
	// A credit code of digits only whose characters 7–14 are a date looks
	// like a resident ID: only id_type uscc makes it one.
	var dated string
	for n := 0; n < 1000 && dated == ""; n++ {
		if c := USCCWithCheck(fmt.Sprintf("93411321000101%03d", n)); c[17] >= '0' && c[17] <= '9' && ValidateResidentID(c) != nil {
			dated = c
		}
	}
	require.NotEmpty(t, dated)
	require.True(t, LooksLikeResidentID(dated), "characters 7–14 of %s are 2100-01-01", dated)
	require.Empty(t, DetectIDType(dated))
	require.NoError(t, ValidateID(IDTypeUSCC, dated))

	cases := []struct{ name, id, want string }{
		{"a code with letters", "91350100M000100Y43", IDTypeUSCC},
		{"a cooperative of Neixiang", USCCWithCheck("93411325MA0000001"), IDTypeUSCC},
		{"digits only, no date in characters 7–14", USCCWithCheck("93411325000000001"), IDTypeUSCC},
		{"a lowercase x is a resident ID's, mistyped", strings.ToLower(ResidentIDWithCheck("11010519491231002")), ""},
		{"17 digits and a letter other than X is no resident ID", "41132519850615001I", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, DetectIDType(tc.id))
		})
	}
}

package policies

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/apperr"
	"huimin/internal/civil"
)

// benPerson is a valid resident of 内乡县 with one category and residency.
func benPerson() Beneficiary {
	return Beneficiary{
		IDNumber:      ResidentIDWithCheck("41132519850615001"),
		IDType:        IDTypeResidentID,
		Name:          "张三",
		CountyCode:    "411325",
		HouseholdID:   "NX-0001",
		PayoutAccount: "6222021234567890123",
		Residency:     []Grant{{Value: "hukou", ValidFrom: "2020-01-01"}},
		Categories:    []Grant{{Value: "illness_poverty", ValidFrom: "2026-01-01", ValidTo: "2026-12-31"}},
	}
}

// benFieldPaths lists the field paths of fs in order.
func benFieldPaths(fs apperr.Fields) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Field)
	}
	return out
}

func TestBeneficiaryValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(b *Beneficiary)
		want   []string // the invalid field paths, in order
	}{
		{"valid resident", func(b *Beneficiary) {}, nil},
		{"valid cooperative identified by USCC", func(b *Beneficiary) {
			b.IDNumber, b.IDType, b.Name = "91350100M000100Y43", IDTypeUSCC, "内乡县月季种植专业合作社"
			b.Categories = []Grant{{Value: "agri_operator", ValidFrom: "2026-01-01"}}
			b.Residency = nil
		}, nil},
		{"optional household and account may be empty", func(b *Beneficiary) { b.HouseholdID, b.PayoutAccount = "", "" }, nil},
		{"residency alone suffices", func(b *Beneficiary) { b.Categories = nil }, nil},
		{"name of a minority person with a middle dot", func(b *Beneficiary) { b.Name = "买买提·艾力" }, nil},
		{"name of exactly 64 characters", func(b *Beneficiary) { b.Name = strings.Repeat("张", 64) }, nil},
		{"household id of exactly 40 characters", func(b *Beneficiary) { b.HouseholdID = strings.Repeat("a", 40) }, nil},
		{"period of one day", func(b *Beneficiary) { b.Categories[0].ValidTo = b.Categories[0].ValidFrom }, nil},

		{"missing id number", func(b *Beneficiary) { b.IDNumber = "" }, []string{"id_number"}},
		{"bad check digit", func(b *Beneficiary) { b.IDNumber = "110105194912310021" }, []string{"id_number"}},
		{"resident id declared as uscc", func(b *Beneficiary) { b.IDType = IDTypeUSCC }, []string{"id_number"}},
		{"unknown id type with a valid id", func(b *Beneficiary) { b.IDType = "passport" }, []string{"id_type"}},
		{"unknown id type and an invalid id", func(b *Beneficiary) { b.IDType, b.IDNumber = "passport", "123" }, []string{"id_type", "id_number"}},
		{"empty id type", func(b *Beneficiary) { b.IDType = "" }, []string{"id_type"}},
		{"empty id type and an undetectable id", func(b *Beneficiary) { b.IDType, b.IDNumber = "", "11010519491231002x" }, []string{"id_number"}},
		{"missing name", func(b *Beneficiary) { b.Name = "" }, []string{"name"}},
		{"name of 65 characters", func(b *Beneficiary) { b.Name = strings.Repeat("张", 65) }, []string{"name"}},
		{"name with a line break", func(b *Beneficiary) { b.Name = "张\n三" }, []string{"name"}},
		{"name with a tab", func(b *Beneficiary) { b.Name = "张\t三" }, []string{"name"}},
		{"name padded with spaces", func(b *Beneficiary) { b.Name = " 张三" }, []string{"name"}},
		{"name that is not UTF-8", func(b *Beneficiary) { b.Name = "\xd5\xc5\xc8\xfd" }, []string{"name"}},
		{"county outside Nanyang", func(b *Beneficiary) { b.CountyCode = "410102" }, []string{"county_code"}},
		{"missing county", func(b *Beneficiary) { b.CountyCode = "" }, []string{"county_code"}},
		{"household id with a space", func(b *Beneficiary) { b.HouseholdID = "NX 0001" }, []string{"household_id"}},
		{"household id of 41 characters", func(b *Beneficiary) { b.HouseholdID = strings.Repeat("a", 41) }, []string{"household_id"}},
		{"payout account with spaces", func(b *Beneficiary) { b.PayoutAccount = "6222 0212 3456" }, []string{"payout_account"}},
		{"payout account of 7 digits", func(b *Beneficiary) { b.PayoutAccount = "1234567" }, []string{"payout_account"}},
		{"payout account of 33 digits", func(b *Beneficiary) { b.PayoutAccount = strings.Repeat("1", 33) }, []string{"payout_account"}},
		{"places of exactly their limits", func(b *Beneficiary) {
			b.Township, b.Village, b.BankName = strings.Repeat("镇", 64), strings.Repeat("村", 64), strings.Repeat("行", 128)
		}, nil},
		{"places one character over", func(b *Beneficiary) {
			b.Township, b.Village, b.BankName = strings.Repeat("镇", 65), strings.Repeat("村", 65), strings.Repeat("行", 129)
		}, []string{"township", "village", "bank_name"}},
		{"a township with a line break", func(b *Beneficiary) { b.Township = "赤眉\n镇" }, []string{"township"}},
		{"a village of spaces", func(b *Beneficiary) { b.Village = "  " }, []string{"village"}},
		{"a bank name padded with a space", func(b *Beneficiary) { b.BankName = "农业银行 " }, []string{"bank_name"}},
		{"a bank name that is not UTF-8", func(b *Beneficiary) { b.BankName = "\xd5\xc5" }, []string{"bank_name"}},
		{"no category and no residency", func(b *Beneficiary) { b.Categories, b.Residency = nil, nil }, []string{"categories"}},
		{"unknown second category", func(b *Beneficiary) {
			b.Categories = append(b.Categories, Grant{Value: "veteran", ValidFrom: "2026-01-01"})
		}, []string{"categories[1].category"}},
		{"category period ending before it starts", func(b *Beneficiary) { b.Categories[0].ValidTo = "2025-12-31" }, []string{"categories[0].valid_to"}},
		{"category without a start", func(b *Beneficiary) { b.Categories[0].ValidFrom = "" }, []string{"categories[0].valid_from"}},
		{"residency start that is not a date", func(b *Beneficiary) { b.Residency[0].ValidFrom = "2026-02-30" }, []string{"residency[0].valid_from"}},
		{"residency end in the wrong format", func(b *Beneficiary) { b.Residency[0].ValidTo = "2026/12/31" }, []string{"residency[0].valid_to"}},
		{"residency type missing", func(b *Beneficiary) { b.Residency[0].Value = "" }, []string{"residency[0].type"}},
		{"category given as a residency type", func(b *Beneficiary) { b.Residency[0].Value = "illness_poverty" }, []string{"residency[0].type"}},
		{"every error is named at once", func(b *Beneficiary) {
			b.Name, b.CountyCode, b.PayoutAccount = "", "000000", "x"
			b.Categories[0].Value = "?"
			b.Residency[0].ValidTo = "2019-12-31"
		}, []string{"name", "county_code", "payout_account", "categories[0].category", "residency[0].valid_to"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := benPerson()
			tc.change(&b)
			fs := b.Validate()
			require.Equal(t, tc.want, benFieldPaths(fs), "%v", fs)
			for _, f := range fs {
				require.NotEmpty(t, f.Message)
				require.NotContains(t, f.Message, "6222021234567890123", "messages must not repeat the account")
			}
		})
	}
}

func TestBeneficiaryValidateMessages(t *testing.T) {
	b := benPerson()
	b.IDNumber = "11010519491231002x"
	b.Categories[0].Value = "veteran"
	fs := b.Validate()
	require.Len(t, fs, 2)
	require.Contains(t, fs[0].Message, "use uppercase X")
	require.Contains(t, fs[1].Message, `unknown category "veteran"`)
	require.Contains(t, fs[1].Message, "illness_poverty")
}

func TestBeneficiaryCapHousehold(t *testing.T) {
	b := benPerson()
	require.Equal(t, "NX-0001", b.CapHousehold())
	b.HouseholdID = ""
	require.Equal(t, "self:"+b.IDNumber, b.CapHousehold(), "a person without a household is their own household")
}

func TestBeneficiaryCategoriesAndResidencyOn(t *testing.T) {
	b := Beneficiary{
		Categories: []Grant{
			{Value: "unstable_out_of_poverty", ValidFrom: "2025-01-01", ValidTo: "2026-06-30"},
			{Value: "illness_poverty", ValidFrom: "2026-03-01"},
			{Value: "unstable_out_of_poverty", ValidFrom: "2026-06-01", ValidTo: "2026-12-31"},
			{Value: "marginal_at_risk", ValidFrom: "2027-01-01"},
		},
		Residency: []Grant{
			{Value: "residence_permit", ValidFrom: "2024-01-01", ValidTo: "2025-12-31"},
			{Value: "hukou", ValidFrom: "2026-01-01"},
		},
	}
	cases := []struct {
		name          string
		day           civil.Date
		wantCats      []string
		wantResidency []string
	}{
		{"before everything", "2023-12-31", nil, nil},
		{"first day of the first period", "2025-01-01", []string{"unstable_out_of_poverty"}, []string{"residence_permit"}},
		{"last day of a period is inclusive", "2025-12-31", []string{"unstable_out_of_poverty"}, []string{"residence_permit"}},
		{"overlapping periods of one category give it once, sorted", "2026-06-15", []string{"illness_poverty", "unstable_out_of_poverty"}, []string{"hukou"}},
		{"open-ended periods last", "2030-01-01", []string{"illness_poverty", "marginal_at_risk"}, []string{"hukou"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.wantCats, b.CategoriesOn(tc.day))
			require.Equal(t, tc.wantResidency, b.ResidencyOn(tc.day))
		})
	}
}

func TestBeneficiaryBodyToBeneficiary(t *testing.T) {
	id := ResidentIDWithCheck("41132519850615001")
	cases := []struct {
		name       string
		json       string
		wantFields []string
		check      func(t *testing.T, b Beneficiary)
	}{
		{
			name: "full body",
			json: `{"id_type":"resident_id","name":"张三","county_code":"411325","household_id":"NX-0001","payout_account":"6222021234567890123",
				"residency":[{"type":"hukou","valid_from":"2020-01-01","valid_to":null}],
				"categories":[{"category":"illness_poverty","valid_from":"2026-01-01","valid_to":"2026-12-31"}]}`,
			check: func(t *testing.T, b Beneficiary) {
				require.Equal(t, benPerson(), b)
			},
		},
		{
			name: "id type is detected when omitted and valid_to may be absent",
			json: `{"name":"李四","county_code":"411302","categories":[{"category":"rural_destitute","valid_from":"2026-01-01"}]}`,
			check: func(t *testing.T, b Beneficiary) {
				require.Equal(t, IDTypeResidentID, b.IDType)
				require.Equal(t, []Grant{{Value: "rural_destitute", ValidFrom: "2026-01-01"}}, b.Categories)
				require.Nil(t, b.Residency)
			},
		},
		{
			name:       "empty valid_to is neither a date nor null",
			json:       `{"name":"李四","county_code":"411302","categories":[{"category":"rural_destitute","valid_from":"2026-01-01","valid_to":""}]}`,
			wantFields: []string{"categories[0].valid_to"},
		},
		{
			name: "bad dates are named by their path",
			json: `{"name":"李四","county_code":"411302","residency":[{"type":"hukou","valid_from":"2026-01-01"},{"type":"labour_contract","valid_from":"01/02/2026","valid_to":"2026-13-01"}],
				"categories":[{"category":"rural_destitute","valid_from":"2026-1-1"}]}`,
			wantFields: []string{"categories[0].valid_from", "residency[1].valid_from", "residency[1].valid_to"},
		},
		{
			name:       "nothing granted",
			json:       `{"name":"李四","county_code":"411302","residency":[],"categories":[]}`,
			wantFields: []string{"categories"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body BeneficiaryBody
			require.NoError(t, json.Unmarshal([]byte(tc.json), &body))
			b, fs := body.ToBeneficiary(id)
			require.Equal(t, tc.wantFields, benFieldPaths(fs), "%v", fs)
			if tc.check != nil {
				tc.check(t, b)
			}
		})
	}
}

func TestBeneficiaryToBeneficiaryUndetectableID(t *testing.T) {
	body := BeneficiaryBody{Name: "王五", CountyCode: "411325", Categories: []CategoryBody{{Category: "illness_poverty", ValidFrom: "2026-01-01"}}}
	_, fs := body.ToBeneficiary("110105194912310021")
	require.Equal(t, []string{"id_number"}, benFieldPaths(fs), "an undetectable id is one error on id_number, not also id_type")
	require.Contains(t, fs[0].Message, "resident ID")
}

func TestBeneficiaryView(t *testing.T) {
	b := benPerson()
	b.Township, b.Village, b.BankName = "赤眉镇", "桃园村", "中国农业银行内乡县支行"
	full, err := json.Marshal(b.View(true))
	require.NoError(t, err)
	require.JSONEq(t, `{
		"id_number":"`+b.IDNumber+`","id_type":"resident_id","name":"张三",
		"county_code":"411325","county_name":"内乡县",
		"household_id":"NX-0001","payout_account":"6222021234567890123",
		"township":"赤眉镇","village":"桃园村","bank_name":"中国农业银行内乡县支行",
		"residency":[{"type":"hukou","valid_from":"2020-01-01","valid_to":null}],
		"categories":[{"category":"illness_poverty","valid_from":"2026-01-01","valid_to":"2026-12-31"}]}`, string(full))

	limited, err := json.Marshal(b.View(false))
	require.NoError(t, err)
	require.JSONEq(t, `{
		"id_number":"`+b.IDNumber+`","county_code":"411325","county_name":"内乡县",
		"residency":[{"type":"hukou","valid_from":"2020-01-01","valid_to":null}],
		"categories":[{"category":"illness_poverty","valid_from":"2026-01-01","valid_to":"2026-12-31"}]}`, string(limited))
	for _, s := range []string{"张三", "6222021234567890123", "赤眉镇", "桃园村", "支行"} {
		require.NotContains(t, string(limited), s)
	}
	require.False(t, b.View(false).Full())

	b.HouseholdID, b.PayoutAccount, b.Residency, b.Categories = "", "", nil, nil
	b.Township, b.Village, b.BankName = "", "", ""
	bare, err := json.Marshal(b.View(true))
	require.NoError(t, err)
	require.JSONEq(t, `{
		"id_number":"`+b.IDNumber+`","id_type":"resident_id","name":"张三",
		"county_code":"411325","county_name":"内乡县",
		"household_id":null,"payout_account":null,"township":null,"village":null,"bank_name":null,
		"residency":[],"categories":[]}`, string(bare),
		"absent values are null and empty lists are [], not omitted")
}

// The fast date check must agree with civil.Parse, the authority.
func TestBeneficiaryDateErrorAgreesWithCivilParse(t *testing.T) {
	var inputs []string
	for d := time.Date(1899, 12, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2202; d = d.AddDate(0, 0, 1) {
		inputs = append(inputs, d.Format("2006-01-02"))
	}
	for y := 1899; y <= 2201; y += 101 {
		for m := 0; m <= 13; m++ {
			for day := 0; day <= 32; day++ {
				inputs = append(inputs, fmt.Sprintf("%04d-%02d-%02d", y, m, day))
			}
		}
	}
	inputs = append(inputs, "", "2026-1-01", "2026-01-1", "2026/01/01", "20260101", "2026-01-01 ", "２026-01-01", "2026-0a-01", "+026-01-01", "0000-00-00")
	for _, s := range inputs {
		_, want := civil.Parse(s)
		got := beneficiaryDateError(civil.Date(s))
		require.Equal(t, want == nil, got == nil, "%q: civil.Parse says %v, fast check says %v", s, want, got)
	}
}

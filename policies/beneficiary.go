package policies

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"huimin/internal/apperr"
	"huimin/internal/civil"
	"huimin/internal/web"
)

// Grant is one validity period of a category or a residency type held by a
// beneficiary (DESIGN §4). ValidTo is inclusive; empty means open-ended.
type Grant struct {
	Value     string
	ValidFrom civil.Date
	ValidTo   civil.Date
}

// On reports whether the grant is valid on day d.
func (g Grant) On(d civil.Date) bool { return d.Within(g.ValidFrom, g.ValidTo) }

// Beneficiary is one entry of the registry (建档立卡 data): a person
// identified by a resident ID, or a cooperative or firm (CYB) identified by
// a unified social credit code.
type Beneficiary struct {
	IDNumber      string
	IDType        string // IDTypeResidentID or IDTypeUSCC
	Name          string
	CountyCode    string  // one of Counties
	HouseholdID   string  // optional; the cap subject of household caps
	PayoutAccount string  // optional bank card or 一卡通 number; needed to disburse
	Township      string  // optional 乡镇, as the rosters print it
	Village       string  // optional 村
	BankName      string  // optional 开户行, the bank that holds PayoutAccount
	Residency     []Grant // Value is one of ResidencyTypes
	Categories    []Grant // Value is one of Categories
}

// Limits of the registry's free-text and code fields.
const (
	beneficiaryNameMaxRunes = 64
	householdIDMaxLen       = 40
	payoutAccountMinDigits  = 8
	payoutAccountMaxDigits  = 32
	// The place fields of DESIGN §4, in characters (their VARCHAR columns,
	// migration 00004, and docs/openapi.yaml's maxLength). The longest
	// township and village names run to a dozen characters; a branch name
	// (中国农业银行股份有限公司南阳内乡县支行) to about twenty.
	TownshipMaxRunes = 64
	VillageMaxRunes  = 64
	BankNameMaxRunes = 128
)

// Validate checks every field and names each bad one by its path in the JSON
// body of PUT /api/v1/beneficiaries/{id_number}: id_number, id_type, name,
// county_code, household_id, payout_account, township, village, bank_name,
// categories[i].category,
// categories[i].valid_from, categories[i].valid_to, residency[i].type, ... A
// beneficiary needs at least one category or residency period.
func (b Beneficiary) Validate() apperr.Fields {
	var f apperr.Fields
	validateBeneficiaryPerson(&f, b)
	if len(b.Categories)+len(b.Residency) == 0 {
		f.Add("categories", "at least one category or residency period is required")
	}
	for i, g := range b.Categories {
		validateBeneficiaryGrant(&f, beneficiaryGrantPath{"categories", i, "category"}, g, Categories, "category")
	}
	for i, g := range b.Residency {
		validateBeneficiaryGrant(&f, beneficiaryGrantPath{"residency", i, "type"}, g, ResidencyTypes, "residency type")
	}
	return f
}

// validateBeneficiaryPerson checks the fields that describe the beneficiary
// rather than a period. The JSON body and the CSV import name them alike.
func validateBeneficiaryPerson(f *apperr.Fields, b Beneficiary) {
	switch b.IDType {
	case IDTypeResidentID, IDTypeUSCC:
		if b.IDNumber == "" {
			f.Add("id_number", "required")
		} else if err := ValidateID(b.IDType, b.IDNumber); err != nil {
			f.Add("id_number", "not a valid %s: %v", idTypeLabel(b.IDType), err)
		}
	default:
		if b.IDType != "" {
			f.Add("id_type", "must be %s", strings.Join(IDTypes, " or "))
		}
		switch {
		case b.IDNumber == "":
			f.Add("id_number", "required")
		case DetectIDType(b.IDNumber) == "":
			f.Add("id_number", "%s", undetectableIDMessage(b.IDNumber))
		case b.IDType == "":
			f.Add("id_type", "required")
		}
	}
	if msg := beneficiaryNameProblem(b.Name); msg != "" {
		f.Add("name", "%s", msg)
	}
	if b.CountyCode == "" {
		f.Add("county_code", "required")
	} else if _, ok := Counties[b.CountyCode]; !ok {
		f.Add("county_code", "must be one of the 13 Nanyang county codes of GB/T 2260 (411302 宛城区 … 411381 邓州市)")
	}
	if msg := householdIDProblem(b.HouseholdID); msg != "" {
		f.Add("household_id", "%s", msg)
	}
	if msg := payoutAccountProblem(b.PayoutAccount); msg != "" {
		f.Add("payout_account", "%s", msg)
	}
	for _, p := range [...]struct {
		field, value string
		max          int
	}{{"township", b.Township, TownshipMaxRunes}, {"village", b.Village, VillageMaxRunes}, {"bank_name", b.BankName, BankNameMaxRunes}} {
		if msg := optionalTextProblem(p.value, p.max); msg != "" {
			f.Add(p.field, "%s", msg)
		}
	}
}

// idTypeLabel names an id type in messages.
func idTypeLabel(idType string) string {
	if idType == IDTypeUSCC {
		return "unified social credit code (GB 32100)"
	}
	return "resident ID (GB 11643)"
}

// undetectableIDMessage explains why s is neither kind of id, choosing the
// kind it most looks like: 17 leading digits suggest a mistyped resident ID.
func undetectableIDMessage(s string) string {
	looksResident := len(s) == 18
	for i := 0; looksResident && i < 17; i++ {
		looksResident = s[i] >= '0' && s[i] <= '9'
	}
	if looksResident {
		msg := fmt.Sprintf("not a valid resident ID (GB 11643): %v", ValidateResidentID(s))
		if LooksLikeResidentID(s) && ValidateUSCC(s) == nil {
			// DetectIDType never takes it for a credit code (DESIGN §4).
			msg += "; if it is a unified social credit code of digits only, give id_type uscc"
		}
		return msg
	}
	if utf8.RuneCountInString(s) == 18 {
		return fmt.Sprintf("not a valid unified social credit code (GB 32100): %v", ValidateUSCC(s))
	}
	return fmt.Sprintf("must be an 18-character resident ID or unified social credit code, got %d characters", utf8.RuneCountInString(s))
}

// beneficiaryNameProblem says what is wrong with a name, or "".
func beneficiaryNameProblem(s string) string {
	if strings.TrimSpace(s) == "" && utf8.ValidString(s) && strings.IndexFunc(s, web.BadRune) < 0 {
		return "required" // a name of spaces only is missing (DESIGN §10)
	}
	return optionalTextProblem(s, beneficiaryNameMaxRunes)
}

// optionalTextProblem says what is wrong with an optional one-line text of
// at most max characters (township, village, bank_name), or "". Empty means
// absent. The rules are the name's (DESIGN §10): valid UTF-8, no control
// characters, no surrounding spaces; a text of spaces only is refused rather
// than taken as absent, since a client that sent it meant something.
func optionalTextProblem(s string, max int) string {
	if s == "" {
		return ""
	}
	if !utf8.ValidString(s) {
		return "must be valid UTF-8 text"
	}
	n := 0
	for _, r := range s {
		if web.BadRune(r) {
			return "must not contain control characters such as tabs or line breaks"
		}
		n++
	}
	if n > max {
		return fmt.Sprintf("must be at most %d characters, got %d", max, n)
	}
	if strings.TrimSpace(s) != s {
		return "must not begin or end with spaces"
	}
	return ""
}

// householdIDProblem says what is wrong with an optional household id, or "".
func householdIDProblem(s string) string {
	if len(s) > householdIDMaxLen {
		return fmt.Sprintf("must be at most %d characters", householdIDMaxLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "may contain only letters A-Z a-z, digits, _ and -"
		}
	}
	return ""
}

// payoutAccountProblem says what is wrong with an optional payout account,
// or "". Bank card and 一卡通 numbers are digits only; the message never
// repeats the number.
func payoutAccountProblem(s string) string {
	if s == "" {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "must contain digits only (no spaces or dashes)"
		}
	}
	if len(s) < payoutAccountMinDigits || len(s) > payoutAccountMaxDigits {
		return fmt.Sprintf("must be %d to %d digits, got %d", payoutAccountMinDigits, payoutAccountMaxDigits, len(s))
	}
	return ""
}

// beneficiaryGrantPath names the fields of one period: categories[1].valid_to in the
// JSON body (list "categories", index 1), or the bare CSV column (list "").
// Paths are built only for errors, which keeps a large import fast.
type beneficiaryGrantPath struct {
	list      string
	index     int
	valueName string // "category", "type", or "value" in the CSV
}

func (p beneficiaryGrantPath) field(name string) string {
	if p.list == "" {
		return name
	}
	return fmt.Sprintf("%s[%d].%s", p.list, p.index, name)
}

// validateBeneficiaryGrant checks one period: its value is one of allowed,
// valid_from is a date, and valid_to is empty or a date not before valid_from.
func validateBeneficiaryGrant(f *apperr.Fields, path beneficiaryGrantPath, g Grant, allowed []string, what string) {
	switch {
	case g.Value == "":
		f.Add(path.field(path.valueName), "required")
	case !slices.Contains(allowed, g.Value):
		f.Add(path.field(path.valueName), "unknown %s %q; must be one of %s", what, g.Value, strings.Join(allowed, ", "))
	}
	fromOK := false
	if g.ValidFrom == "" {
		f.Add(path.field("valid_from"), "required")
	} else if err := beneficiaryDateError(g.ValidFrom); err != nil {
		f.Add(path.field("valid_from"), "%v", err)
	} else {
		fromOK = true
	}
	if g.ValidTo == "" {
		return
	}
	if err := beneficiaryDateError(g.ValidTo); err != nil {
		f.Add(path.field("valid_to"), "%v", err)
	} else if fromOK && g.ValidTo < g.ValidFrom {
		f.Add(path.field("valid_to"), "must not be before valid_from")
	}
}

// beneficiaryDateError is civil.Parse's verdict on d. Well-formed dates, the
// common case of a large import, are accepted without time.Parse; anything
// else is left to civil.Parse, which stays the authority and words the error.
func beneficiaryDateError(d civil.Date) error {
	s := string(d)
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		digits := true
		for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9} {
			digits = digits && s[i] >= '0' && s[i] <= '9'
		}
		if digits {
			y := int(s[0]-'0')*1000 + int(s[1]-'0')*100 + int(s[2]-'0')*10 + int(s[3]-'0')
			m := int(s[5]-'0')*10 + int(s[6]-'0')
			day := int(s[8]-'0')*10 + int(s[9]-'0')
			if y >= 1900 && y <= 2200 && m >= 1 && m <= 12 && day >= 1 && day <= residentIDDaysIn(y, time.Month(m)) {
				return nil
			}
		}
	}
	_, err := civil.Parse(s)
	return err
}

// CapHousehold is the subject of household caps: the household id, or
// "self:" + the id number for a beneficiary without one, who is their own
// household. The prefix cannot clash with a household id, whose characters
// exclude ':'.
func (b Beneficiary) CapHousehold() string {
	if b.HouseholdID != "" {
		return b.HouseholdID
	}
	return "self:" + b.IDNumber
}

// CategoriesOn returns the categories valid on d, sorted and without repeats.
func (b Beneficiary) CategoriesOn(d civil.Date) []string { return beneficiaryGrantsOn(b.Categories, d) }

// ResidencyOn returns the residency types valid on d, sorted and without
// repeats.
func (b Beneficiary) ResidencyOn(d civil.Date) []string { return beneficiaryGrantsOn(b.Residency, d) }

// beneficiaryGrantsOn returns the sorted distinct values of the grants valid on d.
func beneficiaryGrantsOn(gs []Grant, d civil.Date) []string {
	var out []string
	for _, g := range gs {
		if g.On(d) {
			out = append(out, g.Value)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ResidencyBody is one residency period in the JSON body and answers:
// {"type":"hukou","valid_from":"2026-01-01","valid_to":null}.
type ResidencyBody struct {
	Type      string  `json:"type"`
	ValidFrom string  `json:"valid_from"`
	ValidTo   *string `json:"valid_to"`
}

// CategoryBody is one category period in the JSON body and answers:
// {"category":"illness_poverty","valid_from":"2026-01-01","valid_to":null}.
type CategoryBody struct {
	Category  string  `json:"category"`
	ValidFrom string  `json:"valid_from"`
	ValidTo   *string `json:"valid_to"`
}

// BeneficiaryBody is the JSON body of PUT /api/v1/beneficiaries/{id_number};
// the id number comes from the path. The handler decodes it strictly.
type BeneficiaryBody struct {
	IDType        string          `json:"id_type"`
	Name          string          `json:"name"`
	CountyCode    string          `json:"county_code"`
	HouseholdID   string          `json:"household_id"`
	PayoutAccount string          `json:"payout_account"`
	Township      string          `json:"township"`
	Village       string          `json:"village"`
	BankName      string          `json:"bank_name"`
	Residency     []ResidencyBody `json:"residency"`
	Categories    []CategoryBody  `json:"categories"`
}

// ToBeneficiary converts the body to a Beneficiary and validates it. An empty
// id_type is detected from the id number. Fields are named as in the body
// (categories[0].valid_from); valid_to must be a date or null, not "". When
// the fields are not empty the Beneficiary must not be used.
func (body BeneficiaryBody) ToBeneficiary(idNumber string) (Beneficiary, apperr.Fields) {
	var f apperr.Fields
	b := Beneficiary{
		IDNumber:      idNumber,
		IDType:        body.IDType,
		Name:          body.Name,
		CountyCode:    body.CountyCode,
		HouseholdID:   body.HouseholdID,
		PayoutAccount: body.PayoutAccount,
		Township:      body.Township,
		Village:       body.Village,
		BankName:      body.BankName,
	}
	if b.IDType == "" {
		b.IDType = DetectIDType(idNumber)
	}
	// Dates stay as sent; Validate parses them and names the bad ones.
	for i, r := range body.Residency {
		b.Residency = append(b.Residency, Grant{Value: r.Type, ValidFrom: civil.Date(r.ValidFrom), ValidTo: beneficiaryValidTo(&f, fmt.Sprintf("residency[%d].valid_to", i), r.ValidTo)})
	}
	for i, c := range body.Categories {
		b.Categories = append(b.Categories, Grant{Value: c.Category, ValidFrom: civil.Date(c.ValidFrom), ValidTo: beneficiaryValidTo(&f, fmt.Sprintf("categories[%d].valid_to", i), c.ValidTo)})
	}
	f = append(f, b.Validate()...)
	return b, f
}

// beneficiaryValidTo maps null to an open end and rejects "", which a client could
// mean either way.
func beneficiaryValidTo(f *apperr.Fields, field string, s *string) civil.Date {
	if s == nil {
		return ""
	}
	if *s == "" {
		f.Add(field, "must be a date YYYY-MM-DD, or null for an open-ended period")
	}
	return civil.Date(*s)
}

// BeneficiaryView is a registry record in API answers (DESIGN §11). The full
// view (admin, finance, auditor) has every field, household_id,
// payout_account, township, village and bank_name being null when absent;
// the limited view (insurers) has only
// id_number, county_code, county_name, categories and residency. Dates are
// YYYY-MM-DD and valid_to is null when open-ended.
type BeneficiaryView struct {
	IDNumber      string          `json:"id_number"`
	IDType        string          `json:"id_type"`
	Name          string          `json:"name"`
	CountyCode    string          `json:"county_code"`
	CountyName    string          `json:"county_name"`
	HouseholdID   *string         `json:"household_id"`
	PayoutAccount *string         `json:"payout_account"`
	Township      *string         `json:"township"`
	Village       *string         `json:"village"`
	BankName      *string         `json:"bank_name"`
	Residency     []ResidencyBody `json:"residency"`
	Categories    []CategoryBody  `json:"categories"`

	full bool
}

// View returns the record as answered to a reader: full for admin, finance
// and auditor, limited for insurers.
func (b Beneficiary) View(full bool) BeneficiaryView {
	v := BeneficiaryView{
		IDNumber:   b.IDNumber,
		CountyCode: b.CountyCode,
		Residency:  make([]ResidencyBody, 0, len(b.Residency)),
		Categories: make([]CategoryBody, 0, len(b.Categories)),
		full:       full,
	}
	v.CountyName, _ = CountyName(b.CountyCode)
	for _, g := range b.Residency {
		v.Residency = append(v.Residency, ResidencyBody{Type: g.Value, ValidFrom: string(g.ValidFrom), ValidTo: beneficiaryOptional(string(g.ValidTo))})
	}
	for _, g := range b.Categories {
		v.Categories = append(v.Categories, CategoryBody{Category: g.Value, ValidFrom: string(g.ValidFrom), ValidTo: beneficiaryOptional(string(g.ValidTo))})
	}
	if full {
		v.IDType = b.IDType
		v.Name = b.Name
		v.HouseholdID = beneficiaryOptional(b.HouseholdID)
		v.PayoutAccount = beneficiaryOptional(b.PayoutAccount)
		v.Township = beneficiaryOptional(b.Township)
		v.Village = beneficiaryOptional(b.Village)
		v.BankName = beneficiaryOptional(b.BankName)
	}
	return v
}

// Full reports whether v is the full view.
func (v BeneficiaryView) Full() bool { return v.full }

// MarshalJSON writes the fields of the view's audience only, so that a
// limited view cannot leak a name or an account through a zero value.
func (v BeneficiaryView) MarshalJSON() ([]byte, error) {
	if v.full {
		type all BeneficiaryView // no methods: plain struct encoding
		return json.Marshal(all(v))
	}
	return json.Marshal(struct {
		IDNumber   string          `json:"id_number"`
		CountyCode string          `json:"county_code"`
		CountyName string          `json:"county_name"`
		Residency  []ResidencyBody `json:"residency"`
		Categories []CategoryBody  `json:"categories"`
	}{v.IDNumber, v.CountyCode, v.CountyName, v.Residency, v.Categories})
}

// beneficiaryOptional is nil for "" and &s otherwise, for JSON nulls.
func beneficiaryOptional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

package policies

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"huimin/internal/apperr"
	"huimin/internal/money"
)

// Facts are the claim facts of DESIGN §5, typed: one struct for every
// programme and cause, of which only the fields of Programme and Cause are
// set. Keeping the programme and cause inside lets MarshalJSON write exactly
// the keys that belong to the claim.
type Facts struct {
	Programme string
	Cause     string

	// ZKB (medical)
	ServiceType           string // inpatient|outpatient
	BillRef               string // also FPB illness: the same bill links ZKB and FPB
	TotalCost             decimal.Decimal
	PolicyScopeCost       decimal.Decimal
	BasicInsurancePaid    decimal.Decimal
	CriticalIllnessPaid   decimal.Decimal
	MedicalAssistancePaid decimal.Decimal

	// ZFB (disaster)
	IncidentRef     string // also FPB disaster: the same incident links ZFB and FPB
	LossClass       string
	Rooms           int             // house_collapsed only
	DisabilityGrade int             // disability only
	AssessedLoss    decimal.Decimal // property_loss only

	// FPB
	HouseholdIncomePerCapita decimal.Decimal // every cause
	SelfPay                  decimal.Decimal // illness, education
	NetLoss                  decimal.Decimal // disaster, accident

	// CYB
	Industry         string
	PrimaryPolicyNo  string
	PremiumPaid      decimal.Decimal // premium_subsidy
	CountySubsidised bool            // premium_subsidy
	PrimaryClaimPaid decimal.Decimal // loss_topup
}

// factsRoot is the path prefix of every facts error.
const factsRoot = "facts"

// factKeys lists, per programme and cause, the keys a facts object may carry,
// in the order MarshalJSON writes them.
func factKeys(programme, cause string) []string {
	switch programme {
	case ZKB:
		return []string{"service_type", "bill_ref", "total_cost", "policy_scope_cost", "basic_insurance_paid", "critical_illness_paid", "medical_assistance_paid"}
	case ZFB:
		return []string{"incident_ref", "loss_class", "rooms", "disability_grade", "assessed_loss"}
	case FPB:
		switch cause {
		case CauseIllness:
			return []string{"household_income_per_capita", "bill_ref", "self_pay"}
		case CauseEducation:
			return []string{"household_income_per_capita", "self_pay"}
		case CauseDisaster:
			return []string{"household_income_per_capita", "incident_ref", "net_loss"}
		case CauseAccident:
			return []string{"household_income_per_capita", "net_loss"}
		}
	case CYB:
		switch cause {
		case CausePremiumSubsidy:
			return []string{"industry", "primary_policy_no", "premium_paid", "county_subsidised"}
		case CauseLossTopup:
			return []string{"industry", "primary_policy_no", "primary_claim_paid"}
		}
	}
	return nil
}

// ParseFacts validates a claim's facts for programme and cause and returns
// them typed. Every error is collected, each a FieldError on "facts.<key>"
// (or "cause" when the programme has no such cause, "facts" when the body is
// not an object): unknown keys, missing keys, wrong JSON types, amounts as
// money.ParseJSON accepts them, JSON integers for rooms and disability_grade,
// references of 1 to 64 characters without control characters, and the
// cross-field rules (policy scope within the total; the insurance layers
// within the total; a ZFB measure only for its loss class).
func ParseFacts(programme, cause string, raw json.RawMessage) (Facts, apperr.Fields) {
	var errs apperr.Fields
	if !isProgrammeCause(programme, cause) {
		if p, ok := ProgrammeByCode(programme); ok {
			errs.Add("cause", "is not a cause of %s (%s)", programme, strings.Join(p.Causes, ", "))
		} else {
			errs.Add("cause", "unknown programme %q", programme)
		}
		return Facts{}, errs
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		errs.Add(factsRoot, "is required")
		return Facts{}, errs
	}
	var m map[string]json.RawMessage
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &m) != nil {
		errs.Add(factsRoot, "must be an object")
		return Facts{}, errs
	}
	r := factReader{m: m}
	known := factKeys(programme, cause)
	unknown := make([]string, 0)
	for k := range m {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		r.errs.Add(apperr.Join(factsRoot, k), "unknown key for %s %s", programme, cause)
	}

	f := Facts{Programme: programme, Cause: cause}
	switch programme {
	case ZKB:
		r.zkb(&f)
	case ZFB:
		r.zfb(&f)
	case FPB:
		f.HouseholdIncomePerCapita, _ = r.amount("household_income_per_capita")
		switch cause {
		case CauseIllness:
			f.BillRef = r.reference("bill_ref")
			f.SelfPay, _ = r.amount("self_pay")
		case CauseEducation:
			f.SelfPay, _ = r.amount("self_pay")
		case CauseDisaster:
			f.IncidentRef = r.reference("incident_ref")
			f.NetLoss, _ = r.amount("net_loss")
		case CauseAccident:
			f.NetLoss, _ = r.amount("net_loss")
		}
	case CYB:
		f.Industry = r.enum("industry", Industries)
		f.PrimaryPolicyNo = r.reference("primary_policy_no")
		switch cause {
		case CausePremiumSubsidy:
			f.PremiumPaid, _ = r.amount("premium_paid")
			f.CountySubsidised = r.boolean("county_subsidised")
		case CauseLossTopup:
			f.PrimaryClaimPaid, _ = r.amount("primary_claim_paid")
		}
	}
	if len(r.errs) > 0 {
		return Facts{}, r.errs
	}
	return f, nil
}

func (r *factReader) zkb(f *Facts) {
	f.ServiceType = r.enum("service_type", ServiceTypes)
	f.BillRef = r.reference("bill_ref")
	total, totalOK := r.amount("total_cost")
	scope, scopeOK := r.amount("policy_scope_cost")
	basic, basicOK := r.amount("basic_insurance_paid")
	critical, criticalOK := r.amount("critical_illness_paid")
	assistance, assistanceOK := r.amount("medical_assistance_paid")
	f.TotalCost, f.PolicyScopeCost = total, scope
	f.BasicInsurancePaid, f.CriticalIllnessPaid, f.MedicalAssistancePaid = basic, critical, assistance
	if totalOK && scopeOK && scope.GreaterThan(total) {
		r.errs.Add(apperr.Join(factsRoot, "policy_scope_cost"), "must not exceed total_cost (%s)", money.String(total))
	}
	// The three layers paid part of the bill; together they cannot have paid
	// more than it cost.
	if totalOK && basicOK && criticalOK && assistanceOK {
		if layers := basic.Add(critical).Add(assistance); layers.GreaterThan(total) {
			r.errs.Add(apperr.Join(factsRoot, "total_cost"),
				"must be at least basic_insurance_paid + critical_illness_paid + medical_assistance_paid (%s)", money.String(layers))
		}
	}
}

func (r *factReader) zfb(f *Facts) {
	f.IncidentRef = r.reference("incident_ref")
	f.LossClass = r.enum("loss_class", LossClasses)
	// Each class has its own measure; a measure of another class is a sign
	// the claim was filled in wrongly, so it is refused rather than ignored.
	measures := map[string]string{"rooms": "house_collapsed", "disability_grade": "disability", "assessed_loss": "property_loss"}
	for _, key := range []string{"rooms", "disability_grade", "assessed_loss"} {
		class := measures[key]
		_, present := r.m[key]
		switch {
		case f.LossClass == "":
			// loss_class itself is wrong; which measures apply is unknown.
		case f.LossClass == class:
			switch key {
			case "rooms":
				f.Rooms = r.integer(key, 1, 50)
			case "disability_grade":
				f.DisabilityGrade = r.integer(key, 1, 10)
			case "assessed_loss":
				f.AssessedLoss, _ = r.amount(key)
			}
		case present:
			r.errs.Add(apperr.Join(factsRoot, key), "does not apply to loss_class %s (only to %s)", f.LossClass, class)
		}
	}
}

// factReader reads typed values out of a facts object, naming each bad key.
type factReader struct {
	m    map[string]json.RawMessage
	errs apperr.Fields
}

// get returns the raw value of a required key, or nil after recording that it
// is missing (JSON null counts as missing).
func (r *factReader) get(key string) json.RawMessage {
	v, ok := r.m[key]
	v = bytes.TrimSpace(v)
	if !ok || len(v) == 0 || bytes.Equal(v, []byte("null")) {
		r.errs.Add(apperr.Join(factsRoot, key), "is required")
		return nil
	}
	return v
}

func (r *factReader) amount(key string) (decimal.Decimal, bool) {
	v := r.get(key)
	if v == nil {
		return decimal.Zero, false
	}
	d, err := money.ParseJSON(v)
	if err != nil {
		r.errs.Add(apperr.Join(factsRoot, key), "%s", amountMessage(err))
		return decimal.Zero, false
	}
	return d, true
}

func (r *factReader) str(key string) (string, bool) {
	v := r.get(key)
	if v == nil {
		return "", false
	}
	var s string
	if v[0] != '"' || json.Unmarshal(v, &s) != nil {
		r.errs.Add(apperr.Join(factsRoot, key), "must be a string")
		return "", false
	}
	return s, true
}

func (r *factReader) enum(key string, allowed []string) string {
	s, ok := r.str(key)
	if !ok {
		return ""
	}
	if !slices.Contains(allowed, s) {
		r.errs.Add(apperr.Join(factsRoot, key), "must be one of %s", strings.Join(allowed, ", "))
		return ""
	}
	return s
}

// reference reads a bill, incident or policy reference. They are compared
// for duplicate detection and cross-programme offsets, so they must be
// exact: 1 to 64 characters, printable (no control or format characters),
// no surrounding whitespace.
func (r *factReader) reference(key string) string {
	s, ok := r.str(key)
	if !ok {
		return ""
	}
	p := apperr.Join(factsRoot, key)
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		r.errs.Add(p, "must not be empty")
	case n > 64:
		r.errs.Add(p, "must be at most 64 characters")
	case strings.TrimSpace(s) != s:
		r.errs.Add(p, "must not start or end with whitespace")
	case strings.IndexFunc(s, func(c rune) bool { return !unicode.IsGraphic(c) }) >= 0:
		r.errs.Add(p, "must not contain control or unprintable characters")
	default:
		return s
	}
	return ""
}

var integerPattern = regexp.MustCompile(`^-?[0-9]+$`)

// integer reads a JSON integer (no quotes, fraction or exponent) in lo..hi.
func (r *factReader) integer(key string, lo, hi int) int {
	v := r.get(key)
	if v == nil {
		return 0
	}
	p := apperr.Join(factsRoot, key)
	if !integerPattern.Match(v) {
		r.errs.Add(p, "must be a whole number from %d to %d", lo, hi)
		return 0
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < lo || n > hi {
		r.errs.Add(p, "must be a whole number from %d to %d", lo, hi)
		return 0
	}
	return n
}

func (r *factReader) boolean(key string) bool {
	v := r.get(key)
	switch string(v) {
	case "true":
		return true
	case "false":
	case "":
		// missing, already reported
	default:
		r.errs.Add(apperr.Join(factsRoot, key), "must be true or false")
	}
	return false
}

// MarshalJSON writes the facts as a claim shows them: only the keys of the
// claim's programme and cause, in a fixed order, amounts as two-decimal
// strings. ParseFacts of the output gives back the same facts.
func (f Facts) MarshalJSON() ([]byte, error) {
	keys := factKeys(f.Programme, f.Cause)
	if keys == nil {
		return []byte("{}"), nil
	}
	obj := make(orderedObject, 0, len(keys))
	for _, k := range keys {
		var v any
		switch k {
		case "service_type":
			v = f.ServiceType
		case "bill_ref":
			v = f.BillRef
		case "total_cost":
			v = money.String(f.TotalCost)
		case "policy_scope_cost":
			v = money.String(f.PolicyScopeCost)
		case "basic_insurance_paid":
			v = money.String(f.BasicInsurancePaid)
		case "critical_illness_paid":
			v = money.String(f.CriticalIllnessPaid)
		case "medical_assistance_paid":
			v = money.String(f.MedicalAssistancePaid)
		case "incident_ref":
			v = f.IncidentRef
		case "loss_class":
			v = f.LossClass
		case "rooms":
			if f.LossClass != "house_collapsed" {
				continue
			}
			v = f.Rooms
		case "disability_grade":
			if f.LossClass != "disability" {
				continue
			}
			v = f.DisabilityGrade
		case "assessed_loss":
			if f.LossClass != "property_loss" {
				continue
			}
			v = money.String(f.AssessedLoss)
		case "household_income_per_capita":
			v = money.String(f.HouseholdIncomePerCapita)
		case "self_pay":
			v = money.String(f.SelfPay)
		case "net_loss":
			v = money.String(f.NetLoss)
		case "industry":
			v = f.Industry
		case "primary_policy_no":
			v = f.PrimaryPolicyNo
		case "premium_paid":
			v = money.String(f.PremiumPaid)
		case "county_subsidised":
			v = f.CountySubsidised
		case "primary_claim_paid":
			v = money.String(f.PrimaryClaimPaid)
		}
		obj = append(obj, orderedField{k, v})
	}
	return obj.MarshalJSON()
}

// Reference is the external reference that identifies what the claim is
// for, used for duplicate detection and cross-programme offsets: bill_ref
// (ZKB, FPB illness), incident_ref (ZFB, FPB disaster) or primary_policy_no
// (CYB). FPB education and accident claims have none ("").
func (f Facts) Reference() string {
	switch f.Programme {
	case ZKB:
		return f.BillRef
	case ZFB:
		return f.IncidentRef
	case FPB:
		switch f.Cause {
		case CauseIllness:
			return f.BillRef
		case CauseDisaster:
			return f.IncidentRef
		}
	case CYB:
		return f.PrimaryPolicyNo
	}
	return ""
}

// Base is the claim's own base as the facts state it, before any
// cross-programme offset (which depends on other claims): ZKB
// max(0, policy scope − the three layers); FPB self_pay or net_loss; CYB the
// premium or primary claim the rate applies to; ZFB the assessed loss for
// property_loss and zero for the other classes, whose relief does not depend
// on an amount. It does not change as other claims come and go, which makes
// it the base to compare for duplicate_claim.
func (f Facts) Base() decimal.Decimal {
	switch f.Programme {
	case ZKB:
		return nonNegative(f.PolicyScopeCost.Sub(f.BasicInsurancePaid).Sub(f.CriticalIllnessPaid).Sub(f.MedicalAssistancePaid))
	case ZFB:
		if f.LossClass == "property_loss" {
			return f.AssessedLoss
		}
	case FPB:
		switch f.Cause {
		case CauseIllness, CauseEducation:
			return f.SelfPay
		case CauseDisaster, CauseAccident:
			return f.NetLoss
		}
	case CYB:
		switch f.Cause {
		case CausePremiumSubsidy:
			return f.PremiumPaid
		case CauseLossTopup:
			return f.PrimaryClaimPaid
		}
	}
	return decimal.Zero
}

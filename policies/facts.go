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
	"huimin/internal/rawjson"
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
	spec := specOf(programme)
	switch {
	case spec == nil:
		errs.Add("cause", "unknown programme %q", programme)
		return Facts{}, errs
	case !spec.HasCause(cause):
		errs.Add("cause", "is not a cause of %s (%s)", programme, strings.Join(spec.Causes, ", "))
		return Facts{}, errs
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || bytes.Equal(trimmed, []byte("null")) {
		errs.Add(factsRoot, "is required")
		return Facts{}, errs
	}
	m, err := rawjson.Members(trimmed)
	if err != nil {
		errs.Add(factsRoot, "must be an object")
		return Facts{}, errs
	}
	r := factReader{m: m}
	known := spec.factKeys(cause)
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
	spec.readFacts(&r, &f)
	if len(r.errs) > 0 {
		return Facts{}, r.errs
	}
	return f, nil
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
	s, ok := rawjson.Text(v)
	if !ok {
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
	s := specOf(f.Programme)
	if s == nil || s.factKeys(f.Cause) == nil {
		return []byte("{}"), nil
	}
	return s.writeFacts(f).MarshalJSON()
}

// Reference is the external reference that identifies what the claim is
// for, used for duplicate detection and cross-programme offsets: bill_ref
// (ZKB, FPB illness), incident_ref (ZFB, FPB disaster) or primary_policy_no
// (CYB). FPB education and accident claims have none ("").
func (f Facts) Reference() string {
	if s := specOf(f.Programme); s != nil {
		return s.reference(f)
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
	if s := specOf(f.Programme); s != nil {
		return s.base(f)
	}
	return decimal.Zero
}

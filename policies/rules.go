package policies

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/shopspring/decimal"

	"huimin/internal/apperr"
	"huimin/internal/money"
)

// Rules is one version of a plan's programme-specific rules, validated and
// typed. Exactly one of the programme pointers is non-nil, matching
// Programme; the zero Rules (no programme) pays nothing and covers nothing.
type Rules struct {
	Programme string
	ZKB       *ZKBRules
	ZFB       *ZFBRules
	FPB       *FPBRules
	CYB       *CYBRules
}

// ZKBRules are 政康保's rules: a ratio of the accumulated base above the
// deductible, the ratio depending on the beneficiary's best category.
type ZKBRules struct {
	EligibleCategories []string
	Deductible         decimal.Decimal
	// Ratios holds a ratio for every eligible category (and only those:
	// ratios of other categories can never apply and are dropped).
	Ratios              map[string]decimal.Decimal
	AnnualCap           decimal.Decimal
	OutpatientAnnualCap decimal.Decimal
	RequiredEvidence    []string
}

// BestRatio returns the highest ratio among categories that are eligible
// under these rules, and which category gives it. DESIGN §5: a person who is
// both rural destitute and illness-impoverished gets the rural-destitute ratio.
// ok is false when none of the categories is eligible.
func (z *ZKBRules) BestRatio(categories []string) (category string, ratio decimal.Decimal, ok bool) {
	for _, c := range categories {
		r, eligible := z.Ratios[c]
		if !eligible || !slices.Contains(z.EligibleCategories, c) {
			continue
		}
		// Ties keep the first category in the caller's order, so the
		// breakdown names the same category on every run.
		if !ok || r.GreaterThan(ratio) {
			category, ratio, ok = c, r, true
		}
	}
	return category, ratio, ok
}

// ZFBRules are 政福保's rules: fixed relief amounts per loss class.
type ZFBRules struct {
	EligibleResidency []string
	HouseCollapsed    HouseCollapsedRule
	HouseDamaged      decimal.Decimal
	Death             decimal.Decimal
	// DisabilityGrade1 is the grade-1 amount; grade g pays (11 − g)/10 of it.
	DisabilityGrade1 decimal.Decimal
	PropertyLoss     PropertyLossRule
	AnnualCap        decimal.Decimal
	RequiredEvidence []string
}

// HouseCollapsedRule pays per collapsed room, up to Max.
type HouseCollapsedRule struct {
	PerRoom decimal.Decimal
	Max     decimal.Decimal
}

// PropertyLossRule pays Rate of the assessed loss above Deductible, up to Max.
type PropertyLossRule struct {
	Deductible decimal.Decimal
	Rate       decimal.Decimal
	Max        decimal.Decimal
}

// FPBRules are 防贫保's rules: per-cause tiers on the household's accumulated
// base, below an income prevention line.
type FPBRules struct {
	EligibleCategories []string
	PreventionLine     decimal.Decimal
	AnnualCap          decimal.Decimal
	// Causes holds the causes the plan covers; a cause missing here is
	// cause_not_covered.
	Causes map[string]FPBCause
}

// FPBCause is the tier of one FPB cause.
type FPBCause struct {
	Deductible       decimal.Decimal
	Brackets         []Bracket
	Cap              decimal.Decimal
	RequiredEvidence []string
}

// CYBRules are 产业保's rules: a rate on premiums or on primary-insurance
// claims, for the industries the plan names.
type CYBRules struct {
	EligibleCategories []string
	Industries         []string
	PremiumSubsidy     *PremiumSubsidyRule // nil: the plan does not cover premium_subsidy
	LossTopup          *LossTopupRule      // nil: the plan does not cover loss_topup
	AnnualCap          decimal.Decimal
	// RequiredEvidence holds a list for every covered cause (and only those).
	RequiredEvidence map[string][]string
}

// PremiumSubsidyRule re-subsidises premiums, more generously where the county
// subsidises too (DESIGN §5 CYB).
type PremiumSubsidyRule struct {
	RateWithCounty    decimal.Decimal
	RateWithoutCounty decimal.Decimal
}

// LossTopupRule tops up what the primary insurer paid.
type LossTopupRule struct {
	Rate decimal.Decimal
}

// defaultRulesJSON are the defaults of DESIGN §5, verbatim (FPB's disaster and
// accident spelled out with illness's tier). They are the base every admin
// change is merged onto.
var defaultRulesJSON = map[string]string{
	ZKB: `{"eligible_categories":["illness_poverty","disability_poverty","rural_destitute"],"deductible":"0.00","ratios":{"rural_destitute":"1.00","illness_poverty":"0.80","disability_poverty":"0.80"},"annual_cap":"100000.00","outpatient_annual_cap":"10000.00","required_evidence":["settlement_sheet"]}`,
	ZFB: `{"eligible_residency":["hukou","residence_permit","labour_contract"],"house_collapsed":{"per_room":"5000.00","max":"20000.00"},"house_damaged":"4000.00","death":"50000.00","disability_grade1":"50000.00","property_loss":{"deductible":"1000.00","rate":"0.50","max":"10000.00"},"annual_cap":"100000.00","required_evidence":["incident_certificate"]}`,
	FPB: `{"eligible_categories":["unstable_out_of_poverty","marginal_at_risk","sudden_hardship"],"prevention_line":"6000.00","annual_cap":"100000.00","causes":{` +
		`"illness":{"deductible":"5000.00","brackets":[{"up_to":"20000.00","rate":"0.30"},{"up_to":"50000.00","rate":"0.50"},{"up_to":"100000.00","rate":"0.70"},{"up_to":null,"rate":"0.90"}],"cap":"100000.00","required_evidence":["settlement_sheet","invoice"]},` +
		`"education":{"deductible":"8000.00","brackets":[{"up_to":null,"rate":"0.50"}],"cap":"20000.00","required_evidence":["admission_notice","fee_receipt"]},` +
		`"disaster":{"deductible":"5000.00","brackets":[{"up_to":"20000.00","rate":"0.30"},{"up_to":"50000.00","rate":"0.50"},{"up_to":"100000.00","rate":"0.70"},{"up_to":null,"rate":"0.90"}],"cap":"100000.00","required_evidence":["loss_certificate"]},` +
		`"accident":{"deductible":"5000.00","brackets":[{"up_to":"20000.00","rate":"0.30"},{"up_to":"50000.00","rate":"0.50"},{"up_to":"100000.00","rate":"0.70"},{"up_to":null,"rate":"0.90"}],"cap":"100000.00","required_evidence":["accident_report"]}}}`,
	CYB: `{"eligible_categories":["agri_operator"],"industries":["rose","tea","herb","bee"],"premium_subsidy":{"rate_with_county":"0.20","rate_without_county":"0.10"},"loss_topup":{"rate":"0.10"},"annual_cap":"50000.00","required_evidence":{"premium_subsidy":["premium_receipt"],"loss_topup":["claim_settlement"]}}`,
}

// defaultTrees are the defaults decoded once. Trees are never mutated (merge
// copies the objects it changes), so sharing them is safe.
var defaultTrees = sync.OnceValue(func() map[string]map[string]any {
	out := make(map[string]map[string]any, len(defaultRulesJSON))
	for code, text := range defaultRulesJSON {
		v, err := decodeTree([]byte(text))
		if err != nil {
			panic("policies: default rules of " + code + " are not JSON: " + err.Error())
		}
		out[code] = v.(map[string]any)
	}
	return out
})

// DefaultRules returns the programme's default rules of DESIGN §5, the rules
// a plan gets when its creator supplies none. An unknown programme gives the
// zero Rules.
func DefaultRules(programme string) Rules {
	if _, ok := defaultRulesJSON[programme]; !ok {
		return Rules{}
	}
	r, errs := ParseRules(programme, nil)
	if len(errs) > 0 {
		// The defaults are constants covered by tests; this is a bug.
		panic(fmt.Sprintf("policies: default rules of %s are invalid: %v", programme, errs))
	}
	return r
}

// ParseRules validates rules supplied by an administrator for a plan of
// programme and returns them typed.
//
// The supplied object is merged onto the programme's defaults, so a plan
// states only what differs: a key that is omitted keeps its default value;
// objects merge key by key, recursively; lists (categories, brackets,
// evidence) replace the default list wholesale, because a partial list has no
// obvious meaning. A key set to JSON null is removed. That is how a plan
// drops a cause: "causes": {"education": null} under FPB, or
// "loss_topup": null under CYB, and a claim for it is then cause_not_covered.
// Removing a required key (for example "annual_cap": null) is an error.
//
// Validation is strict and collects every error, each a FieldError whose path
// starts with "rules." (e.g. "rules.causes.illness.brackets[2].rate"): unknown
// keys, wrong JSON types, amounts as money.Parse accepts them, rates from 0 to
// 1 with at most four decimals, brackets non-empty with up_to strictly
// ascending above the deductible and only the last unbounded (null), known
// categories, residency types, industries and causes, a ratio for every ZKB
// eligible category, non-empty evidence lists of well-formed kinds, and
// annual and cause caps above zero. When there are errors the Rules returned
// are the zero value.
//
// nil, empty or JSON null raw means "no changes": the defaults.
func ParseRules(programme string, raw json.RawMessage) (Rules, apperr.Fields) {
	var errs apperr.Fields
	def, ok := defaultTrees()[programme]
	if !ok {
		errs.Add("programme", "unknown programme %q", programme)
		return Rules{}, errs
	}
	tree := def
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && !bytes.Equal(trimmed, []byte("null")) {
		v, err := decodeTree(trimmed)
		if err != nil {
			errs.Add("rules", "must be valid JSON")
			return Rules{}, errs
		}
		over, ok := v.(map[string]any)
		if !ok {
			errs.Add("rules", "must be an object")
			return Rules{}, errs
		}
		tree = mergeTree(def, over)
	}
	c := &ruleChecker{}
	var r Rules
	switch programme {
	case ZKB:
		r = Rules{Programme: ZKB, ZKB: c.zkb(tree)}
	case ZFB:
		r = Rules{Programme: ZFB, ZFB: c.zfb(tree)}
	case FPB:
		r = Rules{Programme: FPB, FPB: c.fpb(tree)}
	case CYB:
		r = Rules{Programme: CYB, CYB: c.cyb(tree)}
	}
	if len(c.errs) > 0 {
		return Rules{}, c.errs
	}
	return r, nil
}

// decodeTree decodes one JSON value keeping numbers as their literal text
// (json.Number), so amounts never pass through float64.
func decodeTree(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

// mergeTree returns def with over applied: objects merge recursively, any
// other value replaces, and null removes a key that def has. A null for a key
// def lacks is kept, so that validation still names a misspelt key.
func mergeTree(def, over map[string]any) map[string]any {
	out := make(map[string]any, len(def)+len(over))
	for k, v := range def {
		out[k] = v
	}
	for k, v := range over {
		dv, inDef := def[k]
		switch {
		case v == nil && inDef:
			delete(out, k)
		case v == nil:
			out[k] = nil
		default:
			dObj, dIsObj := dv.(map[string]any)
			oObj, oIsObj := v.(map[string]any)
			if dIsObj && oIsObj {
				out[k] = mergeTree(dObj, oObj)
			} else {
				out[k] = v
			}
		}
	}
	return out
}

// ruleChecker reads a merged rules tree into typed rules, collecting every
// error instead of stopping at the first.
type ruleChecker struct {
	errs apperr.Fields
}

// rulesRoot is the path prefix of every rules error.
const rulesRoot = "rules"

var (
	evidenceKindPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	ratePattern         = regexp.MustCompile(`^[0-9]{1,4}(\.[0-9]{1,4})?$`)
)

func (c *ruleChecker) zkb(tree map[string]any) *ZKBRules {
	m := c.object(rulesRoot, tree, "eligible_categories", "deductible", "ratios", "annual_cap", "outpatient_annual_cap", "required_evidence")
	if m == nil {
		return nil
	}
	z := &ZKBRules{
		EligibleCategories:  c.nameList(m, rulesRoot, "eligible_categories", Categories, "category"),
		Deductible:          c.amount(m, rulesRoot, "deductible"),
		AnnualCap:           c.cap(m, rulesRoot, "annual_cap"),
		OutpatientAnnualCap: c.cap(m, rulesRoot, "outpatient_annual_cap"),
		RequiredEvidence:    c.evidence(m, rulesRoot, "required_evidence"),
		Ratios:              map[string]decimal.Decimal{},
	}
	ratiosPath := apperr.Join(rulesRoot, "ratios")
	ratios, present := m["ratios"]
	switch rm, isObj := ratios.(map[string]any); {
	case !present:
		c.errs.Add(ratiosPath, "is required")
	case !isObj:
		c.errs.Add(ratiosPath, "must be an object of category to ratio")
	default:
		for _, k := range sortedKeys(rm) {
			if !slices.Contains(Categories, k) {
				c.errs.Add(apperr.Join(ratiosPath, k), "unknown category")
				continue
			}
			r := c.rate(rm, ratiosPath, k)
			// Ratios of categories that are not eligible can never apply;
			// dropping them keeps the canonical JSON free of dead entries.
			if slices.Contains(z.EligibleCategories, k) {
				z.Ratios[k] = r
			}
		}
		for _, cat := range z.EligibleCategories {
			if _, ok := rm[cat]; !ok {
				c.errs.Add(apperr.Join(ratiosPath, cat), "is required for each eligible category")
			}
		}
	}
	return z
}

func (c *ruleChecker) zfb(tree map[string]any) *ZFBRules {
	m := c.object(rulesRoot, tree, "eligible_residency", "house_collapsed", "house_damaged", "death", "disability_grade1", "property_loss", "annual_cap", "required_evidence")
	if m == nil {
		return nil
	}
	z := &ZFBRules{
		EligibleResidency: c.nameList(m, rulesRoot, "eligible_residency", ResidencyTypes, "residency type"),
		HouseDamaged:      c.amount(m, rulesRoot, "house_damaged"),
		Death:             c.amount(m, rulesRoot, "death"),
		DisabilityGrade1:  c.amount(m, rulesRoot, "disability_grade1"),
		AnnualCap:         c.cap(m, rulesRoot, "annual_cap"),
		RequiredEvidence:  c.evidence(m, rulesRoot, "required_evidence"),
	}
	hcPath := apperr.Join(rulesRoot, "house_collapsed")
	if hc := c.child(m, rulesRoot, "house_collapsed", "per_room", "max"); hc != nil {
		z.HouseCollapsed = HouseCollapsedRule{PerRoom: c.amount(hc, hcPath, "per_room"), Max: c.amount(hc, hcPath, "max")}
	}
	plPath := apperr.Join(rulesRoot, "property_loss")
	if pl := c.child(m, rulesRoot, "property_loss", "deductible", "rate", "max"); pl != nil {
		z.PropertyLoss = PropertyLossRule{
			Deductible: c.amount(pl, plPath, "deductible"),
			Rate:       c.rate(pl, plPath, "rate"),
			Max:        c.amount(pl, plPath, "max"),
		}
	}
	return z
}

// fpbCauses are FPB's causes in the order rules and answers list them.
var fpbCauses = []string{CauseIllness, CauseEducation, CauseDisaster, CauseAccident}

func (c *ruleChecker) fpb(tree map[string]any) *FPBRules {
	m := c.object(rulesRoot, tree, "eligible_categories", "prevention_line", "annual_cap", "causes")
	if m == nil {
		return nil
	}
	f := &FPBRules{
		EligibleCategories: c.nameList(m, rulesRoot, "eligible_categories", Categories, "category"),
		PreventionLine:     c.amount(m, rulesRoot, "prevention_line"),
		AnnualCap:          c.cap(m, rulesRoot, "annual_cap"),
		Causes:             map[string]FPBCause{},
	}
	causesPath := apperr.Join(rulesRoot, "causes")
	causes, present := m["causes"]
	cm, isObj := causes.(map[string]any)
	switch {
	case !present:
		c.errs.Add(causesPath, "is required")
		return f
	case !isObj:
		c.errs.Add(causesPath, "must be an object of cause to tier")
		return f
	}
	for _, k := range sortedKeys(cm) {
		if !slices.Contains(fpbCauses, k) {
			c.errs.Add(apperr.Join(causesPath, k), "unknown cause (FPB causes are illness, education, disaster, accident)")
		}
	}
	for _, cause := range fpbCauses {
		if _, ok := cm[cause]; !ok {
			continue // removed with null: not covered
		}
		path := apperr.Join(causesPath, cause)
		cv := c.child(cm, causesPath, cause, "deductible", "brackets", "cap", "required_evidence")
		if cv == nil {
			continue
		}
		deductible, dedOK := c.amountOK(cv, path, "deductible")
		f.Causes[cause] = FPBCause{
			Deductible:       deductible,
			Brackets:         c.brackets(cv, path, deductible, dedOK),
			Cap:              c.cap(cv, path, "cap"),
			RequiredEvidence: c.evidence(cv, path, "required_evidence"),
		}
	}
	if len(cm) == 0 {
		c.errs.Add(causesPath, "must cover at least one cause")
	}
	return f
}

// cybCauses are CYB's causes in the order rules and answers list them.
var cybCauses = []string{CausePremiumSubsidy, CauseLossTopup}

func (c *ruleChecker) cyb(tree map[string]any) *CYBRules {
	m := c.object(rulesRoot, tree, "eligible_categories", "industries", "premium_subsidy", "loss_topup", "annual_cap", "required_evidence")
	if m == nil {
		return nil
	}
	y := &CYBRules{
		EligibleCategories: c.nameList(m, rulesRoot, "eligible_categories", Categories, "category"),
		Industries:         c.nameList(m, rulesRoot, "industries", Industries, "industry"),
		AnnualCap:          c.cap(m, rulesRoot, "annual_cap"),
		RequiredEvidence:   map[string][]string{},
	}
	if _, ok := m[CausePremiumSubsidy]; ok {
		path := apperr.Join(rulesRoot, CausePremiumSubsidy)
		if ps := c.child(m, rulesRoot, CausePremiumSubsidy, "rate_with_county", "rate_without_county"); ps != nil {
			y.PremiumSubsidy = &PremiumSubsidyRule{
				RateWithCounty:    c.rate(ps, path, "rate_with_county"),
				RateWithoutCounty: c.rate(ps, path, "rate_without_county"),
			}
		}
	}
	if _, ok := m[CauseLossTopup]; ok {
		path := apperr.Join(rulesRoot, CauseLossTopup)
		if lt := c.child(m, rulesRoot, CauseLossTopup, "rate"); lt != nil {
			y.LossTopup = &LossTopupRule{Rate: c.rate(lt, path, "rate")}
		}
	}
	_, hasPS := m[CausePremiumSubsidy]
	_, hasLT := m[CauseLossTopup]
	if !hasPS && !hasLT {
		c.errs.Add(rulesRoot, "must cover at least one cause (premium_subsidy or loss_topup)")
	}

	evPath := apperr.Join(rulesRoot, "required_evidence")
	ev, present := m["required_evidence"]
	em, isObj := ev.(map[string]any)
	switch {
	case !present:
		c.errs.Add(evPath, "is required")
		return y
	case !isObj:
		c.errs.Add(evPath, "must be an object of cause to evidence kinds")
		return y
	}
	for _, k := range sortedKeys(em) {
		if !slices.Contains(cybCauses, k) {
			c.errs.Add(apperr.Join(evPath, k), "unknown cause (CYB causes are premium_subsidy, loss_topup)")
		}
	}
	for _, cause := range cybCauses {
		_, covered := m[cause]
		_, listed := em[cause]
		if !covered && !listed {
			continue
		}
		list := c.evidence(em, evPath, cause)
		// Evidence for a cause the plan does not cover can never be asked
		// for; it is checked but not kept.
		if covered {
			y.RequiredEvidence[cause] = list
		}
	}
	return y
}

// object checks that v is an object whose keys are all among known, naming
// each unknown key. It returns nil when v is not an object.
func (c *ruleChecker) object(path string, v any, known ...string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		c.errs.Add(path, "must be an object")
		return nil
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(known, k) {
			c.errs.Add(apperr.Join(path, k), "unknown key")
		}
	}
	return m
}

// child reads the object under key, which must be present.
func (c *ruleChecker) child(m map[string]any, path, key string, known ...string) map[string]any {
	v, ok := m[key]
	if !ok {
		c.errs.Add(apperr.Join(path, key), "is required")
		return nil
	}
	return c.object(apperr.Join(path, key), v, known...)
}

// amount reads a required amount: a string or number as money.Parse accepts.
func (c *ruleChecker) amount(m map[string]any, path, key string) decimal.Decimal {
	d, _ := c.amountOK(m, path, key)
	return d
}

func (c *ruleChecker) amountOK(m map[string]any, path, key string) (decimal.Decimal, bool) {
	p := apperr.Join(path, key)
	v, ok := m[key]
	if !ok || v == nil {
		c.errs.Add(p, "is required")
		return decimal.Zero, false
	}
	return c.amountValue(p, v)
}

func (c *ruleChecker) amountValue(p string, v any) (decimal.Decimal, bool) {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = t.String()
	default:
		c.errs.Add(p, "must be an amount (a string like \"1234.50\" or a number)")
		return decimal.Zero, false
	}
	d, err := money.Parse(s)
	if err != nil {
		c.errs.Add(p, "%s", amountMessage(err))
		return decimal.Zero, false
	}
	return d, true
}

// cap reads an annual or cause cap, which must leave some room: a zero cap
// would reject every claim as annual_cap_reached, which is what closing the
// plan is for.
func (c *ruleChecker) cap(m map[string]any, path, key string) decimal.Decimal {
	d, ok := c.amountOK(m, path, key)
	if ok && !d.IsPositive() {
		c.errs.Add(apperr.Join(path, key), "must be greater than 0")
	}
	return d
}

// rate reads a required rate: 0 ≤ r ≤ 1, at most four decimals, as a decimal
// string ("0.30") or a number.
func (c *ruleChecker) rate(m map[string]any, path, key string) decimal.Decimal {
	p := apperr.Join(path, key)
	v, ok := m[key]
	if !ok {
		c.errs.Add(p, "is required")
		return decimal.Zero
	}
	return c.rateValue(p, v)
}

func (c *ruleChecker) rateValue(p string, v any) decimal.Decimal {
	const msg = "must be a rate from 0 to 1 with at most 4 decimals, e.g. \"0.30\""
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = t.String()
	default:
		c.errs.Add(p, msg)
		return decimal.Zero
	}
	if !ratePattern.MatchString(s) {
		c.errs.Add(p, msg)
		return decimal.Zero
	}
	d, err := decimal.NewFromString(s)
	if err != nil || d.GreaterThan(decimal.NewFromInt(1)) {
		c.errs.Add(p, msg)
		return decimal.Zero
	}
	return d
}

// nameList reads a required, non-empty list of distinct names from allowed.
func (c *ruleChecker) nameList(m map[string]any, path, key string, allowed []string, what string) []string {
	return c.stringList(m, apperr.Join(path, key), key, func(ip, s string, seen []string) bool {
		switch {
		case !slices.Contains(allowed, s):
			c.errs.Add(ip, "unknown %s %q (one of %s)", what, s, strings.Join(allowed, ", "))
		case slices.Contains(seen, s):
			c.errs.Add(ip, "duplicate %s %q", what, s)
		default:
			return true
		}
		return false
	})
}

// evidence reads a required, non-empty list of distinct evidence kinds.
func (c *ruleChecker) evidence(m map[string]any, path, key string) []string {
	return c.stringList(m, apperr.Join(path, key), key, func(ip, s string, seen []string) bool {
		switch {
		case !evidenceKindPattern.MatchString(s):
			c.errs.Add(ip, "evidence kind must match ^[a-z][a-z0-9_]{0,39}$")
		case slices.Contains(seen, s):
			c.errs.Add(ip, "duplicate evidence kind %q", s)
		default:
			return true
		}
		return false
	})
}

// stringList reads a required non-empty list of strings at m[key] (p is its
// full path), keeping the items that accept approves (it reports why it
// refuses one). Errors come out in item order.
func (c *ruleChecker) stringList(m map[string]any, p, key string, accept func(itemPath, s string, seen []string) bool) []string {
	v, present := m[key]
	if !present || v == nil {
		c.errs.Add(p, "is required")
		return nil
	}
	list, isList := v.([]any)
	if !isList {
		c.errs.Add(p, "must be a list of strings")
		return nil
	}
	if len(list) == 0 {
		c.errs.Add(p, "must not be empty")
		return nil
	}
	out := make([]string, 0, len(list))
	for i, item := range list {
		ip := apperr.Join(p, fmt.Sprintf("[%d]", i))
		s, isStr := item.(string)
		if !isStr {
			c.errs.Add(ip, "must be a string")
			continue
		}
		if accept(ip, s, out) {
			out = append(out, s)
		}
	}
	return out
}

// brackets reads a cause's tier. Each up_to must be above the deductible and
// the previous up_to, so that every band has positive width and F is
// monotone; only the last band may be unbounded.
func (c *ruleChecker) brackets(m map[string]any, path string, deductible decimal.Decimal, deductibleOK bool) []Bracket {
	p := apperr.Join(path, "brackets")
	v, present := m["brackets"]
	if !present || v == nil {
		c.errs.Add(p, "is required")
		return nil
	}
	list, isList := v.([]any)
	if !isList {
		c.errs.Add(p, "must be a list of {up_to, rate}")
		return nil
	}
	if len(list) == 0 {
		c.errs.Add(p, "must have at least one bracket")
		return nil
	}
	out := make([]Bracket, 0, len(list))
	prev, prevOK, prevIsDeductible := deductible, deductibleOK, true
	for i, item := range list {
		ip := apperr.Join(p, fmt.Sprintf("[%d]", i))
		bm := c.object(ip, item, "up_to", "rate")
		if bm == nil {
			prevOK = false
			continue
		}
		b := Bracket{Rate: c.rate(bm, ip, "rate")}
		upPath := apperr.Join(ip, "up_to")
		up, present := bm["up_to"]
		switch {
		case !present:
			c.errs.Add(upPath, "is required (null for no upper bound)")
			prevOK = false
		case up == nil:
			if i != len(list)-1 {
				c.errs.Add(upPath, "only the last bracket may have no upper bound (null)")
			}
			prevOK = false
		default:
			d, ok := c.amountValue(upPath, up)
			if !ok {
				prevOK = false
				break
			}
			if prevOK && !d.GreaterThan(prev) {
				if prevIsDeductible {
					c.errs.Add(upPath, "must be above the deductible (%s)", money.String(prev))
				} else {
					c.errs.Add(upPath, "must be above the previous bracket's up_to (%s)", money.String(prev))
				}
			}
			b.UpTo = &d
			prev, prevOK = d, true
		}
		prevIsDeductible = false
		out = append(out, b)
	}
	return out
}

// amountMessage turns a money.Parse error into a field message ("must be …").
func amountMessage(err error) string {
	return strings.TrimPrefix(err.Error(), money.ErrInvalid.Error()+": ")
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CoversCause reports whether a claim for cause can be paid under these
// rules: the cause belongs to the programme and the plan has not removed it.
func (r Rules) CoversCause(cause string) bool {
	switch r.Programme {
	case ZKB:
		return r.ZKB != nil && cause == CauseMedical
	case ZFB:
		return r.ZFB != nil && cause == CauseDisaster
	case FPB:
		if r.FPB == nil {
			return false
		}
		_, ok := r.FPB.Causes[cause]
		return ok
	case CYB:
		if r.CYB == nil {
			return false
		}
		return (cause == CausePremiumSubsidy && r.CYB.PremiumSubsidy != nil) ||
			(cause == CauseLossTopup && r.CYB.LossTopup != nil)
	}
	return false
}

// RequiredEvidence lists the evidence kinds a claim for cause must carry;
// nil when the cause is not covered.
func (r Rules) RequiredEvidence(cause string) []string {
	if !r.CoversCause(cause) {
		return nil
	}
	switch r.Programme {
	case ZKB:
		return r.ZKB.RequiredEvidence
	case ZFB:
		return r.ZFB.RequiredEvidence
	case FPB:
		return r.FPB.Causes[cause].RequiredEvidence
	case CYB:
		return r.CYB.RequiredEvidence[cause]
	}
	return nil
}

// EligibleCategories lists the registry categories the plan covers; nil for
// ZFB, whose eligibility is by residency (see ZFBRules.EligibleResidency).
func (r Rules) EligibleCategories() []string {
	switch {
	case r.ZKB != nil:
		return r.ZKB.EligibleCategories
	case r.FPB != nil:
		return r.FPB.EligibleCategories
	case r.CYB != nil:
		return r.CYB.EligibleCategories
	}
	return nil
}

// AnnualCap is the most one cap subject (person or household, see
// Programme.CapSubject) may be paid under the plan in its period.
func (r Rules) AnnualCap() decimal.Decimal {
	switch {
	case r.ZKB != nil:
		return r.ZKB.AnnualCap
	case r.ZFB != nil:
		return r.ZFB.AnnualCap
	case r.FPB != nil:
		return r.FPB.AnnualCap
	case r.CYB != nil:
		return r.CYB.AnnualCap
	}
	return decimal.Zero
}

// MarshalJSON writes the canonical rules object: the shape of the DESIGN §5
// defaults, amounts as two-decimal strings, rates as decimal strings with two
// to four decimals, every key present. A cause the plan removed is written as
// null, so that ParseRules of the output gives back the same rules (omitting
// it would bring the default back on the merge). The zero Rules is null.
func (r Rules) MarshalJSON() ([]byte, error) {
	switch {
	case r.Programme == ZKB && r.ZKB != nil:
		return json.Marshal(r.ZKB.canonical())
	case r.Programme == ZFB && r.ZFB != nil:
		return json.Marshal(r.ZFB.canonical())
	case r.Programme == FPB && r.FPB != nil:
		return json.Marshal(r.FPB.canonical())
	case r.Programme == CYB && r.CYB != nil:
		return json.Marshal(r.CYB.canonical())
	case r.Programme == "" && r.ZKB == nil && r.ZFB == nil && r.FPB == nil && r.CYB == nil:
		return []byte("null"), nil
	}
	return nil, fmt.Errorf("policies: rules for programme %q carry no matching rules", r.Programme)
}

// orderedObject marshals as a JSON object keeping its keys in order (maps
// would sort them), for ratios and evidence by cause.
type orderedObject []orderedField

type orderedField struct {
	Key   string
	Value any
}

// MarshalJSON writes the fields in order.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(f.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func (z *ZKBRules) canonical() any {
	ratios := orderedObject{}
	for _, cat := range z.EligibleCategories {
		if r, ok := z.Ratios[cat]; ok {
			ratios = append(ratios, orderedField{cat, formatRate(r)})
		}
	}
	return struct {
		EligibleCategories  []string      `json:"eligible_categories"`
		Deductible          string        `json:"deductible"`
		Ratios              orderedObject `json:"ratios"`
		AnnualCap           string        `json:"annual_cap"`
		OutpatientAnnualCap string        `json:"outpatient_annual_cap"`
		RequiredEvidence    []string      `json:"required_evidence"`
	}{nonNil(z.EligibleCategories), money.String(z.Deductible), ratios, money.String(z.AnnualCap), money.String(z.OutpatientAnnualCap), nonNil(z.RequiredEvidence)}
}

func (z *ZFBRules) canonical() any {
	type houseCollapsed struct {
		PerRoom string `json:"per_room"`
		Max     string `json:"max"`
	}
	type propertyLoss struct {
		Deductible string `json:"deductible"`
		Rate       string `json:"rate"`
		Max        string `json:"max"`
	}
	return struct {
		EligibleResidency []string       `json:"eligible_residency"`
		HouseCollapsed    houseCollapsed `json:"house_collapsed"`
		HouseDamaged      string         `json:"house_damaged"`
		Death             string         `json:"death"`
		DisabilityGrade1  string         `json:"disability_grade1"`
		PropertyLoss      propertyLoss   `json:"property_loss"`
		AnnualCap         string         `json:"annual_cap"`
		RequiredEvidence  []string       `json:"required_evidence"`
	}{
		nonNil(z.EligibleResidency),
		houseCollapsed{money.String(z.HouseCollapsed.PerRoom), money.String(z.HouseCollapsed.Max)},
		money.String(z.HouseDamaged), money.String(z.Death), money.String(z.DisabilityGrade1),
		propertyLoss{money.String(z.PropertyLoss.Deductible), formatRate(z.PropertyLoss.Rate), money.String(z.PropertyLoss.Max)},
		money.String(z.AnnualCap), nonNil(z.RequiredEvidence),
	}
}

type bracketJSON struct {
	UpTo *string `json:"up_to"`
	Rate string  `json:"rate"`
}

type fpbCauseJSON struct {
	Deductible       string        `json:"deductible"`
	Brackets         []bracketJSON `json:"brackets"`
	Cap              string        `json:"cap"`
	RequiredEvidence []string      `json:"required_evidence"`
}

func (f *FPBRules) canonical() any {
	causes := orderedObject{}
	for _, cause := range fpbCauses {
		fc, ok := f.Causes[cause]
		if !ok {
			causes = append(causes, orderedField{cause, nil})
			continue
		}
		bs := make([]bracketJSON, len(fc.Brackets))
		for i, b := range fc.Brackets {
			bs[i].Rate = formatRate(b.Rate)
			if b.UpTo != nil {
				s := money.String(*b.UpTo)
				bs[i].UpTo = &s
			}
		}
		causes = append(causes, orderedField{cause, fpbCauseJSON{money.String(fc.Deductible), bs, money.String(fc.Cap), nonNil(fc.RequiredEvidence)}})
	}
	return struct {
		EligibleCategories []string      `json:"eligible_categories"`
		PreventionLine     string        `json:"prevention_line"`
		AnnualCap          string        `json:"annual_cap"`
		Causes             orderedObject `json:"causes"`
	}{nonNil(f.EligibleCategories), money.String(f.PreventionLine), money.String(f.AnnualCap), causes}
}

func (y *CYBRules) canonical() any {
	type premiumSubsidy struct {
		RateWithCounty    string `json:"rate_with_county"`
		RateWithoutCounty string `json:"rate_without_county"`
	}
	type lossTopup struct {
		Rate string `json:"rate"`
	}
	var ps *premiumSubsidy
	if y.PremiumSubsidy != nil {
		ps = &premiumSubsidy{formatRate(y.PremiumSubsidy.RateWithCounty), formatRate(y.PremiumSubsidy.RateWithoutCounty)}
	}
	var lt *lossTopup
	if y.LossTopup != nil {
		lt = &lossTopup{formatRate(y.LossTopup.Rate)}
	}
	evidence := orderedObject{}
	for _, cause := range cybCauses {
		if list, ok := y.RequiredEvidence[cause]; ok {
			evidence = append(evidence, orderedField{cause, nonNil(list)})
		}
	}
	return struct {
		EligibleCategories []string        `json:"eligible_categories"`
		Industries         []string        `json:"industries"`
		PremiumSubsidy     *premiumSubsidy `json:"premium_subsidy"`
		LossTopup          *lossTopup      `json:"loss_topup"`
		AnnualCap          string          `json:"annual_cap"`
		RequiredEvidence   orderedObject   `json:"required_evidence"`
	}{nonNil(y.EligibleCategories), nonNil(y.Industries), ps, lt, money.String(y.AnnualCap), evidence}
}

// nonNil makes a nil list marshal as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

package policies

import (
	"fmt"
	"slices"

	"github.com/shopspring/decimal"

	"huimin/internal/apperr"
	"huimin/internal/money"
)

// zkbSpec is 政康保 (DESIGN §5): a share of the medical cost the insurance
// layers left, accumulated over the person's year.
var zkbSpec = programmeSpec{
	Programme: Programme{Code: ZKB, Name: "政康保", Kind: "medical_topup", Causes: []string{CauseMedical}, CapSubject: CapSubjectPerson},
	defaults:  `{"eligible_categories":["illness_poverty","disability_poverty","rural_destitute"],"deductible":"0.00","ratios":{"rural_destitute":"1.00","illness_poverty":"0.80","disability_poverty":"0.80"},"annual_cap":"100000.00","outpatient_annual_cap":"10000.00","required_evidence":["settlement_sheet"]}`,

	notAdmitted: ReasonNotCoveredCategory,
	parseRules: func(c *ruleChecker, tree map[string]any) Rules {
		return Rules{Programme: ZKB, ZKB: c.zkb(tree)}
	},
	rulesOf:    func(r Rules) programmeRules { return asProgrammeRules(r.ZKB) },
	factKeys:   zkbFactKeys,
	readFacts:  readZKBFacts,
	writeFacts: writeZKBFacts,
	reference:  func(f Facts) string { return f.BillRef },
	base:       zkbBase,
	accrue:     accrueZKB,
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

func (z *ZKBRules) coversCause(cause string) bool    { return cause == CauseMedical }
func (z *ZKBRules) requiredEvidence(string) []string { return z.RequiredEvidence }
func (z *ZKBRules) eligibleCategories() []string     { return z.EligibleCategories }
func (z *ZKBRules) annualCap() decimal.Decimal       { return z.AnnualCap }

func (z *ZKBRules) admits(categories, _ []string) bool {
	return intersects(categories, z.EligibleCategories)
}

// factReasons: ZKB has no fact-based eligibility rule; the bill's amounts
// decide only how much is paid.
func (z *ZKBRules) factReasons(Facts) []string { return nil }

func (z *ZKBRules) assess(a *assessment, f Facts, categories []string, h History) {
	base := zkbBase(f)
	if a.explains() {
		a.step(fmt.Sprintf("Base: policy-scope cost %s − basic medical insurance %s − critical illness insurance %s − medical assistance %s%s",
			money.String(f.PolicyScopeCost), money.String(f.BasicInsurancePaid), money.String(f.CriticalIllnessPaid),
			money.String(f.MedicalAssistancePaid), flooredNote(zkbUncovered(f))), base)
	}
	a.Base = base

	category, ratio, ok := z.BestRatio(categories)
	var label string
	switch {
	case !a.explains():
	case ok:
		label = fmt.Sprintf("ratio %s of %s, the best of the beneficiary's eligible categories", formatRate(ratio), category)
	default:
		label = "no eligible category, ratio 0"
	}
	// ZKB's F is a single unbounded band at the ratio above the deductible.
	brackets := []Bracket{{Rate: ratio}}
	raw := a.accumulate("medical", h.PrevBase, base, z.Deductible, brackets, label)

	caps := []capRoom{{"Annual cap per person", z.AnnualCap, "already paid this year", h.PaidAnnual}}
	if f.ServiceType == "outpatient" {
		caps = append(caps, capRoom{"Outpatient annual cap", z.OutpatientAnnualCap, "outpatient already paid this year", h.PaidOutpatient})
	}
	a.applyCaps(raw, caps)
}

// zkbFactKeys: ZKB has one cause, so its keys do not depend on it.
func zkbFactKeys(string) []string {
	return []string{"service_type", "bill_ref", "total_cost", "policy_scope_cost", "basic_insurance_paid", "critical_illness_paid", "medical_assistance_paid"}
}

func readZKBFacts(r *factReader, f *Facts) {
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

func writeZKBFacts(f Facts) orderedObject {
	return orderedObject{
		{"service_type", f.ServiceType},
		{"bill_ref", f.BillRef},
		{"total_cost", money.String(f.TotalCost)},
		{"policy_scope_cost", money.String(f.PolicyScopeCost)},
		{"basic_insurance_paid", money.String(f.BasicInsurancePaid)},
		{"critical_illness_paid", money.String(f.CriticalIllnessPaid)},
		{"medical_assistance_paid", money.String(f.MedicalAssistancePaid)},
	}
}

// zkbUncovered is the policy-scope cost the three insurance layers left,
// which may be negative when they paid beyond the scope.
func zkbUncovered(f Facts) decimal.Decimal {
	return f.PolicyScopeCost.Sub(f.BasicInsurancePaid).Sub(f.CriticalIllnessPaid).Sub(f.MedicalAssistancePaid)
}

// zkbBase is DESIGN §5's max(0, policy scope − basic − critical − assistance).
func zkbBase(f Facts) decimal.Decimal { return nonNegative(zkbUncovered(f)) }

// accrueZKB: the deductible and ratio apply to the person's medical year as a
// whole, inpatient and outpatient together; outpatient payables are also
// summed apart for outpatient_annual_cap.
func accrueZKB(_ Pending, q Prior, own bool, s *Standing) {
	if !own {
		return
	}
	s.History.PrevBase = s.History.PrevBase.Add(money.FromFen(q.Base))
	if q.ServiceType == "outpatient" {
		s.History.PaidOutpatient = s.History.PaidOutpatient.Add(money.FromFen(q.Payable))
	}
}

package policies

import (
	"fmt"
	"slices"

	"github.com/shopspring/decimal"

	"huimin/internal/apperr"
	"huimin/internal/money"
)

// cybSpec is 产业保 (DESIGN §5): a re-subsidy of specialty-agriculture
// premiums or of what the primary insurer paid, per claim.
var cybSpec = programmeSpec{
	Programme: Programme{Code: CYB, Name: "产业保", Kind: "industry_subsidy", Causes: cybCauses, CapSubject: CapSubjectPerson},
	defaults:  `{"eligible_categories":["agri_operator"],"industries":["rose","tea","herb","bee"],"premium_subsidy":{"rate_with_county":"0.20","rate_without_county":"0.10"},"loss_topup":{"rate":"0.10"},"annual_cap":"50000.00","required_evidence":{"premium_subsidy":["premium_receipt"],"loss_topup":["claim_settlement"]}}`,

	notAdmitted: ReasonNotCoveredCategory,
	parseRules: func(c *ruleChecker, tree map[string]any) Rules {
		return Rules{Programme: CYB, CYB: c.cyb(tree)}
	},
	rulesOf:    func(r Rules) programmeRules { return asProgrammeRules(r.CYB) },
	factKeys:   cybFactKeys,
	readFacts:  readCYBFacts,
	writeFacts: writeCYBFacts,
	reference:  func(f Facts) string { return f.PrimaryPolicyNo },
	base:       cybBase,
	accrue:     accrueCYB,
}

// cybCauses are CYB's causes in the order rules and answers list them.
var cybCauses = []string{CausePremiumSubsidy, CauseLossTopup}

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
	em, ok := c.causeObject(m, "required_evidence", CYB, cybCauses, "evidence kinds")
	if !ok {
		return y
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

// coversCause: a plan drops a CYB cause by setting its rule to null.
func (y *CYBRules) coversCause(cause string) bool {
	return (cause == CausePremiumSubsidy && y.PremiumSubsidy != nil) ||
		(cause == CauseLossTopup && y.LossTopup != nil)
}

func (y *CYBRules) requiredEvidence(cause string) []string { return y.RequiredEvidence[cause] }
func (y *CYBRules) eligibleCategories() []string           { return y.EligibleCategories }
func (y *CYBRules) annualCap() decimal.Decimal             { return y.AnnualCap }

func (y *CYBRules) admits(categories, _ []string) bool {
	return intersects(categories, y.EligibleCategories)
}

// factReasons: a plan may cover fewer industries than CYB knows.
func (y *CYBRules) factReasons(f Facts) []string {
	if !slices.Contains(y.Industries, f.Industry) {
		return []string{ReasonIndustryNotCovered}
	}
	return nil
}

func (y *CYBRules) assess(a *assessment, f Facts, _ []string, h History) {
	var exact decimal.Decimal
	switch f.Cause {
	case CausePremiumSubsidy:
		rate, note := y.PremiumSubsidy.RateWithoutCounty, "no county subsidy"
		if f.CountySubsidised {
			rate, note = y.PremiumSubsidy.RateWithCounty, "county subsidised"
		}
		exact = rate.Mul(f.PremiumPaid)
		if a.explains() {
			a.step(fmt.Sprintf("Premium paid, %s policy %s", f.Industry, f.PrimaryPolicyNo), f.PremiumPaid)
			a.step(fmt.Sprintf("Premium re-subsidy: rate %s (%s) × %s = %s%s", formatRate(rate), note, money.String(f.PremiumPaid), formatExact(exact), roundingNote(exact)), money.Round(exact))
		}
	case CauseLossTopup:
		exact = y.LossTopup.Rate.Mul(f.PrimaryClaimPaid)
		if a.explains() {
			a.step(fmt.Sprintf("Primary insurance claim paid, %s policy %s", f.Industry, f.PrimaryPolicyNo), f.PrimaryClaimPaid)
			a.step(fmt.Sprintf("Loss top-up: rate %s × %s = %s%s", formatRate(y.LossTopup.Rate), money.String(f.PrimaryClaimPaid), formatExact(exact), roundingNote(exact)), money.Round(exact))
		}
	}
	a.Base = cybBase(f)
	raw := money.Round(exact)
	a.applyCaps(raw, []capRoom{{"Annual cap per operator", y.AnnualCap, "already paid this year", h.PaidAnnual}})
}

// cybFactKeys: both causes name the industry and the primary policy the
// re-subsidy is for, then the amount the rate applies to.
func cybFactKeys(cause string) []string {
	switch cause {
	case CausePremiumSubsidy:
		return []string{"industry", "primary_policy_no", "premium_paid", "county_subsidised"}
	case CauseLossTopup:
		return []string{"industry", "primary_policy_no", "primary_claim_paid"}
	}
	return nil
}

func readCYBFacts(r *factReader, f *Facts) {
	f.Industry = r.enum("industry", Industries)
	f.PrimaryPolicyNo = r.reference("primary_policy_no")
	switch f.Cause {
	case CausePremiumSubsidy:
		f.PremiumPaid, _ = r.amount("premium_paid")
		f.CountySubsidised = r.boolean("county_subsidised")
	case CauseLossTopup:
		f.PrimaryClaimPaid, _ = r.amount("primary_claim_paid")
	}
}

func writeCYBFacts(f Facts) orderedObject {
	obj := orderedObject{{"industry", f.Industry}, {"primary_policy_no", f.PrimaryPolicyNo}}
	switch f.Cause {
	case CausePremiumSubsidy:
		obj = append(obj, orderedField{"premium_paid", money.String(f.PremiumPaid)}, orderedField{"county_subsidised", f.CountySubsidised})
	case CauseLossTopup:
		obj = append(obj, orderedField{"primary_claim_paid", money.String(f.PrimaryClaimPaid)})
	}
	return obj
}

// cybBase is the premium or primary claim the rate applies to.
func cybBase(f Facts) decimal.Decimal {
	switch f.Cause {
	case CausePremiumSubsidy:
		return f.PremiumPaid
	case CauseLossTopup:
		return f.PrimaryClaimPaid
	}
	return decimal.Zero
}

// accrueCYB: CYB does not accumulate (each claim pays its own rate), but the
// sum is kept as for every programme so that History means the same
// everywhere.
func accrueCYB(_ Pending, q Prior, own bool, s *Standing) {
	if own {
		s.History.PrevBase = s.History.PrevBase.Add(money.FromFen(q.Base))
	}
}

package policies

import (
	"fmt"

	"github.com/shopspring/decimal"

	"huimin/internal/apperr"
	"huimin/internal/money"
)

// fpbSpec is 防贫保 (DESIGN §5): tiered shares of a household's costs by
// cause, below an income prevention line, net of what ZKB or ZFB paid for
// the same loss.
var fpbSpec = programmeSpec{
	Programme: Programme{Code: FPB, Name: "防贫保", Kind: "poverty_prevention", Causes: fpbCauses, CapSubject: CapSubjectHousehold},
	// Disaster and accident are spelled out with illness's tier.
	defaults: `{"eligible_categories":["unstable_out_of_poverty","marginal_at_risk","sudden_hardship"],"prevention_line":"6000.00","annual_cap":"100000.00","causes":{` +
		`"illness":{"deductible":"5000.00","brackets":[{"up_to":"20000.00","rate":"0.30"},{"up_to":"50000.00","rate":"0.50"},{"up_to":"100000.00","rate":"0.70"},{"up_to":null,"rate":"0.90"}],"cap":"100000.00","required_evidence":["settlement_sheet","invoice"]},` +
		`"education":{"deductible":"8000.00","brackets":[{"up_to":null,"rate":"0.50"}],"cap":"20000.00","required_evidence":["admission_notice","fee_receipt"]},` +
		`"disaster":{"deductible":"5000.00","brackets":[{"up_to":"20000.00","rate":"0.30"},{"up_to":"50000.00","rate":"0.50"},{"up_to":"100000.00","rate":"0.70"},{"up_to":null,"rate":"0.90"}],"cap":"100000.00","required_evidence":["loss_certificate"]},` +
		`"accident":{"deductible":"5000.00","brackets":[{"up_to":"20000.00","rate":"0.30"},{"up_to":"50000.00","rate":"0.50"},{"up_to":"100000.00","rate":"0.70"},{"up_to":null,"rate":"0.90"}],"cap":"100000.00","required_evidence":["accident_report"]}}}`,

	notAdmitted: ReasonNotCoveredCategory,
	parseRules: func(c *ruleChecker, tree map[string]any) Rules {
		return Rules{Programme: FPB, FPB: c.fpb(tree)}
	},
	rulesOf:    func(r Rules) programmeRules { return asProgrammeRules(r.FPB) },
	factKeys:   fpbFactKeys,
	readFacts:  readFPBFacts,
	writeFacts: writeFPBFacts,
	reference:  fpbReference,
	base:       fpbBase,
	accrue:     accrueFPB,
}

// fpbCauses are FPB's causes in the order rules and answers list them.
var fpbCauses = []string{CauseIllness, CauseEducation, CauseDisaster, CauseAccident}

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
	cm, ok := c.causeObject(m, "causes", FPB, fpbCauses, "tier")
	if !ok {
		return f
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

type fpbCauseJSON struct {
	Deductible       string        `json:"deductible"`
	Brackets         []bracketJSON `json:"brackets"`
	Cap              string        `json:"cap"`
	RequiredEvidence []string      `json:"required_evidence"`
}

func (p *FPBRules) canonical() any {
	causes := orderedObject{}
	for _, cause := range fpbCauses {
		fc, ok := p.Causes[cause]
		if !ok {
			causes = append(causes, orderedField{cause, nil})
			continue
		}
		causes = append(causes, orderedField{cause, fpbCauseJSON{money.String(fc.Deductible), canonicalBrackets(fc.Brackets), money.String(fc.Cap), nonNil(fc.RequiredEvidence)}})
	}
	return struct {
		EligibleCategories []string      `json:"eligible_categories"`
		PreventionLine     string        `json:"prevention_line"`
		AnnualCap          string        `json:"annual_cap"`
		Causes             orderedObject `json:"causes"`
	}{nonNil(p.EligibleCategories), money.String(p.PreventionLine), money.String(p.AnnualCap), causes}
}

func (p *FPBRules) coversCause(cause string) bool {
	_, ok := p.Causes[cause]
	return ok
}

func (p *FPBRules) requiredEvidence(cause string) []string { return p.Causes[cause].RequiredEvidence }
func (p *FPBRules) eligibleCategories() []string           { return p.EligibleCategories }
func (p *FPBRules) annualCap() decimal.Decimal             { return p.AnnualCap }

func (p *FPBRules) admits(categories, _ []string) bool {
	return intersects(categories, p.EligibleCategories)
}

// factReasons: the prevention line is on income after the shock; at or above
// it the household is not at risk of falling back into poverty.
func (p *FPBRules) factReasons(f Facts) []string {
	if f.HouseholdIncomePerCapita.GreaterThanOrEqual(p.PreventionLine) {
		return []string{ReasonAbovePreventionLine}
	}
	return nil
}

func (p *FPBRules) assess(a *assessment, f Facts, _ []string, h History) {
	tier := p.Causes[f.Cause]
	gross := fpbBase(f)
	// Only illness and disaster have a counterpart programme paying for
	// the same loss (ZKB for the bill, ZFB for the incident).
	offsets := f.Cause == CauseIllness || f.Cause == CauseDisaster
	var what, offsetWhat string
	if a.explains() {
		switch f.Cause {
		case CauseIllness:
			what = fmt.Sprintf("Illness self-pay on bill %s (policy scope, after all insurance layers)", f.BillRef)
			offsetWhat = fmt.Sprintf("Less 政康保 (ZKB) already paid on bill %s, not paid twice", f.BillRef)
		case CauseEducation:
			what = "Education self-pay (after education aid)"
		case CauseDisaster:
			what = fmt.Sprintf("Net disaster loss, incident %s", f.IncidentRef)
			offsetWhat = fmt.Sprintf("Less 政福保 (ZFB) already paid to the household for incident %s, not paid twice", f.IncidentRef)
		case CauseAccident:
			what = "Net loss from the accident"
		}
	}
	a.step(what, gross)
	base := gross
	if offsets && h.Offset.IsPositive() {
		a.step(offsetWhat, h.Offset)
		base = nonNegative(gross.Sub(h.Offset))
		if a.explains() {
			a.step(fmt.Sprintf("Base after offset: %s − %s%s", money.String(gross), money.String(h.Offset), flooredNote(gross.Sub(h.Offset))), base)
		}
	}
	a.Base = base
	raw := a.accumulate(f.Cause, h.PrevBase, base, tier.Deductible, tier.Brackets, f.Cause+" tier")
	a.applyCaps(raw, []capRoom{
		{"Household " + f.Cause + " cap", tier.Cap, "already paid for " + f.Cause + " this year", h.PaidCause},
		{"Household annual cap", p.AnnualCap, "already paid this year, all causes", h.PaidAnnual},
	})
}

// fpbFactKeys: every cause states the household's income after the shock
// (the prevention line), then what the cause's amount is and what links it
// to another programme's claim.
func fpbFactKeys(cause string) []string {
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
	return nil
}

func readFPBFacts(r *factReader, f *Facts) {
	f.HouseholdIncomePerCapita, _ = r.amount("household_income_per_capita")
	switch f.Cause {
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
}

func writeFPBFacts(f Facts) orderedObject {
	obj := orderedObject{{"household_income_per_capita", money.String(f.HouseholdIncomePerCapita)}}
	switch f.Cause {
	case CauseIllness:
		obj = append(obj, orderedField{"bill_ref", f.BillRef}, orderedField{"self_pay", money.String(f.SelfPay)})
	case CauseEducation:
		obj = append(obj, orderedField{"self_pay", money.String(f.SelfPay)})
	case CauseDisaster:
		obj = append(obj, orderedField{"incident_ref", f.IncidentRef}, orderedField{"net_loss", money.String(f.NetLoss)})
	case CauseAccident:
		obj = append(obj, orderedField{"net_loss", money.String(f.NetLoss)})
	}
	return obj
}

// fpbReference: illness claims name the bill ZKB may also have paid on, and
// disaster claims the incident ZFB may have paid for; education and accident
// have no counterpart and no reference.
func fpbReference(f Facts) string {
	switch f.Cause {
	case CauseIllness:
		return f.BillRef
	case CauseDisaster:
		return f.IncidentRef
	}
	return ""
}

// fpbBase is self_pay or net_loss before any offset.
func fpbBase(f Facts) decimal.Decimal {
	switch f.Cause {
	case CauseIllness, CauseEducation:
		return f.SelfPay
	case CauseDisaster, CauseAccident:
		return f.NetLoss
	}
	return decimal.Zero
}

// accrueFPB: tiers and cause caps run per cause, the annual cap across them
// (done for every programme); and what ZKB paid on the same person's bill, or
// ZFB to the same household for the same incident, is offset so that the
// same loss is not paid twice (DESIGN §5).
func accrueFPB(p Pending, q Prior, own bool, s *Standing) {
	if own && q.Cause == p.Cause {
		s.History.PrevBase = s.History.PrevBase.Add(money.FromFen(q.Base))
		s.History.PaidCause = s.History.PaidCause.Add(money.FromFen(q.Payable))
	}
	if p.Reference == "" || q.Reference != p.Reference {
		return
	}
	switch {
	case p.Cause == CauseIllness && q.Programme == ZKB && q.BeneficiaryID == p.BeneficiaryID,
		p.Cause == CauseDisaster && q.Programme == ZFB && q.HouseholdID == p.HouseholdID:
		s.History.Offset = s.History.Offset.Add(money.FromFen(q.Payable))
	}
}

package policies

import (
	"fmt"

	"github.com/shopspring/decimal"

	"huimin/internal/apperr"
	"huimin/internal/money"
)

// zfbSpec is 政福保 (DESIGN §5): one-time relief per disaster, fixed by loss
// class, once per household and incident.
var zfbSpec = programmeSpec{
	Programme: Programme{Code: ZFB, Name: "政福保", Kind: "disaster_relief", Causes: []string{CauseDisaster}, CapSubject: CapSubjectHousehold},
	defaults:  `{"eligible_residency":["hukou","residence_permit","labour_contract"],"house_collapsed":{"per_room":"5000.00","max":"20000.00"},"house_damaged":"4000.00","death":"50000.00","disability_grade1":"50000.00","property_loss":{"deductible":"1000.00","rate":"0.50","max":"10000.00"},"annual_cap":"100000.00","required_evidence":["incident_certificate"]}`,

	// ZFB covers people by where they live or work, not by category.
	notAdmitted: ReasonResidencyNotEligible,
	parseRules: func(c *ruleChecker, tree map[string]any) Rules {
		return Rules{Programme: ZFB, ZFB: c.zfb(tree)}
	},
	rulesOf:    func(r Rules) programmeRules { return asProgrammeRules(r.ZFB) },
	factKeys:   zfbFactKeys,
	readFacts:  readZFBFacts,
	writeFacts: writeZFBFacts,
	reference:  func(f Facts) string { return f.IncidentRef },
	base:       zfbBase,
	accrue:     accrueZFB,
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

func (z *ZFBRules) coversCause(cause string) bool    { return cause == CauseDisaster }
func (z *ZFBRules) requiredEvidence(string) []string { return z.RequiredEvidence }
func (z *ZFBRules) annualCap() decimal.Decimal       { return z.AnnualCap }

// eligibleCategories is nil: ZFB admits by residency (EligibleResidency).
func (z *ZFBRules) eligibleCategories() []string { return nil }

func (z *ZFBRules) admits(_, residency []string) bool {
	return intersects(residency, z.EligibleResidency)
}

// factReasons: whether the household was already paid for the incident
// depends on other claims, so it is StandingOf's already_compensated, not a
// fact-based reason.
func (z *ZFBRules) factReasons(Facts) []string { return nil }

func (z *ZFBRules) assess(a *assessment, f Facts, _ []string, h History) {
	var exact decimal.Decimal
	switch f.LossClass {
	case "house_collapsed":
		exact = z.HouseCollapsed.PerRoom.Mul(decimal.NewFromInt(int64(f.Rooms)))
		if a.explains() {
			a.step(fmt.Sprintf("House collapsed: %d room(s) × %s per room", f.Rooms, money.String(z.HouseCollapsed.PerRoom)), exact)
		}
		if exact.GreaterThan(z.HouseCollapsed.Max) {
			exact = z.HouseCollapsed.Max
			if a.explains() {
				a.step(fmt.Sprintf("Limited to the house-collapsed maximum %s", money.String(z.HouseCollapsed.Max)), exact)
			}
		}
	case "house_damaged":
		exact = z.HouseDamaged
		a.step("House damaged: fixed relief", exact)
	case "death":
		exact = z.Death
		a.step("Death: fixed relief", exact)
	case "disability":
		// (11 − grade)/10 of the grade-1 amount: grade 1 gets all of it,
		// grade 10 a tenth. Shift(-1) divides by ten exactly.
		exact = z.DisabilityGrade1.Mul(decimal.NewFromInt(int64(11 - f.DisabilityGrade))).Shift(-1)
		if a.explains() {
			a.step(fmt.Sprintf("Disability grade %d: %s × (11 − %d) / 10 = %s%s", f.DisabilityGrade, money.String(z.DisabilityGrade1), f.DisabilityGrade, formatExact(exact), roundingNote(exact)), money.Round(exact))
		}
	case "property_loss":
		pl := z.PropertyLoss
		a.step("Assessed property loss", f.AssessedLoss)
		exact = pl.Rate.Mul(nonNegative(f.AssessedLoss.Sub(pl.Deductible)))
		if a.explains() {
			a.step(fmt.Sprintf("Property loss relief: %s × max(0, %s − deductible %s) = %s%s", formatRate(pl.Rate), money.String(f.AssessedLoss), money.String(pl.Deductible), formatExact(exact), roundingNote(exact)), money.Round(exact))
		}
		if exact.GreaterThan(pl.Max) {
			exact = pl.Max
			if a.explains() {
				a.step(fmt.Sprintf("Limited to the property-loss maximum %s", money.String(pl.Max)), exact)
			}
		}
	}
	raw := money.Round(exact)
	// ZFB does not accumulate; its base is the relief due, see Assessment.Base.
	a.Base = raw
	a.step("Relief due before the annual cap", raw)
	a.applyCaps(raw, []capRoom{{"Annual cap per household", z.AnnualCap, "already paid this year", h.PaidAnnual}})
}

// zfbMeasures maps each loss-class measure to the one class it belongs to,
// in the order the keys are read and written.
var zfbMeasures = []struct{ key, class string }{
	{"rooms", "house_collapsed"},
	{"disability_grade", "disability"},
	{"assessed_loss", "property_loss"},
}

// zfbFactKeys: ZFB has one cause, so its keys do not depend on it.
func zfbFactKeys(string) []string {
	return []string{"incident_ref", "loss_class", "rooms", "disability_grade", "assessed_loss"}
}

func readZFBFacts(r *factReader, f *Facts) {
	f.IncidentRef = r.reference("incident_ref")
	f.LossClass = r.enum("loss_class", LossClasses)
	// Each class has its own measure; a measure of another class is a sign
	// the claim was filled in wrongly, so it is refused rather than ignored.
	for _, m := range zfbMeasures {
		_, present := r.m[m.key]
		switch {
		case f.LossClass == "":
			// loss_class itself is wrong; which measures apply is unknown.
		case f.LossClass == m.class:
			switch m.key {
			case "rooms":
				f.Rooms = r.integer(m.key, 1, 50)
			case "disability_grade":
				f.DisabilityGrade = r.integer(m.key, 1, 10)
			case "assessed_loss":
				f.AssessedLoss, _ = r.amount(m.key)
			}
		case present:
			r.errs.Add(apperr.Join(factsRoot, m.key), "does not apply to loss_class %s (only to %s)", f.LossClass, m.class)
		}
	}
}

// writeZFBFacts writes only the measure of the claim's loss class, as
// readZFBFacts accepts only that one.
func writeZFBFacts(f Facts) orderedObject {
	obj := orderedObject{{"incident_ref", f.IncidentRef}, {"loss_class", f.LossClass}}
	switch f.LossClass {
	case "house_collapsed":
		obj = append(obj, orderedField{"rooms", f.Rooms})
	case "disability":
		obj = append(obj, orderedField{"disability_grade", f.DisabilityGrade})
	case "property_loss":
		obj = append(obj, orderedField{"assessed_loss", money.String(f.AssessedLoss)})
	}
	return obj
}

// zfbBase is the assessed loss for property_loss and zero for the other
// classes, whose relief does not depend on an amount.
func zfbBase(f Facts) decimal.Decimal {
	if f.LossClass == "property_loss" {
		return f.AssessedLoss
	}
	return decimal.Zero
}

// accrueZFB: ZFB pays once per household and incident_ref, whichever ZFB plan
// paid first (a county plan and the city plan must not both pay).
func accrueZFB(p Pending, q Prior, own bool, s *Standing) {
	if own {
		// ZFB does not accumulate, but the sum is kept as for every
		// programme so that History means the same everywhere.
		s.History.PrevBase = s.History.PrevBase.Add(money.FromFen(q.Base))
	}
	if q.Programme == ZFB && q.HouseholdID == p.HouseholdID && q.Reference == p.Reference {
		s.AlreadyCompensated = true
	}
}

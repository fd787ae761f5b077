package policies

import (
	"fmt"

	"github.com/shopspring/decimal"

	"huimin/internal/money"
)

// History is what earlier counted claims (DESIGN §5: assessed, approved,
// disbursed, paid, or rejected only for nothing_payable) contribute to this
// one. The caller sums it from the store, under a lock on the cap subject so
// that two claims assessed at once cannot both use the same room.
type History struct {
	// PrevBase is Σ Assessment.Base of earlier counted claims of the same cap
	// subject and plan, and for FPB the same cause. ZKB: same person and
	// plan, inpatient and outpatient together (the deductible and ratio apply
	// to the year's medical costs as a whole).
	PrevBase decimal.Decimal
	// PaidAnnual is Σ payable of counted claims of the same cap subject and
	// plan, all causes.
	PaidAnnual decimal.Decimal
	// PaidCause is FPB only: Σ payable of the household's counted claims of
	// this plan and cause.
	PaidCause decimal.Decimal
	// PaidOutpatient is ZKB only: Σ payable of the person's counted
	// outpatient claims of this plan.
	PaidOutpatient decimal.Decimal
	// Offset is what another programme already paid for the same loss, so it
	// is not paid twice. FPB illness: Σ payable of the person's counted ZKB
	// claims with the same bill_ref. FPB disaster: Σ payable of the
	// household's counted ZFB claims with the same incident_ref. Ignored
	// elsewhere.
	Offset decimal.Decimal
}

// Step is one line of a claim's breakdown: what was computed, in words a
// finance clerk can check by hand, and the resulting amount in whole fen.
type Step struct {
	Description string       `json:"description"`
	Amount      money.Amount `json:"amount"`
}

// Assessment is the outcome of the payout math for one claim.
type Assessment struct {
	// Base is the claim's base as it counts toward accumulation, after any
	// offset; the caller stores it and sums it into later claims' PrevBase.
	// ZKB: max(0, policy scope − the three layers). FPB: self_pay or
	// net_loss less the offset, never below 0. CYB: the premium or primary
	// claim the rate applies to. ZFB, which does not accumulate: the relief
	// due by the formula of the loss class (equal to Raw), so that the stored
	// base of every programme is an amount in yuan.
	Base decimal.Decimal
	// Raw is the rounded amount due before caps.
	Raw decimal.Decimal
	// Payable is Raw after the caps: whole fen, never negative.
	Payable decimal.Decimal
	// CapReached is true when Raw > 0 but the caps left no room (Payable 0):
	// the caller rejects the claim with annual_cap_reached rather than
	// nothing_payable.
	CapReached bool
	// Breakdown explains the computation, one line per step.
	Breakdown []Step
}

// AssessInput is what Assess needs. Categories are the beneficiary's
// categories valid on the event date: the ZKB ratio is the best among those
// that are eligible.
type AssessInput struct {
	Rules      Rules
	Cause      string
	Facts      Facts
	Categories []string
	History    History
}

// Assess computes a claim's payable under its plan's rules (DESIGN §5). It
// assumes eligibility has been checked; given a cause or facts the rules do
// not cover it pays nothing and says so in the breakdown, rather than
// failing. It is pure and exact: tiers are evaluated exactly, amounts are
// rounded half-up to the fen after tiers and before caps, and accumulated
// rules pay round(F(PrevBase + base)) − round(F(PrevBase)).
func Assess(in AssessInput) Assessment {
	a := &assessment{}
	r, f := in.Rules, in.Facts
	if !r.CoversCause(in.Cause) || f.Programme != r.Programme || f.Cause != in.Cause {
		a.step(fmt.Sprintf("Nothing to assess: the plan's %s rules do not cover cause %q with these facts", r.Programme, in.Cause), decimal.Zero)
		a.Payable = decimal.Zero
		return a.Assessment
	}
	switch r.Programme {
	case ZKB:
		a.zkb(r.ZKB, f, in.Categories, in.History)
	case ZFB:
		a.zfb(r.ZFB, f, in.History)
	case FPB:
		a.fpb(r.FPB, f, in.History)
	case CYB:
		a.cyb(r.CYB, f, in.History)
	}
	return a.Assessment
}

// assessment builds an Assessment step by step.
type assessment struct {
	Assessment
}

func (a *assessment) step(description string, amount decimal.Decimal) {
	a.Breakdown = append(a.Breakdown, Step{Description: description, Amount: money.Of(amount)})
}

func (a *assessment) zkb(z *ZKBRules, f Facts, categories []string, h History) {
	base := f.Base()
	a.step(fmt.Sprintf("Base: policy-scope cost %s − basic medical insurance %s − critical illness insurance %s − medical assistance %s%s",
		money.String(f.PolicyScopeCost), money.String(f.BasicInsurancePaid), money.String(f.CriticalIllnessPaid),
		money.String(f.MedicalAssistancePaid), flooredNote(f.PolicyScopeCost.Sub(f.BasicInsurancePaid).Sub(f.CriticalIllnessPaid).Sub(f.MedicalAssistancePaid))), base)
	a.Base = base

	category, ratio, ok := z.BestRatio(categories)
	label := fmt.Sprintf("ratio %s of %s, the best of the beneficiary's eligible categories", formatRate(ratio), category)
	if !ok {
		label = "no eligible category, ratio 0"
	}
	// ZKB's F is a single unbounded band at the ratio above the deductible.
	brackets := []Bracket{{Rate: ratio}}
	raw := a.accumulate("medical", h.PrevBase, base, z.Deductible, brackets, label)

	caps := []capRoom{{fmt.Sprintf("Annual cap per person %s − already paid this year %s", money.String(z.AnnualCap), money.String(h.PaidAnnual)), z.AnnualCap, h.PaidAnnual}}
	if f.ServiceType == "outpatient" {
		caps = append(caps, capRoom{fmt.Sprintf("Outpatient annual cap %s − outpatient already paid this year %s", money.String(z.OutpatientAnnualCap), money.String(h.PaidOutpatient)), z.OutpatientAnnualCap, h.PaidOutpatient})
	}
	a.applyCaps(raw, caps)
}

func (a *assessment) zfb(z *ZFBRules, f Facts, h History) {
	var exact decimal.Decimal
	switch f.LossClass {
	case "house_collapsed":
		exact = z.HouseCollapsed.PerRoom.Mul(decimal.NewFromInt(int64(f.Rooms)))
		a.step(fmt.Sprintf("House collapsed: %d room(s) × %s per room", f.Rooms, money.String(z.HouseCollapsed.PerRoom)), exact)
		if exact.GreaterThan(z.HouseCollapsed.Max) {
			exact = z.HouseCollapsed.Max
			a.step(fmt.Sprintf("Limited to the house-collapsed maximum %s", money.String(z.HouseCollapsed.Max)), exact)
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
		a.step(fmt.Sprintf("Disability grade %d: %s × (11 − %d) / 10 = %s%s", f.DisabilityGrade, money.String(z.DisabilityGrade1), f.DisabilityGrade, formatExact(exact), roundingNote(exact)), money.Round(exact))
	case "property_loss":
		pl := z.PropertyLoss
		a.step("Assessed property loss", f.AssessedLoss)
		exact = pl.Rate.Mul(nonNegative(f.AssessedLoss.Sub(pl.Deductible)))
		a.step(fmt.Sprintf("Property loss relief: %s × max(0, %s − deductible %s) = %s%s", formatRate(pl.Rate), money.String(f.AssessedLoss), money.String(pl.Deductible), formatExact(exact), roundingNote(exact)), money.Round(exact))
		if exact.GreaterThan(pl.Max) {
			exact = pl.Max
			a.step(fmt.Sprintf("Limited to the property-loss maximum %s", money.String(pl.Max)), exact)
		}
	}
	raw := money.Round(exact)
	// ZFB does not accumulate; its base is the relief due, see Assessment.Base.
	a.Base = raw
	a.step("Relief due before the annual cap", raw)
	a.applyCaps(raw, []capRoom{{fmt.Sprintf("Annual cap per household %s − already paid this year %s", money.String(z.AnnualCap), money.String(h.PaidAnnual)), z.AnnualCap, h.PaidAnnual}})
}

func (a *assessment) fpb(p *FPBRules, f Facts, h History) {
	tier := p.Causes[f.Cause]
	gross := f.Base()
	var what, offsetWhat string
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
	a.step(what, gross)
	base := gross
	// Only illness and disaster have a counterpart programme paying for
	// the same loss (ZKB for the bill, ZFB for the incident).
	if offsetWhat != "" && h.Offset.IsPositive() {
		a.step(offsetWhat, h.Offset)
		base = nonNegative(gross.Sub(h.Offset))
		a.step(fmt.Sprintf("Base after offset: %s − %s%s", money.String(gross), money.String(h.Offset), flooredNote(gross.Sub(h.Offset))), base)
	}
	a.Base = base
	raw := a.accumulate(f.Cause, h.PrevBase, base, tier.Deductible, tier.Brackets, f.Cause+" tier")
	a.applyCaps(raw, []capRoom{
		{fmt.Sprintf("Household %s cap %s − already paid for %s this year %s", f.Cause, money.String(tier.Cap), f.Cause, money.String(h.PaidCause)), tier.Cap, h.PaidCause},
		{fmt.Sprintf("Household annual cap %s − already paid this year, all causes %s", money.String(p.AnnualCap), money.String(h.PaidAnnual)), p.AnnualCap, h.PaidAnnual},
	})
}

func (a *assessment) cyb(y *CYBRules, f Facts, h History) {
	var exact decimal.Decimal
	switch f.Cause {
	case CausePremiumSubsidy:
		rate, note := y.PremiumSubsidy.RateWithoutCounty, "no county subsidy"
		if f.CountySubsidised {
			rate, note = y.PremiumSubsidy.RateWithCounty, "county subsidised"
		}
		a.step(fmt.Sprintf("Premium paid, %s policy %s", f.Industry, f.PrimaryPolicyNo), f.PremiumPaid)
		exact = rate.Mul(f.PremiumPaid)
		a.step(fmt.Sprintf("Premium re-subsidy: rate %s (%s) × %s = %s%s", formatRate(rate), note, money.String(f.PremiumPaid), formatExact(exact), roundingNote(exact)), money.Round(exact))
	case CauseLossTopup:
		a.step(fmt.Sprintf("Primary insurance claim paid, %s policy %s", f.Industry, f.PrimaryPolicyNo), f.PrimaryClaimPaid)
		exact = y.LossTopup.Rate.Mul(f.PrimaryClaimPaid)
		a.step(fmt.Sprintf("Loss top-up: rate %s × %s = %s%s", formatRate(y.LossTopup.Rate), money.String(f.PrimaryClaimPaid), formatExact(exact), roundingNote(exact)), money.Round(exact))
	}
	a.Base = f.Base()
	raw := money.Round(exact)
	a.applyCaps(raw, []capRoom{{fmt.Sprintf("Annual cap per operator %s − already paid this year %s", money.String(y.AnnualCap), money.String(h.PaidAnnual)), y.AnnualCap, h.PaidAnnual}})
}

// accumulate applies an accumulated tier (ZKB, FPB): the claim's raw amount is
// round(F(prev + base)) − round(F(prev)). Rounding the cumulative amounts
// before differencing makes the sum over several claims telescope to
// round(F(total)), exactly what one claim for the total would pay.
func (a *assessment) accumulate(what string, prev, base, deductible decimal.Decimal, brackets []Bracket, label string) decimal.Decimal {
	total := prev.Add(base)
	a.step(fmt.Sprintf("Accumulated %s base this year: earlier counted claims %s + this claim %s", what, money.String(prev), money.String(base)), total)
	rTotal := money.Round(Tier(total, deductible, brackets))
	a.step(describeTier(total, deductible, brackets)+" ["+label+"]", rTotal)
	rPrev := money.Round(Tier(prev, deductible, brackets))
	a.step(describeTier(prev, deductible, brackets)+", for earlier counted claims", rPrev)
	// F is monotone, so this is never negative; the floor only guards
	// against a history that is not this plan's.
	raw := nonNegative(rTotal.Sub(rPrev))
	a.step(fmt.Sprintf("This claim: F(%s) − F(%s) = %s − %s", money.String(total), money.String(prev), money.String(rTotal), money.String(rPrev)), raw)
	return raw
}

// capRoom is one cap the payable must fit in: the room is cap − used.
type capRoom struct {
	label string
	cap   decimal.Decimal
	used  decimal.Decimal
}

// applyCaps sets Raw, Payable and CapReached: the payable is the raw amount
// limited by the room left under each cap (never below zero: a cap lowered
// after payments leaves no room rather than a negative one).
func (a *assessment) applyCaps(raw decimal.Decimal, caps []capRoom) {
	a.Raw = raw
	payable := raw
	for _, c := range caps {
		room := nonNegative(c.cap.Sub(c.used))
		desc := c.label + " = room " + money.String(room)
		if room.LessThan(payable) {
			payable = room
			desc += ", limits this claim"
		}
		a.step(desc, room)
	}
	// Whole fen, rounded down so the payable never exceeds a room.
	payable = money.FloorFen(payable)
	a.Payable = payable
	a.CapReached = raw.IsPositive() && payable.IsZero()
	switch {
	case a.CapReached:
		a.step("Payable: no room left under the cap", payable)
	case payable.LessThan(raw):
		a.step(fmt.Sprintf("Payable: %s limited by the cap", money.String(raw)), payable)
	default:
		a.step("Payable", payable)
	}
}

// roundingNote says that an exact value was rounded, when it was.
func roundingNote(exact decimal.Decimal) string {
	if exact.Equal(money.Round(exact)) {
		return ""
	}
	return ", rounded half-up to the fen " + money.String(money.Round(exact))
}

// flooredNote says that a negative difference was floored at zero.
func flooredNote(d decimal.Decimal) string {
	if d.IsNegative() {
		return " (negative, so 0)"
	}
	return ""
}

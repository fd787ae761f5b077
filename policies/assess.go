package policies

import (
	"fmt"

	"github.com/shopspring/decimal"

	"huimin/internal/money"
)

// History is what earlier counted claims (DESIGN §5: assessed, approved,
// disbursed, paid, or rejected only for nothing_payable) contribute to this
// one. StandingOf sums it from those claims; the caller reads them from the
// store under a lock on the cap subject, so that two claims assessed at once
// cannot both use the same room.
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

// StepsJSON is json.Marshal(steps), written directly: every claim stores
// its breakdown, and encoding/json's reflection and its second pass over
// each amount's MarshalJSON cost more than the assessment.
func StepsJSON(steps []Step) []byte {
	if steps == nil {
		return []byte("null")
	}
	buf := make([]byte, 0, 96*len(steps)+2)
	buf = append(buf, '[')
	for i, st := range steps {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"description":`...)
		buf, _ = appendValue(buf, st.Description) // a string never fails
		buf = append(buf, `,"amount":"`...)
		buf = append(buf, money.String(st.Amount.Decimal)...)
		buf = append(buf, `"}`...)
	}
	return append(buf, ']')
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
	r, f := in.Rules, in.Facts
	a := &assessment{quiet: r.quiet}
	if !r.CoversCause(in.Cause) || f.Programme != r.Programme || f.Cause != in.Cause {
		if a.explains() {
			a.step(fmt.Sprintf("Nothing to assess: the plan's %s rules do not cover cause %q with these facts", r.Programme, in.Cause), decimal.Zero)
		}
		a.Payable = decimal.Zero
		return a.Assessment
	}
	// CoversCause held, so the rules carry the programme's typed rules.
	r.typed().assess(a, f, in.Categories, in.History)
	return a.Assessment
}

// assessment builds an Assessment step by step. A quiet one
// (Rules.WithoutBreakdown) computes the same amounts and words no step:
// the programmes word a step only when it explains.
type assessment struct {
	Assessment
	quiet bool
}

// explains reports whether the steps are worded.
func (a *assessment) explains() bool { return !a.quiet }

func (a *assessment) step(description string, amount decimal.Decimal) {
	if a.quiet {
		return
	}
	a.Breakdown = append(a.Breakdown, Step{Description: description, Amount: money.Of(amount)})
}

// accumulate applies an accumulated tier (ZKB, FPB): the claim's raw amount is
// round(F(prev + base)) − round(F(prev)). Rounding the cumulative amounts
// before differencing makes the sum over several claims telescope to
// round(F(total)), exactly what one claim for the total would pay.
func (a *assessment) accumulate(what string, prev, base, deductible decimal.Decimal, brackets []Bracket, label string) decimal.Decimal {
	total := prev.Add(base)
	rTotal := money.Round(Tier(total, deductible, brackets))
	rPrev := money.Round(Tier(prev, deductible, brackets))
	// F is monotone, so this is never negative; the floor only guards
	// against a history that is not this plan's.
	raw := nonNegative(rTotal.Sub(rPrev))
	if a.explains() {
		a.step(fmt.Sprintf("Accumulated %s base this year: earlier counted claims %s + this claim %s", what, money.String(prev), money.String(base)), total)
		a.step(describeTier(total, deductible, brackets)+" ["+label+"]", rTotal)
		a.step(describeTier(prev, deductible, brackets)+", for earlier counted claims", rPrev)
		a.step(fmt.Sprintf("This claim: F(%s) − F(%s) = %s − %s", money.String(total), money.String(prev), money.String(rTotal), money.String(rPrev)), raw)
	}
	return raw
}

// capRoom is one cap the payable must fit in: the room is cap − used. Its
// breakdown line reads "<name> <cap> − <usedName> <used> = room <room>".
type capRoom struct {
	name     string
	cap      decimal.Decimal
	usedName string
	used     decimal.Decimal
}

// applyCaps sets Raw, Payable and CapReached: the payable is the raw amount
// limited by the room left under each cap (never below zero: a cap lowered
// after payments leaves no room rather than a negative one).
func (a *assessment) applyCaps(raw decimal.Decimal, caps []capRoom) {
	a.Raw = raw
	payable := raw
	for _, c := range caps {
		room := nonNegative(c.cap.Sub(c.used))
		limits := room.LessThan(payable)
		if limits {
			payable = room
		}
		if a.explains() {
			desc := c.name + " " + money.String(c.cap) + " − " + c.usedName + " " + money.String(c.used) + " = room " + money.String(room)
			if limits {
				desc += ", limits this claim"
			}
			a.step(desc, room)
		}
	}
	// Whole fen, rounded down so the payable never exceeds a room.
	payable = money.FloorFen(payable)
	a.Payable = payable
	a.CapReached = raw.IsPositive() && payable.IsZero()
	if !a.explains() {
		return
	}
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

package policies

import (
	"strings"

	"github.com/shopspring/decimal"

	"huimin/internal/money"
)

// Bracket is one band of a tiered rule: the rate applies to the accumulated
// base between the previous bracket's UpTo (the deductible for the first) and
// this one's. A nil UpTo means the band has no upper bound.
type Bracket struct {
	UpTo *decimal.Decimal
	Rate decimal.Decimal
}

// Tier is F(x) of DESIGN §5:
//
//	F(x) = Σ rate_i × max(0, min(x, up_to_i) − lower_i)
//
// with lower_1 = deductible and lower_i = up_to_{i−1}. The result is exact and
// unrounded: callers round the cumulative values before differencing them, so
// that splitting a cost over several claims pays what one claim would.
func Tier(x, deductible decimal.Decimal, brackets []Bracket) decimal.Decimal {
	total := decimal.Zero
	lower := deductible
	for _, b := range brackets {
		top := x
		if b.UpTo != nil && b.UpTo.LessThan(x) {
			top = *b.UpTo
		}
		if top.GreaterThan(lower) {
			total = total.Add(b.Rate.Mul(top.Sub(lower)))
		}
		if b.UpTo == nil {
			break // an unbounded band swallows everything above it
		}
		lower = *b.UpTo
		if !x.GreaterThan(lower) {
			break
		}
	}
	return total
}

// describeTier spells F(x) out for a breakdown line, one term per band that
// contributes, then the exact value and its rounding:
// "F(42000.00) = 0.30 × (20000.00 − 5000.00) + 0.50 × (42000.00 − 20000.00) = 15500.00".
func describeTier(x, deductible decimal.Decimal, brackets []Bracket) string {
	var terms []string
	lower := deductible
	for _, b := range brackets {
		top := x
		if b.UpTo != nil && b.UpTo.LessThan(x) {
			top = *b.UpTo
		}
		if top.GreaterThan(lower) {
			terms = append(terms, formatRate(b.Rate)+" × ("+money.String(top)+" − "+money.String(lower)+")")
		}
		if b.UpTo == nil {
			break
		}
		lower = *b.UpTo
		if !x.GreaterThan(lower) {
			break
		}
	}
	head := "F(" + money.String(x) + ")"
	if len(terms) == 0 {
		return head + " = 0.00, not above the deductible " + money.String(deductible)
	}
	exact := Tier(x, deductible, brackets)
	return head + " = " + strings.Join(terms, " + ") + " = " + formatExact(exact) + roundingNote(exact)
}

// formatRate writes a rate with two to four decimals: "0.30", "1.00", "0.125".
// Rates are validated to at most four decimals, so nothing is lost.
func formatRate(r decimal.Decimal) string {
	s := r.StringFixed(4)
	for strings.HasSuffix(s, "0") && len(s)-strings.IndexByte(s, '.') > 3 {
		s = s[:len(s)-1]
	}
	return s
}

// formatExact writes an exact (possibly sub-fen) amount with at least two
// decimals, so a breakdown can show the value before rounding: "2203.701".
func formatExact(d decimal.Decimal) string {
	if d.Equal(d.Round(2)) {
		return money.String(d)
	}
	return d.String() // more than two significant decimals, none trailing
}

// nonNegative is max(0, d).
func nonNegative(d decimal.Decimal) decimal.Decimal {
	if d.IsNegative() {
		return decimal.Zero
	}
	return d
}

// bracketJSON is a bracket as the canonical rules write it.
type bracketJSON struct {
	UpTo *string `json:"up_to"`
	Rate string  `json:"rate"`
}

// canonicalBrackets writes a tier's brackets with amounts as two-decimal
// strings and the unbounded band as null, as ParseRules reads them back.
func canonicalBrackets(brackets []Bracket) []bracketJSON {
	out := make([]bracketJSON, len(brackets))
	for i, b := range brackets {
		out[i].Rate = formatRate(b.Rate)
		if b.UpTo != nil {
			s := money.String(*b.UpTo)
			out[i].UpTo = &s
		}
	}
	return out
}

// Package money is the one place that converts amounts: decimal.Decimal in Go,
// integer fen (BIGINT) in the database, two-decimal strings in JSON (DESIGN §3).
package money

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"huimin/internal/rawjson"
)

// Max is the largest amount accepted anywhere: 999999999999.99 yuan.
var Max = decimal.RequireFromString("999999999999.99")

// Zero is 0.00 yuan.
var Zero = decimal.Zero

// plain reports whether s is a non-negative decimal of 1 to 12 digits with
// at most two decimals and no exponent, sign or surrounding space: what a
// request may carry (^[0-9]{1,12}(\.[0-9]{1,2})?$, without a regexp: it
// runs for every amount of every claim).
func plain(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	return len(whole) >= 1 && len(whole) <= 12 && digits(whole) &&
		(!dot || len(frac) >= 1 && len(frac) <= 2 && digits(frac))
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ErrInvalid is wrapped by every parse failure; the message says why.
var ErrInvalid = errors.New("invalid amount")

// Parse reads a request amount from its text: 0 ≤ x ≤ 999999999999.99, at most
// two decimals, no sign, exponent, NaN or Inf.
func Parse(s string) (decimal.Decimal, error) {
	if !plain(s) {
		return decimal.Zero, fmt.Errorf("%w: must be a non-negative amount with at most two decimals, at most 999999999999.99", ErrInvalid)
	}
	d, err := decimal.NewFromString(s)
	if err != nil || d.GreaterThan(Max) {
		return decimal.Zero, fmt.Errorf("%w: must be at most 999999999999.99", ErrInvalid)
	}
	return d, nil
}

// ParseJSON reads a request amount given as a JSON string ("12.50") or number
// (12.5). A number is taken from its literal text, never through float64.
func ParseJSON(raw json.RawMessage) (decimal.Decimal, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return decimal.Zero, fmt.Errorf("%w: is required", ErrInvalid)
	}
	if raw[0] == '"' {
		s, ok := rawjson.Text(raw)
		if !ok {
			return decimal.Zero, fmt.Errorf("%w: not a string", ErrInvalid)
		}
		return Parse(s)
	}
	if raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') {
		return Parse(string(raw))
	}
	return decimal.Zero, fmt.Errorf("%w: must be a string or number", ErrInvalid)
}

// ToFen converts yuan to integer fen. The amount must already be whole fen
// (Round it first); a sub-fen remainder is a programming error and panics, so
// that money is never silently truncated on its way to the database.
func ToFen(d decimal.Decimal) int64 {
	f := d.Shift(2)
	if !f.IsInteger() {
		panic(fmt.Sprintf("money: %s is not whole fen", d))
	}
	return f.IntPart()
}

// FromFen converts integer fen to yuan.
func FromFen(fen int64) decimal.Decimal { return decimal.New(fen, -2) }

// Round rounds half-up to the fen (amounts are never negative where it is used;
// shopspring rounds half away from zero, which is half-up for x ≥ 0).
func Round(d decimal.Decimal) decimal.Decimal { return d.Round(2) }

// FloorFen rounds down to the fen, for pro-rata settlements that must never
// exceed the budget.
func FloorFen(d decimal.Decimal) decimal.Decimal { return d.RoundFloor(2) }

// String formats an amount with exactly two decimals, as JSON answers carry it:
// d.StringFixed(2). An amount of at most two decimals and 16 digits (every
// amount a claim carries) is formatted from its integer fen directly; a
// claim's facts, breakdown and answer format a dozen, and StringFixed's
// rounding and big.Int formatting were 8 % of the server's CPU in a batch.
func String(d decimal.Decimal) string {
	exp := d.Exponent()
	if exp < -2 || exp > 0 || d.NumDigits() > 16 {
		return d.StringFixed(2)
	}
	fen := d.CoefficientInt64()
	for ; exp > -2; exp-- {
		fen *= 10
	}
	var buf [24]byte
	i := len(buf)
	neg := fen < 0
	if neg {
		fen = -fen
	}
	for n := 0; n < 3 || fen > 0; n++ {
		if n == 2 {
			i--
			buf[i] = '.'
		}
		i--
		buf[i] = byte('0' + fen%10)
		fen /= 10
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}

// Amount is a money value in answers and records: it marshals to a
// two-decimal JSON string, and is stored as integer fen.
type Amount struct{ decimal.Decimal }

// Of wraps d as an Amount.
func Of(d decimal.Decimal) Amount { return Amount{d} }

// Fen wraps an integer fen value as an Amount.
func Fen(fen int64) Amount { return Amount{FromFen(fen)} }

// MarshalJSON writes "1234.50".
func (a Amount) MarshalJSON() ([]byte, error) { return []byte(`"` + String(a.Decimal) + `"`), nil }

// UnmarshalJSON accepts what Parse accepts, as a string or a number.
func (a *Amount) UnmarshalJSON(b []byte) error {
	d, err := ParseJSON(b)
	if err != nil {
		return err
	}
	a.Decimal = d
	return nil
}

// Fen returns the amount in integer fen.
func (a Amount) Fen() int64 { return ToFen(a.Decimal) }

// String formats with two decimals.
func (a Amount) String() string { return String(a.Decimal) }

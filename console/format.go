package console

import (
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"huimin/internal/civil"
	"huimin/internal/money"
)

// yuan formats an amount as people write it: ¥12,345.67. It takes what the
// services hand out — money.Amount, a decimal, integer fen or a two-decimal
// string — and never goes through float64.
func yuan(v any) string {
	var s string
	switch a := v.(type) {
	case money.Amount:
		s = a.String()
	case *money.Amount:
		if a == nil {
			return ""
		}
		s = a.String()
	case decimal.Decimal:
		s = money.String(a)
	case int64:
		s = money.String(money.FromFen(a))
	case string:
		d, err := decimal.NewFromString(a)
		if err != nil {
			return a
		}
		s = money.String(d)
	default:
		return ""
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteString("¥")
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	b.WriteByte('.')
	b.WriteString(frac)
	return b.String()
}

// chinaTime formats an RFC 3339 timestamp of the API, or Unix
// milliseconds, in China time: 2026-06-15 10:00:00.
func chinaTime(v any) string {
	var t time.Time
	switch x := v.(type) {
	case string:
		if x == "" {
			return ""
		}
		p, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return x
		}
		t = p
	case int64:
		t = time.UnixMilli(x)
	case *int64:
		if x == nil {
			return ""
		}
		t = time.UnixMilli(*x)
	case time.Time:
		t = x
	default:
		return ""
	}
	return t.In(civil.Shanghai).Format("2006-01-02 15:04:05")
}

// ratio formats a share as a percentage with two decimals: "62.50%".
func ratio(num, den int64) string {
	if den <= 0 {
		return "100.00%"
	}
	r := decimal.NewFromInt(num).Mul(decimal.NewFromInt(100)).Div(decimal.NewFromInt(den))
	if r.GreaterThan(decimal.NewFromInt(100)) {
		r = decimal.NewFromInt(100)
	}
	return r.RoundFloor(2).StringFixed(2) + "%"
}

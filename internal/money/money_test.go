package money_test

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/money"
	"huimin/internal/testdb"
)

func TestParseJSON(t *testing.T) {
	good := map[string]string{
		`"0"`: "0.00", `"0.5"`: "0.50", `"1234.56"`: "1234.56", `12.5`: "12.50", `7`: "7.00",
		`"999999999999.99"`: "999999999999.99", `0.01`: "0.01",
	}
	for in, want := range good {
		d, err := money.ParseJSON(json.RawMessage(in))
		require.NoError(t, err, in)
		require.Equal(t, want, money.String(d), in)
	}
	bad := []string{
		`"1.234"`, `1.234`, `"-1"`, `-0.01`, `"NaN"`, `"Inf"`, `"1e3"`, `1e3`, `1E2`, `"1000000000000.00"`,
		`1000000000000`, `" 1"`, `"1 "`, `""`, `null`, `true`, `{}`, `[]`, `"0x10"`, `"+1"`, `".5"`, `"1."`,
		`"１２"`, `"12,5"`,
	}
	for _, in := range bad {
		_, err := money.ParseJSON(json.RawMessage(in))
		require.Error(t, err, in)
		require.ErrorIs(t, err, money.ErrInvalid, in)
	}
}

// Parse accepts exactly the texts of the pattern it was first written with,
// ^[0-9]{1,12}(\.[0-9]{1,2})?$, now checked by hand.
func TestParseAcceptsThePattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[0-9]{1,12}(\.[0-9]{1,2})?$`)
	texts := []string{"", ".", "0", "00", "0.", ".0", "0.0", "0.00", "0.000", "1.2.3", "12a", "a12", "1 ", " 1", "１",
		"123456789012", "1234567890123", "123456789012.12", "123456789012.123", "9.99", "-1", "+1", "1e2", "1_0"}
	for a := range 256 { // every two-byte text over digits, dot and a few others
		for b := range 256 {
			texts = append(texts, string([]byte{byte(a)}), string([]byte{byte(a), byte(b)}), "1"+string([]byte{byte(a), byte(b)}))
		}
	}
	for _, in := range texts {
		_, err := money.Parse(in)
		require.Equal(t, pattern.MatchString(in), err == nil, "%q", in)
	}
}

// String is StringFixed(2) for every decimal, on its fast path or off it.
func TestStringIsStringFixed(t *testing.T) {
	texts := []string{"0", "-0", "0.5", "-0.5", "0.05", "-0.05", "0.01", "1", "10", "100", "12.3", "12.34", "-12.34",
		"12.345", "12.355", "-12.345", "0.005", "0.004", "999999999999.99", "9999999999999999", "99999999999999.99",
		"999999999999999.99", "12345678901234567890", "-12345678901234567.8", "1e3", "1.5e2", "1e-3", "123456789.125"}
	for exp := int32(-4); exp <= 3; exp++ {
		for _, c := range []int64{0, 1, -1, 7, 99, 100, 101, -101, 123456, 9999999999999999, -9999999999999999, 99999999999999999} {
			texts = append(texts, decimal.New(c, exp).String())
		}
	}
	for _, s := range texts {
		d := decimal.RequireFromString(s)
		require.Equal(t, d.StringFixed(2), money.String(d), "%s", s)
	}
	for exp := int32(-3); exp <= 1; exp++ {
		for c := int64(-1200); c <= 1200; c++ {
			d := decimal.New(c, exp)
			require.Equal(t, d.StringFixed(2), money.String(d), "%s", d)
		}
	}
	require.Equal(t, decimal.New(5, 0).Add(decimal.New(25, -1)).StringFixed(2), money.String(decimal.New(5, 0).Add(decimal.New(25, -1))))
}

func TestRounding(t *testing.T) {
	d := decimal.RequireFromString
	require.Equal(t, "0.01", money.String(money.Round(d("0.005"))), "half a fen rounds up")
	require.Equal(t, "0.00", money.String(money.Round(d("0.0049999"))))
	require.Equal(t, "2469.13", money.String(money.Round(d("2469.134"))))
	require.Equal(t, "0.00", money.String(money.FloorFen(d("0.009"))), "settlements round down")
	require.Equal(t, "1.99", money.String(money.FloorFen(d("1.999999"))))
	require.Panics(t, func() { money.ToFen(d("0.001")) }, "sub-fen amounts never reach the database silently")
}

func TestAmountJSON(t *testing.T) {
	b, err := json.Marshal(struct{ A money.Amount }{money.Fen(123450)})
	require.NoError(t, err)
	require.JSONEq(t, `{"A":"1234.50"}`, string(b))
	var back struct{ A money.Amount }
	require.NoError(t, json.Unmarshal([]byte(`{"A":1234.5}`), &back))
	require.Equal(t, int64(123450), back.A.Fen())
	require.Error(t, json.Unmarshal([]byte(`{"A":"1234.505"}`), &back))
}

// TestFenRoundTripAndSumsInTheDatabase stores amounts as BIGINT fen and reads
// them and their SQL sum back exactly, on both databases.
func TestFenRoundTripAndSumsInTheDatabase(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		amounts := []string{"0.01", "0.10", "999999999999.99", "123456789.01", "0.00", "33333333.33", "0.99"}
		want := decimal.Zero
		for i, s := range amounts {
			a, err := money.Parse(s)
			require.NoError(t, err)
			want = want.Add(a)
			require.NoError(t, d.Exec(`INSERT INTO settlements (plan_code, idx, claims, total_payable, total_reserved, actor, at)
				VALUES ('MONEY', ?, 0, ?, ?, 't', 0)`, i, money.ToFen(a), money.ToFen(a)).Error)
		}
		var rows []int64
		require.NoError(t, d.Raw("SELECT total_payable FROM settlements WHERE plan_code = 'MONEY' ORDER BY idx").Scan(&rows).Error)
		for i, fen := range rows {
			require.Equal(t, amounts[i], money.String(money.FromFen(fen)), "round trip of %s", amounts[i])
		}
		var sum int64
		require.NoError(t, d.Raw("SELECT SUM(total_payable) FROM settlements WHERE plan_code = 'MONEY'").Scan(&sum).Error)
		require.Equal(t, money.String(want), money.String(money.FromFen(sum)))
		require.Equal(t, "1000156790123.43", money.String(money.FromFen(sum)))
	})
}

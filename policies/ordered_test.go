package policies

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"huimin/internal/money"
)

// Facts and rules are written key by key, plain values directly: the bytes
// are what json.Marshal of each key and value gives, for any text.
func TestOrderedObjectWritesWhatJSONMarshalWrites(t *testing.T) {
	texts := []string{"", "plain", "名字", "a\"b", `a\b`, "<script>&", "tab\there", "line\u2028sep\u2029", "\x00\x1f",
		"bad\xffutf8", "\xe2\x80", "é", "😀", "1234.56", "\u007f"}
	values := []any{3, -7, 0, true, false, nil, []string{"a", "<b>"}, map[string]int{"x": 1}, 2.5}
	for _, s := range texts {
		values = append(values, s)
	}
	var o orderedObject
	for i, v := range values {
		o = append(o, orderedField{texts[i%len(texts)], v})
	}
	got, err := o.MarshalJSON()
	require.NoError(t, err)

	var want bytes.Buffer // the former writer: json.Marshal of each key and value
	want.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			want.WriteByte(',')
		}
		k, _ := json.Marshal(f.Key)
		v, _ := json.Marshal(f.Value)
		want.Write(k)
		want.WriteByte(':')
		want.Write(v)
	}
	want.WriteByte('}')
	require.Equal(t, want.String(), string(got))

	// And through encoding/json, as a field of a claim is written.
	through, err := json.Marshal(o)
	require.NoError(t, err)
	require.Equal(t, string(through), string(got))
}

// StepsJSON writes a breakdown as json.Marshal does.
func TestStepsJSONIsJSONMarshal(t *testing.T) {
	for _, steps := range [][]Step{nil, {}, {
		{Description: "起付线 300.00 元", Amount: money.Fen(30000)},
		{Description: `<b>"quoted" & \\ back</b>`, Amount: money.Fen(0)},
		{Description: "bad\xffutf8\u2028", Amount: money.Of(decimal.RequireFromString("12.5"))},
		{Description: "", Amount: money.Fen(999999999999)},
	}} {
		want, err := json.Marshal(steps)
		require.NoError(t, err)
		require.Equal(t, string(want), string(StepsJSON(steps)))
	}
}

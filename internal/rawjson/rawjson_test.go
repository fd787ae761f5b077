package rawjson

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

var inputs = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a" : "x" , "b":[1,{"c":null}]}`, `{"a":1,"a":2}`, `{"a":"\u00e9\n","b":"e\"q"}`,
	`{"名":"值"}`, "{\"a\":\"\xff\"}", "{\"\xfe\":1}", `{"a":1}x`, `{"a":1}{}`, `{"a":}`, `{"a":1,}`, `{`, `[]`, `[1,2]`,
	`"s"`, `null`, `1`, ``, ` `, `[{"a":1}, [2], "3" ,4]`, `[1,]`, `[1`, "[\"\xff\"]", `{"a":1e400}`, `{"a":-0.0}`,
	"{\"a\":\"\t\"}",
}

// Members and Items give what encoding/json's Unmarshal gives for the same
// types, and fail where it fails.
func TestSameAsEncodingJSON(t *testing.T) {
	for _, in := range inputs {
		var wantM map[string]json.RawMessage
		errM := json.Unmarshal([]byte(in), &wantM)
		gotM, err := Members([]byte(in))
		if errM != nil || wantM == nil {
			require.Error(t, err, "Members(%q)", in)
		} else {
			require.NoError(t, err, "Members(%q)", in)
			require.Equal(t, wantM, gotM, "Members(%q)", in)
		}

		var wantL []json.RawMessage
		errL := json.Unmarshal([]byte(in), &wantL)
		gotL, err := Items([]byte(in))
		if errL != nil || wantL == nil {
			require.Error(t, err, "Items(%q)", in)
		} else {
			require.NoError(t, err, "Items(%q)", in)
			require.Equal(t, wantL, gotL, "Items(%q)", in)
		}
	}
}

func TestText(t *testing.T) {
	for _, in := range []string{`"plain"`, `""`, `"名字"`, `"a\"b"`, `"\u00e9"`, `"a\\b"`, "\"\xff\"", "\"\t\"", `"unterminated`,
		`"a"b"`, `12`, `null`, ` "x" `, `"\ud800"`, `"`} {
		var want string
		err := json.Unmarshal([]byte(in), &want)
		got, ok := Text([]byte(in))
		if err != nil || in == "null" { // null decodes as no string at all
			require.False(t, ok, "Text(%q)", in)
			continue
		}
		require.True(t, ok, "Text(%q)", in)
		require.Equal(t, want, got, "Text(%q)", in)
	}
}

// Raw values are sub-slices of the input: the facts of a 10,000-claim
// batch are not copied again.
func TestValuesAreNotCopies(t *testing.T) {
	b := []byte(`{"a":"xyz","b":[1]}`)
	m, err := Members(b)
	require.NoError(t, err)
	b[7] = 'Q'
	require.Equal(t, `"xQz"`, string(m["a"]))
}

func FuzzMembers(f *testing.F) {
	for _, in := range inputs {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var want map[string]json.RawMessage
		werr := json.Unmarshal([]byte(in), &want)
		got, err := Members([]byte(in))
		if werr != nil || want == nil {
			if err == nil {
				t.Fatalf("Members(%q) = %v, encoding/json fails: %v", in, got, werr)
			}
			return
		}
		if err != nil {
			t.Fatalf("Members(%q): %v; encoding/json gives %v", in, err, want)
		}
		if len(got) != len(want) {
			t.Fatalf("Members(%q) = %v, want %v", in, got, want)
		}
		for k, v := range want {
			if string(got[k]) != string(v) {
				t.Fatalf("Members(%q)[%q] = %s, want %s", in, k, got[k], v)
			}
		}
	})
}

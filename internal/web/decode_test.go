package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"huimin/internal/apperr"
	"huimin/internal/money"
)

// Test shapes like the API's inputs: lists of objects, raw facts, pointers,
// maps, a type with its own UnmarshalJSON and an embedded struct.
type testPeriod struct {
	Category  string  `json:"category"`
	ValidFrom string  `json:"valid_from"`
	ValidTo   *string `json:"valid_to"`
}

type testCommon struct {
	Org string `json:"org"`
}

type testBody struct {
	testCommon
	Name       string            `json:"name"`
	Rooms      int               `json:"rooms"`
	Grade      int8              `json:"grade"`
	Ratio      float64           `json:"ratio"`
	OK         *bool             `json:"ok"`
	Categories []testPeriod      `json:"categories"`
	Facts      json.RawMessage   `json:"facts"`
	Tags       map[string]string `json:"tags"`
	Amount     *money.Amount     `json:"amount"`
	Any        any               `json:"any"`
	Ignored    string            `json:"-"`
	unexported string            //lint:ignore U1000 the decoder must leave unexported fields alone
}

// decodeStatus decodes body into a fresh testBody and returns the status
// and the field paths of the answer.
func decodeStatus(t *testing.T, body string) (int, []string) {
	t.Helper()
	var v testBody
	err := Decode([]byte(body), &v)
	if err == nil {
		return 200, nil
	}
	var ve *apperr.ValidationError
	if errors.As(err, &ve) {
		fields := make([]string, len(ve.Fields))
		for i, f := range ve.Fields {
			require.NotEmpty(t, f.Message, "field %s", f.Field)
			fields[i] = f.Field
		}
		return apperr.KindOf(err).Status, fields
	}
	return apperr.KindOf(err).Status, nil
}

func TestDecodeNamesEveryProblemByItsFullPath(t *testing.T) {
	cases := []struct {
		name   string
		body   string
		status int
		fields []string
	}{
		{"a good body", `{"name":"张三","rooms":3,"categories":[{"category":"rural_destitute","valid_from":"2026-01-01","valid_to":null}],"facts":{"bill_ref":"NY-1"},"tags":{"a":"b"},"amount":"12.50","org":"picc"}`, 200, nil},
		{"an empty body is {}", ``, 200, nil},
		{"whitespace only is {}", " \n\t ", 200, nil},
		{"{} is fine", `{}`, 200, nil},
		{"null is fine", `null`, 200, nil},
		{"text beyond the BMP, paired escapes and U+FFFD itself are text", `{"name":"😀 \ud83d\ude00 \ufffd ` + "\uFFFD" + `"}`, 200, nil},

		{"malformed JSON is 400", `{"name":`, 400, nil},
		{"data after the value is 400", `{"name":"a"} {}`, 400, nil},
		{"a list is not an object: 400", `[1,2]`, 400, nil},
		{"a string is not an object: 400", `"x"`, 400, nil},

		{"an unknown field", `{"nickname":"x"}`, 422, []string{"nickname"}},
		{"an unknown field inside a list keeps its index", `{"categories":[{"category":"a"},{"category":"b","colour":"red"}]}`, 422, []string{"categories[1].colour"}},
		{"names match exactly, case included", `{"Name":"x"}`, 422, []string{"Name"}},
		{"a field hidden from JSON is unknown", `{"Ignored":"x","unexported":"y"}`, 422, []string{"Ignored", "unexported"}},
		{"a promoted field of an embedded struct is known", `{"org":"picc"}`, 200, nil},
		{"the embedded struct itself is not a field", `{"testCommon":{}}`, 422, []string{"testCommon"}},

		{"a wrong type inside a list keeps its index", `{"categories":[{"category":"a"},{"category":7}]}`, 422, []string{"categories[1].category"}},
		{"an integer with a fraction", `{"rooms":2.5}`, 422, []string{"rooms"}},
		{"an integer with an exponent", `{"rooms":1e2}`, 422, []string{"rooms"}},
		{"an integer out of its type's range", `{"grade":300}`, 422, []string{"grade"}},
		{"a float out of range", `{"ratio":1e400}`, 422, []string{"ratio"}},
		{"a list where an object belongs", `{"categories":[[]]}`, 422, []string{"categories[0]"}},
		{"an object where a list belongs", `{"categories":{}}`, 422, []string{"categories"}},
		{"a number where a map belongs", `{"tags":1}`, 422, []string{"tags"}},
		{"a map value of the wrong type", `{"tags":{"a":1}}`, 422, []string{"tags.a"}},
		{"a pointer takes null or its type", `{"ok":null,"valid":1}`, 422, []string{"valid"}},
		{"a pointer's value of the wrong type", `{"ok":"yes"}`, 422, []string{"ok"}},
		{"a type's own UnmarshalJSON error is named by its field", `{"amount":"1.234"}`, 422, []string{"amount"}},
		{"every problem at once", `{"rooms":"3","name":5,"x":1}`, 422, []string{"rooms", "name", "x"}},

		{"a repeated key", `{"name":"a","name":"b"}`, 422, []string{"name"}},
		{"a repeated key in raw facts", `{"facts":{"total_cost":"1.00","total_cost":"9999.00"}}`, 422, []string{"facts.total_cost"}},
		{"a repeated key in a list item", `{"categories":[{"category":"a","category":"b"}]}`, 422, []string{"categories[0].category"}},
		{"a repeated key spelt with an escape", `{"name":"a","n\u0061me":"b"}`, 422, []string{"name"}},
		{"a repeated key in a free-form value", `{"any":{"k":1,"k":2}}`, 422, []string{"any.k"}},
		{"a repeated key in a large object", `{"facts":{` + manyKeys(40) + `,"k7":0}}`, 422, []string{"facts.k7"}},
		{"keys that differ only in case are different keys of a map", `{"tags":{"a":"x","A":"y"}}`, 200, nil},

		{"invalid UTF-8 in a value", "{\"name\":\"\xff\"}", 422, []string{"name"}},
		{"invalid UTF-8 in raw facts", "{\"facts\":{\"bill_ref\":\"NY-\xe4\xb8\"}}", 422, []string{"facts.bill_ref"}},
		{"invalid UTF-8 in a list item", "{\"categories\":[{},{\"category\":\"\xc0\xaf\"}]}", 422, []string{"categories[1].category"}},
		{"UTF-8 of a surrogate is not UTF-8", "{\"name\":\"\xed\xa0\x80\"}", 422, []string{"name"}},
		{"an unpaired surrogate escape", `{"name":"\ud800"}`, 422, []string{"name"}},
		{"a low surrogate escape alone", `{"name":"\udc00x"}`, 422, []string{"name"}},
		{"two high surrogates", `{"name":"\ud83d\ud83d"}`, 422, []string{"name"}},
		{"invalid UTF-8 in a key is named on its object", "{\"facts\":{\"bill\xff\":\"x\"}}", 422, []string{"facts"}},
		{"invalid UTF-8 in a top-level key", "{\"\xff\":1}", 422, []string{"body"}},

		{"NUL escaped", `{"name":"a\u0000b"}`, 422, []string{"name"}},
		{"a line feed escaped", `{"categories":[{"category":"a\nb"}]}`, 422, []string{"categories[0].category"}},
		{"a tab escaped", `{"facts":{"bill_ref":"a\tb"}}`, 422, []string{"facts.bill_ref"}},
		{"DEL sent raw", "{\"name\":\"a\x7fb\"}", 422, []string{"name"}},
		{"a C1 control character", `{"name":"a\u0085b"}`, 422, []string{"name"}},
		{"the Unicode line separator", "{\"name\":\"a\u2028b\"}", 422, []string{"name"}},
		{"a control character in a key", `{"na\u0000me":"x"}`, 422, []string{"body"}},
		{"a control character in a free-form value", `{"any":["ok","\r"]}`, 422, []string{"any[1]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, fields := decodeStatus(t, tc.body)
			require.Equal(t, tc.status, status, "fields %v", fields)
			require.Equal(t, tc.fields, fields)
		})
	}
}

func manyKeys(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `"k` + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + `":0`
	}
	parts[7] = `"k7":0`
	return strings.Join(parts, ",")
}

func TestDecodeKeepsAValueExactly(t *testing.T) {
	var v testBody
	require.NoError(t, Decode([]byte(`{"name":"a\"b\\c\/d 😀","facts":{"bill_ref":"NY-1"}}`), &v))
	require.Equal(t, `a"b\c/d 😀`, v.Name)
	require.JSONEq(t, `{"bill_ref":"NY-1"}`, string(v.Facts))
}

func TestDecodeBoundsTheAnswer(t *testing.T) {
	body := `{"facts":{"k":0` + strings.Repeat(`,"k":0`, 10000) + `}}`
	status, fields := decodeStatus(t, body)
	require.Equal(t, 422, status)
	require.Len(t, fields, maxCheckErrors, "a body of repeated keys gets a bounded answer")
}

func TestDecodeIntoAnyChecksTextAndKeys(t *testing.T) {
	var v any
	require.NoError(t, Decode([]byte(`{"a":[1,{"b":"c"}]}`), &v))
	err := Decode([]byte(`{"a":[1,{"b":"c","b":"d"}]}`), &v)
	require.ErrorAs(t, err, new(*apperr.ValidationError))
	require.Equal(t, "a[1].b", err.(*apperr.ValidationError).Fields[0].Field)
}

func TestDecodeList(t *testing.T) {
	t.Run("items come back raw and unchecked, each for its own decoding", func(t *testing.T) {
		items, err := DecodeList([]byte("{\"claims\":[{\"plan\":\"a\",\"plan\":\"b\"},{\"x\":\"\xff\"},3]}"), "claims")
		require.NoError(t, err)
		require.Len(t, items, 3)
		require.Equal(t, `{"plan":"a","plan":"b"}`, string(items[0]))
	})
	for _, tc := range []struct {
		name, body string
		status     int
		fields     []string
	}{
		{"an empty body is no items", ``, 200, nil},
		{"no list is no items", `{}`, 200, nil},
		{"the list twice", `{"claims":[],"claims":[{}]}`, 422, []string{"claims"}},
		{"another field", `{"claims":[],"extra":1}`, 422, []string{"extra"}},
		{"not a list", `{"claims":{}}`, 422, []string{"claims"}},
		{"malformed JSON inside an item is malformed JSON", `{"claims":[{"plan":}]}`, 400, nil},
		{"not an object", `[{}]`, 400, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeList([]byte(tc.body), "claims")
			if tc.status == 200 {
				require.NoError(t, err)
				return
			}
			require.Equal(t, tc.status, apperr.KindOf(err).Status, "%v", err)
			var ve *apperr.ValidationError
			if errors.As(err, &ve) {
				var got []string
				for _, f := range ve.Fields {
					got = append(got, f.Field)
				}
				require.Equal(t, tc.fields, got)
			} else {
				require.Nil(t, tc.fields)
			}
		})
	}
}

func TestCheckTextAndRef(t *testing.T) {
	cases := []struct {
		name, s     string
		text, ref   bool
		wantMessage string
	}{
		{"a plain text", "预算文件 2026-01", true, true, ""},
		{"empty is missing", "", false, false, "is required"},
		{"whitespace only is missing", " \t ", false, false, "must not contain control characters"},
		{"spaces only are missing", "   ", false, false, "is required"},
		{"ideographic spaces only are missing", "\u3000\u3000", false, false, "is required"},
		{"too long", strings.Repeat("字", 21), false, false, "at most 20"},
		{"a line break", "a\nb", false, false, "control characters"},
		{"invalid UTF-8", "a\xffb", false, false, "UTF-8"},
		{"surrounding spaces are text but not a reference", " ICBC-1 ", true, false, "whitespace"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f apperr.Fields
			require.Equal(t, tc.text, CheckText(&f, "reason", tc.s, 20))
			var g apperr.Fields
			require.Equal(t, tc.ref, CheckRef(&g, "reference", tc.s, 20))
			if tc.wantMessage != "" {
				require.Len(t, g, 1)
				require.Contains(t, g[0].Message, tc.wantMessage)
			}
		})
	}
}

func TestCodes(t *testing.T) {
	require.True(t, IsPlanCode("FPB-2026-XICHUAN"))
	require.True(t, IsPlanCode(strings.Repeat("a", 40)))
	for _, bad := range []string{"", "ZKB-2026 ", " ZKB-2026", "ZKB 2026", "ZKB-2026\x00", "ZKB–2026", strings.Repeat("a", 41)} {
		require.False(t, IsPlanCode(bad), "%q", bad)
	}
	require.Equal(t, "is required", PlanCodeMessage("  "))
	require.True(t, IsID("01ARZ3NDEKTSV4RRFFQ69G5FAV"))
	for _, bad := range []string{"", "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAV ", "01arz3ndektsv4rrffq69g5fav", "01ARZ3NDEKTSV4RRFFQ69G5FAI", "81ARZ3NDEKTSV4RRFFQ69G5FAV"} {
		require.False(t, IsID(bad), "%q", bad)
	}
}

// FuzzDecode checks the strict decoder against encoding/json on arbitrary
// bytes, in both directions. Sound: what Decode accepts, encoding/json
// decodes to the same value, and it is valid UTF-8 with no control
// character and no repeated key. Complete: valid JSON that is valid UTF-8,
// has no surrogate escape, no control character and no repeated key is
// accepted into any. The seed corpus runs in every `go test`; explore with
// `go test -run '^$' -fuzz FuzzDecode ./internal/web/`.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"name":"a"}`, `{"name":`, `{"a":1} x`,
		`{"name":"a","name":"b"}`, `{"facts":{"total_cost":"1","total_cost":"2"}}`,
		`{"categories":[{"category":"a","category":"b"}]}`, `{"n\u0061me":1,"name":2}`,
		"{\"name\":\"\xff\"}", "{\"facts\":{\"bill_ref\":\"\xe4\xb8\"}}", "{\"\xff\":1}", "{\"name\":\"\xed\xa0\x80\"}",
		`{"name":"\ud800"}`, `{"name":"\ud83d\ude00"}`, `{"name":"\udc00\ud800"}`, `{"name":"\ufffd"}`,
		`{"name":"\u0000"}`, `{"name":"a\nb"}`, "{\"name\":\"a\x7f\"}", `{"name":"\u0085"}`, "{\"name\":\"\u2028\"}",
		`{"rooms":2.5}`, `{"grade":300}`, `{"ratio":1e400}`, `{"amount":"1.234"}`, `{"Name":"x"}`, `{"ok":null}`,
		`{"categories":[[]],"tags":{"a":1}}`, `{"any":{"k":[{"k":1,"k":2}]}}`, `  {"org" : "picc" , "rooms" : -0 }  `,
		`}`, `{"":[]}`, `{"rooms":"3","name":"\u0000","x":1}`, `{"categories":[{"category":1},{"colour":2}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var into testBody
		err := Decode(body, &into)
		var free any
		errAny := Decode(body, &free)

		sound := json.Valid(body) && utf8.Valid(body) && cleanTokens(body)
		clean := sound && !surrogateEscape(body)
		if errAny == nil {
			require.True(t, len(bytes.TrimSpace(body)) == 0 || sound, "accepted into any: %q", body)
			if len(bytes.TrimSpace(body)) > 0 {
				var want any
				require.NoError(t, json.Unmarshal(body, &want))
				require.Equal(t, want, free, "the decoded value is encoding/json's")
			}
		} else if clean {
			t.Fatalf("clean JSON refused into any: %q: %v", body, errAny)
		}
		if err == nil && len(bytes.TrimSpace(body)) > 0 {
			require.NoError(t, errAny, "accepted into a struct but not into any: %q", body)
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			var want testBody
			require.NoError(t, dec.Decode(&want), "encoding/json refuses what Decode accepted: %q", body)
			require.Equal(t, want, into)
		}
		for _, e := range []error{err, errAny} {
			if e == nil {
				continue
			}
			k := apperr.KindOf(e)
			require.Contains(t, []int{400, 422}, k.Status, "%v", e)
			var ve *apperr.ValidationError
			if errors.As(e, &ve) {
				require.NotEmpty(t, ve.Fields)
				require.LessOrEqual(t, len(ve.Fields), maxCheckErrors)
				for _, fe := range ve.Fields {
					require.NotEmpty(t, fe.Field)
					require.NotEmpty(t, fe.Message)
				}
			} else {
				require.Equal(t, 400, k.Status, "only a 400 is not a field error: %v", e)
			}
		}
	})
}

// cleanTokens walks body (valid JSON) with encoding/json's tokenizer, the
// oracle: no decoded string holds a forbidden character, and no object
// repeats a key.
func cleanTokens(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next string is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		isKey := top != nil && top.object && top.key
		if top != nil && top.object {
			top.key = !top.key
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, &frame{object: true, keys: map[string]bool{}, key: true})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].key = true
				}
			}
			continue
		case string:
			if strings.IndexFunc(v, BadRune) >= 0 {
				return false
			}
			if isKey {
				if top.keys[v] {
					return false
				}
				top.keys[v] = true
			}
		}
	}
}

// surrogateEscape reports whether body holds a \uD800–\uDFFF escape, paired
// or not (the oracle cannot tell a pair from two halves after decoding).
func surrogateEscape(body []byte) bool {
	for i := 0; i+5 < len(body); i++ {
		if body[i] == '\\' {
			if body[i+1] == 'u' && (body[i+2] == 'd' || body[i+2] == 'D') && strings.IndexByte("89abAB", body[i+3]) >= 0 ||
				body[i+1] == 'u' && (body[i+2] == 'd' || body[i+2] == 'D') && strings.IndexByte("cdefCDEF", body[i+3]) >= 0 {
				return true
			}
			i++ // skip the escaped character, so \\ud800 is not an escape
		}
	}
	return false
}

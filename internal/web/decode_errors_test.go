package web

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/apperr"
)

// decodeFields decodes body into a fresh testBody and returns the fields
// of the 422 answer, failing on any other outcome.
func decodeFields(t *testing.T, body string) apperr.Fields {
	t.Helper()
	var v testBody
	err := Decode([]byte(body), &v)
	var ve *apperr.ValidationError
	require.ErrorAs(t, err, &ve, "body %s", body)
	return ve.Fields
}

func fieldsOf(fs apperr.Fields) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Field
	}
	return out
}

func TestDecodeNamesEveryFieldTheDecoderRefuses(t *testing.T) {
	cases := []struct {
		name, body string
		fields     []string
	}{
		{"bad text and bad types in one answer, text first",
			`{"rooms":"3","name":"a\u0000","x":1}`, []string{"name", "rooms", "x"}},
		{"a list element cut out keeps the indexes of the others",
			`{"categories":[{"category":1},{"category":2},{"colour":3}]}`,
			[]string{"categories[0].category", "categories[1].category", "categories[2].colour"}},
		{"a repeated key with a bad value is named once",
			`{"rooms":1,"rooms":"x"}`, []string{"rooms"}},
		{"a repeated unknown field is named once",
			`{"x":1,"x":2}`, []string{"x"}},
		{"a repeated object with a bad field inside each",
			`{"categories":[{"category":1}],"categories":[{"category":2}]}`, []string{"categories", "categories[0].category"}},
		{"a map's key of digits is a name, not an index",
			`{"tags":{"1":2}}`, []string{"tags.1"}},
		{"an empty name is shown", `{"":1}`, []string{`""`}},
		{"an empty name inside a list item", `{"categories":[{"":1}]}`, []string{`categories[0].""`}},
		{"a name with a slash and a tilde", `{"a/b~c":1}`, []string{"a/b~c"}},
		{"a bad amount, a bad integer and a bad pointer",
			`{"amount":"x","grade":-129,"ok":1}`, []string{"amount", "grade", "ok"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.fields, fieldsOf(decodeFields(t, tc.body)))
		})
	}
}

func TestDecodeMessages(t *testing.T) {
	cases := []struct {
		name, body, field, message string
	}{
		{"a name that differs only in case gets a hint", `{"Rooms":1}`, "Rooms", `unknown field; did you mean "rooms"?`},
		{"a promoted field's name too", `{"ORG":"x"}`, "ORG", `unknown field; did you mean "org"?`},
		{"an unknown field", `{"colour":1}`, "colour", "unknown field"},
		{"a wrong type", `{"categories":[{"category":7}]}`, "categories[0].category", "must be a string, not a number"},
		{"a list for an object", `{"tags":[]}`, "tags", "must be an object, not a list"},
		{"an integer with a fraction", `{"rooms":2.5}`, "rooms", "must be an integer within range, not 2.5"},
		{"an integer out of range", `{"grade":300}`, "grade", "must be an integer within range, not 300"},
		{"a float out of range", `{"ratio":1e400}`, "ratio", "must be a number within range, not 1e400"},
		{"a repeated key", `{"name":"a","name":"b"}`, "name", "is given twice; a JSON object may not repeat a key"},
		{"a control character", `{"name":"a\tb"}`, "name", "must not contain control characters (U+0009 here) such as NUL, tabs or line breaks; text is one line"},
		{"an unpaired surrogate", `{"name":"\udc00"}`, "name", `contains an unpaired UTF-16 surrogate (\ud800–\udfff), which is not valid Unicode text`},
		{"invalid UTF-8", "{\"name\":\"\xff\"}", "name", "is not valid UTF-8 text (a byte sequence was sent that is no character; check the file's or client's encoding)"},
		{"a bad name", "{\"facts\":{\"a\xff\":1}}", "facts", "has a field name that is not acceptable text: it is not valid UTF-8 text (a byte sequence was sent that is no character; check the file's or client's encoding)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := decodeFields(t, tc.body)
			require.Equal(t, apperr.Fields{{Field: tc.field, Message: tc.message}}, fs)
		})
	}
	t.Run("a type's own UnmarshalJSON words its problem", func(t *testing.T) {
		fs := decodeFields(t, `{"amount":"1.234"}`)
		require.Len(t, fs, 1)
		require.Equal(t, "amount", fs[0].Field)
		require.NotContains(t, fs[0].Message, "json:", "the type's message, not the decoder's")
	})
}

func TestDecodeBoundsEveryKindOfAnswer(t *testing.T) {
	var unknown, bad, names []string
	for i := range 200 {
		unknown = append(unknown, fmt.Sprintf(`"x%d":1`, i))
		bad = append(bad, fmt.Sprintf(`{"category":%d}`, i))
		names = append(names, fmt.Sprintf("\"k%d\xff\":1", i))
	}
	for name, body := range map[string]string{
		"unknown fields":      "{" + strings.Join(unknown, ",") + "}",
		"bad list items":      `{"categories":[` + strings.Join(bad, ",") + `]}`,
		"names that are text": `{"facts":{` + strings.Join(names, ",") + `}}`,
	} {
		t.Run(name, func(t *testing.T) {
			require.Len(t, decodeFields(t, body), maxCheckErrors)
		})
	}
}

func TestDecodeStatuses(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
	}{
		{"a list with bad text is not an object: 400 first", `["\u0000"]`, 400},
		{"a number is not an object", `12`, 400},
		{"a lone closing brace", `}`, 400},
		{"two values", `{} {}`, 400},
		{"a raw control character is malformed JSON", "{\"name\":\"a\x01\"}", 400},
		{"an unknown escape is malformed JSON", `{"name":"\x"}`, 400},
		{"malformed JSON after a repeated key is still 400", `{"a":1,"a":2,`, 400},
		{"malformed JSON after bad text is still 400", `{"name":"\u0000"`, 400},
		{"a name that is not a string", `{1:2}`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _ := decodeStatus(t, tc.body)
			require.Equal(t, tc.status, status)
		})
	}
	t.Run("a Go value that cannot be decoded into is not the client's fault", func(t *testing.T) {
		var v testBody
		err := Decode([]byte(`{}`), v)
		require.Error(t, err)
		require.Equal(t, apperr.ErrInternal, apperr.KindOf(err))
	})
}

func TestDecodeListMore(t *testing.T) {
	t.Run("null is no items", func(t *testing.T) {
		for _, body := range []string{`null`, `{"claims":null}`, ` {"claims": [] } `} {
			items, err := DecodeList([]byte(body), "claims")
			require.NoError(t, err, body)
			require.Empty(t, items, body)
		}
	})
	t.Run("items are copies of each value, whitespace inside kept", func(t *testing.T) {
		items, err := DecodeList([]byte(`{"claims":[ {"a" : 1} , "x",null ]}`), "claims")
		require.NoError(t, err)
		require.Equal(t, []string{`{"a" : 1}`, `"x"`, `null`}, []string{string(items[0]), string(items[1]), string(items[2])})
	})
	t.Run("a key in the wrong case gets a hint", func(t *testing.T) {
		_, err := DecodeList([]byte(`{"Claims":[]}`), "claims")
		var ve *apperr.ValidationError
		require.True(t, errors.As(err, &ve), "%v", err)
		require.Equal(t, apperr.Fields{{Field: "Claims", Message: `unknown field; did you mean "claims"?`}}, ve.Fields)
	})
	t.Run("every problem of the top level at once", func(t *testing.T) {
		_, err := DecodeList([]byte("{\"claims\":1,\"x\":1,\"x\":2,\"\xff\":3,\"claims\":[]}"), "claims")
		var ve *apperr.ValidationError
		require.True(t, errors.As(err, &ve), "%v", err)
		require.Equal(t, []string{"x", "body", "claims", "claims"}, fieldsOf(ve.Fields))
	})
	t.Run("data after the body", func(t *testing.T) {
		for _, body := range []string{`{"claims":[]} x`, `null null`, `[] {}`} {
			_, err := DecodeList([]byte(body), "claims")
			require.Equal(t, apperr.ErrBadRequest, apperr.KindOf(err), body)
		}
	})
}

package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/labstack/echo/v4"

	"huimin/internal/apperr"
)

// ReadBody reads the whole request body, answering 413 past the limit.
func ReadBody(c echo.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		if tooLarge(err) {
			return nil, apperr.New(apperr.ErrPayloadTooLarge, "request body too large")
		}
		return nil, apperr.New(apperr.ErrBadRequest, "could not read the request body")
	}
	return b, nil
}

// Bind decodes the JSON body strictly into v (see Decode).
func Bind(c echo.Context, v any) error {
	b, err := ReadBody(c)
	if err != nil {
		return err
	}
	return Decode(b, v)
}

// BindEmpty is Bind for an endpoint that takes no body (approve, withdraw,
// close, settle): one rule for all of them, so that a client learns it
// once. No body, or {}, is fine; malformed JSON is 400 bad_request and any
// field is 422, as for every other endpoint.
func BindEmpty(c echo.Context) error {
	var none struct{}
	return Bind(c, &none)
}

// Decode decodes a JSON body strictly into v, the one decoder of every JSON
// body, so that each endpoint gets DESIGN §10's rules at once:
//   - malformed JSON (and data after the value) is 400 bad_request, as is a
//     body that is not an object when v is a struct;
//   - every other problem is 422 validation_failed naming each bad field by
//     its full path, list indexes included (categories[0].category,
//     facts.total_cost): an unknown field (names match exactly, case
//     included), a value of the wrong type, a key given twice, text that is
//     not valid UTF-8 or holds an unpaired surrogate or a control character
//     (no text of this API is multi-line: see BadRune);
//   - an empty body decodes as {}.
//
// The rules hold for the whole document, raw parts (json.RawMessage, such
// as a claim's facts) included.
func Decode(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	if !json.Valid(b) {
		return malformed(b)
	}
	errs, notObject := checkJSON(b, reflect.TypeOf(v))
	if notObject {
		return apperr.New(apperr.ErrBadRequest, "the body must be a JSON object")
	}
	if err := errs.Err(); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err) // the check passed, so this is not expected
	}
	return nil
}

// DecodeList reads a body {"<key>": [item, …]}, such as a batch of claims,
// strictly at the top level (no other field, the key once, a list) and
// returns the items raw and unchecked: each is decoded on its own with
// Decode, so that one bad item fails itself and not its batch. Malformed
// JSON anywhere is still 400 for the whole body.
func DecodeList(b []byte, key string) ([]json.RawMessage, error) {
	var top map[string]json.RawMessage
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	if !json.Valid(b) {
		return nil, malformed(b)
	}
	c := &checker{b: b}
	c.space()
	switch c.b[c.i] {
	case 'n':
		return nil, nil
	case '{':
	default:
		return nil, apperr.New(apperr.ErrBadRequest, "the body must be a JSON object")
	}
	c.object(&shape{kind: shapeStruct, fields: map[string]*shape{key: {kind: shapeUnchecked}}, folded: map[string]string{key: key}})
	if err := c.errs.Err(); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, decodeError(err)
	}
	raw := bytes.TrimSpace(top[key])
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] != '[' {
		return nil, apperr.Invalid(key, "must be a list, not %s", jsonKind(raw[0]))
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, decodeError(err)
	}
	return items, nil
}

// malformed is the 400 answer to a body that is not one JSON value; the
// JSON decoder words what is wrong.
func malformed(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return apperr.New(apperr.ErrBadRequest, "malformed JSON: %v", err)
		}
	}
	if dec.More() {
		return apperr.New(apperr.ErrBadRequest, "malformed JSON: data after the top-level value")
	}
	return apperr.New(apperr.ErrBadRequest, "malformed JSON")
}

func decodeError(err error) error {
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
		k  *apperr.Kind
	)
	switch {
	case errors.As(err, &k):
		return err
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apperr.New(apperr.ErrBadRequest, "malformed JSON: %v", err)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return apperr.New(apperr.ErrBadRequest, "the body must be a JSON object")
		}
		return apperr.Invalid(field, "must be %s, not %s", jsonType(te.Type.Kind().String()), te.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.Invalid(name, "unknown field")
	}
	// An UnmarshalJSON method's own error (an amount, a date): the decoder
	// does not say which field, so the type's message must.
	return apperr.Invalid("body", "%v", err)
}

func jsonType(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int64", "int32", "uint", "uint64", "uint32":
		return "an integer"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "an object"
	}
	return fmt.Sprintf("of type %s", goKind)
}

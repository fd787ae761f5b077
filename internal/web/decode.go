package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v4"

	"huimin/internal/apperr"
)

// ReadBody reads the whole request body, answering 413 past the limit.
// A declared Content-Length (within the bulk limit) sizes the buffer once:
// io.ReadAll grows its buffer by copies and briefly holds about twice a
// large body, which for a 31 MiB batch is 30 MiB more at its peak.
func ReadBody(c echo.Context) ([]byte, error) {
	r := c.Request()
	var buf bytes.Buffer
	if cl := r.ContentLength; cl > 0 && cl <= BulkBodyLimit {
		buf.Grow(int(cl) + bytes.MinRead) // ReadFrom ends without growing when MinRead is free
	}
	_, err := buf.ReadFrom(r.Body)
	b := buf.Bytes()
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
// as a claim's facts) included. The decoding is the JSON library's
// (github.com/go-json-experiment/json, encoding/json's v2: exact names,
// unknown fields refused, types' own UnmarshalJSON methods), once; before
// it, one pass over the tokens checks the text and the keys (scanBody),
// and a body it refuses is explained field by field (explain).
func Decode(b []byte, v any) error {
	if rv := reflect.ValueOf(v); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("web.Decode needs a non-nil pointer, not %T", v)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	problems, badNames, err := scanBody(b)
	if err != nil {
		return err
	}
	if len(problems) == 0 {
		if err = jsonv2.Unmarshal(b, v, decodeOptions); err == nil {
			return nil
		}
	}
	return explain(b, reflect.TypeOf(v).Elem(), problems, badNames, err)
}

// decodeOptions are the decoder's defaults (names match exactly, case
// included) with unknown fields refused; text and repeated keys are left
// to scanBody, which has checked them already and names every problem.
var decodeOptions = jsonv2.JoinOptions(jsonv2.RejectUnknownMembers(true), syntaxOnly)

// DecodeList reads a body {"<key>": [item, …]}, such as a batch of claims,
// strictly at the top level (no other field, the key once, a list) and
// returns the items raw and unchecked, as sub-slices of b (not copies; b
// must not change while they are in use): each is decoded on its own with
// Decode, so that one bad item fails itself and not its batch. Malformed
// JSON anywhere is still 400 for the whole body.
func DecodeList(b []byte, key string) ([]json.RawMessage, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	s := newScanner(b)
	defer s.done()
	switch k := s.dec.PeekKind(); k {
	case 'n':
		if err := s.dec.SkipValue(); err != nil {
			return nil, malformed(err)
		}
		return nil, endOfBody(s.dec)
	case '{':
	default: // malformed JSON is 400 for what it is, anything else for not being an object
		if err := s.dec.SkipValue(); err != nil {
			return nil, malformed(err)
		}
		if err := endOfBody(s.dec); err != nil {
			return nil, err
		}
		return nil, apperr.New(apperr.ErrBadRequest, "the body must be a JSON object, not %s", jsonKind(byte(k)))
	}
	if _, err := s.dec.ReadToken(); err != nil {
		return nil, malformed(err)
	}
	var (
		items   []json.RawMessage
		notList jsontext.Kind // what was sent instead of the list
		seen    = map[string]bool{}
	)
	for s.dec.PeekKind() != '}' {
		text, problem, err := s.readString(true)
		if err != nil {
			return nil, malformed(err)
		}
		name := string(text)
		switch {
		case problem != "":
			s.note("body", "has a field name that is not acceptable text: it %s", problem)
		case seen[name] && name == key:
			s.note(key, "is given twice; a JSON object may not repeat a key")
		case seen[name]: // an unknown field is named once
		case name == key:
			seen[name] = true
			if items, notList, err = listItems(s.dec, b); err != nil {
				return nil, malformed(err)
			}
			continue
		default:
			seen[name] = true
			if strings.EqualFold(name, key) {
				s.note(name, "unknown field; did you mean %q?", key)
			} else {
				s.note(name, "unknown field")
			}
		}
		if err := s.dec.SkipValue(); err != nil {
			return nil, malformed(err)
		}
	}
	if _, err := s.dec.ReadToken(); err != nil {
		return nil, malformed(err)
	}
	if err := endOfBody(s.dec); err != nil {
		return nil, err
	}
	if notList != 0 {
		s.note(key, "must be a list, not %s", jsonKind(byte(notList)))
	}
	if err := s.errs.Err(); err != nil {
		return nil, err
	}
	return items, nil
}

// listItems reads a list of any values, or null, from body, and returns each
// item as a sub-slice of body; for anything else it returns its kind.
func listItems(dec *jsontext.Decoder, body []byte) ([]json.RawMessage, jsontext.Kind, error) {
	switch k := dec.PeekKind(); k {
	case 'n':
		return nil, 0, dec.SkipValue()
	case '[':
	default:
		return nil, k, dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, 0, err
	}
	var items []json.RawMessage
	for dec.PeekKind() != ']' {
		item, err := dec.ReadValue()
		if err != nil {
			return nil, 0, err
		}
		// The item as a sub-slice of the body (capacity capped so that no
		// append reaches past it) rather than a copy: a batch is not held
		// twice. The decoder reads the body in place, so the value read
		// ends at its input offset.
		end := int(dec.InputOffset())
		if start := end - len(item); start >= 0 && end <= len(body) && bytes.Equal(body[start:end], item) {
			item = body[start:end:end]
		} else {
			item = bytes.Clone(item)
		}
		items = append(items, json.RawMessage(item))
	}
	_, err := dec.ReadToken()
	return items, 0, err
}

// malformed is the 400 answer to a body that is not one JSON value; the
// JSON tokenizer words what is wrong and where.
func malformed(err error) error {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		return apperr.New(apperr.ErrBadRequest, "malformed JSON: %s", strings.TrimPrefix(se.Error(), "jsontext: "))
	}
	return apperr.New(apperr.ErrBadRequest, "malformed JSON: %v", err)
}

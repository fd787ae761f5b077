// Package rawjson splits JSON that a caller checks part by part: an object
// into its members, a list into its items, a string into its text. Each is
// one pass of the JSON tokenizer (or none, for plain text) where
// encoding/json's Unmarshal into map[string]json.RawMessage first validates
// the whole value and then decodes it by reflection: claim intake does this
// for every claim's facts and evidence, and it was a third of the server's
// work on a claim.
//
// The results are those of encoding/json's Unmarshal into the same types:
// a key given twice keeps its last value, and text that is not valid UTF-8
// reads with U+FFFD in its place. Raw values are sub-slices of the input,
// not copies.
package rawjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

var options = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

type reader struct {
	dec *jsontext.Decoder
	in  bytes.Buffer // the input, which dec reads in place
	b   []byte
}

var readers = sync.Pool{New: func() any { return new(reader) }}

func open(b []byte) *reader {
	r := readers.Get().(*reader)
	r.b, r.in = b, *bytes.NewBuffer(b)
	if r.dec == nil {
		r.dec = jsontext.NewDecoder(&r.in, options...)
	} else {
		r.dec.Reset(&r.in, options...)
	}
	return r
}

func (r *reader) close() {
	r.b, r.in = nil, bytes.Buffer{}
	r.dec.Reset(&r.in, options...)
	readers.Put(r)
}

// value reads the next value as a sub-slice of the input.
func (r *reader) value() (json.RawMessage, error) {
	v, err := r.dec.ReadValue()
	if err != nil {
		return nil, err
	}
	end := int(r.dec.InputOffset())
	if start := end - len(v); start >= 0 && end <= len(r.b) && bytes.Equal(r.b[start:end], v) {
		return r.b[start:end:end], nil
	}
	return bytes.Clone(v), nil
}

// end checks that nothing but space follows the value.
func (r *reader) end() error {
	if _, err := r.dec.ReadToken(); err != io.EOF {
		return errTrailing
	}
	return nil
}

var (
	errTrailing  = errors.New("rawjson: data after the value")
	errNotObject = errors.New("rawjson: not an object")
	errNotList   = errors.New("rawjson: not a list")
)

// Members returns the members of the JSON object b by name. It fails when
// b is not one well-formed JSON object.
func Members(b []byte) (map[string]json.RawMessage, error) {
	r := open(b)
	defer r.close()
	if r.dec.PeekKind() != '{' {
		return nil, errNotObject
	}
	if _, err := r.dec.ReadToken(); err != nil {
		return nil, err
	}
	m := map[string]json.RawMessage{}
	for r.dec.PeekKind() != '}' {
		tok, err := r.dec.ReadToken()
		if err != nil {
			return nil, err
		}
		name := tok.String() // valid only until the next read
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		m[name] = v
	}
	if _, err := r.dec.ReadToken(); err != nil {
		return nil, err
	}
	return m, r.end()
}

// Items returns the items of the JSON list b. It fails when b is not one
// well-formed JSON list.
func Items(b []byte) ([]json.RawMessage, error) {
	r := open(b)
	defer r.close()
	if r.dec.PeekKind() != '[' {
		return nil, errNotList
	}
	if _, err := r.dec.ReadToken(); err != nil {
		return nil, err
	}
	items := []json.RawMessage{}
	for r.dec.PeekKind() != ']' {
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		items = append(items, v)
	}
	if _, err := r.dec.ReadToken(); err != nil {
		return nil, err
	}
	return items, r.end()
}

// Text returns the text of the JSON string raw, and false when raw is not
// one JSON string. Plain text (no escapes or control characters, valid
// UTF-8) is read without decoding.
func Text(raw []byte) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if raw[len(raw)-1] == '"' && plain(inner) {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// plain reports whether b is string content that means itself: no quote,
// backslash or control character, and valid UTF-8.
func plain(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(b)
}

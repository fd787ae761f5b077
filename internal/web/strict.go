package web

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"huimin/internal/apperr"
)

// What the JSON library (github.com/go-json-experiment/json, the v2 of
// encoding/json) does not do for DESIGN §10, done here in two small parts:
//
//   - scanBody, one pass over the body's tokens with jsontext, checks every
//     string (keys and values, json.RawMessage parts included) for control
//     characters, which JSON allows escaped and the library lets through.
//     It also checks UTF-8 and repeated keys, which the library checks
//     too but stops at the first of: this pass names every one.
//   - explain names every field the decoder refuses: the library reports
//     the first only, so the value it names is cut out of the body and the
//     body decoded again, at most maxCheckErrors times, and only for a body
//     already refused.

// maxCheckErrors bounds the fields of one answer: a body of a million
// repeated keys gets the first ones, not a million.
const maxCheckErrors = 50

// syntaxOnly has jsontext check the grammar and leave text and repeated
// keys to scanBody, which names every problem and not only the first.
var syntaxOnly = jsonv2.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// scanner is scanBody's state, pooled: a claim batch scans thousands.
type scanner struct {
	dec   *jsontext.Decoder
	in    bytes.Buffer // the body, which dec reads without a copy
	body  []byte
	errs  apperr.Fields
	bad   []jsontext.Pointer    // members whose names are not acceptable text
	names [][]byte              // member names of the open objects, innermost last
	opens []int                 // where each open object's names start in names
	sets  []map[string]struct{} // per open object, its names once it has many
	buf   []byte
}

var scanners = sync.Pool{New: func() any { return new(scanner) }}

// newScanner returns a scanner of b, to be given back with done.
func newScanner(b []byte) *scanner {
	s := scanners.Get().(*scanner)
	s.body, s.in = b, *bytes.NewBuffer(b)
	if s.dec == nil {
		s.dec = jsontext.NewDecoder(&s.in, syntaxOnly)
	} else {
		s.dec.Reset(&s.in, syntaxOnly)
	}
	return s
}

func (s *scanner) done() {
	clear(s.names)
	clear(s.sets)
	s.body, s.errs, s.bad = nil, nil, nil
	s.names, s.opens, s.sets = s.names[:0], s.opens[:0], s.sets[:0]
	if cap(s.buf) > 64<<10 {
		s.buf = nil
	}
	s.in = bytes.Buffer{}
	s.dec.Reset(&s.in, syntaxOnly) // let go of the body
	scanners.Put(s)
}

// scanBody checks the body b token by token: its grammar (a malformed body
// is 400, the error returned), then the text of every key and string value
// and that no object repeats a key, each problem named by its path. It also
// returns where the members whose names are not acceptable text are, which
// are not named again.
func scanBody(b []byte) (apperr.Fields, []jsontext.Pointer, error) {
	s := newScanner(b)
	defer s.done()
	for {
		depth := s.dec.StackDepth()
		container, n := s.dec.StackIndex(depth)
		if depth == 0 && n > 0 {
			return s.errs, s.bad, endOfBody(s.dec)
		}
		if s.dec.PeekKind() == '"' {
			if err := s.text(container == '{' && n%2 == 0, depth); err != nil {
				return nil, nil, malformed(err)
			}
			continue
		}
		tok, err := s.dec.ReadToken() // a syntax error too, which PeekKind leaves to ReadToken
		if err != nil {
			return nil, nil, malformed(err)
		}
		switch tok.Kind() {
		case '{':
			s.opens = append(s.opens, len(s.names))
			s.sets = append(s.sets, nil)
		case '}':
			top := len(s.opens) - 1
			clear(s.names[s.opens[top]:])
			s.sets[top] = nil
			s.names, s.opens, s.sets = s.names[:s.opens[top]], s.opens[:top], s.sets[:top]
		}
	}
}

// text reads a string, a member name when isName, and checks it.
func (s *scanner) text(isName bool, depth int) error {
	name, problem, err := s.readString(isName)
	switch {
	case err != nil:
		return err
	case isName && problem != "":
		// The key itself cannot be printed, so its object is named.
		s.add(depth-1, "has a field name that is not acceptable text: it %s", problem)
		if len(s.bad) < maxCheckErrors {
			s.bad = append(s.bad, s.dec.StackPointer())
		}
		return s.dec.SkipValue()
	case isName && s.repeated(name):
		s.add(depth, "is given twice; a JSON object may not repeat a key")
		return s.dec.SkipValue()
	case problem != "":
		s.add(depth, "%s", problem)
	}
	return nil
}

// readString reads the next string and returns its text (the body's own
// bytes, or for a name with escapes a copy) and what is wrong with the
// text, if anything (DESIGN §10); jsontext has checked its grammar.
func (s *scanner) readString(isName bool) ([]byte, string, error) {
	raw, err := s.dec.ReadValue()
	if err != nil {
		return nil, "", err
	}
	end := int(s.dec.InputOffset())
	text := s.body[end-len(raw)+1 : end-1] // the body's own bytes, which outlive raw
	if bytes.IndexByte(text, '\\') >= 0 {
		if s.buf, err = jsontext.AppendUnquote(s.buf[:0], raw); err != nil {
			if !utf8.Valid(raw) {
				return nil, invalidUTF8, nil
			}
			return nil, `contains an unpaired UTF-16 surrogate (\ud800–\udfff), which is not valid Unicode text`, nil
		}
		text = s.buf
		if isName {
			text = bytes.Clone(s.buf)
		}
	}
	for i := 0; i < len(text); {
		if c := text[i]; c < utf8.RuneSelf {
			if BadRune(rune(c)) {
				return nil, controlProblem(rune(c)), nil
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(text[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return nil, invalidUTF8, nil
		case BadRune(r):
			return nil, controlProblem(r), nil
		}
		i += n
	}
	return text, "", nil
}

const invalidUTF8 = "is not valid UTF-8 text (a byte sequence was sent that is no character; check the file's or client's encoding)"

// repeated reports whether the innermost open object already has a member
// called name, and records it.
func (s *scanner) repeated(name []byte) bool {
	top := len(s.opens) - 1
	if set := s.sets[top]; set != nil {
		if _, seen := set[string(name)]; seen {
			return true
		}
		set[string(name)] = struct{}{}
		return false
	}
	start := s.opens[top]
	for _, n := range s.names[start:] {
		if bytes.Equal(n, name) {
			return true
		}
	}
	s.names = append(s.names, name)
	if len(s.names)-start > 16 { // a large object: a set, not a list to search
		set := make(map[string]struct{}, 2*len(s.names[start:]))
		for _, n := range s.names[start:] {
			set[string(n)] = struct{}{}
		}
		clear(s.names[start:])
		s.sets[top], s.names = set, s.names[:start]
	}
	return false
}

// add records a problem on the value last read, named by its path up to
// the given depth: facts.bill_ref, categories[0].category; "body" for the
// top level.
func (s *scanner) add(depth int, format string, args ...any) {
	if len(s.errs) >= maxCheckErrors {
		return
	}
	field, i := "", 0
	for tok := range s.dec.StackPointer().Tokens() {
		if i++; i > depth {
			break
		}
		if kind, _ := s.dec.StackIndex(i); kind == '[' {
			field += "[" + tok + "]"
		} else {
			field = member(field, tok)
		}
	}
	if field == "" {
		field = "body"
	}
	s.note(field, format, args...)
}

// note records a problem on field, up to maxCheckErrors of them.
func (s *scanner) note(field, format string, args ...any) {
	if len(s.errs) < maxCheckErrors {
		s.errs.Add(field, format, args...)
	}
}

// member is the path of the member name of the object at path field
// (facts, bill_ref → facts.bill_ref); an empty name is shown as "".
func member(field, name string) string {
	if name == "" {
		name = `""`
	}
	return apperr.Join(field, name)
}

func controlProblem(r rune) string {
	return fmt.Sprintf("must not contain control characters (U+%04X here) such as NUL, tabs or line breaks; text is one line", r)
}

// endOfBody reads the end of a body whose one value has been read: there
// must be nothing more.
func endOfBody(dec *jsontext.Decoder) error {
	switch _, err := dec.ReadToken(); {
	case err == io.EOF:
		return nil
	case err != nil:
		return malformed(err)
	}
	return apperr.New(apperr.ErrBadRequest, "malformed JSON: data after the top-level value")
}

// explain names every field that the decoder refuses in a body b of type
// t, after the problems scanBody found (f, and the members with bad names,
// which are not named again); first is the decoder's first error, or nil.
// A value the decoder refuses (an unknown field, a wrong type, a bad
// amount) is cut out of b and b decoded again, until it passes or the
// answer is full.
func explain(b []byte, t reflect.Type, f apperr.Fields, badNames []jsontext.Pointer, first error) error {
	named := make(map[string]bool, len(f))
	for _, e := range f {
		named[e.Field] = true
	}
	err := first
	for tries := 0; len(f) < maxCheckErrors && tries < 2*maxCheckErrors; tries++ {
		if tries > 0 || err == nil {
			err = jsonv2.Unmarshal(b, reflect.New(t).Interface(), decodeOptions)
		}
		if err == nil {
			break
		}
		var se *jsonv2.SemanticError
		if !errors.As(err, &se) {
			return err // not the body's fault: t cannot be decoded into
		}
		if se.JSONPointer == "" && se.Err == nil {
			want := goKind(se.GoType)
			if want == "an object" {
				want = "a JSON object"
			}
			return apperr.New(apperr.ErrBadRequest, "the body must be %s, not %s", want, jsonKind(byte(se.JSONKind)))
		}
		rest, field, ok := cut(b, se.JSONPointer)
		if !named[field] && !slices.ContainsFunc(badNames, func(p jsontext.Pointer) bool { return p.Contains(se.JSONPointer) }) {
			named[field] = true
			f.Add(field, "%s", semanticProblem(se))
		}
		if !ok || bytes.Equal(rest, b) {
			break // the top level, or an element that null does not fix: stop
		}
		b = rest
	}
	return f.Err()
}

// semanticProblem words what the decoder found wrong with a value.
func semanticProblem(se *jsonv2.SemanticError) string {
	t := se.GoType
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case errors.Is(se.Err, jsonv2.ErrUnknownName):
		name := se.JSONPointer.LastToken()
		if t != nil && t.Kind() == reflect.Struct {
			for _, known := range fieldNames(t) {
				if strings.EqualFold(known, name) {
					return fmt.Sprintf("unknown field; did you mean %q?", known)
				}
			}
		}
		return "unknown field"
	case se.Err == nil:
		return fmt.Sprintf("must be %s, not %s", goKind(t), jsonKind(byte(se.JSONKind)))
	case se.JSONKind == '0' && t != nil && t.Kind() >= reflect.Int && t.Kind() <= reflect.Uintptr:
		return fmt.Sprintf("must be an integer within range, not %s", se.JSONValue)
	case se.JSONKind == '0' && t != nil && (t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64):
		return fmt.Sprintf("must be a number within range, not %s", se.JSONValue)
	}
	// A type's own UnmarshalJSON error (an amount, a date), which says
	// what the value must be.
	return se.Err.Error()
}

// fieldNames lists the JSON names of struct type t's fields, for the hint
// on a name that differs only in case; the decoder alone decides which
// names are known.
func fieldNames(t reflect.Type) []string {
	if names, ok := fieldNamesOf.Load(t); ok {
		return names.([]string)
	}
	names := []string{}
	for _, sf := range reflect.VisibleFields(t) {
		tag := sf.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case !sf.IsExported() || tag == "-":
		case sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct: // its fields are listed
		case name != "":
			names = append(names, name)
		default:
			names = append(names, sf.Name)
		}
	}
	fieldNamesOf.Store(t, names)
	return names
}

var fieldNamesOf sync.Map // reflect.Type → []string

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// goKind names what a Go type accepts from JSON, in messages.
func goKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "a JSON value"
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) { // a date, say
		return "a string"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a JSON value"
}

// jsonKind names a JSON value by its first byte (or jsontext.Kind), in
// messages.
func jsonKind(b byte) string {
	switch b {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "true or false"
	case 'n':
		return "null"
	}
	return "a number"
}

// cut returns b without the value at p (its first occurrence), so that the
// decoder can go on to the next problem: a member is left out, an element of
// a list becomes null (which every type accepts) so that the indexes of the
// others stay. It also returns p as a field path (categories[0].category,
// "body" for the top level) and whether the value was found below the top
// level.
func cut(b []byte, p jsontext.Pointer) ([]byte, string, bool) {
	if p == "" {
		return b, "body", false
	}
	c := cutter{dec: jsontext.NewDecoder(bytes.NewBuffer(b), syntaxOnly), body: b, at: p}
	if err := c.find("", ""); err != nil || !c.found {
		return b, pointerField(p), false
	}
	return slices.Concat(b[:c.start], c.with, b[c.end:]), c.field, true
}

// cutter finds the value at a pointer in a body, and the bytes to cut.
type cutter struct {
	dec        *jsontext.Decoder
	body       []byte
	at         jsontext.Pointer
	found      bool
	start, end int    // what to cut out of body
	with       []byte // and put in its place
	field      string // at's path
}

var null = []byte("null")

// find reads the value at here (whose path is field), which holds c.at,
// down to c.at.
func (c *cutter) find(here jsontext.Pointer, field string) error {
	tok, err := c.dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case '{':
		for first := true; c.dec.PeekKind() != '}'; first = false {
			afterPrevious := int(c.dec.InputOffset())
			raw, err := c.dec.ReadValue()
			if err != nil {
				return err
			}
			nameStart := int(c.dec.InputOffset()) - len(raw)
			name, _ := jsontext.AppendUnquote(nil, raw)
			child, childField := here.AppendToken(string(name)), member(field, string(name))
			switch {
			case child == c.at:
				if err := c.dec.SkipValue(); err != nil {
					return err
				}
				c.found, c.field = true, childField
				// With the comma before it, or for the first member after it.
				c.start, c.end = afterPrevious, int(c.dec.InputOffset())
				if first {
					c.start = nameStart
					if c.dec.PeekKind() != '}' {
						c.end = bytes.IndexByte(c.body[c.end:], ',') + c.end + 1
					}
				}
				return nil
			case child.Contains(c.at): // (twice, if the key is repeated)
				if err := c.find(child, childField); err != nil || c.found {
					return err
				}
				continue
			}
			if err := c.dec.SkipValue(); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; c.dec.PeekKind() != ']'; i++ {
			child, childField := here.AppendToken(strconv.Itoa(i)), field+"["+strconv.Itoa(i)+"]"
			switch {
			case child == c.at:
				raw, err := c.dec.ReadValue()
				if err != nil {
					return err
				}
				c.found, c.field, c.with = true, childField, null
				c.end = int(c.dec.InputOffset())
				c.start = c.end - len(raw)
				return nil
			case child.Contains(c.at): // (twice, if the key is repeated)
				if err := c.find(child, childField); err != nil || c.found {
					return err
				}
				continue
			}
			if err := c.dec.SkipValue(); err != nil {
				return err
			}
		}
	default:
		return nil // a string or number: c.at is not in it
	}
	_, err = c.dec.ReadToken() // the end of the object or list, which does not hold c.at
	return err
}

// pointerField renders a JSON pointer that cut could not follow as a path,
// without knowing which parts are list indexes.
func pointerField(p jsontext.Pointer) string {
	var field string
	for tok := range p.Tokens() {
		field = member(field, tok)
	}
	if field == "" {
		return "body"
	}
	return field
}

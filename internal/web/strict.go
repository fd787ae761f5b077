package web

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"huimin/internal/apperr"
)

// The strict check runs over a body's bytes before encoding/json decodes
// it, because encoding/json forgives what DESIGN §10 refuses: it replaces
// invalid UTF-8 and unpaired surrogates with U+FFFD (which can change a
// bill_ref), lets the last of two equal keys win, matches keys without
// regard to case, and names a bad field without its list indexes
// ("categories.category") or, for an unknown field, by its last name only.
// The check walks the JSON together with the Go type it is decoded into
// and names every problem by its full path (categories[0].category,
// facts.total_cost).

// maxCheckErrors bounds the fields of one answer: a body of a million
// repeated keys gets the first ones, not a million.
const maxCheckErrors = 50

// shapeKind is what a Go type accepts from JSON.
type shapeKind uint8

const (
	shapeAny    shapeKind = iota // interface{} or json.RawMessage: any value (text still checked)
	shapeStruct                  // an object with these fields
	shapeMap                     // an object of elem values
	shapeList                    // a list of elem values
	shapeString
	shapeBool
	shapeInt
	shapeUint
	shapeFloat
	shapeBytes     // []byte: a base64 string (or a list of numbers)
	shapeJSON      // a json.Unmarshaler: asked itself
	shapeText      // an encoding.TextUnmarshaler: a string, asked itself
	shapePtr       // a pointer: null, or elem
	shapeOpaque    // a kind encoding/json refuses to decode into; left to it
	shapeUnchecked // skipped: checked later on its own (DecodeList's items)
)

// shape is the JSON a Go type accepts.
type shape struct {
	kind   shapeKind
	bits   int               // shapeInt, shapeUint, shapeFloat
	elem   *shape            // shapeMap, shapeList, shapePtr
	fields map[string]*shape // shapeStruct, by exact JSON name
	folded map[string]string // shapeStruct: lower-case name → JSON name, for hints
	typ    reflect.Type      // shapeJSON, shapeText: the type to ask
}

var (
	shapes        sync.Map // reflect.Type → *shape
	anyShape      = &shape{kind: shapeAny}
	byteShape     = &shape{kind: shapeUint, bits: 8}
	jsonNumber    = reflect.TypeFor[json.Number]()
	rawMessage    = reflect.TypeFor[json.RawMessage]()
	jsonUnmarshal = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshal = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// shapeOf returns the shape of t, built once per type.
func shapeOf(t reflect.Type) *shape {
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	s := buildShape(t, map[reflect.Type]*shape{})
	shapes.Store(t, s)
	return s
}

// buildShape follows encoding/json's rules for t; building records shapes
// under construction so that recursive types terminate.
func buildShape(t reflect.Type, building map[reflect.Type]*shape) *shape {
	if s, ok := building[t]; ok {
		return s
	}
	s := &shape{}
	building[t] = s
	switch {
	case t == rawMessage:
		s.kind = shapeAny
		return s
	case t == jsonNumber:
		s.kind = shapeOpaque // a number, or a string holding one: encoding/json checks it
		return s
	case t.Kind() == reflect.Pointer:
		s.kind, s.elem = shapePtr, buildShape(t.Elem(), building)
		return s
	case t.Implements(jsonUnmarshal) || reflect.PointerTo(t).Implements(jsonUnmarshal):
		s.kind, s.typ = shapeJSON, t
		return s
	case t.Implements(textUnmarshal) || reflect.PointerTo(t).Implements(textUnmarshal):
		s.kind, s.typ = shapeText, t
		return s
	}
	switch t.Kind() {
	case reflect.Interface:
		s.kind = shapeAny
	case reflect.String:
		s.kind = shapeString
	case reflect.Bool:
		s.kind = shapeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s.kind, s.bits = shapeInt, t.Bits()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		s.kind, s.bits = shapeUint, t.Bits()
	case reflect.Float32, reflect.Float64:
		s.kind, s.bits = shapeFloat, t.Bits()
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(jsonUnmarshal) && !reflect.PointerTo(t.Elem()).Implements(textUnmarshal) {
			s.kind = shapeBytes
		} else {
			s.kind, s.elem = shapeList, buildShape(t.Elem(), building)
		}
	case reflect.Map:
		if t.Key().Kind() == reflect.String {
			s.kind, s.elem = shapeMap, buildShape(t.Elem(), building)
		} else {
			s.kind = shapeOpaque // integer or text keys: encoding/json checks them
		}
	case reflect.Struct:
		s.kind = shapeStruct
		s.fields, s.folded = map[string]*shape{}, map[string]string{}
		for name, ft := range structFields(t) {
			s.fields[name] = buildShape(ft, building)
			s.folded[strings.ToLower(name)] = name
		}
	default:
		s.kind = shapeOpaque
	}
	return s
}

// structFields lists the JSON names of t's fields and their types as
// encoding/json sees them: exported fields by tag or Go name, fields of
// embedded structs promoted, a shallower field hiding a deeper one of the
// same name, and at one depth a tagged field winning over untagged ones
// (two of a kind hide each other).
func structFields(t reflect.Type) map[string]reflect.Type {
	type candidate struct {
		typ    reflect.Type
		depth  int
		tagged bool
		count  int
	}
	found := map[string]*candidate{}
	type level struct {
		t     reflect.Type
		depth int
	}
	queue := []level{{t, 0}}
	visited := map[reflect.Type]bool{}
	for len(queue) > 0 {
		l := queue[0]
		queue = queue[1:]
		if visited[l.t] {
			continue
		}
		visited[l.t] = true
		for i := 0; i < l.t.NumField(); i++ {
			sf := l.t.Field(i)
			ft := sf.Type
			if sf.Anonymous {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() && ft.Kind() != reflect.Struct {
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
				queue = append(queue, level{ft, l.depth + 1})
				continue
			}
			tagged := name != ""
			if !tagged {
				name = sf.Name
			}
			c := found[name]
			switch {
			case c == nil || l.depth < c.depth || (l.depth == c.depth && tagged && !c.tagged):
				found[name] = &candidate{typ: sf.Type, depth: l.depth, tagged: tagged, count: 1}
			case l.depth == c.depth && tagged == c.tagged:
				c.count++
			}
		}
	}
	out := make(map[string]reflect.Type, len(found))
	for name, c := range found {
		if c.count == 1 {
			out[name] = c.typ
		}
	}
	return out
}

// pathPart is one step of a field path: an object key or a list index.
type pathPart struct {
	key   []byte // nil for an index
	index int
}

// checker walks one valid JSON document (json.Valid has passed, so the
// grammar holds and the walk never meets a syntax error).
type checker struct {
	b    []byte
	i    int
	path []pathPart
	errs apperr.Fields
}

// checkJSON checks b (valid JSON) against the shape of t and returns the
// field errors. A top-level value that cannot become t at all (a list for
// a struct) is notObject.
func checkJSON(b []byte, t reflect.Type) (errs apperr.Fields, notObject bool) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s := anyShape
	if t != nil {
		s = shapeOf(t)
	}
	c := &checker{b: b}
	c.space()
	if !accepts(s, c.b[c.i]) {
		return nil, true
	}
	c.value(s)
	return c.errs, false
}

// fieldName renders the current path: facts.total_cost, claims[2].plan;
// "body" for the top level.
func (c *checker) fieldName(extra []byte) string {
	var sb strings.Builder
	for _, p := range c.path {
		if p.key == nil {
			sb.WriteString("[" + strconv.Itoa(p.index) + "]")
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.Write(p.key)
	}
	if extra != nil {
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.Write(extra)
	}
	if sb.Len() == 0 {
		return "body"
	}
	return sb.String()
}

func (c *checker) add(extra []byte, format string, args ...any) {
	if len(c.errs) < maxCheckErrors {
		c.errs.Add(c.fieldName(extra), format, args...)
	}
}

func (c *checker) space() {
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

// jsonKind names the JSON value starting at b[i] in messages.
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

// shapeName names what a shape accepts in messages.
func shapeName(s *shape) string {
	switch s.kind {
	case shapeStruct, shapeMap:
		return "an object"
	case shapeList:
		return "a list"
	case shapeString, shapeBytes, shapeText:
		return "a string"
	case shapeBool:
		return "true or false"
	case shapeInt, shapeUint:
		return "an integer"
	case shapeFloat:
		return "a number"
	}
	return "a JSON value"
}

// accepts reports whether a JSON value starting with first may become s.
func accepts(s *shape, first byte) bool {
	if first == 'n' {
		return true
	}
	switch s.kind {
	case shapeAny, shapeJSON, shapeOpaque, shapePtr:
		return true
	case shapeStruct, shapeMap:
		return first == '{'
	case shapeList:
		return first == '['
	case shapeString, shapeText:
		return first == '"'
	case shapeBytes:
		return first == '"' || first == '['
	case shapeBool:
		return first == 't' || first == 'f'
	}
	return first == '-' || (first >= '0' && first <= '9') // numbers
}

// value checks the value at c.i against s and moves past it.
func (c *checker) value(s *shape) {
	c.space()
	start, first := c.i, c.b[c.i]
	if s.kind == shapeUnchecked {
		c.skip()
		return
	}
	if s.kind == shapePtr && first != 'n' {
		c.value(s.elem)
		return
	}
	if !accepts(s, first) {
		c.add(nil, "must be %s, not %s", shapeName(s), jsonKind(first))
		c.skip()
		return
	}
	before := len(c.errs)
	switch first {
	case '{':
		c.object(s)
	case '[':
		elem := anyShape
		if s.kind == shapeList {
			elem = s.elem
		} else if s.kind == shapeBytes {
			elem = byteShape
		}
		c.list(elem)
	case '"':
		c.text(false)
	case 't':
		c.i += 4
	case 'f':
		c.i += 5
	case 'n':
		c.i += 4
	default:
		c.number(s)
	}
	if len(c.errs) > before {
		return // the text inside is already refused
	}
	raw := c.b[start:c.i]
	switch {
	case s.kind == shapeJSON:
		if err := reflect.New(s.typ).Interface().(json.Unmarshaler).UnmarshalJSON(raw); err != nil {
			c.add(nil, "%v", err)
		}
	case s.kind == shapeText && first == '"':
		var str string
		if json.Unmarshal(raw, &str) == nil {
			if err := reflect.New(s.typ).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(str)); err != nil {
				c.add(nil, "%v", err)
			}
		}
	}
}

// number checks a number literal against a numeric shape, as encoding/json
// parses it: integers without fraction or exponent, within the type's range.
func (c *checker) number(s *shape) {
	start := c.i
	for c.i < len(c.b) && strings.IndexByte("+-0123456789.eE", c.b[c.i]) >= 0 {
		c.i++
	}
	lit := string(c.b[start:c.i])
	var err error
	switch s.kind {
	case shapeInt:
		_, err = strconv.ParseInt(lit, 10, s.bits)
	case shapeUint:
		_, err = strconv.ParseUint(lit, 10, s.bits)
	case shapeFloat:
		_, err = strconv.ParseFloat(lit, s.bits)
	}
	if err != nil {
		if s.kind == shapeFloat {
			c.add(nil, "must be a number within range, not %s", lit)
		} else {
			c.add(nil, "must be an integer within range, not %s", lit)
		}
	}
}

// object checks an object against s (a struct, a map, or anything): every
// key once, every key a field of the struct, every value its field's shape.
func (c *checker) object(s *shape) {
	c.i++ // {
	var (
		small []string // keys seen, for the usual small object
		seen  map[string]bool
	)
	for c.more('}') {
		keyStart := c.i
		bad := c.text(true)
		rawKey := c.b[keyStart+1 : c.i-1]
		key := string(rawKey)
		if bytes.IndexByte(rawKey, '\\') >= 0 {
			_ = json.Unmarshal(c.b[keyStart:c.i], &key)
			rawKey = []byte(key)
		}
		c.space()
		c.i++ // :
		if bad {
			c.skip()
			continue
		}
		repeated := false
		if seen == nil && len(small) < 16 {
			for _, k := range small {
				repeated = repeated || k == key
			}
			small = append(small, key)
		} else {
			if seen == nil {
				seen = make(map[string]bool, 32)
				for _, k := range small {
					seen[k] = true
				}
			}
			repeated = seen[key]
			seen[key] = true
		}
		if repeated {
			if s.kind != shapeStruct || s.fields[key] != nil { // an unknown field is reported once, as unknown
				c.add(rawKey, "is given twice; a JSON object may not repeat a key")
			}
			c.skip()
			continue
		}
		var elem *shape
		switch s.kind {
		case shapeStruct:
			elem = s.fields[key]
			if elem == nil {
				if exact, ok := s.folded[strings.ToLower(key)]; ok {
					c.add(rawKey, "unknown field; did you mean %q?", exact)
				} else {
					c.add(rawKey, "unknown field")
				}
				c.skip()
				continue
			}
		case shapeMap:
			elem = s.elem
		default:
			elem = anyShape
		}
		c.path = append(c.path, pathPart{key: rawKey})
		c.value(elem)
		c.path = c.path[:len(c.path)-1]
	}
}

// list checks every element of a list against elem.
func (c *checker) list(elem *shape) {
	c.i++ // [
	for n := 0; c.more(']'); n++ {
		c.path = append(c.path, pathPart{index: n})
		c.value(elem)
		c.path = c.path[:len(c.path)-1]
	}
}

// more moves to the next member of an object or list, past its comma, and
// reports whether there is one; at the closing byte it moves past it and
// reports false.
func (c *checker) more(closing byte) bool {
	c.space()
	if c.b[c.i] == closing {
		c.i++
		return false
	}
	if c.b[c.i] == ',' {
		c.i++
		c.space()
	}
	return true
}

// skip moves past the value at c.i without checking it (one already
// refused as a whole).
func (c *checker) skip() {
	c.space()
	depth := 0
	for {
		switch c.b[c.i] {
		case '"':
			c.skipString()
		case '{', '[':
			depth++
			c.i++
		case '}', ']':
			depth--
			c.i++
		case ',', ':', ' ', '\t', '\n', '\r':
			c.i++
		default:
			for c.i < len(c.b) && strings.IndexByte(",:]} \t\n\r", c.b[c.i]) < 0 {
				c.i++
			}
		}
		if depth == 0 {
			return
		}
	}
}

func (c *checker) skipString() {
	c.i++
	for c.b[c.i] != '"' {
		if c.b[c.i] == '\\' {
			c.i++
		}
		c.i++
	}
	c.i++
}

// text checks the string at c.i and moves past it: valid UTF-8, no
// unpaired surrogate escape, no control character (DESIGN §10). A problem
// is reported on the current path, or, for a key, on the object holding
// it, since the key itself cannot be printed. It reports whether there was
// a problem.
func (c *checker) text(isKey bool) bool {
	c.i++ // "
	problem := ""
	for {
		ch := c.b[c.i]
		switch {
		case ch == '"':
			c.i++
			if problem == "" {
				return false
			}
			if isKey {
				c.add(nil, "has a field name that is not acceptable text: it %s", problem)
			} else {
				c.add(nil, "%s", problem)
			}
			return true
		case ch == '\\':
			r, n, paired := c.escape()
			c.i += n
			switch {
			case !paired:
				if problem == "" {
					problem = "contains an unpaired UTF-16 surrogate (\\ud800–\\udfff), which is not valid Unicode text"
				}
			case BadRune(r) && problem == "":
				problem = controlProblem(r)
			}
		case ch < utf8.RuneSelf:
			if ch == 0x7f && problem == "" {
				problem = controlProblem(0x7f)
			}
			c.i++
		default:
			r, n := utf8.DecodeRune(c.b[c.i:])
			if r == utf8.RuneError && n == 1 {
				if problem == "" {
					problem = "is not valid UTF-8 text (a byte sequence was sent that is no character; check the file's or client's encoding)"
				}
			} else if BadRune(r) && problem == "" {
				problem = controlProblem(r)
			}
			c.i += n
		}
	}
}

// escape reads the escape sequence at c.i and returns the character it
// stands for, its length, and false for a surrogate escape without its
// other half.
func (c *checker) escape() (rune, int, bool) {
	switch c.b[c.i+1] {
	case 'u':
		r := hex4(c.b[c.i+2 : c.i+6])
		if !utf16.IsSurrogate(r) {
			return r, 6, true
		}
		if r < 0xdc00 && c.i+12 <= len(c.b) && c.b[c.i+6] == '\\' && c.b[c.i+7] == 'u' {
			if lo := hex4(c.b[c.i+8 : c.i+12]); lo >= 0xdc00 && lo <= 0xdfff {
				return utf16.DecodeRune(r, lo), 12, true
			}
		}
		return r, 6, false
	case 'b':
		return '\b', 2, true
	case 'f':
		return '\f', 2, true
	case 'n':
		return '\n', 2, true
	case 'r':
		return '\r', 2, true
	case 't':
		return '\t', 2, true
	}
	return rune(c.b[c.i+1]), 2, true // \" \\ \/
}

func hex4(b []byte) rune {
	var r rune
	for _, h := range b {
		switch {
		case h >= '0' && h <= '9':
			r = r<<4 | rune(h-'0')
		case h >= 'a' && h <= 'f':
			r = r<<4 | rune(h-'a'+10)
		case h >= 'A' && h <= 'F':
			r = r<<4 | rune(h-'A'+10)
		}
	}
	return r
}

func controlProblem(r rune) string {
	return fmt.Sprintf("must not contain control characters (U+%04X here) such as NUL, tabs or line breaks; text is one line", r)
}

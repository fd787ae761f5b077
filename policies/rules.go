package policies

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"huimin/internal/apperr"
	"huimin/internal/money"
)

// Rules is one version of a plan's programme-specific rules, validated and
// typed. Exactly one of the programme pointers is non-nil, matching
// Programme; the zero Rules (no programme) pays nothing and covers nothing.
// The typed pointers are there for callers that read a programme's rules;
// the shared code reaches them only through the programme registry.
type Rules struct {
	Programme string
	ZKB       *ZKBRules
	ZFB       *ZFBRules
	FPB       *FPBRules
	CYB       *CYBRules
	// quiet assessments compute the payable without wording a breakdown
	// (WithoutBreakdown).
	quiet bool
}

// WithoutBreakdown returns the same rules for assessments that skip the
// breakdown: Assess computes the same base, raw amount, payable and cap
// outcome by the same code, and leaves Breakdown empty instead of writing
// a line per step. The what-if (claims.Simulate) re-assesses a hundred
// thousand claims whose payables alone it sums, and wording their steps
// would cost it more than the rules do.
func (r Rules) WithoutBreakdown() Rules {
	r.quiet = true
	return r
}

// programmeRules is what the shared code asks of one programme's typed rules
// (*ZKBRules, *ZFBRules, *FPBRules, *CYBRules, each in its programme's file),
// so that eligibility, assessment and rendering never switch on the
// programme.
type programmeRules interface {
	// coversCause reports whether the plan pays for cause (a cause of the
	// programme it has not removed).
	coversCause(cause string) bool
	// requiredEvidence lists the evidence kinds of a covered cause.
	requiredEvidence(cause string) []string
	// eligibleCategories lists the registry categories covered; nil when
	// the programme admits by something else.
	eligibleCategories() []string
	// annualCap is the most one cap subject is paid in the plan's period.
	annualCap() decimal.Decimal
	// admits reports whether a beneficiary with these categories and
	// residency (valid on the event date) is covered at all.
	admits(categories, residency []string) bool
	// factReasons are the programme's eligibility reasons that the facts
	// decide (above_prevention_line, industry_not_covered), in DESIGN §6's
	// order.
	factReasons(f Facts) []string
	// assess computes a covered claim's payable (DESIGN §5) into a.
	assess(a *assessment, f Facts, categories []string, h History)
	// canonical is the value whose JSON is the canonical rules object.
	canonical() any
}

// asProgrammeRules returns p as programmeRules, or nil for a nil pointer:
// a nil *ZKBRules inside an interface would not be nil, and the shared code
// tells "no rules" by nil.
func asProgrammeRules[R any, P interface {
	*R
	programmeRules
}](p P) programmeRules {
	if p == nil {
		return nil
	}
	return p
}

// typed returns the programme's rules inside r, or nil when r carries none
// for its programme (the zero Rules, or a Rules built by hand).
func (r Rules) typed() programmeRules {
	if s := specOf(r.Programme); s != nil {
		return s.rulesOf(r)
	}
	return nil
}

// defaultTrees are the defaults decoded once. Trees are never mutated (merge
// copies the objects it changes), so sharing them is safe.
var defaultTrees = sync.OnceValue(func() map[string]map[string]any {
	out := make(map[string]map[string]any, len(programmeRegistry))
	for _, s := range programmeRegistry {
		v, err := decodeTree([]byte(s.defaults))
		if err != nil {
			panic("policies: default rules of " + s.Code + " are not JSON: " + err.Error())
		}
		out[s.Code] = v.(map[string]any)
	}
	return out
})

// DefaultRules returns the programme's default rules of DESIGN §5, the rules
// a plan gets when its creator supplies none. An unknown programme gives the
// zero Rules.
func DefaultRules(programme string) Rules {
	if specOf(programme) == nil {
		return Rules{}
	}
	r, errs := ParseRules(programme, nil)
	if len(errs) > 0 {
		// The defaults are constants covered by tests; this is a bug.
		panic(fmt.Sprintf("policies: default rules of %s are invalid: %v", programme, errs))
	}
	return r
}

// ParseRules validates rules supplied by an administrator for a plan of
// programme and returns them typed.
//
// The supplied object is merged onto the programme's defaults, so a plan
// states only what differs: a key that is omitted keeps its default value;
// objects merge key by key, recursively; lists (categories, brackets,
// evidence) replace the default list wholesale, because a partial list has no
// obvious meaning. A key set to JSON null is removed. That is how a plan
// drops a cause: "causes": {"education": null} under FPB, or
// "loss_topup": null under CYB, and a claim for it is then cause_not_covered.
// Removing a required key (for example "annual_cap": null) is an error.
//
// Validation is strict and collects every error, each a FieldError whose path
// starts with "rules." (e.g. "rules.causes.illness.brackets[2].rate"): unknown
// keys, wrong JSON types, amounts as money.Parse accepts them, rates from 0 to
// 1 with at most four decimals, brackets non-empty with up_to strictly
// ascending above the deductible and only the last unbounded (null), known
// categories, residency types, industries and causes, a ratio for every ZKB
// eligible category, non-empty evidence lists of well-formed kinds, and
// annual and cause caps above zero. When there are errors the Rules returned
// are the zero value.
//
// nil, empty or JSON null raw means "no changes": the defaults.
func ParseRules(programme string, raw json.RawMessage) (Rules, apperr.Fields) {
	var errs apperr.Fields
	def, ok := defaultTrees()[programme]
	if !ok {
		errs.Add("programme", "unknown programme %q", programme)
		return Rules{}, errs
	}
	tree := def
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && !bytes.Equal(trimmed, []byte("null")) {
		v, err := decodeTree(trimmed)
		if err != nil {
			errs.Add("rules", "must be valid JSON")
			return Rules{}, errs
		}
		over, ok := v.(map[string]any)
		if !ok {
			errs.Add("rules", "must be an object")
			return Rules{}, errs
		}
		tree = mergeTree(def, over)
	}
	c := &ruleChecker{}
	r := specOf(programme).parseRules(c, tree)
	if len(c.errs) > 0 {
		return Rules{}, c.errs
	}
	return r, nil
}

// decodeTree decodes one JSON value keeping numbers as their literal text
// (json.Number), so amounts never pass through float64.
func decodeTree(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

// mergeTree returns def with over applied: objects merge recursively, any
// other value replaces, and null removes a key that def has. A null for a key
// def lacks is kept, so that validation still names a misspelt key.
func mergeTree(def, over map[string]any) map[string]any {
	out := make(map[string]any, len(def)+len(over))
	for k, v := range def {
		out[k] = v
	}
	for k, v := range over {
		dv, inDef := def[k]
		switch {
		case v == nil && inDef:
			delete(out, k)
		case v == nil:
			out[k] = nil
		default:
			dObj, dIsObj := dv.(map[string]any)
			oObj, oIsObj := v.(map[string]any)
			if dIsObj && oIsObj {
				out[k] = mergeTree(dObj, oObj)
			} else {
				out[k] = v
			}
		}
	}
	return out
}

// ruleChecker reads a merged rules tree into typed rules, collecting every
// error instead of stopping at the first.
type ruleChecker struct {
	errs apperr.Fields
}

// rulesRoot is the path prefix of every rules error.
const rulesRoot = "rules"

var (
	evidenceKindPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)
	ratePattern         = regexp.MustCompile(`^[0-9]{1,4}(\.[0-9]{1,4})?$`)
)

// object checks that v is an object whose keys are all among known, naming
// each unknown key. It returns nil when v is not an object.
func (c *ruleChecker) object(path string, v any, known ...string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		c.errs.Add(path, "must be an object")
		return nil
	}
	for _, k := range sortedKeys(m) {
		if !slices.Contains(known, k) {
			c.errs.Add(apperr.Join(path, k), "unknown key")
		}
	}
	return m
}

// child reads the object under key, which must be present.
func (c *ruleChecker) child(m map[string]any, path, key string, known ...string) map[string]any {
	v, ok := m[key]
	if !ok {
		c.errs.Add(apperr.Join(path, key), "is required")
		return nil
	}
	return c.object(apperr.Join(path, key), v, known...)
}

// amount reads a required amount: a string or number as money.Parse accepts.
func (c *ruleChecker) amount(m map[string]any, path, key string) decimal.Decimal {
	d, _ := c.amountOK(m, path, key)
	return d
}

func (c *ruleChecker) amountOK(m map[string]any, path, key string) (decimal.Decimal, bool) {
	p := apperr.Join(path, key)
	v, ok := m[key]
	if !ok || v == nil {
		c.errs.Add(p, "is required")
		return decimal.Zero, false
	}
	return c.amountValue(p, v)
}

func (c *ruleChecker) amountValue(p string, v any) (decimal.Decimal, bool) {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = t.String()
	default:
		c.errs.Add(p, "must be an amount (a string like \"1234.50\" or a number)")
		return decimal.Zero, false
	}
	d, err := money.Parse(s)
	if err != nil {
		c.errs.Add(p, "%s", amountMessage(err))
		return decimal.Zero, false
	}
	return d, true
}

// cap reads an annual or cause cap, which must leave some room: a zero cap
// would reject every claim as annual_cap_reached, which is what closing the
// plan is for.
func (c *ruleChecker) cap(m map[string]any, path, key string) decimal.Decimal {
	d, ok := c.amountOK(m, path, key)
	if ok && !d.IsPositive() {
		c.errs.Add(apperr.Join(path, key), "must be greater than 0")
	}
	return d
}

// rate reads a required rate: 0 ≤ r ≤ 1, at most four decimals, as a decimal
// string ("0.30") or a number.
func (c *ruleChecker) rate(m map[string]any, path, key string) decimal.Decimal {
	p := apperr.Join(path, key)
	v, ok := m[key]
	if !ok {
		c.errs.Add(p, "is required")
		return decimal.Zero
	}
	return c.rateValue(p, v)
}

func (c *ruleChecker) rateValue(p string, v any) decimal.Decimal {
	const msg = "must be a rate from 0 to 1 with at most 4 decimals, e.g. \"0.30\""
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = t.String()
	default:
		c.errs.Add(p, msg)
		return decimal.Zero
	}
	if !ratePattern.MatchString(s) {
		c.errs.Add(p, msg)
		return decimal.Zero
	}
	d, err := decimal.NewFromString(s)
	if err != nil || d.GreaterThan(decimal.NewFromInt(1)) {
		c.errs.Add(p, msg)
		return decimal.Zero
	}
	return d
}

// nameList reads a required, non-empty list of distinct names from allowed.
func (c *ruleChecker) nameList(m map[string]any, path, key string, allowed []string, what string) []string {
	return c.stringList(m, apperr.Join(path, key), key, func(ip, s string, seen []string) bool {
		switch {
		case !slices.Contains(allowed, s):
			c.errs.Add(ip, "unknown %s %q (one of %s)", what, s, strings.Join(allowed, ", "))
		case slices.Contains(seen, s):
			c.errs.Add(ip, "duplicate %s %q", what, s)
		default:
			return true
		}
		return false
	})
}

// evidence reads a required, non-empty list of distinct evidence kinds.
func (c *ruleChecker) evidence(m map[string]any, path, key string) []string {
	return c.stringList(m, apperr.Join(path, key), key, func(ip, s string, seen []string) bool {
		switch {
		case !evidenceKindPattern.MatchString(s):
			c.errs.Add(ip, "evidence kind must match ^[a-z][a-z0-9_]{0,39}$")
		case slices.Contains(seen, s):
			c.errs.Add(ip, "duplicate evidence kind %q", s)
		default:
			return true
		}
		return false
	})
}

// stringList reads a required non-empty list of strings at m[key] (p is its
// full path), keeping the items that accept approves (it reports why it
// refuses one). Errors come out in item order.
func (c *ruleChecker) stringList(m map[string]any, p, key string, accept func(itemPath, s string, seen []string) bool) []string {
	v, present := m[key]
	if !present || v == nil {
		c.errs.Add(p, "is required")
		return nil
	}
	list, isList := v.([]any)
	if !isList {
		c.errs.Add(p, "must be a list of strings")
		return nil
	}
	if len(list) == 0 {
		c.errs.Add(p, "must not be empty")
		return nil
	}
	out := make([]string, 0, len(list))
	for i, item := range list {
		ip := apperr.Join(p, fmt.Sprintf("[%d]", i))
		s, isStr := item.(string)
		if !isStr {
			c.errs.Add(ip, "must be a string")
			continue
		}
		if accept(ip, s, out) {
			out = append(out, s)
		}
	}
	return out
}

// causeObject reads the required object at m[key] whose keys are causes of
// the programme (FPB's tiers, CYB's evidence lists), naming every key that
// is not one; what says what the values are, for the message. ok is false
// when there is no object to read further.
func (c *ruleChecker) causeObject(m map[string]any, key, programme string, causes []string, what string) (obj map[string]any, ok bool) {
	p := apperr.Join(rulesRoot, key)
	v, present := m[key]
	obj, isObj := v.(map[string]any)
	switch {
	case !present:
		c.errs.Add(p, "is required")
		return nil, false
	case !isObj:
		c.errs.Add(p, "must be an object of cause to %s", what)
		return nil, false
	}
	for _, k := range sortedKeys(obj) {
		if !slices.Contains(causes, k) {
			c.errs.Add(apperr.Join(p, k), "unknown cause (%s causes are %s)", programme, strings.Join(causes, ", "))
		}
	}
	return obj, true
}

// brackets reads a cause's tier. Each up_to must be above the deductible and
// the previous up_to, so that every band has positive width and F is
// monotone; only the last band may be unbounded.
func (c *ruleChecker) brackets(m map[string]any, path string, deductible decimal.Decimal, deductibleOK bool) []Bracket {
	p := apperr.Join(path, "brackets")
	v, present := m["brackets"]
	if !present || v == nil {
		c.errs.Add(p, "is required")
		return nil
	}
	list, isList := v.([]any)
	if !isList {
		c.errs.Add(p, "must be a list of {up_to, rate}")
		return nil
	}
	if len(list) == 0 {
		c.errs.Add(p, "must have at least one bracket")
		return nil
	}
	out := make([]Bracket, 0, len(list))
	prev, prevOK, prevIsDeductible := deductible, deductibleOK, true
	for i, item := range list {
		ip := apperr.Join(p, fmt.Sprintf("[%d]", i))
		bm := c.object(ip, item, "up_to", "rate")
		if bm == nil {
			prevOK = false
			continue
		}
		b := Bracket{Rate: c.rate(bm, ip, "rate")}
		upPath := apperr.Join(ip, "up_to")
		up, present := bm["up_to"]
		switch {
		case !present:
			c.errs.Add(upPath, "is required (null for no upper bound)")
			prevOK = false
		case up == nil:
			if i != len(list)-1 {
				c.errs.Add(upPath, "only the last bracket may have no upper bound (null)")
			}
			prevOK = false
		default:
			d, ok := c.amountValue(upPath, up)
			if !ok {
				prevOK = false
				break
			}
			if prevOK && !d.GreaterThan(prev) {
				if prevIsDeductible {
					c.errs.Add(upPath, "must be above the deductible (%s)", money.String(prev))
				} else {
					c.errs.Add(upPath, "must be above the previous bracket's up_to (%s)", money.String(prev))
				}
			}
			b.UpTo = &d
			prev, prevOK = d, true
		}
		prevIsDeductible = false
		out = append(out, b)
	}
	return out
}

// amountMessage turns a money.Parse error into a field message ("must be …").
func amountMessage(err error) string {
	return strings.TrimPrefix(err.Error(), money.ErrInvalid.Error()+": ")
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CoversCause reports whether a claim for cause can be paid under these
// rules: the cause belongs to the programme and the plan has not removed it.
func (r Rules) CoversCause(cause string) bool {
	t := r.typed()
	return t != nil && t.coversCause(cause)
}

// RequiredEvidence lists the evidence kinds a claim for cause must carry;
// nil when the cause is not covered.
func (r Rules) RequiredEvidence(cause string) []string {
	if !r.CoversCause(cause) {
		return nil
	}
	return r.typed().requiredEvidence(cause)
}

// EligibleCategories lists the registry categories the plan covers; nil for
// ZFB, whose eligibility is by residency (see ZFBRules.EligibleResidency).
func (r Rules) EligibleCategories() []string {
	if t := r.typed(); t != nil {
		return t.eligibleCategories()
	}
	return nil
}

// AnnualCap is the most one cap subject (person or household, see
// Programme.CapSubject) may be paid under the plan in its period.
func (r Rules) AnnualCap() decimal.Decimal {
	if t := r.typed(); t != nil {
		return t.annualCap()
	}
	return decimal.Zero
}

// MarshalJSON writes the canonical rules object: the shape of the DESIGN §5
// defaults, amounts as two-decimal strings, rates as decimal strings with two
// to four decimals, every key present. A cause the plan removed is written as
// null, so that ParseRules of the output gives back the same rules (omitting
// it would bring the default back on the merge). The zero Rules is null.
func (r Rules) MarshalJSON() ([]byte, error) {
	if t := r.typed(); t != nil {
		return json.Marshal(t.canonical())
	}
	if r.WithoutBreakdown() == (Rules{}).WithoutBreakdown() {
		return []byte("null"), nil
	}
	return nil, fmt.Errorf("policies: rules for programme %q carry no matching rules", r.Programme)
}

// orderedObject marshals as a JSON object keeping its keys in order (maps
// would sort them), for ratios, evidence by cause and claim facts.
type orderedObject []orderedField

type orderedField struct {
	Key   string
	Value any
}

// MarshalJSON writes the fields in order, as encoding/json writes each key
// and value. Every claim's facts go through here, so plain strings,
// integers and booleans are written directly (appendValue) rather than by
// a json.Marshal each.
func (o orderedObject) MarshalJSON() ([]byte, error) {
	buf := make([]byte, 0, 64*len(o))
	buf = append(buf, '{')
	for i, f := range o {
		if i > 0 {
			buf = append(buf, ',')
		}
		var err error
		if buf, err = appendValue(buf, f.Key); err != nil {
			return nil, err
		}
		buf = append(buf, ':')
		if buf, err = appendValue(buf, f.Value); err != nil {
			return nil, err
		}
	}
	return append(buf, '}'), nil
}

// appendValue appends v as json.Marshal writes it.
func appendValue(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		if plainText(v) {
			buf = append(buf, '"')
			buf = append(buf, v...)
			return append(buf, '"'), nil
		}
	case int:
		return strconv.AppendInt(buf, int64(v), 10), nil
	case bool:
		return strconv.AppendBool(buf, v), nil
	}
	b, err := json.Marshal(v)
	return append(buf, b...), err
}

// plainText reports whether json.Marshal writes s as it is between quotes:
// valid UTF-8 without control characters, quotes, backslashes, the HTML
// characters it escapes (< > &) or U+2028 and U+2029.
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		case c == 0xe2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9):
			return false
		}
	}
	return utf8.ValidString(s)
}

// nonNil makes a nil list marshal as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

package i18n

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// entry is one catalogue message: an English format exactly as the code
// passes it to fmt, and the Chinese template of the same message.
//
// The Chinese template names the English arguments by position, {1} being
// the first verb's: "计划 {1} 不存在". A placeholder may carry a filter,
// {2:yuan}, which both checks the argument (a message matches an entry only
// if every filtered argument passes) and renders it:
//
//	yuan      an amount, written 12,000.00 元
//	num       a number, written 12,000.00
//	pct       a rate, written as a percentage: 0.30 → 30%
//	int       a whole number, as is
//	t         a message of its own, translated in turn (a cap's label)
//	terms     the bands of a tier, "0.30 × (20000.00 − 5000.00) + …"
//	cause, category, industry, programme, residency, loss_class, service_type, status, reason
//	          a code, named in Chinese (illness → 疾病); an unknown code as is
type entry struct {
	en, zh string

	lits  []string // literal text between the verbs: len(lits) = verbs + 1
	verbs []byte   // each verb's letter: 's', 'd', 'q', 'v'…
	tmpl  []piece  // the Chinese template, parsed
	// filters holds each argument's filter ("" for none), by argument.
	filters []string
	weight  int // total literal length: the more an entry spells out, the sooner it is tried
}

// piece is a run of the Chinese template: literal text, or argument arg
// (0-based) rendered through filter.
type piece struct {
	text   string
	arg    int // -1 for literal text
	filter string
}

// catalogue is the compiled set of entries of one language.
type catalogue struct {
	exact map[string]*entry   // formats without verbs, by their text
	byLit map[string][]*entry // by the first two bytes of the leading literal
	loose []*entry            // formats starting with a verb (or a short literal)
	all   []*entry

	cache     sync.Map // English message → translation (string); "" when none
	cacheSize atomic.Int64
}

// maxCache bounds the memo of translated messages: a batch answer repeats
// the same few messages thousands of times; breakdown lines, which carry
// amounts, mostly do not repeat and stop being remembered past the bound.
const maxCache = 20000

// compile builds a catalogue, panicking on a malformed entry: the entries
// are constants, checked by the package's tests.
func compile(entries ...[]entry) *catalogue {
	c := &catalogue{exact: map[string]*entry{}, byLit: map[string][]*entry{}}
	for _, list := range entries {
		for i := range list {
			e := list[i]
			if err := e.parse(); err != nil {
				panic(fmt.Sprintf("i18n: entry %q: %v", e.en, err))
			}
			ep := &e
			c.all = append(c.all, ep)
			switch {
			case len(e.verbs) == 0:
				if _, dup := c.exact[e.en]; dup {
					panic(fmt.Sprintf("i18n: entry %q given twice", e.en))
				}
				c.exact[e.en] = ep
			case len(e.lits[0]) >= 2:
				k := e.lits[0][:2]
				c.byLit[k] = append(c.byLit[k], ep)
			default:
				c.loose = append(c.loose, ep)
			}
		}
	}
	bySpecificity := func(a, b *entry) int { return cmp.Compare(b.weight, a.weight) }
	for k := range c.byLit {
		slices.SortStableFunc(c.byLit[k], bySpecificity)
	}
	slices.SortStableFunc(c.loose, bySpecificity)
	return c
}

// parse splits the English format into literals and verbs and the Chinese
// template into pieces, and checks that they agree.
func (e *entry) parse() error {
	var lit strings.Builder
	for i := 0; i < len(e.en); i++ {
		ch := e.en[i]
		if ch != '%' {
			lit.WriteByte(ch)
			continue
		}
		if i+1 < len(e.en) && e.en[i+1] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		// A verb: flags, width, precision, then a letter.
		j := i + 1
		for j < len(e.en) && strings.IndexByte("+-# 0123456789.", e.en[j]) >= 0 {
			j++
		}
		if j == len(e.en) {
			return fmt.Errorf("a verb at %d has no letter", i)
		}
		e.lits = append(e.lits, lit.String())
		lit.Reset()
		e.verbs = append(e.verbs, e.en[j])
		i = j
	}
	e.lits = append(e.lits, lit.String())
	for _, l := range e.lits {
		e.weight += len(l)
	}
	e.filters = make([]string, len(e.verbs))

	used := make([]bool, len(e.verbs))
	s := e.zh
	for s != "" {
		open := strings.IndexByte(s, '{')
		if open < 0 {
			e.tmpl = append(e.tmpl, piece{text: s, arg: -1})
			break
		}
		end := strings.IndexByte(s[open:], '}')
		if end < 0 {
			e.tmpl = append(e.tmpl, piece{text: s, arg: -1})
			break
		}
		ref := s[open+1 : open+end]
		num, filter, _ := strings.Cut(ref, ":")
		if !isDigits(num) {
			// Not a placeholder: braces the message itself shows, as in
			// [A-Za-z0-9_.-]{1,64} or {kind, sha256, uri?}.
			e.tmpl = append(e.tmpl, piece{text: s[:open+1], arg: -1})
			s = s[open+1:]
			continue
		}
		if open > 0 {
			e.tmpl = append(e.tmpl, piece{text: s[:open], arg: -1})
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > len(e.verbs) {
			return fmt.Errorf("placeholder {%s}: the format has %d arguments", ref, len(e.verbs))
		}
		if _, ok := filters[filter]; filter != "" && !ok && names[filter] == nil {
			return fmt.Errorf("placeholder {%s}: unknown filter %q", ref, filter)
		}
		if filter != "" && e.filters[n-1] != "" && e.filters[n-1] != filter {
			return fmt.Errorf("argument %d has two filters", n)
		}
		if filter != "" {
			e.filters[n-1] = filter
		}
		used[n-1] = true
		e.tmpl = append(e.tmpl, piece{arg: n - 1, filter: filter})
		s = s[open+end+1:]
	}
	// A Chinese message may leave out an argument the English has only when
	// it says why; so far none does.
	for i, u := range used {
		if !u {
			return fmt.Errorf("argument %d of %q is not in the Chinese template", i+1, e.en)
		}
	}
	return nil
}

// args reads msg back into the entry's arguments, or reports that msg is not
// this entry's. Literals are found left to right, each at its first place
// after the previous, the last at the end: an argument holding a later
// literal's text is cut short, which only a client's own reference text
// could do, and which then still reads as Chinese.
func (e *entry) args(msg string) ([]string, bool) {
	first, last := e.lits[0], e.lits[len(e.lits)-1]
	if len(msg) < len(first)+len(last) || !strings.HasPrefix(msg, first) || !strings.HasSuffix(msg, last) {
		return nil, false
	}
	rest := msg[len(first) : len(msg)-len(last)]
	out := make([]string, len(e.verbs))
	for i := 1; i < len(e.lits)-1; i++ {
		k := strings.Index(rest, e.lits[i])
		if k < 0 {
			return nil, false
		}
		out[i-1], rest = rest[:k], rest[k+len(e.lits[i]):]
	}
	out[len(out)-1] = rest
	for i, a := range out {
		if !argFits(e.verbs[i], e.filters[i], a) {
			return nil, false
		}
	}
	return out, true
}

// argFits checks an argument read back against its verb and filter.
func argFits(verb byte, filter, a string) bool {
	switch verb {
	case 'd':
		if !isInt(a) {
			return false
		}
	case 'q':
		if len(a) < 2 || a[0] != '"' || a[len(a)-1] != '"' {
			return false
		}
	}
	if f, ok := filters[filter]; ok && f.check != nil {
		return f.check(a)
	}
	return true
}

// render writes the Chinese message of the entry with args.
func (e *entry) render(c *catalogue, args []string) string {
	var b strings.Builder
	for _, p := range e.tmpl {
		if p.arg < 0 {
			b.WriteString(p.text)
			continue
		}
		a := args[p.arg]
		switch f, ok := filters[p.filter]; {
		case ok && f.render != nil:
			b.WriteString(f.render(c, a))
		case names[p.filter] != nil:
			b.WriteString(nameOr(p.filter, a))
		default:
			b.WriteString(a)
		}
	}
	return b.String()
}

// translate finds the entry msg was made from and renders it in Chinese.
func (c *catalogue) translate(msg string) (string, bool) {
	if v, ok := c.cache.Load(msg); ok {
		s := v.(string)
		return s, s != ""
	}
	out, ok := c.lookup(msg)
	if c.cacheSize.Load() < maxCache {
		if _, loaded := c.cache.LoadOrStore(msg, out); !loaded {
			c.cacheSize.Add(1)
		}
	}
	return out, ok
}

func (c *catalogue) lookup(msg string) (string, bool) {
	if e, ok := c.exact[msg]; ok {
		return e.zh, true
	}
	var bucket []*entry
	if len(msg) >= 2 {
		bucket = c.byLit[msg[:2]]
	}
	// The two lists are each in order of specificity; merged so that the
	// entry that spells out more is tried first, whichever list holds it.
	i, j := 0, 0
	for i < len(bucket) || j < len(c.loose) {
		var e *entry
		if j == len(c.loose) || (i < len(bucket) && bucket[i].weight >= c.loose[j].weight) {
			e, i = bucket[i], i+1
		} else {
			e, j = c.loose[j], j+1
		}
		if args, ok := e.args(msg); ok {
			return e.render(c, args), true
		}
	}
	return "", false
}

// isInt reports a whole number as %d writes it.
func isInt(s string) bool { return isDigits(strings.TrimPrefix(s, "-")) }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isDecimal reports a plain decimal as money.String and formatRate write
// them: digits, optionally a point and more digits, optionally a sign.
func isDecimal(s string) bool {
	whole, frac, hasPoint := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	return isDigits(whole) && (!hasPoint || isDigits(frac))
}

// grouped writes a decimal with thousands separators: 1234567.50 → 1,234,567.50.
func grouped(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, hasPoint := strings.Cut(s, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i := range len(whole) {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(whole[i])
	}
	if hasPoint {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// percent writes a rate as a percentage, exactly: 0.30 → 30%, 0.125 →
// 12.5%, 1.00 → 100%.
func percent(s string) string {
	whole, frac, _ := strings.Cut(s, ".")
	frac += "00"
	digits := strings.TrimLeft(whole+frac[:2], "0")
	if digits == "" {
		digits = "0"
	}
	rest := strings.TrimRight(frac[2:], "0")
	if rest != "" {
		return digits + "." + rest + "%"
	}
	return digits + "%"
}

// filter checks and renders one kind of argument.
type filter struct {
	check  func(string) bool
	render func(c *catalogue, a string) string
}

var filters map[string]filter

func init() {
	filters = map[string]filter{
		"yuan": {isDecimal, func(_ *catalogue, a string) string { return grouped(a) + " 元" }},
		"num":  {isDecimal, func(_ *catalogue, a string) string { return grouped(a) }},
		"pct":  {isDecimal, func(_ *catalogue, a string) string { return percent(a) }},
		"int":  {isInt, nil},
		"t": {nil, func(c *catalogue, a string) string {
			if out, ok := c.translate(a); ok {
				return out
			}
			return a
		}},
		"terms": {isTerms, func(_ *catalogue, a string) string { return renderTerms(a) }},
	}
}

// A tier's bands as describeTier writes them: "R × (A − B)" joined by " + ".
func splitTerm(t string) (rate, top, lower string, ok bool) {
	rate, rest, ok1 := strings.Cut(t, " × (")
	top, rest, ok2 := strings.Cut(rest, " − ")
	lower, ok3 := strings.CutSuffix(rest, ")")
	return rate, top, lower, ok1 && ok2 && ok3 && isDecimal(rate) && isDecimal(top) && isDecimal(lower)
}

func isTerms(a string) bool {
	for _, t := range strings.Split(a, " + ") {
		if _, _, _, ok := splitTerm(t); !ok {
			return false
		}
	}
	return true
}

// renderTerms writes each band the way a clerk reads it: the slice of the
// base in the band, times the band's rate: (20,000.00 − 5,000.00) × 30%.
func renderTerms(a string) string {
	parts := strings.Split(a, " + ")
	for i, t := range parts {
		rate, top, lower, _ := splitTerm(t)
		parts[i] = "(" + grouped(top) + " − " + grouped(lower) + ") × " + percent(rate)
	}
	return strings.Join(parts, " + ")
}

package web

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"huimin/internal/apperr"
)

// Text rules of DESIGN §10, in one place for the JSON decoder and the
// validation of each field.
//
// Every text this API takes is one line: names, reasons, references and
// codes alike. None is a letter or a note whose line breaks would carry
// meaning, while a line break, a NUL or an escape sequence in a name or a
// bank reference breaks the bank file, the roster and the audit log that
// print it. So no text anywhere may hold a control character: C0 (NUL, tab,
// LF, CR, …), DEL, C1, nor the Unicode line and paragraph separators U+2028
// and U+2029. Should multi-line text ever be needed (a note on a visit, say),
// it must get its own rule here, named for the fields it covers.

// BadRune reports whether r may not appear in any text of the API.
func BadRune(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r < 0xa0) || r == '\u2028' || r == '\u2029'
}

// textProblem says why s is not acceptable text, or "".
func textProblem(s string) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8 text"
	}
	if strings.IndexFunc(s, BadRune) >= 0 {
		return "must not contain control characters such as NUL, tabs or line breaks; text is one line"
	}
	return ""
}

// CheckText checks a required free text of at most max characters (a
// reason, a name) and records on f what is wrong with it: an empty text or
// one of whitespace only is missing (DESIGN §10). It reports whether the
// text is good.
func CheckText(f *apperr.Fields, field, s string, max int) bool {
	msg := textProblem(s)
	switch {
	case msg != "":
	case strings.TrimSpace(s) == "":
		msg = "is required"
	case utf8.RuneCountInString(s) > max:
		msg = fmt.Sprintf("must be at most %d characters", max)
	}
	if msg != "" {
		f.Add(field, "%s", msg)
		return false
	}
	return true
}

// CheckRef is CheckText for a reference that is compared exactly (a bank
// reference, a document number): it also may not start or end with
// whitespace, which no one can see and which would make two equal-looking
// references differ.
func CheckRef(f *apperr.Fields, field, s string, max int) bool {
	if !CheckText(f, field, s, max) {
		return false
	}
	if strings.TrimSpace(s) != s {
		f.Add(field, "must not start or end with whitespace")
		return false
	}
	return true
}

// Codes arrive in paths, query strings and bodies, and must match exactly
// (DESIGN §10). MariaDB's PAD SPACE collations compare "ZKB-2026  " equal to
// "ZKB-2026" while SQLite does not, so a code is checked against its
// pattern before it reaches any query: what is not a well-formed code cannot
// name anything, on either database.

// IsCode reports whether s is 1 to max characters of A-Z a-z 0-9 _ . - (the
// pattern of plan codes and actor names, DESIGN §5 and §8).
func IsCode(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// PlanCodeMax is the longest plan code (DESIGN §5: [A-Za-z0-9_.-]{1,40}).
const PlanCodeMax = 40

// IsPlanCode reports whether s is a well-formed plan code.
func IsPlanCode(s string) bool { return IsCode(s, PlanCodeMax) }

// PlanCodeMessage is the field message for a plan code that is not
// well-formed: "is required" when it is empty or only whitespace.
func PlanCodeMessage(s string) string {
	if strings.TrimSpace(s) == "" {
		return "is required"
	}
	return fmt.Sprintf("must be a plan code: 1 to %d of A-Z a-z 0-9 _ . - (nothing else, not even a space)", PlanCodeMax)
}

// CheckPlanCode applies the rule for a plan code that names the plan to act
// on (a claim's, a disbursement's, the chain to verify), before any query:
// empty or only whitespace, it is missing (422 naming field); otherwise, if
// it is not well-formed, it names no plan and is 404 like an unknown one,
// on either database. It returns nil for a well-formed code.
func CheckPlanCode(field, code string) error {
	switch {
	case IsPlanCode(code):
		return nil
	case strings.TrimSpace(code) == "":
		return apperr.Invalid(field, "is required")
	}
	return apperr.New(apperr.ErrNotFound, "no plan %q", code)
}

// IsID reports whether s is an id this application generates: a ULID, 26
// characters of Crockford's base 32 in upper case (internal/ids). A claim,
// batch or other id that is not one names nothing.
func IsID(s string) bool {
	if len(s) != 26 || s[0] > '7' { // the 26th character would overflow 128 bits
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U') {
			return false
		}
	}
	return true
}

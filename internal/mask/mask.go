// Package mask hides personal numbers where people read them: an id or
// account number keeps its first six and last four characters (DESIGN §8).
package mask

import "strings"

// ID masks s as 411325********1234; a string shorter than 14 characters is
// masked whole.
func ID(s string) string {
	r := []rune(s)
	if len(r) < 14 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:6]) + strings.Repeat("*", len(r)-10) + string(r[len(r)-4:])
}

// Package civil holds calendar dates in China time (DESIGN §3): event dates and
// validity periods are YYYY-MM-DD in Asia/Shanghai, whatever the server's zone.
package civil

import (
	"fmt"
	"math"
	"time"
)

// Shanghai is China Standard Time. A fixed zone (UTC+8, no DST since 1991) so
// that the binary needs no tz database on the host.
var Shanghai = time.FixedZone("CST", 8*3600)

// Date is a calendar date "YYYY-MM-DD". The zero value is the empty string.
// Dates in this format order lexicographically, so < and > compare them.
type Date string

const layout = "2006-01-02"

// Parse checks s is a real calendar date in YYYY-MM-DD form.
func Parse(s string) (Date, error) {
	t, err := time.Parse(layout, s)
	if err != nil || t.Format(layout) != s {
		return "", fmt.Errorf("must be a date YYYY-MM-DD, got %q", s)
	}
	if t.Year() < 1900 || t.Year() > 2200 {
		return "", fmt.Errorf("year %d is out of range 1900..2200", t.Year())
	}
	return Date(s), nil
}

// Today is the date in China at instant now.
func Today(now time.Time) Date { return Date(now.In(Shanghai).Format(layout)) }

// Time is midnight of d in China.
func (d Date) Time() time.Time {
	t, _ := time.ParseInLocation(layout, string(d), Shanghai)
	return t
}

// AddDays returns d shifted by n days.
func (d Date) AddDays(n int) Date { return Date(d.Time().AddDate(0, 0, n).Format(layout)) }

// DaysUntil is the number of calendar days from d to e (negative if e < d).
func (d Date) DaysUntil(e Date) int {
	return int(math.Round(e.Time().Sub(d.Time()).Hours() / 24))
}

// String returns the date text.
func (d Date) String() string { return string(d) }

// Within reports whether d lies in [from, to], to being open-ended when empty.
func (d Date) Within(from, to Date) bool {
	return d >= from && (to == "" || d <= to)
}

package servertest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"

	"huimin/policies"
)

// The counters are process-wide, so that no two tests of one test binary
// get the same value, whatever package helper or subtest asks.
var (
	uniq   atomic.Int64
	people atomic.Int64
)

// Unique returns prefix-N with N new in the process: a fresh external ref,
// idempotency key, plan code or bill reference.
func Unique(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, uniq.Add(1))
}

// ResidentID returns a valid resident ID (GB 11643, check character
// included) of county 411325, distinct for every n from 0 to 999999: the
// sequence code is n mod 1000 and the birth date moves on a day from
// 1950-01-01 per thousand, so the masked form ends in the last three digits
// of n and the check character. The same n always gives the same id
// (ResidentID(7) ends in X), for tests that name their people.
func ResidentID(n int) string {
	return residentID(time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC), n)
}

// NewPersonID returns a valid resident ID of county 411325 that no other
// call in the process returns. Its birth dates start at 1980-01-01, so it
// never equals a ResidentID(n) either: a test can mix named and fresh
// people.
func NewPersonID() string {
	return residentID(time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), int(people.Add(1)))
}

func residentID(base time.Time, n int) string {
	if n < 0 || n > 999999 {
		panic(fmt.Sprintf("servertest: resident id number %d is outside 0..999999", n))
	}
	birth := base.AddDate(0, 0, n/1000)
	return policies.ResidentIDWithCheck(fmt.Sprintf("411325%s%03d", birth.Format("20060102"), n%1000))
}

// SHA returns the lowercase hex SHA-256 of s: a well-formed evidence hash.
func SHA(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

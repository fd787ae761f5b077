package main

// The one random source of a fault test. Every random choice a test makes —
// when to kill, which beneficiary a claim is for, what it costs — is drawn
// from it, so a failing run can be replayed with the seed it logged.

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// testRand is the test's random source, seeded from HUIMIN_TEST_SEED when
// it is set (HUIMIN_TEST_SEED=N replays the run that logged seed N) and
// with a fresh seed otherwise; it logs the seed either way.
// Call it first in a test, once: a *rand.Rand is for one goroutine, so
// workers get sources of their own drawn from it (see load).
func testRand(t testing.TB) *rand.Rand {
	t.Helper()
	var seed uint64
	if s := os.Getenv("HUIMIN_TEST_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("HUIMIN_TEST_SEED=%q is not a seed (an unsigned decimal integer): %v", s, err)
		}
	} else {
		var b [8]byte
		_, _ = crand.Read(b[:]) // never fails (crypto/rand.Read)
		seed = binary.LittleEndian.Uint64(b[:])
	}
	t.Logf("seed %d (replay with HUIMIN_TEST_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed))
}

//go:build soak

package main

// The soak versions of the fault tests (kill_test.go, outage_test.go,
// disk_test.go): longer loads, more cycles.
// Run with `make soak` (go test -race -tags soak -run Soak ./cmd/huimin/).

import (
	"testing"
	"time"

	"huimin/internal/testdb"
)

// TestSoakKillDuringLoad: three kill -9 cycles of 20 s loads on each
// database, restarting on the same database each time; nothing acknowledged
// in any cycle is lost, and `huimin check` passes at the end.
func TestSoakKillDuringLoad(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			killCycles(t, specFor(t, dialect), 3, 20*time.Second)
		})
	}
}

// TestSoakRepeatedOutages: six MariaDB outages of 2 s each in one ~25 s
// load on one server process: every one answered with 503 in time and
// recovered from without a restart.
func TestSoakRepeatedOutages(t *testing.T) {
	outageCycles(t, 6, 2*time.Second, 2*time.Second)
}

// TestSoakDiskFull: the SQLite disk fills up and is freed five times under
// the same server process.
func TestSoakDiskFull(t *testing.T) {
	diskFullCycles(t, 5)
}

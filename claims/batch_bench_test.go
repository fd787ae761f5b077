package claims_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// seedRegistry inserts n beneficiaries straight into the registry tables,
// two to a household, each marginal_at_risk (FPB) and illness_poverty (ZKB).
func seedRegistry(b *testing.B, d *db.DB, n int) []string {
	b.Helper()
	ids := make([]string, n)
	people := make([]servertest.Person, n)
	for i := range n {
		ids[i] = servertest.ResidentID(100000 + i)
		people[i] = servertest.Person{
			ID: ids[i], Name: "受益人", Household: fmt.Sprintf("HH-BENCH-%d", i/2), Payout: "6222000000000000",
			Categories: []string{"marginal_at_risk", "illness_poverty"},
		}
	}
	servertest.InsertPeople(b, d, people...)
	return ids
}

// BenchmarkClaimBatch files batches of 10000 claims (FPB illness, with a
// ZKB medical claim in every fifth slot) for 5000 beneficiaries on MariaDB
// through Service.SubmitBatch, and reports claims per second.
//
//	go test -run '^$' -bench ClaimBatch -benchtime 3x ./claims/
func BenchmarkClaimBatch(b *testing.B) {
	d := testdb.Open(b, "mysql")
	e := newEnv(b, d)
	people := seedRegistry(b, d, 5000)
	who := audit.Who{Actor: "picc-api", Role: auth.Insurer, Org: "picc"}
	const size = 10000
	ctx := context.Background()

	var total int
	var elapsed time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		bodies := make([][]byte, size)
		for j := range bodies {
			id := people[(j*7+i)%len(people)]
			var c claim
			if j%5 == 4 {
				c = zkbClaim(id, fmt.Sprintf("BZ-%d-%d", i, j), "inpatient", "9000.00", "8000.00", "3000.00", "0", "0")
			} else {
				c = fpbIllness(id, fmt.Sprintf("BF-%d-%d", i, j), fmt.Sprintf("%d.%02d", 1000+j%9000, j%100))
			}
			bodies[j] = mustJSON(b, c.with("external_ref", fmt.Sprintf("bench-%d-%d", i, j)))
		}
		b.StartTimer()
		start := time.Now()
		ans, err := e.h.App.Claims.SubmitBatch(ctx, who, bodies)
		elapsed += time.Since(start)
		require.NoError(b, err)
		require.Equal(b, size, ans.Summary.Created, "failed: %d", ans.Summary.Failed)
		total += size
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "claims/s")
}

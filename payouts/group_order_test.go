package payouts_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/audit"
	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/ledger"
)

// Approvals committed as one group reserve in the order they arrived: the
// plan's ledger gives them consecutive seq numbers in arrival order, each
// entry naming the actor whose approval made it — exactly as if they had
// been committed one at a time. (Ranging over a map of actors once put a
// group's entries in random order.)
func TestGroupedApprovalsGetLedgerSeqInArrivalOrder(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "100000.00"})
		ids := e.insertAssessed(t, plan, 24, 100000) // 1000.00 each, under the dual threshold

		seed := rand.Uint64()
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, seed))
		order := rng.Perm(len(ids))
		whos := make([]audit.Who, len(ids))
		arrived := make([]string, len(ids))
		for i, k := range order {
			arrived[i] = ids[k]
			whos[i] = audit.Who{Actor: fmt.Sprintf("fin-%02d", i), Role: "finance", RequestID: fmt.Sprintf("req-%d", i)}
		}
		views, errs, err := e.svc.ApproveTogether(context.Background(), whos, arrived)
		require.NoError(t, err)
		for i := range arrived {
			require.NoError(t, errs[i], "approval %d", i)
			require.Equal(t, "approved", views[i].Status)
		}

		var reserves []ledger.Entry
		for _, en := range e.entries(t, plan) {
			if en.Kind == ledger.Reserve {
				reserves = append(reserves, en)
			}
		}
		require.Len(t, reserves, len(arrived))
		for i, en := range reserves {
			require.Equal(t, arrived[i], en.ClaimID, "reservation %d is the %d-th approval to arrive", i, i)
			require.Equal(t, whos[i].Actor, en.Actor, "entry %d names the actor of its approval", i)
			if i > 0 {
				require.Equal(t, reserves[i-1].Seq+1, en.Seq, "the group's entries are consecutive")
			}
		}
		e.requireSound(t, plan)
	})
}

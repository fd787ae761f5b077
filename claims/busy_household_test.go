package claims_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// A batch does not wait for a household another transaction holds: it files
// the other households' claims first, then the held household's claims, in
// the batch's order, once the lock is free. The held household's two bills
// accumulate exactly as they do for a household nobody holds. (MariaDB: the
// skip uses SELECT … FOR UPDATE SKIP LOCKED; SQLite has one writer at a
// time.)
func TestBatchDefersAHeldHouseholdAndKeepsItsOrder(t *testing.T) {
	d := testdb.Open(t, "mysql")
	e := newEnv(t, d)
	busy := e.register(t, servertest.Person{ID: servertest.ResidentID(260), Household: "HH-HELD", Categories: []string{"marginal_at_risk"}})
	free := e.register(t, servertest.Person{ID: servertest.ResidentID(261), Household: "HH-FREE", Categories: []string{"marginal_at_risk"}})
	ref := e.register(t, servertest.Person{ID: servertest.ResidentID(262), Household: "HH-REFERENCE", Categories: []string{"marginal_at_risk"}})

	// The same two bills for a household nobody holds: what order gives.
	want := e.batchOK(t, []any{fpbIllness(ref, "BILL-H-1", "12000.00"), fpbIllness(ref, "BILL-H-2", "30000.00")})

	// Another transaction holds HH-HELD's lock row (a row that exists, as
	// it does for every household that has filed before).
	require.NoError(t, d.Exec("INSERT INTO cap_subjects (plan_code, cap_subject, claims) VALUES ('', 'HH-HELD', 0)").Error)
	held := d.Begin()
	require.NoError(t, held.Error)
	require.NoError(t, held.Exec("UPDATE cap_subjects SET claims = claims + 1 WHERE plan_code = '' AND cap_subject = 'HH-HELD'").Error)
	released := false
	defer func() {
		if !released {
			held.Rollback()
		}
	}()

	claims := []any{fpbIllness(busy, "BILL-H-1", "12000.00"), fpbIllness(free, "BILL-F-1", "9000.00"), fpbIllness(busy, "BILL-H-2", "30000.00")}
	done := make(chan *servertest.Response, 1)
	go func() { done <- e.batch(t, "insurer", claims) }()

	// The free household's claim is filed while the held one waits.
	require.Eventually(t, func() bool {
		return servertest.Count(t, d, "claims", "beneficiary_id = '"+free+"'") == 1
	}, 10*time.Second, 20*time.Millisecond, "the batch filed the free household without waiting")
	require.EqualValues(t, 0, servertest.Count(t, d, "claims", "beneficiary_id = '"+busy+"'"))
	select {
	case <-done:
		t.Fatal("the batch ended while a household it files was held")
	case <-time.After(200 * time.Millisecond):
	}

	require.NoError(t, held.Rollback().Error)
	released = true
	var r *servertest.Response
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the batch did not finish once the household was free")
	}
	servertest.RequireStatus(t, r, http.StatusOK)
	var got batchAnswer
	r.JSON(t, &got)
	require.Len(t, got.Results, 3)
	require.Equal(t, 3, got.Summary.Created)
	for i, res := range got.Results {
		require.Equal(t, i, res.Index, "results in the batch's order")
		require.Equal(t, "created", res.Status)
	}
	require.Equal(t, *want.Results[0].Payable, *got.Results[0].Payable, "the first bill as for a household nobody held")
	require.Equal(t, *want.Results[1].Payable, *got.Results[2].Payable, "the second bill accumulates on the first")
	require.Less(t, got.Results[0].ClaimID, got.Results[2].ClaimID, "filed in the batch's order")
	require.Less(t, got.Results[1].ClaimID, got.Results[0].ClaimID, "the free household went first")
	require.EqualValues(t, 1, servertest.Count(t, d, "audit_log", "action = 'claim.batch' AND target LIKE '%deferred'"))
}

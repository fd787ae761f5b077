package claims_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// A retry is answered as the first request was, even when the request
// would be refused at intake today: here the plan closed in between.
func TestReplayAfterThePlanClosed(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := e.register(t, servertest.Person{ID: servertest.ResidentID(230), Household: "HH-REPLAY", Categories: []string{"marginal_at_risk"}})
		body := fpbIllness(p, "BILL-REPLAY-1", "12000.00")
		first := e.submit(t, "insurer", "key-replay", body)
		servertest.RequireStatus(t, first, http.StatusCreated)

		servertest.RequireStatus(t, e.h.Post(t, "admin", "/api/v1/plans/FPB-2026/close", nil), http.StatusOK)
		again := e.submit(t, "insurer", "key-replay", body)
		servertest.RequireStatus(t, again, http.StatusCreated)
		require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
		require.Equal(t, first.Body, again.Body)

		// A new key for a new claim is refused: the plan takes no claims.
		servertest.RequireError(t, e.submit(t, "insurer", "key-replay-2", fpbIllness(p, "BILL-REPLAY-2", "100.00")), http.StatusConflict, "plan_closed")
	})
}

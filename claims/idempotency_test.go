package claims_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

func TestIdempotencyKeys(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := e.register(t, servertest.Person{ID: servertest.ResidentID(200), Household: "HH-IDEM", Categories: []string{"marginal_at_risk"}})
		body := fpbIllness(p, "BILL-IDEM-1", "12000.00")

		first := e.submit(t, "insurer", "key-1", body)
		servertest.RequireStatus(t, first, http.StatusCreated)
		require.Empty(t, first.Header.Get("Idempotent-Replayed"))
		var c claimView
		first.JSON(t, &c)

		t.Run("same key and body replays the first answer", func(t *testing.T) {
			again := e.submit(t, "insurer", "key-1", body)
			servertest.RequireStatus(t, again, http.StatusCreated)
			require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
			require.JSONEq(t, string(first.Body), string(again.Body))
			require.Equal(t, first.Body, again.Body, "byte for byte")
		})

		t.Run("same key and body with other whitespace still replays", func(t *testing.T) {
			pretty := mustJSON(t, body)
			spaced := append([]byte(" \n"), pretty...)
			again := e.submit(t, "insurer", "key-1", spaced)
			servertest.RequireStatus(t, again, http.StatusCreated)
			require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
		})

		t.Run("same key with another body is refused", func(t *testing.T) {
			r := e.submit(t, "insurer", "key-1", body.fact("self_pay", "12000.01"))
			servertest.RequireError(t, r, http.StatusConflict, "idempotency_key_reused")
		})

		t.Run("missing key is a bad request", func(t *testing.T) {
			r := e.h.Post(t, "insurer", "/api/v1/claims", fpbIllness(p, "BILL-IDEM-2", "100.00"))
			servertest.RequireError(t, r, http.StatusBadRequest, "bad_request")
			for _, key := range []string{" ", "has space", strings.Repeat("k", 129), "ключ"} {
				r = e.submit(t, "insurer", key, fpbIllness(p, "BILL-IDEM-2", "100.00"))
				servertest.RequireError(t, r, http.StatusBadRequest, "bad_request")
			}
		})

		t.Run("a new key with a used external_ref points at the claim", func(t *testing.T) {
			r := e.submit(t, "insurer", "key-2", body)
			er := servertest.RequireError(t, r, http.StatusConflict, "duplicate_external_ref")
			require.Equal(t, c.ID, er.Error.Details["claim_id"])
			r = e.submit(t, "insurer", "key-3", body.fact("self_pay", "50.00"))
			er = servertest.RequireError(t, r, http.StatusConflict, "duplicate_external_ref")
			require.Equal(t, c.ID, er.Error.Details["claim_id"])
		})

		t.Run("keys and external refs are per org", func(t *testing.T) {
			other := e.submit(t, "insurer2", "key-1", body)
			servertest.RequireStatus(t, other, http.StatusCreated)
			require.Empty(t, other.Header.Get("Idempotent-Replayed"))
			var oc claimView
			other.JSON(t, &oc)
			require.NotEqual(t, c.ID, oc.ID)
			require.Equal(t, "cpic", oc.Org)
			// The same bill filed by another insurer is a duplicate claim, not a second payment.
			require.Equal(t, "rejected", oc.Status)
			require.Equal(t, []string{"duplicate_claim"}, oc.ReasonCodes())
		})

		require.EqualValues(t, 2, servertest.Count(t, d, "claims", "1 = 1"))
		var keys int64
		require.NoError(t, d.Table("idempotency_keys").Count(&keys).Error)
		require.EqualValues(t, 2, keys)
	})
}

// TestIdempotencyStorm sends one key and body from 32 clients at once: one
// claim, and every client gets it with 201.
func TestIdempotencyStorm(t *testing.T) {
	d := testdb.Open(t, "mysql")
	e := newEnv(t, d)
	p := e.register(t, servertest.Person{ID: servertest.ResidentID(210), Household: "HH-STORM", Categories: []string{"marginal_at_risk"}})
	body := mustJSON(t, fpbIllness(p, "BILL-STORM", "12000.00"))

	const clients = 32
	answers := servertest.AllAtOnce(clients, func(int) *servertest.Response {
		return e.h.Raw(submission("insurer", "storm-key", body))
	})

	ids := map[string]int{}
	replayed := 0
	for i, a := range answers {
		require.Equal(t, http.StatusCreated, a.Status, "client %d: %s", i, a.Body)
		var c claimView
		require.NoError(t, json.Unmarshal(a.Body, &c))
		ids[c.ID]++
		if a.Header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	require.Len(t, ids, 1, "one claim for every client")
	require.Equal(t, clients-1, replayed, "all but the first are replays")
	require.EqualValues(t, 1, servertest.Count(t, d, "claims", "1 = 1"))
	var assessed int64
	require.NoError(t, d.Table("claims").Where("status = ? AND payable = ?", "assessed", 210000).Count(&assessed).Error)
	require.EqualValues(t, 1, assessed)
}

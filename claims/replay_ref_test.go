package claims_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// An idempotency key keeps a reference to the claim it created, not a copy
// of the answer; a retry renders the claim as it was filed. The answer must
// stay the first one byte for byte after the claim has moved on: approved
// (status, reservation, approvals, updated_at all changed), declined, or
// withdrawn.
func TestReplayByReferenceAfterTheClaimMovedOn(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := e.register(t, servertest.Person{ID: servertest.ResidentID(240), Household: "HH-REF", Categories: []string{"marginal_at_risk"}})
		q := e.register(t, servertest.Person{ID: servertest.ResidentID(241), Household: "HH-REF-2", Categories: []string{"marginal_at_risk"}})
		outsider := servertest.ResidentID(242) // not registered: rejected

		cases := []struct {
			name, key string
			body      claim
			then      func(t *testing.T, id string)
		}{
			{"approved", "ref-approved", fpbIllness(p, "BILL-REF-1", "12000.00"), func(t *testing.T, id string) {
				servertest.RequireStatus(t, e.h.Post(t, "finance", "/api/v1/claims/"+id+"/approve", map[string]any{}), http.StatusOK)
			}},
			{"declined", "ref-declined", fpbIllness(q, "BILL-REF-2", "9000.00"), func(t *testing.T, id string) {
				servertest.RequireStatus(t, e.h.Post(t, "finance", "/api/v1/claims/"+id+"/decline", map[string]any{"reason": "核查不实"}), http.StatusOK)
			}},
			{"withdrawn", "ref-withdrawn", fpbIllness(q, "BILL-REF-3", "15000.00"), func(t *testing.T, id string) {
				servertest.RequireStatus(t, e.h.Post(t, "insurer", "/api/v1/claims/"+id+"/withdraw", map[string]any{}), http.StatusOK)
			}},
			{"rejected", "ref-rejected", fpbIllness(outsider, "BILL-REF-4", "12000.00"), func(t *testing.T, id string) {}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				first := e.submit(t, "insurer", c.key, c.body)
				servertest.RequireStatus(t, first, http.StatusCreated)
				var v claimView
				first.JSON(t, &v)
				c.then(t, v.ID)
				if c.name != "rejected" {
					require.NotEqual(t, v.Status, e.get(t, "finance", v.ID).Status, "the claim moved on")
				}

				again := e.submit(t, "insurer", c.key, c.body)
				servertest.RequireStatus(t, again, http.StatusCreated)
				require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
				require.Equal(t, string(first.Body), string(again.Body), "byte for byte the first answer")

				var stored struct{ ClaimID, Response string }
				require.NoError(t, d.Table("idempotency_keys").Select("claim_id, response").
					Where("idem_key = ?", c.key).Take(&stored).Error)
				require.Equal(t, v.ID, stored.ClaimID)
				require.Empty(t, stored.Response, "kept by reference, not as a copy")
			})
		}
	})
}

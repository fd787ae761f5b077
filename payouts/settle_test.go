package payouts_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// settlement is the answer of POST /api/v1/plans/{code}/settlements.
type settlement struct {
	Plan          string `json:"plan"`
	Index         int    `json:"index"`
	Claims        int    `json:"claims"`
	TotalPayable  string `json:"total_payable"`
	TotalReserved string `json:"total_reserved"`
}

func (e *env) settle(t testing.TB, plan string) settlement {
	t.Helper()
	r := e.h.Post(t, "finance", "/api/v1/plans/"+plan+"/settlements", map[string]any{})
	servertest.RequireStatus(t, r, http.StatusCreated)
	var s settlement
	r.JSON(t, &s)
	return s
}

// A pro_rata plan reserves nothing at approval; a settlement shares what is
// available among the approved claims, each floor_fen(payable × available /
// Σ payable), so the total never exceeds the budget.
func TestProRataSettlement(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)

		t.Run("an over-subscribed plan shares the budget, rounding each share down", func(t *testing.T) {
			plan := e.createPlan(t, planOpts{budget: "10000.00", policy: "pro_rata"})
			a := e.assessed(t, plan, "3333.33")
			b := e.assessed(t, plan, "6666.67")
			c := e.assessed(t, plan, "5000.00")
			for _, id := range []string{a.ID, b.ID, c.ID} {
				v := e.approved(t, id)
				require.Equal(t, "0.00", v.ReservedAmount, "pro_rata approvals reserve nothing")
			}
			require.Equal(t, figures{"10000.00", "10000.00", "0.00", "0.00", "0.00"}, e.budget(t, plan))
			servertest.RequireError(t, e.disburse(t, plan, a.ID), http.StatusConflict, "invalid_state")

			s := e.settle(t, plan)
			// By hand, available / Σ = 10000.00 / 15000.00 = 2/3:
			//   3333.33 × 2/3 = 2222.22 exactly
			//   6666.67 × 2/3 = 4444.446… → 4444.44
			//   5000.00 × 2/3 = 3333.333… → 3333.33
			require.Equal(t, settlement{Plan: plan, Index: 1, Claims: 3, TotalPayable: "15000.00", TotalReserved: "9999.99"}, s)
			for id, want := range map[string]string{a.ID: "2222.22", b.ID: "4444.44", c.ID: "3333.33"} {
				got := e.claim(t, id)
				require.Equal(t, "approved", got.Status)
				require.Equal(t, want, got.ReservedAmount, id)
			}
			require.Equal(t, figures{"10000.00", "0.01", "9999.99", "0.00", "0.00"}, e.budget(t, plan))
			es := e.entries(t, plan)
			require.Equal(t, []string{"reserve", "reserve", "reserve"}, kinds(es))
			for _, en := range es[1:] {
				require.Equal(t, "fin-wang", en.Actor)
			}

			t.Run("a second settlement with no new claims reserves nothing", func(t *testing.T) {
				before := e.snapshot(t, plan)
				s := e.settle(t, plan)
				require.Equal(t, settlement{Plan: plan, Index: 2, Claims: 0, TotalPayable: "0.00", TotalReserved: "0.00"}, s)
				after := e.snapshot(t, plan)
				require.Equal(t, before.Entries, after.Entries)
				require.Equal(t, before.Claims, after.Claims)
				require.Equal(t, before.Budget.Available, after.Budget.Available)
				require.Equal(t, before.Budget.Reserved, after.Budget.Reserved)
			})

			t.Run("settled shares are what is disbursed and paid", func(t *testing.T) {
				batch := e.disbursed(t, plan, b.ID, c.ID)
				require.Equal(t, "7777.77", batch.Total)
				servertest.RequireStatus(t, e.results(t, batch.ID, paid(b.ID, "R-1"), paid(c.ID, "R-2")), http.StatusOK)
				require.Equal(t, figures{"10000.00", "0.01", "2222.22", "0.00", "7777.77"}, e.budget(t, plan))
			})

			t.Run("new funding goes to the claims approved after it", func(t *testing.T) {
				late := e.assessed(t, plan, "1000.00")
				e.approved(t, late.ID)
				r := e.h.Post(t, "finance", "/api/v1/plans/"+plan+"/funding", map[string]any{"amount": "400.00", "reason": "追加预算", "reference": "宛财社〔2026〕12号"})
				servertest.RequireStatus(t, r, http.StatusCreated)
				s := e.settle(t, plan)
				require.Equal(t, settlement{Plan: plan, Index: 3, Claims: 1, TotalPayable: "1000.00", TotalReserved: "400.01"}, s)
				require.Equal(t, "400.01", e.claim(t, late.ID).ReservedAmount)
				require.Equal(t, "0.00", e.budget(t, plan).Available)
			})
			e.requireSound(t, plan)
		})

		t.Run("a plan with room reserves every payable in full", func(t *testing.T) {
			plan := e.createPlan(t, planOpts{budget: "10000.00", policy: "pro_rata"})
			a := e.assessed(t, plan, "3000.00")
			b := e.assessed(t, plan, "2000.50")
			e.approved(t, a.ID)
			e.approved(t, b.ID)
			s := e.settle(t, plan)
			require.Equal(t, settlement{Plan: plan, Index: 1, Claims: 2, TotalPayable: "5000.50", TotalReserved: "5000.50"}, s)
			require.Equal(t, "3000.00", e.claim(t, a.ID).ReservedAmount)
			require.Equal(t, "2000.50", e.claim(t, b.ID).ReservedAmount)
			require.Equal(t, figures{"10000.00", "4999.50", "5000.50", "0.00", "0.00"}, e.budget(t, plan))

			// Revoking a settled claim releases its share.
			servertest.RequireStatus(t, e.h.Post(t, "finance", "/api/v1/claims/"+a.ID+"/revoke", map[string]any{"reason": "重复"}), http.StatusOK)
			require.Equal(t, figures{"10000.00", "7999.50", "2000.50", "0.00", "0.00"}, e.budget(t, plan))
			e.requireSound(t, plan)
		})

		t.Run("settling a first_come plan is invalid_state and changes nothing", func(t *testing.T) {
			plan := e.createPlan(t, planOpts{budget: "10000.00"})
			c := e.assessed(t, plan, "1000.00")
			e.approved(t, c.ID)
			before := e.snapshot(t, plan)
			servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/plans/"+plan+"/settlements", map[string]any{}), http.StatusConflict, "invalid_state")
			require.Equal(t, before, e.snapshot(t, plan))
			require.Zero(t, servertest.Count(t, e.d, "settlements", "plan_code = ?", plan))
		})

		t.Run("only finance settles, and only known plans", func(t *testing.T) {
			plan := e.createPlan(t, planOpts{policy: "pro_rata"})
			for _, token := range []string{"admin", "auditor", "insurer"} {
				servertest.RequireError(t, e.h.Post(t, token, "/api/v1/plans/"+plan+"/settlements", map[string]any{}), http.StatusForbidden, "forbidden")
			}
			servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/plans/NO-SUCH-PLAN/settlements", map[string]any{}), http.StatusNotFound, "not_found")
			servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/plans/"+plan+"/settlements", map[string]any{"round": 1}), http.StatusUnprocessableEntity, "validation_failed")
			require.Zero(t, servertest.Count(t, e.d, "settlements", "plan_code = ?", plan))
		})
	})
}

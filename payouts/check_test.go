package payouts_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/payouts"
	"huimin/server/servertest"
)

// breachesOf runs Check and keeps the breaches of plan.
func (e *env) breachesOf(t testing.TB, plan string) []payouts.Breach {
	t.Helper()
	all, err := e.svc.Check(context.Background())
	require.NoError(t, err)
	var mine []payouts.Breach
	for _, b := range all {
		if b.Plan == plan {
			mine = append(mine, b)
		}
	}
	return mine
}

// After every kind of money movement, on both budget policies, every
// invariant of DESIGN §8 holds.
func TestCheckHoldsAfterEveryKindOfMovement(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.requireSound(t, "ZKB-2026", "ZFB-2026", "FPB-2026", "CYB-2026")

		first := e.createPlan(t, planOpts{budget: "20000.00", threshold: "3000.00"})
		a, b, c, f := e.assessed(t, first, "1000.00"), e.assessed(t, first, "2000.00"), e.assessed(t, first, "3000.00"), e.assessed(t, first, "500.00")
		e.approved(t, a.ID)
		e.approved(t, b.ID)
		servertest.RequireStatus(t, e.approve(t, "finance", c.ID), http.StatusOK)
		servertest.RequireStatus(t, e.approve(t, "finance2", c.ID), http.StatusOK)
		e.approved(t, f.ID)
		servertest.RequireStatus(t, e.h.Post(t, "finance", "/api/v1/claims/"+f.ID+"/revoke", map[string]any{"reason": "撤销"}), http.StatusOK)
		servertest.RequireStatus(t, e.h.Post(t, "admin", "/api/v1/plans/"+first+"/funding", map[string]any{"amount": "123.45", "reason": "追加", "reference": "宛财〔2026〕7号"}), http.StatusCreated)
		batch := e.disbursed(t, first, a.ID, b.ID, c.ID)
		servertest.RequireStatus(t, e.results(t, batch.ID, paid(a.ID, "R1"), failed(b.ID, "户名不符")), http.StatusOK)
		again := e.disbursed(t, first, b.ID)
		servertest.RequireStatus(t, e.results(t, again.ID, paid(b.ID, "R2")), http.StatusOK)
		require.Equal(t, []string{"reserve", "reserve", "reserve", "reserve", "release", "disburse", "disburse", "disburse", "pay", "fail", "disburse", "pay"}, kinds(e.entries(t, first)))
		require.Equal(t, "fund", e.entries(t, first)[6].Kind, "the top-up is an entry of its own")
		require.Equal(t, figures{"20123.45", "14123.45", "0.00", "3000.00", "3000.00"}, e.budget(t, first))

		prorata := e.createPlan(t, planOpts{budget: "1000.00", policy: "pro_rata"})
		p1, p2 := e.assessed(t, prorata, "700.00"), e.assessed(t, prorata, "800.00")
		e.approved(t, p1.ID)
		e.approved(t, p2.ID)
		e.settle(t, prorata)
		servertest.RequireStatus(t, e.h.Post(t, "finance", "/api/v1/claims/"+p2.ID+"/revoke", map[string]any{"reason": "撤销"}), http.StatusOK)
		pb := e.disbursed(t, prorata, p1.ID)
		servertest.RequireStatus(t, e.results(t, pb.ID, paid(p1.ID, "R3")), http.StatusOK)

		e.requireSound(t, first, prorata)
	})
}

// Each invariant, broken on purpose behind the application's back, is
// reported for the plan (and claim) it concerns.
func TestCheckReportsEachBrokenInvariant(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)

		for _, tc := range []struct {
			name    string
			tamper  func(t *testing.T, plan string, approved, disbursed string)
			want    []string
			onClaim string // "approved" or "disbursed": the breach names that claim
		}{
			{"an approved claim set back to assessed still has entries holding money", func(t *testing.T, plan, approved, _ string) {
				require.NoError(t, d.Exec("UPDATE claims SET status = 'assessed', reserved = 0, reserved_amount = 0 WHERE id = ?", approved).Error)
			}, []string{
				"entries hold money for a claim that should hold none",
				"assessed with 1 approvals, 1 needed: its approvals say approved, but it is not, and holds no reservation",
			}, "approved"},
			{"a disbursed claim marked paid without a pay entry", func(t *testing.T, plan, _, disbursed string) {
				require.NoError(t, d.Exec("UPDATE claims SET status = 'paid' WHERE id = ?", disbursed).Error)
			}, []string{
				"paid with reserved_amount 1000.00, but its entries hold reserved 0.00, in payment 1000.00, paid 0.00",
				"in_payment in disbursement batch {batch}, but the claim is paid, not disbursed",
			}, "disbursed"},
			{"money moved between budget accounts without an entry", func(t *testing.T, plan, _, _ string) {
				require.NoError(t, d.Exec("UPDATE budgets SET reserved = reserved - 100, in_payment = in_payment + 100 WHERE plan_code = ?", plan).Error)
			}, []string{
				"budget row says reserved 999.00 but its entries sum to 1000.00",
				"budget row says in_payment 1001.00 but its entries sum to 1000.00",
			}, ""},
			{"funded no longer the sum of the accounts", func(t *testing.T, plan, _, _ string) {
				require.NoError(t, d.Exec("UPDATE budgets SET paid = paid + 1 WHERE plan_code = ?", plan).Error)
			}, []string{
				"funded 10000.00 ≠ available 8000.00 + reserved 1000.00 + in_payment 1000.00 + paid 0.01",
				"budget row says paid 0.01 but its entries sum to 0.00",
			}, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				plan := e.createPlan(t, planOpts{budget: "10000.00"})
				approved, disbursed := e.assessed(t, plan, "1000.00"), e.assessed(t, plan, "1000.00")
				e.approved(t, approved.ID)
				e.approved(t, disbursed.ID)
				batch := e.disbursed(t, plan, disbursed.ID)
				require.Empty(t, e.breachesOf(t, plan))

				tc.tamper(t, plan, approved.ID, disbursed.ID)
				got := e.breachesOf(t, plan)
				var whats []string
				for _, b := range got {
					whats = append(whats, b.What)
					switch tc.onClaim {
					case "approved":
						require.Equal(t, approved.ID, b.ClaimID)
					case "disbursed":
						require.Equal(t, disbursed.ID, b.ClaimID)
					default:
						require.Empty(t, b.ClaimID)
					}
				}
				var want []string
				for _, w := range tc.want {
					want = append(want, strings.ReplaceAll(w, "{batch}", batch.ID))
				}
				require.ElementsMatch(t, want, whats)
				require.True(t, e.verify(t, plan).OK, "the chain itself is intact")
			})
		}

		t.Run("the database itself refuses a negative available", func(t *testing.T) {
			plan := e.createPlan(t, planOpts{budget: "10.00"})
			err := d.Exec("UPDATE budgets SET available = -1 WHERE plan_code = ?", plan).Error
			require.Error(t, err)
			require.Empty(t, e.breachesOf(t, plan))
		})
	})
}

// A claim whose approvals say it is approved while its status or
// reservation says otherwise is reported: the state a dual approval split
// across two Galera nodes left before either approval wrote the claim row
// (two approvals, still assessed, no reservation), and its mirror images.
func TestCheckFindsApprovalsThatDisagreeWithTheClaim(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "100000.00", threshold: "3000.00"})
		prorata := e.createPlan(t, planOpts{budget: "100000.00", policy: "pro_rata"})
		at := e.h.Clock.Now().UnixMilli()
		addApproval := func(claim, actor string) {
			require.NoError(t, d.Exec("INSERT INTO claim_approvals (claim_id, actor, at) VALUES (?, ?, ?)", claim, actor, at).Error)
		}

		dual := e.assessed(t, plan, "5000.00")
		servertest.RequireStatus(t, e.approve(t, "finance", dual.ID), http.StatusOK)
		require.Empty(t, e.breachesOf(t, plan), "one of two approvals is a sound state")
		addApproval(dual.ID, "fin-li") // the second approval, committed on another node

		bare := e.assessed(t, plan, "1000.00")
		e.approved(t, bare.ID)
		require.NoError(t, d.Exec("DELETE FROM claim_approvals WHERE claim_id = ?", bare.ID).Error)

		unreserved := e.assessed(t, plan, "1000.00")
		addApproval(unreserved.ID, "fin-wang")
		require.NoError(t, d.Exec("UPDATE claims SET status = 'approved', counted = 1 WHERE id = ?", unreserved.ID).Error)

		// The same state is sound in a pro_rata plan: money comes at settlement.
		waiting := e.assessed(t, prorata, "1000.00")
		e.approved(t, waiting.ID)

		got := map[string]string{}
		for _, b := range e.breachesOf(t, plan) {
			got[b.ClaimID] = b.What
		}
		require.Equal(t, map[string]string{
			dual.ID:       "assessed with 2 approvals, 2 needed: its approvals say approved, but it is not, and holds no reservation",
			bare.ID:       "approved with 0 approvals, 1 needed",
			unreserved.ID: "approved in a first_come plan without a reservation",
		}, got)
		require.Empty(t, e.breachesOf(t, prorata))
	})
}

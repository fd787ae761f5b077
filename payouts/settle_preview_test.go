package payouts_test

import (
	"context"
	"errors"
	"math/big"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/apperr"
	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/payouts"
	"huimin/server/servertest"
)

// approvedWithPayables files one claim per payable (fen) on plan, straight
// into the table as assessed, then approves each through the API, and
// returns the ids.
func (e *env) approvedWithPayables(t *testing.T, plan string, payables []int64) []string {
	t.Helper()
	ids := e.insertAssessed(t, plan, len(payables), 1)
	for i, id := range ids {
		require.NoError(t, e.d.Table("claims").Where("id = ?", id).
			Updates(map[string]any{"payable": payables[i], "base": payables[i], "fact_base": payables[i]}).Error)
		e.approved(t, id)
	}
	return ids
}

// floorShare is DESIGN §7's share computed here on its own terms:
// floor(payable × min(1, available / total)) in fen.
func floorShare(payable, available, total int64) int64 {
	if total <= available {
		return payable
	}
	n := new(big.Int).Mul(big.NewInt(payable), big.NewInt(available))
	return n.Quo(n, big.NewInt(total)).Int64()
}

// TestSettlementPreview: the preview lists, claim by claim, exactly the
// shares the settlement then reserves, never more in total than is
// available; a settlement committed from a preview whose basis has changed
// since is refused and changes nothing.
func TestSettlementPreview(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()

		rng := rand.New(rand.NewPCG(2026, 7))
		random := make([]int64, 60)
		for i := range random {
			random[i] = 1 + rng.Int64N(250_000) // 0.01 to 2500.00
		}
		cases := []struct {
			name     string
			budget   string
			payables []int64
		}{
			{"an over-subscribed plan: each share rounds down", "10000.00", []int64{333333, 666667, 500000}},
			{"a plan with room: every payable in full", "10000.00", []int64{300000, 200050}},
			{"exactly the budget: every payable in full", "100.00", []int64{6000, 4000}},
			{"shares of a fen round down to nothing", "0.02", []int64{1, 1, 1, 1, 9996}},
			{"sixty random payables over a small budget", "1234.57", random},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				plan := e.createPlan(t, planOpts{budget: tc.budget, policy: "pro_rata"})
				ids := e.approvedWithPayables(t, plan, tc.payables)
				available := fenOf(t, tc.budget)
				var total int64
				for _, p := range tc.payables {
					total += p
				}

				before := e.snapshot(t, plan)
				p, err := e.svc.PreviewSettlement(ctx, plan)
				require.NoError(t, err)
				require.Equal(t, before, e.snapshot(t, plan), "a preview changes nothing")
				require.Equal(t, plan, p.Plan)
				require.Equal(t, len(ids), p.Claims)
				require.Len(t, p.Shares, len(ids))
				require.Equal(t, total, p.TotalPayable.Fen())
				require.Equal(t, available, p.Available.Fen())
				require.Regexp(t, `^[0-9a-f]{64}$`, p.Basis)

				want := map[string]int64{}
				for i, id := range ids {
					want[id] = floorShare(tc.payables[i], available, total)
				}
				var sum int64
				for i, sh := range p.Shares {
					if i > 0 {
						require.Less(t, p.Shares[i-1].ClaimID, sh.ClaimID, "shares in claim id order")
					}
					require.Equal(t, want[sh.ClaimID], sh.Share.Fen(), "claim %s", sh.ClaimID)
					require.Equal(t, "411325", sh.CountyCode)
					require.NotEmpty(t, sh.BeneficiaryID)
					sum += sh.Share.Fen()
				}
				require.Equal(t, sum, p.TotalReserved.Fen())
				require.LessOrEqual(t, sum, available, "floor rounding never exceeds the budget")

				s, err := e.svc.SettlePreviewed(ctx, finWang, plan, p.Basis)
				require.NoError(t, err)
				require.Equal(t, 1, s.Index)
				require.Equal(t, p.Claims, s.Claims, "the settlement covers the claims the preview listed")
				require.Equal(t, p.TotalPayable.String(), s.TotalPayable.String())
				require.Equal(t, p.TotalReserved.String(), s.TotalReserved.String())
				for _, sh := range p.Shares {
					c := e.claim(t, sh.ClaimID)
					require.Equal(t, "approved", c.Status)
					require.Equal(t, sh.Share.String(), c.ReservedAmount, "claim %s reserved what the preview showed", sh.ClaimID)
				}
				b := e.budget(t, plan)
				require.Equal(t, p.TotalReserved.String(), b.Reserved)
				require.Equal(t, available-sum, fenOf(t, b.Available))
				e.requireSound(t, plan)
			})
		}

		t.Run("a changed basis is refused and changes nothing", func(t *testing.T) {
			plan := e.createPlan(t, planOpts{budget: "1000.00", policy: "pro_rata"})
			ids := e.approvedWithPayables(t, plan, []int64{60000, 90000})
			late := e.insertAssessed(t, plan, 1, 30000)[0]

			refused := func(t *testing.T, basis string) {
				t.Helper()
				before := e.snapshot(t, plan)
				_, err := e.svc.SettlePreviewed(ctx, finWang, plan, basis)
				require.ErrorIs(t, err, payouts.ErrBasisChanged)
				require.Equal(t, apperr.ErrConflict, apperr.KindOf(err), "409")
				require.Equal(t, before, e.snapshot(t, plan))
				require.Zero(t, servertest.Count(t, e.d, "settlements", "plan_code = ?", plan))
			}

			first, err := e.svc.PreviewSettlement(ctx, plan)
			require.NoError(t, err)
			again, err := e.svc.PreviewSettlement(ctx, plan)
			require.NoError(t, err)
			require.Equal(t, first, again, "the same basis, the same preview")

			e.approved(t, late) // a claim approved since the preview
			refused(t, first.Basis)

			second, err := e.svc.PreviewSettlement(ctx, plan)
			require.NoError(t, err)
			require.NotEqual(t, first.Basis, second.Basis)
			require.Equal(t, 3, second.Claims)
			r := e.h.Post(t, "finance", "/api/v1/plans/"+plan+"/funding", map[string]any{"amount": "0.01", "reason": "追加预算", "reference": "宛财社〔2026〕13号"})
			servertest.RequireStatus(t, r, http.StatusCreated)
			refused(t, second.Basis) // the budget moved by a fen

			third, err := e.svc.PreviewSettlement(ctx, plan)
			require.NoError(t, err)
			servertest.RequireStatus(t, e.h.Post(t, "finance", "/api/v1/claims/"+ids[0]+"/revoke", map[string]any{"reason": "重复"}), http.StatusOK)
			refused(t, third.Basis) // a claim revoked since
			refused(t, "")          // no preview at all

			fourth, err := e.svc.PreviewSettlement(ctx, plan)
			require.NoError(t, err)
			s, err := e.svc.SettlePreviewed(ctx, finWang, plan, fourth.Basis)
			require.NoError(t, err)
			require.Equal(t, 2, s.Claims)
			require.Equal(t, fourth.TotalReserved.String(), s.TotalReserved.String())
			require.Equal(t, int64(1), servertest.Count(t, e.d, "settlements", "plan_code = ?", plan))
			require.Equal(t, int64(1), servertest.Count(t, e.d, "audit_log", "action = ? AND target = ? AND outcome LIKE ?", "plan.settle", plan, "settlement 1:%"))
			e.requireSound(t, plan)
		})

		t.Run("the API's dry run answers the preview and changes nothing", func(t *testing.T) {
			plan := e.createPlan(t, planOpts{budget: "10000.00", policy: "pro_rata"})
			e.approvedWithPayables(t, plan, []int64{333333, 666667, 500000})
			before := e.snapshot(t, plan)
			r := e.h.Post(t, "finance", "/api/v1/plans/"+plan+"/settlements?dry_run=true", map[string]any{})
			servertest.RequireStatus(t, r, http.StatusOK)
			var p struct {
				Claims        int    `json:"claims"`
				TotalPayable  string `json:"total_payable"`
				TotalReserved string `json:"total_reserved"`
				Available     string `json:"available"`
				Ratio         string `json:"ratio"`
				Basis         string `json:"basis"`
				Shares        []struct {
					ClaimID string `json:"claim_id"`
					Share   string `json:"share"`
				} `json:"shares"`
			}
			r.JSON(t, &p)
			require.Equal(t, 3, p.Claims)
			require.Equal(t, "15000.00", p.TotalPayable)
			require.Equal(t, "9999.99", p.TotalReserved)
			require.Equal(t, "10000.00", p.Available)
			require.Equal(t, "0.666666", p.Ratio)
			require.Equal(t, before, e.snapshot(t, plan))
			require.Zero(t, servertest.Count(t, e.d, "settlements", "plan_code = ?", plan))

			s := e.settle(t, plan)
			require.Equal(t, p.TotalReserved, s.TotalReserved)
			for _, sh := range p.Shares {
				require.Equal(t, sh.Share, e.claim(t, sh.ClaimID).ReservedAmount)
			}

			servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/plans/"+plan+"/settlements?dry_run=maybe", map[string]any{}), http.StatusUnprocessableEntity, "validation_failed")
			first := e.createPlan(t, planOpts{budget: "10000.00"})
			servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/plans/"+first+"/settlements?dry_run=true", map[string]any{}), http.StatusConflict, "invalid_state")
			servertest.RequireError(t, e.h.Post(t, "auditor", "/api/v1/plans/"+plan+"/settlements?dry_run=true", map[string]any{}), http.StatusForbidden, "forbidden")
		})

		t.Run("an error is not a basis change", func(t *testing.T) {
			_, err := e.svc.SettlePreviewed(ctx, finWang, "NO-SUCH-PLAN", "")
			require.False(t, errors.Is(err, payouts.ErrBasisChanged))
			require.Equal(t, apperr.ErrNotFound, apperr.KindOf(err))
		})
	})
}

package payouts_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/payouts"
	"huimin/server/servertest"
)

var finWang = audit.Who{Actor: "fin-wang", Role: auth.Finance}

// approvedClaims inserts n assessed claims of payable fen on plan and
// approves them (reserving), returning their ids.
func (e *env) approvedClaims(t testing.TB, plan string, n int, payable int64) []string {
	t.Helper()
	ids := e.insertAssessed(t, plan, n, payable)
	e.approveAll(t, ids...)
	return ids
}

// A batch of many claims is made in many short transactions — claims set
// aside 7 at a time, money moved 5 at a time here — and answers exactly as
// one transaction did: 201, issued, every item in_payment, one disburse
// entry per claim, every invariant holding.
func TestLargeDisbursementIsMadeInChunks(t *testing.T) {
	defer payouts.SetDisburseChunks(7, 5)()
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "100000.00"})
		ids := e.approvedClaims(t, plan, 23, 12345)
		b := e.disbursed(t, plan, ids...)
		require.Equal(t, "issued", b.Status)
		require.Equal(t, "2839.35", b.Total)
		require.Len(t, b.Items, 23)
		for _, it := range b.Items {
			require.Equal(t, "in_payment", it.Status)
		}
		require.Equal(t, int64(23), servertest.Count(t, d, "ledger_entries", "plan_code = ? AND kind = ?", plan, "disburse"))
		require.Equal(t, figures{"100000.00", "97160.65", "0.00", "2839.35", "0.00"}, e.budget(t, plan))
		var got batchView
		r := e.h.Get(t, "auditor", "/api/v1/disbursements/"+b.ID)
		servertest.RequireStatus(t, r, http.StatusOK)
		r.JSON(t, &got)
		require.Equal(t, b, got, "the answer is the stored batch")
		require.Equal(t, int64(1), servertest.Count(t, d, "audit_log", "action = ? AND target = ?", "disbursement.create", b.ID))
		servertest.RequireStatus(t, e.results(t, b.ID, paid(ids[0], "ICBC-1")), http.StatusOK)
		e.requireSound(t, plan)
	})
}

// A claim revoked between the batch's check and the chunk that sets it
// aside cancels the whole batch: the claims already set aside go back to
// approved, the batch is gone, and the answer is the refusal the check
// would have given. Nothing of the batch remains.
func TestClaimChangedWhileBatchIsPreparedCancelsIt(t *testing.T) {
	defer payouts.SetDisburseChunks(3, 2)()
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "100000.00"})
		ids := e.approvedClaims(t, plan, 8, 10000)
		last := ids[len(ids)-1] // in the last hold chunk: two chunks are held before it fails
		defer payouts.AfterDisburseCheck(func() {
			servertest.RequireStatus(t, e.h.Post(t, "finance", "/api/v1/claims/"+last+"/revoke", map[string]any{"reason": "重复"}), http.StatusOK)
		})()
		before := e.snapshot(t, plan)
		er := servertest.RequireError(t, e.disburse(t, plan, ids...), http.StatusConflict, "invalid_state")
		require.Equal(t, last, er.Error.Details["claim_id"])
		require.Equal(t, before.Batches, e.snapshot(t, plan).Batches, "the batch is gone")
		require.Zero(t, servertest.Count(t, d, "disbursement_items", "1 = 1"))
		for _, id := range ids[:len(ids)-1] {
			c := e.claim(t, id)
			require.Equal(t, "approved", c.Status, id)
			require.Equal(t, "100.00", c.ReservedAmount)
		}
		require.Zero(t, servertest.Count(t, d, "ledger_entries", "plan_code = ? AND kind = ?", plan, "disburse"))
		e.requireSound(t, plan)
	})
}

// A server killed between chunks leaves a consistent batch that `huimin
// check` accepts, and that no one can use half-made: preparing (claims set
// aside, no money moved) is cancelled by ResumeDisbursements once stale,
// issuing (some money moved) is completed by it.
func TestBatchLeftByACrashIsFinished(t *testing.T) {
	defer payouts.SetDisburseChunks(3, 2)()
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		plan := e.createPlan(t, planOpts{budget: "100000.00"})

		t.Run("preparing: cancelled, the claims back to approved", func(t *testing.T) {
			ids := e.approvedClaims(t, plan, 8, 10000)
			before := e.budget(t, plan)
			id, err := e.svc.DisburseUntilCrash(ctx, finWang, payouts.DisburseInput{Plan: plan, ClaimIDs: ids}, 2, -1)
			require.NoError(t, err)
			e.requireSound(t, plan)
			require.Equal(t, before, e.budget(t, plan), "no money moved")
			b := e.batch(t, id)
			require.Equal(t, "preparing", b.Status)
			require.Len(t, b.Items, 6)
			require.Equal(t, "disbursed", e.claim(t, ids[0]).Status, "held claims are out of reach")
			require.Equal(t, "approved", e.claim(t, ids[7]).Status)
			e.requireUnusable(t, plan, id, ids[0])

			n, err := e.svc.ResumeDisbursements(ctx)
			require.NoError(t, err)
			require.Zero(t, n, "a fresh batch may still have its worker")
			e.h.Clock.Advance(31 * time.Second)
			n, err = e.svc.ResumeDisbursements(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			servertest.RequireError(t, e.h.Get(t, "auditor", "/api/v1/disbursements/"+id), http.StatusNotFound, "not_found")
			for _, c := range ids {
				require.Equal(t, "approved", e.claim(t, c).Status)
			}
			require.Equal(t, int64(1), servertest.Count(t, d, "audit_log", "action = ? AND target = ? AND actor = ?", "disbursement.cancel", id, "system"))
			e.requireSound(t, plan)
			require.Equal(t, "issued", e.disbursed(t, plan, ids...).Status, "the claims can go in a new batch")
			e.requireSound(t, plan)
		})

		t.Run("issuing: completed", func(t *testing.T) {
			ids := e.approvedClaims(t, plan, 7, 10000)
			id, err := e.svc.DisburseUntilCrash(ctx, finWang, payouts.DisburseInput{Plan: plan, ClaimIDs: ids}, -1, 2)
			require.NoError(t, err)
			e.requireSound(t, plan)
			b := e.batch(t, id)
			require.Equal(t, "issuing", b.Status)
			moved := 0
			for _, it := range b.Items {
				if it.Status == "in_payment" {
					moved++
				} else {
					require.Equal(t, "pending", it.Status)
				}
			}
			require.Equal(t, 4, moved, "two chunks of two")
			e.requireUnusable(t, plan, id, ids[0])

			e.h.Clock.Advance(31 * time.Second)
			n, err := e.svc.ResumeDisbursements(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			b = e.batch(t, id)
			require.Equal(t, "issued", b.Status)
			for _, it := range b.Items {
				require.Equal(t, "in_payment", it.Status)
			}
			require.Equal(t, int64(1), servertest.Count(t, d, "audit_log", "action = ? AND target = ?", "disbursement.create", id))
			servertest.RequireStatus(t, e.results(t, id, paid(ids[6], "ICBC-7")), http.StatusOK)
			e.requireSound(t, plan)
		})
	})
}

// batch reads a batch through the API as the auditor.
func (e *env) batch(t testing.TB, id string) batchView {
	t.Helper()
	r := e.h.Get(t, "auditor", "/api/v1/disbursements/"+id)
	servertest.RequireStatus(t, r, http.StatusOK)
	var b batchView
	r.JSON(t, &b)
	return b
}

// requireUnusable asserts that a batch still being made has no bank file
// and takes no results, and that its held claim cannot be revoked or sent
// in another batch.
func (e *env) requireUnusable(t testing.TB, plan, batch, held string) {
	t.Helper()
	servertest.RequireError(t, e.h.Get(t, "finance", "/api/v1/disbursements/"+batch+"?format=csv"), http.StatusConflict, "invalid_state")
	servertest.RequireError(t, e.results(t, batch, paid(held, "ICBC-0")), http.StatusConflict, "invalid_state")
	servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/claims/"+held+"/revoke", map[string]any{"reason": "x"}), http.StatusConflict, "invalid_state")
	servertest.RequireError(t, e.disburse(t, plan, held), http.StatusConflict, "invalid_state")
}

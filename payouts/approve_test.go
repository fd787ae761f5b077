package payouts_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/ledger"
	"huimin/server/servertest"
)

// A claim's whole life over the API: submitted and assessed, approved by
// finance (reserve), sent to the bank (disburse) and paid (pay). Each step
// moves the budget figures along available → reserved → in_payment → paid,
// and appends one chained ledger entry.
func TestClaimLifeFromApprovalToPayment(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "50000.00"})
		c := e.assessed(t, plan, "9000.00")
		require.Equal(t, figures{"50000.00", "50000.00", "0.00", "0.00", "0.00"}, e.budget(t, plan))

		a := e.approved(t, c.ID)
		require.Equal(t, "9000.00", a.ReservedAmount)
		require.Len(t, a.Approvals, 1)
		require.Equal(t, "fin-wang", a.Approvals[0].Actor)
		require.Equal(t, figures{"50000.00", "41000.00", "9000.00", "0.00", "0.00"}, e.budget(t, plan))

		b := e.disbursed(t, plan, c.ID)
		require.NotEmpty(t, b.ID)
		require.Equal(t, plan, b.Plan)
		require.Equal(t, "issued", b.Status)
		require.Equal(t, "9000.00", b.Total)
		require.Len(t, b.Items, 1)
		require.Equal(t, c.ID, b.Items[0].ClaimID)
		require.Equal(t, "9000.00", b.Items[0].Amount)
		require.Equal(t, "in_payment", b.Items[0].Status)
		require.Equal(t, "disbursed", e.claim(t, c.ID).Status)
		require.Equal(t, figures{"50000.00", "41000.00", "0.00", "9000.00", "0.00"}, e.budget(t, plan))

		r := e.results(t, b.ID, paid(c.ID, "BOC-20260615-0001"))
		servertest.RequireStatus(t, r, http.StatusOK)
		r.JSON(t, &b)
		require.Equal(t, "completed", b.Status)
		require.Equal(t, "paid", b.Items[0].Status)
		require.NotNil(t, b.Items[0].BankReference)
		require.Equal(t, "BOC-20260615-0001", *b.Items[0].BankReference)
		require.Equal(t, "paid", e.claim(t, c.ID).Status)
		require.Equal(t, figures{"50000.00", "41000.00", "0.00", "0.00", "9000.00"}, e.budget(t, plan))

		es := e.entries(t, plan)
		require.Equal(t, []string{"reserve", "disburse", "pay"}, kinds(es))
		flows := [][2]string{{"funding", "available"}, {"available", "reserved"}, {"reserved", "in_payment"}, {"in_payment", "paid"}}
		prev := ledger.GenesisHash
		for i, en := range es {
			require.Equal(t, int64(i+1), en.Seq)
			require.Equal(t, prev, en.PrevHash, "seq %d links to the previous entry", en.Seq)
			require.Equal(t, ledger.ChainHash(en.PrevHash, en.Canonical()), en.Hash, "seq %d", en.Seq)
			require.Equal(t, flows[i], [2]string{en.FromAccount, en.ToAccount}, "seq %d", en.Seq)
			if i > 0 {
				require.Equal(t, c.ID, en.ClaimID)
				require.Equal(t, int64(900000), en.Amount)
				require.Equal(t, "fin-wang", en.Actor)
				require.Equal(t, c.BeneficiaryID, en.BeneficiaryID)
			}
			prev = en.Hash
		}
		e.requireSound(t, plan)
	})
}

// At or above the plan's dual approval threshold two different finance
// actors must approve; the first approval leaves the claim assessed and
// reserves nothing.
func TestDualApproval(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "50000.00", threshold: "5000.00"})

		t.Run("just below the threshold one approval is enough", func(t *testing.T) {
			c := e.assessed(t, plan, "4999.99")
			a := e.approved(t, c.ID)
			require.Len(t, a.Approvals, 1)
			require.Equal(t, "4999.99", a.ReservedAmount)
		})

		for _, scope := range []string{"5000.00", "9000.00"} {
			t.Run("a payable of "+scope+" needs a second, different actor", func(t *testing.T) {
				c := e.assessed(t, plan, scope)
				before := e.snapshot(t, plan)

				r := e.approve(t, "finance", c.ID)
				servertest.RequireStatus(t, r, http.StatusOK)
				var first claimView
				r.JSON(t, &first)
				require.Equal(t, "assessed", first.Status)
				require.Equal(t, "0.00", first.ReservedAmount)
				require.Len(t, first.Approvals, 1)
				require.Equal(t, "fin-wang", first.Approvals[0].Actor)
				after := e.snapshot(t, plan)
				require.Equal(t, before.Budget, after.Budget, "the first approval reserves nothing")
				require.Equal(t, before.Entries, after.Entries)
				require.Equal(t, before.Approvals+1, after.Approvals)

				servertest.RequireError(t, e.approve(t, "finance", c.ID), http.StatusConflict, "same_approver")
				require.Len(t, e.claim(t, c.ID).Approvals, 1, "the refused approval is not recorded")
				require.Equal(t, after.Budget, e.snapshot(t, plan).Budget)

				r = e.approve(t, "finance2", c.ID)
				servertest.RequireStatus(t, r, http.StatusOK)
				var second claimView
				r.JSON(t, &second)
				require.Equal(t, "approved", second.Status)
				require.Equal(t, scope, second.ReservedAmount)
				require.Len(t, second.Approvals, 2)
				require.ElementsMatch(t, []string{"fin-wang", "fin-li"}, []string{second.Approvals[0].Actor, second.Approvals[1].Actor})

				es := e.entries(t, plan)
				last := es[len(es)-1]
				require.Equal(t, "reserve", last.Kind)
				require.Equal(t, c.ID, last.ClaimID)
				require.Equal(t, "fin-li", last.Actor, "the final approver reserves")
				require.Equal(t, fenOf(t, scope), last.Amount)

				servertest.RequireError(t, e.approve(t, "finance", c.ID), http.StatusConflict, "invalid_state")
			})
		}
		e.requireSound(t, plan)
	})
}

// Only assessed claims can be approved; every other state is 409
// invalid_state and changes nothing.
func TestApproveRefusesClaimsNotAssessed(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "50000.00"})

		withdrawn := e.assessed(t, plan, "1000.00")
		servertest.RequireStatus(t, e.h.Post(t, "insurer", "/api/v1/claims/"+withdrawn.ID+"/withdraw", nil), http.StatusOK)

		// A claim for someone the registry does not know is stored rejected.
		r := e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer",
			Header: map[string]string{"Idempotency-Key": servertest.Unique("key")},
			Body: map[string]any{
				"plan": plan, "external_ref": servertest.Unique("picc-zkb"), "beneficiary_id": servertest.NewPersonID(),
				"event_date": "2026-05-01", "cause": "medical",
				"facts": map[string]any{"service_type": "inpatient", "bill_ref": "B1", "total_cost": "100.00",
					"policy_scope_cost": "100.00", "basic_insurance_paid": "0", "critical_illness_paid": "0", "medical_assistance_paid": "0"},
				"evidence": []map[string]any{{"kind": "settlement_sheet", "sha256": servertest.SHA("B1")}},
			}})
		servertest.RequireStatus(t, r, http.StatusCreated)
		var rejected claimView
		r.JSON(t, &rejected)
		require.Equal(t, "rejected", rejected.Status)

		approved := e.assessed(t, plan, "1000.00")
		e.approved(t, approved.ID)

		declined := e.assessed(t, plan, "1000.00")
		servertest.RequireStatus(t, e.h.Post(t, "finance", "/api/v1/claims/"+declined.ID+"/decline", map[string]any{"reason": "发票重复"}), http.StatusOK)

		paidClaim := e.assessed(t, plan, "1000.00")
		e.approved(t, paidClaim.ID)
		b := e.disbursed(t, plan, paidClaim.ID)
		servertest.RequireStatus(t, e.results(t, b.ID, paid(paidClaim.ID, "BOC-1")), http.StatusOK)

		disbursed := e.assessed(t, plan, "1000.00")
		e.approved(t, disbursed.ID)
		e.disbursed(t, plan, disbursed.ID)

		for _, tc := range []struct {
			name, id, status string
		}{
			{"withdrawn by the insurer", withdrawn.ID, "withdrawn"},
			{"rejected at eligibility", rejected.ID, "rejected"},
			{"already approved", approved.ID, "approved"},
			{"declined by finance", declined.ID, "declined"},
			{"disbursed to the bank", disbursed.ID, "disbursed"},
			{"paid", paidClaim.ID, "paid"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.snapshot(t, plan)
				servertest.RequireError(t, e.approve(t, "finance2", tc.id), http.StatusConflict, "invalid_state")
				require.Equal(t, before, e.snapshot(t, plan))
				require.Equal(t, tc.status, e.claim(t, tc.id).Status)
			})
		}
		servertest.RequireError(t, e.approve(t, "finance", "01JZZZZZZZZZZZZZZZZZZZZZZZ"), http.StatusNotFound, "not_found")
		e.requireSound(t, plan)
	})
}

// Decline refuses an assessed claim with a reason; revoke takes an approval
// back and returns its reservation to the available budget.
func TestDeclineAndRevoke(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "50000.00"})

		t.Run("decline needs a reason", func(t *testing.T) {
			c := e.assessed(t, plan, "1000.00")
			for _, body := range []map[string]any{{}, {"reason": ""}, {"reason": "   "}} {
				er := servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/claims/"+c.ID+"/decline", body), http.StatusUnprocessableEntity, "validation_failed")
				require.Equal(t, []string{"reason"}, er.FieldNames())
			}
			require.Equal(t, "assessed", e.claim(t, c.ID).Status)

			r := e.h.Post(t, "finance", "/api/v1/claims/"+c.ID+"/decline", map[string]any{"reason": "住院记录与结算单不符"})
			servertest.RequireStatus(t, r, http.StatusOK)
			var v claimView
			r.JSON(t, &v)
			require.Equal(t, "declined", v.Status)
			servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/claims/"+c.ID+"/decline", map[string]any{"reason": "again"}), http.StatusConflict, "invalid_state")
		})

		t.Run("an approved claim cannot be declined, only revoked", func(t *testing.T) {
			c := e.assessed(t, plan, "1000.00")
			e.approved(t, c.ID)
			servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/claims/"+c.ID+"/decline", map[string]any{"reason": "x"}), http.StatusConflict, "invalid_state")
		})

		t.Run("revoke releases the reservation", func(t *testing.T) {
			c := e.assessed(t, plan, "2500.50")
			before := e.budget(t, plan)
			e.approved(t, c.ID)
			require.NotEqual(t, before, e.budget(t, plan))

			er := servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/claims/"+c.ID+"/revoke", map[string]any{}), http.StatusUnprocessableEntity, "validation_failed")
			require.Equal(t, []string{"reason"}, er.FieldNames())
			require.Equal(t, "approved", e.claim(t, c.ID).Status)

			r := e.h.Post(t, "finance2", "/api/v1/claims/"+c.ID+"/revoke", map[string]any{"reason": "审批有误"})
			servertest.RequireStatus(t, r, http.StatusOK)
			var v claimView
			r.JSON(t, &v)
			require.Equal(t, "declined", v.Status)
			require.Equal(t, "0.00", v.ReservedAmount)
			require.Equal(t, before, e.budget(t, plan), "available is restored")

			es := e.entries(t, plan)
			last := es[len(es)-1]
			require.Equal(t, "release", last.Kind)
			require.Equal(t, [2]string{"reserved", "available"}, [2]string{last.FromAccount, last.ToAccount})
			require.Equal(t, int64(250050), last.Amount)
			require.Equal(t, c.ID, last.ClaimID)
			require.Equal(t, "fin-li", last.Actor)

			servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/claims/"+c.ID+"/revoke", map[string]any{"reason": "x"}), http.StatusConflict, "invalid_state")
			servertest.RequireError(t, e.approve(t, "finance", c.ID), http.StatusConflict, "invalid_state")
		})

		t.Run("only approved claims can be revoked", func(t *testing.T) {
			c := e.assessed(t, plan, "1000.00")
			servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/claims/"+c.ID+"/revoke", map[string]any{"reason": "x"}), http.StatusConflict, "invalid_state")
			e.approved(t, c.ID)
			e.disbursed(t, plan, c.ID)
			servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/claims/"+c.ID+"/revoke", map[string]any{"reason": "x"}), http.StatusConflict, "invalid_state")
		})
		e.requireSound(t, plan)
	})
}

// In a first_come plan an approval the available budget cannot cover is 409
// budget_exhausted and changes nothing: no approval, no entry, no reservation.
func TestApprovalOverTheBudgetIsRefused(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "10000.00"})
		first := e.assessed(t, plan, "6000.00")
		over := e.assessed(t, plan, "4000.01")
		exact := e.assessed(t, plan, "4000.00")
		e.approved(t, first.ID)

		before := e.snapshot(t, plan)
		servertest.RequireError(t, e.approve(t, "finance", over.ID), http.StatusConflict, "budget_exhausted")
		require.Equal(t, before, e.snapshot(t, plan), "nothing changed")
		c := e.claim(t, over.ID)
		require.Equal(t, "assessed", c.Status)
		require.Empty(t, c.Approvals)
		require.Equal(t, figures{"10000.00", "4000.00", "6000.00", "0.00", "0.00"}, e.budget(t, plan))

		// The refusal is on record for the auditors.
		require.Equal(t, int64(1), servertest.Count(t, e.d, "audit_log", "action = ? AND target = ? AND outcome = ?", "claim.approve", over.ID, "refused: budget_exhausted"))

		// What is left is exactly enough for the next claim.
		e.approved(t, exact.ID)
		require.Equal(t, figures{"10000.00", "0.00", "10000.00", "0.00", "0.00"}, e.budget(t, plan))
		servertest.RequireError(t, e.approve(t, "finance", over.ID), http.StatusConflict, "budget_exhausted")

		// Revoking frees room for it.
		servertest.RequireStatus(t, e.h.Post(t, "finance", "/api/v1/claims/"+first.ID+"/revoke", map[string]any{"reason": "重复报销"}), http.StatusOK)
		e.approved(t, over.ID)
		require.Equal(t, figures{"10000.00", "1999.99", "8000.01", "0.00", "0.00"}, e.budget(t, plan))
		e.requireSound(t, plan)
	})
}

// Approving, declining and revoking are finance's alone.
func TestOnlyFinanceDecides(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{})
		c := e.assessed(t, plan, "1000.00")
		for _, token := range []string{"insurer", "auditor", "admin"} {
			for _, action := range []string{"approve", "decline", "revoke"} {
				t.Run(token+" cannot "+action, func(t *testing.T) {
					r := e.h.Post(t, token, "/api/v1/claims/"+c.ID+"/"+action, map[string]any{"reason": "x"})
					servertest.RequireError(t, r, http.StatusForbidden, "forbidden")
				})
			}
		}
		servertest.RequireError(t, e.h.Post(t, "", "/api/v1/claims/"+c.ID+"/approve", map[string]any{}), http.StatusUnauthorized, "unauthorized")
		got := e.claim(t, c.ID)
		require.Equal(t, "assessed", got.Status)
		require.Empty(t, got.Approvals)
	})
}

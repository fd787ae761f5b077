package payouts_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// A disbursement batch is all or nothing: one claim that cannot go to the
// bank rejects the whole batch and nothing is stored.
func TestDisbursementIsAllOrNothing(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "100000.00"})
		other := e.createPlan(t, planOpts{budget: "100000.00"})

		good := e.assessed(t, plan, "1000.00")
		e.approved(t, good.ID)
		assessed := e.assessed(t, plan, "1000.00")
		ofOther := e.assessed(t, other, "1000.00")
		e.approved(t, ofOther.ID)
		noAccount := e.submit(t, plan, e.register(t, ""), "1000.00")
		e.approved(t, noAccount.ID)
		gone := e.assessed(t, plan, "1000.00")
		e.approved(t, gone.ID)
		e.disbursed(t, plan, gone.ID)

		for _, tc := range []struct {
			name, bad   string
			status      int
			code, field string
		}{
			{"a claim still assessed", assessed.ID, http.StatusConflict, "invalid_state", "claim_id"},
			{"a claim of another plan", ofOther.ID, http.StatusConflict, "invalid_state", "claim_id"},
			{"a claim already disbursed", gone.ID, http.StatusConflict, "invalid_state", "claim_id"},
			{"a beneficiary without a payout account", noAccount.ID, http.StatusConflict, "missing_payout_account", "claim_ids"},
			{"a claim that does not exist", "01JZZZZZZZZZZZZZZZZZZZZZZZ", http.StatusNotFound, "not_found", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before, beforeOther := e.snapshot(t, plan), e.snapshot(t, other)
				er := servertest.RequireError(t, e.disburse(t, plan, good.ID, tc.bad), tc.status, tc.code)
				switch tc.field {
				case "claim_id":
					require.Equal(t, tc.bad, er.Error.Details["claim_id"])
				case "claim_ids":
					require.Equal(t, []any{tc.bad}, er.Error.Details["claim_ids"])
				}
				require.Equal(t, before, e.snapshot(t, plan), "nothing changed")
				require.Equal(t, beforeOther.Budget, e.snapshot(t, other).Budget)
				require.Equal(t, "approved", e.claim(t, good.ID).Status)
			})
		}

		t.Run("malformed batches are 422 naming the field", func(t *testing.T) {
			before := e.snapshot(t, plan)
			for _, tc := range []struct {
				name  string
				body  map[string]any
				field string
			}{
				{"the same claim twice", map[string]any{"plan": plan, "claim_ids": []string{good.ID, good.ID}}, "claim_ids[1]"},
				{"no claims", map[string]any{"plan": plan, "claim_ids": []string{}}, "claim_ids"},
				{"no plan", map[string]any{"claim_ids": []string{good.ID}}, "plan"},
				{"an unknown field", map[string]any{"plan": plan, "claim_ids": []string{good.ID}, "priority": "high"}, "priority"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					er := servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/disbursements", tc.body), http.StatusUnprocessableEntity, "validation_failed")
					require.Equal(t, []string{tc.field}, er.FieldNames())
				})
			}
			require.Equal(t, before, e.snapshot(t, plan))
		})

		t.Run("only finance disburses", func(t *testing.T) {
			for _, token := range []string{"auditor", "admin", "insurer"} {
				r := e.h.Post(t, token, "/api/v1/disbursements", map[string]any{"plan": plan, "claim_ids": []string{good.ID}})
				servertest.RequireError(t, r, http.StatusForbidden, "forbidden")
			}
		})

		t.Run("the good claim alone goes, and only once", func(t *testing.T) {
			b := e.disbursed(t, plan, good.ID)
			require.Equal(t, "1000.00", b.Total)
			servertest.RequireError(t, e.disburse(t, plan, good.ID), http.StatusConflict, "invalid_state")
		})
		e.requireSound(t, plan, other)
	})
}

// Bank results: paid moves the money to paid, failed puts the claim back to
// approved with its reservation; repeating a result changes nothing and a
// contradicting one is 409.
func TestBankResults(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "100000.00"})
		a := e.assessed(t, plan, "1200.00")
		b := e.assessed(t, plan, "3400.00")
		e.approved(t, a.ID)
		e.approved(t, b.ID)
		batch := e.disbursed(t, plan, a.ID, b.ID)
		require.Equal(t, "4600.00", batch.Total)
		require.Equal(t, []string{"reserve", "reserve", "disburse", "disburse"}, kinds(e.entries(t, plan)))
		require.Equal(t, figures{"100000.00", "95400.00", "0.00", "4600.00", "0.00"}, e.budget(t, plan))

		var v batchView
		r := e.results(t, batch.ID, paid(a.ID, "ICBC-0001"))
		servertest.RequireStatus(t, r, http.StatusOK)
		r.JSON(t, &v)
		require.Equal(t, "issued", v.Status, "one item still awaits the bank")
		require.Equal(t, "paid", e.claim(t, a.ID).Status)

		t.Run("the same paid result again is a no-op", func(t *testing.T) {
			before := e.snapshot(t, plan)
			r := e.results(t, batch.ID, paid(a.ID, "ICBC-0001"))
			servertest.RequireStatus(t, r, http.StatusOK)
			var again batchView
			r.JSON(t, &again)
			require.Equal(t, v, again)
			require.Equal(t, before, e.snapshot(t, plan))
		})

		for _, tc := range []struct {
			name   string
			result map[string]any
		}{
			{"failed after paid", failed(a.ID, "账户已销户")},
			{"paid with another bank reference", paid(a.ID, "ICBC-9999")},
		} {
			t.Run(tc.name+" is 409", func(t *testing.T) {
				before := e.snapshot(t, plan)
				er := servertest.RequireError(t, e.results(t, batch.ID, tc.result), http.StatusConflict, "invalid_state")
				require.Equal(t, a.ID, er.Error.Details["claim_id"])
				require.Equal(t, before, e.snapshot(t, plan))
			})
		}

		t.Run("a contradiction rejects the whole report", func(t *testing.T) {
			before := e.snapshot(t, plan)
			servertest.RequireError(t, e.results(t, batch.ID, failed(b.ID, "x"), paid(a.ID, "ICBC-9999")), http.StatusConflict, "invalid_state")
			require.Equal(t, before, e.snapshot(t, plan))
			require.Equal(t, "disbursed", e.claim(t, b.ID).Status)
		})

		t.Run("failed puts the claim back to approved with its reservation", func(t *testing.T) {
			r := e.results(t, batch.ID, failed(b.ID, "户名不符"))
			servertest.RequireStatus(t, r, http.StatusOK)
			r.JSON(t, &v)
			require.Equal(t, "partially_failed", v.Status)
			for _, it := range v.Items {
				if it.ClaimID == b.ID {
					require.Equal(t, "failed", it.Status)
					require.Equal(t, "户名不符", *it.Reason)
					require.Nil(t, it.BankReference)
				}
			}
			c := e.claim(t, b.ID)
			require.Equal(t, "approved", c.Status)
			require.Equal(t, "3400.00", c.ReservedAmount)
			require.Equal(t, figures{"100000.00", "95400.00", "3400.00", "0.00", "1200.00"}, e.budget(t, plan))
			es := e.entries(t, plan)
			last := es[len(es)-1]
			require.Equal(t, "fail", last.Kind)
			require.Equal(t, [2]string{"in_payment", "reserved"}, [2]string{last.FromAccount, last.ToAccount})
			require.Equal(t, int64(340000), last.Amount)
			e.requireSound(t, plan)
		})

		t.Run("the same failure again is a no-op; paying a failed item is 409", func(t *testing.T) {
			before := e.snapshot(t, plan)
			servertest.RequireStatus(t, e.results(t, batch.ID, failed(b.ID, "户名不符")), http.StatusOK)
			require.Equal(t, before, e.snapshot(t, plan))
			for range 2 {
				servertest.RequireError(t, e.results(t, batch.ID, paid(b.ID, "ICBC-0002")), http.StatusConflict, "invalid_state")
				require.Equal(t, before, e.snapshot(t, plan))
			}
		})

		t.Run("a failed claim goes in a new batch and is paid there", func(t *testing.T) {
			again := e.disbursed(t, plan, b.ID)
			require.NotEqual(t, batch.ID, again.ID)
			require.Equal(t, "3400.00", again.Total)
			servertest.RequireStatus(t, e.results(t, again.ID, paid(b.ID, "ICBC-0003")), http.StatusOK)
			require.Equal(t, "paid", e.claim(t, b.ID).Status)
			require.Equal(t, figures{"100000.00", "95400.00", "0.00", "0.00", "4600.00"}, e.budget(t, plan))
			// The first batch still says it failed there.
			servertest.RequireError(t, e.results(t, batch.ID, paid(b.ID, "ICBC-0003")), http.StatusConflict, "invalid_state")
			require.Equal(t, []string{"reserve", "reserve", "disburse", "disburse", "pay", "fail", "disburse", "pay"}, kinds(e.entries(t, plan)))
		})

		t.Run("malformed results are 422 and unknown batches 404", func(t *testing.T) {
			outsider := good(t, e, plan)
			before := e.snapshot(t, plan)
			for _, tc := range []struct {
				name   string
				body   map[string]any
				fields []string
			}{
				{"no results", map[string]any{"results": []any{}}, []string{"results"}},
				{"paid without a bank reference", map[string]any{"results": []any{map[string]any{"claim_id": a.ID, "outcome": "paid"}}}, []string{"results[0].bank_reference"}},
				{"failed without a reason", map[string]any{"results": []any{map[string]any{"claim_id": a.ID, "outcome": "failed"}}}, []string{"results[0].reason"}},
				{"an unknown outcome", map[string]any{"results": []any{map[string]any{"claim_id": a.ID, "outcome": "lost"}}}, []string{"results[0].outcome"}},
				{"a claim twice", map[string]any{"results": []any{paid(a.ID, "ICBC-0001"), paid(a.ID, "ICBC-0001")}}, []string{"results[1].claim_id"}},
				{"a claim not in the batch", map[string]any{"results": []any{paid(outsider, "X")}}, []string{"results[0].claim_id"}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					er := servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/disbursements/"+batch.ID+"/results", tc.body), http.StatusUnprocessableEntity, "validation_failed")
					require.Equal(t, tc.fields, er.FieldNames())
				})
			}
			servertest.RequireError(t, e.results(t, "01JZZZZZZZZZZZZZZZZZZZZZZZ", paid(a.ID, "X")), http.StatusNotFound, "not_found")
			servertest.RequireError(t, e.h.Post(t, "auditor", "/api/v1/disbursements/"+batch.ID+"/results", map[string]any{"results": []any{paid(a.ID, "ICBC-0001")}}), http.StatusForbidden, "forbidden")
			after := e.snapshot(t, plan)
			require.Equal(t, before.Budget, after.Budget)
			require.Equal(t, before.Entries, after.Entries)
		})
		e.requireSound(t, plan)
	})
}

// good is an approved claim of plan that no batch holds.
func good(t *testing.T, e *env, plan string) string {
	t.Helper()
	c := e.assessed(t, plan, "10.00")
	e.approved(t, c.ID)
	return c.ID
}

// The bank file has the full payout accounts, so only finance downloads it
// (and the download is audited); auditors read the batch as JSON.
func TestBankFile(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{})
		a := e.assessed(t, plan, "1234.50")
		e.approved(t, a.ID)
		batch := e.disbursed(t, plan, a.ID)

		r := e.h.Get(t, "finance", "/api/v1/disbursements/"+batch.ID+"?format=csv")
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Contains(t, r.Header.Get("Content-Type"), "text/csv")
		require.True(t, bytes.HasPrefix(r.Body, []byte("\ufeff")), "the bank file starts with a BOM")
		rows, err := csv.NewReader(bytes.NewReader(r.Body[3:])).ReadAll()
		require.NoError(t, err)
		require.Equal(t, [][]string{
			{"batch_id", "plan", "claim_id", "payout_account", "amount", "status"},
			{batch.ID, plan, a.ID, payoutAccount, "1234.50", "in_payment"},
		}, rows)
		require.Equal(t, int64(1), servertest.Count(t, e.d, "audit_log", "action = ? AND target = ? AND actor = ?", "disbursement.bank_file", batch.ID, "fin-wang"))

		servertest.RequireError(t, e.h.Get(t, "auditor", "/api/v1/disbursements/"+batch.ID+"?format=csv"), http.StatusForbidden, "forbidden")
		servertest.RequireError(t, e.h.Get(t, "insurer", "/api/v1/disbursements/"+batch.ID), http.StatusForbidden, "forbidden")
		servertest.RequireError(t, e.h.Get(t, "finance", "/api/v1/disbursements/"+batch.ID+"?format=pdf"), http.StatusUnprocessableEntity, "validation_failed")
		servertest.RequireError(t, e.h.Get(t, "auditor", "/api/v1/disbursements/01JZZZZZZZZZZZZZZZZZZZZZZZ"), http.StatusNotFound, "not_found")

		for _, token := range []string{"auditor", "finance"} {
			r = e.h.Get(t, token, "/api/v1/disbursements/"+batch.ID)
			servertest.RequireStatus(t, r, http.StatusOK)
			var v batchView
			r.JSON(t, &v)
			require.Equal(t, batch, v)
			require.NotContains(t, string(r.Body), payoutAccount, "the JSON batch does not show account numbers")
		}
	})
}

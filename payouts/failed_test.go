package payouts_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/mask"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// failedPayment is an item of GET /api/v1/disbursements/failed.
type failedPayment struct {
	BatchID        string  `json:"batch_id"`
	Plan           string  `json:"plan"`
	ClaimID        string  `json:"claim_id"`
	Amount         string  `json:"amount"`
	Reason         string  `json:"reason"`
	FailedAt       string  `json:"failed_at"`
	Account        string  `json:"account"`
	ClaimStatus    string  `json:"claim_status"`
	RebatchedIn    *string `json:"rebatched_in"`
	AccountChanged bool    `json:"account_changed"`
}

type failedPage struct {
	Items      []failedPayment `json:"items"`
	NextCursor *string         `json:"next_cursor"`
}

func (e *env) failedList(t testing.TB, token string, q url.Values) failedPage {
	t.Helper()
	r := e.h.Get(t, token, "/api/v1/disbursements/failed?"+q.Encode())
	servertest.RequireStatus(t, r, http.StatusOK)
	var p failedPage
	r.JSON(t, &p)
	return p
}

// bankFileAccount is the payout account the batch's bank file pays claimID.
func (e *env) bankFileAccount(t testing.TB, batch, claimID string) string {
	t.Helper()
	r := e.h.Get(t, "finance", "/api/v1/disbursements/"+batch+"?format=csv")
	servertest.RequireStatus(t, r, http.StatusOK)
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.Body, []byte("\ufeff")))).ReadAll()
	require.NoError(t, err)
	for _, row := range rows[1:] {
		if row[2] == claimID {
			return row[3]
		}
	}
	t.Fatalf("claim %s is not in the bank file of %s", claimID, batch)
	return ""
}

// 退票: a payment the bank returns is listed with its reason; once the
// account is corrected in the registry, the claim goes into a new batch
// paid to the corrected account, and is paid.
func TestFailedPaymentIsRebatchedAfterTheAccountIsCorrected(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "100000.00"})
		const wrong, right = "6222020000000000007", "6217000012345678901"
		p := payee{Person: servertest.Person{ID: servertest.NewPersonID(), Name: "刘桂芝", Payout: wrong,
			Categories: []string{"rural_destitute"}, ValidFrom: "2026-01-01"}, township: "赤眉镇", bank: "中国邮政储蓄银行"}
		e.registerPayee(t, p)
		c := e.submit(t, plan, p.ID, "4321.00")
		e.approved(t, c.ID)
		other := e.assessed(t, plan, "100.00")
		e.approved(t, other.ID)
		first := e.disbursed(t, plan, c.ID, other.ID)
		servertest.RequireStatus(t, e.results(t, first.ID, failed(c.ID, "户名与账号不符"), paid(other.ID, "PSBC-1")), http.StatusOK)

		list := e.failedList(t, "finance", url.Values{"plan": {plan}})
		require.Len(t, list.Items, 1)
		require.Nil(t, list.NextCursor)
		f := list.Items[0]
		require.Equal(t, failedPayment{BatchID: first.ID, Plan: plan, ClaimID: c.ID, Amount: "4321.00", Reason: "户名与账号不符",
			FailedAt: "2026-06-15T02:00:00.000Z", Account: mask.ID(wrong), ClaimStatus: "approved"}, f)
		require.Equal(t, list, e.failedList(t, "auditor", url.Values{"plan": {plan}, "rebatched": {"false"}}), "auditors read it too")
		require.Empty(t, e.failedList(t, "finance", url.Values{"plan": {plan}, "rebatched": {"true"}}).Items)
		require.Equal(t, "approved", e.claim(t, c.ID).Status)
		require.Equal(t, "4321.00", e.claim(t, c.ID).ReservedAmount, "the reservation is kept")

		// The administrator corrects the account in the registry.
		p.Payout = right
		e.registerPayee(t, p)
		f = e.failedList(t, "finance", url.Values{"plan": {plan}}).Items[0]
		require.True(t, f.AccountChanged, "the correction shows")
		require.Nil(t, f.RebatchedIn)

		// A new batch takes the claim, paid to the corrected account.
		second := e.disbursed(t, plan, c.ID)
		require.Equal(t, "4321.00", second.Total)
		require.Equal(t, right, e.bankFileAccount(t, second.ID, c.ID), "the new batch pays the registry's account now")
		require.Equal(t, wrong, e.bankFileAccount(t, first.ID, c.ID), "the first batch keeps the account it tried")
		rows := rosterRows(t, e.roster(t, second.ID, "?format=csv").Body)
		require.Equal(t, right, rows[1][3], "so does its roster")
		require.Equal(t, "中国邮政储蓄银行", rows[1][4])

		f = e.failedList(t, "finance", url.Values{"plan": {plan}}).Items[0]
		require.Equal(t, second.ID, *f.RebatchedIn)
		require.Equal(t, "disbursed", f.ClaimStatus)
		require.Empty(t, e.failedList(t, "finance", url.Values{"plan": {plan}, "rebatched": {"false"}}).Items, "nothing is left to re-batch")
		require.Len(t, e.failedList(t, "finance", url.Values{"plan": {plan}, "rebatched": {"true"}}).Items, 1)

		servertest.RequireStatus(t, e.results(t, second.ID, paid(c.ID, "PSBC-2")), http.StatusOK)
		require.Equal(t, "paid", e.claim(t, c.ID).Status)
		require.Equal(t, "paid", e.failedList(t, "finance", url.Values{"plan": {plan}}).Items[0].ClaimStatus)
		require.Equal(t, []string{"reserve", "reserve", "disburse", "disburse", "fail", "pay", "disburse", "pay"}, kinds(e.entries(t, plan)))
		require.Equal(t, figures{Funded: "100000.00", Available: "95579.00", Reserved: "0.00", InPayment: "0.00", Paid: "4421.00"}, e.budget(t, plan))
		e.requireSound(t, plan)
	})
}

func rosterRows(t *testing.T, body []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
	require.NoError(t, err)
	return rows
}

// The list pages newest batch first, filters by plan, and checks its
// parameters; insurers and admins may not read it.
func TestFailedPaymentsListPagesAndFilters(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "100000.00"})
		other := e.createPlan(t, planOpts{budget: "100000.00"})
		var want []string // batch/claim, newest batch first, then claim id descending
		for range 2 {
			a, b := e.assessed(t, plan, "10.00"), e.assessed(t, plan, "20.00")
			e.approved(t, a.ID)
			e.approved(t, b.ID)
			batch := e.disbursed(t, plan, a.ID, b.ID)
			servertest.RequireStatus(t, e.results(t, batch.ID, failed(a.ID, "卡已注销"), failed(b.ID, "卡已注销")), http.StatusOK)
			e.h.Clock.Advance(1000)
			ids := []string{batch.Items[1].ClaimID, batch.Items[0].ClaimID}
			want = append([]string{batch.ID + "/" + ids[0], batch.ID + "/" + ids[1]}, want...)
		}
		o := e.assessed(t, other, "30.00")
		e.approved(t, o.ID)
		ob := e.disbursed(t, other, o.ID)
		servertest.RequireStatus(t, e.results(t, ob.ID, failed(o.ID, "账户冻结")), http.StatusOK)

		var got []string
		q := url.Values{"plan": {plan}, "limit": {"3"}}
		for pages := 0; ; pages++ {
			require.Less(t, pages, 3)
			p := e.failedList(t, "finance", q)
			for _, it := range p.Items {
				require.Equal(t, plan, it.Plan)
				got = append(got, it.BatchID+"/"+it.ClaimID)
			}
			if p.NextCursor == nil {
				break
			}
			q.Set("cursor", *p.NextCursor)
		}
		require.Equal(t, want, got)
		require.Len(t, e.failedList(t, "auditor", url.Values{}).Items, 5, "every plan without a filter")

		for _, tc := range []struct{ query, field string }{
			{"plan=ZKB%202026", "plan"},
			{"rebatched=maybe", "rebatched"},
			{"limit=0", "limit"},
			{"cursor=abc", "cursor"},
		} {
			er := servertest.RequireError(t, e.h.Get(t, "finance", "/api/v1/disbursements/failed?"+tc.query), http.StatusUnprocessableEntity, "validation_failed")
			require.Equal(t, []string{tc.field}, er.FieldNames(), tc.query)
		}
		for _, role := range []string{"admin", "insurer"} {
			servertest.RequireError(t, e.h.Get(t, role, "/api/v1/disbursements/failed"), http.StatusForbidden, "forbidden")
		}
	})
}

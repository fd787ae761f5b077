package payouts

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/db"
	"huimin/internal/mask"
	"huimin/internal/money"
	"huimin/internal/web"
	"huimin/policies"
)

// 退票: a payment the bank returned (a closed card, a name that does not
// match the account). RecordResults puts the claim back to approved with its
// reservation kept, and Disburse reads the payout account from the registry
// when it issues a batch, so once the account is corrected there (PUT
// /api/v1/beneficiaries/{id}) the claim goes into a new batch like any
// approved claim, paid to the corrected account. The failed item stays in
// its batch as the record of what was tried. FailedPayments lists them.

// FailedPayment is a failed item of a disbursement batch in
// GET /api/v1/disbursements/failed.
type FailedPayment struct {
	BatchID  string       `json:"batch_id"`
	Plan     string       `json:"plan"`
	ClaimID  string       `json:"claim_id"`
	Amount   money.Amount `json:"amount"`
	Reason   string       `json:"reason"`
	FailedAt string       `json:"failed_at"`
	// Account is the account the bank refused, masked (DESIGN §8).
	Account string `json:"account"`
	// ClaimStatus is the claim's status now: approved while it waits for a
	// new batch, disbursed or paid once re-batched, declined if revoked.
	ClaimStatus string `json:"claim_status"`
	// RebatchedIn is the first later batch that holds the claim, or null.
	RebatchedIn *string `json:"rebatched_in"`
	// AccountChanged is true when the registry's payout account is no
	// longer the one the bank refused: the correction is on record.
	AccountChanged bool `json:"account_changed"`
}

// FailedFilter narrows the list: a plan, and whether the claim has been
// re-batched since (nil: either).
type FailedFilter struct {
	Plan      string
	Rebatched *bool
	After     *[2]string // cursor: batch id and claim id of the last item shown
	Limit     int
}

// failedRow is a failed item as the list query reads it.
type failedRow struct {
	BatchID       string
	PlanCode      string
	ClaimID       string
	Amount        int64
	Reason        string
	UpdatedAt     int64
	PayoutAccount string
	NextBatch     *string
}

// FailedPayments lists failed items, newest batch first (batch ids are ULIDs
// that grow with time), then by claim id descending, one page of f.Limit.
func (s *Service) FailedPayments(ctx context.Context, f FailedFilter) ([]FailedPayment, error) {
	var out []FailedPayment
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		// A later item of the same claim is a re-batch: ids grow with time,
		// so "later" is a greater batch id.
		q := tx.WithContext(ctx).Table("disbursement_items AS i").
			Select(`i.batch_id, b.plan_code, i.claim_id, i.amount, i.reason, i.updated_at, i.payout_account,
				(SELECT MIN(j.batch_id) FROM disbursement_items j WHERE j.claim_id = i.claim_id AND j.batch_id > i.batch_id) AS next_batch`).
			Joins("JOIN disbursement_batches b ON b.id = i.batch_id").
			Where("i.status = ?", ItemFailed).
			Order("i.batch_id DESC, i.claim_id DESC").Limit(f.Limit)
		if f.Plan != "" {
			q = q.Where("b.plan_code = ?", f.Plan)
		}
		if f.Rebatched != nil {
			later := "EXISTS (SELECT 1 FROM disbursement_items j WHERE j.claim_id = i.claim_id AND j.batch_id > i.batch_id)"
			if !*f.Rebatched {
				later = "NOT " + later
			}
			q = q.Where(later)
		}
		if f.After != nil {
			q = q.Where("i.batch_id < ? OR (i.batch_id = ? AND i.claim_id < ?)", f.After[0], f.After[0], f.After[1])
		}
		var rows []failedRow
		if err := q.Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		claimIDs := make([]string, len(rows))
		for i, r := range rows {
			claimIDs[i] = r.ClaimID
		}
		// claims has no bulk read without a lock; the lock lasts this short
		// transaction only.
		states, err := claims.LockStates(ctx, tx, claimIDs)
		if err != nil {
			return err
		}
		byClaim := make(map[string]claims.State, len(states))
		people := make([]string, len(states))
		for i, st := range states {
			byClaim[st.ID], people[i] = st, st.BeneficiaryID
		}
		accounts, err := policies.PayoutAccounts(ctx, tx, people)
		if err != nil {
			return err
		}
		out = make([]FailedPayment, len(rows))
		for i, r := range rows {
			st := byClaim[r.ClaimID]
			current := accounts[st.BeneficiaryID]
			out[i] = FailedPayment{
				BatchID: r.BatchID, Plan: r.PlanCode, ClaimID: r.ClaimID, Amount: money.Fen(r.Amount), Reason: r.Reason,
				FailedAt: web.Timestamp(r.UpdatedAt), Account: mask.ID(r.PayoutAccount), ClaimStatus: st.Status,
				RebatchedIn: r.NextBatch, AccountChanged: current != "" && current != r.PayoutAccount,
			}
		}
		return nil
	})
	return out, db.Translate(err)
}

// failedList answers GET /api/v1/disbursements/failed.
func (s *Service) failedList(c echo.Context) error {
	var fe apperr.Fields
	lq := web.ReadList(c, web.ListSpec{Default: 100, Max: 500, CursorParts: 2}, &fe)
	f := FailedFilter{Plan: c.QueryParam("plan"), Limit: lq.Limit + 1}
	if f.Plan != "" && !web.IsPlanCode(f.Plan) {
		fe.Add("plan", "%s", web.PlanCodeMessage(f.Plan))
	}
	switch v := c.QueryParam("rebatched"); v {
	case "":
	case "true", "false":
		b, _ := strconv.ParseBool(v)
		f.Rebatched = &b
	default:
		fe.Add("rebatched", "must be true or false")
	}
	if lq.Cursor != nil {
		// Ids match exactly on either database (DESIGN §10): a cursor
		// whose parts are not ids is not one this list returned.
		if !web.IsID(lq.Cursor[0]) || !web.IsID(lq.Cursor[1]) {
			fe.Add("cursor", "not a cursor this list returned")
		} else {
			f.After = &[2]string{lq.Cursor[0], lq.Cursor[1]}
		}
	}
	if err := fe.Err(); err != nil {
		return err
	}
	items, err := s.FailedPayments(c.Request().Context(), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, web.Page(items, lq.Limit, func(p FailedPayment) []string { return []string{p.BatchID, p.ClaimID} }))
}

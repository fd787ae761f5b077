package payouts

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/db"
	"huimin/internal/ids"
	"huimin/internal/money"
	"huimin/internal/web"
	"huimin/ledger"
	"huimin/policies"
)

// Batch statuses: issued while any item awaits the bank's result; then
// completed when every item was paid, partially_failed when any failed.
const (
	BatchIssued          = "issued"
	BatchCompleted       = "completed"
	BatchPartiallyFailed = "partially_failed"
)

// Item statuses.
const (
	ItemInPayment = "in_payment"
	ItemPaid      = "paid"
	ItemFailed    = "failed"
)

// MaxBatchClaims bounds one disbursement batch.
const MaxBatchClaims = 10000

type batchRecord struct {
	ID        string `gorm:"primaryKey"`
	PlanCode  string
	Status    string
	Total     int64
	Actor     string
	CreatedAt int64 `gorm:"autoCreateTime:false"`
	UpdatedAt int64 `gorm:"autoUpdateTime:false"`
}

func (batchRecord) TableName() string { return "disbursement_batches" }

type itemRecord struct {
	BatchID       string `gorm:"primaryKey"`
	ClaimID       string `gorm:"primaryKey"`
	Amount        int64
	PayoutAccount string
	Status        string
	BankReference string
	Reason        string
	UpdatedAt     int64 `gorm:"autoUpdateTime:false"`
}

func (itemRecord) TableName() string { return "disbursement_items" }

// BatchView is a disbursement batch in answers.
type BatchView struct {
	ID        string       `json:"id"`
	Plan      string       `json:"plan"`
	Status    string       `json:"status"`
	Total     money.Amount `json:"total"`
	Actor     string       `json:"actor"`
	Items     []ItemView   `json:"items"`
	CreatedAt string       `json:"created_at"`
	UpdatedAt string       `json:"updated_at"`
}

// ItemView is one claim of a batch.
type ItemView struct {
	ClaimID       string       `json:"claim_id"`
	Amount        money.Amount `json:"amount"`
	Status        string       `json:"status"`
	BankReference *string      `json:"bank_reference"`
	Reason        *string      `json:"reason"`
}

func batchView(b batchRecord, items []itemRecord) BatchView {
	v := BatchView{ID: b.ID, Plan: b.PlanCode, Status: b.Status, Total: money.Fen(b.Total), Actor: b.Actor,
		Items: make([]ItemView, len(items)), CreatedAt: web.Timestamp(b.CreatedAt), UpdatedAt: web.Timestamp(b.UpdatedAt)}
	for i, it := range items {
		iv := ItemView{ClaimID: it.ClaimID, Amount: money.Fen(it.Amount), Status: it.Status}
		if it.BankReference != "" {
			r := it.BankReference
			iv.BankReference = &r
		}
		if it.Reason != "" {
			r := it.Reason
			iv.Reason = &r
		}
		v.Items[i] = iv
	}
	return v
}

// DisburseInput is the body of POST /api/v1/disbursements.
type DisburseInput struct {
	Plan     string   `json:"plan"`
	ClaimIDs []string `json:"claim_ids"`
}

// Disburse sends approved, reserved claims of one plan to the bank as one
// batch: each claim becomes disbursed and its reservation moves to
// in_payment. All or nothing: one claim in the wrong state, of another plan
// or without a payout account rejects the whole batch.
func (s *Service) Disburse(ctx context.Context, who audit.Who, in DisburseInput) (BatchView, error) {
	var f apperr.Fields
	// Codes and ids are checked before any query: MariaDB would take
	// "ZKB-2026 " for ZKB-2026 (DESIGN §10). A blank plan is a missing
	// field; a malformed plan code or claim id names nothing, and is
	// answered 404 (and audited) once the fields are good, as an unknown one
	// is.
	unknown := web.CheckPlanCode("plan", in.Plan)
	if apperr.KindOf(unknown) == apperr.ErrValidation {
		f.Add("plan", "is required")
		unknown = nil
	}
	switch {
	case len(in.ClaimIDs) == 0:
		f.Add("claim_ids", "must list at least one claim")
	case len(in.ClaimIDs) > MaxBatchClaims:
		f.Add("claim_ids", "at most %d claims per batch", MaxBatchClaims)
	}
	seen := make(map[string]bool, len(in.ClaimIDs))
	for i, id := range in.ClaimIDs {
		if seen[id] {
			f.Add(fmt.Sprintf("claim_ids[%d]", i), "listed twice")
		}
		if !web.IsID(id) && unknown == nil {
			unknown = apperr.New(apperr.ErrNotFound, "no claim %q", id)
		}
		seen[id] = true
	}
	if err := f.Err(); err != nil {
		return BatchView{}, err
	}
	now := s.now()
	var out BatchView
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if unknown != nil {
			return unknown
		}
		if _, err := policies.LoadPlan(ctx, tx, in.Plan, false); err != nil {
			return err
		}
		claimIDs := slices.Sorted(slices.Values(in.ClaimIDs))
		states, err := claims.LockStates(ctx, tx, claimIDs)
		if err != nil {
			return err
		}
		people := make([]string, len(states))
		for i, st := range states {
			people[i] = st.BeneficiaryID
		}
		accounts, err := policies.PayoutAccounts(ctx, tx, people)
		if err != nil {
			return err
		}
		var bad []string
		for _, st := range states {
			switch {
			case st.Plan != in.Plan:
				return apperr.New(apperr.ErrInvalidState, "claim %s belongs to plan %s, not %s", st.ID, st.Plan, in.Plan).
					WithDetails(map[string]any{"claim_id": st.ID})
			case st.Status != claims.Approved || !st.Reserved || st.ReservedAmount == 0:
				return apperr.New(apperr.ErrInvalidState, "claim %s is %s%s; only approved claims with a reservation can be disbursed",
					st.ID, st.Status, map[bool]string{true: "", false: " without a reservation"}[st.Reserved]).
					WithDetails(map[string]any{"claim_id": st.ID})
			case accounts[st.BeneficiaryID] == "":
				bad = append(bad, st.ID)
			}
		}
		if len(bad) > 0 {
			return apperr.New(apperr.ErrMissingPayoutAccount, "%d claim(s) have no payout account on record: %s", len(bad), strings.Join(bad, ", ")).
				WithDetails(map[string]any{"claim_ids": bad})
		}
		batch := batchRecord{ID: ids.New(now), PlanCode: in.Plan, Status: BatchIssued, Actor: who.Actor, CreatedAt: now.UnixMilli(), UpdatedAt: now.UnixMilli()}
		items := make([]itemRecord, len(states))
		moves := make([]ledger.Move, len(states))
		for i, st := range states {
			batch.Total += st.ReservedAmount
			items[i] = itemRecord{BatchID: batch.ID, ClaimID: st.ID, Amount: st.ReservedAmount,
				PayoutAccount: accounts[st.BeneficiaryID], Status: ItemInPayment, UpdatedAt: now.UnixMilli()}
			moves[i] = move(ledger.Disburse, st, st.ReservedAmount)
		}
		if err := tx.Create(&batch).Error; err != nil {
			return err
		}
		if err := tx.CreateInBatches(items, 500).Error; err != nil {
			return err
		}
		if _, _, err := ledger.Append(ctx, tx, in.Plan, who.Actor, now, moves...); err != nil {
			return err
		}
		for _, st := range states {
			st.Status = claims.Disbursed
			if err := claims.SaveState(ctx, tx, st, now); err != nil {
				return err
			}
		}
		if err := audit.Write(ctx, tx, now, who, "disbursement.create", batch.ID,
			fmt.Sprintf("%d claims, %s", len(items), money.String(money.FromFen(batch.Total)))); err != nil {
			return err
		}
		out = batchView(batch, items)
		return nil
	})
	if err != nil {
		s.auditRefusal(ctx, who, "disbursement.create", in.Plan, err)
	}
	return out, err
}

// loadBatch reads a batch and its items ordered by claim id.
func loadBatch(ctx context.Context, tx *gorm.DB, id string, lock bool) (batchRecord, []itemRecord, error) {
	var b batchRecord
	q := tx.WithContext(ctx).Where("id = ?", id)
	if lock {
		q = q.Clauses(lockUpdate)
	}
	err := q.Take(&b).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return b, nil, apperr.New(apperr.ErrNotFound, "no disbursement batch %s", id)
	}
	if err != nil {
		return b, nil, err
	}
	var items []itemRecord
	err = tx.WithContext(ctx).Where("batch_id = ?", id).Order("claim_id").Find(&items).Error
	return b, items, err
}

// Batch returns a batch.
func (s *Service) Batch(ctx context.Context, id string) (BatchView, error) {
	b, items, err := loadBatch(ctx, s.db.DB, id, false)
	if err != nil {
		return BatchView{}, db.Translate(err)
	}
	return batchView(b, items), nil
}

// Limits of a bank result's texts, in characters: their columns in
// disbursement_items, and docs/openapi.yaml's maxLength.
const (
	BankReferenceMax = 128
	ResultReasonMax  = 255
)

// Result is one bank result.
type Result struct {
	ClaimID       string `json:"claim_id"`
	Outcome       string `json:"outcome"`
	BankReference string `json:"bank_reference"`
	Reason        string `json:"reason"`
}

// ResultsInput is the body of POST /api/v1/disbursements/{id}/results.
type ResultsInput struct {
	Results []Result `json:"results"`
}

// RecordResults applies the bank's results, all or nothing. paid moves the
// claim's money in_payment → paid; failed moves it back to reserved and the
// claim back to approved (reservation kept) so it can go in a later batch.
// Reporting a result that is already recorded is a no-op; one that
// contradicts it is 409 invalid_state.
func (s *Service) RecordResults(ctx context.Context, who audit.Who, id string, in ResultsInput) (BatchView, error) {
	var f apperr.Fields
	if len(in.Results) == 0 {
		f.Add("results", "must list at least one result")
	}
	seen := map[string]bool{}
	for i, r := range in.Results {
		p := fmt.Sprintf("results[%d]", i)
		if seen[r.ClaimID] {
			f.Add(p+".claim_id", "listed twice")
		}
		seen[r.ClaimID] = true
		// A reference or reason of spaces only is missing (DESIGN §10); the
		// reference is compared when a result is reported again, so it must
		// also be exact. Each is bounded by its column (bank_reference 128,
		// reason 255 characters) whichever the outcome: the one the outcome
		// does not need is optional and not kept, but a client that sends it
		// gets the limit docs/openapi.yaml states, not a silent pass.
		switch r.Outcome {
		case ItemPaid:
			web.CheckRef(&f, p+".bank_reference", r.BankReference, BankReferenceMax)
			if r.Reason != "" {
				web.CheckText(&f, p+".reason", r.Reason, ResultReasonMax)
			}
		case ItemFailed:
			web.CheckText(&f, p+".reason", r.Reason, ResultReasonMax)
			if r.BankReference != "" {
				web.CheckRef(&f, p+".bank_reference", r.BankReference, BankReferenceMax)
			}
		default:
			f.Add(p+".outcome", "must be paid or failed")
		}
	}
	if err := f.Err(); err != nil {
		return BatchView{}, err
	}
	now := s.now()
	var out BatchView
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		b, items, err := loadBatch(ctx, tx, id, true)
		if err != nil {
			return err
		}
		byClaim := make(map[string]*itemRecord, len(items))
		for i := range items {
			byClaim[items[i].ClaimID] = &items[i]
		}
		var fe apperr.Fields
		for i, r := range in.Results {
			if byClaim[r.ClaimID] == nil {
				fe.Add(fmt.Sprintf("results[%d].claim_id", i), "claim is not in this batch")
			}
		}
		if err := fe.Err(); err != nil {
			return err
		}
		var (
			moves   []ledger.Move
			changed []*itemRecord
			states  = map[string]claims.State{}
		)
		for _, r := range in.Results {
			it := byClaim[r.ClaimID]
			if it.Status != ItemInPayment {
				same := it.Status == r.Outcome && (r.Outcome == ItemFailed || it.BankReference == r.BankReference)
				if !same {
					return apperr.New(apperr.ErrInvalidState, "claim %s is already recorded as %s in batch %s", r.ClaimID, it.Status, id).
						WithDetails(map[string]any{"claim_id": r.ClaimID})
				}
				continue // the same result again: nothing to do
			}
			locked, err := claims.LockStates(ctx, tx, []string{r.ClaimID})
			if err != nil {
				return err
			}
			st := locked[0]
			it.Status, it.UpdatedAt = r.Outcome, now.UnixMilli()
			if r.Outcome == ItemPaid {
				it.BankReference = r.BankReference
				moves = append(moves, move(ledger.Pay, st, it.Amount))
				st.Status = claims.Paid
			} else {
				it.Reason = r.Reason
				moves = append(moves, move(ledger.Fail, st, it.Amount))
				st.Status = claims.Approved
			}
			states[st.ID] = st
			changed = append(changed, it)
		}
		if len(changed) > 0 {
			if _, _, err := ledger.Append(ctx, tx, b.PlanCode, who.Actor, now, moves...); err != nil {
				return err
			}
			for _, it := range changed {
				if err := tx.Model(&itemRecord{}).Where("batch_id = ? AND claim_id = ?", id, it.ClaimID).Updates(map[string]any{
					"status": it.Status, "bank_reference": it.BankReference, "reason": it.Reason, "updated_at": it.UpdatedAt,
				}).Error; err != nil {
					return err
				}
				if err := claims.SaveState(ctx, tx, states[it.ClaimID], now); err != nil {
					return err
				}
			}
			b.Status, b.UpdatedAt = batchStatus(items), now.UnixMilli()
			if err := tx.Model(&batchRecord{}).Where("id = ?", id).Updates(map[string]any{"status": b.Status, "updated_at": b.UpdatedAt}).Error; err != nil {
				return err
			}
		}
		if err := audit.Write(ctx, tx, now, who, "disbursement.results", id, fmt.Sprintf("%d recorded, %d repeated", len(changed), len(in.Results)-len(changed))); err != nil {
			return err
		}
		out = batchView(b, items)
		return nil
	})
	if err != nil {
		s.auditRefusal(ctx, who, "disbursement.results", id, err)
	}
	return out, err
}

func batchStatus(items []itemRecord) string {
	failed := false
	for _, it := range items {
		switch it.Status {
		case ItemInPayment:
			return BatchIssued
		case ItemFailed:
			failed = true
		}
	}
	if failed {
		return BatchPartiallyFailed
	}
	return BatchCompleted
}

// BankFile is a batch's bank file: the CSV the bank pays from.
type BankFile struct {
	BatchID string
	CSV     []byte
}

// BankFile renders a batch's bank file — full account numbers, so the
// caller must be finance — and audits the download in the same transaction
// that reads the batch, so every file handed out is on record.
func (s *Service) BankFile(ctx context.Context, who audit.Who, id string) (BankFile, error) {
	var (
		b     batchRecord
		items []itemRecord
	)
	now := s.now()
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if b, items, err = loadBatch(ctx, tx, id, false); err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "disbursement.bank_file", b.ID, fmt.Sprintf("%d rows", len(items)))
	})
	if err != nil {
		return BankFile{}, err
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff")
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	_ = w.Write([]string{"batch_id", "plan", "claim_id", "payout_account", "amount", "status"})
	for _, it := range items {
		_ = w.Write([]string{b.ID, b.PlanCode, it.ClaimID, it.PayoutAccount, money.String(money.FromFen(it.Amount)), it.Status})
	}
	w.Flush()
	return BankFile{BatchID: b.ID, CSV: buf.Bytes()}, w.Error()
}

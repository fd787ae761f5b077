package payouts

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/db"
	"huimin/internal/ids"
	"huimin/internal/money"
	"huimin/internal/web"
	"huimin/internal/webhooks"
	"huimin/ledger"
	"huimin/policies"
)

// Batch statuses. A batch is made in short transactions (see Disburse):
// preparing while its claims are set aside for it (no money has moved),
// issuing once every claim is set aside, while the money moves reserved →
// in_payment chunk by chunk; then issued while any item awaits the bank's
// result, completed when every item was paid, partially_failed when any
// failed. Only an issued (or later) batch has a bank file and takes results.
const (
	BatchPreparing       = "preparing"
	BatchIssuing         = "issuing"
	BatchIssued          = "issued"
	BatchCompleted       = "completed"
	BatchPartiallyFailed = "partially_failed"
)

// Item statuses: pending while the claim is set aside for the batch with
// its money still reserved (a preparing or issuing batch), then in_payment,
// then paid or failed.
const (
	ItemPending   = "pending"
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
//
// A batch of thousands of claims is not one transaction: on a Galera
// cluster a long transaction that writes a plan's budget row is aborted by
// every approval certified on another node meanwhile, and on one node it
// would hold the row from every approval for its whole length. It is made
// in short transactions, each committing quickly:
//
//  1. check: every claim is read and checked, with every refusal of the
//     whole batch, before anything is written;
//  2. the batch row is created, preparing;
//  3. hold: chunk by chunk the claims are set aside (disbursed, an item
//     pending each) — no money moves yet, so a claim that changed since the
//     check (revoked meanwhile) cancels the batch cleanly: the held claims
//     go back to approved and the batch is deleted, and the answer is the
//     refusal the check would have given;
//  4. the batch becomes issuing (audited as disbursement.create): from here
//     nothing can refuse it;
//  5. move: chunk by chunk, pending items become in_payment with their
//     disburse entries, the budget row locked last and briefly; the last
//     chunk makes the batch issued. A chunk that fails (conflicts beyond
//     Tx's retries, the database away) is tried again, for up to
//     issuePatience.
//
// Each chunk writes the batch row, so two workers on one batch (the request
// and ResumeDisbursements) conflict rather than interleave. The state
// between chunks is consistent and `huimin check` accepts it: a held
// claim's money is still reserved, and its item says pending. A batch left
// preparing or issuing by a crash is finished by ResumeDisbursements:
// cancelled when preparing, completed when issuing — never a half-batch
// shown as issued.
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
	// Batches a crashed worker left behind are finished first, so that
	// their claims are where they belong before these are checked.
	_, _ = s.ResumeDisbursements(ctx)

	batch, claimIDs, amounts, err := s.prepare(ctx, who, in, unknown)
	if err != nil {
		s.auditRefusal(ctx, who, "disbursement.create", in.Plan, err)
		return BatchView{}, err
	}
	if afterDisburseCheck != nil {
		afterDisburseCheck()
	}
	// 3. Hold.
	for lo := 0; lo < len(claimIDs); lo += holdChunk {
		if err := s.hold(ctx, batch.ID, in.Plan, claimIDs[lo:min(lo+holdChunk, len(claimIDs))], amounts); err != nil {
			// Nothing has moved: give the claims back. When that fails too
			// (the database away), ResumeDisbursements does it later.
			_ = s.cancel(context.WithoutCancel(ctx), batch.ID, nil)
			s.auditRefusal(ctx, who, "disbursement.create", in.Plan, err)
			return BatchView{}, err
		}
	}
	// 4. Issuing.
	if err := s.startIssuing(ctx, who, batch, len(claimIDs)); err != nil {
		_ = s.cancel(context.WithoutCancel(ctx), batch.ID, nil)
		return BatchView{}, err
	}
	// 5. Move. The batch is committed to: a client that gives up waiting
	// does not stop it.
	if err := s.issue(ctx, batch.ID); err != nil {
		return BatchView{}, apperr.New(apperr.ErrUnavailable, "disbursement batch %s is being issued and will complete by itself (GET /api/v1/disbursements/%s): %v",
			batch.ID, batch.ID, err).WithDetails(map[string]any{"batch_id": batch.ID})
	}
	return s.Batch(ctx, batch.ID)
}

// afterDisburseCheck, when set (by a test), runs between a disbursement's
// check and its first hold, where a concurrent revoke may land.
var afterDisburseCheck func()

// prepare is a disbursement's steps 1 and 2: it checks the claims, with
// every refusal of the whole batch, before anything is written, then
// creates the batch row, preparing. It returns the batch, its claim ids in
// order and the reservations the check saw. unknown is a refusal found
// before any query (a malformed id), answered once the plan is known.
func (s *Service) prepare(ctx context.Context, who audit.Who, in DisburseInput, unknown error) (batchRecord, []string, map[string]int64, error) {
	now := s.now()
	claimIDs := slices.Sorted(slices.Values(in.ClaimIDs))
	batch := batchRecord{ID: ids.New(now), PlanCode: in.Plan, Status: BatchPreparing, Actor: who.Actor, CreatedAt: now.UnixMilli(), UpdatedAt: now.UnixMilli()}
	amounts := make(map[string]int64, len(claimIDs))
	// 1. Check: every refusal of the whole batch is here, before any write.
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if unknown != nil {
			return unknown
		}
		if _, err := policies.LoadPlan(ctx, tx, in.Plan, false); err != nil {
			return err
		}
		states, err := claims.LockStates(ctx, tx, claimIDs)
		if err != nil {
			return err
		}
		if _, err := disbursable(ctx, tx, in.Plan, states); err != nil {
			return err
		}
		if err := s.checkPublished(ctx, tx, in.Plan, states, now); err != nil { // 公示 and objections (notice.go)
			return err
		}
		batch.Total = 0
		for _, st := range states {
			amounts[st.ID] = st.ReservedAmount
			batch.Total += st.ReservedAmount
		}
		return nil
	})
	if err != nil {
		return batch, nil, nil, err
	}
	// 2. The batch row.
	err = s.db.Tx(ctx, func(tx *gorm.DB) error { return tx.Create(&batch).Error })
	return batch, claimIDs, amounts, err
}

// startIssuing is step 4: once every claim is held, the batch becomes
// issuing and is audited as created; from here nothing can refuse it.
func (s *Service) startIssuing(ctx context.Context, who audit.Who, batch batchRecord, claimCount int) error {
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		b, err := lockBatch(ctx, tx, batch.ID)
		if err != nil {
			return err
		}
		if b.Status != BatchPreparing {
			return errInterrupted(batch.ID)
		}
		now := s.now()
		if err := touchBatch(ctx, tx, b, BatchIssuing, now); err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "disbursement.create", batch.ID,
			fmt.Sprintf("%d claims, %s", claimCount, money.String(money.FromFen(batch.Total))))
	})
}

// Chunk sizes of a disbursement: claims set aside per transaction, and
// claims whose money moves per transaction — fewer, since that transaction
// writes the plan's budget row, the hot row that approvals on every node
// write too. Variables, so that a test can make many chunks of few claims.
var (
	holdChunk = 500
	moveChunk = 200
)

// issuePatience bounds how long a request (or ResumeDisbursements) keeps
// trying the move chunks of a batch through conflicts and outages before
// it leaves the rest to a later ResumeDisbursements.
var issuePatience = 2 * time.Minute

// staleAfter is how long a preparing or issuing batch's row may go unchanged
// (each chunk changes it) before ResumeDisbursements takes it to be
// abandoned by a crashed worker.
const staleAfter = 30 * time.Second

// disbursable refuses claims that cannot go to the bank in a batch of plan:
// of another plan, not approved with a reservation (409 invalid_state,
// naming the claim), or without a payout account (409
// missing_payout_account, naming them all). It returns the payout
// account of each claim's beneficiary.
func disbursable(ctx context.Context, tx *gorm.DB, plan string, states []claims.State) (map[string]string, error) {
	people := make([]string, len(states))
	for i, st := range states {
		people[i] = st.BeneficiaryID
	}
	accounts, err := policies.PayoutAccounts(ctx, tx, people)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, st := range states {
		switch {
		case st.Plan != plan:
			return nil, apperr.New(apperr.ErrInvalidState, "claim %s belongs to plan %s, not %s", st.ID, st.Plan, plan).
				WithDetails(map[string]any{"claim_id": st.ID})
		case st.Status != claims.Approved || !st.Reserved || st.ReservedAmount == 0:
			return nil, apperr.New(apperr.ErrInvalidState, "claim %s is %s%s; only approved claims with a reservation can be disbursed",
				st.ID, st.Status, map[bool]string{true: "", false: " without a reservation"}[st.Reserved]).
				WithDetails(map[string]any{"claim_id": st.ID})
		case accounts[st.BeneficiaryID] == "":
			bad = append(bad, st.ID)
		}
	}
	if len(bad) > 0 {
		return nil, apperr.New(apperr.ErrMissingPayoutAccount, "%d claim(s) have no payout account on record: %s", len(bad), strings.Join(bad, ", ")).
			WithDetails(map[string]any{"claim_ids": bad})
	}
	return accounts, nil
}

// hold sets a chunk of a preparing batch's claims aside, in one
// transaction: each is checked again (it may have changed since the
// batch's check) and becomes disbursed, with an item pending and its money
// still reserved. amounts are the reservations the check saw.
func (s *Service) hold(ctx context.Context, batchID, plan string, chunk []string, amounts map[string]int64) error {
	now := s.now()
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		b, err := lockBatch(ctx, tx, batchID)
		if err != nil {
			return err
		}
		if b.Status != BatchPreparing {
			return errInterrupted(batchID)
		}
		states, err := claims.LockStates(ctx, tx, chunk)
		if err != nil {
			return err
		}
		accounts, err := disbursable(ctx, tx, plan, states)
		if err != nil {
			return err
		}
		// Again under the hold's locks: an objection recorded since the
		// check stops the payment (notice.go).
		if err := s.checkPublished(ctx, tx, plan, states, now); err != nil {
			return err
		}
		items := make([]itemRecord, len(states))
		for i, st := range states {
			if st.ReservedAmount != amounts[st.ID] {
				return apperr.New(apperr.ErrInvalidState, "claim %s changed while the batch was prepared; send the batch again", st.ID).
					WithDetails(map[string]any{"claim_id": st.ID})
			}
			items[i] = itemRecord{BatchID: batchID, ClaimID: st.ID, Amount: st.ReservedAmount,
				PayoutAccount: accounts[st.BeneficiaryID], Status: ItemPending, UpdatedAt: now.UnixMilli()}
		}
		if err := tx.CreateInBatches(items, 500).Error; err != nil {
			return err
		}
		n, err := claims.MoveStatus(ctx, tx, chunk, claims.Approved, claims.Disbursed, now)
		if err != nil {
			return err
		}
		if n != int64(len(chunk)) {
			return fmt.Errorf("hold batch %s: %d of %d claims set aside", batchID, n, len(chunk))
		}
		return touchBatch(ctx, tx, b, "", now)
	})
}

// issue moves an issuing batch's money chunk by chunk until the batch is
// issued. It keeps going when the caller's context ends (the batch is
// committed to), and tries a failed chunk again with a growing pause, for
// up to issuePatience. A chunk that keeps conflicting (approvals on other
// nodes writing the budget row meanwhile) is halved for the next try, down
// to minMoveChunk, since a smaller chunk holds the row for less time; after
// a success it grows back.
func (s *Service) issue(ctx context.Context, batchID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), issuePatience)
	defer cancel()
	size := moveChunk
	for failures := 0; ; {
		done, err := s.move(ctx, batchID, size)
		switch {
		case err == nil && done:
			return nil
		case err == nil:
			failures, size = 0, min(2*size, moveChunk)
			continue
		case apperr.KindOf(err) != apperr.ErrUnavailable:
			return err
		}
		failures++
		size = max(size/2, min(minMoveChunk, moveChunk))
		if !sleep(ctx, min(time.Duration(failures)*50*time.Millisecond, 2*time.Second)) {
			return err
		}
	}
}

// minMoveChunk is the smallest chunk issue shrinks a conflicting one to.
const minMoveChunk = 10

// move moves the money of up to size of an issuing batch's pending items,
// in one transaction, and reports whether the batch is now issued. The
// budget row is locked last (ledger.Append), so that the plan's approvals
// wait for it, or conflict with it, as briefly as can be.
func (s *Service) move(ctx context.Context, batchID string, size int) (done bool, err error) {
	now := s.now()
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		done = false
		b, err := lockBatch(ctx, tx, batchID)
		if err != nil {
			return err
		}
		switch b.Status {
		case BatchIssuing:
		case BatchPreparing:
			return errInterrupted(batchID)
		default:
			done = true // another worker issued it
			return nil
		}
		var items []itemRecord
		if err := tx.WithContext(ctx).Where("batch_id = ? AND status = ?", batchID, ItemPending).Order("claim_id").
			Limit(size + 1).Find(&items).Error; err != nil {
			return err
		}
		last := len(items) <= size
		items = items[:min(len(items), size)]
		status := ""
		if last {
			status = BatchIssued
		}
		if err := touchBatch(ctx, tx, b, status, now); err != nil {
			return err
		}
		if len(items) > 0 {
			chunk := make([]string, len(items))
			for i, it := range items {
				chunk[i] = it.ClaimID
			}
			states, err := claims.LockStates(ctx, tx, chunk)
			if err != nil {
				return err
			}
			if err := tx.WithContext(ctx).Model(&itemRecord{}).Where("batch_id = ? AND claim_id IN ?", batchID, chunk).
				Updates(map[string]any{"status": ItemInPayment, "updated_at": now.UnixMilli()}).Error; err != nil {
				return err
			}
			// Items and states are both in claim id order.
			moves := make([]ledger.Move, len(items))
			for i, st := range states {
				moves[i] = move(ledger.Disburse, st, items[i].Amount)
			}
			if _, _, err := ledger.Append(ctx, tx, b.PlanCode, b.Actor, now, moves...); err != nil {
				return err
			}
		}
		done = last
		return nil
	})
	return done, err
}

// cancel gives a preparing batch's claims back (approved, reservation
// kept) chunk by chunk and deletes the batch; no money had moved. A batch
// that is no longer preparing is left alone. by is set when the batch was
// abandoned (ResumeDisbursements), to audit the cancellation; a request
// that cancels its own batch audits its refusal instead.
func (s *Service) cancel(ctx context.Context, batchID string, by *audit.Who) error {
	for {
		now := s.now()
		finished := false
		err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			finished = false
			b, err := lockBatch(ctx, tx, batchID)
			if apperr.KindOf(err) == apperr.ErrNotFound {
				finished = true
				return nil
			}
			if err != nil {
				return err
			}
			if b.Status != BatchPreparing {
				finished = true
				return nil
			}
			var items []itemRecord
			if err := tx.WithContext(ctx).Where("batch_id = ?", batchID).Order("claim_id").Limit(holdChunk).Find(&items).Error; err != nil {
				return err
			}
			if len(items) == 0 {
				finished = true
				if err := tx.WithContext(ctx).Where("id = ?", batchID).Delete(&batchRecord{}).Error; err != nil {
					return err
				}
				if by == nil {
					return nil
				}
				return audit.Write(ctx, tx, now, *by, "disbursement.cancel", batchID, "cancelled: abandoned while its claims were set aside; no money had moved")
			}
			chunk := make([]string, len(items))
			for i, it := range items {
				chunk[i] = it.ClaimID
			}
			if _, err := claims.LockStates(ctx, tx, chunk); err != nil {
				return err
			}
			n, err := claims.MoveStatus(ctx, tx, chunk, claims.Disbursed, claims.Approved, now)
			if err != nil {
				return err
			}
			if n != int64(len(chunk)) {
				return fmt.Errorf("cancel batch %s: %d of its %d claims were disbursed", batchID, n, len(chunk))
			}
			if err := tx.WithContext(ctx).Where("batch_id = ? AND claim_id IN ?", batchID, chunk).Delete(&itemRecord{}).Error; err != nil {
				return err
			}
			return touchBatch(ctx, tx, b, "", now)
		})
		if err != nil || finished {
			return err
		}
	}
}

// ResumeDisbursements finishes the batches that a crashed worker left
// behind — preparing or issuing, their rows unchanged for staleAfter:
// a preparing one is cancelled (its claims go back to approved; no money
// had moved), an issuing one is completed. It returns how many it finished.
// Disburse calls it first, and `huimin serve` every 30 s
// (ResumeDisbursementsEvery), so a batch is finished within a minute of a
// crash of its server once any server runs.
func (s *Service) ResumeDisbursements(ctx context.Context) (int, error) {
	var stale []batchRecord
	if err := s.db.DB.WithContext(ctx).Where("status IN ? AND updated_at < ?", []string{BatchPreparing, BatchIssuing},
		s.now().Add(-staleAfter).UnixMilli()).Order("id").Find(&stale).Error; err != nil {
		return 0, db.Translate(err)
	}
	system := audit.Who{Actor: "system", Role: "finance"}
	n := 0
	for _, b := range stale {
		var err error
		if b.Status == BatchPreparing {
			err = s.cancel(ctx, b.ID, &system)
		} else {
			err = s.issue(ctx, b.ID)
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ResumeDisbursementsEvery runs ResumeDisbursements now and then every
// interval until ctx ends, reporting what it did (or failed to do) to
// report.
func (s *Service) ResumeDisbursementsEvery(ctx context.Context, interval time.Duration, report func(n int, err error)) {
	for {
		if n, err := s.ResumeDisbursements(ctx); (n > 0 || err != nil) && ctx.Err() == nil && report != nil {
			report(n, err)
		}
		if !sleep(ctx, interval) {
			return
		}
	}
}

// lockBatch reads a batch row FOR UPDATE.
func lockBatch(ctx context.Context, tx *gorm.DB, id string) (batchRecord, error) {
	var b batchRecord
	err := tx.WithContext(ctx).Clauses(lockUpdate).Where("id = ?", id).Take(&b).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return b, apperr.New(apperr.ErrNotFound, "no disbursement batch %s", id)
	}
	return b, err
}

// touchBatch writes a batch row in a chunk's transaction: its status when
// status is set, and always its updated_at, bumped so that the row really
// changes (db.Bump). Every chunk writing the row is what makes two workers
// on one batch, on two Galera nodes, conflict at certification instead of
// both committing.
func touchBatch(ctx context.Context, tx *gorm.DB, b batchRecord, status string, now time.Time) error {
	set := map[string]any{"updated_at": db.Bump("updated_at", now.UnixMilli())}
	if status != "" {
		set["status"] = status
	}
	return tx.WithContext(ctx).Model(&batchRecord{}).Where("id = ?", b.ID).Updates(set).Error
}

// errInterrupted is the answer of a worker whose batch another worker
// cancelled (taking it to be abandoned): nothing it did remains, and the
// batch may be sent again.
func errInterrupted(id string) error {
	return apperr.New(apperr.ErrUnavailable, "disbursement batch %s was interrupted and cancelled; no money moved; send it again", id)
}

// issuedOrLater refuses what only a batch whose money has moved may do
// (its bank file, its results): 409 invalid_state while it is preparing or
// issuing.
func issuedOrLater(b batchRecord) error {
	if b.Status == BatchPreparing || b.Status == BatchIssuing {
		return apperr.New(apperr.ErrInvalidState, "disbursement batch %s is still %s; its bank file and results come once it is issued", b.ID, b.Status)
	}
	return nil
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
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
	var paid, failed int // items whose result this call recorded
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		b, items, err := loadBatch(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := issuedOrLater(b); err != nil {
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
				typ, claimID := webhooks.ClaimPaid, it.ClaimID
				if it.Status == ItemFailed {
					typ = webhooks.ClaimPaymentFailed
				}
				if err := s.Webhooks.Enqueue(ctx, tx, webhooks.Event{Type: typ, Org: states[claimID].Org, ClaimID: claimID, At: now,
					Claim: func() (any, error) { return claims.Read(ctx, tx, claimID) }}); err != nil {
					return err
				}
			}
			// The batch row is written even when its status stays issued:
			// two reports for different items of one batch, on two Galera
			// nodes, must conflict, or each would compute the status without
			// the other's items.
			b.Status, b.UpdatedAt = batchStatus(items), db.Bumped(b.UpdatedAt, now.UnixMilli())
			if err := touchBatch(ctx, tx, b, b.Status, now); err != nil {
				return err
			}
		}
		if err := audit.Write(ctx, tx, now, who, "disbursement.results", id, fmt.Sprintf("%d recorded, %d repeated", len(changed), len(in.Results)-len(changed))); err != nil {
			return err
		}
		out = batchView(b, items)
		paid, failed = 0, 0
		for _, it := range changed {
			if it.Status == ItemPaid {
				paid++
			} else {
				failed++
			}
		}
		return nil
	})
	if err != nil {
		s.auditRefusal(ctx, who, "disbursement.results", id, err)
	} else {
		s.count(out.Plan, "paid", paid)
		s.count(out.Plan, "payment_failed", failed)
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
		if err := issuedOrLater(b); err != nil {
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

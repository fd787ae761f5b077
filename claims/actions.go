package claims

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"huimin/internal/apperr"
)

// State is what payouts reads and changes of a claim, under a row lock, in
// the transaction that also writes the ledger entry and audit record.
type State struct {
	ID             string
	Plan           string
	Programme      string
	Org            string
	BeneficiaryID  string
	CountyCode     string
	Status         string
	Payable        int64 // fen
	Reserved       bool
	ReservedAmount int64 // fen
}

func stateOf(r record) State {
	return State{
		ID: r.ID, Plan: r.PlanCode, Programme: r.Programme, Org: r.Org, BeneficiaryID: r.BeneficiaryID,
		CountyCode: r.CountyCode, Status: r.Status, Payable: r.Payable, Reserved: r.Reserved, ReservedAmount: r.ReservedAmount,
	}
}

// LockStates locks claims FOR UPDATE in id order (a fixed order, so two
// transactions never deadlock on each other) and returns them in that order.
// A missing id is ErrNotFound.
func LockStates(ctx context.Context, tx *gorm.DB, ids []string) ([]State, error) {
	var recs []record
	if err := tx.WithContext(ctx).Clauses(lockingUpdate).Where("id IN ?", ids).Order("id").Find(&recs).Error; err != nil {
		return nil, err
	}
	found := make(map[string]bool, len(recs))
	out := make([]State, len(recs))
	for i, r := range recs {
		out[i] = stateOf(r)
		found[r.ID] = true
	}
	for _, id := range ids {
		if !found[id] {
			return nil, apperr.New(apperr.ErrNotFound, "no claim %s", id)
		}
	}
	return out, nil
}

// LockState locks one claim FOR UPDATE.
func LockState(ctx context.Context, tx *gorm.DB, id string) (State, error) {
	var rec record
	err := tx.WithContext(ctx).Clauses(lockingUpdate).Where("id = ?", id).Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return State{}, apperr.New(apperr.ErrNotFound, "no claim %s", id)
	}
	return stateOf(rec), err
}

// SaveState writes a claim's status and reservation; whether it still counts
// toward accumulation and caps follows from the status.
func SaveState(ctx context.Context, tx *gorm.DB, st State, now time.Time) error {
	return tx.WithContext(ctx).Model(&record{}).Where("id = ?", st.ID).Updates(map[string]any{
		"status": st.Status, "reserved": st.Reserved, "reserved_amount": st.ReservedAmount,
		"counted": counts(st.Status, nil), "updated_at": now.UnixMilli(),
	}).Error
}

// Approvals returns who approved a claim so far, oldest first.
func Approvals(ctx context.Context, tx *gorm.DB, id string) ([]Approval, error) {
	m, err := loadApprovals(ctx, tx, []string{id})
	return m[id], err
}

// AddApproval records actor's approval of a claim. The primary key
// (claim_id, actor) makes a second approval by the same actor impossible.
func AddApproval(ctx context.Context, tx *gorm.DB, id, actor string, now time.Time) error {
	return tx.WithContext(ctx).Table("claim_approvals").Create(map[string]any{"claim_id": id, "actor": actor, "at": now.UnixMilli()}).Error
}

// Read returns a claim's answer as of tx.
func Read(ctx context.Context, tx *gorm.DB, id string) (View, error) {
	var rec record
	err := tx.WithContext(ctx).Where("id = ?", id).Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return View{}, apperr.New(apperr.ErrNotFound, "no claim %s", id)
	}
	if err != nil {
		return View{}, err
	}
	approvals, err := loadApprovals(ctx, tx, []string{id})
	if err != nil {
		return View{}, err
	}
	return rec.view(approvals[id]), nil
}

// PayoutAccounts returns the payout account of each beneficiary ("" when
// none is on record).
func PayoutAccounts(ctx context.Context, tx *gorm.DB, idNumbers []string) (map[string]string, error) {
	var rows []struct{ IDNumber, PayoutAccount string }
	if err := tx.WithContext(ctx).Table("beneficiaries").Select("id_number, payout_account").
		Where("id_number IN ?", idNumbers).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.IDNumber] = r.PayoutAccount
	}
	return out, nil
}

// Locked is a claim locked FOR UPDATE for a transition, with its whole row,
// so that the answer can be rendered without reading the claim again.
type Locked struct {
	State
	rec record
}

// Lock locks one claim FOR UPDATE and keeps its row.
func Lock(ctx context.Context, tx *gorm.DB, id string) (*Locked, error) {
	var rec record
	err := tx.WithContext(ctx).Clauses(lockingUpdate).Where("id = ?", id).Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, apperr.New(apperr.ErrNotFound, "no claim %s", id)
	}
	if err != nil {
		return nil, err
	}
	return &Locked{State: stateOf(rec), rec: rec}, nil
}

// View renders the claim as changed in l.State, with these approvals.
func (l *Locked) View(approvals []Approval, now time.Time) View {
	r := l.rec
	r.Status, r.Reserved, r.ReservedAmount = l.Status, l.Reserved, l.ReservedAmount
	if l.Status != l.rec.Status || l.ReservedAmount != l.rec.ReservedAmount {
		r.UpdatedAt = now.UnixMilli()
	}
	return r.view(approvals)
}

// LockMany locks claims FOR UPDATE in id order and returns those found.
func LockMany(ctx context.Context, tx *gorm.DB, ids []string) (map[string]*Locked, error) {
	var recs []record
	if err := tx.WithContext(ctx).Clauses(lockingUpdate).Where("id IN ?", ids).Order("id").Find(&recs).Error; err != nil {
		return nil, err
	}
	out := make(map[string]*Locked, len(recs))
	for _, r := range recs {
		out[r.ID] = &Locked{State: stateOf(r), rec: r}
	}
	return out, nil
}

// ApprovalsOf returns the approvals of several claims, oldest first.
func ApprovalsOf(ctx context.Context, tx *gorm.DB, ids []string) (map[string][]Approval, error) {
	return loadApprovals(ctx, tx, ids)
}

// ApprovalRow is one approval to insert.
type ApprovalRow struct {
	ClaimID string
	Actor   string
	At      int64
}

// TableName is the approvals table.
func (ApprovalRow) TableName() string { return "claim_approvals" }

// MarkApproved sets claims to approved in one statement: with their whole
// payable reserved (first_come) or unreserved (pro_rata, until settlement).
func MarkApproved(ctx context.Context, tx *gorm.DB, ids []string, reserve bool, now time.Time) error {
	set := map[string]any{"status": Approved, "counted": true, "updated_at": now.UnixMilli()}
	if reserve {
		set["reserved"] = true
		set["reserved_amount"] = gorm.Expr("payable")
	}
	return tx.WithContext(ctx).Model(&record{}).Where("id IN ? AND status = ?", ids, Assessed).Updates(set).Error
}

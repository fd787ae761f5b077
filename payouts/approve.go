// Package payouts moves approved money: approvals against each plan's
// budget, pro-rata settlements, disbursement batches and bank results, and
// the auditor's view of it all — the hash-chained ledger, its exports and
// verification, the invariant check and the audit log (DESIGN §7–§8).
package payouts

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/db"
	"huimin/internal/groupcommit"
	"huimin/internal/money"
	"huimin/internal/web"
	"huimin/internal/webhooks"
	"huimin/ledger"
	"huimin/policies"
)

// Service holds the payout workflows.
type Service struct {
	db    *db.DB
	now   func() time.Time
	terms sync.Map // plan code → terms

	approvals *groupcommit.Committer[approveReq, claims.View]

	// Webhooks receives claim.approved, claim.declined, claim.paid and
	// claim.payment_failed in the transaction of each change (an outbox);
	// nil sends nothing.
	Webhooks *webhooks.Service

	transitions *claims.Transitions // nil until UseTransitions
}

// New returns the payouts service.
func New(d *db.DB, now func() time.Time) *Service {
	s := &Service{db: d, now: now}
	s.approvals = groupcommit.New(groupcommit.Config{Workers: 4, MaxGroup: 128, Timeout: 30 * time.Second},
		s.approveGroup, s.approveAlone)
	return s
}

// Close stops the approval workers.
func (s *Service) Close() { s.approvals.Close() }

// terms are the parts of a plan that approval needs. They are fixed when the
// plan is created (no endpoint changes them), so they are cached.
type terms struct {
	policy        string
	dualThreshold int64 // fen
}

func (s *Service) termsOf(ctx context.Context, tx *gorm.DB, plan string) (terms, error) {
	if t, ok := s.terms.Load(plan); ok {
		return t.(terms), nil
	}
	p, err := policies.LoadPlan(ctx, tx, plan, false)
	if err != nil {
		return terms{}, err
	}
	t := terms{policy: p.BudgetPolicy, dualThreshold: money.ToFen(p.DualApprovalThreshold)}
	s.terms.Store(plan, t)
	return t, nil
}

// ReasonInput is the body of decline and revoke.
type ReasonInput struct {
	Reason string `json:"reason"`
}

// ReasonMax is the longest decline or revoke reason, in characters, as
// docs/openapi.yaml states it. The reason is kept only in the audit record,
// as a summary (its first characters).
const ReasonMax = 500

// check counts every character of the reason, surrounding spaces included,
// as docs/openapi.yaml's maxLength does; a reason of spaces only is missing.
func (in ReasonInput) check() error {
	var f apperr.Fields
	web.CheckText(&f, "reason", in.Reason, ReasonMax)
	return f.Err()
}

// Decline refuses an assessed claim. It no longer counts toward caps.
func (s *Service) Decline(ctx context.Context, who audit.Who, id string, in ReasonInput) (claims.View, error) {
	if err := in.check(); err != nil {
		return claims.View{}, err
	}
	return s.finish(ctx, who, id, "claim.decline", in.Reason, func(tx *gorm.DB, st *claims.State, now time.Time) error {
		if st.Status != claims.Assessed {
			return invalidState(*st, "declined")
		}
		st.Status = claims.Declined
		return nil
	})
}

// Revoke withdraws an approval: the claim is declined and its reservation,
// if any, goes back to the available budget.
func (s *Service) Revoke(ctx context.Context, who audit.Who, id string, in ReasonInput) (claims.View, error) {
	if err := in.check(); err != nil {
		return claims.View{}, err
	}
	return s.finish(ctx, who, id, "claim.revoke", in.Reason, func(tx *gorm.DB, st *claims.State, now time.Time) error {
		return revokeApproved(tx, who.Actor, st, now)
	})
}

// revokeApproved is the revocation of an approved claim, for Revoke and for
// an upheld objection (notice.go) alike: the claim becomes declined and its
// reservation, if any, goes back to the available budget with a release
// ledger entry, in tx. The caller saves st.
func revokeApproved(tx *gorm.DB, actor string, st *claims.State, now time.Time) error {
	if st.Status != claims.Approved {
		return invalidState(*st, "revoked")
	}
	if st.Reserved && st.ReservedAmount > 0 {
		if _, _, err := ledger.Append(tx.Statement.Context, tx, st.Plan, actor, now, move(ledger.Release, *st, st.ReservedAmount)); err != nil {
			return err
		}
	}
	st.Status, st.Reserved, st.ReservedAmount = claims.Declined, false, 0
	return nil
}

// finish runs a one-claim transition: lock, change, save, audit, read back.
func (s *Service) finish(ctx context.Context, who audit.Who, id, action, note string, change func(tx *gorm.DB, st *claims.State, now time.Time) error) (claims.View, error) {
	now := s.now()
	var view claims.View
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		locked, err := claims.LockStates(ctx, tx, []string{id})
		if err != nil {
			return err
		}
		st := locked[0]
		if err := change(tx, &st, now); err != nil {
			return err
		}
		if err := claims.SaveState(ctx, tx, st, now); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, now, who, action, id, st.Status+": "+truncate(note, 40)); err != nil {
			return err
		}
		if view, err = claims.Read(ctx, tx, id); err != nil {
			return err
		}
		if st.Status != claims.Declined {
			return nil
		}
		return s.Webhooks.Enqueue(ctx, tx, webhooks.Event{Type: webhooks.ClaimDeclined, Org: st.Org, ClaimID: id, At: now, Claim: view})
	})
	if err != nil {
		s.auditRefusal(ctx, who, action, id, err)
	} else {
		s.count(view.Plan, strings.TrimPrefix(action, "claim.")+"d", 1) // declined, revoked
	}
	return view, err
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func invalidState(st claims.State, to string) error {
	return apperr.New(apperr.ErrInvalidState, "claim %s is %s and cannot be %s", st.ID, st.Status, to)
}

func move(kind string, st claims.State, amount int64) ledger.Move {
	return ledger.Move{Kind: kind, Amount: amount, ClaimID: st.ID, BeneficiaryID: st.BeneficiaryID, CountyCode: st.CountyCode}
}

// auditRefusal records a refused action (a 4xx of a known kind) in its own
// transaction, since the action's own transaction rolled back: auditors see
// attempts as well as changes.
func (s *Service) auditRefusal(ctx context.Context, who audit.Who, action, target string, err error) {
	k := apperr.KindOf(err)
	if k.Status >= 500 || k == apperr.ErrValidation || k == apperr.ErrNotFound {
		return
	}
	_ = s.db.Tx(ctx, func(tx *gorm.DB) error {
		return audit.Write(ctx, tx, s.now(), who, action, target, "refused: "+k.Code)
	})
}

// Settlement is the answer of POST /api/v1/plans/{code}/settlements.
type Settlement struct {
	Plan          string       `json:"plan"`
	Index         int          `json:"index"`
	Claims        int          `json:"claims"`
	TotalPayable  money.Amount `json:"total_payable"`
	TotalReserved money.Amount `json:"total_reserved"`
}

// Settle shares a pro_rata plan's available budget among its approved,
// unreserved claims: each gets floor_fen(payable × min(1, available / Σ
// payable)), so the total never exceeds what is available.
func (s *Service) Settle(ctx context.Context, who audit.Who, code string) (Settlement, error) {
	return s.settleWith(ctx, who, code, nil)
}

// settleWith is Settle. When expect is not nil, it is called in the
// transaction with the basis as locked, before anything is written, and
// an error from it refuses the settlement (SettlePreviewed).
func (s *Service) settleWith(ctx context.Context, who audit.Who, code string, expect func(settleBasis) error) (Settlement, error) {
	now := s.now()
	var out Settlement
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		basis, err := loadSettleBasis(ctx, tx, code, true)
		if err != nil {
			return err
		}
		if expect != nil {
			if err := expect(basis); err != nil {
				return err
			}
		}
		states := basis.states
		shares, total, reserved := basis.shares()
		moves := make([]ledger.Move, 0, len(states))
		for i := range states {
			st := &states[i]
			if shares[i] == 0 {
				// Nothing to share out (available is 0, or the share rounds
				// down to 0.00): the claim stays unreserved, so the next
				// settlement after a top-up includes it.
				continue
			}
			st.Reserved, st.ReservedAmount = true, shares[i]
			moves = append(moves, move(ledger.Reserve, *st, shares[i]))
		}
		if _, _, err := ledger.Append(ctx, tx, code, who.Actor, now, moves...); err != nil {
			return err
		}
		for _, st := range states {
			if !st.Reserved {
				continue // got no share this time
			}
			if err := claims.SaveState(ctx, tx, st, now); err != nil {
				return err
			}
		}
		idx, err := ledger.NextSettlement(ctx, tx, code)
		if err != nil {
			return err
		}
		if err := tx.Create(&settlementRecord{PlanCode: code, Idx: idx, Claims: len(states), TotalPayable: total,
			TotalReserved: reserved, Actor: who.Actor, At: now.UnixMilli()}).Error; err != nil {
			return err
		}
		out = Settlement{Plan: code, Index: idx, Claims: len(states), TotalPayable: money.Fen(total), TotalReserved: money.Fen(reserved)}
		return audit.Write(ctx, tx, now, who, "plan.settle", code,
			fmt.Sprintf("settlement %d: %d claims, %s of %s", idx, len(states), money.String(money.FromFen(reserved)), money.String(money.FromFen(total))))
	})
	if err != nil {
		s.auditRefusal(ctx, who, "plan.settle", code, err)
	}
	return out, err
}

// settlementRecord is a settlements row: one pro-rata settlement of a plan.
type settlementRecord struct {
	PlanCode      string `gorm:"primaryKey"`
	Idx           int    `gorm:"primaryKey;autoIncrement:false"`
	Claims        int
	TotalPayable  int64
	TotalReserved int64
	Actor         string
	At            int64
}

func (settlementRecord) TableName() string { return "settlements" }

// share is floor(payable × available / total) in fen, computed exactly in
// integers (the product can exceed int64), so no rounding of an intermediate
// quotient can push a share up by a fen.
func share(payable, available, total int64) int64 {
	n := new(big.Int).Mul(big.NewInt(payable), big.NewInt(available))
	return n.Quo(n, big.NewInt(total)).Int64()
}

var lockUpdate = clause.Locking{Strength: "UPDATE"}

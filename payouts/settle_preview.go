package payouts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"

	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/money"
	"huimin/ledger"
	"huimin/policies"
)

// A pro-rata settlement can be previewed before it is committed: the
// preview is computed by the very code that settles (loadSettleBasis and
// settleBasis.shares, which Settle calls too), so each share it lists is the
// share Settle would reserve on the same basis — the claims, their payables
// and the available budget. The basis has a fingerprint; SettlePreviewed
// commits only when the basis, as locked by the settlement, still has the
// fingerprint of the preview the clerk looked at.

// ErrBasisChanged refuses a previewed settlement whose basis changed since
// the preview: a claim was approved or revoked, or the budget moved. It is a
// conflict (409); the console asks the clerk to preview again.
var ErrBasisChanged = fmt.Errorf("the claims or the available budget changed since the settlement was previewed: %w", apperr.ErrConflict)

// settleBasis is what a settlement shares out: the plan's available budget
// and its approved, unreserved claims in id order.
type settleBasis struct {
	plan      string
	available int64 // fen
	states    []claims.State
}

// loadSettleBasis reads the basis of a settlement of plan code in tx. It is
// 409 invalid_state for a plan that is not pro_rata. With lockBudget the
// budget row is locked FOR UPDATE, as a settlement needs; a preview reads it
// as committed and leaves it to approvals and funding. The claims are read
// with claims.LockStates either way, so that a preview sees exactly the rows
// a settlement would (its locks last only its short read transaction).
func loadSettleBasis(ctx context.Context, tx *gorm.DB, code string, lockBudget bool) (settleBasis, error) {
	plan, err := policies.LoadPlan(ctx, tx, code, false)
	if err != nil {
		return settleBasis{}, err
	}
	if plan.BudgetPolicy != policies.ProRata {
		return settleBasis{}, apperr.New(apperr.ErrInvalidState, "plan %s is first_come: approvals reserve as they go, there is nothing to settle", code)
	}
	var b ledger.Budget
	if lockBudget {
		b, err = ledger.Lock(ctx, tx, code)
	} else {
		b, err = ledger.Get(ctx, tx, code)
	}
	if err != nil {
		return settleBasis{}, err
	}
	ids, err := claims.ApprovedUnreserved(ctx, tx, code)
	if err != nil {
		return settleBasis{}, err
	}
	var states []claims.State
	if len(ids) > 0 {
		if states, err = claims.LockStates(ctx, tx, ids); err != nil {
			return settleBasis{}, err
		}
	}
	// The ids were read without a lock: a claim revoked since then must
	// not get a share (nor shrink the others').
	states = slices.DeleteFunc(states, func(st claims.State) bool {
		return st.Status != claims.Approved || st.Reserved
	})
	return settleBasis{plan: code, available: b.Available, states: states}, nil
}

// shares is the one computation of a settlement's shares (DESIGN §7): for
// each claim, in the order of b.states, floor_fen(payable × min(1,
// available / Σ payable)); with the sum of the payables and of the shares,
// which never exceeds available.
func (b settleBasis) shares() (shares []int64, total, reserved int64) {
	for _, st := range b.states {
		total += st.Payable
	}
	shares = make([]int64, len(b.states))
	for i, st := range b.states {
		amt := st.Payable
		if total > b.available {
			amt = share(st.Payable, b.available, total)
		}
		shares[i] = amt
		reserved += amt
	}
	return shares, total, reserved
}

// fingerprint is a SHA-256 over everything the shares follow from: the
// plan, the available budget and each claim's id and payable, in id order.
func (b settleBasis) fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d\n", b.plan, b.available)
	for _, st := range b.states {
		fmt.Fprintf(h, "%s %d\n", st.ID, st.Payable)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ratioDigits is how many decimals SettlementPreview.Ratio shows.
const ratioDigits = 6

// ratio is min(1, available / total), rounded down to ratioDigits
// decimals, exactly (integers, as share computes).
func (b settleBasis) ratio(total int64) string {
	if total <= b.available {
		return fmt.Sprintf("1.%0*d", ratioDigits, 0)
	}
	n := new(big.Int).Mul(big.NewInt(b.available), new(big.Int).Exp(big.NewInt(10), big.NewInt(ratioDigits), nil))
	n.Quo(n, big.NewInt(total))
	s := fmt.Sprintf("%0*d", ratioDigits+1, n.Int64())
	return s[:len(s)-ratioDigits] + "." + s[len(s)-ratioDigits:]
}

// SettlementShare is one claim's share in a settlement preview.
type SettlementShare struct {
	ClaimID       string       `json:"claim_id"`
	BeneficiaryID string       `json:"beneficiary_id"`
	CountyCode    string       `json:"county_code"`
	Payable       money.Amount `json:"payable"`
	Share         money.Amount `json:"share"`
}

// SettlementPreview is what a settlement of the plan would reserve now,
// claim by claim, and the basis it follows from: the answer of POST
// /api/v1/plans/{code}/settlements?dry_run=true. Claims, TotalPayable and
// TotalReserved are what the settlement would answer; a claim whose share
// rounds down to 0.00 is listed with share 0.00 and stays unreserved.
type SettlementPreview struct {
	Plan          string       `json:"plan"`
	Claims        int          `json:"claims"`
	TotalPayable  money.Amount `json:"total_payable"`
	TotalReserved money.Amount `json:"total_reserved"`
	Available     money.Amount `json:"available"`
	// Ratio is min(1, available / total_payable), rounded down to six
	// decimals, for people: each share is computed exactly, not from it.
	Ratio string `json:"ratio"`
	// Basis fingerprints the claims, their payables and the available
	// budget; SettlePreviewed commits only while it is unchanged.
	Basis  string            `json:"basis"`
	Shares []SettlementShare `json:"shares"`
}

// PreviewSettlement computes the settlement Settle would make of plan code
// now, changing nothing: every share (in claim id order), the totals, the
// ratio and the basis's fingerprint.
func (s *Service) PreviewSettlement(ctx context.Context, code string) (SettlementPreview, error) {
	var out SettlementPreview
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		basis, err := loadSettleBasis(ctx, tx, code, false)
		if err != nil {
			return err
		}
		out = basis.preview()
		return nil
	})
	return out, err
}

func (b settleBasis) preview() SettlementPreview {
	shares, total, reserved := b.shares()
	p := SettlementPreview{
		Plan: b.plan, Claims: len(b.states), TotalPayable: money.Fen(total), TotalReserved: money.Fen(reserved),
		Available: money.Fen(b.available), Ratio: b.ratio(total), Basis: b.fingerprint(),
		Shares: make([]SettlementShare, len(b.states)),
	}
	for i, st := range b.states {
		p.Shares[i] = SettlementShare{ClaimID: st.ID, BeneficiaryID: st.BeneficiaryID, CountyCode: st.CountyCode,
			Payable: money.Fen(st.Payable), Share: money.Fen(shares[i])}
	}
	return p
}

// SettlePreviewed is Settle after a preview: it settles exactly as Settle
// does, in one transaction with its ledger entries and audit record, when
// the basis it locks still has the fingerprint basis (SettlementPreview.Basis),
// so that every share reserved is the share the preview showed; otherwise it
// changes nothing and is ErrBasisChanged.
func (s *Service) SettlePreviewed(ctx context.Context, who audit.Who, code, basis string) (Settlement, error) {
	return s.settleWith(ctx, who, code, func(b settleBasis) error {
		if b.fingerprint() != basis {
			return ErrBasisChanged
		}
		return nil
	})
}

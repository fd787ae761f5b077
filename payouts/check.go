package payouts

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/money"
	"huimin/ledger"
)

// Breach is one broken invariant.
type Breach = ledger.Breach

// Check recomputes every invariant of DESIGN §8 from the stored entries:
// the ledger's own (each plan's chain intact and its head the budget row's;
// available ≥ 0; funded = available + reserved + in_payment + paid; each
// account's balance the sum of its entries), and each claim's reserved,
// in-payment and paid money equal to its entries and fitting its status.
//
// Every figure is read in one consistent snapshot, so a check running beside
// live traffic reports no breach that is only a commit landing between reads.
func (s *Service) Check(ctx context.Context) ([]Breach, error) {
	var out []Breach
	err := s.db.ReadSnapshot(ctx, func(tx *gorm.DB) error {
		var err error
		if out, err = ledger.CheckTx(ctx, tx); err != nil {
			return err
		}
		byClaim, err := checkClaims(ctx, tx)
		out = append(out, byClaim...)
		return err
	})
	return out, err
}

// checkClaims compares each claim's money with its entries.
func checkClaims(ctx context.Context, tx *gorm.DB) ([]Breach, error) {
	perClaim, err := ledger.MoneyByClaim(ctx, tx)
	if err != nil {
		return nil, err
	}
	cs, err := claims.MoneyStates(ctx, tx)
	if err != nil {
		return nil, err
	}
	var out []Breach
	seen := map[string]bool{}
	for _, c := range cs {
		seen[c.ID] = true
		m := perClaim[c.ID]
		want := ledger.ClaimMoney{Plan: m.Plan}
		switch {
		case c.Status == claims.Approved && c.Reserved:
			want.Reserved = c.ReservedAmount
		case c.Status == claims.Disbursed:
			want.InPayment = c.ReservedAmount
		case c.Status == claims.Paid:
			want.Paid = c.ReservedAmount
		}
		if m != want {
			out = append(out, Breach{Plan: c.Plan, ClaimID: c.ID, What: fmt.Sprintf(
				"%s with reserved_amount %s, but its entries hold reserved %s, in payment %s, paid %s",
				c.Status, fen(c.ReservedAmount), fen(m.Reserved), fen(m.InPayment), fen(m.Paid))})
		}
	}
	for id, m := range perClaim {
		if !seen[id] && (m.Reserved != 0 || m.InPayment != 0 || m.Paid != 0) {
			out = append(out, Breach{Plan: m.Plan, ClaimID: id, What: "entries hold money for a claim that should hold none"})
		}
	}
	return out, nil
}

func fen(f int64) string { return money.String(money.FromFen(f)) }

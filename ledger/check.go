package ledger

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"huimin/internal/money"
)

// Breach is one broken invariant.
type Breach struct {
	Plan    string
	ClaimID string
	What    string
}

func (b Breach) String() string {
	if b.ClaimID != "" {
		return fmt.Sprintf("%s claim %s: %s", b.Plan, b.ClaimID, b.What)
	}
	return fmt.Sprintf("%s: %s", b.Plan, b.What)
}

// CheckTx recomputes the ledger's own invariants of DESIGN §8 within tx,
// which must be one consistent snapshot (db.ReadSnapshot): each plan's chain
// is intact and its head is the budget row's; available ≥ 0; funded =
// available + reserved + in_payment + paid; each account's balance equals
// the sum of its entries.
func CheckTx(ctx context.Context, tx *gorm.DB) ([]Breach, error) {
	budgets, err := Budgets(ctx, tx)
	if err != nil {
		return nil, err
	}
	var out []Breach
	for _, b := range budgets {
		add := func(format string, args ...any) {
			out = append(out, Breach{Plan: b.PlanCode, What: fmt.Sprintf(format, args...)})
		}
		v, err := VerifyTx(ctx, tx, b.PlanCode)
		if err != nil {
			return nil, err
		}
		if !v.OK {
			add("ledger chain broken at seq %d: %s", *v.FirstBadSeq, v.Reason)
		}
		if b.Available < 0 {
			add("available is negative: %s", fen(b.Available))
		}
		if b.Funded != b.Available+b.Reserved+b.InPayment+b.Paid {
			add("funded %s ≠ available %s + reserved %s + in_payment %s + paid %s",
				fen(b.Funded), fen(b.Available), fen(b.Reserved), fen(b.InPayment), fen(b.Paid))
		}
		sums, err := SumsByKind(ctx, tx, b.PlanCode, 0)
		if err != nil {
			return nil, err
		}
		bal := balances(sums)
		for _, a := range []struct {
			name      string
			row, sums int64
		}{
			{"funded", b.Funded, bal[Funding]}, {"available", b.Available, bal[Available]},
			{"reserved", b.Reserved, bal[Reserved]}, {"in_payment", b.InPayment, bal[InPayment]},
			{"paid", b.Paid, bal[Paid]},
		} {
			if a.row != a.sums {
				add("budget row says %s %s but its entries sum to %s", a.name, fen(a.row), fen(a.sums))
			}
		}
	}
	return out, nil
}

// balances turns per-kind sums into account balances (funding counts what
// flowed in, as `funded`).
func balances(sums map[string]int64) map[string]int64 {
	bal := map[string]int64{}
	for kind, total := range sums {
		flow := Flow[kind]
		if flow[0] == Funding {
			bal[Funding] += total
		} else {
			bal[flow[0]] -= total
		}
		bal[flow[1]] += total
	}
	return bal
}

func fen(f int64) string { return money.String(money.FromFen(f)) }

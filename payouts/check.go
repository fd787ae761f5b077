package payouts

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/db"
	"huimin/internal/ledger"
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

// Check recomputes every invariant of DESIGN §8 from the stored entries:
// each plan's chain is intact and its head is the budget row's; available ≥
// 0; funded = available + reserved + in_payment + paid; each account's
// balance equals the sum of its entries; and each claim's reserved,
// in-payment and paid money equals its entries and fits its status.
//
// Every figure is read in one consistent snapshot, so a check running beside
// live traffic reports no breach that is only a commit landing between reads.
func (s *Service) Check(ctx context.Context) ([]Breach, error) {
	var out []Breach
	err := s.readSnapshot(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = check(ctx, tx)
		return err
	})
	return out, err
}

func check(ctx context.Context, tx *gorm.DB) ([]Breach, error) {
	var budgets []ledger.Budget
	if err := tx.WithContext(ctx).Order("plan_code").Find(&budgets).Error; err != nil {
		return nil, db.Translate(err)
	}
	var out []Breach
	for _, b := range budgets {
		add := func(format string, args ...any) {
			out = append(out, Breach{Plan: b.PlanCode, What: fmt.Sprintf(format, args...)})
		}
		v, err := verify(ctx, tx, b.PlanCode)
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
		var sums []struct {
			Kind  string
			Total int64
		}
		if err := tx.WithContext(ctx).Model(&ledger.Entry{}).Select("kind, SUM(amount) AS total").
			Where("plan_code = ?", b.PlanCode).Group("kind").Scan(&sums).Error; err != nil {
			return nil, db.Translate(err)
		}
		bal := balances(sums)
		for _, a := range []struct {
			name      string
			row, sums int64
		}{
			{"funded", b.Funded, bal[ledger.Funding]}, {"available", b.Available, bal[ledger.Available]},
			{"reserved", b.Reserved, bal[ledger.Reserved]}, {"in_payment", b.InPayment, bal[ledger.InPayment]},
			{"paid", b.Paid, bal[ledger.Paid]},
		} {
			if a.row != a.sums {
				add("budget row says %s %s but its entries sum to %s", a.name, fen(a.row), fen(a.sums))
			}
		}
	}
	claimBreaches, err := checkClaims(ctx, tx)
	return append(out, claimBreaches...), err
}

// balances turns per-kind sums into account balances (funding counts what
// flowed in, as `funded`).
func balances(sums []struct {
	Kind  string
	Total int64
}) map[string]int64 {
	bal := map[string]int64{}
	for _, s := range sums {
		flow := ledger.Flow[s.Kind]
		if flow[0] == ledger.Funding {
			bal[ledger.Funding] += s.Total
		} else {
			bal[flow[0]] -= s.Total
		}
		bal[flow[1]] += s.Total
	}
	return bal
}

func checkClaims(ctx context.Context, tx *gorm.DB) ([]Breach, error) {
	var rows []struct {
		PlanCode, ClaimID, Kind string
		Total                   int64
	}
	if err := tx.WithContext(ctx).Model(&ledger.Entry{}).Select("plan_code, claim_id, kind, SUM(amount) AS total").
		Where("claim_id <> ''").Group("plan_code, claim_id, kind").Scan(&rows).Error; err != nil {
		return nil, db.Translate(err)
	}
	type money3 struct{ reserved, inPayment, paid int64 }
	perClaim := map[string]*money3{}
	planOf := map[string]string{}
	for _, r := range rows {
		m := perClaim[r.ClaimID]
		if m == nil {
			m = &money3{}
			perClaim[r.ClaimID] = m
			planOf[r.ClaimID] = r.PlanCode
		}
		switch r.Kind {
		case ledger.Reserve, ledger.Fail:
			m.reserved += r.Total
		case ledger.Release:
			m.reserved -= r.Total
		case ledger.Disburse:
			m.reserved -= r.Total
			m.inPayment += r.Total
		case ledger.Pay:
			m.inPayment -= r.Total
			m.paid += r.Total
		}
		if r.Kind == ledger.Fail {
			m.inPayment -= r.Total
		}
	}
	var cs []struct {
		ID, PlanCode, Status string
		Reserved             bool
		ReservedAmount       int64
	}
	if err := tx.WithContext(ctx).Table("claims").Select("id, plan_code, status, reserved, reserved_amount").
		Where("reserved = ? OR status IN ?", true, []string{claims.Approved, claims.Disbursed, claims.Paid, claims.Declined}).
		Scan(&cs).Error; err != nil {
		return nil, db.Translate(err)
	}
	var out []Breach
	seen := map[string]bool{}
	for _, c := range cs {
		seen[c.ID] = true
		m := perClaim[c.ID]
		if m == nil {
			m = &money3{}
		}
		want := money3{}
		switch {
		case c.Status == claims.Approved && c.Reserved:
			want.reserved = c.ReservedAmount
		case c.Status == claims.Disbursed:
			want.inPayment = c.ReservedAmount
		case c.Status == claims.Paid:
			want.paid = c.ReservedAmount
		}
		if *m != want {
			out = append(out, Breach{Plan: c.PlanCode, ClaimID: c.ID, What: fmt.Sprintf(
				"%s with reserved_amount %s, but its entries hold reserved %s, in payment %s, paid %s",
				c.Status, fen(c.ReservedAmount), fen(m.reserved), fen(m.inPayment), fen(m.paid))})
		}
	}
	for id, m := range perClaim {
		if !seen[id] && *m != (money3{}) {
			out = append(out, Breach{Plan: planOf[id], ClaimID: id, What: "entries hold money for a claim that should hold none"})
		}
	}
	return out, nil
}

func fen(f int64) string { return money.String(money.FromFen(f)) }

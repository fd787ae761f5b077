package ledger

import (
	"context"

	"gorm.io/gorm"

	"huimin/internal/db"
)

// This file holds every read of budgets and ledger_entries that other
// packages need: they ask through these functions, never with their own SQL.

// Budgets returns every plan's budget row, by plan code.
func Budgets(ctx context.Context, tx *gorm.DB) ([]Budget, error) {
	var bs []Budget
	err := tx.WithContext(ctx).Order("plan_code").Find(&bs).Error
	return bs, db.Translate(err)
}

// SumsByKind totals a plan's entries by kind, over entries at or after
// sinceMs (0: all), optionally only of the given kinds.
func SumsByKind(ctx context.Context, tx *gorm.DB, plan string, sinceMs int64, kinds ...string) (map[string]int64, error) {
	var sums []struct {
		Kind  string
		Total int64
	}
	q := tx.WithContext(ctx).Model(&Entry{}).Select("kind, SUM(amount) AS total").Where("plan_code = ?", plan)
	if sinceMs > 0 {
		q = q.Where("at >= ?", sinceMs)
	}
	if len(kinds) > 0 {
		q = q.Where("kind IN ?", kinds)
	}
	if err := q.Group("kind").Scan(&sums).Error; err != nil {
		return nil, db.Translate(err)
	}
	out := make(map[string]int64, len(sums))
	for _, s := range sums {
		out[s.Kind] = s.Total
	}
	return out, nil
}

// CommittedSince is the money a plan committed to claims at or after
// sinceMs: reservations less releases, never below zero.
func CommittedSince(ctx context.Context, tx *gorm.DB, plan string, sinceMs int64) (int64, error) {
	sums, err := SumsByKind(ctx, tx, plan, sinceMs, Reserve, Release)
	if err != nil {
		return 0, err
	}
	return max(sums[Reserve]-sums[Release], 0), nil
}

// ClaimMoney is what a claim's entries hold in each account.
type ClaimMoney struct {
	Plan                      string
	Reserved, InPayment, Paid int64 // fen
}

// MoneyByClaim sums every claim's entries into the accounts they hold money
// in, for the invariant check.
func MoneyByClaim(ctx context.Context, tx *gorm.DB) (map[string]ClaimMoney, error) {
	var rows []struct {
		PlanCode, ClaimID, Kind string
		Total                   int64
	}
	if err := tx.WithContext(ctx).Model(&Entry{}).Select("plan_code, claim_id, kind, SUM(amount) AS total").
		Where("claim_id <> ''").Group("plan_code, claim_id, kind").Scan(&rows).Error; err != nil {
		return nil, db.Translate(err)
	}
	out := map[string]ClaimMoney{}
	for _, r := range rows {
		m := out[r.ClaimID]
		m.Plan = r.PlanCode
		switch r.Kind {
		case Reserve:
			m.Reserved += r.Total
		case Release:
			m.Reserved -= r.Total
		case Disburse:
			m.Reserved -= r.Total
			m.InPayment += r.Total
		case Pay:
			m.InPayment -= r.Total
			m.Paid += r.Total
		case Fail:
			m.InPayment -= r.Total
			m.Reserved += r.Total
		}
		out[r.ClaimID] = m
	}
	return out, nil
}

// NextSettlement counts a new settlement on the plan's budget row and
// returns its index. The caller holds the row's lock (Append took it).
func NextSettlement(ctx context.Context, tx *gorm.DB, plan string) (int, error) {
	b, err := Lock(ctx, tx, plan)
	if err != nil {
		return 0, err
	}
	idx := b.Settlements + 1
	err = tx.WithContext(ctx).Model(&Budget{}).Where("plan_code = ?", plan).Update("settlements", idx).Error
	return idx, err
}

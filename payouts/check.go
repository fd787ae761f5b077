package payouts

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/money"
	"huimin/ledger"
	"huimin/policies"
)

// Breach is one broken invariant.
type Breach = ledger.Breach

// Check recomputes every invariant of DESIGN §8 from the stored entries:
// the ledger's own (each plan's chain intact and its head the budget row's;
// available ≥ 0; funded = available + reserved + in_payment + paid; each
// account's balance the sum of its entries), and each claim's reserved,
// in-payment and paid money equal to its entries and fitting its status.
//
// It also checks what decides about money without being money: that each
// claim's approvals agree with its status and reservation (an assessed
// claim with enough approvals to be approved is a lost approval), and that
// each disbursement batch agrees with its items and their claims. A batch
// still being made (preparing or issuing, see Disburse) is a consistent
// state: its held claims are disbursed with their money still reserved.
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
		for _, check := range []func(context.Context, *gorm.DB) ([]Breach, error){checkClaims, s.checkApprovals, checkBatches} {
			found, err := check(ctx, tx)
			if err != nil {
				return err
			}
			out = append(out, found...)
		}
		return nil
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
	// Claims set aside for a batch still being made: disbursed, with their
	// money still reserved until their chunk moves it.
	var held []string
	if err := tx.WithContext(ctx).Model(&itemRecord{}).Where("status = ?", ItemPending).Pluck("claim_id", &held).Error; err != nil {
		return nil, err
	}
	pending := make(map[string]bool, len(held))
	for _, id := range held {
		pending[id] = true
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
		case c.Status == claims.Disbursed && pending[c.ID]:
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

// checkApprovals finds claims whose approvals disagree with their status or
// reservation (DESIGN §7): an assessed claim with as many approvals as its
// payable needs (one, or two at or above the plan's dual approval
// threshold) should have been approved — the final approval was lost, as
// when two nodes each took theirs for the first; an approved, disbursed or
// paid claim with fewer approvals than it needs was approved without them;
// and an approved claim of a first_come plan holds its reservation, made by
// its final approval.
func (s *Service) checkApprovals(ctx context.Context, tx *gorm.DB) ([]Breach, error) {
	states, err := claims.ApprovalStates(ctx, tx)
	if err != nil {
		return nil, err
	}
	var out []Breach
	for _, c := range states {
		t, err := s.termsOf(ctx, tx, c.Plan)
		if err != nil {
			return nil, err
		}
		needed := 1
		if c.Payable >= t.dualThreshold {
			needed = 2
		}
		switch {
		case c.Status == claims.Assessed && c.Approvals >= needed:
			out = append(out, Breach{Plan: c.Plan, ClaimID: c.ID, What: fmt.Sprintf(
				"assessed with %d approvals, %d needed: its approvals say approved, but it is not, and holds no reservation", c.Approvals, needed)})
		case c.Status != claims.Assessed && c.Approvals < needed:
			out = append(out, Breach{Plan: c.Plan, ClaimID: c.ID, What: fmt.Sprintf(
				"%s with %d approvals, %d needed", c.Status, c.Approvals, needed)})
		case c.Status == claims.Approved && t.policy == policies.FirstCome && !c.Reserved:
			out = append(out, Breach{Plan: c.Plan, ClaimID: c.ID, What: "approved in a first_come plan without a reservation"})
		}
	}
	return out, nil
}

// checkBatches compares each disbursement batch with its items, and the
// items awaiting the bank with their claims: a batch that says issued (or
// completed, partially_failed) has had every item's money moved and its
// status follows from its items, and its total is its items' sum; a claim
// in a batch's hands (an item pending or in_payment) is disbursed, and a
// disbursed claim is in exactly one batch's hands.
func checkBatches(ctx context.Context, tx *gorm.DB) ([]Breach, error) {
	var batches []batchRecord
	if err := tx.WithContext(ctx).Order("id").Find(&batches).Error; err != nil {
		return nil, err
	}
	var tallies []struct {
		BatchID, Status string
		N               int
		Total           int64
	}
	if err := tx.WithContext(ctx).Model(&itemRecord{}).Select("batch_id, status, COUNT(*) AS n, SUM(amount) AS total").
		Group("batch_id, status").Scan(&tallies).Error; err != nil {
		return nil, err
	}
	byBatch := map[string]map[string]int{}
	sums := map[string]int64{}
	for _, t := range tallies {
		if byBatch[t.BatchID] == nil {
			byBatch[t.BatchID] = map[string]int{}
		}
		byBatch[t.BatchID][t.Status] = t.N
		sums[t.BatchID] += t.Total
	}
	var out []Breach
	planOf := make(map[string]string, len(batches))
	for _, b := range batches {
		planOf[b.ID] = b.PlanCode
		n := byBatch[b.ID]
		if b.Status != BatchPreparing && sums[b.ID] != b.Total {
			out = append(out, Breach{Plan: b.PlanCode, What: fmt.Sprintf("disbursement batch %s totals %s, but its items sum to %s", b.ID, fen(b.Total), fen(sums[b.ID]))})
		}
		if b.Status == BatchPreparing || b.Status == BatchIssuing {
			continue
		}
		want := BatchCompleted
		switch {
		case n[ItemPending] > 0:
			out = append(out, Breach{Plan: b.PlanCode, What: fmt.Sprintf("disbursement batch %s is %s, but %d of its claims were never issued (their money is still reserved)", b.ID, b.Status, n[ItemPending])})
			continue
		case n[ItemInPayment] > 0:
			want = BatchIssued
		case n[ItemFailed] > 0:
			want = BatchPartiallyFailed
		}
		if b.Status != want {
			out = append(out, Breach{Plan: b.PlanCode, What: fmt.Sprintf("disbursement batch %s is %s, but its items make it %s", b.ID, b.Status, want)})
		}
	}

	var open []struct{ BatchID, ClaimID, Status string }
	if err := tx.WithContext(ctx).Model(&itemRecord{}).Select("batch_id, claim_id, status").
		Where("status IN ?", []string{ItemPending, ItemInPayment}).Scan(&open).Error; err != nil {
		return nil, err
	}
	cs, err := claims.MoneyStates(ctx, tx)
	if err != nil {
		return nil, err
	}
	status := make(map[string]claims.MoneyState, len(cs))
	for _, c := range cs {
		status[c.ID] = c
	}
	inHands := map[string]int{}
	for _, it := range open {
		inHands[it.ClaimID]++
		if c, ok := status[it.ClaimID]; !ok || c.Status != claims.Disbursed {
			is := "holding no money"
			if ok {
				is = c.Status
			}
			out = append(out, Breach{Plan: planOf[it.BatchID], ClaimID: it.ClaimID, What: fmt.Sprintf("%s in disbursement batch %s, but the claim is %s, not disbursed", it.Status, it.BatchID, is)})
		}
	}
	for _, c := range cs {
		if c.Status == claims.Disbursed && inHands[c.ID] != 1 {
			out = append(out, Breach{Plan: c.Plan, ClaimID: c.ID, What: fmt.Sprintf("disbursed, but awaiting the bank in %d batches, not one", inHands[c.ID])})
		}
	}
	return out, nil
}

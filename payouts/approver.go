package payouts

import (
	"context"
	"slices"
	"time"

	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/ledger"
	"huimin/internal/web"
	"huimin/policies"
)

// Approve records a finance actor's approval. At or above the plan's dual
// approval threshold the first approval leaves the claim assessed and a
// second, different actor completes it (409 same_approver for the same actor
// twice). In a first_come plan the final approval reserves the payable from
// the budget in the same transaction, or fails with budget_exhausted and
// changes nothing.
//
// Approvals are committed in groups. Every final approval in a first_come
// plan must lock the plan's budget row until commit, so one approval at a
// time would be bounded by the commit's fsync (about 1.5 ms here, ≈ 650/s per
// plan). Instead, approvals that arrive while a group is being committed wait
// for the next group; each group is one transaction that locks its claims,
// then each plan's budget row once, decides every approval in arrival order
// in memory — exactly as one-at-a-time would — and writes them with
// multi-row statements. Each caller gets its own answer or error; a group
// that fails as a whole (a deadlock after retries, say) is retried one
// approval at a time.
func (s *Service) Approve(ctx context.Context, who audit.Who, id string) (claims.View, error) {
	s.startApprover.Do(func() {
		s.approvals = make(chan *approveReq, 4096)
		for range approverWorkers {
			go s.approver()
		}
	})
	req := &approveReq{who: who, id: id, done: make(chan approveRes, 1)}
	select {
	case s.approvals <- req:
	case <-ctx.Done():
		return claims.View{}, ctx.Err()
	}
	select {
	case r := <-req.done:
		return r.view, r.err
	case <-ctx.Done():
		// The group may still commit this approval; the client retries and
		// sees the claim approved (or same_approver), never a double.
		return claims.View{}, ctx.Err()
	}
}

const (
	approverWorkers = 4   // groups in flight at once (different plans proceed in parallel)
	maxGroup        = 128 // approvals per group
)

type approveReq struct {
	who  audit.Who
	id   string
	done chan approveRes
}

type approveRes struct {
	view claims.View
	err  error
}

func (s *Service) approver() {
	for first := range s.approvals {
		group := []*approveReq{first}
	fill:
		for len(group) < maxGroup {
			select {
			case r := <-s.approvals:
				group = append(group, r)
			default:
				break fill
			}
		}
		s.approveGroup(group)
	}
}

// approveGroup decides and writes a group of approvals in one transaction.
func (s *Service) approveGroup(group []*approveReq) {
	if len(group) == 1 {
		r := group[0]
		v, err := s.approveOne(context.Background(), r.who, r.id)
		r.done <- approveRes{v, err}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := s.now()
	var results []approveRes
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		results, err = s.decideGroup(ctx, tx, group, now)
		return err
	})
	if err != nil {
		for _, r := range group {
			v, err := s.approveOne(ctx, r.who, r.id)
			r.done <- approveRes{v, err}
		}
		return
	}
	for i, r := range group {
		r.done <- results[i]
	}
}

// decideGroup is the body of a group's transaction. Locks are taken in the
// same order as everywhere else — claims by id, then budget rows by plan —
// so groups, single approvals and disbursements never deadlock each other.
func (s *Service) decideGroup(ctx context.Context, tx *gorm.DB, group []*approveReq, now time.Time) ([]approveRes, error) {
	ids := make([]string, len(group))
	for i, r := range group {
		ids[i] = r.id
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	locked, err := claims.LockMany(ctx, tx, ids)
	if err != nil {
		return nil, err
	}

	// What each plan's approvals need: their terms, and for first_come
	// plans the budget row, locked once for the group.
	planTerms := map[string]terms{}
	var dual []string
	for _, id := range ids {
		c := locked[id]
		if c == nil {
			continue
		}
		t, err := s.termsOf(ctx, tx, c.Plan)
		if err != nil {
			return nil, err
		}
		planTerms[c.Plan] = t
		if c.Payable >= t.dualThreshold {
			dual = append(dual, id)
		}
	}
	approvals := map[string][]claims.Approval{}
	if len(dual) > 0 {
		if approvals, err = claims.ApprovalsOf(ctx, tx, dual); err != nil {
			return nil, err
		}
	}
	plans := make([]string, 0, len(planTerms))
	for p, t := range planTerms {
		if t.policy == policies.FirstCome {
			plans = append(plans, p)
		}
	}
	slices.Sort(plans)
	available := map[string]int64{}
	for _, p := range plans {
		b, err := ledger.Lock(ctx, tx, p)
		if err != nil {
			return nil, err
		}
		available[p] = b.Available
	}

	// Decide in arrival order, as if one at a time.
	results := make([]approveRes, len(group))
	var (
		rows                 []claims.ApprovalRow
		records              []audit.Record
		reserveIDs, plainIDs []string
		moves                = map[string][]ledger.Move{}
		finalBy              = map[string]string{} // claim → the actor whose approval completed it
	)
	for i, r := range group {
		c := locked[r.id]
		outcome := ""
		switch {
		case c == nil:
			results[i].err = apperr.New(apperr.ErrNotFound, "no claim %s", r.id)
		case c.Status != claims.Assessed:
			results[i].err = invalidState(c.State, "approved")
		default:
			t := planTerms[c.Plan]
			needed := 1
			if c.Payable >= t.dualThreshold {
				needed = 2
			}
			if slices.ContainsFunc(approvals[r.id], func(a claims.Approval) bool { return a.Actor == r.who.Actor }) {
				results[i].err = apperr.New(apperr.ErrSameApprover, "%s already approved claim %s; a second finance actor must approve", r.who.Actor, r.id)
				break
			}
			final := len(approvals[r.id])+1 >= needed
			if final && t.policy == policies.FirstCome {
				if available[c.Plan] < c.Payable {
					results[i].err = apperr.New(apperr.ErrBudgetExhausted, "plan %s has %s available, %s needed",
						c.Plan, fen(available[c.Plan]), fen(c.Payable))
					break
				}
				available[c.Plan] -= c.Payable
			}
			approvals[r.id] = append(approvals[r.id], claims.Approval{Actor: r.who.Actor, At: web.Timestamp(now.UnixMilli())})
			rows = append(rows, claims.ApprovalRow{ClaimID: r.id, Actor: r.who.Actor, At: now.UnixMilli()})
			outcome = "first_approval"
			if final {
				outcome = claims.Approved
				c.Status = claims.Approved
				finalBy[r.id] = r.who.Actor
				if t.policy == policies.FirstCome {
					c.Reserved, c.ReservedAmount = true, c.Payable
					reserveIDs = append(reserveIDs, r.id)
					moves[c.Plan] = append(moves[c.Plan], move(ledger.Reserve, c.State, c.Payable))
				} else {
					plainIDs = append(plainIDs, r.id)
				}
			}
		}
		if results[i].err == nil {
			// The answer shows the claim as of this approval, even when a
			// later approval in the same group completes it.
			results[i].view = locked[r.id].View(slices.Clone(approvals[r.id]), now)
		}
		if results[i].err != nil {
			k := apperr.KindOf(results[i].err)
			if k == apperr.ErrNotFound {
				continue
			}
			outcome = "refused: " + k.Code
		}
		records = append(records, audit.NewRecord(now, r.who, "claim.approve", r.id, outcome))
	}

	// Write: approvals, claim states, audit records, then the reservations.
	if len(rows) > 0 {
		if err := tx.Create(&rows).Error; err != nil {
			return nil, err
		}
	}
	if len(reserveIDs) > 0 {
		if err := claims.MarkApproved(ctx, tx, reserveIDs, true, now); err != nil {
			return nil, err
		}
	}
	if len(plainIDs) > 0 {
		if err := claims.MarkApproved(ctx, tx, plainIDs, false, now); err != nil {
			return nil, err
		}
	}
	if len(records) > 0 {
		if err := tx.Create(&records).Error; err != nil {
			return nil, err
		}
	}
	for _, p := range plans {
		if len(moves[p]) == 0 {
			continue
		}
		// Grouped entries carry the actor of each approval that reserved.
		for actor, ms := range byActor(moves[p], finalBy) {
			if _, _, err := ledger.Append(ctx, tx, p, actor, now, ms...); err != nil {
				return nil, err
			}
		}
	}
	return results, nil
}

// byActor splits a plan's reservations by the actor who completed each
// approval, keeping their order, so every ledger entry names its actor.
func byActor(ms []ledger.Move, finalBy map[string]string) map[string][]ledger.Move {
	out := map[string][]ledger.Move{}
	for _, m := range ms {
		a := finalBy[m.ClaimID]
		out[a] = append(out[a], m)
	}
	return out
}

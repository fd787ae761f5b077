package payouts

import (
	"context"
	"slices"
	"time"

	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/groupcommit"
	"huimin/internal/web"
	"huimin/internal/webhooks"
	"huimin/ledger"
	"huimin/policies"
)

// Approve records a finance actor's approval. At or above the plan's dual
// approval threshold the first approval leaves the claim assessed and a
// second, different actor completes it (409 same_approver for the same actor
// twice). In a first_come plan the final approval reserves the payable from
// the budget in the same transaction, or fails with budget_exhausted and
// changes nothing.
//
// Approvals are committed in groups (groupcommit). Every final approval in a
// first_come plan must lock the plan's budget row until commit, so one
// approval at a time would be bounded by the commit's fsync (about 1.5 ms
// here, ≈ 650/s per plan). Instead, approvals that arrive while a group is
// being committed wait for the next group; each group is one transaction
// that locks its claims, then each plan's budget row once, decides every
// approval in arrival order with decideApproval — exactly as one at a time
// would — and writes them with multi-row statements, ledger entries in that
// same order. A lone approval is a group of one, through the same code.
func (s *Service) Approve(ctx context.Context, who audit.Who, id string) (claims.View, error) {
	return s.approvals.Do(ctx, approveReq{who: who, id: id})
}

type approveReq struct {
	who audit.Who
	id  string
}

// approvalCase is everything the approval rule looks at, as plain values.
type approvalCase struct {
	Claim     claims.State
	Terms     terms
	Approvals []claims.Approval // earlier approvals of the claim, oldest first
	Actor     string
	Available int64 // first_come: the plan's available budget as decided so far
}

// approvalVerdict is what an allowed approval does.
type approvalVerdict struct {
	Final   bool // the claim becomes approved
	Reserve bool // and its payable is reserved from the budget now
}

// decideApproval is the approval rule of DESIGN §7, the one place it is
// written: only assessed claims; a payable at or above the dual threshold
// needs two different actors; the final approval of a first_come plan
// reserves the payable or is refused with budget_exhausted.
func decideApproval(c approvalCase) (approvalVerdict, error) {
	if c.Claim.Status != claims.Assessed {
		return approvalVerdict{}, invalidState(c.Claim, "approved")
	}
	needed := 1
	if c.Claim.Payable >= c.Terms.dualThreshold {
		needed = 2
	}
	if slices.ContainsFunc(c.Approvals, func(a claims.Approval) bool { return a.Actor == c.Actor }) {
		return approvalVerdict{}, apperr.New(apperr.ErrSameApprover, "%s already approved claim %s; a second finance actor must approve", c.Actor, c.Claim.ID)
	}
	v := approvalVerdict{Final: len(c.Approvals)+1 >= needed}
	if v.Final && c.Terms.policy == policies.FirstCome {
		if c.Available < c.Claim.Payable {
			return approvalVerdict{}, apperr.New(apperr.ErrBudgetExhausted, "plan %s has %s available, %s needed",
				c.Claim.Plan, fen(c.Available), fen(c.Claim.Payable))
		}
		v.Reserve = true
	}
	return v, nil
}

// approveAlone commits one approval: a group of one.
func (s *Service) approveAlone(ctx context.Context, r approveReq) (claims.View, error) {
	results, err := s.approveGroup(ctx, []approveReq{r})
	if err != nil {
		s.auditRefusal(ctx, r.who, "claim.approve", r.id, err)
		return claims.View{}, err
	}
	return results[0].Value, results[0].Err
}

// approveGroup decides and writes a group of approvals in one transaction.
func (s *Service) approveGroup(ctx context.Context, group []approveReq) ([]groupcommit.Result[claims.View], error) {
	now := s.now()
	var results []groupcommit.Result[claims.View]
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		results, err = s.decideGroup(ctx, tx, group, now)
		return err
	})
	if err == nil {
		for _, r := range results {
			if r.Err == nil {
				if r.Value.Status == claims.Approved {
					s.count(r.Value.Plan, "approved", 1)
				} else {
					s.count(r.Value.Plan, "first_approval", 1)
				}
			}
		}
	}
	return results, err
}

// decideGroup is the body of a group's transaction. Locks are taken in the
// same order as everywhere else — claims by id, then budget rows by plan —
// so groups and disbursements never deadlock each other.
func (s *Service) decideGroup(ctx context.Context, tx *gorm.DB, group []approveReq, now time.Time) ([]groupcommit.Result[claims.View], error) {
	ids := make([]string, len(group))
	for i, r := range group {
		ids[i] = r.id
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	locked, err := claims.Lock(ctx, tx, ids)
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
	results := make([]groupcommit.Result[claims.View], len(group))
	var (
		rows                          []claims.ApprovalRow
		records                       []audit.Record
		reserveIDs, plainIDs, firstOf []string
		moves                         = map[string][]ledger.Move{} // by plan, in arrival order
		events                        []webhooks.Event             // claim.approved, for final approvals
	)
	for i, r := range group {
		c := locked[r.id]
		if c == nil {
			results[i].Err = apperr.New(apperr.ErrNotFound, "no claim %s", r.id)
			continue
		}
		t := planTerms[c.Plan]
		v, err := decideApproval(approvalCase{Claim: c.State, Terms: t, Approvals: approvals[r.id], Actor: r.who.Actor, Available: available[c.Plan]})
		if err != nil {
			results[i].Err = err
			records = append(records, audit.NewRecord(now, r.who, "claim.approve", r.id, "refused: "+apperr.KindOf(err).Code))
			continue
		}
		approvals[r.id] = append(approvals[r.id], claims.Approval{Actor: r.who.Actor, At: web.Timestamp(now.UnixMilli())})
		rows = append(rows, claims.ApprovalRow{ClaimID: r.id, Actor: r.who.Actor, At: now.UnixMilli()})
		outcome := "first_approval"
		switch {
		case v.Final && v.Reserve:
			available[c.Plan] -= c.Payable
			c.Status, c.Reserved, c.ReservedAmount = claims.Approved, true, c.Payable
			reserveIDs = append(reserveIDs, r.id)
			m := move(ledger.Reserve, c.State, c.Payable)
			m.Actor = r.who.Actor
			moves[c.Plan] = append(moves[c.Plan], m)
			outcome = claims.Approved
		case v.Final:
			c.Status = claims.Approved
			plainIDs = append(plainIDs, r.id)
			outcome = claims.Approved
		default:
			// The first of two approvals writes the claim row it decided
			// on (claims.FirstApproved), so a concurrent second approval on
			// another Galera node conflicts with it at certification.
			firstOf = append(firstOf, r.id)
			c.Touched()
		}
		// The answer shows the claim as of this approval, even when a later
		// approval in the same group completes it.
		results[i].Value = c.View(slices.Clone(approvals[r.id]), now)
		records = append(records, audit.NewRecord(now, r.who, "claim.approve", r.id, outcome))
		if outcome == claims.Approved {
			events = append(events, webhooks.Event{Type: webhooks.ClaimApproved, Org: c.Org, ClaimID: r.id, At: now, Claim: results[i].Value})
		}
	}

	// Write: approvals, claim rows, audit records, then the reservations:
	// the budget rows stay locked to commit, so they are written last.
	if err := claims.AddApprovals(ctx, tx, rows); err != nil {
		return nil, err
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
	if len(firstOf) > 0 {
		if err := claims.FirstApproved(ctx, tx, firstOf, now); err != nil {
			return nil, err
		}
	}
	if err := audit.WriteAll(ctx, tx, records); err != nil {
		return nil, err
	}
	if err := s.Webhooks.EnqueueMany(ctx, tx, events); err != nil {
		return nil, err
	}
	for _, p := range plans {
		// One append per plan, in arrival order: each entry names the actor
		// whose approval made the reservation.
		if _, _, err := ledger.Append(ctx, tx, p, "", now, moves[p]...); err != nil {
			return nil, err
		}
	}
	return results, nil
}

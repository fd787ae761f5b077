package payouts

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/civil"
	"huimin/internal/db"
	"huimin/internal/ids"
	"huimin/internal/money"
	"huimin/internal/web"
	"huimin/internal/webhooks"
	"huimin/policies"
)

// Public notice (公示) and objections (异议), DESIGN §14. Relief money is
// paid only after the list of recipients has been posted for the plan's
// notice period and no objection stands: a plan with notice_days > 0
// publishes its approved claims in a notice, an objection recorded against
// a claim stops its payment until it is resolved, and an upheld objection
// revokes the claim.

// Limits of a notice's and an objection's texts, in characters (their
// columns, migration 00003, and docs/openapi.yaml's maxLength).
const (
	NoticeContactMax   = 200
	RaisedByMax        = 100
	ObjectionReasonMax = 500
	ObjectionNoteMax   = 500
)

// MaxNoticeClaims bounds one notice, as MaxBatchClaims bounds a batch: a plan
// with more approved claims to publish posts them in several notices, each
// taking the oldest claims not yet published.
const MaxNoticeClaims = 10000

// NoticeInput is the body of POST /api/v1/notices. CountyCode narrows the
// notice to one county (null or absent: every county of the plan); Contact
// is where and how to object, printed in the roster's heading after the
// county finance bureau (a telephone number, an address), optional.
type NoticeInput struct {
	Plan       string  `json:"plan"`
	CountyCode *string `json:"county_code"`
	Contact    string  `json:"contact"`
}

// NoticeSummary is a notice in lists: what was posted, without its claims.
type NoticeSummary struct {
	ID         string       `json:"id"`
	Plan       string       `json:"plan"`
	CountyCode *string      `json:"county_code"`
	StartsOn   string       `json:"starts_on"`
	EndsOn     string       `json:"ends_on"`
	NoticeDays int          `json:"notice_days"`
	Contact    *string      `json:"contact"`
	Count      int          `json:"count"`
	Total      money.Amount `json:"total"`
	Actor      string       `json:"actor"`
	CreatedAt  string       `json:"created_at"`
}

// NoticeView is a notice in answers: its summary and every claim it lists
// with the amount it showed.
type NoticeView struct {
	NoticeSummary
	Claims []NoticeClaimView `json:"claims"`
}

// NoticeClaimView is one claim of a notice.
type NoticeClaimView struct {
	ClaimID string       `json:"claim_id"`
	Amount  money.Amount `json:"amount"`
}

func noticeSummary(n claims.Notice) NoticeSummary {
	v := NoticeSummary{ID: n.ID, Plan: n.Plan, StartsOn: n.StartsOn, EndsOn: n.EndsOn, NoticeDays: n.NoticeDays,
		Count: n.Count, Total: money.Fen(n.Total), Actor: n.Actor, CreatedAt: web.Timestamp(n.CreatedAt)}
	if n.CountyCode != "" {
		c := n.CountyCode
		v.CountyCode = &c
	}
	if n.Contact != "" {
		c := n.Contact
		v.Contact = &c
	}
	return v
}

func noticeView(n claims.Notice) NoticeView {
	v := NoticeView{NoticeSummary: noticeSummary(n), Claims: make([]NoticeClaimView, len(n.Items))}
	for i, it := range n.Items {
		v.Claims[i] = NoticeClaimView{ClaimID: it.ClaimID, Amount: money.Fen(it.Amount)}
	}
	return v
}

// CreateNotice publishes every approved claim of a plan (and county) that is
// in no notice yet: the notice starts today (China date) and ends on the
// plan's notice_days-th working day after it, by the calendar loaded for
// those years. A plan without a notice period, or with nothing left to
// publish, is 409 invalid_state. A claim's amount in the notice is its
// reservation, or its payable while a pro-rata plan has not settled it.
func (s *Service) CreateNotice(ctx context.Context, who audit.Who, in NoticeInput) (NoticeView, error) {
	var f apperr.Fields
	// As for a disbursement: a blank plan is missing, a malformed one names
	// no plan (404, once the other fields are good).
	unknown := web.CheckPlanCode("plan", in.Plan)
	if apperr.KindOf(unknown) == apperr.ErrValidation {
		f.Add("plan", "is required")
		unknown = nil
	}
	county := ""
	if in.CountyCode != nil {
		if _, ok := policies.Counties[*in.CountyCode]; !ok {
			f.Add("county_code", "not a Nanyang county code")
		}
		county = *in.CountyCode
	}
	if in.Contact != "" {
		web.CheckText(&f, "contact", in.Contact, NoticeContactMax)
	}
	if err := f.Err(); err != nil {
		return NoticeView{}, err
	}
	now := s.now()
	today := civil.Today(now)
	var out NoticeView
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if unknown != nil {
			return unknown
		}
		plan, err := policies.LoadPlan(ctx, tx, in.Plan, false)
		if err != nil {
			return err
		}
		if plan.NoticeDays == 0 {
			return apperr.New(apperr.ErrInvalidState, "plan %s has no notice period (notice_days 0): its claims are disbursed without a notice", plan.Code)
		}
		if county != "" && !plan.CoversCounty(county) {
			return apperr.Invalid("county_code", "plan %s does not cover county %s", plan.Code, county)
		}
		candidates, err := claims.Publishable(ctx, tx, plan.Code, county, MaxNoticeClaims)
		if err != nil {
			return err
		}
		var items []claims.NoticeItem
		var total int64
		if len(candidates) > 0 {
			// Read without a lock: lock them (in id order, as everywhere),
			// then keep those still approved and still unpublished — a
			// concurrent notice or revocation may have taken some.
			states, err := claims.LockStates(ctx, tx, candidates)
			if err != nil {
				return err
			}
			free, err := claims.Unpublished(ctx, tx, candidates)
			if err != nil {
				return err
			}
			for _, st := range states {
				if st.Status != claims.Approved || !free[st.ID] {
					continue
				}
				amount := st.Payable
				if st.Reserved {
					amount = st.ReservedAmount
				}
				items = append(items, claims.NoticeItem{ClaimID: st.ID, Amount: amount})
				total += amount
			}
		}
		if len(items) == 0 {
			where := ""
			if county != "" {
				where = " in county " + county
			}
			return apperr.New(apperr.ErrInvalidState, "plan %s has no approved claim%s that is not in a notice yet", plan.Code, where)
		}
		ends, err := policies.AddWorkingDays(ctx, tx, today, plan.NoticeDays)
		if err != nil {
			return err
		}
		n := claims.Notice{ID: ids.New(now), Plan: plan.Code, CountyCode: county, StartsOn: string(today), EndsOn: string(ends),
			NoticeDays: plan.NoticeDays, Contact: in.Contact, Actor: who.Actor, CreatedAt: now.UnixMilli(),
			Items: items, Count: len(items), Total: total}
		if err := claims.InsertNotice(ctx, tx, n); err != nil {
			return err
		}
		scope := county
		if scope == "" {
			scope = "all counties"
		}
		out = noticeView(n)
		return audit.Write(ctx, tx, now, who, "notice.create", n.ID, fmt.Sprintf("%s %s: %d claims, %s, %s to %s",
			plan.Code, scope, len(items), money.String(money.FromFen(total)), n.StartsOn, n.EndsOn))
	})
	if err != nil {
		s.auditRefusal(ctx, who, "notice.create", in.Plan, err)
	}
	return out, err
}

// Notice returns a notice with its claims.
func (s *Service) Notice(ctx context.Context, id string) (NoticeView, error) {
	var n claims.Notice
	err := s.db.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		n, err = claims.LoadNotice(ctx, tx, id)
		return err
	})
	if err != nil {
		return NoticeView{}, db.Translate(err)
	}
	return noticeView(n), nil
}

// Notices lists notices newest first, of one plan when plan is set; a page of
// lq.Limit (plus one to tell a next page).
func (s *Service) Notices(ctx context.Context, plan string, lq web.ListQuery) ([]NoticeSummary, error) {
	f := claims.NoticeFilter{Plan: plan, Limit: lq.Limit + 1}
	if lq.Cursor != nil {
		f.Before = lq.Cursor[0]
	}
	ns, err := claims.ListNotices(ctx, s.db.DB, f)
	if err != nil {
		return nil, db.Translate(err)
	}
	out := make([]NoticeSummary, len(ns))
	for i, n := range ns {
		out[i] = noticeSummary(n)
	}
	return out, nil
}

// checkPublished is the gate of DESIGN §14 on a disbursement: every claim of
// the batch must have no open objection (objection_open, checked first over
// the whole batch) and, in a plan with a notice period, must be in a notice
// whose period ended before today (notice_pending). details.claim_id names
// the first claim, in id order, that fails. An open objection stops a
// payment in a plan without a notice period too: an objection recorded
// against a claim is there to stop it.
func (s *Service) checkPublished(ctx context.Context, tx *gorm.DB, plan string, states []claims.State, now time.Time) error {
	p, err := policies.LoadPlan(ctx, tx, plan, false)
	if err != nil {
		return err
	}
	claimIDs := make([]string, len(states))
	for i, st := range states {
		claimIDs[i] = st.ID
	}
	pubs, err := claims.Publications(ctx, tx, claimIDs)
	if err != nil {
		return err
	}
	for _, st := range states {
		if pubs[st.ID].OpenObjection {
			return apperr.New(apperr.ErrObjectionOpen, "claim %s has an open objection; resolve it (POST /api/v1/objections/{id}/resolve) before the claim is disbursed", st.ID).
				WithDetails(map[string]any{"claim_id": st.ID})
		}
	}
	if p.NoticeDays == 0 {
		return nil
	}
	today := string(civil.Today(now))
	for _, st := range states {
		switch ends := pubs[st.ID].NoticeEndsOn; {
		case ends == "":
			return apperr.New(apperr.ErrNoticePending, "claim %s has not been published: plan %s pays only after a public notice of %d working days (POST /api/v1/notices)", st.ID, plan, p.NoticeDays).
				WithDetails(map[string]any{"claim_id": st.ID})
		case ends >= today:
			return apperr.New(apperr.ErrNoticePending, "claim %s is under public notice until %s; it can be disbursed from %s", st.ID, ends, civil.Date(ends).AddDays(1)).
				WithDetails(map[string]any{"claim_id": st.ID, "ends_on": ends})
		}
	}
	return nil
}

// ObjectionInput is the body of POST /api/v1/claims/{id}/objections: who
// raised the objection (a person or a village committee, as they gave it)
// and why.
type ObjectionInput struct {
	RaisedBy string `json:"raised_by"`
	Reason   string `json:"reason"`
}

// RaiseObjection records an objection to an approved claim — approved and
// not yet disbursed, whether or not its notice is posted: once the money is
// with the bank there is no payment left to stop. Until the objection is
// resolved the claim cannot be disbursed.
func (s *Service) RaiseObjection(ctx context.Context, who audit.Who, claimID string, in ObjectionInput) (claims.ObjectionView, error) {
	var f apperr.Fields
	web.CheckText(&f, "raised_by", in.RaisedBy, RaisedByMax)
	web.CheckText(&f, "reason", in.Reason, ObjectionReasonMax)
	if err := f.Err(); err != nil {
		return claims.ObjectionView{}, err
	}
	now := s.now()
	var o claims.Objection
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		locked, err := claims.LockStates(ctx, tx, []string{claimID})
		if err != nil {
			return err
		}
		if st := locked[0]; st.Status != claims.Approved {
			return apperr.New(apperr.ErrInvalidState, "claim %s is %s; objections are recorded on approved claims, before they are disbursed", st.ID, st.Status)
		}
		o = claims.Objection{ID: ids.New(now), ClaimID: claimID, Status: claims.ObjectionOpen, RaisedBy: in.RaisedBy,
			Reason: in.Reason, Actor: who.Actor, At: now.UnixMilli()}
		if err := claims.InsertObjection(ctx, tx, o); err != nil {
			return err
		}
		// The claim's answer changed (its objections): so does updated_at.
		if err := claims.Touch(ctx, tx, []string{claimID}, now); err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "objection.create", o.ID, "open on claim "+claimID)
	})
	if err != nil {
		s.auditRefusal(ctx, who, "objection.create", claimID, err)
		return claims.ObjectionView{}, err
	}
	return o.View(), nil
}

// ResolveInput is the body of POST /api/v1/objections/{id}/resolve.
type ResolveInput struct {
	Outcome string `json:"outcome"`
	Note    string `json:"note"`
}

// ResolveObjection resolves an open objection with a note. Upheld revokes
// the claim in the same transaction — declined, its reservation released
// to the available budget with a release ledger entry, as POST …/revoke
// does; a claim already declined stays as it is. Dismissed changes nothing
// else: the claim may be disbursed once no other objection is open and its
// notice has ended. A resolved objection cannot be resolved again (409
// invalid_state).
func (s *Service) ResolveObjection(ctx context.Context, who audit.Who, id string, in ResolveInput) (claims.ObjectionView, error) {
	var f apperr.Fields
	if in.Outcome != claims.ObjectionUpheld && in.Outcome != claims.ObjectionDismissed {
		f.Add("outcome", "must be upheld or dismissed")
	}
	web.CheckText(&f, "note", in.Note, ObjectionNoteMax)
	if err := f.Err(); err != nil {
		return claims.ObjectionView{}, err
	}
	now := s.now()
	var o claims.Objection
	var plan, revokedPlan string // for the counters, once committed
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		plan, revokedPlan = "", ""
		// The claim is locked before the objection, the order every
		// transition on a claim takes, so that resolving never waits in a
		// cycle with a disbursement or a new objection of the same claim.
		first, err := claims.LoadObjection(ctx, tx, id, false)
		if err != nil {
			return err
		}
		locked, err := claims.LockStates(ctx, tx, []string{first.ClaimID})
		if err != nil {
			return err
		}
		if o, err = claims.LoadObjection(ctx, tx, id, true); err != nil {
			return err
		}
		if o.Status != claims.ObjectionOpen {
			return apperr.New(apperr.ErrInvalidState, "objection %s is already %s", id, o.Status)
		}
		st := locked[0]
		plan = st.Plan
		revoked := false
		if in.Outcome == claims.ObjectionUpheld {
			switch st.Status {
			case claims.Approved:
				if err := revokeApproved(tx, who.Actor, &st, now); err != nil {
					return err
				}
				if err := claims.SaveState(ctx, tx, st, now); err != nil {
					return err
				}
				revoked = true
			case claims.Declined:
				// Revoked or declined since the objection was raised: there is
				// nothing left to stop.
			default:
				return apperr.New(apperr.ErrInvalidState, "claim %s is %s; an upheld objection can revoke only an approved claim", st.ID, st.Status)
			}
		}
		o.Status, o.Note, o.ResolvedBy, o.ResolvedAt = in.Outcome, in.Note, who.Actor, now.UnixMilli()
		if err := claims.SaveResolution(ctx, tx, o); err != nil {
			return err
		}
		if !revoked {
			if err := claims.Touch(ctx, tx, []string{st.ID}, now); err != nil {
				return err
			}
		}
		outcome := in.Outcome + " on claim " + st.ID
		if revoked {
			if err := audit.Write(ctx, tx, now, who, "claim.revoke", st.ID, "declined: objection "+id+" upheld"); err != nil {
				return err
			}
			claimID := st.ID
			if err := s.Webhooks.Enqueue(ctx, tx, webhooks.Event{Type: webhooks.ClaimDeclined, Org: st.Org, ClaimID: claimID, At: now,
				Claim: func() (any, error) { return claims.Read(ctx, tx, claimID) }}); err != nil {
				return err
			}
			outcome += ", claim declined"
			revokedPlan = st.Plan
		}
		return audit.Write(ctx, tx, now, who, "objection.resolve", id, outcome)
	})
	if err != nil {
		s.auditRefusal(ctx, who, "objection.resolve", id, err)
		return claims.ObjectionView{}, err
	}
	s.count(plan, "objection_"+in.Outcome, 1)
	if revokedPlan != "" {
		s.count(revokedPlan, "revoked", 1)
	}
	return o.View(), nil
}

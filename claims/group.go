package claims

import (
	"context"
	"net/http"
	"slices"
	"time"

	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/groupcommit"
)

// Single claims are filed in groups. Each claim's transaction would
// otherwise pay its own BEGIN, round trips and commit fsync; claims that
// arrive while a group commits are filed together as the next group, through
// the same pipeline as a batch (households locked in sorted order, history
// read once), with one idempotency row and one audit record per claim,
// written multi-row. Each caller gets exactly the answer its own request
// would have had alone. A group whose transaction fails is filed again one
// claim per transaction.

// fileReq is one validated claim waiting for its group.
type fileReq struct {
	who audit.Who
	key string
	it  *item
}

type fileRes = groupcommit.Result[Answer]

// file hands a validated claim to the group filer and waits for its answer.
// When ctx ends first the group may still file it; a retry with the same
// key replays.
func (s *Service) file(ctx context.Context, who audit.Who, key string, it *item) (Answer, error) {
	return s.filings.Do(ctx, &fileReq{who: who, key: key, it: it})
}

// fileAlone files one claim in its own transaction: a lone request, or one
// of a group whose transaction failed.
func (s *Service) fileAlone(ctx context.Context, r *fileReq) (Answer, error) {
	return s.fileOne(ctx, r.who, r.key, r.it)
}

type idemKey struct{ org, key string }

// fileGroup files a group of claims in one transaction and answers each
// request, in the group's order.
func (s *Service) fileGroup(ctx context.Context, group []*fileReq) ([]fileRes, error) {
	// The first request of each idempotency key leads; a later one with the
	// same key waits for the leader's answer, as it would have alone.
	leaders := map[idemKey]*fileReq{}
	var order []*fileReq
	var followers []*fileReq
	for _, r := range group {
		k := idemKey{r.who.Org, r.key}
		if _, ok := leaders[k]; ok {
			followers = append(followers, r)
			continue
		}
		leaders[k] = r
		order = append(order, r)
	}
	now := s.now()
	var results map[*fileReq]fileRes
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		results, err = s.fileLeaders(ctx, tx, order, now)
		return err
	})
	if err != nil {
		return nil, err // the committer files each request alone
	}
	for _, r := range order {
		res := results[r]
		if res.Err == nil && !res.Value.Replayed {
			s.metrics.stored([]*item{r.it})
		}
	}
	for _, f := range followers {
		l := leaders[idemKey{f.who.Org, f.key}]
		res := results[l]
		switch {
		case res.Err != nil:
			a, err := s.fileOne(ctx, f.who, f.key, f.it)
			results[f] = fileRes{Value: a, Err: err}
		case l.it.in.hash == f.it.in.hash:
			results[f] = fileRes{Value: Answer{Status: res.Value.Status, Body: res.Value.Body, Replayed: true}}
		default:
			results[f] = fileRes{Err: apperr.New(apperr.ErrIdempotencyReused, "Idempotency-Key %q was used with a different body", f.key)}
		}
	}
	out := make([]fileRes, len(group))
	for i, r := range group {
		out[i] = results[r]
	}
	return out, nil
}

// fileLeaders is the body of a group's transaction.
func (s *Service) fileLeaders(ctx context.Context, tx *gorm.DB, leaders []*fileReq, now time.Time) (map[*fileReq]fileRes, error) {
	results := make(map[*fileReq]fileRes, len(leaders))

	// Neither the keys nor the external refs are looked up: the group bets
	// that every request is new, as nearly all are. A retry of a key
	// answered before, or of a ref filed before, fails the group's inserts
	// on their unique keys; the committer then files each request alone
	// (fileOne), which looks both up and replays.
	byOrg := map[string][]*fileReq{}
	for _, r := range leaders {
		byOrg[r.who.Org] = append(byOrg[r.who.Org], r)
	}

	var (
		keys    []idemRecord
		records []audit.Record
	)
	orgs := make([]string, 0, len(byOrg))
	for org := range byOrg {
		orgs = append(orgs, org)
	}
	slices.Sort(orgs)
	for _, org := range orgs {
		rs := byOrg[org]
		items := make([]*item, len(rs))
		for i, r := range rs {
			items[i] = r.it
		}
		if err := s.process(ctx, tx, org, items, now, true, nil); err != nil {
			return nil, err
		}
		for _, r := range rs {
			it := r.it
			switch {
			case it.err != nil:
				results[r] = fileRes{Err: it.err}
			case it.replayed:
				// The same claim under another key: the external_ref is taken.
				results[r] = fileRes{Err: apperr.New(apperr.ErrDuplicateExternalRef, "external_ref %s was already used for claim %s", it.in.ExternalRef, it.rec.ID).
					WithDetails(map[string]any{"claim_id": it.rec.ID})}
			default:
				view, err := it.rec.filedJSON()
				if err != nil {
					return nil, err
				}
				results[r] = fileRes{Value: Answer{Status: http.StatusCreated, Body: view}}
				keys = append(keys, idemRecord{Org: org, IdemKey: r.key, RequestHash: it.in.hash, ClaimID: it.rec.ID,
					StatusCode: http.StatusCreated, CreatedAt: now.UnixMilli()})
				records = append(records, audit.NewRecord(now, r.who, "claim.submit", it.rec.ID, it.rec.Status))
			}
		}
	}
	if len(keys) > 0 {
		if err := insertAnswers(ctx, tx, keys); err != nil {
			return nil, err
		}
		if err := audit.WriteAll(ctx, tx, records); err != nil {
			return nil, err
		}
	}
	return results, nil
}

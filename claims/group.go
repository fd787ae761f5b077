package claims

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/audit"
)

// Single claims are filed in groups. Each claim's transaction would
// otherwise pay its own BEGIN, round trips and commit fsync; claims that
// arrive while a group commits are filed together as the next group, through
// the same pipeline as a batch (households locked in sorted order, history
// read once), with one idempotency row and one audit record per claim,
// written multi-row. Each caller gets exactly the answer its own request
// would have had alone. A group whose transaction fails is filed again one
// claim per transaction.

const (
	filerWorkers = 4  // groups in flight at once
	maxFiling    = 64 // claims per group
)

type fileReq struct {
	who  audit.Who
	key  string
	it   *item
	done chan fileRes
}

type fileRes struct {
	answer Answer
	err    error
}

// file hands a validated claim to the group filer and waits for its answer.
func (s *Service) file(ctx context.Context, who audit.Who, key string, it *item) (Answer, error) {
	s.startFiler.Do(func() {
		s.filings = make(chan *fileReq, 4096)
		for range filerWorkers {
			go s.filer()
		}
	})
	r := &fileReq{who: who, key: key, it: it, done: make(chan fileRes, 1)}
	select {
	case s.filings <- r:
	case <-ctx.Done():
		return Answer{}, ctx.Err()
	}
	select {
	case res := <-r.done:
		return res.answer, res.err
	case <-ctx.Done():
		// The group may still file it; a retry with the same key replays.
		return Answer{}, ctx.Err()
	}
}

func (s *Service) filer() {
	for first := range s.filings {
		group := []*fileReq{first}
	fill:
		for len(group) < maxFiling {
			select {
			case r := <-s.filings:
				group = append(group, r)
			default:
				break fill
			}
		}
		s.fileGroup(group)
	}
}

type idemKey struct{ org, key string }

func (s *Service) fileGroup(group []*fileReq) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if len(group) == 1 {
		r := group[0]
		a, err := s.fileOne(ctx, r.who, r.key, r.it)
		r.done <- fileRes{a, err}
		return
	}
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
		results = map[*fileReq]fileRes{}
		for _, r := range order {
			a, err := s.fileOne(ctx, r.who, r.key, r.it)
			results[r] = fileRes{a, err}
		}
	} else {
		for _, r := range order {
			res := results[r]
			if res.err == nil && !res.answer.Replayed {
				s.metrics.stored([]*item{r.it})
			}
			// The external_ref was taken by a claim another group committed
			// after this group read the stored keys: if that claim was filed
			// under this request's own key, this is a retry and replays.
			if apperr.KindOf(res.err) == apperr.ErrDuplicateExternalRef {
				if a, err := s.replay(ctx, r.who.Org, r.key, r.it.in.hash); err != nil || a != nil {
					results[r] = fileRes{deref(a), err}
				}
			}
		}
	}
	for _, r := range order {
		r.done <- results[r]
	}
	for _, f := range followers {
		l := leaders[idemKey{f.who.Org, f.key}]
		res := results[l]
		switch {
		case res.err != nil:
			a, err := s.fileOne(ctx, f.who, f.key, f.it)
			f.done <- fileRes{a, err}
		case l.it.in.hash == f.it.in.hash:
			f.done <- fileRes{answer: Answer{Status: res.answer.Status, Body: res.answer.Body, Replayed: true}}
		default:
			f.done <- fileRes{err: apperr.New(apperr.ErrIdempotencyReused, "Idempotency-Key %q was used with a different body", f.key)}
		}
	}
}

// fileLeaders is the body of a group's transaction.
func (s *Service) fileLeaders(ctx context.Context, tx *gorm.DB, leaders []*fileReq, now time.Time) (map[*fileReq]fileRes, error) {
	results := make(map[*fileReq]fileRes, len(leaders))

	// Keys answered already (a retry that raced past Submit's check).
	q := tx.WithContext(ctx).Model(&idemRecord{})
	cond := tx.Session(&gorm.Session{NewDB: true})
	for i, r := range leaders {
		if i == 0 {
			cond = cond.Where("org = ? AND idem_key = ?", r.who.Org, r.key)
		} else {
			cond = cond.Or("org = ? AND idem_key = ?", r.who.Org, r.key)
		}
	}
	var stored []idemRecord
	if err := q.Where(cond).Find(&stored).Error; err != nil {
		return nil, err
	}
	answered := make(map[idemKey]idemRecord, len(stored))
	for _, st := range stored {
		answered[idemKey{st.Org, st.IdemKey}] = st
	}
	byOrg := map[string][]*fileReq{}
	for _, r := range leaders {
		if st, ok := answered[idemKey{r.who.Org, r.key}]; ok {
			if st.RequestHash == r.it.in.hash {
				results[r] = fileRes{answer: Answer{Status: st.StatusCode, Body: []byte(st.Response), Replayed: true}}
			} else {
				results[r] = fileRes{err: apperr.New(apperr.ErrIdempotencyReused, "Idempotency-Key %q was used with a different body", r.key).
					WithDetails(map[string]any{"claim_id": st.ClaimID})}
			}
			continue
		}
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
		if err := s.process(ctx, tx, org, items, now); err != nil {
			return nil, err
		}
		for _, r := range rs {
			it := r.it
			switch {
			case it.err != nil:
				results[r] = fileRes{err: it.err}
			case it.replayed:
				// The same claim under another key: the external_ref is taken.
				results[r] = fileRes{err: apperr.New(apperr.ErrDuplicateExternalRef, "external_ref %s was already used for claim %s", it.in.ExternalRef, it.rec.ID).
					WithDetails(map[string]any{"claim_id": it.rec.ID})}
			default:
				view, err := json.Marshal(it.rec.view(nil))
				if err != nil {
					return nil, err
				}
				results[r] = fileRes{answer: Answer{Status: http.StatusCreated, Body: view}}
				keys = append(keys, idemRecord{Org: org, IdemKey: r.key, RequestHash: it.in.hash, ClaimID: it.rec.ID,
					StatusCode: http.StatusCreated, Response: string(view), CreatedAt: now.UnixMilli()})
				records = append(records, audit.NewRecord(now, r.who, "claim.submit", it.rec.ID, it.rec.Status))
			}
		}
	}
	if len(keys) > 0 {
		if err := tx.Create(&keys).Error; err != nil {
			return nil, err
		}
		if err := tx.Create(&records).Error; err != nil {
			return nil, err
		}
	}
	return results, nil
}

package claims

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/civil"
	"huimin/internal/db"
	"huimin/internal/groupcommit"
	"huimin/internal/web"
	"huimin/internal/webhooks"
	"huimin/policies"
)

// Service is the claims pipeline and its reads and actions.
type Service struct {
	db      *db.DB
	now     func() time.Time
	metrics *metrics
	plans   *policies.Plans

	filings *groupcommit.Committer[*fileReq, Answer]

	// Webhooks receives claim.assessed and claim.rejected in the
	// transaction that files the claim (an outbox); nil sends nothing.
	Webhooks *webhooks.Service

	transitions *Transitions
}

// New returns the claims service, which reads plans through plans;
// metrics register on reg.
func New(d *db.DB, now func() time.Time, reg prometheus.Registerer, plans *policies.Plans) *Service {
	s := &Service{db: d, now: now, metrics: newMetrics(reg), plans: plans, transitions: newTransitions(reg)}
	// Linger: with 32 clients and no wait, half of all groups were one
	// claim (the next arrival, taken by a worker the moment it freed), so
	// half the commits carried a tenth of the claims. Waiting up to 4 ms
	// while other groups commit made groups of 7.6 instead of 4.8 and
	// single claims 15-20 % faster, with a lower p99 (BENCHMARKS.md).
	s.filings = groupcommit.New(groupcommit.Config{Workers: 4, MaxGroup: 64, Timeout: 30 * time.Second, Linger: 4 * time.Millisecond},
		s.fileGroup, s.fileAlone)
	return s
}

// Close stops the claim filing workers.
func (s *Service) Close() { s.filings.Close() }

type metrics struct {
	claims     *prometheus.CounterVec
	assessment prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "huimin_claims_total", Help: "Claims stored, by plan and the status they were stored in.",
		}, []string{"plan", "status"}),
		assessment: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "huimin_claim_assessment_seconds", Help: "Time to check eligibility and assess one claim, its data loaded.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 4, 10),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.claims, m.assessment)
	}
	return m
}

func (m *metrics) assessed(d time.Duration) { m.assessment.Observe(d.Seconds()) }

func (m *metrics) stored(items []*item) {
	for _, it := range items {
		if it.rec != nil && !it.replayed {
			m.claims.WithLabelValues(it.rec.PlanCode, it.rec.Status).Inc()
		}
	}
}

// Submit files one claim under an idempotency key scoped to the insurer's
// org: the same key and body replays the first answer; the same key with
// another body is 409 idempotency_key_reused. Concurrent requests with one
// key create exactly one claim: the key's row is inserted in the claim's
// transaction, and the loser of the race replays the winner's answer.
func (s *Service) Submit(ctx context.Context, who audit.Who, key string, body []byte) (Answer, error) {
	if key == "" || len(key) > 128 || strings.ContainsFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return Answer{}, apperr.New(apperr.ErrBadRequest, "the Idempotency-Key header is required: 1 to 128 printable ASCII characters")
	}
	// Stored answers are not read up front: the group's transaction reads
	// the keys it files (and fileOne replays after a duplicate), so a retry
	// is answered as before without a round trip for every new claim. A
	// request refused at intake still looks for a stored answer first, so
	// a retry is answered as before even if, say, the plan closed since.
	refused := func(err error) (Answer, error) {
		if a, rerr := s.replay(ctx, who.Org, key, requestHash(body)); rerr != nil || a != nil {
			return deref(a), rerr
		}
		return Answer{}, err
	}
	in, err := decodeInput(body)
	if err != nil {
		return refused(err)
	}
	now := s.now()
	plans := map[string]policies.Plan{}
	plan, err := planFor(ctx, s.plans, plans, in.Plan)
	if err != nil {
		return refused(err)
	}
	c, errs := check(in, plan, now)
	if err := errs.Err(); err != nil {
		return refused(err)
	}
	c.hash = decodedHash(body)
	return s.file(ctx, who, key, &item{body: body, in: c, plan: plan})
}

// fileOne files one validated claim in its own transaction: the path for a
// lone request, and for each request of a group whose transaction failed.
func (s *Service) fileOne(ctx context.Context, who audit.Who, key string, it *item) (Answer, error) {
	hash, in, now := it.in.hash, it.in.Input, s.now()
	var answer Answer
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.process(ctx, tx, who.Org, []*item{it}, now, false, nil); err != nil {
			return err
		}
		if it.replayed {
			// The same claim under a new key: the external_ref is taken.
			return apperr.New(apperr.ErrDuplicateExternalRef, "external_ref %s was already used for claim %s", in.ExternalRef, it.rec.ID).
				WithDetails(map[string]any{"claim_id": it.rec.ID})
		}
		if it.err != nil {
			return it.err
		}
		view, err := it.rec.filedJSON()
		if err != nil {
			return err
		}
		answer = Answer{Status: http.StatusCreated, Body: view}
		if err := insertAnswers(ctx, tx, []idemRecord{{Org: who.Org, IdemKey: key, RequestHash: hash, ClaimID: it.rec.ID,
			StatusCode: answer.Status, CreatedAt: now.UnixMilli()}}); err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "claim.submit", it.rec.ID, it.rec.Status)
	})
	if db.IsDuplicate(err) || apperr.KindOf(err) == apperr.ErrDuplicateExternalRef {
		// Lost a race on the key or the external_ref — either at insert, or
		// by reading the winner's committed claim before its key was seen:
		// answer as the winner's retry would be answered. Only when the key
		// is still unused is the external_ref taken by another request.
		if a, rerr := s.replay(ctx, who.Org, key, hash); rerr != nil || a != nil {
			return deref(a), rerr
		}
	}
	if db.IsDuplicate(err) {
		if prev, err := claimIDByRef(ctx, s.db.DB, who.Org, in.ExternalRef); err == nil {
			return Answer{}, apperr.New(apperr.ErrDuplicateExternalRef, "external_ref %s was already used for claim %s", in.ExternalRef, prev).
				WithDetails(map[string]any{"claim_id": prev})
		}
	}
	if err != nil {
		return Answer{}, err
	}
	s.metrics.stored([]*item{it})
	return answer, nil
}

func deref(a *Answer) Answer {
	if a == nil {
		return Answer{}
	}
	return *a
}

// replay returns the stored answer of (org, key), 409 when the key was used
// with another body, or nil when the key is new.
func (s *Service) replay(ctx context.Context, org, key, hash string) (*Answer, error) {
	r, found, err := storedAnswer(ctx, s.db.DB, org, key)
	if err != nil || !found {
		return nil, db.Translate(err)
	}
	if r.RequestHash != hash {
		return nil, apperr.New(apperr.ErrIdempotencyReused, "Idempotency-Key %q was used with a different body", key).
			WithDetails(map[string]any{"claim_id": r.ClaimID})
	}
	a, err := answerOf(ctx, s.db.DB, r)
	if err != nil {
		return nil, db.Translate(err)
	}
	return &a, nil
}

// MaxBatch is the most claims one batch may carry.
const MaxBatch = 10000

// batchChunk is how many claims share one transaction: big enough to make
// round trips cheap, small enough to keep locks short.
const batchChunk = 250

// BatchResult is one claim's outcome in a batch.
type BatchResult struct {
	Index       int            `json:"index"`
	Status      string         `json:"status"` // created | replayed | failed
	ClaimID     string         `json:"claim_id,omitempty"`
	ClaimStatus string         `json:"claim_status,omitempty"`
	Payable     *string        `json:"payable,omitempty"`
	Error       *EnvelopeError `json:"error,omitempty"`
}

// EnvelopeError is the error object of a failed batch item: the same object
// as a whole answer's envelope (DESIGN §11), rendered by web.ErrorObject.
type EnvelopeError = web.EnvelopeError

// BatchAnswer is the answer to POST /api/v1/claim-batches.
type BatchAnswer struct {
	Results []BatchResult `json:"results"`
	Summary struct {
		Created  int `json:"created"`
		Replayed int `json:"replayed"`
		Failed   int `json:"failed"`
	} `json:"summary"`
}

// SubmitBatch files up to MaxBatch claims, idempotent per external_ref: a
// claim already filed with the same body is replayed; with another body it
// fails with duplicate_external_ref. Each claim is checked on its own; bad
// ones fail without stopping the others. Claims are processed in chunks, one
// transaction each, in the batch's order; a household another transaction
// holds is filed after the other chunks, its claims still in the batch's
// order (fileChunk, lockFreeHouseholds).
func (s *Service) SubmitBatch(ctx context.Context, who audit.Who, bodies [][]byte) (BatchAnswer, error) {
	if len(bodies) == 0 {
		return BatchAnswer{}, apperr.Invalid("claims", "must hold at least one claim")
	}
	if len(bodies) > MaxBatch {
		return BatchAnswer{}, apperr.Invalid("claims", "at most %d claims per batch, got %d", MaxBatch, len(bodies))
	}
	now := s.now()
	// A chunk's items are made when a worker takes the chunk, and dropped
	// once it is stored, so that only the chunks in flight hold them.
	chunks := make([][]*item, (len(bodies)+batchChunk-1)/batchChunk)
	newChunk := func(k int) []*item {
		lo, hi := k*batchChunk, min((k+1)*batchChunk, len(bodies))
		chunk := make([]*item, hi-lo)
		for j := range chunk {
			chunk[j] = &item{index: lo + j, body: bodies[lo+j]}
		}
		return chunk
	}

	// Intake is CPU work without the database: workers check the chunks
	// ahead of the transactions below, which take each chunk as soon as it
	// is checked, so the two overlap.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		plansMu sync.Mutex
		plans   = map[string]policies.Plan{}
		failed  atomic.Pointer[error] // the database failed during intake
		next    atomic.Int64
		checked = make([]chan struct{}, len(chunks))
	)
	for k := range checked {
		checked[k] = make(chan struct{})
	}
	planOf := func(code string) (policies.Plan, error) {
		plansMu.Lock()
		defer plansMu.Unlock()
		return planFor(ctx, s.plans, plans, code)
	}
	// The workers keep at most ahead chunks checked but not yet stored, so
	// that a large batch is not decoded all at once: a worker takes a token
	// before it takes the next chunk, and the loop below gives one back
	// once a chunk is stored. When ctx is done they stop waiting for tokens
	// (and skip intake), as before.
	workers := min(runtime.GOMAXPROCS(0), len(chunks))
	ahead := make(chan struct{}, workers+1)
	release := func() {
		select {
		case <-ahead:
		default:
		}
	}
	for range workers {
		go func() {
			for {
				select {
				case ahead <- struct{}{}:
				case <-ctx.Done():
				}
				k := int(next.Add(1) - 1)
				if k >= len(chunks) {
					release()
					return
				}
				chunks[k] = newChunk(k)
				if ctx.Err() == nil {
					if err := s.intake(chunks[k], planOf, now); err != nil {
						failed.CompareAndSwap(nil, &err)
					}
				}
				close(checked[k])
			}
		}()
	}

	var ans BatchAnswer
	ans.Results = make([]BatchResult, len(bodies))

	// Households another transaction holds are skipped rather than waited
	// for (process, busy), and their claims filed after the batch's other
	// chunks, in the batch's order, waiting for the locks then.
	busy := map[string]bool{}
	var deferred []*item
	for k := range chunks {
		<-checked[k]
		chunk := chunks[k]
		if errp := failed.Load(); errp != nil {
			return BatchAnswer{}, *errp
		}
		if err := s.fileChunk(ctx, who, chunk, now, busy, fmt.Sprintf("items %d-%d", chunk[0].index, chunk[len(chunk)-1].index)); err != nil {
			return BatchAnswer{}, err
		}
		// The chunk is committed: keep only its answer, and let go of its
		// items (body, decoded input, record).
		for _, it := range chunk {
			if it.deferred {
				deferred = append(deferred, it)
				continue
			}
			ans.Results[it.index] = batchResult(it, &ans)
		}
		chunks[k] = nil
		release()
	}
	for start := 0; start < len(deferred); start += batchChunk {
		chunk := deferred[start:min(start+batchChunk, len(deferred))]
		if err := s.fileChunk(ctx, who, chunk, now, nil, fmt.Sprintf("items %d-%d, deferred", chunk[0].index, chunk[len(chunk)-1].index)); err != nil {
			return BatchAnswer{}, err
		}
		for _, it := range chunk {
			ans.Results[it.index] = batchResult(it, &ans)
		}
	}
	return ans, nil
}

// fileChunk files one chunk of a batch in one transaction, with its audit
// record (target: which items), skipping the households in busy and those
// other transactions hold (see process) unless busy is nil.
func (s *Service) fileChunk(ctx context.Context, who audit.Who, chunk []*item, now time.Time, busy map[string]bool, target string) error {
	var err error
	for attempt := 0; attempt < maxChunkAttempts; attempt++ {
		err = s.db.Tx(ctx, func(tx *gorm.DB) error {
			if err := s.process(ctx, tx, who.Org, chunk, now, false, busy); err != nil {
				return err
			}
			created := 0
			for _, it := range chunk {
				if it.rec != nil && !it.replayed {
					created++
				}
			}
			if created == 0 {
				return nil
			}
			return audit.Write(ctx, tx, now, who, "claim.batch", target, fmt.Sprintf("created=%d", created))
		})
		// A concurrent batch filed some of the same external refs: the next
		// attempt sees them and replays. Since chunks skip held households,
		// one chunk's refs may be filed by several other transactions that
		// commit one after another, so one retry is not always enough.
		if err == nil || !db.IsDuplicate(err) {
			break
		}
	}
	if db.IsDuplicate(err) {
		return apperr.New(apperr.ErrUnavailable, "concurrent batches are filing the same claims; retry the batch, which replays what was filed")
	}
	if err != nil {
		return db.Translate(err)
	}
	s.metrics.stored(chunk)
	return nil
}

// maxChunkAttempts bounds the attempts of a chunk whose external refs other
// transactions are filing at the same time (each attempt waits for them on
// the household locks, then sees what they filed).
const maxChunkAttempts = 5

// batchResult is a stored item's result, counted in ans's summary.
func batchResult(it *item, ans *BatchAnswer) BatchResult {
	r := BatchResult{Index: it.index}
	switch {
	case it.err != nil:
		r.Status = "failed"
		eo := web.ErrorObject(it.err)
		r.Error = &eo
		ans.Summary.Failed++
	case it.replayed:
		r.Status = "replayed"
		ans.Summary.Replayed++
	default:
		r.Status = "created"
		ans.Summary.Created++
	}
	if it.rec != nil && it.err == nil {
		p := moneyString(it.rec.Payable)
		r.ClaimID, r.ClaimStatus, r.Payable = it.rec.ID, it.rec.Status, &p
	}
	return r
}

// intake decodes and checks one chunk's claims, recording each failure on
// its item. It returns an error only when the database fails, which fails
// the whole batch.
func (s *Service) intake(chunk []*item, planOf func(string) (policies.Plan, error), now time.Time) error {
	for _, it := range chunk {
		in, err := decodeInput(it.body)
		if err != nil {
			it.err = err
			continue
		}
		plan, err := planOf(in.Plan)
		if err != nil {
			if apperr.KindOf(err) == apperr.ErrUnavailable {
				return err
			}
			it.err = err
			continue
		}
		c, errs := check(in, plan, now)
		if err := errs.Err(); err != nil {
			it.err = err
			continue
		}
		c.hash = decodedHash(it.body)
		it.in, it.plan = c, plan
	}
	return nil
}

// Get returns a claim; an insurer sees only its own org's claims (another
// org's claim is not found).
func (s *Service) Get(ctx context.Context, org, id string) (View, error) {
	rec, err := loadClaim(ctx, s.db.DB, org, id, false)
	if err != nil {
		return View{}, db.Translate(err)
	}
	approvals, err := loadApprovals(ctx, s.db.DB, []string{id})
	if err != nil {
		return View{}, db.Translate(err)
	}
	v := []View{rec.view(approvals[id])}
	if err := annotate(ctx, s.db.DB, v); err != nil {
		return View{}, db.Translate(err)
	}
	return v[0], nil
}

// Filter narrows a claim list (DESIGN §11). From and To bound the submission
// date in China time, both inclusive.
type Filter struct {
	Org, Plan, Status, CountyCode, BeneficiaryID string
	From, To                                     civil.Date
	Before                                       string // cursor: the last id of the previous page
	Limit                                        int
}

// List returns claims newest first. Claim ids are ULIDs that grow with time,
// so the keyset (id < cursor) stays correct while claims are inserted: new
// claims appear before the first page, never inside a later one.
func (s *Service) List(ctx context.Context, f Filter) ([]View, error) {
	recs, err := listClaims(ctx, s.db.DB, f)
	if err != nil {
		return nil, db.Translate(err)
	}
	views, err := viewsOf(ctx, s.db.DB, recs)
	if err != nil {
		return nil, db.Translate(err)
	}
	return views, nil
}

// Withdraw withdraws an assessed claim of the insurer's org. It is no longer
// counted toward accumulation or caps.
func (s *Service) Withdraw(ctx context.Context, who audit.Who, id string) (View, error) {
	now := s.now()
	var rec record
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if rec, err = loadClaim(ctx, tx, who.Org, id, true); err != nil {
			return err
		}
		if rec.Status != Assessed {
			return apperr.New(apperr.ErrInvalidState, "claim %s is %s; only assessed claims can be withdrawn", id, rec.Status)
		}
		rec.Status, rec.Counted, rec.UpdatedAt = Withdrawn, false, now.UnixMilli()
		if err := saveStatus(ctx, tx, id, Withdrawn, now); err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "claim.withdraw", id, Withdrawn)
	})
	if err != nil {
		return View{}, err
	}
	s.transitions.Count(rec.PlanCode, "withdrawn", 1)
	approvals, err := loadApprovals(ctx, s.db.DB, []string{id})
	if err != nil {
		return View{}, db.Translate(err)
	}
	return rec.view(approvals[id]), nil
}

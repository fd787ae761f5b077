package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"huimin/internal/audit"
	"huimin/internal/db"
	"huimin/internal/testdb"
)

// The worker on both databases, stepped with RunOnce and a test clock.

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// start is 2026-06-15 10:00 in China.
var start = time.Date(2026, 6, 15, 2, 0, 0, 0, time.UTC)

var admin = audit.Who{Actor: "admin", Role: "admin"}

// receipt is one request a receiver got.
type receipt struct {
	delivery, event, timestamp, signature string
	body                                  []byte
}

// receiver is a test receiver that deduplicates by delivery id, as the
// README tells integrators to: it applies a delivery's effect (one more
// payment noted for the claim) only the first time it sees its id. Its
// answer to each request comes from status (200 when nil).
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	secret string
	status func(n int, r receipt) int

	mu       sync.Mutex
	got      []receipt
	seen     map[string]bool // delivery ids whose effect was applied
	effects  map[string]int  // claim id → effects applied
	inFlight map[string]int  // delivery id → requests being answered now
	overlap  atomic.Int64    // requests that found their delivery already in flight
	bad      []string        // problems found with requests (checked at cleanup)
	hold     time.Duration   // how long each request is held
	clock    func() time.Time
}

func newReceiver(t testing.TB, status func(n int, r receipt) int) *receiver {
	rc := &receiver{t: t, status: status, seen: map[string]bool{}, effects: map[string]int{}, inFlight: map[string]int{}, clock: time.Now}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	t.Cleanup(func() {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		require.Empty(t, rc.bad, "requests the receiver found wrong")
	})
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := receipt{delivery: r.Header.Get(HeaderDelivery), event: r.Header.Get(HeaderEvent),
		timestamp: r.Header.Get(HeaderTimestamp), signature: r.Header.Get(HeaderSignature), body: body}
	rc.mu.Lock()
	n := len(rc.got)
	rc.got = append(rc.got, rec)
	if rc.inFlight[rec.delivery] > 0 {
		rc.overlap.Add(1)
	}
	rc.inFlight[rec.delivery]++
	var p Payload
	switch {
	case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
		rc.bad = append(rc.bad, "not a JSON POST")
	case rc.secret != "" && Verify(rc.secret, rec.timestamp, rec.signature, body, rc.clock(), 5*time.Minute) != nil:
		rc.bad = append(rc.bad, "bad signature on "+rec.delivery)
	case json.Unmarshal(body, &p) != nil || p.ID != rec.delivery || p.Event != rec.event:
		rc.bad = append(rc.bad, "the body does not match the headers: "+string(body))
	}
	rc.mu.Unlock()
	time.Sleep(rc.hold)
	code := http.StatusOK
	if rc.status != nil {
		code = rc.status(n, rec)
	}
	rc.mu.Lock()
	rc.inFlight[rec.delivery]--
	if code/100 == 2 && !rc.seen[rec.delivery] {
		rc.seen[rec.delivery] = true
		var c struct{ ID string }
		_ = json.Unmarshal(p.Claim, &c)
		rc.effects[c.ID]++
	}
	rc.mu.Unlock()
	w.WriteHeader(code)
}

func (rc *receiver) receipts() []receipt {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receipt(nil), rc.got...)
}

func (rc *receiver) effectsOf(claimID string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.effects[claimID]
}

// env is a webhook service on a test database with a test clock and no
// jitter (Jitter 0.5 scales every wait by exactly 1).
type env struct {
	d     *db.DB
	clock *clock
	svc   *Service
}

func newEnv(t testing.TB, d *db.DB, cfg Config) *env {
	t.Helper()
	c := &clock{t: start}
	if cfg.Now == nil {
		cfg.Now = c.Now
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func() float64 { return 0.5 }
	}
	svc := New(d, cfg)
	t.Cleanup(svc.Close)
	return &env{d: d, clock: c, svc: svc}
}

// subscribe registers url for org and events and returns the view with
// its secret.
func (e *env) subscribe(t testing.TB, org, url string, events ...string) View {
	t.Helper()
	v, err := e.svc.Create(context.Background(), admin, NewInput{Org: org, URL: url, Events: events})
	require.NoError(t, err)
	require.NotEmpty(t, v.Secret)
	return v
}

// change commits a state change of claim id: a stand-in row of its own
// (an audit record) and the event, in one transaction, like the claims
// and payouts services do.
func (e *env) change(t testing.TB, event, org, claimID string) {
	t.Helper()
	err := e.d.Tx(context.Background(), func(tx *gorm.DB) error {
		if err := audit.Write(context.Background(), tx, e.clock.Now(), admin, "claim.test", claimID, event); err != nil {
			return err
		}
		return e.svc.Enqueue(context.Background(), tx, Event{Type: event, Org: org, ClaimID: claimID, At: e.clock.Now(), Claim: claimJSON(claimID, event)})
	})
	require.NoError(t, err)
}

func claimJSON(id, event string) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "org": "picc", "status": event, "payable": "100.00"})
	return b
}

func (e *env) run(t testing.TB) int {
	t.Helper()
	n, err := e.svc.RunOnce(context.Background())
	require.NoError(t, err)
	return n
}

func (e *env) deliveries(t testing.TB) []delivery {
	t.Helper()
	var ds []delivery
	require.NoError(t, e.d.Order("id").Find(&ds).Error)
	return ds
}

func (e *env) attempts(t testing.TB, deliveryID string) []attempt {
	t.Helper()
	as, err := attemptsOf(context.Background(), e.d.DB, []string{deliveryID})
	require.NoError(t, err)
	return as[deliveryID]
}

// TestSignatureMatchesAnIndependentHMAC: the signature is the one openssl
// computes (printf '%s' '1781488800.{"id":"x"}' | openssl dgst -sha256
// -hmac whsec_test), and Verify refuses a changed body, another secret, a
// stale timestamp and a malformed one.
func TestSignatureMatchesAnIndependentHMAC(t *testing.T) {
	body := []byte(`{"id":"x"}`)
	sig := Sign("whsec_test", 1781488800, body)
	require.Equal(t, "v1=1b9c2f4ac83a1da741781c16540e70374db453895140389f8a8874a168fd0a9e", sig)

	at := time.Unix(1781488800, 0)
	require.NoError(t, Verify("whsec_test", "1781488800", sig, body, at.Add(time.Minute), 5*time.Minute))
	require.NoError(t, Verify("whsec_test", "1781488800", "v0=abc, "+sig, body, at, 5*time.Minute), "any v1= of a list")
	require.Error(t, Verify("whsec_test", "1781488800", sig, []byte(`{"id":"y"}`), at, 5*time.Minute), "another body")
	require.Error(t, Verify("whsec_other", "1781488800", sig, body, at, 5*time.Minute), "another secret")
	require.Error(t, Verify("whsec_test", "1781488801", sig, body, at, 5*time.Minute), "another timestamp")
	require.Error(t, Verify("whsec_test", "1781488800", sig, body, at.Add(6*time.Minute), 5*time.Minute), "stale")
	require.Error(t, Verify("whsec_test", "soon", sig, body, at, 5*time.Minute), "not a number")
}

// TestBackoffDoublesToItsCap: 10 s, 20 s, 40 s … up to 1 h, the jitter
// spreading each by at most 20 % and never past the cap.
func TestBackoffDoublesToItsCap(t *testing.T) {
	jitter := 0.5
	s := New(nil, Config{Jitter: func() float64 { return jitter }})
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second,
		320 * time.Second, 640 * time.Second, 1280 * time.Second, 2560 * time.Second, time.Hour, time.Hour, time.Hour}
	for i, w := range want {
		require.Equal(t, w, s.Backoff(i+1), "after failure %d", i+1)
	}
	jitter = 0
	require.Equal(t, 8*time.Second, s.Backoff(1), "at most 20 % shorter")
	require.Equal(t, 48*time.Minute, s.Backoff(30))
	jitter = 0.999
	require.InDelta(t, float64(12*time.Second), float64(s.Backoff(1)), float64(10*time.Millisecond), "at most 20 % longer")
	require.Equal(t, time.Hour, s.Backoff(30), "never past the cap")

	total := time.Duration(0)
	jitter = 0.5
	for tries := 1; tries < 24; tries++ {
		total += s.Backoff(tries)
	}
	require.InDelta(t, 15.4, total.Hours(), 0.1, "the default 24 attempts span about 15 hours, as documented")
}

// TestAFailingReceiverGetsOneDeliveryUntilItSucceeds: a receiver that fails
// twice and then answers 200 gets the same delivery id and body, signed
// anew, on each attempt, on the backoff schedule of the injected clock;
// every attempt is recorded; its deduplication applies the change once,
// and a replay reaches it again under the same id without a second effect.
func TestAFailingReceiverGetsOneDeliveryUntilItSucceeds(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		rc := newReceiver(t, func(n int, _ receipt) int {
			if n < 2 {
				return http.StatusInternalServerError
			}
			return http.StatusNoContent
		})
		e := newEnv(t, d, Config{Client: rc.srv.Client()})
		rc.clock = e.clock.Now
		sub := e.subscribe(t, "picc", rc.srv.URL+"/hooks", ClaimPaid)
		rc.secret = sub.Secret

		e.change(t, ClaimPaid, "picc", "CLAIM-1")
		ds := e.deliveries(t)
		require.Len(t, ds, 1)
		id := ds[0].ID

		require.Equal(t, 1, e.run(t), "due at once")
		require.Equal(t, 0, e.run(t), "not due again before its backoff")
		d1 := e.deliveries(t)[0]
		require.Equal(t, StatusPending, d1.Status)
		require.Equal(t, start.Add(10*time.Second).UnixMilli(), d1.NextAttemptAt, "the first retry waits 10 s")
		require.Equal(t, 500, d1.LastStatusCode)

		e.clock.Advance(9 * time.Second)
		require.Equal(t, 0, e.run(t))
		e.clock.Advance(time.Second)
		require.Equal(t, 1, e.run(t), "the second attempt at 10 s")
		require.Equal(t, start.Add(30*time.Second).UnixMilli(), e.deliveries(t)[0].NextAttemptAt, "the second retry waits 20 s")
		e.clock.Advance(20 * time.Second)
		require.Equal(t, 1, e.run(t), "the third attempt at 30 s")

		final := e.deliveries(t)[0]
		require.Equal(t, StatusDelivered, final.Status)
		require.Equal(t, 3, final.Attempts)
		require.Equal(t, start.Add(30*time.Second).UnixMilli(), *final.DeliveredAt)
		as := e.attempts(t, id)
		require.Len(t, as, 3)
		for i, want := range []struct {
			code    int
			outcome string
			at      time.Duration
		}{{500, "failed", 0}, {500, "failed", 10 * time.Second}, {204, "delivered", 30 * time.Second}} {
			require.Equal(t, want.code, as[i].StatusCode, "attempt %d", i+1)
			require.Equal(t, want.outcome, as[i].Outcome, "attempt %d", i+1)
			require.Equal(t, start.Add(want.at).UnixMilli(), as[i].At, "attempt %d", i+1)
		}

		got := rc.receipts()
		require.Len(t, got, 3)
		for i, r := range got {
			require.Equal(t, id, r.delivery, "attempt %d carries the delivery id", i+1)
			require.Equal(t, got[0].body, r.body, "attempt %d sends the same body", i+1)
			require.Equal(t, ClaimPaid, r.event)
		}
		require.NotEqual(t, got[0].timestamp, got[2].timestamp, "each attempt is signed when it is sent")
		var p Payload
		require.NoError(t, json.Unmarshal(got[0].body, &p))
		require.Equal(t, Payload{ID: id, Event: ClaimPaid, OccurredAt: "2026-06-15T02:00:00.000Z", Claim: p.Claim}, p)
		require.JSONEq(t, string(claimJSON("CLAIM-1", ClaimPaid)), string(p.Claim), "the claim as the caller rendered it")
		require.Equal(t, 1, rc.effectsOf("CLAIM-1"), "the receiver's deduplication applied it once")

		// Replayed: the same id again, one more attempt, no second effect.
		e.clock.Advance(time.Minute)
		v, err := e.svc.Replay(context.Background(), admin, id)
		require.NoError(t, err)
		require.Equal(t, StatusPending, v.Status)
		require.Len(t, v.Attempts, 3)
		require.Equal(t, 1, e.run(t))
		got = rc.receipts()
		require.Len(t, got, 4)
		require.Equal(t, id, got[3].delivery)
		require.Equal(t, got[0].body, got[3].body)
		require.Equal(t, 1, rc.effectsOf("CLAIM-1"), "a replay is absorbed by the deduplication")
		require.Len(t, e.attempts(t, id), 4)
		require.Equal(t, 4, e.deliveries(t)[0].Attempts)
	})
}

// TestADeadDeliveryWaitsForAReplay: with MaxAttempts 3 a receiver that
// always fails gets exactly 3 attempts on the schedule, then none however
// long the clock runs; a replay gives it a fresh set of tries.
func TestADeadDeliveryWaitsForAReplay(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		rc := newReceiver(t, func(int, receipt) int { return http.StatusServiceUnavailable })
		e := newEnv(t, d, Config{Client: rc.srv.Client(), MaxAttempts: 3, FirstRetry: time.Minute, MaxRetryDelay: 90 * time.Second})
		e.subscribe(t, "picc", rc.srv.URL, ClaimPaymentFailed)
		e.change(t, ClaimPaymentFailed, "picc", "CLAIM-2")

		require.Equal(t, 1, e.run(t))
		e.clock.Advance(time.Minute)
		require.Equal(t, 1, e.run(t))
		require.Equal(t, e.clock.Now().Add(90*time.Second).UnixMilli(), e.deliveries(t)[0].NextAttemptAt, "doubled, then capped")
		e.clock.Advance(90 * time.Second)
		require.Equal(t, 1, e.run(t))
		dead := e.deliveries(t)[0]
		require.Equal(t, StatusFailed, dead.Status)
		require.Equal(t, "HTTP 503 Service Unavailable", dead.LastError)
		e.clock.Advance(48 * time.Hour)
		require.Equal(t, 0, e.run(t), "a failed delivery is not attempted again by itself")
		require.Len(t, rc.receipts(), 3)

		_, err := e.svc.Replay(context.Background(), admin, dead.ID)
		require.NoError(t, err)
		require.Equal(t, 1, e.run(t))
		again := e.deliveries(t)[0]
		require.Equal(t, StatusPending, again.Status, "one failure after the replay: two tries left")
		require.Equal(t, 1, again.Tries)
		require.Equal(t, 4, again.Attempts)
		require.Len(t, e.attempts(t, dead.ID), 4)
	})
}

// TestARolledBackChangeLeavesNoDelivery is the outbox property: a state
// change whose transaction rolls back leaves no delivery, one that commits
// leaves exactly one per wanting subscription, and events nobody asked for
// (another event, another org) leave none.
func TestARolledBackChangeLeavesNoDelivery(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, Config{})
		e.subscribe(t, "picc", "https://picc.example/hooks", ClaimApproved, ClaimPaid)
		e.subscribe(t, "picc", "https://backup.picc.example/hooks", ClaimPaid)
		ctx := context.Background()
		failed := errors.New("the state change failed")
		err := d.Tx(ctx, func(tx *gorm.DB) error {
			if err := audit.Write(ctx, tx, e.clock.Now(), admin, "claim.test", "CLAIM-3", "paid"); err != nil {
				return err
			}
			if err := e.svc.Enqueue(ctx, tx, Event{Type: ClaimPaid, Org: "picc", ClaimID: "CLAIM-3", Claim: claimJSON("CLAIM-3", "paid")}); err != nil {
				return err
			}
			var n int64
			require.NoError(t, tx.Model(&delivery{}).Count(&n).Error)
			require.EqualValues(t, 2, n, "written inside the transaction, one per subscription")
			return failed
		})
		require.ErrorIs(t, err, failed)
		require.Empty(t, e.deliveries(t), "rolled back with the change")
		var audits int64
		require.NoError(t, d.Model(&audit.Record{}).Where("target = ?", "CLAIM-3").Count(&audits).Error)
		require.Zero(t, audits, "the change itself rolled back too")

		e.change(t, ClaimPaid, "picc", "CLAIM-3")
		e.change(t, ClaimDeclined, "picc", "CLAIM-4") // no subscription wants it
		e.change(t, ClaimPaid, "cpic", "CLAIM-5")     // no subscription of cpic
		ds := e.deliveries(t)
		require.Len(t, ds, 2)
		for _, dl := range ds {
			require.Equal(t, "CLAIM-3", dl.ClaimID)
			require.Equal(t, ClaimPaid, dl.Event)
			require.Equal(t, StatusPending, dl.Status)
		}
		require.NotEqual(t, ds[0].SubscriptionID, ds[1].SubscriptionID)
		require.NotEqual(t, ds[0].ID, ds[1].ID, "each subscription has its own delivery id")
	})
}

// panicky fails the test if it is ever rendered.
type panicky struct{ t testing.TB }

func (p panicky) MarshalJSON() ([]byte, error) {
	p.t.Error("a claim was rendered although no subscription wants it")
	return []byte(`{}`), nil
}

// TestEnqueueCostsNothingWithoutASubscription: with no subscription for
// the org, once its (empty) list is cached, EnqueueMany neither renders
// the claim nor touches the transaction — a nil one proves it — so the
// claim path's throughput is what it was.
func TestEnqueueCostsNothingWithoutASubscription(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, Config{})
		e.subscribe(t, "cpic", "https://cpic.example/hooks", ClaimAssessed)
		ctx := context.Background()
		evs := make([]Event, 10000)
		for i := range evs {
			evs[i] = Event{Type: ClaimAssessed, Org: "picc", ClaimID: "C", Claim: panicky{t}}
		}
		require.NoError(t, d.Tx(ctx, func(tx *gorm.DB) error { return e.svc.EnqueueMany(ctx, tx, evs[:1]) }), "the first asks the database")
		require.NoError(t, e.svc.EnqueueMany(ctx, nil, evs), "the rest ask the cache")
		lazy := Event{Type: ClaimPaid, Org: "picc", ClaimID: "C", Claim: func() (any, error) {
			t.Error("a claim was read back although no subscription wants it")
			return nil, nil
		}}
		require.NoError(t, e.svc.Enqueue(ctx, nil, lazy))
		var none *Service
		require.NoError(t, none.Enqueue(ctx, nil, evs[0]), "a service built without webhooks")
		require.Empty(t, e.deliveries(t))
		require.Error(t, e.svc.Enqueue(ctx, nil, Event{Type: "claim.exploded", Org: "picc"}), "an unknown event is a bug of the caller")
	})
}

func BenchmarkEnqueueWithoutASubscription(b *testing.B) {
	d := testdb.Open(b, "sqlite")
	e := newEnv(b, d, Config{})
	ctx := context.Background()
	evs := make([]Event, 100)
	for i := range evs {
		evs[i] = Event{Type: ClaimAssessed, Org: "picc", ClaimID: "C", Claim: []byte(`{}`)}
	}
	require.NoError(b, d.Tx(ctx, func(tx *gorm.DB) error { return e.svc.EnqueueMany(ctx, tx, evs) }))
	b.ResetTimer()
	for b.Loop() {
		_ = e.svc.EnqueueMany(ctx, nil, evs)
	}
}

// TestEnqueueManyWritesAGroupAtOnce: a group of 450 filed claims (more
// than one INSERT holds) gets its 450 deliveries, each with its claim.
func TestEnqueueManyWritesAGroupAtOnce(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d, Config{})
		e.subscribe(t, "picc", "https://picc.example/hooks", ClaimAssessed, ClaimRejected)
		ctx := context.Background()
		var evs []Event
		for i := range 450 {
			ev := Event{Type: ClaimAssessed, Org: "picc", ClaimID: fmt.Sprintf("G-%03d", i)}
			if i%3 == 0 {
				ev.Type = ClaimRejected
			}
			ev.Claim = map[string]string{"id": ev.ClaimID} // a value, rendered here
			if i%5 == 0 {
				v := ev.Claim
				ev.Claim = func() (any, error) { return v, nil } // read back only when wanted
			}
			evs = append(evs, ev)
		}
		require.NoError(t, d.Tx(ctx, func(tx *gorm.DB) error { return e.svc.EnqueueMany(ctx, tx, evs) }))
		ds := e.deliveries(t)
		require.Len(t, ds, 450)
		byClaim := map[string]delivery{}
		for _, dl := range ds {
			byClaim[dl.ClaimID] = dl
		}
		for _, ev := range evs {
			dl, ok := byClaim[ev.ClaimID]
			require.True(t, ok, ev.ClaimID)
			require.Equal(t, ev.Type, dl.Event)
			var p Payload
			require.NoError(t, json.Unmarshal([]byte(dl.Payload), &p))
			require.Equal(t, dl.ID, p.ID)
			require.JSONEq(t, `{"id":"`+ev.ClaimID+`"}`, string(p.Claim))
		}
	})
}

// TestTwoWorkersNeverDeliverOneDeliveryTwice: two services (two servers)
// on one database race for 300 deliveries; each delivery reaches the
// receiver exactly once, never while another request of it is under way,
// and both workers took part.
func TestTwoWorkersNeverDeliverOneDeliveryTwice(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		rc := newReceiver(t, nil)
		rc.hold = 2 * time.Millisecond
		a := newEnv(t, d, Config{Client: rc.srv.Client(), Owner: "worker-a", Batch: 16})
		b := New(d, Config{Client: rc.srv.Client(), Owner: "worker-b", Batch: 16, Now: a.clock.Now})
		t.Cleanup(b.Close)
		a.subscribe(t, "picc", rc.srv.URL, ClaimAssessed)
		ctx := context.Background()
		const n = 300
		var evs []Event
		for i := range n {
			id := fmt.Sprintf("R-%03d", i)
			evs = append(evs, Event{Type: ClaimAssessed, Org: "picc", ClaimID: id, Claim: claimJSON(id, "assessed")})
		}
		require.NoError(t, d.Tx(ctx, func(tx *gorm.DB) error { return a.svc.EnqueueMany(ctx, tx, evs) }))

		var claimed [2]atomic.Int64
		var wg sync.WaitGroup
		for i, svc := range []*Service{a.svc, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 200 {
					k, err := svc.RunOnce(ctx)
					if err != nil {
						t.Errorf("worker %d: %v", i, err)
						return
					}
					claimed[i].Add(int64(k))
					var left int64
					if err := d.Model(&delivery{}).Where("status = ?", StatusPending).Count(&left).Error; err != nil || left == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		require.EqualValues(t, n, claimed[0].Load()+claimed[1].Load(), "every delivery claimed once in all")
		require.NotZero(t, claimed[0].Load(), "worker a took part")
		require.NotZero(t, claimed[1].Load(), "worker b took part")

		perID := map[string]int{}
		for _, r := range rc.receipts() {
			perID[r.delivery]++
		}
		require.Len(t, perID, n)
		for id, k := range perID {
			require.Equal(t, 1, k, "delivery %s reached the receiver %d times", id, k)
		}
		require.Zero(t, rc.overlap.Load(), "no delivery was in flight twice at once")
		var delivered int64
		require.NoError(t, d.Model(&delivery{}).Where("status = ? AND attempts = 1", StatusDelivered).Count(&delivered).Error)
		require.EqualValues(t, n, delivered)
		var attempts int64
		require.NoError(t, d.Model(&attempt{}).Count(&attempts).Error)
		require.EqualValues(t, n, attempts)
	})
}

// TestADeletedWebhookSendsNothingMore: deliveries queued before the
// webhook was deleted are failed without a request, and changes after it
// write none.
func TestADeletedWebhookSendsNothingMore(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		rc := newReceiver(t, nil)
		e := newEnv(t, d, Config{Client: rc.srv.Client()})
		sub := e.subscribe(t, "picc", rc.srv.URL, ClaimApproved)
		e.change(t, ClaimApproved, "picc", "CLAIM-6")
		_, err := e.svc.Delete(context.Background(), admin, sub.ID)
		require.NoError(t, err)
		e.change(t, ClaimApproved, "picc", "CLAIM-7")

		require.Equal(t, 1, e.run(t))
		ds := e.deliveries(t)
		require.Len(t, ds, 1, "nothing queued after the deletion")
		require.Equal(t, StatusFailed, ds[0].Status)
		require.Contains(t, ds[0].LastError, "deleted")
		require.Empty(t, rc.receipts())
		require.Empty(t, e.attempts(t, ds[0].ID), "no attempt was made")
	})
}

// TestASlowReceiverTimesOut: an attempt is cut at Timeout and recorded
// with the error, without the URL, and retried.
func TestASlowReceiverTimesOut(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		rc := newReceiver(t, nil)
		rc.hold = 2 * time.Second
		e := newEnv(t, d, Config{Client: rc.srv.Client(), Timeout: 100 * time.Millisecond})
		e.subscribe(t, "picc", rc.srv.URL+"/slow", ClaimAssessed)
		e.change(t, ClaimAssessed, "picc", "CLAIM-8")
		require.Equal(t, 1, e.run(t))
		dl := e.deliveries(t)[0]
		require.Equal(t, StatusPending, dl.Status)
		require.Zero(t, dl.LastStatusCode)
		require.Contains(t, dl.LastError, "deadline exceeded")
		require.NotContains(t, dl.LastError, "/slow", "the URL is not repeated in the error")
		as := e.attempts(t, dl.ID)
		require.Len(t, as, 1)
		require.Less(t, as[0].DurationMs, int64(1500))
	})
}

package main

// Load on a deployment: clients that submit, approve and read while a test
// breaks things, the outcome of every request, what the server
// acknowledged, and the proofs that nothing acknowledged was lost and that
// retrying what was not is safe.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ---- load --------------------------------------------------------------------

// outcome is one request of the load and what came of it.
type outcome struct {
	Kind        string // submit, approve or read
	Start, End  time.Time
	Status      int    // 0: no answer (connection refused or cut off)
	Code        string // the envelope's error code
	RetryAfter  string
	Err         error
	Ref         string // submit: the external_ref, also the Idempotency-Key
	Body        []byte // submit: the body, to retry it
	ClaimID     string
	ClaimStatus string // the claim's status in a 2xx answer
}

func (o outcome) Took() time.Duration { return o.End.Sub(o.Start) }

func (o outcome) String() string {
	s := fmt.Sprintf("%s at %s took %s: %d %s", o.Kind, o.Start.Format("15:04:05.000"), o.Took().Round(time.Millisecond), o.Status, o.Code)
	if o.Err != nil {
		s += " (" + o.Err.Error() + ")"
	}
	return s
}

type loadMix struct {
	Submitters, Approvers, Readers int
}

// progress counts what a running load has had acknowledged so far.
type progress struct {
	claims, approvals atomic.Int64
}

// waitFor waits until the load has had at least claims and approvals
// acknowledged, for at most max.
func (p *progress) waitFor(claims, approvals int64, max time.Duration) {
	for deadline := time.Now().Add(max); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if p.claims.Load() >= claims && p.approvals.Load() >= approvals {
			return
		}
	}
}

// load runs clients against the current server until script returns:
// submitters file claims (Idempotency-Key = external_ref), approvers
// approve the assessed ones, readers list claims. Every request is recorded;
// after a request without an answer a client waits 20 ms, and after a 503
// 100 ms, as a polite client would. Each client draws from a source of its
// own, seeded from rng (the test's) before any client starts.
func (d *deployment) load(t testing.TB, rng *rand.Rand, cfg loadMix, script func(*progress)) []outcome {
	t.Helper()
	var (
		acked    progress
		stop     atomic.Bool
		wg       sync.WaitGroup
		mu       sync.Mutex
		outs     []outcome
		assessed = make(chan string, 1<<16)
	)
	record := func(o outcome) {
		mu.Lock()
		outs = append(outs, o)
		mu.Unlock()
		switch {
		case o.Kind == "submit" && o.Status == http.StatusCreated:
			acked.claims.Add(1)
		case o.Kind == "approve" && o.Status == http.StatusOK:
			acked.approvals.Add(1)
		case o.Status == 0:
			time.Sleep(20 * time.Millisecond)
		case o.Status == http.StatusServiceUnavailable:
			time.Sleep(100 * time.Millisecond)
		}
	}
	worker := func(fn func(rng *rand.Rand)) {
		// Drawn here, on the test's goroutine: a *rand.Rand is not safe
		// for concurrent use, and the order of draws must not depend on
		// the scheduler.
		src := rand.NewPCG(rng.Uint64(), rng.Uint64())
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(src)
			for !stop.Load() {
				fn(rng)
			}
		}()
	}
	for range cfg.Submitters {
		worker(func(rng *rand.Rand) {
			o := d.submit(rng)
			if o.Status == http.StatusCreated && o.ClaimStatus == "assessed" {
				select {
				case assessed <- o.ClaimID:
				default: // enough to approve
				}
			}
			record(o)
		})
	}
	for range cfg.Approvers {
		worker(func(*rand.Rand) {
			select {
			case id := <-assessed:
				record(d.send(outcome{Kind: "approve", ClaimID: id}, "POST", "/api/v1/claims/"+id+"/approve", d.finance, []byte("{}"), nil))
			case <-time.After(5 * time.Millisecond):
			}
		})
	}
	for range cfg.Readers {
		worker(func(*rand.Rand) {
			record(d.send(outcome{Kind: "read"}, "GET", "/api/v1/claims?limit=20", d.auditor, nil, nil))
			time.Sleep(10 * time.Millisecond)
		})
	}
	// Stop the clients however script ends (a failed assertion included).
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()
	script(&acked)
	stop.Store(true)
	wg.Wait()
	return outs
}

// submit files one new claim (Idempotency-Key = external_ref).
func (d *deployment) submit(rng *rand.Rand) outcome {
	ref, body := d.claimBody(rng)
	return d.send(outcome{Kind: "submit", Ref: ref, Body: body}, "POST", "/api/v1/claims", d.insurer, body, map[string]string{"Idempotency-Key": ref})
}

// send makes the request o is for and records in o when it started and
// ended and what came of it: the status, and an error's code and
// Retry-After, or the claim id and status of a 2xx answer to a submission
// or an approval (a 2xx answer that is not a claim is recorded as an error).
func (d *deployment) send(o outcome, method, path, token string, body []byte, header map[string]string) outcome {
	o.Start = time.Now()
	st, b, h, err := d.callH(method, path, token, body, header)
	o.End, o.Status, o.Err = time.Now(), st, err
	switch {
	case st >= 400:
		var e struct{ Error struct{ Code string } }
		_ = json.Unmarshal(b, &e)
		o.Code, o.RetryAfter = e.Error.Code, h.Get("Retry-After")
	case st >= 200 && st < 300 && o.Kind != "read":
		var c struct{ ID, Status string }
		if err := json.Unmarshal(b, &c); err != nil {
			o.Err = fmt.Errorf("the answer is not a claim: %w", err)
		}
		o.ClaimID, o.ClaimStatus = c.ID, c.Status
	}
	return o
}

// ---- what was acknowledged, and whether it is still there --------------------

// acks is what the server acknowledged with a 2xx: claims with their status
// in the answer, and approvals.
type acks struct {
	claims   map[string]string // claim id → status answered
	refs     map[string]string // claim id → external_ref
	approved map[string]bool
}

func newAcks() *acks {
	return &acks{claims: map[string]string{}, refs: map[string]string{}, approved: map[string]bool{}}
}

func (a *acks) add(outs []outcome) {
	for _, o := range outs {
		switch {
		case o.Kind == "submit" && o.Status == http.StatusCreated:
			a.claims[o.ClaimID], a.refs[o.ClaimID] = o.ClaimStatus, o.Ref
		case o.Kind == "approve" && o.Status == http.StatusOK && o.ClaimStatus == "approved":
			a.approved[o.ClaimID] = true
		}
	}
}

// laterOrSame lists the statuses a claim may have reached from the one
// acknowledged (DESIGN §6; this load only approves).
var laterOrSame = map[string][]string{
	"assessed": {"assessed", "approved", "disbursed", "paid", "declined", "withdrawn"},
	"approved": {"approved", "disbursed", "paid", "declined"},
	"rejected": {"rejected"},
}

// requireAcked proves that nothing acknowledged was lost: every acknowledged
// claim is listed with its external_ref and the same status or a later one,
// every acknowledged approval is approved, and a sample read one by one
// answers 200.
func (d *deployment) requireAcked(t testing.TB, a *acks) {
	t.Helper()
	stored := map[string]struct{ Status, Ref string }{}
	path := "/api/v1/claims?plan=" + faultPlan + "&limit=500"
	for page := 0; ; page++ {
		require.Less(t, page, 10000)
		var list struct {
			Items []struct {
				ID, Status  string
				ExternalRef string `json:"external_ref"`
			}
			NextCursor *string `json:"next_cursor"`
		}
		d.mustJSON(t, "GET", path, d.finance, nil, http.StatusOK, &list)
		for _, c := range list.Items {
			stored[c.ID] = struct{ Status, Ref string }{c.Status, c.ExternalRef}
		}
		if list.NextCursor == nil {
			break
		}
		path = "/api/v1/claims?plan=" + faultPlan + "&limit=500&cursor=" + *list.NextCursor
	}
	lost := 0
	for id, st := range a.claims {
		c, ok := stored[id]
		if !ok {
			lost++
			t.Errorf("acknowledged claim %s (%s, %s) is gone", id, a.refs[id], st)
			continue
		}
		require.Equal(t, a.refs[id], c.Ref, "claim %s", id)
		require.Contains(t, laterOrSame[st], c.Status, "claim %s was acknowledged %s", id, st)
		if a.approved[id] {
			require.Contains(t, laterOrSame["approved"], c.Status, "claim %s was acknowledged approved", id)
		}
	}
	require.Zero(t, lost, "%d of %d acknowledged claims were lost", lost, len(a.claims))
	for id := range a.approved {
		_, ok := a.claims[id]
		require.True(t, ok, "approved claim %s was acknowledged at submission", id)
	}
	n := 0
	for id, st := range a.claims {
		if n++; n > 100 {
			break
		}
		var c struct{ ID, Status string }
		d.mustJSON(t, "GET", "/api/v1/claims/"+id, d.finance, nil, http.StatusOK, &c)
		require.Contains(t, laterOrSame[st], c.Status)
	}
}

// retryUnsettled resends, with the same Idempotency-Key and body, every
// submission that got no answer or a 503, as a client must, and proves that
// retrying is safe: each is 201 — the first answer replayed when the
// original did commit, a new claim when it did not — never a 409 or a 5xx.
// Approvals likewise end approved. What the retries create is acknowledged.
func (d *deployment) retryUnsettled(t testing.TB, outs []outcome, a *acks) (replayed, fresh int) {
	t.Helper()
	for _, o := range outs {
		if o.Status != 0 && o.Status != http.StatusServiceUnavailable {
			continue
		}
		switch o.Kind {
		case "submit":
			st, b, h, err := d.callH("POST", "/api/v1/claims", d.insurer, o.Body, map[string]string{"Idempotency-Key": o.Ref})
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, st, "retry of %s (first: %s): %s", o.Ref, o, b)
			var c struct{ ID, Status string }
			require.NoError(t, json.Unmarshal(b, &c))
			a.claims[c.ID], a.refs[c.ID] = c.Status, o.Ref
			if h.Get("Idempotent-Replayed") == "true" {
				replayed++
			} else {
				fresh++
			}
		case "approve":
			st, b, err := d.call("POST", "/api/v1/claims/"+o.ClaimID+"/approve", d.finance, []byte("{}"), nil)
			require.NoError(t, err)
			var c struct{ Status string }
			switch st {
			case http.StatusOK:
				require.NoError(t, json.Unmarshal(b, &c))
			case http.StatusConflict: // the first attempt did commit
				d.mustJSON(t, "GET", "/api/v1/claims/"+o.ClaimID, d.finance, nil, http.StatusOK, &c)
			default:
				t.Fatalf("retry of approval of %s (first: %s): %d %s", o.ClaimID, o, st, b)
			}
			require.Equal(t, "approved", c.Status)
			a.approved[o.ClaimID] = true
		}
	}
	return replayed, fresh
}

// requireReplays proves the idempotency records survived: resending
// acknowledged submissions answers the first answer again.
func (d *deployment) requireReplays(t testing.TB, outs []outcome, n int) {
	t.Helper()
	for _, o := range outs {
		if o.Kind != "submit" || o.Status != http.StatusCreated {
			continue
		}
		if n--; n < 0 {
			return
		}
		st, b, h, err := d.callH("POST", "/api/v1/claims", d.insurer, o.Body, map[string]string{"Idempotency-Key": o.Ref})
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, st, "%s", b)
		require.Equal(t, "true", h.Get("Idempotent-Replayed"))
		var c struct{ ID string }
		require.NoError(t, json.Unmarshal(b, &c))
		require.Equal(t, o.ClaimID, c.ID)
	}
}

func count(outs []outcome, keep func(outcome) bool) int {
	n := 0
	for _, o := range outs {
		if keep(o) {
			n++
		}
	}
	return n
}

// ---- step by step, for tests that file claims one at a time ----------------

// submitN files n claims, one after another, drawing them from rng, and
// returns the outcomes; every one must be answered.
func (d *deployment) submitN(t testing.TB, rng *rand.Rand, n int) []outcome {
	t.Helper()
	var outs []outcome
	for range n {
		o := d.submit(rng)
		require.NoError(t, o.Err, "%s", o)
		outs = append(outs, o)
	}
	return outs
}

// submitStored files n claims where they must be stored: each one is
// acknowledged with 201, and recorded in a.
func (d *deployment) submitStored(t testing.TB, rng *rand.Rand, n int, a *acks, what string) []outcome {
	t.Helper()
	outs := d.submitN(t, rng, n)
	for _, o := range outs {
		require.Equal(t, http.StatusCreated, o.Status, "%s: %s", what, o)
	}
	a.add(outs)
	return outs
}

// approve approves claim id, requires that it is then approved, and
// records the approval in a.
func (d *deployment) approve(t testing.TB, id string, a *acks) {
	t.Helper()
	var approved struct{ Status string }
	d.mustJSON(t, "POST", "/api/v1/claims/"+id+"/approve", d.finance, map[string]any{}, http.StatusOK, &approved)
	require.Equal(t, "approved", approved.Status)
	a.approved[id] = true
}

package payouts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/testdb"
	"huimin/ledger"
	"huimin/payouts"
	"huimin/server/servertest"
)

// outcome is what one concurrent call came back with: "ok" or an error code.
type outcome struct {
	claimID string
	code    string
}

// codeOf turns an HTTP answer into "ok" or its error code.
func codeOf(r *servertest.Response) string {
	if r.Status == http.StatusOK || r.Status == http.StatusCreated {
		return "ok"
	}
	var eb struct {
		Error struct{ Code string } `json:"error"`
	}
	if json.Unmarshal(r.Body, &eb) != nil || eb.Error.Code == "" {
		return fmt.Sprintf("status %d: %s", r.Status, r.Body)
	}
	return eb.Error.Code
}

// codeOfErr turns a service error into "ok" or its kind's code.
func codeOfErr(err error) string {
	if err == nil {
		return "ok"
	}
	k := apperr.KindOf(err)
	if k == apperr.ErrInternal {
		return "internal: " + err.Error()
	}
	return k.Code
}

// hammer runs call for every job on workers goroutines and collects the
// outcomes. call must not touch t.
func hammer(workers int, jobs []string, call func(job string) string) []outcome {
	ch := make(chan string)
	out := make(chan outcome, len(jobs))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ch {
				out <- outcome{claimID: id, code: call(id)}
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	close(out)
	var all []outcome
	for o := range out {
		all = append(all, o)
	}
	return all
}

// Many finance clients approving more claims than a first_come budget can
// cover, all at once: exactly the claims that fit are approved, every other
// gets budget_exhausted, the budget never goes below zero, and every
// invariant of DESIGN §8 holds afterwards.
func TestConcurrentApprovalsNeverOverdraw(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dialect  string
		claims   int
		workers  int
		budget   string
		fits     int
		viaHTTP  bool
		finances []string
	}{
		{name: "MariaDB, 64 clients over HTTP, 100 claims of 1000.00 against 37500.00", dialect: "mysql",
			claims: 100, workers: 64, budget: "37500.00", fits: 37, viaHTTP: true, finances: []string{"finance", "finance2"}},
		{name: "MariaDB, 64 callers of Service.Approve", dialect: "mysql",
			claims: 100, workers: 64, budget: "37500.00", fits: 37},
		{name: "SQLite, 8 clients over HTTP, 30 claims of 1000.00 against 12999.99", dialect: "sqlite",
			claims: 30, workers: 8, budget: "12999.99", fits: 12, viaHTTP: true, finances: []string{"finance"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, testdb.Open(t, tc.dialect))
			plan := e.createPlan(t, planOpts{budget: tc.budget})
			ids := e.insertAssessed(t, plan, tc.claims, 100000)

			var n sync.Mutex
			turn := 0
			call := func(id string) string {
				if !tc.viaHTTP {
					_, err := e.svc.Approve(context.Background(), audit.Who{Actor: "fin-wang", Role: auth.Finance}, id)
					return codeOfErr(err)
				}
				n.Lock()
				token := tc.finances[turn%len(tc.finances)]
				turn++
				n.Unlock()
				return codeOf(e.h.RawPost(token, "/api/v1/claims/"+id+"/approve", "{}"))
			}
			outcomes := hammer(tc.workers, ids, call)

			approved := map[string]bool{}
			codes := map[string]int{}
			for _, o := range outcomes {
				codes[o.code]++
				if o.code == "ok" {
					approved[o.claimID] = true
				}
			}
			require.Equal(t, map[string]int{"ok": tc.fits, "budget_exhausted": tc.claims - tc.fits}, codes)

			// The stored claims agree with the answers.
			var rows []struct {
				ID, Status     string
				Reserved       bool
				ReservedAmount int64
			}
			require.NoError(t, e.d.Table("claims").Where("plan_code = ?", plan).Select("id, status, reserved, reserved_amount").Find(&rows).Error)
			var sum int64
			for _, r := range rows {
				if approved[r.ID] {
					require.Equal(t, "approved", r.Status, r.ID)
					require.True(t, r.Reserved)
					require.Equal(t, int64(100000), r.ReservedAmount)
					sum += r.ReservedAmount
				} else {
					require.Equal(t, "assessed", r.Status, r.ID)
					require.Zero(t, r.ReservedAmount)
				}
			}
			require.Equal(t, int64(tc.fits)*100000, sum)
			require.Equal(t, int64(tc.fits), servertest.Count(t, e.d, "claim_approvals", "1 = 1"), "refused approvals leave no approval row")

			var b ledger.Budget
			require.NoError(t, e.d.Where("plan_code = ?", plan).Take(&b).Error)
			require.GreaterOrEqual(t, b.Available, int64(0))
			require.Equal(t, fenOf(t, tc.budget)-sum, b.Available)
			require.Equal(t, sum, b.Reserved)

			// One reserve entry per approval, seq without gaps, and the budget
			// row equals the entries.
			es := e.entries(t, plan)
			require.Len(t, es, tc.fits+1)
			var fromEntries = map[string]int64{}
			for i, en := range es {
				require.Equal(t, int64(i+1), en.Seq)
				if en.Kind == ledger.Reserve {
					require.True(t, approved[en.ClaimID], "entry %d reserves for an approved claim", en.Seq)
				}
				fromEntries[en.FromAccount] -= en.Amount
				fromEntries[en.ToAccount] += en.Amount
			}
			require.Equal(t, b.Available, fromEntries[ledger.Available])
			require.Equal(t, b.Reserved, fromEntries[ledger.Reserved])
			require.Equal(t, b.LastSeq, es[len(es)-1].Seq)
			require.Equal(t, b.LastHash, es[len(es)-1].Hash)
			e.requireSound(t, plan)
		})
	}
}

// Racing on one claim: many approvals of the same claim give exactly one
// approval and one reservation; two actors racing on a dual-approval claim
// both count; the same actor twice gets same_approver once.
func TestConcurrentApprovalsOfOneClaim(t *testing.T) {
	e := newEnv(t, testdb.Open(t, "mysql"))
	plan := e.createPlan(t, planOpts{budget: "1000000.00", threshold: "5000.00"})

	t.Run("64 approvals of one claim approve it once", func(t *testing.T) {
		id := e.insertAssessed(t, plan, 1, 100000)[0]
		jobs := make([]string, 64)
		for i := range jobs {
			jobs[i] = id
		}
		var mu sync.Mutex
		turn := 0
		outcomes := hammer(64, jobs, func(id string) string {
			mu.Lock()
			token := []string{"finance", "finance2"}[turn%2]
			turn++
			mu.Unlock()
			return codeOf(e.h.RawPost(token, "/api/v1/claims/"+id+"/approve", "{}"))
		})
		codes := map[string]int{}
		for _, o := range outcomes {
			codes[o.code]++
		}
		require.Equal(t, map[string]int{"ok": 1, "invalid_state": 63}, codes)
		require.Equal(t, int64(1), servertest.Count(t, e.d, "ledger_entries", "claim_id = ?", id))
		require.Equal(t, int64(1), servertest.Count(t, e.d, "claim_approvals", "claim_id = ?", id))
	})

	t.Run("two actors racing on dual-approval claims both count", func(t *testing.T) {
		ids := e.insertAssessed(t, plan, 20, 800000)
		var jobs []string
		for _, id := range ids {
			jobs = append(jobs, "finance|"+id, "finance2|"+id)
		}
		outcomes := hammer(16, jobs, func(job string) string {
			token, id := job[:len(job)-27], job[len(job)-26:]
			return codeOf(e.h.RawPost(token, "/api/v1/claims/"+id+"/approve", "{}"))
		})
		for _, o := range outcomes {
			require.Equal(t, "ok", o.code, o.claimID)
		}
		for _, id := range ids {
			c := e.claim(t, id)
			require.Equal(t, "approved", c.Status)
			require.Len(t, c.Approvals, 2)
			require.Equal(t, int64(1), servertest.Count(t, e.d, "ledger_entries", "claim_id = ? AND kind = ?", id, "reserve"))
		}
	})

	t.Run("the same actor twice at once is same_approver once", func(t *testing.T) {
		ids := e.insertAssessed(t, plan, 10, 800000)
		var jobs []string
		for _, id := range ids {
			jobs = append(jobs, id, id)
		}
		outcomes := hammer(8, jobs, func(id string) string {
			return codeOf(e.h.RawPost("finance", "/api/v1/claims/"+id+"/approve", "{}"))
		})
		codes := map[string]int{}
		for _, o := range outcomes {
			codes[o.code]++
		}
		require.Equal(t, map[string]int{"ok": 10, "same_approver": 10}, codes)
		for _, id := range ids {
			c := e.claim(t, id)
			require.Equal(t, "assessed", c.Status)
			require.Len(t, c.Approvals, 1)
		}
	})
	e.requireSound(t, plan)
}

// Settlements, revokes and disbursements racing on one pro_rata plan: no
// claim that was revoked while a settlement ran may keep a reservation, and
// every invariant holds.
func TestSettlementRacingRevokes(t *testing.T) {
	e := newEnv(t, testdb.Open(t, "mysql"))
	ctx := context.Background()
	fin := audit.Who{Actor: "fin-wang", Role: auth.Finance}
	for round := range 5 {
		plan := e.createPlan(t, planOpts{budget: "30000.00", policy: "pro_rata"})
		ids := e.insertAssessed(t, plan, 40, 100000)
		for _, id := range ids {
			_, err := e.svc.Approve(ctx, fin, id)
			require.NoError(t, err)
		}
		jobs := append([]string{"settle"}, ids[:20]...)
		jobs = append(jobs, "settle")
		outcomes := hammer(24, jobs, func(job string) string {
			if job == "settle" {
				_, err := e.svc.Settle(ctx, fin, plan)
				return codeOfErr(err)
			}
			_, err := e.svc.Revoke(ctx, fin, job, payouts.ReasonInput{Reason: "race"})
			if apperr.KindOf(err) == apperr.ErrInvalidState {
				return "ok" // settled and revoked or revoked first: both fine
			}
			return codeOfErr(err)
		})
		for _, o := range outcomes {
			require.Equal(t, "ok", o.code, "round %d %s", round, o.claimID)
		}
		e.requireSound(t, plan)
		var bad int64
		require.NoError(t, e.d.Table("claims").Where("plan_code = ? AND status = ? AND (reserved = ? OR reserved_amount <> 0)", plan, "declined", true).Count(&bad).Error)
		require.Zero(t, bad, "round %d: a declined claim holds a reservation", round)
	}
}

// Verify and Check running while approvals commit must not mistake a
// concurrent append for tampering: each reads the budget row and the
// entries as one snapshot.
func TestVerifyAndCheckDuringConcurrentApprovals(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			e := newEnv(t, testdb.Open(t, dialect))
			plan := e.createPlan(t, planOpts{budget: "1000000.00"})
			ids := e.insertAssessed(t, plan, 150, 100)
			ctx := context.Background()
			done := make(chan struct{})
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				problems []string
				rounds   int
			)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-done:
						return
					default:
					}
					v, err := e.ledger.Verify(ctx, plan)
					breaches, cerr := e.svc.Check(ctx)
					mu.Lock()
					rounds++
					if err != nil || !v.OK {
						problems = append(problems, fmt.Sprintf("verify: %+v %v", v, err))
					}
					if cerr != nil || len(breaches) > 0 {
						problems = append(problems, fmt.Sprintf("check: %v %v", breaches, cerr))
					}
					mu.Unlock()
				}
			}()
			outcomes := hammer(8, ids, func(id string) string {
				_, err := e.svc.Approve(ctx, audit.Who{Actor: "fin-wang", Role: auth.Finance}, id)
				return codeOfErr(err)
			})
			close(done)
			wg.Wait()
			for _, o := range outcomes {
				require.Equal(t, "ok", o.code)
			}
			require.Positive(t, rounds)
			require.Empty(t, problems, "%d rounds", rounds)
			e.requireSound(t, plan)
		})
	}
}

// Dual approvals under the same pressure: two finance actors approve every
// claim at once; the first approval of each always succeeds, and of the
// final ones exactly those the budget covers succeed.
func TestConcurrentDualApprovalsNeverOverdraw(t *testing.T) {
	e := newEnv(t, testdb.Open(t, "mysql"))
	plan := e.createPlan(t, planOpts{budget: "20500.00", threshold: "1000.00"})
	ids := e.insertAssessed(t, plan, 60, 100000)
	var jobs []string
	for i, id := range ids {
		// Alternate who comes first, so both orders are exercised.
		if i%2 == 0 {
			jobs = append(jobs, "finance|"+id, "finance2|"+id)
		} else {
			jobs = append(jobs, "finance2|"+id, "finance|"+id)
		}
	}
	outcomes := hammer(32, jobs, func(job string) string {
		token, id, _ := strings.Cut(job, "|")
		return codeOf(e.h.RawPost(token, "/api/v1/claims/"+id+"/approve", "{}"))
	})
	codes := map[string]int{}
	for _, o := range outcomes {
		codes[o.code]++
	}
	require.Equal(t, map[string]int{"ok": 60 + 20, "budget_exhausted": 40}, codes)

	var rows []struct {
		ID, Status string
		Approvals  int64
	}
	require.NoError(t, e.d.Raw(`SELECT c.id, c.status, (SELECT COUNT(*) FROM claim_approvals a WHERE a.claim_id = c.id) AS approvals
		FROM claims c WHERE c.plan_code = ?`, plan).Scan(&rows).Error)
	byStatus := map[string]int{}
	for _, r := range rows {
		byStatus[r.Status]++
		if r.Status == "approved" {
			require.Equal(t, int64(2), r.Approvals, r.ID)
		} else {
			require.Equal(t, int64(1), r.Approvals, "%s: the refused final approval left no row", r.ID)
		}
	}
	require.Equal(t, map[string]int{"approved": 20, "assessed": 40}, byStatus)
	require.Equal(t, figures{"20500.00", "500.00", "20000.00", "0.00", "0.00"}, e.budget(t, plan))
	require.Len(t, e.entries(t, plan), 21)
	e.requireSound(t, plan)
}

package main

// kill -9 of `huimin serve` in the middle of a load, restarting it on the
// same database: nothing acknowledged is lost (DESIGN §10).

import (
	"errors"
	"net/http"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/testdb"
)

// killCycles loads a fresh deployment on spec, kills the server with
// SIGKILL in the middle of each load (at 50–80% of loadFor, after which the
// clients stop), restarts it on the same database and
// proves that nothing acknowledged was lost (DESIGN §10); at the end the
// server stops gracefully and `huimin check` passes. The kill times and
// the claims come from the test's seeded source (testRand).
func killCycles(t *testing.T, spec string, cycles int, loadFor time.Duration) {
	rng := testRand(t)
	d := deploy(t, spec, 300)
	all := newAcks()
	for cycle := range cycles {
		var killedAt time.Time
		killAfter := time.Duration(float64(loadFor) * (0.5 + 0.3*rng.Float64()))
		loadStart := time.Now()
		outs := d.load(t, rng, loadMix{Submitters: 12, Approvers: 4}, func(acked *progress) {
			time.Sleep(killAfter)
			// Under claim load SQLite's writers queue for one lock and
			// approvals can wait seconds for it; kill only once some
			// approvals were acknowledged, so there is something to lose.
			acked.waitFor(10, 3, 15*time.Second)
			killedAt = time.Now()
			d.srv.kill()
		})
		var ws syscall.WaitStatus
		if ee := (*exec.ExitError)(nil); errors.As(d.srv.waitErr, &ee) {
			ws, _ = ee.Sys().(syscall.WaitStatus)
		}
		require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "the server died of SIGKILL, not %v", d.srv.waitErr)

		for _, o := range outs {
			switch {
			case o.Status == 0:
				require.False(t, o.End.Before(killedAt), "no answer before the kill: %s", o)
			case o.Status >= 300:
				t.Fatalf("a request failed under load: %s", o)
			}
		}
		submitted := count(outs, func(o outcome) bool { return o.Kind == "submit" && o.Status == http.StatusCreated })
		approved := count(outs, func(o outcome) bool { return o.Kind == "approve" && o.Status == http.StatusOK })
		unanswered := count(outs, func(o outcome) bool { return o.Status == 0 && o.Kind != "read" })
		require.GreaterOrEqual(t, submitted, 10, "the load acknowledged claims before the kill")
		require.Greater(t, approved, 0, "the load acknowledged approvals before the kill")
		all.add(outs)

		d.restart(t)
		d.requireAcked(t, all)
		d.requireReplays(t, outs, 25)
		replayed, fresh := d.retryUnsettled(t, outs, all)
		d.requireAcked(t, all)
		t.Logf("cycle %d: killed after %s; %d claims and %d approvals acknowledged, all there after the restart; "+
			"%d writes unanswered at the kill, retried: %d had committed (replayed), %d had not",
			cycle+1, killedAt.Sub(loadStart).Round(time.Millisecond), submitted, approved, unanswered, replayed, fresh)
	}
	d.srv.stop(t)
	runCheck(t, spec)
}

// TestKillDuringLoad: kill -9 of the server under claim and approval load
// loses no acknowledged claim, approval or idempotency record, on SQLite and
// on MariaDB, and leaves every ledger and budget invariant intact.
func TestKillDuringLoad(t *testing.T) {
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			killCycles(t, specFor(t, dialect), 1, 1500*time.Millisecond)
		})
	}
}

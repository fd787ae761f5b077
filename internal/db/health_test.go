package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
)

// scriptedPing is a ping the test answers one call at a time: asked
// receives when the probe pings, and the ping returns what the test sends
// on answer (or the context's error, when the probe stops).
type scriptedPing struct {
	asked  chan struct{}
	answer chan error
}

func newScriptedPing() *scriptedPing {
	return &scriptedPing{asked: make(chan struct{}), answer: make(chan error)}
}

func (p *scriptedPing) ping(ctx context.Context) error {
	select {
	case p.asked <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-p.answer:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reply waits for the probe's next ping and answers it with err.
func (p *scriptedPing) reply(t *testing.T, err error) {
	t.Helper()
	select {
	case <-p.asked:
	case <-time.After(5 * time.Second):
		t.Fatal("the probe did not ping")
	}
	p.answer <- err
}

// watch starts a probe on p whose state changes arrive on the returned
// channel. The interval is short and the timeout long: the script, not
// the clock, decides each ping.
func watch(t *testing.T, p *scriptedPing) (*db.Health, chan error) {
	t.Helper()
	changes := make(chan error, 4)
	h := db.Watch(p.ping, db.HealthOptions{Interval: time.Millisecond, Timeout: time.Minute, Failures: 2,
		OnChange: func(err error) { changes <- err }})
	t.Cleanup(h.Stop)
	return h, changes
}

func nextChange(t *testing.T, changes chan error) error {
	t.Helper()
	select {
	case err := <-changes:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("the breaker did not change")
		return nil
	}
}

var errLost = errors.New("connection lost")

// TestHealthOpensOnFailuresInARowAndClosesOnAnAnswer: one failed ping does
// not open the breaker, nor do failures with an answer between them; two in
// a row do; the first answered ping closes it.
func TestHealthOpensOnFailuresInARowAndClosesOnAnAnswer(t *testing.T) {
	p := newScriptedPing()
	h, changes := watch(t, p)

	p.reply(t, nil)
	p.reply(t, errLost)
	p.reply(t, nil) // an answer between two failures resets the count
	p.reply(t, errLost)
	<-p.asked // the probe pings again: the failure has been counted
	require.NoError(t, h.Err(), "one failure in a row leaves the breaker closed")
	require.Empty(t, changes)

	p.answer <- errLost
	require.ErrorIs(t, nextChange(t, changes), errLost, "OnChange gets the failed ping's error")
	require.ErrorIs(t, h.Err(), db.ErrDown)
	_, _, err := h.Guard(context.Background())
	require.ErrorIs(t, err, db.ErrDown, "no work starts while the breaker is open")

	p.reply(t, errLost) // failures while open change nothing
	p.reply(t, nil)
	require.NoError(t, nextChange(t, changes))
	require.NoError(t, h.Err(), "one answered ping closes the breaker")
	ctx, release, err := h.Guard(context.Background())
	require.NoError(t, err)
	defer release()
	require.NoError(t, ctx.Err())
}

// TestHealthCancelsGuardedWorkWhenItOpens: work bound before the breaker
// opens is cancelled, with ErrDown as the cause, when it opens; work
// released before is not; work bound after it closed again lives on.
func TestHealthCancelsGuardedWorkWhenItOpens(t *testing.T) {
	p := newScriptedPing()
	h, changes := watch(t, p)
	p.reply(t, nil)

	waiting, releaseWaiting, err := h.Guard(context.Background())
	require.NoError(t, err)
	defer releaseWaiting()
	done, releaseDone, err := h.Guard(context.Background())
	require.NoError(t, err)
	releaseDone()

	p.reply(t, errLost)
	p.reply(t, errLost)
	require.Error(t, nextChange(t, changes))
	select {
	case <-waiting.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("work waiting on the database was not cancelled when the breaker opened")
	}
	require.ErrorIs(t, context.Cause(waiting), db.ErrDown)
	require.NotErrorIs(t, context.Cause(done), db.ErrDown, "work that ended before is not the breaker's")

	p.reply(t, nil)
	require.NoError(t, nextChange(t, changes))
	after, releaseAfter, err := h.Guard(context.Background())
	require.NoError(t, err)
	defer releaseAfter()
	p.reply(t, nil)
	require.NoError(t, after.Err(), "the breaker closed: new work is not cancelled")
}

// TestHealthTimesOutAPingThatNeverAnswers: a database that never answers
// opens the breaker after Failures pings of Timeout each, whatever its
// callers' deadlines.
func TestHealthTimesOutAPingThatNeverAnswers(t *testing.T) {
	changes := make(chan error, 1)
	start := time.Now()
	h := db.Watch(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() },
		db.HealthOptions{Interval: time.Millisecond, Timeout: 20 * time.Millisecond, Failures: 2,
			OnChange: func(err error) { changes <- err }})
	defer h.Stop()
	require.ErrorIs(t, nextChange(t, changes), context.DeadlineExceeded)
	require.GreaterOrEqual(t, time.Since(start), 40*time.Millisecond, "two pings of 20 ms each went unanswered first")
	require.ErrorIs(t, h.Err(), db.ErrDown)
}

// TestNilHealthIsClosed: SQLite has no probe, and a nil Health lets all
// work through.
func TestNilHealthIsClosed(t *testing.T) {
	d := testdb.Open(t, "sqlite")
	require.Nil(t, d.Health, "embedded SQLite has nothing to stall")
	require.NoError(t, d.Health.Err())
	ctx, release, err := d.Health.Guard(context.Background())
	require.NoError(t, err)
	release()
	require.NoError(t, ctx.Err())
	d.Health.Stop()
}

// TestProbeFindsAStalledMariaDB: db.Open's probe, on a connection of its
// own, opens the breaker when MariaDB stalls or goes away and closes it by
// itself when MariaDB is back, and Close stops it.
func TestProbeFindsAStalledMariaDB(t *testing.T) {
	direct := testdb.Open(t, "mysql")
	cfg, err := mysql.ParseDSN(testdb.MySQLDSN())
	require.NoError(t, err)
	proxy := testdb.NewProxy(t, cfg.Addr)
	cfg.Addr, cfg.DBName = proxy.Addr(), direct.Migrator().CurrentDatabase()
	changes := make(chan error, 8)
	d, err := db.Open(context.Background(), "mysql:"+cfg.FormatDSN(), db.Options{Health: db.HealthOptions{
		Interval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond, OnChange: func(err error) { changes <- err }}})
	require.NoError(t, err)
	require.NotNil(t, d.Health)

	for _, outage := range []struct {
		name  string
		cause func()
	}{{"stall", proxy.Stall}, {"cut", proxy.Cut}} {
		outage.cause()
		require.Error(t, nextChange(t, changes), outage.name)
		require.ErrorIs(t, d.Health.Err(), db.ErrDown, outage.name)
		require.NoError(t, proxy.Restore())
		require.NoError(t, nextChange(t, changes), "%s: the breaker closes when MariaDB answers again", outage.name)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		require.NoError(t, d.Ping(ctx), "%s: the pool serves again", outage.name)
		cancel()
	}
	require.NoError(t, d.Close())
	require.NoError(t, d.Close(), "closing twice is harmless")
}

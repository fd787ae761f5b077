package main

// MariaDB outages under load: a TCP proxy (testdb.Proxy) between the
// server and the database cuts every connection and comes back on the same
// port, and the tests that the API answers 503 in time while the database is gone
// and recovers by itself when it returns.

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/testdb"
)

// outageCycles runs claim load on MariaDB behind a proxy and cuts the
// proxy cycles times. While the database is gone every request must answer
// 503 unavailable (with Retry-After) within 2 s, /readyz 503 and /healthz
// 200; once it is back the server must become ready and serve writes again
// by itself, with no restart, losing nothing it acknowledged.
func outageCycles(t *testing.T, cycles int, healthy, down time.Duration) {
	rng := testRand(t)
	direct := mysqlDatabase(t)
	proxy := testdb.NewProxy(t, direct.Addr)
	viaProxy := direct.Clone()
	viaProxy.Addr = proxy.Addr()
	d := deploy(t, "mysql:"+viaProxy.FormatDSN(), 300)

	all := newAcks()
	type window struct{ cut, restored, ready time.Time }
	var windows []window
	var readyz []time.Duration
	outs := d.load(t, rng, loadMix{Submitters: 6, Approvers: 1, Readers: 1}, func(*progress) {
		time.Sleep(healthy)
		for range cycles {
			w := window{cut: time.Now()}
			proxy.Cut()
			time.Sleep(down / 2)
			// Readiness says so, in time; liveness does not depend on the database.
			start := time.Now()
			st, b, err := d.call("GET", "/readyz", "", nil, nil)
			readyz = append(readyz, time.Since(start))
			require.NoError(t, err)
			require.Equal(t, http.StatusServiceUnavailable, st, "/readyz during the outage: %s", b)
			require.Contains(t, string(b), `"unavailable"`)
			st, _, err = d.call("GET", "/healthz", "", nil, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, st, "/healthz during the outage")
			time.Sleep(down - time.Since(w.cut))

			w.restored = time.Now()
			require.NoError(t, proxy.Restore())
			for deadline := time.Now().Add(15 * time.Second); ; {
				st, _, err := d.call("GET", "/readyz", "", nil, nil)
				if err == nil && st == http.StatusOK {
					break
				}
				require.True(t, time.Now().Before(deadline), "not ready 15s after the database came back")
				time.Sleep(50 * time.Millisecond)
			}
			w.ready = time.Now()
			windows = append(windows, w)
			time.Sleep(healthy)
		}
	})
	require.True(t, d.srv.alive(), "the same server process survived the outages: %v", d.srv.waitErr)

	// Every request was answered, in time, with a success or a 503 envelope.
	var slowest time.Duration
	for _, o := range outs {
		require.NotZero(t, o.Status, "every request is answered: %s", o)
		require.LessOrEqual(t, o.Took(), 2*time.Second, "answered within 2s: %s", o)
		if o.Status == http.StatusServiceUnavailable {
			require.Equal(t, "unavailable", o.Code, "%s", o)
			require.NotEmpty(t, o.RetryAfter, "a 503 says when to retry: %s", o)
			slowest = max(slowest, o.Took())
			continue
		}
		require.Less(t, o.Status, 300, "only successes and 503s: %s", o)
	}
	for i, w := range windows {
		inside := func(o outcome) bool { return o.Start.After(w.cut.Add(50*time.Millisecond)) && o.End.Before(w.restored) }
		after := func(o outcome) bool { return o.Start.After(w.ready.Add(100 * time.Millisecond)) }
		var down, up int
		for _, o := range outs {
			if inside(o) {
				down++
				require.Equal(t, http.StatusServiceUnavailable, o.Status, "outage %d: %s", i+1, o)
			}
			if after(o) && (i+1 == len(windows) || o.End.Before(windows[i+1].cut)) {
				up++
				require.Less(t, o.Status, 300, "after outage %d the server recovered by itself: %s", i+1, o)
			}
		}
		require.Greater(t, down, 5, "outage %d: requests were made while the database was gone", i+1)
		require.Greater(t, up, 5, "outage %d: requests were made after it came back", i+1)
		t.Logf("outage %d: %d requests answered 503 while cut; ready %s after the restore; %d requests succeeded after",
			i+1, down, w.ready.Sub(w.restored).Round(time.Millisecond), up)
	}
	t.Logf("%d requests; slowest 503: %s; /readyz during outages took up to %s",
		len(outs), slowest.Round(time.Millisecond), slices.Max(readyz).Round(time.Millisecond))

	all.add(outs)
	d.requireAcked(t, all)
	replayed, fresh := d.retryUnsettled(t, outs, all)
	d.requireAcked(t, all)
	t.Logf("retried 503'd writes: %d had committed (replayed), %d had not (created)", replayed, fresh)
	d.srv.stop(t)
	runCheck(t, "mysql:"+direct.FormatDSN())
}

// TestDatabaseOutage: when MariaDB goes away under load the API answers 503
// within 2 s, never 500, and recovers by itself when it returns.
func TestDatabaseOutage(t *testing.T) {
	outageCycles(t, 1, 500*time.Millisecond, 1500*time.Millisecond)
}

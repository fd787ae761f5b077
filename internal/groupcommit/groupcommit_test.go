package groupcommit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A burst of requests is committed in fewer groups than requests, and every
// caller gets the answer to its own request.
func TestBurstIsGroupedAndEachCallerGetsItsOwnAnswer(t *testing.T) {
	var mu sync.Mutex
	var groups []int
	release := make(chan struct{})
	c := New(Config{Workers: 1, MaxGroup: 100},
		func(ctx context.Context, g []int) ([]Result[int], error) {
			mu.Lock()
			groups = append(groups, len(g))
			mu.Unlock()
			out := make([]Result[int], len(g))
			for i, v := range g {
				out[i] = Result[int]{Value: v * 10}
			}
			return out, nil
		},
		func(ctx context.Context, v int) (int, error) {
			<-release // the first request holds the only worker while the rest queue
			mu.Lock()
			groups = append(groups, 1)
			mu.Unlock()
			return v * 10, nil
		})
	defer c.Close()

	var wg sync.WaitGroup
	got := make([]int, 50)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.Do(context.Background(), i)
			require.NoError(t, err)
			got[i] = v
		}()
		if i == 0 {
			time.Sleep(20 * time.Millisecond) // let the first one take the worker
		}
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	for i, v := range got {
		require.Equal(t, i*10, v, "request %d got another request's answer", i)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Less(t, len(groups), 50, "the queued requests were committed together: %v", groups)
}

// While another group commits, a worker holding fewer than MaxGroup
// requests waits up to Linger for more: requests that trickle in one by one
// go in one group instead of one group each.
func TestLingerGathersATrickleWhileAGroupCommits(t *testing.T) {
	hold, held := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var groups [][]int
	c := New(Config{Workers: 2, MaxGroup: 4, Linger: 2 * time.Second},
		func(ctx context.Context, g []int) ([]Result[int], error) {
			mu.Lock()
			groups = append(groups, g)
			mu.Unlock()
			out := make([]Result[int], len(g))
			for i, v := range g {
				out[i] = Result[int]{Value: v}
			}
			return out, nil
		},
		func(ctx context.Context, v int) (int, error) {
			if v == 0 { // the first request holds one worker
				close(held)
				<-hold
			}
			mu.Lock()
			groups = append(groups, []int{v})
			mu.Unlock()
			return v, nil
		})
	defer c.Close()

	first := make(chan error, 1)
	go func() { _, err := c.Do(context.Background(), 0); first <- err }()
	<-held
	var wg sync.WaitGroup
	do := func(v int) {
		wg.Add(1)
		go func() { defer wg.Done(); _, err := c.Do(context.Background(), v); require.NoError(t, err) }()
	}
	start := time.Now()
	for v := 1; v <= 4; v++ {
		do(v)
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait() // the four are answered before the first: MaxGroup ended the wait
	require.Less(t, time.Since(start), time.Second, "a full group does not wait out the linger")
	close(hold)
	require.NoError(t, <-first)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, [][]int{{1, 2, 3, 4}, {0}}, groups)
}

// A committer with no group in flight never lingers: a lone request is
// committed at once.
func TestIdleCommitterDoesNotLinger(t *testing.T) {
	c := New(Config{Linger: 10 * time.Second},
		func(ctx context.Context, g []int) ([]Result[int], error) { return nil, errors.New("not a group") },
		func(ctx context.Context, v int) (int, error) { return v, nil })
	defer c.Close()
	start := time.Now()
	v, err := c.Do(context.Background(), 5)
	require.NoError(t, err)
	require.Equal(t, 5, v)
	require.Less(t, time.Since(start), time.Second)
}

// A group that fails as a whole is committed again one request at a time,
// so the one bad request fails alone.
func TestFailedGroupFallsBackToOneAtATime(t *testing.T) {
	bad := errors.New("bad request 3")
	c := New(Config{Workers: 1},
		func(ctx context.Context, g []int) ([]Result[int], error) { return nil, errors.New("deadlock") },
		func(ctx context.Context, v int) (int, error) {
			if v == 3 {
				return 0, bad
			}
			return v, nil
		})
	defer c.Close()
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = c.Do(context.Background(), i) }()
	}
	wg.Wait()
	for i, err := range errs {
		if i == 3 {
			require.ErrorIs(t, err, bad)
		} else {
			require.NoError(t, err, "request %d", i)
		}
	}
}

// Every group runs under the configured deadline, a lone request included.
func TestOneDeadlineForEveryGroup(t *testing.T) {
	c := New(Config{Timeout: 30 * time.Millisecond},
		func(ctx context.Context, g []int) ([]Result[int], error) { <-ctx.Done(); return nil, ctx.Err() },
		func(ctx context.Context, v int) (int, error) { <-ctx.Done(); return 0, ctx.Err() })
	defer c.Close()
	start := time.Now()
	_, err := c.Do(context.Background(), 1)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 2*time.Second)
}

// Close stops the workers; a later Do is refused rather than left waiting.
func TestCloseStopsTheWorkers(t *testing.T) {
	c := New(Config{}, func(ctx context.Context, g []int) ([]Result[int], error) { return nil, nil },
		func(ctx context.Context, v int) (int, error) { return v, nil })
	v, err := c.Do(context.Background(), 7)
	require.NoError(t, err)
	require.Equal(t, 7, v)
	c.Close()
	_, err = c.Do(context.Background(), 8)
	require.ErrorIs(t, err, context.Canceled)
}

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

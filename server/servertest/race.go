package servertest

import "sync"

// AllAtOnce calls fn(i) for every i below n, each on its own goroutine, and
// releases them together so that the calls race as closely as the
// scheduler allows; it returns the results in the order of i. fn runs off
// the test goroutine, so it must not call t.FailNow (require) — use
// Harness.Raw and assert on the results afterwards.
func AllAtOnce[T any](n int, fn func(i int) T) []T {
	out := make([]T, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

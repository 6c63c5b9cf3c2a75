package torch

import (
	"runtime"
	"sync"
	"testing"
)

// The thread count set with SetNumThreads holds for operations on every OS thread
// (libtorch's OpenMP setting is per thread; the shim applies it on each call).
func TestNumThreadsHoldsOnEveryOSThread(t *testing.T) {
	defer SetNumThreads(DefaultThreads())
	for _, want := range []int{1, 3} {
		SetNumThreads(want)
		var wg sync.WaitGroup
		got := make([]int, 8)
		for i := range got {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				runtime.LockOSThread() // a fresh OS thread for this goroutine
				Do(func(s *Scope) error { return Ones(s, []int64{1}).Err() })
				got[i] = NumThreads()
			}(i)
		}
		wg.Wait()
		for i, g := range got {
			if g != want {
				t.Fatalf("goroutine %d saw %d threads after SetNumThreads(%d)", i, g, want)
			}
		}
	}
}

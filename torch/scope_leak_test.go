package torch

import (
	"runtime"
	"testing"
	"time"
)

// leakScope fills a scope with one tensor of n float32 zeros and drops both
// without closing the scope or freeing the tensor.
//
//go:noinline
func leakScope(t *testing.T, n int64) {
	s := NewScope(NoGrad())
	if err := Zeros(s, []int64{n}).Err(); err != nil {
		t.Fatal(err)
	}
}

// leakTensor creates a caller-owned tensor of n float32 zeros and drops it.
//
//go:noinline
func leakTensor(t *testing.T, n int64) {
	if err := Zeros(nil, []int64{n}).Err(); err != nil {
		t.Fatal(err)
	}
}

// keepFromScope returns a tensor of a scope that is dropped unclosed.
//
//go:noinline
func keepFromScope() *Tensor {
	s := NewScope(NoGrad())
	return Full(s, []int64{4}, 3)
}

// libtorchBytes is the memory libtorch holds for tensors: the caching allocator's
// bytes in use when it is installed; the process's resident size otherwise.
func libtorchBytes() int64 {
	if cpuCacheInstalled() {
		return CPUCache().InUse
	}
	EmptyCPUCache()
	return rssBytes()
}

// collect runs the garbage collector until the memory libtorch holds is within
// slack of base (cleanups run on their own goroutine after a collection) or ten
// rounds have passed, and returns what it holds then.
func collect(base, slack int64) int64 {
	var now int64
	for range 10 {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
		if now = libtorchBytes(); now-base <= slack {
			break
		}
	}
	return now
}

// An unclosed scope and a forgotten caller-owned tensor are safety-netted: once
// nothing refers to them, their libtorch memory (4 × 64 MiB each) returns after
// garbage collection, in bytes the allocator counts and in resident size. A tensor
// that outlives its dropped scope keeps the scope's memory alive and stays usable.
func TestUnclosedScopeMemoryComesBack(t *testing.T) {
	const n = 16 << 20 // float32s: 64 MiB
	const slack = 8 << 20
	collect(0, 0)
	base := libtorchBytes()
	EmptyCPUCache()
	rssBase := rssBytes()

	for range 4 {
		leakScope(t, n)
	}
	peak := libtorchBytes()
	scopeAfter := collect(base, slack)
	for range 4 {
		leakTensor(t, n)
	}
	tensorAfter := collect(base, slack)
	EmptyCPUCache()
	rss := rssBytes()
	t.Logf("libtorch bytes: base %.1f MiB, after 4 unclosed scopes %.1f MiB, after GC %.1f MiB; "+
		"after 4 forgotten tensors and GC %.1f MiB; RSS base %.1f MiB, at the end %.1f MiB",
		mib(base), mib(peak), mib(scopeAfter), mib(tensorAfter), mib(rssBase), mib(rss))
	if scopeAfter-base > slack {
		t.Errorf("unclosed scopes keep %.1f MiB after garbage collection", mib(scopeAfter-base))
	}
	if tensorAfter-base > slack {
		t.Errorf("forgotten tensors keep %.1f MiB after garbage collection", mib(tensorAfter-base))
	}
	if rss-rssBase > 4*slack {
		t.Errorf("resident size grew by %.1f MiB", mib(rss-rssBase))
	}

	kept := keepFromScope()
	collect(0, 0)
	v, err := kept.Float32s()
	if err != nil || len(v) != 4 || v[3] != 3 {
		t.Fatalf("tensor of a dropped scope: %v %v", v, err)
	}
	if kept.Scope() == nil {
		t.Error("tensor of a dropped scope lost its scope")
	}
	kept.Scope().Close()
	if kept.Err() != ErrReleased {
		t.Errorf("closing the kept tensor's scope: Err = %v, want ErrReleased", kept.Err())
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

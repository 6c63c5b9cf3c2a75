package corrupt

import "sync"

// Pooled scratch buffers, so that corruptions allocate nothing per image besides
// their output.

var f64Pool = sync.Pool{New: func() any { return new([]float64) }}

// getF64 returns a pooled scratch slice of length n (contents undefined) and the
// pointer to hand back to putF64.
func getF64(n int) (*[]float64, []float64) {
	p := f64Pool.Get().(*[]float64)
	if cap(*p) < n {
		*p = make([]float64, n)
	}
	return p, (*p)[:n]
}

func putF64(p *[]float64) { f64Pool.Put(p) }

var f32Pool = sync.Pool{New: func() any { return new([]float32) }}

// make32 returns a pooled float32 scratch slice of length n (contents undefined).
func make32(n int) *[]float32 {
	p := f32Pool.Get().(*[]float32)
	if cap(*p) < n {
		*p = make([]float32, n)
	}
	*p = (*p)[:n]
	return p
}

func put32(p *[]float32) { f32Pool.Put(p) }

var u8Pool = sync.Pool{New: func() any { return new([]uint8) }}

// getU8 returns a pooled byte scratch slice of length n (contents undefined).
func getU8(n int) *[]uint8 {
	p := u8Pool.Get().(*[]uint8)
	if cap(*p) < n {
		*p = make([]uint8, n)
	}
	*p = (*p)[:n]
	return p
}

func putU8(p *[]uint8) { u8Pool.Put(p) }

var i32Pool = sync.Pool{New: func() any { return new([]int32) }}

// getI32 returns a pooled int32 scratch slice of length n (contents undefined).
func getI32(n int) *[]int32 {
	p := i32Pool.Get().(*[]int32)
	if cap(*p) < n {
		*p = make([]int32, n)
	}
	*p = (*p)[:n]
	return p
}

func putI32(p *[]int32) { i32Pool.Put(p) }

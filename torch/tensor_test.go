package torch

import (
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

func mustF32(t *testing.T, x *Tensor) []float32 {
	t.Helper()
	v, err := x.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRoundTripDTypes(t *testing.T) {
	s := NewScope()
	defer s.Close()
	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: got %v, want %v", name, got, want)
		}
	}
	f32 := []float32{1.5, -2, 3}
	g1, e := Data[float32](FromSlice(s, f32, nil))
	check("float32", g1, f32, e)
	f64 := []float64{math.Pi, -1e300}
	g2, e := Data[float64](FromSlice(s, f64, nil))
	check("float64", g2, f64, e)
	i64 := []int64{math.MaxInt64, -7}
	g3, e := Data[int64](FromSlice(s, i64, nil))
	check("int64", g3, i64, e)
	i32 := []int32{math.MinInt32, 9}
	g4, e := Data[int32](FromSlice(s, i32, nil))
	check("int32", g4, i32, e)
	u8 := []uint8{0, 255, 7}
	g5, e := Data[uint8](FromSlice(s, u8, nil))
	check("uint8", g5, u8, e)
	bs := []bool{true, false, true}
	g6, e := Data[bool](FromSlice(s, bs, nil))
	check("bool", g6, bs, e)
	// float16 / bfloat16 bits made by PyTorch 1.13 for these values.
	halfWant := []int16{15360, 31743, 168, -15800, 31744}
	hv := []float32{1.0, 65504.0, 1e-5, -3.14159, 70000.0}
	half := FromSlice(s, hv, nil).ToDType(Float16)
	hb, err := Data[F16](half)
	if err != nil {
		t.Fatal(err)
	}
	for i := range hv {
		if int16(hb[i]) != halfWant[i] || int16(F16FromFloat32(hv[i])) != halfWant[i] {
			t.Errorf("float16(%v): libtorch %d, Go %d, want %d", hv[i], int16(hb[i]), int16(F16FromFloat32(hv[i])), halfWant[i])
		}
	}
	if back := F16(15360).Float32(); back != 1 {
		t.Errorf("F16(1).Float32 = %v", back)
	}
	bfWant := []int16{16256, 16457, -25027, 29002}
	bv := []float32{1.0, 3.14159, -1e-20, 1e30}
	bb, err := Data[BF16](FromSlice(s, bv, nil).ToDType(BFloat16))
	if err != nil {
		t.Fatal(err)
	}
	for i := range bv {
		if int16(bb[i]) != bfWant[i] || int16(BF16FromFloat32(bv[i])) != bfWant[i] {
			t.Errorf("bfloat16(%v): libtorch %d, Go %d, want %d", bv[i], int16(bb[i]), int16(BF16FromFloat32(bv[i])), bfWant[i])
		}
	}
	// A float16 tensor made from Go bits reads back as float32 values.
	back := mustF32(t, FromSlice(s, []F16{15360, 168}, nil))
	if back[0] != 1 || math.Abs(float64(back[1])-1.0013580322265625e-05) > 1e-12 {
		t.Errorf("float16 from Go bits = %v", back)
	}
}

func TestSeededRandomMatchesPyTorch(t *testing.T) {
	s := NewScope()
	defer s.Close()
	// torch.manual_seed(0); torch.randn(3) in PyTorch 1.13.
	ManualSeed(0)
	got := mustF32(t, Randn(s, []int64{3}))
	want := []float32{1.5409960746765137, -0.293428897857666, -2.1787893772125244}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("randn after seed 0 = %v, want %v", got, want)
		}
	}
	// torch.manual_seed(42); torch.rand(2).
	ManualSeed(42)
	got = mustF32(t, Rand(s, []int64{2}))
	if got[0] != 0.8822692632675171 || got[1] != 0.9150039553642273 {
		t.Fatalf("rand after seed 42 = %v", got)
	}
	// RNG state round trip: the same draws after restoring.
	st, err := RNGState()
	if err != nil {
		t.Fatal(err)
	}
	a := mustF32(t, Randn(s, []int64{4}))
	if err := SetRNGState(st); err != nil {
		t.Fatal(err)
	}
	b := mustF32(t, Randn(s, []int64{4}))
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("after restoring the state: %v vs %v", a, b)
		}
	}
}

func TestShapeOpsAndMath(t *testing.T) {
	s := NewScope()
	defer s.Close()
	x := Arange(s, 0, 24, 1).View([]int64{2, 3, 4})
	if got := x.Permute([]int64{2, 0, 1}).Shape(); !slices.Equal(got, []int64{4, 2, 3}) {
		t.Fatalf("permute shape %v", got)
	}
	parts, err := x.Chunk(2, 2)
	if err != nil || len(parts) != 2 || !slices.Equal(parts[1].Shape(), []int64{2, 3, 2}) {
		t.Fatalf("chunk: %v %v", err, parts)
	}
	back := Cat(parts, 2)
	if ok, _ := back.Equal(x); !ok {
		t.Fatal("cat(chunk(x)) != x")
	}
	sum := mustF32(t, x.SumDims([]int64{1}, false))
	// sum over dim 1 of arange(24).view(2,3,4): [12 15 18 21 48 51 54 57]
	want := []float32{12, 15, 18, 21, 48, 51, 54, 57}
	for i := range want {
		if sum[i] != want[i] {
			t.Fatalf("sum = %v, want %v", sum, want)
		}
	}
	vals, idx := x.View([]int64{6, 4}).MaxDim(1, false)
	iv, _ := idx.Int64s()
	vv := mustF32(t, vals)
	if iv[5] != 3 || vv[5] != 23 {
		t.Fatalf("max: %v %v", vv, iv)
	}
	e := Einsum("ij,jk->ik", []*Tensor{Eye(s, 3), Full(s, []int64{3, 2}, 2)})
	if got := mustF32(t, e); got[5] != 2 || len(got) != 6 {
		t.Fatalf("einsum = %v", got)
	}
	oh, _ := OneHot(FromSlice(s, []int64{2, 0}, nil), 3).Int64s()
	if !reflect.DeepEqual(oh, []int64{0, 0, 1, 1, 0, 0}) {
		t.Fatalf("one_hot = %v", oh)
	}
	w := mustF32(t, Where(x.Flatten(0, -1).GtScalar(20), Zeros(s, []int64{24}), Ones(s, []int64{24})))
	if w[20] != 1 || w[21] != 0 {
		t.Fatalf("where = %v", w)
	}
	std := mustF32(t, FromSlice(s, []float32{1, 2, 3, 4}, nil).Std([]int64{0}, true, false))
	if math.Abs(float64(std[0])-1.2909944) > 1e-6 {
		t.Fatalf("std = %v", std)
	}
	lse := mustF32(t, FromSlice(s, []float32{0, 0}, nil).Logsumexp([]int64{0}, false))
	if math.Abs(float64(lse[0])-math.Ln2) > 1e-6 {
		t.Fatalf("logsumexp = %v", lse)
	}
}

func TestErrorsKeepProcessAlive(t *testing.T) {
	s := NewScope()
	defer s.Close()
	a := Ones(s, []int64{2, 3})
	b := Ones(s, []int64{4, 5})
	cases := map[string]*Tensor{
		"matmul shapes": a.Matmul(b),
		"add broadcast": a.Add(b),
		"view":          a.View([]int64{7}),
		"conv channels": Conv2d(Ones(s, []int64{1, 3, 8, 8}), Ones(s, []int64{4, 2, 3, 3}), nil, []int64{1, 1}, []int64{0, 0}, []int64{1, 1}, 1),
		"dtype":         CrossEntropy(a, Ones(s, []int64{2}), 0), // float targets of the wrong shape
		"index dtype":   a.IndexSelect(0, Ones(s, []int64{1})),   // float index
		"device":        a.To(CUDA(0)),
		"cat ranks":     Cat([]*Tensor{a, Ones(s, []int64{3})}, 0),
		"bad dim":       a.Transpose(0, 5),
	}
	for name, r := range cases {
		err := r.Err()
		var te *Error
		if !errors.As(err, &te) || te.Msg == "" {
			t.Errorf("%s: want a torch error, got %v", name, err)
		}
		if strings.Contains(te.Msg, "frame #") {
			t.Errorf("%s: message carries a C++ backtrace: %q", name, te.Msg)
		}
	}
	if s.Err() == nil {
		t.Error("scope did not record the first error")
	}
	// Errors are sticky: an op on a failed tensor fails the same way without libtorch.
	bad := a.Matmul(b)
	if err := bad.Relu().Sum().Err(); err != bad.Err() {
		t.Errorf("sticky error: got %v, want %v", err, bad.Err())
	}
	if _, err := bad.Item(); err == nil {
		t.Error("Item of a failed tensor succeeded")
	}
	if _, err := Data[int64](a); err == nil {
		t.Error("Data with the wrong element type succeeded")
	}
	if x := FromSlice(s, []float32{1, 2, 3}, []int64{2, 2}); x.Err() == nil {
		t.Error("FromSlice with the wrong element count succeeded")
	}
	if err := Ones(s, []int64{2}).SetRequiresGrad(true).Mul(Ones(s, []int64{2})).Backward(); err == nil {
		t.Error("backward of a non-scalar without an output gradient succeeded")
	}
	// The process is alive and libtorch still works.
	if v, err := Ones(s, []int64{3}).Sum().Item(); err != nil || v != 3 {
		t.Fatalf("after errors: %v %v", v, err)
	}
}

func TestScopeReleases(t *testing.T) {
	s := NewScope()
	x := Ones(s, []int64{3})
	y := x.AddScalar(1)
	keep := y.MulScalar(2).MoveTo(nil)
	if s.Len() != 2 {
		t.Fatalf("scope owns %d tensors, want 2", s.Len())
	}
	s.Close()
	if !errors.Is(x.Err(), ErrReleased) || !errors.Is(y.Relu().Err(), ErrReleased) {
		t.Fatalf("released tensors still usable: %v %v", x.Err(), y.Relu().Err())
	}
	v := mustF32(t, keep)
	if v[0] != 4 {
		t.Fatalf("kept tensor = %v", v)
	}
	keep.Free()
	if keep.Err() == nil {
		t.Fatal("freed tensor still usable")
	}
	// A result of operands from two scopes goes to the first operand's scope.
	a, b := NewScope(), NewScope()
	defer b.Close()
	r := Ones(a, []int64{1}).Add(Ones(b, []int64{1}))
	if r.Scope() != a {
		t.Fatal("result not in the first operand's scope")
	}
	a.Close()
	if r.Err() == nil {
		t.Fatal("result survived its scope")
	}
}

func TestModesPerCall(t *testing.T) {
	train := NewScope()
	defer train.Close()
	w := Ones(train, []int64{2}).SetRequiresGrad(true)
	if !w.MulScalar(2).RequiresGrad() {
		t.Fatal("grad scope did not record")
	}
	eval := NewScope(NoGrad())
	defer eval.Close()
	if w.In(eval).MulScalar(2).RequiresGrad() {
		t.Fatal("no-grad scope recorded a graph")
	}
	inf := NewScope(Inference())
	defer inf.Close()
	if w.In(inf).MulScalar(2).RequiresGrad() {
		t.Fatal("inference scope recorded a graph")
	}
	// The mode does not leak into a later call of another scope on any thread.
	if !w.MulScalar(3).RequiresGrad() {
		t.Fatal("grad mode leaked from a no-grad call")
	}
	ac := NewScope(Autocast(DeviceCPU, BFloat16))
	defer ac.Close()
	m := Ones(ac, []int64{4, 4}).Matmul(Ones(ac, []int64{4, 4}))
	if m.DType() != BFloat16 {
		t.Fatalf("CPU autocast matmul dtype %v, want bfloat16", m.DType())
	}
	if plain := Ones(train, []int64{4, 4}).Matmul(Ones(train, []int64{4, 4})); plain.DType() != Float32 {
		t.Fatalf("autocast leaked: %v", plain.DType())
	}
}

func TestConcurrentGoroutines(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				err := Do(func(s *Scope) error {
					x := Full(s, []int64{16, 16}, float64(g)).SetRequiresGrad(true)
					l := x.Square().Sum()
					gr, err := Grad([]*Tensor{l}, []*Tensor{x}, nil, false, false)
					if err != nil {
						return err
					}
					v, err := gr[0].Mean().Item()
					if err != nil {
						return err
					}
					if v != 2*float64(g) {
						return errors.New("wrong gradient")
					}
					return nil
				}, func() ScopeOption {
					if i%2 == 0 {
						return NoGrad()
					}
					return func(*Scope) {}
				}())
				// Even iterations run in a no-grad scope: Grad must fail there, and
				// the failure must not affect other goroutines.
				if i%2 == 1 && err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestUnsafeSliceAndCopyFrom(t *testing.T) {
	s := NewScope()
	defer s.Close()
	x := Zeros(s, []int64{2, 2})
	v, err := UnsafeSlice[float32](x)
	if err != nil {
		t.Fatal(err)
	}
	v[3] = 7
	if got := mustF32(t, x); got[3] != 7 {
		t.Fatalf("write through UnsafeSlice not visible: %v", got)
	}
	if err := CopyFrom(x, []float32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	if got := mustF32(t, x.Sum()); got[0] != 10 {
		t.Fatalf("CopyFrom: sum %v", got)
	}
	if _, err := UnsafeSlice[float32](x.T()); err == nil {
		t.Fatal("UnsafeSlice of a non-contiguous tensor succeeded")
	}
	if err := CopyFrom(x, []float32{1}); err == nil {
		t.Fatal("CopyFrom with too few values succeeded")
	}
}

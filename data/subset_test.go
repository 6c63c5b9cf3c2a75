package data

import (
	"slices"
	"testing"
)

func TestFirstKAndIndexSubset(t *testing.T) {
	d := memDataset(t, 10, 1, 2, 2, 3)
	f := FirstK(d, 4)
	if f.Len() != 4 || f.Label(3) != 0 {
		t.Errorf("FirstK: len %d labels %v", f.Len(), Labels(f))
	}
	if FirstK(d, 100).Len() != 10 {
		t.Error("FirstK beyond Len")
	}
	s, err := NewSubset(d, []int{9, 9, 2})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]uint8, 4)
	if l, _ := s.Image(0, buf); l != 0 || buf[0] != byte(7*9) {
		t.Errorf("subset image 0: label %d pix %v", l, buf)
	}
	if _, err := NewSubset(d, []int{10}); err == nil {
		t.Error("out-of-range index accepted")
	}
	if _, err := s.Image(3, buf); err == nil {
		t.Error("subset read past its end")
	}
}

func TestRandomKPerClass(t *testing.T) {
	d := memDataset(t, 100, 1, 1, 1, 4) // 25 per class
	a := RandomKPerClass(d, 5, 1)
	b := RandomKPerClass(d, 5, 1)
	c := RandomKPerClass(d, 5, 2)
	if !slices.Equal(a.Indices(), b.Indices()) {
		t.Error("same seed, different subsets")
	}
	if slices.Equal(a.Indices(), c.Indices()) {
		t.Error("different seeds, same subset")
	}
	if !slices.IsSorted(a.Indices()) {
		t.Error("subset not in base order")
	}
	for k, n := range ClassCounts(a) {
		if n != 5 {
			t.Errorf("class %d: %d images", k, n)
		}
	}
	if RandomKPerClass(d, 30, 1).Len() != 100 {
		t.Error("k above class size should take whole classes")
	}
}

func TestSplitStratified(t *testing.T) {
	// Unbalanced classes: 50, 30, 20.
	labels := make([]int32, 100)
	for i := range labels {
		switch {
		case i < 50:
			labels[i] = 0
		case i < 80:
			labels[i] = 1
		default:
			labels[i] = 2
		}
	}
	d, err := NewMemory(1, 1, 1, make([]uint8, 100), labels, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	tr, va, err := Split(d, 0.15, 42)
	if err != nil {
		t.Fatal(err)
	}
	if va.Len() != 15 || tr.Len() != 85 {
		t.Fatalf("sizes %d/%d", tr.Len(), va.Len())
	}
	// Exact shares 7.5, 4.5, 3: floors 7, 4, 3 and one more by largest remainder
	// (classes 0 and 1 tie; the stable sort gives it to class 0).
	if got := ClassCounts(va); !slices.Equal(got, []int{8, 4, 3}) {
		t.Errorf("validation class counts %v", got)
	}
	all := append(append([]int{}, tr.Indices()...), va.Indices()...)
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatalf("train ∪ validation is not a partition: %v", all)
		}
	}
	tr2, va2, _ := Split(d, 0.15, 42)
	_, va3, _ := Split(d, 0.15, 43)
	if !slices.Equal(va.Indices(), va2.Indices()) || !slices.Equal(tr.Indices(), tr2.Indices()) {
		t.Error("same seed, different split")
	}
	if slices.Equal(va.Indices(), va3.Indices()) {
		t.Error("different seeds, same split")
	}
	if _, _, err := Split(d, 1.5, 0); err == nil {
		t.Error("fraction 1.5 accepted")
	}
}

func TestPermutation(t *testing.T) {
	p := Permutation(1000, 5, 0)
	q := Permutation(1000, 5, 0)
	r := Permutation(1000, 5, 1)
	if !slices.Equal(p, q) || slices.Equal(p, r) {
		t.Error("permutation not a function of (seed, epoch)")
	}
	s := slices.Clone(p)
	slices.Sort(s)
	for i, v := range s {
		if v != i {
			t.Fatal("not a permutation")
		}
	}
}

func TestRNGIntnUniform(t *testing.T) {
	r := newRNG(1, 2, 3)
	const n, draws = 7, 70000
	var counts [n]int
	for range draws {
		counts[r.intn(n)]++
	}
	for k, c := range counts {
		// expected 10000, σ ≈ 93
		if c < 9600 || c > 10400 {
			t.Errorf("value %d drawn %d times of %d", k, c, draws)
		}
	}
}

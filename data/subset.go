package data

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// Subset is a view of some images of a base dataset, in a given order.
type Subset struct {
	base Dataset
	idx  []int
}

// NewSubset returns the images of d at indices, in that order (repetitions allowed).
func NewSubset(d Dataset, indices []int) (*Subset, error) {
	n := d.Len()
	for k, i := range indices {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("subset: index %d (position %d) out of range [0, %d)", i, k, n)
		}
	}
	return &Subset{base: d, idx: indices}, nil
}

// Base returns the dataset the subset views.
func (s *Subset) Base() Dataset { return s.base }

// Indices returns the base indices of the subset's images (read-only).
func (s *Subset) Indices() []int { return s.idx }

// Len implements Dataset.
func (s *Subset) Len() int { return len(s.idx) }

// Shape implements Dataset.
func (s *Subset) Shape() (c, h, w int) { return s.base.Shape() }

// NumClasses implements Dataset.
func (s *Subset) NumClasses() int { return s.base.NumClasses() }

// ClassNames implements Dataset.
func (s *Subset) ClassNames() []string { return s.base.ClassNames() }

// Label implements Dataset.
func (s *Subset) Label(i int) int { return s.base.Label(s.idx[i]) }

// Image implements Dataset.
func (s *Subset) Image(i int, dst []uint8) (int, error) {
	if i < 0 || i >= len(s.idx) {
		return 0, fmt.Errorf("image %d out of range [0, %d)", i, len(s.idx))
	}
	return s.base.Image(s.idx[i], dst)
}

// FirstK returns the first k images of d (all of them if d has fewer).
func FirstK(d Dataset, k int) *Subset {
	k = max(0, min(k, d.Len()))
	idx := make([]int, k)
	for i := range idx {
		idx[i] = i
	}
	return &Subset{base: d, idx: idx}
}

// byClass returns the indices of each class, in increasing order.
func byClass(d Dataset) [][]int {
	out := make([][]int, d.NumClasses())
	for i := range d.Len() {
		if l := d.Label(i); l >= 0 && l < len(out) {
			out[l] = append(out[l], i)
		}
	}
	return out
}

// RandomKPerClass returns k images of each class drawn without replacement, the same
// ones for the same seed; a class with fewer than k images contributes all of them.
// The result keeps the base order.
func RandomKPerClass(d Dataset, k int, seed uint64) *Subset {
	var idx []int
	for c, members := range byClass(d) {
		r := newRNG(seed, uint64(c), tagSubset)
		r.shuffle(members)
		idx = append(idx, members[:min(k, len(members))]...)
	}
	sort.Ints(idx)
	return &Subset{base: d, idx: idx}
}

// Split divides d into a training and a validation part, stratified by class:
// round(fraction·Len) images go to validation, each class contributing in proportion
// to its size (largest remainders settle the rounding). Which images go where depends
// only on the seed. Both parts keep the base order.
func Split(d Dataset, fraction float64, seed uint64) (train, val *Subset, err error) {
	if math.IsNaN(fraction) || fraction < 0 || fraction > 1 {
		return nil, nil, fmt.Errorf("split: validation fraction %v not in [0, 1]", fraction)
	}
	classes := byClass(d)
	total := 0
	for _, m := range classes {
		total += len(m)
	}
	want := int(math.Round(fraction * float64(total)))
	// Per-class quotas: floor of the exact share, then one more for the classes with
	// the largest remainders until the total is right.
	quota := make([]int, len(classes))
	type rem struct {
		class int
		frac  float64
	}
	rems := make([]rem, len(classes))
	got := 0
	for c, m := range classes {
		exact := fraction * float64(len(m))
		quota[c] = int(math.Floor(exact))
		got += quota[c]
		rems[c] = rem{c, exact - float64(quota[c])}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].frac > rems[b].frac })
	for k := 0; got < want && k < len(rems); k++ {
		if c := rems[k].class; quota[c] < len(classes[c]) {
			quota[c]++
			got++
		}
	}
	var tr, va []int
	for c, m := range classes {
		r := newRNG(seed, uint64(c), tagSplit)
		r.shuffle(m)
		va = append(va, m[:quota[c]]...)
		tr = append(tr, m[quota[c]:]...)
	}
	slices.Sort(tr)
	slices.Sort(va)
	return &Subset{base: d, idx: tr}, &Subset{base: d, idx: va}, nil
}

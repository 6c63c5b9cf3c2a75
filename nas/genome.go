package nas

import (
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
)

// Space is the search space of an elastic bottleneck ResNet: per stage, the number of
// blocks of the full network and the fewest a sub-network keeps (a sub-network drops
// a suffix of a stage's blocks; the first block, which changes the shape, always
// stays); per block, the multipliers of the inner (bottleneck) width.
type Space struct {
	// Blocks is the number of blocks per stage of the full network.
	Blocks []int `json:"blocks"`
	// MinDepth is the fewest blocks per stage a sub-network keeps (at least 1).
	MinDepth []int `json:"min_depth"`
	// WidthChoices are the inner-width multipliers; the first is 1 (the full width).
	WidthChoices []float64 `json:"width_choices"`
	// Divisor: inner widths are rounded to multiples of it (at least one Divisor,
	// at most the full width).
	Divisor int `json:"divisor"`
}

// ResNet50Space is the default space over ResNet50: each stage may drop up to two
// blocks (depths 1–3, 2–4, 4–6, 1–3) and each block's inner width is 1, 0.8 or 0.6
// of the full one, rounded to a multiple of 8.
func ResNet50Space() Space {
	return Space{Blocks: []int{3, 4, 6, 3}, MinDepth: []int{1, 2, 4, 1}, WidthChoices: []float64{1, 0.8, 0.6}, Divisor: 8}
}

// Validate checks the space.
func (s Space) Validate() error {
	if len(s.Blocks) == 0 || len(s.Blocks) != len(s.MinDepth) {
		return fmt.Errorf("space: %d stages with %d minimum depths", len(s.Blocks), len(s.MinDepth))
	}
	for i, b := range s.Blocks {
		if b < 1 || s.MinDepth[i] < 1 || s.MinDepth[i] > b {
			return fmt.Errorf("space: stage %d has %d blocks and minimum depth %d (want 1 ≤ minimum ≤ blocks)", i+1, b, s.MinDepth[i])
		}
	}
	if len(s.WidthChoices) == 0 || s.WidthChoices[0] != 1 {
		return fmt.Errorf("space: the first width choice must be 1, have %v", s.WidthChoices)
	}
	for _, w := range s.WidthChoices {
		if !(w > 0 && w <= 1) {
			return fmt.Errorf("space: width choice %v outside (0, 1]", w)
		}
	}
	if s.Divisor < 1 {
		return fmt.Errorf("space: divisor %d (want ≥ 1)", s.Divisor)
	}
	return nil
}

// InnerWidth is the inner width of a block whose full inner width is full under
// width choice c: full·WidthChoices[c] rounded to the nearest multiple of Divisor,
// at least Divisor (or full, if smaller) and at most full.
func (s Space) InnerWidth(full int64, c int) int64 {
	d := int64(s.Divisor)
	v := int64(math.Round(float64(full)*s.WidthChoices[c]/float64(d))) * d
	return min(full, max(v, min(d, full)))
}

// Genome is a sub-network: the depth of each stage and a width choice (an index
// into Space.WidthChoices) for every block of the full network; the choices of
// dropped blocks are 0 in the canonical form.
type Genome struct {
	Depth []int   `json:"depth"`
	Width [][]int `json:"width"`
}

// Max is the full network.
func (s Space) Max() Genome {
	g := Genome{Depth: append([]int(nil), s.Blocks...), Width: make([][]int, len(s.Blocks))}
	for i, b := range s.Blocks {
		g.Width[i] = make([]int, b)
	}
	return g
}

// Min is the smallest sub-network: the minimum depths and the narrowest width.
func (s Space) Min() Genome {
	g := s.Max()
	copy(g.Depth, s.MinDepth)
	for i := range g.Width {
		for j := 0; j < g.Depth[i]; j++ {
			g.Width[i][j] = len(s.WidthChoices) - 1
		}
	}
	return g
}

// Check reports whether g belongs to the space.
func (s Space) Check(g Genome) error {
	if len(g.Depth) != len(s.Blocks) || len(g.Width) != len(s.Blocks) {
		return fmt.Errorf("genome %s: %d depths and %d width lists for %d stages", g.Key(), len(g.Depth), len(g.Width), len(s.Blocks))
	}
	for i, d := range g.Depth {
		if d < s.MinDepth[i] || d > s.Blocks[i] {
			return fmt.Errorf("genome %s: stage %d depth %d outside %d–%d", g.Key(), i+1, d, s.MinDepth[i], s.Blocks[i])
		}
		if len(g.Width[i]) != s.Blocks[i] {
			return fmt.Errorf("genome %s: stage %d has %d width choices for %d blocks", g.Key(), i+1, len(g.Width[i]), s.Blocks[i])
		}
		for _, c := range g.Width[i] {
			if c < 0 || c >= len(s.WidthChoices) {
				return fmt.Errorf("genome %s: width choice %d outside 0–%d", g.Key(), c, len(s.WidthChoices)-1)
			}
		}
	}
	return nil
}

// Canonical returns a copy of g with the width choices of dropped blocks set to 0,
// so that equal sub-networks have equal genomes.
func (g Genome) Canonical() Genome {
	c := Genome{Depth: append([]int(nil), g.Depth...), Width: make([][]int, len(g.Width))}
	for i, w := range g.Width {
		c.Width[i] = append([]int(nil), w...)
		for j := range c.Width[i] {
			if i < len(g.Depth) && j >= g.Depth[i] {
				c.Width[i][j] = 0
			}
		}
	}
	return c
}

// Key is a compact text form of the canonical genome, e.g.
// "d3463-w000.0000.000000.000": the depths, then the width choices per stage.
func (g Genome) Key() string {
	c := g.Canonical()
	var b strings.Builder
	b.WriteByte('d')
	for _, d := range c.Depth {
		b.WriteString(strconv.Itoa(d))
	}
	b.WriteString("-w")
	for i, w := range c.Width {
		if i > 0 {
			b.WriteByte('.')
		}
		for _, x := range w {
			b.WriteString(strconv.Itoa(x))
		}
	}
	return b.String()
}

// ParseGenome reads the form written by Key (single-digit depths and choices).
func (s Space) ParseGenome(key string) (Genome, error) {
	bad := func() (Genome, error) {
		return Genome{}, fmt.Errorf("genome %q: want the form d<depth per stage>-w<choices of stage 1>.<stage 2>…, e.g. %s", key, s.Max().Key())
	}
	d, w, ok := strings.Cut(key, "-w")
	if !ok || !strings.HasPrefix(d, "d") {
		return bad()
	}
	g := Genome{}
	for _, r := range d[1:] {
		if r < '0' || r > '9' {
			return bad()
		}
		g.Depth = append(g.Depth, int(r-'0'))
	}
	for _, part := range strings.Split(w, ".") {
		var st []int
		for _, r := range part {
			if r < '0' || r > '9' {
				return bad()
			}
			st = append(st, int(r-'0'))
		}
		g.Width = append(g.Width, st)
	}
	if err := s.Check(g); err != nil {
		return Genome{}, err
	}
	return g.Canonical(), nil
}

// Random draws a sub-network: with depth, each stage's depth uniformly from its
// range (else the full depth); with width, each block's choice uniformly (else 1).
func (s Space) Random(rng *rand.Rand, depth, width bool) Genome {
	g := s.Max()
	for i := range g.Depth {
		if depth {
			g.Depth[i] = s.MinDepth[i] + rng.Intn(s.Blocks[i]-s.MinDepth[i]+1)
		}
		if width {
			for j := 0; j < g.Depth[i]; j++ {
				g.Width[i][j] = rng.Intn(len(s.WidthChoices))
			}
		}
	}
	return g
}

// Smallest is the smallest sub-network among those that elastic depth (and, with
// width, elastic width) can reach: the lower end of the sandwich rule.
func (s Space) Smallest(depth, width bool) Genome {
	g := s.Max()
	if depth {
		copy(g.Depth, s.MinDepth)
	}
	if width {
		for i := range g.Width {
			for j := 0; j < g.Depth[i]; j++ {
				g.Width[i][j] = len(s.WidthChoices) - 1
			}
		}
	}
	return g
}

// Bounds are the integer bounds of the flat encoding (Encode): the depths, then one
// width choice per block.
func (s Space) Bounds() (lo, hi []int) {
	for i, b := range s.Blocks {
		lo, hi = append(lo, s.MinDepth[i]), append(hi, b)
	}
	for _, b := range s.Blocks {
		for range b {
			lo, hi = append(lo, 0), append(hi, len(s.WidthChoices)-1)
		}
	}
	return lo, hi
}

// Encode flattens a genome to integers (see Bounds).
func (s Space) Encode(g Genome) []int {
	x := append([]int(nil), g.Depth...)
	for _, w := range g.Width {
		x = append(x, w...)
	}
	return x
}

// Decode is the inverse of Encode; it returns the canonical genome.
func (s Space) Decode(x []int) Genome {
	g := Genome{Depth: append([]int(nil), x[:len(s.Blocks)]...)}
	k := len(s.Blocks)
	for _, b := range s.Blocks {
		g.Width = append(g.Width, append([]int(nil), x[k:k+b]...))
		k += b
	}
	return g.Canonical()
}

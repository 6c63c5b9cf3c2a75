package data

import "math/bits"

// rng is a small deterministic generator (SplitMix64). It is keyed by a tuple of
// integers — (seed, epoch, sample index, purpose) — so that every random choice of the
// package can be recomputed independently, whatever goroutine makes it.
type rng struct{ s uint64 }

// Purpose tags keep the streams of different uses apart.
const (
	tagShuffle uint64 = 0x5348554646 // "SHUFF"
	tagAugment uint64 = 0x4155474d   // "AUGM"
	tagSubset  uint64 = 0x53554253   // "SUBS"
	tagSplit   uint64 = 0x53504c54   // "SPLT"
)

// mix64 is SplitMix64's finaliser, a bijective 64-bit mixer.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newRNG returns a generator whose state is a hash of keys.
func newRNG(keys ...uint64) rng {
	s := uint64(0x6a09e667f3bcc909)
	for _, k := range keys {
		s = mix64(s ^ k + 0x9e3779b97f4a7c15)
	}
	return rng{s: s}
}

// next returns 64 random bits.
func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// intn returns a uniform integer in [0, n) for n > 0 (Lemire's multiply-shift with
// rejection, unbiased).
func (r *rng) intn(n int) int {
	if n <= 1 {
		return 0
	}
	un := uint64(n)
	hi, lo := bits.Mul64(r.next(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(r.next(), un)
		}
	}
	return int(hi)
}

// shuffle permutes p in place (Fisher–Yates).
func (r *rng) shuffle(p []int) {
	for i := len(p) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
}

// Permutation returns the shuffled order of n items for (seed, epoch): the order in
// which a shuffling Loader visits a dataset of n images in that epoch.
func Permutation(n int, seed uint64, epoch int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r := newRNG(seed, uint64(epoch), tagShuffle)
	r.shuffle(p)
	return p
}

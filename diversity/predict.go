package diversity

import (
	"fmt"
	"math"
)

// Oracle returns each member's predicted class (argmax, first maximum on ties) and its
// oracle output (1 when the prediction equals the label), both M*N row-major, from
// M*N*C row-major probabilities.
func Oracle(probs []float32, labels []int64, m, n, c int) (preds []int32, oracle []uint8) {
	preds = make([]int32, m*n)
	oracle = make([]uint8, m*n)
	for i := 0; i < m*n; i++ {
		row := probs[i*c : (i+1)*c]
		best, bv := 0, row[0]
		for j := 1; j < c; j++ {
			if row[j] > bv {
				best, bv = j, row[j]
			}
		}
		preds[i] = int32(best)
		if int64(best) == labels[i%n] {
			oracle[i] = 1
		}
	}
	return preds, oracle
}

// Counts are the Kuncheva–Whitaker counts of a pair (i, k): N11 both right, N00 both
// wrong, N10 i right and k wrong, N01 i wrong and k right.
type Counts struct{ N11, N10, N01, N00 int }

// PairCounts counts agreement of two oracle rows of equal length.
func PairCounts(oi, ok []uint8) Counts {
	var c [4]int
	for j := range oi {
		c[int(oi[j])<<1|int(ok[j])]++
	}
	return Counts{N11: c[3], N10: c[2], N01: c[1], N00: c[0]}
}

// Q is the Q statistic of the pair (NaN when its denominator is 0).
func (c Counts) Q() float64 {
	num := float64(c.N11)*float64(c.N00) - float64(c.N01)*float64(c.N10)
	den := float64(c.N11)*float64(c.N00) + float64(c.N01)*float64(c.N10)
	if den == 0 {
		return math.NaN()
	}
	return num / den
}

// Rho is the correlation coefficient of the pair's oracle outputs (NaN when its
// denominator is 0).
func (c Counts) Rho() float64 {
	num := float64(c.N11)*float64(c.N00) - float64(c.N01)*float64(c.N10)
	den := math.Sqrt(float64(c.N11+c.N10) * float64(c.N01+c.N00) * float64(c.N11+c.N01) * float64(c.N10+c.N00))
	if den == 0 {
		return math.NaN()
	}
	return num / den
}

func (c Counts) total() float64 { return float64(c.N11 + c.N10 + c.N01 + c.N00) }

// Disagreement is the share of samples on which exactly one of the pair is right.
func (c Counts) Disagreement() float64 { return float64(c.N01+c.N10) / c.total() }

// DoubleFault is the share of samples on which both are wrong.
func (c Counts) DoubleFault() float64 { return float64(c.N00) / c.total() }

// RatioErrors is (N01+N10)/N00 (NaN when no sample is missed by both).
func (c Counts) RatioErrors() float64 {
	if c.N00 == 0 {
		return math.NaN()
	}
	return float64(c.N01+c.N10) / float64(c.N00)
}

// NonPairwise holds the non-pairwise oracle measures.
type NonPairwise struct {
	EntropyE, KohaviWolpert, Kappa, DifficultyTheta float64
	GeneralizedDiversity, CoincidentFailure         float64
	FailureDistribution                             []float64 // p_i, i = 0..M members wrong
	MeanAccuracy                                    float64   // pbar
	Reasons                                         map[string]string
}

// NonPairwiseMeasures computes E, KW, κ, θ, GD and CFD from an M*N oracle.
func NonPairwiseMeasures(oracle []uint8, m, n int) NonPairwise {
	r := NonPairwise{Reasons: map[string]string{}}
	l := make([]int, n)
	for i := 0; i < m; i++ {
		row := oracle[i*n : (i+1)*n]
		for j, v := range row {
			l[j] += int(v)
		}
	}
	M, N := float64(m), float64(n)
	var e, kw, sumL, sumT, sumT2 float64
	fail := make([]float64, m+1)
	half := M - math.Ceil(M/2)
	for _, lj := range l {
		x := float64(lj)
		e += math.Min(x, M-x)
		kw += x * (M - x)
		sumL += x
		t := x / M
		sumT += t
		sumT2 += t * t
		fail[m-lj]++
	}
	if half == 0 {
		r.EntropyE = math.NaN()
		r.Reasons["entropy_e"] = "M - ceil(M/2) is 0 for a single member"
	} else {
		r.EntropyE = e / N / half
	}
	r.KohaviWolpert = kw / (N * M * M)
	pbar := sumL / (N * M)
	r.MeanAccuracy = pbar
	if den := N * (M - 1) * pbar * (1 - pbar); den == 0 {
		r.Kappa = math.NaN()
		r.Reasons["kappa"] = fmt.Sprintf("zero denominator: M=%d, mean accuracy %g", m, pbar)
	} else {
		r.Kappa = 1 - (kw/M)/den
	}
	mt := sumT / N
	r.DifficultyTheta = sumT2/N - mt*mt
	var p1, p2 float64
	for i := range fail {
		fail[i] /= N
		fi := float64(i)
		p1 += fi / M * fail[i]
		if m > 1 {
			p2 += fi * (fi - 1) / (M * (M - 1)) * fail[i]
		}
	}
	r.FailureDistribution = fail
	switch {
	case m < 2:
		r.GeneralizedDiversity = math.NaN()
		r.Reasons["generalized_diversity"] = "needs at least 2 members"
	case p1 == 0:
		r.GeneralizedDiversity = math.NaN()
		r.Reasons["generalized_diversity"] = "no member fails on any sample (p(1) = 0)"
	default:
		r.GeneralizedDiversity = 1 - p2/p1
	}
	switch {
	case m < 2:
		r.CoincidentFailure = math.NaN()
		r.Reasons["coincident_failure_diversity"] = "needs at least 2 members"
	case fail[0] == 1:
		r.CoincidentFailure = 0
	default:
		var s float64
		for i := 1; i <= m; i++ {
			s += (M - float64(i)) / (M - 1) * fail[i]
		}
		r.CoincidentFailure = s / (1 - fail[0])
	}
	return r
}

// KL returns mean_n Σ_c p log(p/q) for N rows of C probabilities (nats). Terms with
// p = 0 are 0; p > 0 with q = 0 gives +Inf.
func KL(p, q []float32, c int) float64 {
	var s float64
	n := len(p) / c
	for i, pv := range p {
		if pv > 0 {
			s += float64(pv) * math.Log(float64(pv)/float64(q[i]))
		}
	}
	return s / float64(n)
}

// JS returns mean_n of the Jensen–Shannon divergence of rows of p and q (nats).
func JS(p, q []float32, c int) float64 {
	var s float64
	n := len(p) / c
	for i := range p {
		a, b := float64(p[i]), float64(q[i])
		mm := (a + b) / 2
		if a > 0 {
			s += a * math.Log(a/mm)
		}
		if b > 0 {
			s += b * math.Log(b/mm)
		}
	}
	return s / 2 / float64(n)
}

// LabelDisagreement is the share of samples on which two members predict different
// classes.
func LabelDisagreement(pi, pk []int32) float64 {
	d := 0
	for j := range pi {
		if pi[j] != pk[j] {
			d++
		}
	}
	return float64(d) / float64(len(pi))
}

package diversity

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/divres/divres/torch"
)

// hostBuffer allocates a CPU tensor of shape in s, float32 when single and
// float64 otherwise, and returns it with a Go view of its storage (the other
// view nil), for filling in place.
func hostBuffer(s *torch.Scope, shape []int64, single bool) (*torch.Tensor, []float32, []float64, error) {
	dt := torch.Float64
	if single {
		dt = torch.Float32
	}
	t := torch.Empty(s, shape, dt)
	if err := s.Err(); err != nil {
		return nil, nil, nil, err
	}
	if single {
		v, err := torch.UnsafeSlice[float32](t)
		return t, v, nil, err
	}
	v, err := torch.UnsafeSlice[float64](t)
	return t, nil, v, err
}

// parallelFor runs f(0) … f(n-1) on up to GOMAXPROCS goroutines.
func parallelFor(n int, f func(i int)) {
	w := min(n, runtime.GOMAXPROCS(0))
	if w <= 1 {
		for i := 0; i < n; i++ {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// memberMeans returns the column means (float64) of each member's n×d features.
func memberMeans(feat []float32, m, n, d int) [][]float64 {
	means := make([][]float64, m)
	parallelFor(m, func(i int) {
		mu := make([]float64, d)
		x := feat[i*n*d : (i+1)*n*d]
		for a := 0; a < n; a++ {
			for j, v := range x[a*d : (a+1)*d] {
				mu[j] += float64(v)
			}
		}
		for j := range mu {
			mu[j] /= float64(n)
		}
		means[i] = mu
	})
	return means
}

// linearCKAsTorch is linearCKAs with the batch products taken by libtorch: per row
// batch the members' centred features side by side as one b × m·d matrix Z (float32
// when single, else float64), X_iᵀ[X_i … X_{m−1}] per member accumulated in float64
// tensors.
func linearCKAsTorch(feat []float32, m, n, d, batch int, single bool) (FeatureCKA, error) {
	if batch <= 0 {
		batch = defaultCKABatch
	}
	batch = min(batch, n)
	means := memberMeans(feat, m, n, d)
	md := m * d
	rn := make([][]float64, m) // squared row norms of the centred features
	for i := range rn {
		rn[i] = make([]float64, n)
	}
	s := torch.NewScope(torch.NoGrad())
	defer s.Close()
	acc := make([]*torch.Tensor, m) // X_iᵀ [X_i … X_{m−1}], d × (m−i)·d, float64
	for i := range acc {
		acc[i] = torch.Zeros(s, []int64{int64(d), int64((m - i) * d)}, torch.Float64)
	}
	z, z32, z64, err := hostBuffer(s, []int64{int64(batch), int64(md)}, single)
	if err != nil {
		return FeatureCKA{}, err
	}
	for a0 := 0; a0 < n; a0 += batch {
		b := min(batch, n-a0)
		parallelFor(m, func(i int) {
			x := feat[(i*n+a0)*d : (i*n+a0+b)*d]
			mu := means[i]
			for r := 0; r < b; r++ {
				var ss float64
				o := r*md + i*d
				row := x[r*d : (r+1)*d]
				if single {
					zr := z32[o : o+d]
					for j, v := range row {
						c := float64(v) - mu[j]
						zr[j] = float32(c)
						ss += c * c
					}
				} else {
					zr := z64[o : o+d]
					for j, v := range row {
						c := float64(v) - mu[j]
						zr[j] = c
						ss += c * c
					}
				}
				rn[i][a0+r] = ss
			}
		})
		err := torch.Do(func(bs *torch.Scope) error {
			zb := z.In(bs).Narrow(0, 0, int64(b))
			for i := 0; i < m; i++ {
				zi := zb.Narrow(1, int64(i*d), int64(d)).T()
				zr := zb.Narrow(1, int64(i*d), int64((m-i)*d))
				p := zi.Mm(zr)
				if err := acc[i].AddScaled_(p, 1); err != nil {
					return err
				}
				p.Free()
			}
			return nil
		}, torch.NoGrad())
		if err != nil {
			return FeatureCKA{}, fmt.Errorf("linear CKA batch products: %w", err)
		}
	}
	accs := make([][]float64, m)
	for i := range acc {
		if accs[i], err = torch.UnsafeSlice[float64](acc[i]); err != nil {
			return FeatureCKA{}, err
		}
	}
	return finishLinearCKAs(m, n, rn, func(i, k int) float64 { // ‖X_iᵀ X_k‖²_F, k >= i
		var ss float64
		g, w := accs[i], (m-i)*d
		for r := 0; r < d; r++ {
			for _, v := range g[r*w+(k-i)*d : r*w+(k-i+1)*d] {
				ss += v * v
			}
		}
		return ss
	}), nil
}

// rbfFloat32Work is the Gram work m·n·b·d of RBF CKA (b the rows of a batch) from
// which rbfCKAs takes the Gram products of the centred features in float32.
const rbfFloat32Work = 1 << 32

// rbfCKAs returns, per threshold, the M×M RBF CKA matrix (diagonal included) of
// M*N*D features as the mean over nb consecutive row batches of at most bs rows,
// and nb. Per batch each member's features are centred (in float64; distances do
// not change), its Gram matrix is taken once by libtorch (float32 products when
// single, else float64) for all thresholds, the squared distances and their median
// over all b² entries (by selection on the upper triangle) in float64, then per
// threshold the exp (libtorch) and double centring of the upper triangle and
// diagonal, and the M×M inner products of the centred Grams from them (symmetry).
func rbfCKAs(feat []float32, m, n, d int, ts []float64, bs int, single bool) ([][][]float64, int, error) {
	if bs <= 0 {
		bs = 1000
	}
	nb := (n + bs - 1) / bs
	sums := make([][][]float64, len(ts))
	for t := range ts {
		sums[t] = square(m)
	}
	add := func(t, i, k int, v float64) {
		sums[t][i][k] += v / float64(nb)
		sums[t][k][i] = sums[t][i][k]
	}
	// Batch bi+1's Gram products (libtorch's BLAS) run while batch bi is finished in
	// Go: the BLAS threads work instead of spinning idle beside the Go work.
	type grams struct {
		s   *torch.Scope
		g   *rbfGrams
		err error
	}
	start := func(bi int) chan grams {
		ch := make(chan grams, 1)
		go func() {
			s := torch.NewScope(torch.NoGrad())
			g, err := newRBFGrams(s, feat, m, n, d, bi*n/nb, (bi+1)*n/nb, single)
			ch <- grams{s, g, err}
		}()
		return ch
	}
	next := start(0)
	for bi := 0; bi < nb; bi++ {
		r := <-next
		next = nil
		if r.err == nil && bi+1 < nb {
			next = start(bi + 1)
		}
		err := r.err
		if err == nil {
			err = r.g.finish(r.s, ts, add)
		}
		r.s.Close()
		if err != nil {
			if next != nil {
				(<-next).s.Close()
			}
			return nil, 0, fmt.Errorf("RBF CKA: %w", err)
		}
	}
	return sums, nb, nil
}

// gramBlock is rows [r0, r1) of the b×b Gram matrices against columns [r0, b), one
// m × (r1-r0) × (b-r0) tensor's memory (float32 or float64).
type gramBlock struct {
	r0, r1 int
	g32    []float32
	g64    []float64
}

// rbfGrams holds one row batch's Gram matrices (upper row blocks) of every member
// and the squared norms of the centred rows.
type rbfGrams struct {
	m, b   int
	single bool
	sq     [][]float64
	blocks []gramBlock
}

// newRBFGrams centres rows [a0, a1) of every member and takes their Gram matrices'
// upper row blocks by libtorch, in s.
func newRBFGrams(s *torch.Scope, feat []float32, m, n, d, a0, a1 int, single bool) (*rbfGrams, error) {
	b := a1 - a0
	x, x32, x64, err := hostBuffer(s, []int64{int64(m), int64(b), int64(d)}, single)
	if err != nil {
		return nil, err
	}
	sq := make([][]float64, m) // squared norms of the centred rows (as multiplied)
	parallelFor(m, func(i int) {
		src := feat[(i*n+a0)*d : (i*n+a1)*d]
		mu := make([]float64, d)
		for r := 0; r < b; r++ {
			for j, v := range src[r*d : (r+1)*d] {
				mu[j] += float64(v)
			}
		}
		for j := range mu {
			mu[j] /= float64(b)
		}
		sq[i] = make([]float64, b)
		o := i * b * d
		for r := 0; r < b; r++ {
			var ss float64
			for j, v := range src[r*d : (r+1)*d] {
				c := float64(v) - mu[j]
				if single {
					f := float32(c)
					x32[o+r*d+j] = f
					c = float64(f)
				} else {
					x64[o+r*d+j] = c
				}
				ss += c * c
			}
			sq[i][r] = ss
		}
	})
	// The Gram matrices' upper triangles by row blocks: block r holds rows
	// [r0, r1) against columns [r0, b), so the products skip most of the lower
	// triangle.
	nq := gramBlocks(b)
	blocks := make([]gramBlock, nq)
	xt := x.Transpose(1, 2)
	for r := range blocks {
		r0, r1 := r*b/nq, (r+1)*b/nq
		g := x.Narrow(1, int64(r0), int64(r1-r0)).Bmm(xt.Narrow(2, int64(r0), int64(b-r0))) // m × (r1-r0) × (b-r0)
		blocks[r] = gramBlock{r0: r0, r1: r1}
		if single {
			blocks[r].g32, err = torch.UnsafeSlice[float32](g)
		} else {
			blocks[r].g64, err = torch.UnsafeSlice[float64](g)
		}
		if err != nil {
			return nil, err
		}
	}
	return &rbfGrams{m: m, b: b, single: single, sq: sq, blocks: blocks}, nil
}

// finish computes the batch's RBF CKA for every threshold in s and hands each pair
// i <= k to add.
func (gr *rbfGrams) finish(s *torch.Scope, ts []float64, add func(t, i, k int, v float64)) error {
	m, b, single, sq, blocks := gr.m, gr.b, gr.single, gr.sq, gr.blocks
	p := b * (b - 1) / 2 // upper-triangle entries
	// Squared distances of the upper triangle, row by row, into u (m × p).
	u := torch.Empty(s, []int64{int64(m), int64(p)}, torch.Float64)
	if err := s.Err(); err != nil {
		return err
	}
	u64, err := torch.UnsafeSlice[float64](u)
	if err != nil {
		return err
	}
	med := make([]float64, m)
	parallelFor(m, func(i int) {
		ui := u64[i*p : (i+1)*p]
		sqi := sq[i]
		k := 0
		for _, bl := range blocks {
			w := b - bl.r0
			h := bl.r1 - bl.r0
			for a := bl.r0; a < bl.r1; a++ {
				o := i*h*w + (a-bl.r0)*w - bl.r0 // + c: column c of row a
				sa := sqi[a]
				if single {
					for c, gv := range bl.g32[o+a+1 : o+b] {
						v := sa + sqi[a+1+c] - 2*float64(gv)
						if v <= 0 {
							v = 0
						}
						ui[k+c] = v
					}
				} else {
					for c, gv := range bl.g64[o+a+1 : o+b] {
						v := sa + sqi[a+1+c] - 2*gv
						if v <= 0 {
							v = 0
						}
						ui[k+c] = v
					}
				}
				k += b - a - 1
			}
		}
		med[i] = upperMedian(ui, b)
	})
	for t, th := range ts {
		den := make([]float64, m)
		for i := range den {
			den[i] = -(2 * th * th * med[i])
		}
		// k = exp(-d2/(2t²·median)) of the upper triangle (v/(-c) is -(v/c) exactly).
		q := u.Div(torch.FromSlice(s, den, []int64{int64(m), 1}))
		kt := q.Exp()
		q.Free()
		kd := make([]float64, m) // the diagonal value exp(-0/(2t²·median))
		for i := range kd {
			kd[i] = math.Exp(-0 / (2 * th * th * med[i]))
		}
		diag := torch.Empty(s, []int64{int64(m), int64(b)}, torch.Float64)
		k64, err := torch.UnsafeSlice[float64](kt)
		if err != nil {
			return err
		}
		d64, err := torch.UnsafeSlice[float64](diag)
		if err != nil {
			return err
		}
		// Double centring in place: K + mean(K) - rowmean_a - rowmean_c.
		parallelFor(m, func(i int) {
			ki, di := k64[i*p:(i+1)*p], d64[i*b:(i+1)*b]
			row := make([]float64, b)
			k := 0
			for a := 0; a < b; a++ {
				row[a] += kd[i]
				for c := a + 1; c < b; c++ {
					v := ki[k]
					row[a] += v
					row[c] += v
					k++
				}
			}
			var all float64
			for a := range row {
				all += row[a]
				row[a] /= float64(b)
			}
			all /= float64(b) * float64(b)
			k = 0
			for a := 0; a < b; a++ {
				di[a] = kd[i] + (all - row[a] - row[a])
				ra := all - row[a]
				for c := a + 1; c < b; c++ {
					ki[k] += ra - row[c]
					k++
				}
			}
		})
		// <K_i, K_k> = 2·Σ_{a<c} K_i[a,c] K_k[a,c] + Σ_a K_i[a,a] K_k[a,a].
		// (Go's chunked dot products beat libtorch's Mm of this m × p shape.)
		prod, pd := symDots(k64, m, p), symDots(d64, m, b)
		for j := range prod {
			prod[j] = 2*prod[j] + pd[j]
		}
		kt.Free()
		diag.Free()
		for i := 0; i < m; i++ {
			for k := i; k < m; k++ {
				add(t, i, k, prod[i*m+k]/math.Sqrt(prod[i*m+i]*prod[k*m+k]))
			}
		}
	}
	return s.Err()
}

// gramBlocks is the number of row blocks of a b×b Gram matrix's upper triangle.
func gramBlocks(b int) int {
	switch {
	case b >= 768:
		return 4
	case b >= 256:
		return 2
	}
	return 1
}

// upperMedian is the median of the b×b symmetric matrix of squared distances (b
// zeros on the diagonal, each of the p = b(b-1)/2 values u of the upper triangle
// twice) from u alone (u is left as it is): the k-th smallest of the b² entries is 0 for
// k < b and u's ((k-b)/2)-th smallest after that (distances are >= 0).
func upperMedian(u []float64, b int) float64 {
	nn := b * b
	at := func(j int) int { // rank in u of the full matrix's rank j (or -1: a diagonal zero)
		if j < b {
			return -1
		}
		return (j - b) / 2
	}
	hiR := at(nn / 2)
	loR := hiR
	if nn%2 == 0 {
		loR = at(nn/2 - 1)
	}
	if hiR < 0 {
		return 0
	}
	lo, hi := orderStats(u, max(loR, 0), hiR)
	if loR < 0 {
		lo = 0
	}
	return (lo + hi) / 2
}

// orderStats returns the k0-th and k1-th smallest (0-based, k0 <= k1) of u, whose
// values are >= 0, by one histogram pass over the values' bits (ordered as
// integers for non-negative floats) between the smallest and largest and a sort of
// the few values in the buckets of the two ranks.
func orderStats(u []float64, k0, k1 int) (float64, float64) {
	mn, mx := uint64(math.MaxUint64), uint64(0)
	for _, v := range u {
		k := math.Float64bits(v)
		mn, mx = min(mn, k), max(mx, k)
	}
	if mn == mx {
		return u[0], u[0]
	}
	const bits = 16
	shift := uint(0)
	for (mx-mn)>>shift >= 1<<bits {
		shift++
	}
	hist := make([]int32, 1<<bits)
	for _, v := range u {
		hist[(math.Float64bits(v)-mn)>>shift]++
	}
	below, b0, b1 := 0, -1, -1
	cum := 0
	for i, c := range hist {
		if b0 < 0 && cum+int(c) > k0 {
			b0, below = i, cum
		}
		if cum+int(c) > k1 {
			b1 = i
			break
		}
		cum += int(c)
	}
	cand := make([]uint64, 0, cum+int(hist[b1])-below)
	klo, khi := mn+uint64(b0)<<shift, mn+uint64(b1+1)<<shift-1 // the buckets' keys
	for _, v := range u {
		if k := math.Float64bits(v); k-klo <= khi-klo {
			cand = append(cand, k)
		}
	}
	slices.Sort(cand)
	return math.Float64frombits(cand[k0-below]), math.Float64frombits(cand[k1-below])
}

// symDots returns the m×m (row-major) inner products of the rows of the m×p matrix
// u, in column chunks on GOMAXPROCS goroutines (each chunk's m(m+1)/2 dot products
// on data that stays in cache).
func symDots(u []float64, m, p int) []float64 {
	const chunk = 2048
	nc := (p + chunk - 1) / chunk
	w := max(1, min(nc, runtime.GOMAXPROCS(0)))
	parts := make([][]float64, w)
	var wg sync.WaitGroup
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acc := make([]float64, m*m)
			for c := g; c < nc; c += w {
				c0, c1 := c*chunk, min((c+1)*chunk, p)
				for i := 0; i < m; i++ {
					x := u[i*p+c0 : i*p+c1]
					for k := i; k < m; k++ {
						y := u[k*p+c0 : k*p+c1]
						y = y[:len(x)]
						var s0, s1, s2, s3 float64
						j := 0
						for ; j+4 <= len(x); j += 4 {
							s0 += x[j] * y[j]
							s1 += x[j+1] * y[j+1]
							s2 += x[j+2] * y[j+2]
							s3 += x[j+3] * y[j+3]
						}
						for ; j < len(x); j++ {
							s0 += x[j] * y[j]
						}
						acc[i*m+k] += (s0 + s1) + (s2 + s3)
					}
				}
			}
			parts[g] = acc
		}()
	}
	wg.Wait()
	out := make([]float64, m*m)
	for _, a := range parts {
		for i := 0; i < m; i++ {
			for k := i; k < m; k++ {
				out[i*m+k] += a[i*m+k]
			}
		}
	}
	for i := 0; i < m; i++ {
		for k := 0; k < i; k++ {
			out[i*m+k] = out[k*m+i]
		}
	}
	return out
}

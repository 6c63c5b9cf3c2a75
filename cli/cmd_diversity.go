package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/diversity"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/internal/npyfile"
)

// diversityMembers runs `divres diversity --members …` (set by the file that
// implements it); nil means that mode is not available in this build.
var diversityMembers func(c *cli.Context) error

func init() {
	addCommand(&cli.Command{
		Name:  "diversity",
		Usage: "diversity metrics of ensemble members, from run directories (--members) or arrays (--probs)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "members", Usage: "member run `DIR`s, comma-separated"},
			&cli.StringFlag{Name: "metrics", Value: "all", Usage: "\"all\" or a comma-separated `LIST` of metric names"},
			&cli.StringFlag{Name: "layer", Usage: "layer `NAME` whose activations CKA compares (default: penultimate features)"},
			&cli.StringFlag{Name: "attrib-method", Usage: "attribution `METHOD` for attribution diversity (ig, saliency, …)"},
			&cli.StringFlag{Name: "probs", Usage: "softmax outputs `P.npy`, shape (M, N, C), float32 or float64"},
			&cli.StringFlag{Name: "labels", Usage: "labels `L.npy`, shape (N,), integers"},
			&cli.StringFlag{Name: "features", Usage: "features `F.npy`, shape (M, N, D), float32 or float64"},
			&cli.StringFlag{Name: "attributions", Usage: "attribution maps `A.npy`, shape (M, N, …), float32 or float64"},
			&cli.StringFlag{Name: "similarity", Value: "cosine", Usage: "attribution similarity: cosine or spearman"},
			&cli.StringFlag{Name: "rbf-thresholds", Value: "0.5,1", Usage: "RBF CKA bandwidth thresholds, comma-separated"},
			&cli.IntFlag{Name: "rbf-batch", Value: 1000, Usage: "samples per RBF CKA minibatch (N×N Gram matrices are this size at most)"},
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (writes diversity.json)", Required: true},
		},
		Action: func(c *cli.Context) error {
			if c.IsSet("members") {
				if c.IsSet("probs") {
					return fmt.Errorf("diversity: give --members or --probs, not both")
				}
				if diversityMembers == nil {
					return fmt.Errorf("diversity: --members is not available in this build")
				}
				return diversityMembers(c)
			}
			if !c.IsSet("probs") || !c.IsSet("labels") {
				return fmt.Errorf("diversity: give --members DIR[,DIR…], or --probs P.npy with --labels L.npy")
			}
			return diversityArrays(c)
		},
	})
}

// diversityMetricsFlag parses --metrics ("all" gives nil: every available metric).
func diversityMetricsFlag(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func diversityArrays(c *cli.Context) error {
	probs, ps, err := readFloatNPY(c.String("probs"))
	if err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	if len(ps) != 3 {
		return fmt.Errorf("diversity: %s has shape %v, want (M, N, C)", c.String("probs"), ps)
	}
	in := diversity.Inputs{M: ps[0], N: ps[1], C: ps[2], Probs: probs}
	lf, err := npyfile.Open(c.String("labels"))
	if err != nil {
		return fmt.Errorf("diversity: labels: %w", err)
	}
	defer lf.Close()
	if len(lf.Shape) != 1 {
		return fmt.Errorf("diversity: %s has shape %v, want (N,) with N = %d", c.String("labels"), lf.Shape, in.N)
	}
	if in.Labels, err = lf.ReadInts(0, lf.Elems()); err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	if p := c.String("features"); p != "" {
		f, fs, err := readFloatNPY(p)
		if err != nil {
			return fmt.Errorf("diversity: %w", err)
		}
		if len(fs) != 3 || fs[0] != in.M || fs[1] != in.N {
			return fmt.Errorf("diversity: %s has shape %v, want (%d, %d, D) to match the probabilities", p, fs, in.M, in.N)
		}
		in.Features, in.D = f, fs[2]
	}
	if p := c.String("attributions"); p != "" {
		a, as, err := readFloatNPY(p)
		if err != nil {
			return fmt.Errorf("diversity: %w", err)
		}
		if len(as) < 3 || as[0] != in.M || as[1] != in.N {
			return fmt.Errorf("diversity: %s has shape %v, want (%d, %d, …) to match the probabilities", p, as, in.M, in.N)
		}
		in.Attributions, in.AttrSize = a, 1
		for _, d := range as[2:] {
			in.AttrSize *= d
		}
	}
	o := diversity.Options{Metrics: diversityMetricsFlag(c.String("metrics")), RBFBatch: c.Int("rbf-batch")}
	switch s := c.String("similarity"); s {
	case "cosine", "spearman":
		o.AttributionSimilarity = s
	default:
		return fmt.Errorf("diversity: --similarity %q: want cosine or spearman", s)
	}
	for _, t := range strings.Split(c.String("rbf-thresholds"), ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		if err != nil || !(v > 0) {
			return fmt.Errorf("diversity: --rbf-thresholds: %q is not a positive number", t)
		}
		o.RBFThresholds = append(o.RBFThresholds, v)
	}
	rep, err := diversity.Compute(in, o)
	if err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	return writeDiversityReport(c.String("out"), rep)
}

// writeDiversityReport writes rep to dir/diversity.json atomically.
func writeDiversityReport(dir string, rep *diversity.Report) error {
	b, err := json.MarshalIndent(rep, "", " ")
	if err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("diversity: %w", err)
	}
	path := filepath.Join(dir, "diversity.json")
	if err := atomicfile.WriteFile(path, append(b, '\n')); err != nil {
		return fmt.Errorf("diversity: write %s: %w", path, err)
	}
	logrus.WithField("path", path).Info("diversity written")
	return nil
}

var (
	npyDescr   = regexp.MustCompile(`'descr'\s*:\s*'([^']*)'`)
	npyFortran = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShape   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// readFloatNPY reads a C-ordered float32 or float64 .npy array as float32 (float64
// values beyond float32's range are an error) with its shape.
func readFloatNPY(path string) ([]float32, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var pre [10]byte
	if _, err := io.ReadFull(f, pre[:8]); err != nil || !bytes.Equal(pre[:6], []byte("\x93NUMPY")) {
		return nil, nil, fmt.Errorf("read %s: not an .npy file", path)
	}
	var hlen int
	switch pre[6] {
	case 1:
		if _, err := io.ReadFull(f, pre[8:10]); err != nil {
			return nil, nil, fmt.Errorf("read %s: truncated header", path)
		}
		hlen = int(binary.LittleEndian.Uint16(pre[8:10]))
	case 2, 3:
		var l [4]byte
		if _, err := io.ReadFull(f, l[:]); err != nil {
			return nil, nil, fmt.Errorf("read %s: truncated header", path)
		}
		hlen = int(binary.LittleEndian.Uint32(l[:]))
	default:
		return nil, nil, fmt.Errorf("read %s: .npy format version %d is not supported", path, pre[6])
	}
	if hlen > npyfile.MaxHeader {
		return nil, nil, fmt.Errorf("read %s: header of %d bytes is too long", path, hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return nil, nil, fmt.Errorf("read %s: truncated header", path)
	}
	d, fo, sh := npyDescr.FindSubmatch(hdr), npyFortran.FindSubmatch(hdr), npyShape.FindSubmatch(hdr)
	if d == nil || fo == nil || sh == nil {
		return nil, nil, fmt.Errorf("read %s: malformed header %q", path, strings.TrimSpace(string(hdr)))
	}
	if string(fo[1]) == "True" {
		return nil, nil, fmt.Errorf("read %s: Fortran-ordered arrays are not supported (save with np.ascontiguousarray)", path)
	}
	var shape []int
	n := 1
	for _, p := range strings.Split(string(sh[1]), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return nil, nil, fmt.Errorf("read %s: bad shape %q", path, sh[1])
		}
		shape = append(shape, v)
		n *= v
	}
	descr := string(d[1])
	var size int
	var bo binary.ByteOrder = binary.LittleEndian
	switch descr {
	case "<f4", "=f4", "f4":
		size = 4
	case ">f4":
		size, bo = 4, binary.BigEndian
	case "<f8", "=f8", "f8":
		size = 8
	case ">f8":
		size, bo = 8, binary.BigEndian
	default:
		return nil, nil, fmt.Errorf("read %s: element type %q, want float32 or float64", path, descr)
	}
	raw := make([]byte, n*size)
	if _, err := io.ReadFull(f, raw); err != nil {
		return nil, nil, fmt.Errorf("read %s: truncated: want %d data bytes for shape %v", path, n*size, shape)
	}
	out := make([]float32, n)
	if size == 4 {
		for i := range out {
			out[i] = math.Float32frombits(bo.Uint32(raw[4*i:]))
		}
	} else {
		for i := range out {
			v := math.Float64frombits(bo.Uint64(raw[8*i:]))
			if math.Abs(v) > math.MaxFloat32 && !math.IsInf(v, 0) {
				return nil, nil, fmt.Errorf("read %s: value %g at %d is beyond float32's range", path, v, i)
			}
			out[i] = float32(v)
		}
	}
	return out, shape, nil
}

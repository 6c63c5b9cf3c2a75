package main

// The bad-input harness: every command that reads a file is run, as a
// subprocess of this test binary, against a generated corpus of broken
// inputs, and must answer with one clear line, a non-zero exit, no panic, and
// no change to what its output directory held before.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/divres/divres/data"
	"github.com/divres/divres/internal/npyfile"
	"github.com/divres/divres/torch"
)

// TestMain runs the command line instead of the tests when the harness starts
// this binary as divres.
func TestMain(m *testing.M) {
	if os.Getenv("DIVRES_HARNESS_CHILD") == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	if fix.dir != "" {
		os.RemoveAll(fix.dir)
	}
	os.Exit(code)
}

// npyBytes is a .npy file of the given descr and shape holding raw.
func npyBytes(descr string, shape []int, raw []byte) []byte {
	return append(npyfile.HeaderBytes(descr, shape), raw...)
}

func f32Raw(n int, v func(i int) float32) []byte {
	b := make([]byte, 4*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v(i)))
	}
	return b
}

func f64Raw(n int, v func(i int) float64) []byte {
	b := make([]byte, 8*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v(i)))
	}
	return b
}

func i64Raw(vals ...int64) []byte {
	b := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return b
}

// badInput is one entry of the corpus: a file (or directory) that a reader must refuse.
type badInput struct {
	name  string
	write func(path string) error // creates the input at path
	// ok marks inputs the command accepts (non-finite images for predict); the
	// harness then only asserts a zero exit and no panic.
	ok bool
}

func fileInput(name string, b []byte) badInput {
	return badInput{name: name, write: func(p string) error { return os.WriteFile(p, b, 0o644) }}
}

func dirInput() badInput {
	return badInput{name: "directory", write: func(p string) error { return os.Mkdir(p, 0o755) }}
}

func unreadableInput(valid []byte) badInput {
	return badInput{name: "unreadable", write: func(p string) error {
		if err := os.WriteFile(p, valid, 0o000); err != nil {
			return err
		}
		return os.Chmod(p, 0o000)
	}}
}

// truncations cuts a valid file at its section boundaries.
func truncations(valid []byte, headerEnd int) []badInput {
	return []badInput{
		fileInput("empty", nil),
		fileInput("cut-in-magic", valid[:3]),
		fileInput("cut-in-header", valid[:headerEnd/2]),
		fileInput("cut-in-data", valid[:headerEnd+(len(valid)-headerEnd)/2]),
	}
}

// npyCorpus is the corpus for an .npy flag whose valid array is descr/shape/raw;
// wrongDtype and wrongShape are arrays of the right size but the wrong kind.
func npyCorpus(valid []byte, wrongDtype, wrongRank, wrongShape []byte, nonfinite bool, nanOK bool) []badInput {
	hdrEnd := bytes.IndexByte(valid, '\n') + 1
	c := truncations(valid, hdrEnd)
	c = append(c,
		fileInput("wrong-dtype", wrongDtype),
		fileInput("wrong-rank", wrongRank),
		fileInput("wrong-shape", wrongShape),
		// A header claiming 2^40 elements over a few bytes of data.
		fileInput("huge-header", npyBytes("<f4", []int{1 << 40}, make([]byte, 64))),
		fileInput("absurd-header-len", append([]byte("\x93NUMPY\x01\x00\xff\xff"), make([]byte, 32)...)),
		dirInput(),
		unreadableInput(valid),
	)
	if nonfinite {
		n := (len(valid) - hdrEnd) / 4
		for _, nf := range []struct {
			name string
			v    float32
		}{{"nan", float32(math.NaN())}, {"inf", float32(math.Inf(1))}} {
			raw := append([]byte(nil), valid[hdrEnd:]...)
			binary.LittleEndian.PutUint32(raw[4*(n/2):], math.Float32bits(nf.v))
			in := fileInput(nf.name, append(append([]byte(nil), valid[:hdrEnd]...), raw...))
			in.ok = nanOK
			c = append(c, in)
		}
	}
	return c
}

func safetensorsCorpus(valid []byte) []badInput {
	hlen := int(binary.LittleEndian.Uint64(valid[:8]))
	c := []badInput{
		fileInput("empty", nil),
		fileInput("cut-in-length", valid[:4]),
		fileInput("cut-in-header", valid[:8+hlen/2]),
		fileInput("cut-in-data", valid[:8+hlen+(len(valid)-8-hlen)/2]),
	}
	absurd := append([]byte(nil), valid...)
	binary.LittleEndian.PutUint64(absurd, 1<<50)
	notJSON := append([]byte(nil), valid...)
	copy(notJSON[8:], "!!!!")
	c = append(c, fileInput("absurd-header-len", absurd), fileInput("header-not-json", notJSON),
		dirInput(), unreadableInput(valid))
	return c
}

func jsonCorpus(valid []byte) []badInput {
	return []badInput{
		fileInput("empty", nil),
		fileInput("cut-in-half", valid[:len(valid)/2]),
		fileInput("wrong-types", []byte(`{"members": 3, "models": "x", "stages": 7, "results": 1, "name": [1]}`)),
		fileInput("not-json", []byte("\x00\x01binary")),
		dirInput(),
		unreadableInput(valid),
	}
}

// copyDir copies the regular files of src into a new directory dst.
func copyDir(src, dst string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// dirCorpus is a corpus of directories: a copy of src (or files written by
// base) with one file replaced by each of the given bad contents (nil data
// removes it, a nil entry in mode "dir" makes it a directory).
type dirCase struct {
	name, file string
	data       []byte
	remove     bool
	mkdir      bool
}

func dirCorpus(base func(dst string) error, cases []dirCase) []badInput {
	var c []badInput
	for _, dc := range cases {
		dc := dc
		c = append(c, badInput{name: dc.name, write: func(p string) error {
			if err := base(p); err != nil {
				return err
			}
			fp := filepath.Join(p, dc.file)
			switch {
			case dc.remove:
				return os.Remove(fp)
			case dc.mkdir:
				if err := os.Remove(fp); err != nil && !os.IsNotExist(err) {
					return err
				}
				return os.Mkdir(fp, 0o755)
			}
			return os.WriteFile(fp, dc.data, 0o644)
		}})
	}
	return c
}

func idxBytes(magic uint32, dims []uint32, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, payload...)
}

// idxCorpus is a directory of train and test IDX files with the training images file broken.
func idxCorpus() []badInput { return idxCorpusSplit("train") }

// idxCorpusSplit is idxCorpus with the images (and for label-count, labels) of
// split (train or t10k) broken.
func idxCorpusSplit(split string) []badInput {
	images := idxBytes(0x803, []uint32{2, 28, 28}, bytes.Repeat([]byte{7}, 2*28*28))
	labels := idxBytes(0x801, []uint32{2}, []byte{1, 2})
	base := func(dst string) error {
		if err := os.Mkdir(dst, 0o755); err != nil {
			return err
		}
		for _, split := range []string{"train", "t10k"} {
			if err := os.WriteFile(filepath.Join(dst, split+"-images-idx3-ubyte"), images, 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dst, split+"-labels-idx1-ubyte"), labels, 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	f := split + "-images-idx3-ubyte"
	return dirCorpus(base, []dirCase{
		{name: "empty", file: f, data: []byte{}},
		{name: "cut-in-magic", file: f, data: images[:2]},
		{name: "cut-in-header", file: f, data: images[:10]},
		{name: "cut-in-data", file: f, data: images[:16+700]},
		{name: "wrong-dtype", file: f, data: idxBytes(0xD03, []uint32{2, 28, 28}, make([]byte, 4*2*28*28))},
		{name: "wrong-rank", file: f, data: idxBytes(0x801, []uint32{2}, []byte{1, 2})},
		{name: "huge-header", file: f, data: idxBytes(0x803, []uint32{1 << 30, 1 << 15, 1 << 15}, make([]byte, 64))},
		{name: "label-count", file: split + "-labels-idx1-ubyte", data: idxBytes(0x801, []uint32{3}, []byte{1, 2, 3})},
		{name: "directory", file: f, mkdir: true},
	})
}

// runDirCorpus is a copy of a trained run directory with its config or weights broken.
func runDirCorpus(run string) []badInput {
	base := func(dst string) error { return copyDir(run, dst) }
	st, _ := os.ReadFile(filepath.Join(run, "model.safetensors"))
	hlen := binary.LittleEndian.Uint64(st)
	// The model's metadata (architecture, classes, input) lives in the
	// checkpoint's header; config.json is a record of the training flags that
	// no command reads back.
	noMeta := append([]byte(nil), st...)
	if i := bytes.Index(noMeta[:8+hlen], []byte(`"__metadata__"`)); i >= 0 {
		copy(noMeta[i:], `"__xetadata__"`)
	}
	return dirCorpus(base, []dirCase{
		{name: "weights-no-metadata", file: "model.safetensors", data: noMeta},
		{name: "weights-empty", file: "model.safetensors", data: []byte{}},
		{name: "weights-missing", file: "model.safetensors", remove: true},
		{name: "weights-cut", file: "model.safetensors", data: st[:len(st)/2]},
		{name: "weights-directory", file: "model.safetensors", mkdir: true},
	})
}

// csetCorpus is a copy of a corruption set with its metadata or arrays broken.
func csetCorpus(cset string) []badInput {
	base := func(dst string) error { return copyDir(cset, dst) }
	meta, _ := os.ReadFile(filepath.Join(cset, "set.json"))
	arr, _ := os.ReadFile(filepath.Join(cset, "gaussian_noise.npy"))
	return dirCorpus(base, []dirCase{
		{name: "set-json-empty", file: "set.json", data: []byte{}},
		{name: "set-json-cut", file: "set.json", data: meta[:len(meta)/2]},
		{name: "set-json-wrong-types", file: "set.json", data: []byte(`{"corruptions": 3, "severities": "x", "images": -1}`)},
		{name: "array-cut", file: "gaussian_noise.npy", data: arr[:len(arr)/2]},
		{name: "array-missing", file: "gaussian_noise.npy", remove: true},
		{name: "labels-cut", file: "labels.npy", data: []byte("\x93NUMPY")},
	})
}

// superCorpus is a copy of a super-network run with its configuration or
// weights broken; notST is a valid checkpoint that is not a super-network.
func superCorpus(super string, notST []byte) []badInput {
	base := func(dst string) error { return copyDir(super, dst) }
	cfg, _ := os.ReadFile(filepath.Join(super, "nas_config.json"))
	st, _ := os.ReadFile(filepath.Join(super, "supernet.safetensors"))
	return dirCorpus(base, []dirCase{
		{name: "config-empty", file: "nas_config.json", data: []byte{}},
		{name: "config-cut", file: "nas_config.json", data: cfg[:len(cfg)/2]},
		{name: "config-wrong-types", file: "nas_config.json", data: []byte(`{"base": 3, "stages": "x", "space": [1]}`)},
		{name: "config-missing", file: "nas_config.json", remove: true},
		{name: "supernet-empty", file: "supernet.safetensors", data: []byte{}},
		{name: "supernet-cut", file: "supernet.safetensors", data: st[:len(st)/2]},
		{name: "supernet-missing", file: "supernet.safetensors", remove: true},
		{name: "supernet-not-supernet", file: "supernet.safetensors", data: notST},
		{name: "supernet-directory", file: "supernet.safetensors", mkdir: true},
	})
}

// searchCorpus is a copy of a search directory with search.json broken.
func searchCorpus(search string) []badInput {
	base := func(dst string) error { return copyDir(search, dst) }
	js, _ := os.ReadFile(filepath.Join(search, "search.json"))
	return dirCorpus(base, []dirCase{
		{name: "search-empty", file: "search.json", data: []byte{}},
		{name: "search-cut", file: "search.json", data: js[:len(js)/2]},
		{name: "search-wrong-types", file: "search.json", data: []byte(`{"pareto": 3, "candidates": "x"}`)},
		{name: "search-missing", file: "search.json", remove: true},
		{name: "search-empty-front", file: "search.json", data: []byte(`{"pareto": [], "candidates": []}`)},
		{name: "search-bad-genome", file: "search.json", data: []byte(`{"pareto": [{"key": "zzz", "genome": {"depth": [9, 9]}}], "candidates": [{"key": "zzz"}]}`)},
		{name: "search-directory", file: "search.json", mkdir: true},
	})
}

// folderCorpus is an image folder (two classes of 8×8 PNGs) with one image broken.
func folderCorpus() []badInput {
	var png8 bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 3)
	}
	if err := png.Encode(&png8, img); err != nil {
		panic(err)
	}
	good := png8.Bytes()
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, img, nil); err != nil {
		panic(err)
	}
	huge := bytes.Clone(jb.Bytes())
	if i := bytes.Index(huge, []byte{0xff, 0xc0}); i >= 0 {
		binary.BigEndian.PutUint16(huge[i+5:], 0xffff)
		binary.BigEndian.PutUint16(huge[i+7:], 0xffff)
	}
	base := func(dst string) error {
		for _, p := range []string{"cat/a.png", "cat/b.png", "dog/c.png", "dog/d.jpg"} {
			fp := filepath.Join(dst, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(fp), 0o755); err != nil {
				return err
			}
			b := good
			if strings.HasSuffix(p, ".jpg") {
				b = jb.Bytes()
			}
			if err := os.WriteFile(fp, b, 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	f := "dog/c.png"
	return dirCorpus(base, []dirCase{
		{name: "image-empty", file: f, data: []byte{}},
		{name: "image-cut", file: f, data: good[:len(good)/2]},
		{name: "image-not-an-image", file: f, data: []byte("GIF89a not really")},
		{name: "image-huge-header", file: "dog/d.jpg", data: huge},
		{name: "image-huge-png", file: f, data: hugePNG()},
		{name: "image-other-size", file: f, data: func() []byte {
			var b bytes.Buffer
			png.Encode(&b, image.NewGray(image.Rect(0, 0, 9, 8)))
			return b.Bytes()
		}()},
	})
}

// frostCorpus is a copy of the frost textures (testdata of corrupt) with one broken.
func frostCorpus() []badInput {
	src := filepath.Join("..", "corrupt", "testdata", "frost")
	names := map[string]string{"frost1.png": "frost1_sub5.png", "frost2.png": "frost2_sub5.png", "frost3.png": "frost3_sub5.png",
		"frost4.jpg": "frost4.jpg", "frost5.jpg": "frost5.jpg"}
	base := func(dst string) error {
		if err := os.Mkdir(dst, 0o755); err != nil {
			return err
		}
		for to, from := range names {
			b, err := os.ReadFile(filepath.Join(src, from))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dst, to), b, 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	png1, _ := os.ReadFile(filepath.Join(src, names["frost1.png"]))
	jpg4, _ := os.ReadFile(filepath.Join(src, "frost4.jpg"))
	c := dirCorpus(base, []dirCase{
		{name: "frost-empty", file: "frost1.png", data: []byte{}},
		{name: "frost-cut-png", file: "frost1.png", data: png1[:len(png1)/2]},
		{name: "frost-cut-jpeg", file: "frost4.jpg", data: jpg4[:len(jpg4)/2]},
		{name: "frost-not-an-image", file: "frost2.png", data: []byte("not an image")},
		{name: "frost-missing", file: "frost5.jpg", remove: true},
		{name: "frost-directory", file: "frost3.png", mkdir: true},
		{name: "frost-huge-png", file: "frost2.png", data: hugePNG()},
	})
	// A JPEG cut short decodes as libjpeg does (OpenCV, the reference, reads it
	// with a warning): accepted.
	for i := range c {
		c[i].ok = c[i].name == "frost-cut-jpeg"
	}
	return c
}

// hugePNG is a valid PNG header (with its checksum) claiming 60000×60000 RGB
// pixels, over a few bytes of pixel data.
func hugePNG() []byte {
	var b bytes.Buffer
	chunk := func(typ string, data []byte) {
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(data))))
		b.WriteString(typ)
		b.Write(data)
		b.Write(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(append([]byte(typ), data...))))
	}
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 60000), 60000)
	chunk("IHDR", append(ihdr, 8, 2, 0, 0, 0))
	chunk("IDAT", []byte{0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1})
	chunk("IEND", nil)
	return b.Bytes()
}

// studyRunCorpus is a study run directory whose study.json is broken.
func studyRunCorpus(valid []byte) []badInput {
	base := func(dst string) error {
		if err := os.Mkdir(dst, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, "study.json"), valid, 0o644)
	}
	return dirCorpus(base, []dirCase{
		{name: "study-json-empty", file: "study.json", data: []byte{}},
		{name: "study-json-cut", file: "study.json", data: valid[:len(valid)/2]},
		{name: "study-json-wrong-types", file: "study.json", data: []byte(`{"models": "x", "epochs": "ten"}`)},
		{name: "study-json-directory", file: "study.json", mkdir: true},
	})
}

// harnessFixtures are the valid inputs that every case shares.
type harnessFixtures struct {
	dir                      string
	run, weights             string
	images, uint8s, labels   string
	probs, features          string
	validNPY, validU8        []byte
	validLabels, validProbs  []byte
	validST                  []byte
	validStudy, validEnsJSON []byte
	asRoot                   bool
	cset                     string
	// nasBase is a tiny resnet50 run, supernet a super-network trained from
	// it and search a search of that super-network.
	nasBase, supernet, search string
}

var (
	fixOnce sync.Once
	fix     harnessFixtures
	fixErr  error
)

func harnessSetup(t *testing.T) *harnessFixtures {
	fixOnce.Do(func() { fixErr = buildFixtures(&fix) })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return &fix
}

func buildFixtures(f *harnessFixtures) error {
	if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		return fmt.Errorf("Fashion-MNIST is not installed (build.sh installs dataset-fashion-mnist)")
	}
	dir, err := os.MkdirTemp("", "divres-harness-")
	if err != nil {
		return err
	}
	f.dir = dir
	f.asRoot = os.Geteuid() == 0
	f.run = filepath.Join(dir, "run")
	if out, err := harnessInProcess("train", "--arch", "lenet", "--width", "0.5", "--data", "fashion-mnist", "--out", f.run,
		"--epochs", "1", "--batch", "8", "--subset", "8", "--val-limit", "8", "--device", "cpu", "--progress", "off"); err != nil {
		return fmt.Errorf("train fixture: %v\n%s", err, out)
	}
	f.weights = filepath.Join(f.run, "model.safetensors")
	if f.validST, err = os.ReadFile(f.weights); err != nil {
		return err
	}
	n := 2 * 1 * 32 * 32
	f.validNPY = npyBytes("<f4", []int{2, 1, 32, 32}, f32Raw(n, func(i int) float32 { return float32(i%7) / 7 }))
	f.validU8 = npyBytes("|u1", []int{2, 32, 32, 3}, bytes.Repeat([]byte{100}, 2*32*32*3))
	f.validLabels = npyBytes("<i8", []int{2}, i64Raw(9, 2)) // the first two Fashion-MNIST test labels
	f.validProbs = npyBytes("<f4", []int{2, 2, 10}, f32Raw(40, func(int) float32 { return 0.1 }))
	f.images, f.uint8s, f.labels = filepath.Join(dir, "x.npy"), filepath.Join(dir, "u8.npy"), filepath.Join(dir, "labels.npy")
	f.probs, f.features = filepath.Join(dir, "probs.npy"), filepath.Join(dir, "features.npy")
	for p, b := range map[string][]byte{f.images: f.validNPY, f.uint8s: f.validU8, f.labels: f.validLabels,
		f.probs: f.validProbs, f.features: f.validProbs} {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	grey := filepath.Join(dir, "grey.npy")
	if err := os.WriteFile(grey, npyBytes("|u1", []int{2, 32, 32}, bytes.Repeat([]byte{90}, 2048)), 0o644); err != nil {
		return err
	}
	f.cset = filepath.Join(dir, "cset")
	if out, err := harnessInProcess("corrupt", "--in", grey, "--labels", f.labels, "--out", f.cset, "--corruptions", "gaussian_noise", "--workers", "1"); err != nil {
		return fmt.Errorf("corruption set fixture: %v\n%s", err, out)
	}
	f.nasBase, f.supernet, f.search = filepath.Join(dir, "nasbase"), filepath.Join(dir, "supernet"), filepath.Join(dir, "search")
	for _, args := range [][]string{
		{"train", "--arch", "resnet50", "--width", "0.125", "--size", "16", "--data", "fashion-mnist", "--out", f.nasBase,
			"--epochs", "1", "--batch", "8", "--subset", "8", "--val-limit", "8", "--device", "cpu", "--progress", "off"},
		{"nas", "train", "--base", f.nasBase, "--out", f.supernet, "--subset", "16", "--val-fraction", "0.25", "--val-limit", "4",
			"--stages", "depth:1:0.01", "--batch", "8", "--calib-images", "8", "--device", "cpu"},
		{"nas", "search", "--supernet", f.supernet, "--out", f.search, "--population", "4", "--generations", "1",
			"--val-limit", "4", "--calib-images", "8", "--plot", "", "--device", "cpu"},
	} {
		if out, err := harnessInProcess(args...); err != nil {
			return fmt.Errorf("nas fixture %v: %v\n%s", args, err, out)
		}
	}
	out, err := harnessInProcess("study", "--print-config")
	if err != nil {
		return fmt.Errorf("study --print-config: %v", err)
	}
	f.validStudy = []byte(out)
	f.validEnsJSON = []byte(`{"ensembles": [{"name": "a+b", "members": ["a", "b"], "accuracy": 0.5, "mce": 1.0}]}`)
	return nil
}

// harnessInProcess runs the command line in this process.
func harnessInProcess(args ...string) (string, error) {
	app := newApp()
	var out bytes.Buffer
	app.Writer = &out
	app.ErrWriter = &out
	err := app.Run(append([]string{"divres"}, args...))
	return out.String(), err
}

// harnessTarget is one command × file flag. args builds the command line with
// bad as the flag's value and out as the output directory; output is the
// name of the file the command would write in out.
type harnessTarget struct {
	name   string
	output string
	corpus func(f *harnessFixtures) []badInput
	args   func(f *harnessFixtures, bad, out string) []string
}

// leanTargets share their reader with another target that meets the whole
// corpus; they meet only leanInputs, to keep the harness fast.
var leanTargets = map[string]bool{"predict --model": true, "attrib --targets": true, "attrib --baseline": true,
	"attrib --weights": true, "diversity --features": true, "diversity --attributions": true, "corrupt --labels": true,
	"eval --model": true, "ensemble eval --baseline": true, "diversity --members": true, "train --data": true,
	"nas extract --supernet": true, "nas ensemble --supernet": true, "ncl --baseline": true, "ensemble pool --members": true,
	"data grid --data": true, "ncl --data": true, "eval --data": true}

// leanInputs are the corpus entries a lean target meets.
var leanInputs = map[string]bool{"empty": true, "cut-in-header": true, "cut-in-data": true, "directory": true,
	"nan": true, "wrong-shape": true, "weights-cut": true, "set-json-cut": true, "config-cut": true, "supernet-cut": true,
	"search-cut": true, "image-cut": true, "cut-in-half": true}

func harnessTargets() []harnessTarget {
	imgCorpus := func(nanOK bool) func(f *harnessFixtures) []badInput {
		return func(f *harnessFixtures) []badInput {
			return npyCorpus(f.validNPY,
				npyBytes("<f8", []int{2, 1, 32, 32}, f64Raw(2048, func(int) float64 { return 0.5 })),
				npyBytes("<f4", []int{2, 32, 32}, f32Raw(2048, func(int) float32 { return 0.5 })),
				npyBytes("<f4", []int{2, 2, 32, 32}, f32Raw(4096, func(int) float32 { return 0.5 })),
				true, nanOK)
		}
	}
	labelCorpus := func(f *harnessFixtures) []badInput {
		return npyCorpus(f.validLabels,
			npyBytes("<f4", []int{2}, f32Raw(2, func(int) float32 { return 1 })),
			npyBytes("<i8", []int{1, 2}, i64Raw(1, 2)),
			npyBytes("<i8", []int{3}, i64Raw(1, 2, 3)),
			false, false)
	}
	probCorpus := func(f *harnessFixtures) []badInput {
		return npyCorpus(f.validProbs,
			npyBytes("|u1", []int{2, 2, 10}, make([]byte, 40)),
			npyBytes("<f4", []int{2, 10}, f32Raw(20, func(int) float32 { return 0.1 })),
			npyBytes("<f4", []int{2, 3, 10}, f32Raw(60, func(int) float32 { return 0.1 })),
			true, false)
	}
	u8Corpus := func(f *harnessFixtures) []badInput {
		return npyCorpus(f.validU8,
			npyBytes("<f4", []int{2, 32, 32, 3}, f32Raw(6144, func(int) float32 { return 0.5 })),
			npyBytes("|u1", []int{32, 32, 3}, make([]byte, 3072)),
			npyBytes("|u1", []int{2, 32, 32, 5}, make([]byte, 10240)),
			false, false)
	}
	stCorpus := func(f *harnessFixtures) []badInput { return safetensorsCorpus(f.validST) }
	studyCorpus := func(f *harnessFixtures) []badInput { return jsonCorpus(f.validStudy) }
	ensCorpus := func(f *harnessFixtures) []badInput { return jsonCorpus(f.validEnsJSON) }
	evalJSON := []byte(`{"model": "m", "clean_error": 0.1, "corruptions": {"gaussian_noise": [0.2, 0.3]}}`)
	resCorpus := func(f *harnessFixtures) []badInput { return jsonCorpus(evalJSON) }
	arch := []string{"--arch", "lenet", "--width", "0.5", "--classes", "10"}
	return []harnessTarget{
		{"predict --in", "logits.npy", imgCorpus(true), func(f *harnessFixtures, bad, out string) []string {
			return []string{"predict", "--model", f.run, "--in", bad, "--out", filepath.Join(out, "logits.npy")}
		}},
		{"predict --weights", "logits.npy", stCorpus, func(f *harnessFixtures, bad, out string) []string {
			return append([]string{"predict", "--weights", bad, "--in", f.images, "--out", filepath.Join(out, "logits.npy")}, arch...)
		}},
		{"predict --model", "logits.npy", stCorpus, func(f *harnessFixtures, bad, out string) []string {
			return []string{"predict", "--model", bad, "--in", f.images, "--out", filepath.Join(out, "logits.npy")}
		}},
		{"attrib --in", "maps.npy", imgCorpus(false), func(f *harnessFixtures, bad, out string) []string {
			return []string{"attrib", "--model", f.run, "--in", bad, "--out", filepath.Join(out, "maps.npy")}
		}},
		{"attrib --targets", "maps.npy", labelCorpus, func(f *harnessFixtures, bad, out string) []string {
			return []string{"attrib", "--model", f.run, "--in", f.images, "--targets", bad, "--out", filepath.Join(out, "maps.npy")}
		}},
		{"attrib --baseline", "maps.npy", imgCorpus(false), func(f *harnessFixtures, bad, out string) []string {
			return []string{"attrib", "--model", f.run, "--in", f.images, "--method", "ig", "--baseline", bad, "--out", filepath.Join(out, "maps.npy")}
		}},
		{"attrib --weights", "maps.npy", stCorpus, func(f *harnessFixtures, bad, out string) []string {
			return append([]string{"attrib", "--weights", bad, "--in", f.images, "--out", filepath.Join(out, "maps.npy")}, arch...)
		}},
		{"diversity --probs", "diversity.json", probCorpus, func(f *harnessFixtures, bad, out string) []string {
			return []string{"diversity", "--probs", bad, "--labels", f.labels, "--out", out}
		}},
		{"diversity --labels", "diversity.json", labelCorpus, func(f *harnessFixtures, bad, out string) []string {
			return []string{"diversity", "--probs", f.probs, "--labels", bad, "--out", out}
		}},
		{"diversity --features", "diversity.json", probCorpus, func(f *harnessFixtures, bad, out string) []string {
			return []string{"diversity", "--probs", f.probs, "--labels", f.labels, "--features", bad, "--out", out}
		}},
		{"diversity --attributions", "diversity.json", probCorpus, func(f *harnessFixtures, bad, out string) []string {
			return []string{"diversity", "--probs", f.probs, "--labels", f.labels, "--attributions", bad, "--out", out}
		}},
		{"corrupt --in", "set.json", u8Corpus, func(f *harnessFixtures, bad, out string) []string {
			return []string{"corrupt", "--in", bad, "--out", out, "--corruptions", "gaussian_noise", "--workers", "1"}
		}},
		{"corrupt --labels", "set.json", labelCorpus, func(f *harnessFixtures, bad, out string) []string {
			return []string{"corrupt", "--in", f.uint8s, "--labels", bad, "--out", out, "--corruptions", "gaussian_noise", "--workers", "1"}
		}},
		{"correlate --ensembles", "correlations.json", ensCorpus, func(f *harnessFixtures, bad, out string) []string {
			return []string{"correlate", "--ensembles", bad, "--out", out}
		}},
		{"plot --results", "index.html", resCorpus, func(f *harnessFixtures, bad, out string) []string {
			return []string{"plot", "--results", bad, "--out", out}
		}},
		{"eval --model", "eval.json", stCorpus, func(f *harnessFixtures, bad, out string) []string {
			return []string{"eval", "--model", bad, "--corruptions", "generate", "--corruption-list", "gaussian_noise", "--test-subset", "2", "--out", out}
		}},
		{"eval --baseline", "eval.json", resCorpus, func(f *harnessFixtures, bad, out string) []string {
			return []string{"eval", "--model", f.run, "--baseline", bad, "--corruptions", "generate", "--corruption-list", "gaussian_noise", "--test-subset", "2", "--out", out}
		}},
		{"ensemble eval --baseline", "ensemble.json", resCorpus, func(f *harnessFixtures, bad, out string) []string {
			return []string{"ensemble", "eval", "--members", f.run + "," + f.run, "--baseline", bad, "--test-subset", "2", "--out", out}
		}},
		{"data info --data", "info.json", func(*harnessFixtures) []badInput { return idxCorpus() }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"data", "info", "--data", bad, "--split", "train"}
		}},
		{"train --data", "config.json", func(*harnessFixtures) []badInput { return idxCorpus() }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"train", "--arch", "lenet", "--width", "0.5", "--data", bad, "--out", out, "--epochs", "1", "--subset", "2", "--device", "cpu", "--progress", "off"}
		}},
		{"eval --model DIR", "eval.json", func(f *harnessFixtures) []badInput { return runDirCorpus(f.run) }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"eval", "--model", bad, "--corruptions", f.cset, "--test-subset", "2", "--out", out}
		}},
		{"eval --corruptions", "eval.json", func(f *harnessFixtures) []badInput { return csetCorpus(f.cset) }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"eval", "--model", f.run, "--corruptions", bad, "--test-subset", "2", "--out", out}
		}},
		{"ensemble eval --members", "ensemble.json", func(f *harnessFixtures) []badInput { return runDirCorpus(f.run) }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"ensemble", "eval", "--members", f.run + "," + bad, "--test-subset", "2", "--out", out}
		}},
		{"diversity --members", "diversity.json", func(f *harnessFixtures) []badInput { return runDirCorpus(f.run) }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"diversity", "--members", f.run + "," + bad, "--test-subset", "2", "--out", out}
		}},
		{"study --config", "study.json", studyCorpus, func(f *harnessFixtures, bad, out string) []string {
			return []string{"study", "--config", bad, "--out", out}
		}},
		{"nas train --base", "previous.json", func(f *harnessFixtures) []badInput { return runDirCorpus(f.nasBase) }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"nas", "train", "--base", bad, "--out", filepath.Join(out, "super"), "--subset", "16", "--val-fraction", "0.25",
				"--val-limit", "4", "--stages", "depth:1:0.01", "--batch", "8", "--calib-images", "8", "--device", "cpu"}
		}},
		{"nas search --supernet", "previous.json", func(f *harnessFixtures) []badInput { return superCorpus(f.supernet, f.validST) }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"nas", "search", "--supernet", bad, "--out", filepath.Join(out, "search"), "--population", "4", "--generations", "1",
				"--val-limit", "4", "--calib-images", "8", "--plot", "", "--device", "cpu"}
		}},
		{"nas extract --supernet", "previous.json", func(f *harnessFixtures) []badInput { return superCorpus(f.supernet, f.validST) }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"nas", "extract", "--supernet", bad, "--search", f.search, "--pareto-index", "0", "--out", filepath.Join(out, "ex"),
				"--calib-images", "8", "--device", "cpu"}
		}},
		{"nas extract --search", "previous.json", func(f *harnessFixtures) []badInput { return searchCorpus(f.search) }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"nas", "extract", "--supernet", f.supernet, "--search", bad, "--pareto-index", "0", "--out", filepath.Join(out, "ex"),
				"--calib-images", "8", "--device", "cpu"}
		}},
		{"nas ensemble --search", "previous.json", func(f *harnessFixtures) []badInput { return searchCorpus(f.search) }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"nas", "ensemble", "--supernet", f.supernet, "--search", bad, "--k", "2", "--all", "--calib-images", "8",
				"--test-subset", "2", "--out", filepath.Join(out, "ens"), "--device", "cpu"}
		}},
		{"nas ensemble --supernet", "previous.json", func(f *harnessFixtures) []badInput { return superCorpus(f.supernet, f.validST) }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"nas", "ensemble", "--supernet", bad, "--search", f.search, "--k", "2", "--all", "--calib-images", "8",
				"--test-subset", "2", "--out", filepath.Join(out, "ens"), "--device", "cpu"}
		}},
		{"ncl --compare", "previous.json", func(f *harnessFixtures) []badInput { return runDirCorpus(f.run) }, func(f *harnessFixtures, bad, out string) []string {
			return append(nclArgs(out), "--compare", f.run+","+bad)
		}},
		{"ncl --baseline", "previous.json", resCorpus, func(f *harnessFixtures, bad, out string) []string {
			return append(nclArgs(out), "--baseline", bad)
		}},
		{"ncl --data", "previous.json", func(*harnessFixtures) []badInput { return idxCorpus() }, func(f *harnessFixtures, bad, out string) []string {
			args := nclArgs(out)
			for i := range args {
				if args[i] == "--data" {
					args[i+1] = bad
				}
			}
			return args
		}},
		{"ensemble pool --members", "ensembles.json", func(f *harnessFixtures) []badInput { return runDirCorpus(f.run) }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"ensemble", "pool", "--members", f.run + "," + bad, "--test-subset", "2", "--device", "cpu", "--out", out}
		}},
		{"corrupt --frost-dir", "set.json", func(*harnessFixtures) []badInput { return frostCorpus() }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"corrupt", "--in", f.uint8s, "--out", out, "--corruptions", "frost", "--frost-dir", bad, "--workers", "1"}
		}},
		{"eval --data", "eval.json", func(*harnessFixtures) []badInput { return idxCorpusSplit("t10k") }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"eval", "--model", f.run, "--data", bad, "--corruptions", "generate", "--corruption-list", "gaussian_noise",
				"--test-subset", "2", "--out", out}
		}},
		{"study --out (study.json)", "previous.json", func(f *harnessFixtures) []badInput { return studyRunCorpus(f.validStudy) }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"study", "--out", bad, "--plan"}
		}},
		{"data grid --data", "grid.png", func(*harnessFixtures) []badInput { return idxCorpus() }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"data", "grid", "--data", bad, "--split", "train", "--out", filepath.Join(out, "grid.png")}
		}},
		{"data info --data FOLDER", "info.json", func(*harnessFixtures) []badInput { return folderCorpus() }, func(f *harnessFixtures, bad, out string) []string {
			return []string{"data", "info", "--data", bad}
		}},
	}
}

// nclArgs is a tiny ncl sweep into out/sweep.
func nclArgs(out string) []string {
	return []string{"ncl", "--members", "lenet:0.5,lenet:0.5", "--data", "fashion-mnist", "--epochs", "1", "--subset", "8",
		"--val-limit", "8", "--batch", "8", "--lambda", "0.5", "--gamma", "0", "--corruptions", "generate",
		"--corruption-list", "gaussian_noise", "--severities", "1", "--test-subset", "2", "--diversity-images", "2",
		"--device", "cpu", "--progress", "off", "--out", filepath.Join(out, "sweep")}
}

// harnessResult is the outcome of one case, for the table: whether it met the
// whole contract, and the three failures the table counts.
type harnessResult struct {
	target, input              string
	pass, skipped              bool
	panicked, partial, changed bool
}

var (
	harnessMu      sync.Mutex
	harnessResults []harnessResult
)

// runChild runs this binary as divres and returns its exit code and stderr.
func runChild(t *testing.T, args ...string) (int, string) {
	t.Helper()
	return runChildLevel(t, "error", args...)
}

// runChildLevel is runChild at the given --log-level.
func runChildLevel(t *testing.T, level string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"--log-level", level}, args...)...)
	cmd.Env = append(os.Environ(), "DIVRES_HARNESS_CHILD=1", "DIVRES_NO_REEXEC=1", "OMP_WAIT_POLICY=PASSIVE",
		"OMP_NUM_THREADS=1", "DIVRES_PREDICTION_CACHE=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return code, stderr.String()
}

func listing(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[rel] = string(b)
		} else {
			m[rel] = info.Mode().Type().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkFailure asserts the contract for a refused input.
func checkFailure(t *testing.T, code int, stderr string, names ...string) bool {
	t.Helper()
	ok := true
	if strings.Contains(stderr, "panic:") || strings.Contains(stderr, "goroutine ") {
		t.Errorf("panic:\n%s", stderr)
		return false
	}
	if code == 0 {
		t.Errorf("exit 0, want non-zero; output:\n%s", stderr)
		return false
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "divres: ") {
		t.Errorf("stderr is not one line starting with divres:\n%s", stderr)
		ok = false
	}
	named := false
	for _, n := range names {
		if strings.Contains(stderr, n) {
			named = true
		}
	}
	if !named {
		t.Errorf("stderr does not name %v:\n%s", names, stderr)
		ok = false
	}
	return ok
}

func TestHarnessBadInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("harness runs subprocesses")
	}
	f := harnessSetup(t)
	sem := make(chan struct{}, 2)
	t.Run("cases", func(t *testing.T) {
		for _, tg := range harnessTargets() {
			for i, in := range tg.corpus(f) {
				if leanTargets[tg.name] && !leanInputs[in.name] {
					continue
				}
				tg, in := tg, in
				t.Run(strings.ReplaceAll(tg.name, " ", "_")+"/"+in.name, func(t *testing.T) {
					t.Parallel()
					sem <- struct{}{}
					defer func() { <-sem }()
					dir := t.TempDir()
					bad := filepath.Join(dir, fmt.Sprintf("bad%d-%s.in", i, in.name))
					if err := in.write(bad); err != nil {
						t.Fatal(err)
					}
					if in.name == "unreadable" && f.asRoot {
						harnessMu.Lock()
						harnessResults = append(harnessResults, harnessResult{target: tg.name, input: in.name, skipped: true})
						harnessMu.Unlock()
						t.Skipf("running as root: mode 000 does not stop reads, so %s would be read; the unreadable row is not tested", bad)
					}
					out := filepath.Join(dir, "out")
					if err := os.Mkdir(out, 0o755); err != nil {
						t.Fatal(err)
					}
					earlier := []byte("earlier output, must survive\n")
					if err := os.WriteFile(filepath.Join(out, tg.output), earlier, 0o644); err != nil {
						t.Fatal(err)
					}
					before := listing(t, out)
					code, stderr := runChild(t, tg.args(f, bad, out)...)
					t.Logf("exit %d: %s", code, stderr)
					pass := true
					res := harnessResult{target: tg.name, input: in.name}
					res.panicked = strings.Contains(stderr, "panic:") || strings.Contains(stderr, "goroutine ")
					if in.ok {
						if strings.Contains(stderr, "panic:") || strings.Contains(stderr, "goroutine ") {
							t.Errorf("panic:\n%s", stderr)
							pass = false
						}
						if in.ok && code != 0 {
							t.Errorf("exit %d on an accepted input:\n%s", code, stderr)
							pass = false
						}
					} else {
						pass = checkFailure(t, code, stderr, filepath.Base(bad))
						after := listing(t, out)
						if fmt.Sprint(sortedKeys(after)) != fmt.Sprint(sortedKeys(before)) {
							t.Errorf("output directory changed: %v, was %v", sortedKeys(after), sortedKeys(before))
							pass, res.partial = false, true
						}
						if after[tg.output] != string(earlier) {
							t.Errorf("earlier output %s changed", tg.output)
							pass, res.changed = false, true
						}
					}
					res.pass = pass
					harnessMu.Lock()
					harnessResults = append(harnessResults, res)
					harnessMu.Unlock()
				})
			}
		}
	})
	logHarnessTable(t)
}

func sortedKeys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

func logHarnessTable(t *testing.T) {
	harnessMu.Lock()
	defer harnessMu.Unlock()
	type row struct{ pass, skip, total, panics, partial, changed int }
	rows := map[string]*row{}
	var order []string
	add := func(r *row, h harnessResult) {
		if h.skipped {
			r.skip++
			return
		}
		r.total++
		if h.pass {
			r.pass++
		}
		if h.panicked {
			r.panics++
		}
		if h.partial {
			r.partial++
		}
		if h.changed {
			r.changed++
		}
	}
	var all row
	for _, r := range harnessResults {
		if rows[r.target] == nil {
			rows[r.target] = &row{}
			order = append(order, r.target)
		}
		add(rows[r.target], r)
		add(&all, r)
	}
	sort.Strings(order)
	var b strings.Builder
	line := func(name string, r *row) {
		fmt.Fprintf(&b, "%-30s %5d %6d %7d %8d %8d %8d\n", name, r.total, r.pass, r.panics, r.partial, r.changed, r.skip)
	}
	fmt.Fprintf(&b, "%-30s %5s %6s %7s %8s %8s %8s\n", "command × flag", "cases", "passed", "panics", "partial", "changed", "skipped")
	for _, k := range order {
		line(k, rows[k])
	}
	line("total", &all)
	t.Log("\n" + b.String())
}

// TestHarnessOutputs runs predict with valid inputs into an output that cannot
// be written: a read-only file system and a full one.
func TestHarnessOutputs(t *testing.T) {
	if testing.Short() {
		t.Skip("harness runs subprocesses")
	}
	f := harnessSetup(t)
	for _, c := range []struct {
		name  string
		opts  string
		setup func(dir string) error
	}{
		{"read-only", "size=64k", func(dir string) error {
			return syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, "size=64k")
		}},
		{"full", "size=64k", func(dir string) error {
			// Fill the file system; what is left cannot hold the logits.
			fill, err := os.Create(filepath.Join(dir, "fill"))
			if err != nil {
				return err
			}
			defer fill.Close()
			chunk := make([]byte, 4096)
			for {
				if _, err := fill.Write(chunk); err != nil {
					break
				}
			}
			for {
				if _, err := fill.Write(chunk[:1]); err != nil {
					return nil
				}
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, c.opts); err != nil {
				t.Skipf("cannot mount a tmpfs on %s (%v): the %s output row is not tested", dir, err, c.name)
			}
			defer syscall.Unmount(dir, 0)
			earlier := []byte("earlier output, must survive\n")
			if err := os.WriteFile(filepath.Join(dir, "logits.npy"), earlier, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := c.setup(dir); err != nil {
				t.Fatal(err)
			}
			before := listing(t, dir)
			code, stderr := runChild(t, "predict", "--model", f.run, "--in", f.images, "--out", filepath.Join(dir, "logits.npy"))
			checkFailure(t, code, stderr, "logits.npy", dir)
			after := listing(t, dir)
			if fmt.Sprint(sortedKeys(after)) != fmt.Sprint(sortedKeys(before)) || after["logits.npy"] != string(earlier) {
				t.Errorf("output directory changed: %v, was %v", sortedKeys(after), sortedKeys(before))
			}
		})
	}
}

// TestHarnessNonFinite checks that predict warns with the count of images
// holding NaN or Inf, that attrib refuses them unless --allow-nonfinite, and
// that eval, train --resume and ncl --compare refuse checkpoints holding NaN
// weights unless --allow-nonfinite (their images are uint8 and cannot).
func TestHarnessNonFinite(t *testing.T) {
	if testing.Short() {
		t.Skip("harness runs subprocesses")
	}
	f := harnessSetup(t)
	dir := t.TempDir()
	hdrEnd := bytes.IndexByte(f.validNPY, '\n') + 1
	b := append([]byte(nil), f.validNPY...)
	binary.LittleEndian.PutUint32(b[hdrEnd+4*5:], math.Float32bits(float32(math.NaN())))
	bad := filepath.Join(dir, "nan.npy")
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "logits.npy")
	code, stderr := runChildLevel(t, "warn", "predict", "--model", f.run, "--in", bad, "--out", out)
	if code != 0 || !strings.Contains(stderr, "1 of 2 images in "+bad+" hold NaN or Inf") {
		t.Errorf("predict: exit %d, want 0 and a warning counting 1 of 2 images:\n%s", code, stderr)
	}
	maps := filepath.Join(dir, "maps.npy")
	code, stderr = runChild(t, "attrib", "--model", f.run, "--in", bad, "--out", maps)
	checkFailure(t, code, stderr, bad)
	if !strings.Contains(stderr, "1 of 2 images hold NaN or Inf") {
		t.Errorf("attrib: %s", stderr)
	}
	if _, err := os.Stat(maps); err == nil {
		t.Error("attrib wrote maps for a refused input")
	}
	if code, stderr = runChild(t, "attrib", "--model", f.run, "--in", bad, "--allow-nonfinite", "--out", maps); code != 0 {
		t.Errorf("attrib --allow-nonfinite: exit %d:\n%s", code, stderr)
	}

	// A run whose weights and training state hold a NaN: eval, train --resume
	// and ncl --compare refuse it unless --allow-nonfinite.
	nanRun := filepath.Join(dir, "nanrun")
	if err := copyDir(f.run, nanRun); err != nil {
		t.Fatal(err)
	}
	model, state := filepath.Join(nanRun, "model.safetensors"), filepath.Join(nanRun, "train_state.safetensors")
	poisonWeights(t, model)
	poisonWeights(t, state)
	evalOut := filepath.Join(dir, "eval")
	evalArgs := []string{"eval", "--model", nanRun, "--corruptions", "generate", "--corruption-list", "gaussian_noise",
		"--severities", "1", "--test-subset", "2", "--cache", filepath.Join(dir, "sets"), "--out", evalOut}
	code, stderr = runChild(t, evalArgs...)
	if checkFailure(t, code, stderr, model) && !strings.Contains(stderr, "weight tensors hold NaN or Inf (non-finite values: 1)") {
		t.Errorf("eval: %s", stderr)
	}
	if _, err := os.Stat(evalOut); err == nil {
		t.Error("eval wrote results for a refused model")
	}
	if code, stderr = runChild(t, append(evalArgs, "--allow-nonfinite")...); code != 0 {
		t.Errorf("eval --allow-nonfinite: exit %d:\n%s", code, stderr)
	}
	before := listing(t, nanRun)
	code, stderr = runChild(t, "train", "--arch", "lenet", "--width", "0.5", "--data", "fashion-mnist", "--out", nanRun,
		"--epochs", "1", "--batch", "8", "--subset", "8", "--val-limit", "8", "--device", "cpu", "--progress", "off", "--resume")
	if checkFailure(t, code, stderr, state) && !strings.Contains(stderr, "--allow-nonfinite resumes from it anyway") {
		t.Errorf("train --resume: %s", stderr)
	}
	if after := listing(t, nanRun); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Error("train --resume changed the refused run")
	}
	sweep := filepath.Join(dir, "sweep")
	code, stderr = runChild(t, "ncl", "--members", "lenet:0.5,lenet:0.5", "--data", "fashion-mnist", "--epochs", "1",
		"--subset", "8", "--corruptions", "generate", "--compare", f.run+","+nanRun, "--device", "cpu", "--out", sweep)
	if checkFailure(t, code, stderr, model) && !strings.Contains(stderr, "--compare: ") {
		t.Errorf("ncl --compare: %s", stderr)
	}
	if _, err := os.Stat(sweep); err == nil {
		t.Error("ncl created the sweep directory for a refused --compare")
	}
}

// poisonWeights sets the first element of the first float32 tensor of a
// safetensors file to NaN.
func poisonWeights(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := torch.ReadSafetensorsHeader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range h.Entries {
		if e.DType == torch.Float32 && e.End > e.Begin {
			binary.LittleEndian.PutUint32(b[h.DataOffset+e.Begin:], math.Float32bits(float32(math.NaN())))
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("%s has no float32 tensor", path)
}

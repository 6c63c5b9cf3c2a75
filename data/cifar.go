package data

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// CIFAR binary format: each record is the label byte(s) followed by a 32×32 RGB image
// stored channel-major (1024 red, 1024 green, 1024 blue bytes, rows top to bottom).
const (
	cifarSide       = 32
	cifarImageBytes = 3 * cifarSide * cifarSide
)

// Directory names inside the official archives.
const (
	CIFAR10DirName  = "cifar-10-batches-bin"
	CIFAR100DirName = "cifar-100-binary"
)

// CIFAR10Classes are the CIFAR-10 class names (batches.meta.txt), in label order.
var CIFAR10Classes = []string{
	"airplane", "automobile", "bird", "cat", "deer",
	"dog", "frog", "horse", "ship", "truck",
}

// CIFAR100CoarseClasses are the 20 CIFAR-100 superclasses (coarse_label_names.txt).
var CIFAR100CoarseClasses = []string{
	"aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables",
	"household_electrical_devices", "household_furniture", "insects", "large_carnivores",
	"large_man-made_outdoor_things", "large_natural_outdoor_scenes",
	"large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates",
	"people", "reptiles", "small_mammals", "trees", "vehicles_1", "vehicles_2",
}

// CIFAR100Classes are the 100 CIFAR-100 classes (fine_label_names.txt).
var CIFAR100Classes = []string{
	"apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle",
	"bicycle", "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can",
	"castle", "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud",
	"cockroach", "couch", "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant",
	"flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
	"lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree",
	"motorcycle", "mountain", "mouse", "mushroom", "oak_tree", "orange", "orchid",
	"otter", "palm_tree", "pear", "pickup_truck", "pine_tree", "plain", "plate", "poppy",
	"porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket", "rose", "sea",
	"seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
	"squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone",
	"television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe",
	"whale", "willow_tree", "wolf", "woman", "worm",
}

// cifarFormat describes one of the two record layouts.
type cifarFormat struct {
	labelBytes int   // 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine)
	numClasses []int // bound of each label byte
	use        int   // which label byte is the dataset's label
}

var (
	cifar10Format        = cifarFormat{labelBytes: 1, numClasses: []int{10}, use: 0}
	cifar100FineFormat   = cifarFormat{labelBytes: 2, numClasses: []int{20, 100}, use: 1}
	cifar100CoarseFormat = cifarFormat{labelBytes: 2, numClasses: []int{20, 100}, use: 0}
)

// readCIFARRecords appends the records of r to pix and labels. sizeHint, if positive,
// is the expected byte count (to size the buffers once).
func readCIFARRecords(r io.Reader, f cifarFormat, sizeHint int64, pix []uint8, labels []int32) ([]uint8, []int32, error) {
	rec := f.labelBytes + cifarImageBytes
	if sizeHint > 0 {
		if sizeHint%int64(rec) != 0 {
			return pix, labels, formatErr("CIFAR: size %d is not a multiple of the %d-byte record", sizeHint, rec)
		}
		n := int(sizeHint / int64(rec))
		pix = growBytes(pix, n*cifarImageBytes)
		labels = growInt32(labels, n)
	}
	br := bufio.NewReaderSize(r, 1<<16)
	var lab [2]byte
	for k := 0; ; k++ {
		n, err := io.ReadFull(br, lab[:f.labelBytes])
		if err == io.EOF {
			if k == 0 {
				return pix, labels, formatErr("CIFAR: empty file")
			}
			return pix, labels, nil
		}
		if err != nil {
			return pix, labels, formatErr("CIFAR: record %d truncated after %d bytes: %v", k, n, err)
		}
		for j := range f.labelBytes {
			if int(lab[j]) >= f.numClasses[j] {
				return pix, labels, formatErr("CIFAR: record %d: label byte %d is %d, want < %d", k, j, lab[j], f.numClasses[j])
			}
		}
		start := len(pix)
		pix = growBytes(pix, cifarImageBytes)[:start+cifarImageBytes]
		if n, err := io.ReadFull(br, pix[start:]); err != nil {
			return pix[:start], labels, formatErr("CIFAR: record %d truncated after %d bytes: %v", k, f.labelBytes+n, err)
		}
		labels = append(labels, int32(lab[f.use]))
	}
}

func growBytes(b []uint8, n int) []uint8 {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]uint8, len(b), len(b)+max(n, len(b)/2))
	copy(nb, b)
	return nb
}

func growInt32(b []int32, n int) []int32 {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]int32, len(b), len(b)+max(n, len(b)/2))
	copy(nb, b)
	return nb
}

func cifarDataset(pix []uint8, labels []int32, classes []string) (*Memory, error) {
	return NewMemory(3, cifarSide, cifarSide, pix, labels, classes)
}

// ReadCIFAR10 reads CIFAR-10 binary records (1 label byte + 3072 image bytes each)
// from r.
func ReadCIFAR10(r io.Reader) (*Memory, error) {
	pix, labels, err := readCIFARRecords(r, cifar10Format, 0, nil, nil)
	if err != nil {
		return nil, err
	}
	return cifarDataset(pix, labels, CIFAR10Classes)
}

// ReadCIFAR100 reads CIFAR-100 binary records (coarse and fine label bytes + 3072
// image bytes each) from r; the dataset's labels are the fine ones, or the coarse
// ones if coarse is set.
func ReadCIFAR100(r io.Reader, coarse bool) (*Memory, error) {
	f, classes := cifar100FineFormat, CIFAR100Classes
	if coarse {
		f, classes = cifar100CoarseFormat, CIFAR100CoarseClasses
	}
	pix, labels, err := readCIFARRecords(r, f, 0, nil, nil)
	if err != nil {
		return nil, err
	}
	return cifarDataset(pix, labels, classes)
}

// readCIFARFiles reads and concatenates the record files at paths.
func readCIFARFiles(paths []string, f cifarFormat, classes []string) (*Memory, error) {
	var total int64
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		total += st.Size()
	}
	rec := int64(f.labelBytes + cifarImageBytes)
	pix := make([]uint8, 0, total/rec*cifarImageBytes)
	labels := make([]int32, 0, total/rec)
	for _, p := range paths {
		fh, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		st, err := fh.Stat()
		if err == nil {
			pix, labels, err = readCIFARRecords(fh, f, st.Size(), pix, labels)
		}
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
	}
	return cifarDataset(pix, labels, classes)
}

// readNames reads a class-name file (one name a line, blank lines ignored) and checks
// that it has n names; a missing file gives def.
func readNames(path string, def []string) ([]string, error) {
	names, err := readNameLines(path)
	if errors.Is(err, os.ErrNotExist) {
		return def, nil
	}
	if err != nil {
		return nil, err
	}
	if len(names) != len(def) {
		return nil, formatErr("%s: %d class names, want %d", path, len(names), len(def))
	}
	return names, nil
}

// readNameLines reads a class-name file: one name a line, surrounding spaces and
// blank lines ignored.
func readNameLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var names []string
	for line := range strings.SplitSeq(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, line)
		}
	}
	return names, nil
}

// IsCIFAR10Dir reports whether dir holds the CIFAR-10 binary files.
func IsCIFAR10Dir(dir string) bool {
	return fileExists(filepath.Join(dir, "test_batch.bin")) || fileExists(filepath.Join(dir, "data_batch_1.bin"))
}

// IsCIFAR100Dir reports whether dir holds the CIFAR-100 binary files.
func IsCIFAR100Dir(dir string) bool {
	return fileExists(filepath.Join(dir, "train.bin")) && fileExists(filepath.Join(dir, "test.bin"))
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// LoadCIFAR10 reads the CIFAR-10 binary version from dir (the cifar-10-batches-bin
// directory): data_batch_1.bin … data_batch_5.bin for training (50,000 images),
// test_batch.bin for testing (10,000), class names from batches.meta.txt.
func LoadCIFAR10(dir string) (train, test *Memory, err error) {
	return loadCIFAR10(dir, true)
}

// loadCIFAR10 is LoadCIFAR10 that reads the training batches only if withTrain is set.
func loadCIFAR10(dir string, withTrain bool) (train, test *Memory, err error) {
	classes, err := readNames(filepath.Join(dir, "batches.meta.txt"), CIFAR10Classes)
	if err != nil {
		return nil, nil, err
	}
	var trainFiles []string
	for i := 1; i <= 5; i++ {
		trainFiles = append(trainFiles, filepath.Join(dir, fmt.Sprintf("data_batch_%d.bin", i)))
	}
	if withTrain {
		if train, err = readCIFARFiles(trainFiles, cifar10Format, classes); err != nil {
			return nil, nil, fmt.Errorf("CIFAR-10 training set: %w", err)
		}
	}
	if test, err = readCIFARFiles([]string{filepath.Join(dir, "test_batch.bin")}, cifar10Format, classes); err != nil {
		return nil, nil, fmt.Errorf("CIFAR-10 test set: %w", err)
	}
	return train, test, nil
}

// LoadCIFAR100 reads the CIFAR-100 binary version from dir (the cifar-100-binary
// directory): train.bin (50,000 images) and test.bin (10,000), with the 100 fine
// labels, or the 20 coarse ones if coarse is set.
func LoadCIFAR100(dir string, coarse bool) (train, test *Memory, err error) {
	return loadCIFAR100(dir, coarse, true)
}

// loadCIFAR100 is LoadCIFAR100 that reads train.bin only if withTrain is set.
func loadCIFAR100(dir string, coarse, withTrain bool) (train, test *Memory, err error) {
	f, nameFile, def := cifar100FineFormat, "fine_label_names.txt", CIFAR100Classes
	if coarse {
		f, nameFile, def = cifar100CoarseFormat, "coarse_label_names.txt", CIFAR100CoarseClasses
	}
	classes, err := readNames(filepath.Join(dir, nameFile), def)
	if err != nil {
		return nil, nil, err
	}
	if withTrain {
		if train, err = readCIFARFiles([]string{filepath.Join(dir, "train.bin")}, f, classes); err != nil {
			return nil, nil, fmt.Errorf("CIFAR-100 training set: %w", err)
		}
	}
	if test, err = readCIFARFiles([]string{filepath.Join(dir, "test.bin")}, f, classes); err != nil {
		return nil, nil, fmt.Errorf("CIFAR-100 test set: %w", err)
	}
	return train, test, nil
}

package data

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// OpenOptions configure Open.
type OpenOptions struct {
	// Root is where named datasets are looked for and downloaded to (default
	// DefaultRoot()). Fashion-MNIST is also looked for in FashionMNISTDir.
	Root string
	// Download fetches CIFAR-10/100 into Root when they are missing.
	Download bool
	// BaseURL replaces the download location (default DefaultBaseURL).
	BaseURL string
	// Progress, if set, reports download progress.
	Progress ProgressFunc
	// Coarse selects CIFAR-100's 20 superclass labels instead of the 100 classes.
	Coarse bool
	// Corruption and Severity select one slice of a CIFAR-10-C style directory.
	Corruption string
	Severity   int
	// Classes names the classes of a CIFAR-10-C style directory or of an IDX
	// directory; nil picks a default (see LoadCorruptionSet, LoadIDXDir).
	Classes []string
	// Folder configures image folders.
	Folder FolderOptions
	// TestOnly skips reading the training set where the source stores it apart
	// (IDX and CIFAR files): Open then returns a nil training set. OpenTest sets it.
	TestOnly bool
}

// DefaultRoot is the default directory of named datasets: $DIVRES_DATA if set, else
// the user cache directory's divres/data (~/.cache/divres/data on Linux).
func DefaultRoot() string {
	if d := os.Getenv("DIVRES_DATA"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "divres", "data")
	}
	return filepath.Join(os.TempDir(), "divres-data")
}

// Names are the dataset names Open accepts besides paths.
var Names = []string{"fashion-mnist", "mnist", "cifar10", "cifar100"}

// Open resolves a dataset specification to its training and test sets:
//
//   - a name: fashion-mnist, mnist, cifar10, cifar100 (looked for under opts.Root,
//     Fashion-MNIST also where Debian installs it; CIFAR downloaded with opts.Download);
//   - a directory of CIFAR-10 or CIFAR-100 binary files, or one containing
//     cifar-10-batches-bin or cifar-100-binary;
//   - a directory of IDX files (train-images-idx3-ubyte[.gz], t10k-…);
//   - a CIFAR-10-C style directory (<corruption>.npy + labels.npy), which has only a
//     test set: opts.Corruption and opts.Severity pick the slice;
//   - an image folder root/<class>/*.png|jpg; if root has train/ and test/ (or val/)
//     image folders, those are the two sets, otherwise the folder is the training set.
//
// A set the source does not have is returned as nil.
func Open(spec string, opts OpenOptions) (train, test Dataset, err error) {
	return OpenContext(context.Background(), spec, opts)
}

// OpenTest is Open for a command that needs only the test set (evaluation,
// prediction caches): it does not read the training set where it can avoid it
// (60,000 Fashion-MNIST images cost 1.4 s to decompress), and it is an error for the
// source to have no test set.
func OpenTest(spec string, opts OpenOptions) (Dataset, error) {
	opts.TestOnly = true
	_, test, err := Open(spec, opts)
	if err != nil {
		return nil, err
	}
	if test == nil {
		return nil, fmt.Errorf("dataset %s has no test set", spec)
	}
	return test, nil
}

// OpenContext is Open with a context for downloads.
func OpenContext(ctx context.Context, spec string, opts OpenOptions) (train, test Dataset, err error) {
	if spec == "" {
		return nil, nil, fmt.Errorf("no dataset given (a name: %s, or a path)", strings.Join(Names, ", "))
	}
	if opts.Root == "" {
		opts.Root = DefaultRoot()
	}
	if name := canonicalName(spec); name != "" {
		if st, err := os.Stat(spec); err != nil || !st.IsDir() {
			return openNamed(ctx, name, opts)
		}
	}
	st, err := os.Stat(spec)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset %q: not a known name (%s) nor a readable path: %w", spec, strings.Join(Names, ", "), err)
	}
	if !st.IsDir() {
		return nil, nil, fmt.Errorf("dataset %s: want a directory", spec)
	}
	return openDir(spec, opts)
}

// memOrNil avoids a non-nil Dataset holding a nil *Memory.
func memOrNil(m *Memory) Dataset {
	if m == nil {
		return nil
	}
	return m
}

func openDir(dir string, opts OpenOptions) (Dataset, Dataset, error) {
	for _, sub := range []string{CIFAR10DirName, CIFAR100DirName} {
		if p := filepath.Join(dir, sub); isDir(p) {
			return openDir(p, opts)
		}
	}
	switch {
	case IsCIFAR100Dir(dir):
		tr, te, err := loadCIFAR100(dir, opts.Coarse, !opts.TestOnly)
		if err != nil {
			return nil, nil, err
		}
		return tr, te, nil
	case IsCIFAR10Dir(dir):
		tr, te, err := loadCIFAR10(dir, !opts.TestOnly)
		if err != nil {
			return nil, nil, err
		}
		return tr, te, nil
	case IsIDXDir(dir):
		tr, te, err := loadIDXDir(dir, opts.Classes, !opts.TestOnly)
		if err != nil {
			return nil, nil, err
		}
		return memOrNil(tr), memOrNil(te), nil
	case IsCorruptionSetDir(dir):
		if opts.Corruption == "" || opts.Severity == 0 {
			names, _ := CorruptionSetNames(dir)
			sevs, _ := setSeverities(dir)
			return nil, nil, fmt.Errorf("%s is a corruption set: choose a corruption (%s) and a severity %v", dir, strings.Join(names, ", "), sevs)
		}
		te, err := LoadCorruptionSet(dir, opts.Corruption, opts.Severity, opts.Classes)
		if err != nil {
			return nil, nil, err
		}
		return nil, te, nil
	}
	trainDir := filepath.Join(dir, "train")
	testDir := ""
	for _, name := range []string{"test", "val", "validation"} {
		if p := filepath.Join(dir, name); isDir(p) {
			testDir = p
			break
		}
	}
	if isDir(trainDir) && testDir != "" {
		tr, err := OpenFolder(trainDir, opts.Folder)
		if err != nil {
			return nil, nil, err
		}
		te, err := OpenFolder(testDir, opts.Folder)
		if err != nil {
			return nil, nil, err
		}
		if !slices.Equal(tr.ClassNames(), te.ClassNames()) {
			return nil, nil, fmt.Errorf("%s: training and test folders have different classes", dir)
		}
		return tr, te, nil
	}
	f, err := OpenFolder(dir, opts.Folder)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a CIFAR, IDX, corruption-set or image-folder dataset: %w", dir, err)
	}
	return f, nil, nil
}

func openNamed(ctx context.Context, name string, opts OpenOptions) (Dataset, Dataset, error) {
	switch name {
	case "fashion-mnist", "mnist":
		classes := FashionMNISTClasses
		dirs := []string{filepath.Join(opts.Root, name), FashionMNISTDir}
		if name == "mnist" {
			classes = MNISTClasses
			dirs = []string{filepath.Join(opts.Root, name), "/usr/share/datasets/mnist"}
		}
		for _, d := range dirs {
			if IsIDXDir(d) {
				tr, te, err := loadIDXDir(d, classes, !opts.TestOnly)
				if err != nil {
					return nil, nil, err
				}
				return memOrNil(tr), memOrNil(te), nil
			}
		}
		hint := "put the IDX files (train-images-idx3-ubyte.gz, …) there or pass their directory"
		if name == "fashion-mnist" {
			hint = "install Debian's dataset-fashion-mnist or " + hint
		}
		return nil, nil, fmt.Errorf("%s not found in %s: %s", name, strings.Join(dirs, " or "), hint)
	case "cifar10", "cifar100":
		sub := CIFAR10DirName
		if name == "cifar100" {
			sub = CIFAR100DirName
		}
		dir := filepath.Join(opts.Root, sub)
		if !isDir(dir) {
			if !opts.Download {
				return nil, nil, fmt.Errorf("%s not found in %s (download it with --download, or pass the directory of its binary version)", name, dir)
			}
			var err error
			if dir, err = Download(ctx, name, opts.Root, opts.BaseURL, opts.Progress); err != nil {
				return nil, nil, err
			}
		}
		return openDir(dir, opts)
	}
	return nil, nil, fmt.Errorf("unknown dataset %q", name)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

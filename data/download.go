package data

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultBaseURL is the official location of the CIFAR archives.
const DefaultBaseURL = "https://www.cs.toronto.edu/~kriz"

// ProgressFunc reports a transfer: bytes done of total (−1 when unknown).
type ProgressFunc func(done, total int64)

// archive describes a downloadable dataset archive.
type archive struct {
	file     string   // archive name at the base URL
	md5      string   // published MD5 of the archive
	dir      string   // top-level directory inside it
	required []string // files that must be in dir
}

// archives lists the downloads, with the checksums published on the CIFAR page.
var archives = map[string]archive{
	"cifar10": {
		file: "cifar-10-binary.tar.gz", md5: "c32a1d4ab5d03f1284b67883e8d87530", dir: CIFAR10DirName,
		required: []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"},
	},
	"cifar100": {
		file: "cifar-100-binary.tar.gz", md5: "03b5dce01913d631647c71ecec9e9cb8", dir: CIFAR100DirName,
		required: []string{"train.bin", "test.bin"},
	},
}

// maxUnpacked bounds the bytes an archive may unpack to (the CIFAR archives hold
// under 200 MB).
const maxUnpacked = 4 << 30

// Download fetches the binary version of cifar10 or cifar100 from baseURL (default
// DefaultBaseURL) into root, checks its MD5 against the published value, and unpacks
// it atomically: into a temporary directory beside the destination, renamed into
// place once complete. It returns the dataset directory (root/cifar-10-batches-bin or
// root/cifar-100-binary); if that is already complete nothing is fetched. progress
// may be nil.
func Download(ctx context.Context, name, root, baseURL string, progress ProgressFunc) (string, error) {
	a, ok := archives[canonicalName(name)]
	if !ok {
		return "", fmt.Errorf("download: no download for dataset %q (only cifar10, cifar100)", name)
	}
	return download(ctx, a, root, baseURL, progress)
}

func complete(dir string, a archive) bool {
	for _, f := range a.required {
		if !fileExists(filepath.Join(dir, f)) {
			return false
		}
	}
	return true
}

func download(ctx context.Context, a archive, root, baseURL string, progress ProgressFunc) (string, error) {
	dest := filepath.Join(root, a.dir)
	if complete(dest, a) {
		return dest, nil
	}
	if _, err := os.Stat(dest); err == nil {
		return "", fmt.Errorf("download: %s exists but is incomplete; remove it and retry", dest)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	url := strings.TrimRight(baseURL, "/") + "/" + a.file

	tmp, err := os.CreateTemp(root, ".download-*-"+a.file)
	if err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := fetch(ctx, url, tmp, a.md5, progress); err != nil {
		return "", fmt.Errorf("download %s: %w", url, err)
	}

	unpackDir, err := os.MkdirTemp(root, ".unpack-*")
	if err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	defer os.RemoveAll(unpackDir)
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	if err := untarGz(tmp, unpackDir); err != nil {
		return "", fmt.Errorf("unpack %s: %w", a.file, err)
	}
	got := filepath.Join(unpackDir, a.dir)
	if !complete(got, a) {
		return "", fmt.Errorf("unpack %s: %w", a.file, formatErr("archive lacks %s/ with %s", a.dir, strings.Join(a.required, ", ")))
	}
	if err := os.Rename(got, dest); err != nil {
		if complete(dest, a) { // another process finished first
			return dest, nil
		}
		return "", fmt.Errorf("download: %w", err)
	}
	return dest, nil
}

// fetch downloads url into w and checks the MD5 of what it wrote.
func fetch(ctx context.Context, url string, w io.Writer, wantMD5 string, progress ProgressFunc) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("server answered %s", resp.Status)
	}
	h := md5.New()
	var body io.Reader = resp.Body
	if progress != nil {
		body = &progressReader{r: resp.Body, total: resp.ContentLength, f: progress}
	}
	n, err := io.Copy(io.MultiWriter(w, h), body)
	if err != nil {
		return fmt.Errorf("after %d bytes: %w", n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("got %d of %d bytes", n, resp.ContentLength)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != wantMD5 {
		return fmt.Errorf("checksum mismatch: MD5 %s, want %s (corrupt or changed download)", got, wantMD5)
	}
	return nil
}

type progressReader struct {
	r     io.Reader
	done  int64
	total int64
	f     ProgressFunc
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	p.f(p.done, p.total)
	return n, err
}

// untarGz unpacks a gzip-compressed tar stream into dir, accepting only regular
// files and directories with relative paths that stay inside dir.
func untarGz(r io.Reader, dir string) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return formatErr("gzip: %v", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var total int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return formatErr("tar: %v", err)
		}
		name := path.Clean(hdr.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, `\`) {
			return formatErr("tar: entry %q escapes the destination", hdr.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			total += hdr.Size
			if total > maxUnpacked {
				return formatErr("tar: more than %d bytes", int64(maxUnpacked))
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, io.LimitReader(tr, hdr.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", target, err)
			}
		case tar.TypeXGlobalHeader:
		case tar.TypeSymlink, tar.TypeLink:
			kind := "symbolic"
			if hdr.Typeflag == tar.TypeLink {
				kind = "hard"
			}
			return formatErr("tar: entry %q is a %s link to %q; the unpacker writes only files and directories", hdr.Name, kind, hdr.Linkname)
		default:
			return formatErr("tar: entry %q has unsupported type %q (only files and directories are unpacked)", hdr.Name, hdr.Typeflag)
		}
	}
}

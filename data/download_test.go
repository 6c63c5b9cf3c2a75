package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

type tarEntry struct {
	name string
	body []byte
	typ  byte
}

func tarGz(t testing.TB, entries []tarEntry) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Size: int64(len(e.body))}
		if typ != tar.TypeReg {
			h.Size = 0
			h.Mode = 0o755
			if typ == tar.TypeSymlink {
				h.Linkname = "/etc/passwd"
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write(e.body)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return b.Bytes()
}

// tinyCIFAR10 is a miniature cifar-10-binary.tar.gz: 2 images per batch file.
func tinyCIFAR10(t testing.TB) []byte {
	entries := []tarEntry{{name: CIFAR10DirName + "/", typ: tar.TypeDir}}
	for _, f := range archives["cifar10"].required {
		entries = append(entries, tarEntry{name: CIFAR10DirName + "/" + f,
			body: cifarRecords([][]byte{{1}, {8}}, synthImages(2, cifarImageBytes))})
	}
	entries = append(entries, tarEntry{name: CIFAR10DirName + "/batches.meta.txt", body: []byte(strings.Join(CIFAR10Classes, "\n") + "\n")})
	return tarGz(t, entries)
}

func serve(t *testing.T, files map[string][]byte) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, ok := files[strings.TrimPrefix(r.URL.Path, "/kriz/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// onlyDir lists root's entries, to check that nothing temporary is left behind.
func entries(t *testing.T, root string) []string {
	ents, err := os.ReadDir(root)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestDownloadUnpacksAtomically(t *testing.T) {
	tgz := tinyCIFAR10(t)
	srv, hits := serve(t, map[string][]byte{"cifar-10-binary.tar.gz": tgz})
	a := archives["cifar10"]
	a.md5 = md5hex(tgz)
	root := filepath.Join(t.TempDir(), "data")
	var last int64
	dir, err := download(context.Background(), a, root, srv.URL+"/kriz", func(done, total int64) { last = done })
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(root, CIFAR10DirName) || last != int64(len(tgz)) {
		t.Errorf("dir %s, progress %d of %d", dir, last, len(tgz))
	}
	if got := entries(t, root); len(got) != 1 || got[0] != CIFAR10DirName {
		t.Errorf("root holds %v", got)
	}
	tr, te, err := Open(dir, OpenOptions{})
	if err != nil || tr.Len() != 10 || te.Len() != 2 || te.Label(1) != 8 {
		t.Fatalf("open downloaded set: %v", err)
	}
	// A complete directory is not fetched again.
	if _, err := download(context.Background(), a, root, srv.URL+"/kriz", nil); err != nil || hits.Load() != 1 {
		t.Errorf("second download: %v, %d requests", err, hits.Load())
	}
}

func TestDownloadChecksumAndErrors(t *testing.T) {
	tgz := tinyCIFAR10(t)
	evil := tarGz(t, []tarEntry{{name: "../evil.txt", body: []byte("x")}})
	link := tarGz(t, []tarEntry{{name: CIFAR10DirName + "/test_batch.bin", typ: tar.TypeSymlink}})
	partial := tarGz(t, []tarEntry{{name: CIFAR10DirName + "/test_batch.bin", body: []byte("x")}})
	srv, _ := serve(t, map[string][]byte{"cifar-10-binary.tar.gz": tgz, "evil.tar.gz": evil, "link.tar.gz": link,
		"partial.tar.gz": partial, "garbage.tar.gz": []byte("not gzip at all")})
	base := srv.URL + "/kriz"

	// The official checksum rejects the tiny archive: nothing is left in root.
	root := filepath.Join(t.TempDir(), "data")
	_, err := Download(context.Background(), "cifar10", root, base, nil)
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), archives["cifar10"].md5) {
		t.Fatalf("want checksum mismatch, got %v", err)
	}
	if got := entries(t, root); len(got) != 0 {
		t.Errorf("root holds %v after a failed download", got)
	}
	if _, err := Download(context.Background(), "cifar100", root, base, nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Download(context.Background(), "mnist", root, base, nil); err == nil {
		t.Error("download of mnist accepted")
	}
	for _, name := range []string{"evil", "link", "partial", "garbage"} {
		file := name + ".tar.gz"
		b := map[string][]byte{"evil": evil, "link": link, "partial": partial, "garbage": []byte("not gzip at all")}[name]
		a := archive{file: file, md5: md5hex(b), dir: CIFAR10DirName, required: archives["cifar10"].required}
		if _, err := download(context.Background(), a, root, base, nil); err == nil {
			t.Errorf("%s archive accepted", name)
		}
		if got := entries(t, root); len(got) != 0 {
			t.Errorf("%s: root holds %v", name, got)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(root), "evil.txt")); err == nil {
		t.Error("archive wrote outside its directory")
	}
	// A cancelled context stops the download.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Download(ctx, "cifar10", root, base, nil); err == nil {
		t.Error("cancelled download succeeded")
	}
}

func TestOpenNamedDownload(t *testing.T) {
	tgz := tinyCIFAR10(t)
	srv, _ := serve(t, map[string][]byte{"cifar-10-binary.tar.gz": tgz})
	root := t.TempDir()
	if _, _, err := Open("cifar10", OpenOptions{Root: root}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("without download: %v", err)
	}
	// With the official checksum the tiny archive is refused even through Open.
	if _, _, err := Open("cifar10", OpenOptions{Root: root, Download: true, BaseURL: srv.URL + "/kriz"}); err == nil {
		t.Error("tiny archive passed the official checksum")
	}
	// A directory already in place is used by name.
	writeCIFAR10Dir(t, filepath.Join(root, CIFAR10DirName), 2, nil)
	tr, te, err := Open("CIFAR-10", OpenOptions{Root: root})
	if err != nil || tr.Len() != 10 || te.Len() != 2 {
		t.Fatalf("by name: %v", err)
	}
	if _, _, err := Open("nonsense", OpenOptions{Root: root}); err == nil {
		t.Error("unknown name accepted")
	}
}

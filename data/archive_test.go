package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// craftedEntry is one tar header (with its body for regular files).
type craftedEntry struct {
	name, link string
	typ        byte
	body       string
}

func craftTarGz(t *testing.T, entries ...craftedEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// tree lists every path under dir (relative), with link targets.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if info.Mode()&os.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			rel += " -> " + l
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUnpackRefusesEscapes unpacks crafted archives whose entries reach outside
// the target directory (parent paths, absolute paths, symbolic and hard links to
// outside, a file written through a link): each is refused with one line naming
// the entry and the reason, and nothing appears outside the target.
func TestUnpackRefusesEscapes(t *testing.T) {
	base := t.TempDir()
	abs := filepath.Join(base, "abs-evil")
	reg := func(name string) craftedEntry { return craftedEntry{name: name, typ: tar.TypeReg, body: "pwned"} }
	dirE := craftedEntry{name: "cifar/", typ: tar.TypeDir}
	cases := []struct {
		name    string
		entries []craftedEntry
		want    string
	}{
		{"parent", []craftedEntry{dirE, reg("../evil")}, `"../evil" escapes`},
		{"parent-inside-path", []craftedEntry{dirE, reg("cifar/../../evil")}, `"cifar/../../evil" escapes`},
		{"parent-dir", []craftedEntry{{name: "../evil/", typ: tar.TypeDir}}, `"../evil/" escapes`},
		{"absolute", []craftedEntry{reg(abs)}, "escapes"},
		{"backslash", []craftedEntry{reg(`..\evil`)}, "escapes"},
		{"symlink-outside", []craftedEntry{dirE, {name: "cifar/link", link: "../../evil", typ: tar.TypeSymlink}}, `"cifar/link" is a symbolic link to "../../evil"`},
		{"symlink-absolute", []craftedEntry{{name: "link", link: base, typ: tar.TypeSymlink}}, "symbolic link to"},
		{"write-through-symlink", []craftedEntry{{name: "d", link: base, typ: tar.TypeSymlink}, reg("d/evil")}, `"d" is a symbolic link`},
		{"hardlink-outside", []craftedEntry{dirE, {name: "cifar/h", link: "../../evil", typ: tar.TypeLink}}, `"cifar/h" is a hard link to "../../evil"`},
		{"hardlink-absolute", []craftedEntry{{name: "h", link: "/etc/passwd", typ: tar.TypeLink}}, `"h" is a hard link to "/etc/passwd"`},
		{"fifo", []craftedEntry{{name: "fifo", typ: tar.TypeFifo}}, `"fifo" has unsupported type`},
		{"device", []craftedEntry{{name: "dev", typ: tar.TypeChar}}, `"dev" has unsupported type`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			work := filepath.Join(base, c.name)
			target := filepath.Join(work, "unpack", "target")
			if err := os.MkdirAll(target, 0o755); err != nil {
				t.Fatal(err)
			}
			before := tree(t, base)
			err := untarGz(bytes.NewReader(craftTarGz(t, c.entries...)), target)
			if err == nil {
				t.Fatalf("accepted; %s holds %v", base, tree(t, base))
			}
			msg := err.Error()
			if !errors.Is(err, ErrFormat) || strings.Contains(msg, "\n") || !strings.Contains(msg, c.want) {
				t.Errorf("error %q: want one ErrFormat line containing %q", msg, c.want)
			}
			// Outside the target nothing changed (the target may hold the
			// directories unpacked before the bad entry).
			var outside, was []string
			for _, p := range tree(t, base) {
				if !strings.HasPrefix(p, filepath.Join(c.name, "unpack", "target")+"/") {
					outside = append(outside, p)
				}
			}
			for _, p := range before {
				if !strings.HasPrefix(p, filepath.Join(c.name, "unpack", "target")+"/") {
					was = append(was, p)
				}
			}
			if strings.Join(outside, ",") != strings.Join(was, ",") {
				t.Errorf("outside the target: %v, was %v", outside, was)
			}
			for _, p := range tree(t, target) {
				if strings.Contains(p, " -> ") || strings.Contains(p, "evil") {
					t.Errorf("the target holds %s", p)
				}
			}
			if _, err := os.Lstat(abs); err == nil {
				t.Errorf("%s was written", abs)
			}
		})
	}
}

// TestUnpackKeepsInside is the control: files and directories inside the
// target, including names that only look like parents, are unpacked.
func TestUnpackKeepsInside(t *testing.T) {
	target := t.TempDir()
	err := untarGz(bytes.NewReader(craftTarGz(t,
		craftedEntry{name: "cifar/", typ: tar.TypeDir},
		craftedEntry{name: "cifar/a.bin", typ: tar.TypeReg, body: "aa"},
		craftedEntry{name: "./cifar/sub/../..b.bin", typ: tar.TypeReg, body: "b"},
	)), target)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(tree(t, target), ",")
	if got != ".,cifar,cifar/..b.bin,cifar/a.bin" {
		t.Fatalf("unpacked %s", got)
	}
	if b, _ := os.ReadFile(filepath.Join(target, "cifar", "a.bin")); string(b) != "aa" {
		t.Fatalf("a.bin holds %q", b)
	}
}

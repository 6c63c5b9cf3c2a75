package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// leftovers returns the names in dir other than want.
func leftovers(t *testing.T, dir string, want ...string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		keep := false
		for _, w := range want {
			keep = keep || e.Name() == w
		}
		if !keep {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.json")
	if err := WriteFile(p, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("second, longer")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "second, longer" {
		t.Fatalf("content %q, %v", b, err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", st.Mode(), err)
	}
	if l := leftovers(t, dir, "a.json"); len(l) > 0 {
		t.Errorf("left behind %v", l)
	}
}

// A failing writer leaves the previous file untouched and no temporary file.
func TestWriteFailureKeepsTarget(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "b.bin")
	if err := WriteFile(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error {
		w.Write([]byte("partial new content"))
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), p) {
		t.Errorf("error %v, want boom with the path", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("target now %q", b)
	}
	if l := leftovers(t, dir, "b.bin"); len(l) > 0 {
		t.Errorf("left behind %v", l)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "c"), nil); err == nil {
		t.Error("no error for a missing directory")
	}
}

// Large content goes through the buffer intact.
func TestWriteLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := WriteFile(p, data); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || len(b) != len(data) || b[len(b)-1] != data[len(data)-1] || b[1<<20] != data[1<<20] {
		t.Fatalf("read back %d bytes, %v", len(b), err)
	}
}

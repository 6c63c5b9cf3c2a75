package ljpeg

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// refLine is one line of testdata/refs.txt (written by testdata/make_refs.py).
type refLine []string

func loadRefs(t testing.TB, kind string) []refLine {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "refs.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []refLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 && fields[0] == kind {
			out = append(out, fields[1:])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no %q lines in refs.txt", kind)
	}
	return out
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func readTestFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readPPM reads a binary P6 file as written by make_refs.py.
func readPPM(t testing.TB, name string) (pix []uint8, w, h int) {
	t.Helper()
	b := readTestFile(t, name)
	var maxv int
	r := bytes.NewReader(b)
	if _, err := fmt.Fscanf(r, "P6\n%d %d\n%d\n", &w, &h, &maxv); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	pix = b[len(b)-r.Len():]
	if len(pix) != w*h*3 || maxv != 255 {
		t.Fatalf("%s: bad PPM", name)
	}
	return pix, w, h
}

func sha256hex(b []uint8) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// readFrost reads an original frost texture from the corrupt package's testdata
// (copies of ../shared/corrupt/frost/frost4.jpg and frost5.jpg).
func readFrost(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "frost", name))
	if err != nil {
		t.Fatalf("frost texture missing: %v (the corrupt package's TestParity writes it with DIVRES_WRITE_PARITY=1)", err)
	}
	return b
}

package progress

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func logger() (*logrus.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	l := logrus.New()
	l.SetOutput(&buf)
	l.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true})
	return l, &buf
}

// In log mode a line comes at every tenth of the work, none at the end (the
// caller's summary follows), and the detail is carried.
func TestLogEveryTenth(t *testing.T) {
	l, buf := logger()
	p := New("work", "img", 100, Options{Mode: Log, Log: l})
	for i := 1; i <= 100; i++ {
		p.UpdateDetail(i, 0, "loss 1")
	}
	p.Finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 9 {
		t.Fatalf("%d log lines, want 9:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "work: 10/100 img (10%") || !strings.Contains(lines[0], "loss 1") {
		t.Errorf("first line %q", lines[0])
	}
	if !strings.Contains(lines[8], "work: 90/100 img (90%") {
		t.Errorf("last line %q", lines[8])
	}
}

// A total of 0 is learnt from the first update; Off reports nothing.
func TestTotalLaterAndOff(t *testing.T) {
	l, buf := logger()
	p := New("files", "file", 0, Options{Mode: Log, Log: l})
	p.Update(1, 0)
	if buf.Len() != 0 {
		t.Fatalf("logged before a total was known: %q", buf.String())
	}
	p.Update(5, 10)
	if !strings.Contains(buf.String(), "files: 5/10 file (50%") {
		t.Fatalf("got %q", buf.String())
	}
	l2, buf2 := logger()
	q := New("quiet", "x", 10, Options{Mode: Off, Log: l2})
	for i := range 10 {
		q.Update(i, 0)
	}
	if buf2.Len() != 0 {
		t.Fatalf("Off logged %q", buf2.String())
	}
	if _, err := ParseMode("sometimes"); err == nil {
		t.Fatal("ParseMode accepted an unknown mode")
	}
}

// A bar writes to its writer, not to the log.
func TestBar(t *testing.T) {
	l, buf := logger()
	var w bytes.Buffer
	p := New("bar", "img", 4, Options{Mode: Bar, Log: l, Writer: &w})
	for i := 1; i <= 4; i++ {
		p.Update(i, 0)
	}
	p.Finish()
	if buf.Len() != 0 || w.Len() == 0 {
		t.Fatalf("log %q, bar output %d bytes", buf.String(), w.Len())
	}
}

// Package progress reports the progress of long work the one way the project does
// it: a bar on stderr when stderr is a terminal, otherwise a log line every 10 % of
// the work (and at least once a minute), since a bar would fill a log file with
// redraws.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sirupsen/logrus"
)

// Mode selects how progress is reported.
type Mode int

const (
	// Auto draws a bar when stderr is a terminal and logs periodic lines otherwise.
	Auto Mode = iota
	// Bar always draws a bar.
	Bar
	// Log always logs periodic lines.
	Log
	// Off reports nothing.
	Off
)

// ParseMode parses auto, bar, log or off.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "auto", "":
		return Auto, nil
	case "bar":
		return Bar, nil
	case "log":
		return Log, nil
	case "off":
		return Off, nil
	}
	return Auto, fmt.Errorf("unknown progress mode %q (want auto, bar, log or off)", s)
}

// throttle is the shortest time between two redraws of a bar.
const throttle = 200 * time.Millisecond

// logEvery is the longest time between two log lines while work goes on.
const logEvery = time.Minute

// Options configure a Reporter; the zero value is Auto mode, logging through the
// standard logrus logger and drawing on stderr.
type Options struct {
	Mode Mode
	// Log receives the log lines (default: the standard logrus logger).
	Log logrus.FieldLogger
	// Writer receives the bar (default: stderr).
	Writer io.Writer
	// Bytes counts the units as bytes (shown as KB, MB, ...).
	Bytes bool
}

// Reporter reports the progress of one piece of work.
type Reporter struct {
	opts        Options
	mode        Mode
	bar         *progressbar.ProgressBar
	label, unit string
	total, next int64
	start, last time.Time
}

// IsTerminal reports whether f is a character device.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// New starts a report of total units of work (0: learn the total from the first
// update).
func New(label, unit string, total int64, o Options) *Reporter {
	mode := o.Mode
	if mode == Auto {
		mode = Log
		if IsTerminal(os.Stderr) {
			mode = Bar
		}
	}
	if o.Log == nil {
		o.Log = logrus.StandardLogger()
	}
	if o.Writer == nil {
		o.Writer = os.Stderr
	}
	now := time.Now()
	p := &Reporter{opts: o, mode: mode, label: label, unit: unit, start: now, last: now}
	p.setTotal(total)
	return p
}

func (p *Reporter) setTotal(total int64) {
	if total <= 0 || total == p.total {
		return
	}
	p.total, p.next = total, max(1, total/10)
	if p.mode == Bar {
		opts := []progressbar.Option{progressbar.OptionSetWriter(p.opts.Writer),
			progressbar.OptionSetDescription(p.label), progressbar.OptionThrottle(throttle),
			progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish()}
		if p.opts.Bytes {
			opts = append(opts, progressbar.OptionShowBytes(true))
		} else {
			opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionShowIts(),
				progressbar.OptionSetItsString(p.unit))
		}
		p.bar = progressbar.NewOptions64(total, opts...)
	}
}

// Update records that done units of total are finished (total 0: unchanged). Its
// signature fits the Progress callbacks of the other packages.
func (p *Reporter) Update(done, total int) { p.Update64(int64(done), int64(total), "") }

// UpdateDetail is Update with a short status (e.g. the running loss) shown beside
// the count.
func (p *Reporter) UpdateDetail(done, total int, detail string) {
	p.Update64(int64(done), int64(total), detail)
}

// Update64 is Update for large counts (bytes), with an optional detail.
func (p *Reporter) Update64(done, total int64, detail string) {
	p.setTotal(total)
	if p.total == 0 || p.mode == Off {
		return
	}
	if p.bar != nil {
		if detail != "" {
			p.bar.Describe(p.label + " " + detail)
		}
		_ = p.bar.Set64(done)
		return
	}
	if done >= p.total || (done < p.next && time.Since(p.last) < logEvery) {
		return
	}
	secs := time.Since(p.start).Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d/%d %s (%.0f%%, %.1fs, %.0f %s/s)", p.label, done, p.total, p.unit,
		100*float64(done)/float64(p.total), secs, float64(done)/max(secs, 1e-9), p.unit)
	if detail != "" {
		b.WriteString(" " + detail)
	}
	p.opts.Log.Info(b.String())
	for p.next <= done {
		p.next += max(1, p.total/10)
	}
	p.last = time.Now()
}

// Finish ends the report (and clears the bar).
func (p *Reporter) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

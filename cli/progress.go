package main

import (
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sirupsen/logrus"
)

// progress reports the progress of a long command: a bar when stderr is a
// terminal, otherwise a log line every 10 % (a bar would fill a log file with
// redraws).
type progress struct {
	bar         *progressbar.ProgressBar
	label, unit string
	total, next int
	start       time.Time
	terminal    bool
}

// newProgress starts a report of total units of work (0: learn the total from
// the first update).
func newProgress(label, unit string, total int) *progress {
	st, err := os.Stderr.Stat()
	p := &progress{label: label, unit: unit, start: time.Now(), terminal: err == nil && st.Mode()&os.ModeCharDevice != 0}
	p.setTotal(total)
	return p
}

func (p *progress) setTotal(total int) {
	if total <= 0 || total == p.total {
		return
	}
	p.total, p.next = total, max(1, total/10)
	if p.terminal {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription(p.label), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(p.unit), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
	}
}

// update records that done units of total are finished.
func (p *progress) update(done, total int) {
	p.setTotal(total)
	if p.total == 0 {
		return
	}
	if p.bar != nil {
		_ = p.bar.Set(done)
		return
	}
	if !p.terminal && done >= p.next && done < p.total {
		secs := time.Since(p.start).Seconds()
		logrus.Infof("%s: %d/%d %s (%.0f%%, %.1fs, %.0f %s/s)", p.label, done, p.total, p.unit,
			100*float64(done)/float64(p.total), secs, float64(done)/secs, p.unit)
		for p.next <= done {
			p.next += max(1, p.total/10)
		}
	}
}

// finish ends the report.
func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

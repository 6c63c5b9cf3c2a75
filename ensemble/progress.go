package ensemble

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/sirupsen/logrus"
)

// ProgressMode selects how training reports progress within an epoch.
type ProgressMode int

const (
	// ProgressAuto draws a bar when stderr is a terminal and logs a line every 10%
	// of an epoch otherwise.
	ProgressAuto ProgressMode = iota
	// ProgressBar always draws a bar on stderr.
	ProgressBar
	// ProgressLog always logs periodic lines.
	ProgressLog
	// ProgressOff reports only the per-epoch summary lines.
	ProgressOff
)

// isTerminal reports whether f is a character device.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// epochProgress reports the progress of one epoch.
type epochProgress struct {
	mode           ProgressMode
	log            logrus.FieldLogger
	bar            *progressbar.ProgressBar
	total, nextLog int
	start          time.Time
	lastLog        time.Time
	label          string
}

func newEpochProgress(mode ProgressMode, log logrus.FieldLogger, w io.Writer, label string, total int) *epochProgress {
	if mode == ProgressAuto {
		mode = ProgressLog
		if isTerminal(os.Stderr) {
			mode = ProgressBar
		}
	}
	p := &epochProgress{mode: mode, log: log, total: total, start: time.Now(), lastLog: time.Now(), label: label,
		nextLog: max(1, total/10)}
	if mode == ProgressBar {
		if w == nil {
			w = os.Stderr
		}
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish(), progressbar.OptionFullWidth())
	}
	return p
}

// update reports done batches with the running loss and accuracy.
func (p *epochProgress) update(done int, loss, acc, imgPerSec float64) {
	switch p.mode {
	case ProgressBar:
		p.bar.Describe(fmt.Sprintf("%s loss %.4f acc %.2f%% %.0f img/s", p.label, loss, 100*acc, imgPerSec))
		_ = p.bar.Set(done)
	case ProgressLog:
		if done >= p.nextLog && done < p.total || time.Since(p.lastLog) > time.Minute {
			p.log.Infof("%s: batch %d/%d loss %.4f acc %.2f%% %.0f img/s", p.label, done, p.total, loss, 100*acc, imgPerSec)
			for p.nextLog <= done {
				p.nextLog += max(1, p.total/10)
			}
			p.lastLog = time.Now()
		}
	}
}

func (p *epochProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

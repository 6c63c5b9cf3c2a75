package ensemble

import (
	"fmt"
	"io"

	"github.com/sirupsen/logrus"

	"github.com/divres/divres/internal/progress"
)

// ProgressMode selects how training reports progress within an epoch.
type ProgressMode = progress.Mode

const (
	// ProgressAuto draws a bar when stderr is a terminal and logs a line every 10%
	// of an epoch otherwise.
	ProgressAuto = progress.Auto
	// ProgressBar always draws a bar on stderr.
	ProgressBar = progress.Bar
	// ProgressLog always logs periodic lines.
	ProgressLog = progress.Log
	// ProgressOff reports only the per-epoch summary lines.
	ProgressOff = progress.Off
)

// epochProgress reports the progress of one epoch through the project's one
// progress reporter, with the running loss, accuracy and speed beside the count.
type epochProgress struct{ r *progress.Reporter }

func newEpochProgress(mode ProgressMode, log logrus.FieldLogger, w io.Writer, label string, total int) *epochProgress {
	return &epochProgress{progress.New(label, "batch", int64(total), progress.Options{Mode: mode, Log: log, Writer: w})}
}

// update reports done batches with the running loss and accuracy.
func (p *epochProgress) update(done int, loss, acc, imgPerSec float64) {
	p.r.UpdateDetail(done, 0, fmt.Sprintf("loss %.4f acc %.2f%% %.0f img/s", loss, 100*acc, imgPerSec))
}

func (p *epochProgress) finish() { p.r.Finish() }

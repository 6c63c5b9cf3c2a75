package study

import (
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
)

// tracker is the study's one progress view: which stage of how many runs, which
// cell of the stage, and the estimated time to the end of the stage (from the
// mean time of the cells finished so far in this run).
type tracker struct {
	stage, stages int
	name          string
	start         time.Time
	// done counts the cells finished in this run and spent their time, for the
	// estimate; cells found finished on disk take no time and are not counted.
	done  int
	spent time.Duration
	cur   time.Time
}

// beginStage starts the view of stage s, the k-th of n stages to run.
func (r *Run) beginStage(s Stage, k, n int) {
	r.track = &tracker{stage: k, stages: n, name: fmt.Sprintf("%d %s", s.Number, s.Name), start: time.Now()}
}

// cell reports that cell i (1-based) of n of the current stage, named what,
// starts; the previous cell, if any, ended now.
func (r *Run) cell(i, n int, what string) {
	t := r.track
	if t == nil {
		return
	}
	now := time.Now()
	if !t.cur.IsZero() {
		t.done++
		t.spent += now.Sub(t.cur)
	}
	t.cur = now
	eta := "ETA –"
	if t.done > 0 && n >= i {
		left := time.Duration(float64(t.spent) / float64(t.done) * float64(n-i+1))
		eta = "stage ETA " + left.Round(time.Second).String()
	}
	logrus.Infof("study [stage %d/%d: %s] cell %d/%d %s (stage %s, %s)", t.stage, t.stages, t.name, i, n, what,
		now.Sub(t.start).Round(time.Second), eta)
}

// skipped reports that the cell that started last was found finished on disk,
// so that it does not count in the estimate.
func (r *Run) skipped() {
	if r.track != nil {
		r.track.cur = time.Time{}
	}
}

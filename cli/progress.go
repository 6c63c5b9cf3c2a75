package main

import "github.com/divres/divres/internal/progress"

// newProgress starts a progress report of total units of work (0: learn the total
// from the first update) in the mode the terminal calls for (see internal/progress).
func newProgress(label, unit string, total int) *progress.Reporter {
	return progress.New(label, unit, int64(total), progress.Options{})
}

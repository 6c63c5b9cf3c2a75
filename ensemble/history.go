package ensemble

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"path/filepath"
	"strconv"

	"github.com/divres/divres/internal/atomicfile"
)

// EpochStats summarises one training epoch.
type EpochStats struct {
	Epoch int `json:"epoch"` // 1-based
	// Step is the number of optimizer steps taken by the end of the epoch.
	Step int     `json:"step"`
	LR   float64 `json:"lr"` // learning rate of the epoch's last step
	// TrainLoss and TrainAccuracy are averaged over the epoch's batches, measured
	// in training mode while the weights changed.
	TrainLoss     float64 `json:"train_loss"`
	TrainAccuracy float64 `json:"train_accuracy"`
	// ValLoss (cross-entropy without label smoothing) and ValAccuracy are measured
	// after the epoch in evaluation mode; absent without a validation set.
	ValLoss     *float64 `json:"val_loss,omitempty"`
	ValAccuracy *float64 `json:"val_accuracy,omitempty"`
	// Seconds is the epoch's wall time (training and validation); ImagesPerSec
	// the training throughput.
	Seconds      float64 `json:"seconds"`
	ImagesPerSec float64 `json:"images_per_sec"`
	// SkippedSteps counts fp16 steps skipped for non-finite gradients; LossScale
	// is the scale at the end of the epoch (fp16 only).
	SkippedSteps int     `json:"skipped_steps,omitempty"`
	LossScale    float64 `json:"loss_scale,omitempty"`
}

// writeHistory writes history.json and history.csv to dir, atomically.
func writeHistory(dir string, h []EpochStats) error {
	if h == nil {
		h = []EpochStats{}
	}
	js, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return f(*v)
	}
	_ = w.Write([]string{"epoch", "step", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds", "images_per_sec"})
	for _, e := range h {
		_ = w.Write([]string{strconv.Itoa(e.Epoch), strconv.Itoa(e.Step), f(e.LR), f(e.TrainLoss), f(e.TrainAccuracy),
			opt(e.ValLoss), opt(e.ValAccuracy), f(e.Seconds), f(e.ImagesPerSec)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if err := writeBytes(filepath.Join(dir, HistoryCSV), buf.Bytes()); err != nil {
		return err
	}
	return writeBytes(filepath.Join(dir, HistoryFile), append(js, '\n'))
}

// writeBytes writes a file atomically.
func writeBytes(path string, b []byte) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

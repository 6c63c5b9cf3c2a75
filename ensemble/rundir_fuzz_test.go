package ensemble

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// safetensorsWith is a safetensors file of one 1-element float32 tensor with the
// given metadata.
func safetensorsWith(t testing.TB, md map[string]string) []byte {
	h, err := json.Marshal(map[string]any{"__metadata__": md,
		"w": map[string]any{"dtype": "F32", "shape": []int{1}, "data_offsets": []int{0, 4}}})
	if err != nil {
		t.Fatal(err)
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(b, h...), 0, 0, 0x80, 0x3f)
}

// FuzzRunDir: a run directory whose model.safetensors and train_state.safetensors
// are arbitrary gives metadata that describes a buildable input (one
// normalisation constant per channel, a known fit) and a readable training
// configuration, or a one-line error naming the file; never a panic. Run longer
// with
//
//	go test ./ensemble -run '^$' -fuzz '^FuzzRunDir$' -fuzztime 60s
func FuzzRunDir(f *testing.F) {
	meta := Meta{Model: "lenet", Arch: "lenet", Style: "cifar", Width: 0.5, Classes: 10,
		ClassNames: []string{"a", "b"}, InChannels: 1, InputSize: 32, Fit: "pad", Mean: []float32{0.5},
		Std: []float32{0.25}, Dataset: "fashion-mnist", Epoch: 1, Epochs: 2, Params: 100}
	model := safetensorsWith(f, meta.Strings())
	cfg, err := json.Marshal(TrainConfig{Arch: "lenet", Epochs: 2})
	if err != nil {
		f.Fatal(err)
	}
	state := safetensorsWith(f, map[string]string{"format": stateFormat, "config": string(cfg), "state": `{}`})
	f.Add(model, state)
	f.Add(model[:len(model)/2], state[:20])
	bad := meta.Strings()
	bad["norm_mean"], bad["classes"], bad["width"] = "[1, 2]", "ten", "x"
	f.Add(safetensorsWith(f, bad), safetensorsWith(f, map[string]string{"format": stateFormat, "config": "{", "state": "["}))
	bad = meta.Strings()
	bad["fit"], bad["in_channels"] = "squash", "-3"
	f.Add(safetensorsWith(f, bad), safetensorsWith(f, map[string]string{"format": "other"}))
	f.Add(safetensorsWith(f, map[string]string{"format": modelFormat}), []byte{})
	f.Fuzz(func(t *testing.T, model, state []byte) {
		dir := t.TempDir()
		mp, sp := filepath.Join(dir, ModelFile), filepath.Join(dir, TrainStateFile)
		if err := os.WriteFile(mp, model, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(sp, state, 0o644); err != nil {
			t.Fatal(err)
		}
		m, path, err := ReadMeta(dir)
		if path != mp {
			t.Fatalf("run directory resolved to %s, want %s", path, mp)
		}
		if err != nil {
			namedLine(t, err, mp)
		} else {
			if len(m.Mean) != m.InChannels || len(m.Std) != m.InChannels {
				t.Fatalf("accepted %d/%d normalisation constants for %d channels", len(m.Mean), len(m.Std), m.InChannels)
			}
			if in, err := m.Input(); err != nil {
				oneLine(t, err)
			} else if in.Channels != m.InChannels || in.Size != m.InputSize {
				t.Fatalf("input %+v from %+v", in, m)
			}
			m.NetConfig()
		}
		if _, _, err := readStateInfo(sp); err != nil {
			namedLine(t, err, sp)
		}
	})
}

// oneLine fails unless err is a non-empty one-line message.
func oneLine(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
}

// namedLine fails unless err is one line naming path.
func namedLine(t *testing.T, err error, path string) {
	t.Helper()
	oneLine(t, err)
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error does not name %s: %v", path, err)
	}
}

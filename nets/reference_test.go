package nets

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divres/divres/torch"
)

// The reference facts in ../shared/nets were measured with torch 1.13.1 and
// torchvision 0.14.1 (num_classes=10): parameter counts and ordered state_dict rows.
var sharedNets = filepath.Join("..", "..", "shared", "nets")

type refArch struct {
	TotalParams int64   `json:"total_params"`
	StateDict   [][]any `json:"state_dict"`
}

func loadRefs(t *testing.T, file string) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedNets, file))
	if err != nil {
		t.Skipf("reference facts not available: %v", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

type sdRow struct {
	name   string
	shape  []int64
	buffer bool
}

func refRows(t *testing.T, rows [][]any) []sdRow {
	out := make([]sdRow, len(rows))
	for i, r := range rows {
		out[i].name = r[0].(string)
		for _, d := range r[1].([]any) {
			out[i].shape = append(out[i].shape, int64(d.(float64)))
		}
		out[i].buffer = r[len(r)-1].(string) == "buffer"
	}
	return out
}

func ourRows(n *Net) []sdRow {
	var out []sdRow
	for _, v := range n.Store.Vars() {
		out = append(out, sdRow{v.Name, v.T.Shape(), v.Buffer})
	}
	return out
}

// compareRows reports the first differences between two ordered state_dicts.
func compareRows(got, want []sdRow) []string {
	var diffs []string
	for i := 0; i < max(len(got), len(want)) && len(diffs) < 5; i++ {
		switch {
		case i >= len(got):
			diffs = append(diffs, fmt.Sprintf("missing %s %v", want[i].name, want[i].shape))
		case i >= len(want):
			diffs = append(diffs, fmt.Sprintf("extra %s %v", got[i].name, got[i].shape))
		case got[i].name != want[i].name || fmt.Sprint(got[i].shape) != fmt.Sprint(want[i].shape) || got[i].buffer != want[i].buffer:
			diffs = append(diffs, fmt.Sprintf("#%d: %s %v (buffer %v), want %s %v (buffer %v)", i, got[i].name, got[i].shape,
				got[i].buffer, want[i].name, want[i].shape, want[i].buffer))
		}
	}
	return diffs
}

func checkAgainst(t *testing.T, file string, style Style, nameOf func(string) string) {
	refs := loadRefs(t, file)
	checked := 0
	for key, raw := range refs {
		if strings.HasPrefix(key, "_") {
			continue
		}
		name := nameOf(key)
		spec, err := Lookup(name)
		if err != nil || !spec.Supports(style) {
			t.Logf("%s (%s): not registered in the %s style", key, name, style)
			continue
		}
		var ref refArch
		if err := json.Unmarshal(raw, &ref); err != nil {
			t.Fatal(err)
		}
		n, err := NewUninitialized(name, Config{Style: style, Classes: 10}, torch.CPU)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := n.Store.NumParams(); got != ref.TotalParams {
			t.Errorf("%s/%s: %d parameters, reference %d", name, style, got, ref.TotalParams)
		}
		if len(ref.StateDict) > 0 {
			if d := compareRows(ourRows(n), refRows(t, ref.StateDict)); len(d) > 0 {
				t.Errorf("%s/%s: state_dict differs:\n  %s", name, style, strings.Join(d, "\n  "))
			}
		}
		n.Close()
		checked++
	}
	t.Logf("%d architectures checked against %s", checked, file)
}

func TestTorchvisionReference(t *testing.T) {
	checkAgainst(t, "torchvision_arch.json", ImageNet, func(k string) string { return k })
}

func TestHuyvnphanReference(t *testing.T) {
	checkAgainst(t, "cifar_huyvnphan_arch.json", CIFAR, func(k string) string { return k })
}

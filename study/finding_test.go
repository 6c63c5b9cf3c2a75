package study

import (
	"math"
	"testing"
)

// A finding's verdict follows its primary cell; cells another stage adds are
// merged after the stating stage's, judged but without a verdict of their own.
func TestFindingsMerge(t *testing.T) {
	dir := t.TempDir()
	cfg := Default()
	above := Claim{Statement: "x above 0"}
	nas := Finding{Number: 2, Stage: 3, Primary: -1, Cells: []Cell{{Name: "nas", Estimate: Interval{Value: 0.2, Low: 0.1, High: 0.3}, Claim: above}}}
	two := Finding{Number: 2, Stage: 2, Title: "two", Primary: 1, Cells: []Cell{
		{Name: "a", Estimate: Interval{Value: 0.5, Low: 0.2, High: 0.8}, Claim: above},
		{Name: "b", Estimate: Interval{Value: 0.1, Low: -0.1, High: 0.3}, Claim: above},
	}}
	one := Finding{Number: 1, Stage: 1, Cells: []Cell{{Name: "c", Estimate: Interval{Value: -0.5, Low: -0.7, High: -0.2}, Claim: above}}}
	four := Finding{Number: 4, Stage: 4, Cells: []Cell{{Name: "d", Estimate: Interval{Value: 1, Low: math.NaN(), High: math.NaN()}, Claim: above}}}
	for _, f := range []Finding{nas, two, one, four} {
		if err := writeFinding(dir, cfg, f); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := ReadFindings(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 3 || fs[0].Number != 1 || fs[1].Number != 2 || fs[2].Number != 4 {
		t.Fatalf("findings %+v, want 1, 2, 4", fs)
	}
	if fs[0].Verdict != Contradicted || fs[0].Settle != "" {
		t.Errorf("finding 1: %q, want contradicted", fs[0].Verdict)
	}
	f2 := fs[1]
	if len(f2.Cells) != 3 || f2.Cells[2].Name != "nas" || f2.Title != "two" {
		t.Fatalf("finding 2 merged as %+v", f2)
	}
	if f2.Verdict != Inconclusive || f2.Settle == "" || f2.Cells[0].Verdict != Supported || f2.Cells[2].Verdict != Supported {
		t.Errorf("finding 2: verdict %q (settle %q), cells %q %q; want the primary's (inconclusive) and each cell judged",
			f2.Verdict, f2.Settle, f2.Cells[0].Verdict, f2.Cells[2].Verdict)
	}
	if fs[2].Verdict != Inconclusive || !math.IsNaN(fs[2].Cells[0].Estimate.Low) {
		t.Errorf("finding 4 with an undefined interval: %+v", fs[2])
	}
}

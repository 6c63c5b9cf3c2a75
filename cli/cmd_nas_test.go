package main

import "testing"

func TestNASParseStages(t *testing.T) {
	st, err := nasParseStages("depth:2:0.01, width:3:0.005,full:1:0.1")
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 3 || !st[0].Depth || st[0].Width || !st[1].Depth || !st[1].Width || st[1].Epochs != 3 || st[1].LR != 0.005 || st[2].Depth || st[2].Width {
		t.Fatalf("stages %+v", st)
	}
	for _, bad := range []string{"depth:2", "kernel:1:0.1", "depth:x:0.1", "width:1:lr"} {
		if _, err := nasParseStages(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

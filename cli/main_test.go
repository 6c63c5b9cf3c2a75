package main

import "testing"

func TestNeedsOpenMPPolicy(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	cases := []struct {
		args []string
		want bool
	}{
		{[]string{"train", "--arch", "lenet"}, true},
		{[]string{"--log-level", "debug", "eval", "--model", "m"}, true},
		{[]string{"--log-level", "debug", "corrupt", "--in", "x.npy"}, false},
		{[]string{"plot", "--results", "r"}, false},
		{[]string{"train", "--help"}, false},
		{[]string{"train", "--threads", "1"}, false},
		{[]string{"train", "--threads=1"}, false},
		{[]string{"train", "--threads", "2"}, true},
		{[]string{}, false},
	}
	for _, c := range cases {
		if got := needsOpenMPPolicy(c.args, getenv); got != c.want {
			t.Errorf("%v: got %v, want %v", c.args, got, c.want)
		}
	}
	env["OMP_NUM_THREADS"] = "1"
	if needsOpenMPPolicy([]string{"train"}, getenv) {
		t.Error("OMP_NUM_THREADS=1 still re-executes")
	}
	env["DIVRES_THREADS"] = "2"
	if !needsOpenMPPolicy([]string{"train"}, getenv) {
		t.Error("DIVRES_THREADS=2 overrides OMP_NUM_THREADS=1 but no re-exec")
	}
}

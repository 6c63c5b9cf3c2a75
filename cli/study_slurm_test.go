package main

// The study on a real Slurm: Debian's slurm-wlm and munge (build.sh installs
// them), with munged, slurmctld and slurmd started on this machine for the test
// and stopped after it. Nothing here is a mock: divres submits with sbatch and
// reads squeue and scontrol like on a cluster.

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/divres/divres/data"
	"github.com/divres/divres/study"
)

// slurmCluster is a one-node Slurm cluster on localhost.
type slurmCluster struct {
	dir, conf string
	procs     []*exec.Cmd
}

// tail is the end of a log file, for the failure messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startSlurm starts munged, slurmctld and slurmd in a temporary directory and
// waits for the node to be idle; the test fails, with the daemons' log tails,
// when they cannot start.
func startSlurm(t *testing.T) *slurmCluster {
	for _, b := range []string{"mungekey", "munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol", "sinfo"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Fatalf("%s is not installed (build.sh installs slurm-wlm and munge): %v", b, err)
		}
	}
	if os.Getuid() != 0 {
		t.Fatal("the Slurm test starts slurmd, which runs jobs as their users: it needs root")
	}
	// A short path: munge's socket path must fit a Unix socket address.
	dir, err := os.MkdirTemp("", "divres-slurm")
	if err != nil {
		t.Fatal(err)
	}
	sc := &slurmCluster{dir: dir, conf: filepath.Join(dir, "slurm.conf")}
	t.Cleanup(func() { sc.stop(t) })
	for _, d := range []string{"key", "run", "spool", "state", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// munged wants its key private and every directory above its socket open.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "key"), 0o700); err != nil {
		t.Fatal(err)
	}
	key, socket := filepath.Join(dir, "key", "munge.key"), filepath.Join(dir, "run", "munge.socket")
	if out, err := exec.Command("mungekey", "--create", "--keyfile", key).CombinedOutput(); err != nil {
		t.Fatalf("mungekey: %v: %s", err, out)
	}
	// slurmctld must find its host in SlurmctldHost (by the short name); the
	// node is named on slurmd's command line.
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ = strings.Cut(host, ".")
	conf := fmt.Sprintf(`ClusterName=divrestest
SlurmctldHost=%[1]s(127.0.0.1)
SlurmctldPort=%[3]d
SlurmdPort=%[4]d
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=%[5]s
CredType=cred/munge
StateSaveLocation=%[2]s/state
SlurmdSpoolDir=%[2]s/spool
SlurmctldPidFile=%[2]s/slurmctld.pid
SlurmdPidFile=%[2]s/slurmd.pid
SlurmctldLogFile=%[2]s/log/slurmctld.log
SlurmdLogFile=%[2]s/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
MinJobAge=600
SlurmdParameters=config_overrides
NodeName=divres0 NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
`, host, dir, freePort(t), freePort(t), socket)
	if err := os.WriteFile(sc.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLURM_CONF", sc.conf)
	start := func(log string, name string, args ...string) {
		f, err := os.Create(filepath.Join(dir, "log", log))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(name, args...)
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		f.Close()
		sc.procs = append(sc.procs, cmd)
	}
	start("munged.out", "munged", "--foreground", "--key-file", key, "--socket", socket,
		"--pid-file", filepath.Join(dir, "run", "munged.pid"), "--log-file", filepath.Join(dir, "log", "munged.log"),
		"--seed-file", filepath.Join(dir, "key", "munged.seed"))
	for i := 0; ; i++ {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		if i == 100 {
			t.Fatalf("munged did not start:\n%s\n%s", tail(filepath.Join(dir, "log", "munged.out")), tail(filepath.Join(dir, "log", "munged.log")))
		}
		time.Sleep(100 * time.Millisecond)
	}
	start("slurmctld.out", "slurmctld", "-D", "-i", "-f", sc.conf)
	start("slurmd.out", "slurmd", "-D", "-N", "divres0", "-f", sc.conf)
	deadline := time.Now().Add(40 * time.Second)
	for {
		out, err := exec.Command("sinfo", "--noheader", "--format=%T").CombinedOutput()
		if err == nil && strings.TrimSpace(string(out)) == "idle" {
			return sc
		}
		if time.Now().After(deadline) {
			var logs []string
			for _, l := range []string{"slurmctld.out", "slurmctld.log", "slurmd.out", "slurmd.log"} {
				logs = append(logs, "== "+l+"\n"+tail(filepath.Join(dir, "log", l)))
			}
			t.Fatalf("the Slurm node is not idle after 40 s (sinfo: %q, %v):\n%s", out, err, strings.Join(logs, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (sc *slurmCluster) stop(t *testing.T) {
	exec.Command("scancel", "--me").Run()
	for i := len(sc.procs) - 1; i >= 0; i-- {
		p := sc.procs[i]
		p.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(sc.dir)
}

// queue is squeue's tasks of this user: job_task → state.
func queue(t *testing.T) map[string]string {
	out, err := exec.Command("squeue", "--me", "--noheader", "--array", "--format=%i|%T").CombinedOutput()
	if err != nil {
		t.Fatalf("squeue: %v: %s", err, out)
	}
	q := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if id, st, ok := strings.Cut(line, "|"); ok {
			q[id] = st
		}
	}
	return q
}

// cellStates parses divres study --status: cell → state.
func cellStates(t *testing.T, run string) (map[string]string, string) {
	out, err := runDivres(t, "study", "--out", run, "--status")
	if err != nil {
		t.Fatalf("--status: %v\n%s", err, out)
	}
	states := map[string]string{}
	for _, line := range strings.Split(out, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.Contains(f[0], "/") {
			st := f[1]
			if st == "not" {
				st = "not submitted"
			}
			states[f[0]] = st
		}
	}
	return states, out
}

// waitStates polls --status until ok accepts the states or 90 s pass.
func waitStates(t *testing.T, run, what string, ok func(map[string]string) bool) map[string]string {
	deadline := time.Now().Add(90 * time.Second)
	for {
		states, out := cellStates(t, run)
		if ok(states) {
			return states
		}
		if time.Now().After(deadline) {
			logs, _ := filepath.Glob(filepath.Join(run, "slurm", "logs", "*"))
			var tails []string
			for _, l := range logs {
				tails = append(tails, "== "+l+"\n"+tail(l))
			}
			t.Fatalf("waiting for %s: after 90 s the status is\n%s\n%s", what, out, strings.Join(tails, "\n"))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// slurmResults are the result files of a run that must not depend on where it
// ran: the evaluations, per-image outcomes, statistics and trained weights.
func slurmResults(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		top, _, _ := strings.Cut(rel, string(filepath.Separator))
		if strings.HasSuffix(rel, "model.safetensors") || (strings.HasSuffix(rel, ".json") && (top == "eval" || top == "seeds" || top == "stats")) {
			b, err := os.ReadFile(path)
			out[rel] = string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStudySlurm submits a tiny study to a real Slurm with --slurm, kills one
// running cell's job (scancel): --status shows it failed and the collecting
// cell blocked behind it; --retry-failed finishes the study, and its result
// files equal those of a local run.
func TestStudySlurm(t *testing.T) {
	if _, err := os.Stat(filepath.Join(data.FashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Fatal("Fashion-MNIST is not installed (build.sh installs dataset-fashion-mnist)")
	}
	startSlurm(t)
	// The jobs run this test binary as divres (see TestMain).
	t.Setenv("DIVRES_HARNESS_CHILD", "1")
	dir := t.TempDir()
	cfg := study.Default()
	// Training cells long enough (a few seconds) to be caught running: a cell
	// that ends within the moment between scancel's SIGCONT and SIGTERM would
	// finish instead of failing.
	cfg.PerClass, cfg.TestSubset, cfg.Epochs, cfg.Batch = 200, 20, 3, 20
	cfg.Baseline = "lenet"
	cfg.Models = []study.Model{{Arch: "lenet", Width: 0.5}, {Arch: "lenet", Width: 1}}
	cfg.Corruptions, cfg.Severities = []string{"contrast"}, []int{2}
	cfg.Seeds, cfg.Bootstrap = 2, 50
	js, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(dir, "study.json")
	if err := os.WriteFile(cfgPath, js, 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"--config", cfgPath, "--device", "cpu", "--threads", "1", "--stages", "1"}
	local, run := filepath.Join(dir, "local"), filepath.Join(dir, "slurm run")
	if out, err := runDivres(t, append([]string{"study", "--out", local}, common...)...); err != nil {
		t.Fatalf("local run: %v\n%s", err, out)
	}
	if out, err := runDivres(t, append([]string{"study", "--out", run, "--slurm"}, common...)...); err != nil || !strings.Contains(out, "job ") {
		t.Fatalf("--slurm: %v\n%s", err, out)
	}
	var jobs struct {
		Jobs []study.SlurmJob `json:"jobs"`
	}
	if err := json.Unmarshal(readTestFile(t, filepath.Join(run, "slurm", "jobs.json")), &jobs); err != nil {
		t.Fatal(err)
	}
	if len(jobs.Jobs) != 2 || len(jobs.Jobs[0].Cells) != 4 || jobs.Jobs[1].Cells[0] != "1/individual" ||
		jobs.Jobs[1].Dependency != "afterok:"+jobs.Jobs[0].ID {
		t.Fatalf("jobs %+v: want a 4-task training array and the collecting cell after it", jobs.Jobs)
	}

	// Kill a training cell while it runs: suspend its job (SIGSTOP), check that
	// the cell has not finished (else try another), then cancel it.
	train := jobs.Jobs[0]
	killed := ""
	tried := map[string]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for killed == "" {
		if time.Now().After(deadline) || len(tried) == len(train.Cells) {
			t.Fatalf("no training cell could be caught running in 60 s (tried %v)", tried)
		}
		q := queue(t)
		for i, c := range train.Cells {
			task := fmt.Sprintf("%s_%d", train.ID, train.Tasks[i])
			if q[task] != "RUNNING" || tried[c] {
				continue
			}
			tried[c] = true
			out, err := exec.Command("scontrol", "suspend", task).CombinedOutput()
			if err != nil {
				continue // it ended meanwhile
			}
			// slurmd delivers SIGSTOP after scontrol returns: give it time to
			// land, so that a cell found unfinished now cannot finish later.
			time.Sleep(500 * time.Millisecond)
			if states, _ := cellStates(t, run); states[c] == "done" {
				t.Logf("%s finished before it was suspended (%s); trying another", c, out)
				exec.Command("scontrol", "resume", task).Run()
				continue
			}
			if out, err := exec.Command("scancel", task).CombinedOutput(); err != nil {
				t.Fatalf("scancel %s: %v: %s", task, err, out)
			}
			killed = c
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	states := waitStates(t, run, "the killed cell to fail", func(s map[string]string) bool {
		for _, st := range s {
			if st == "running" || st == "queued" {
				return false
			}
		}
		return s[killed] != "running"
	})
	if states[killed] == "done" {
		t.Fatalf("%s finished before scancel could kill it; states %v", killed, states)
	}
	if states[killed] != "failed" || states["1/individual"] != "blocked" || states["2/ensembles"] != "not submitted" {
		t.Fatalf("after killing %s: states %v, want it failed and 1/individual blocked", killed, states)
	}
	if _, out := cellStates(t, run); !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(killed) + `\s+failed\s+\S+\s+CANCELLED`).MatchString(out) {
		t.Errorf("--status does not show %s cancelled:\n%s", killed, out)
	}

	if out, err := runDivres(t, "study", "--out", run, "--retry-failed", "--stages", "1"); err != nil || !strings.Contains(out, "job ") {
		t.Fatalf("--retry-failed: %v\n%s", err, out)
	}
	waitStates(t, run, "the retried study to finish", func(s map[string]string) bool {
		for c, st := range s {
			if strings.HasPrefix(c, "1/") && st != "done" {
				return false
			}
		}
		return true
	})
	jobs.Jobs = nil
	if err := json.Unmarshal(readTestFile(t, filepath.Join(run, "slurm", "jobs.json")), &jobs); err != nil {
		t.Fatal(err)
	}
	if n := len(jobs.Jobs); n != 4 || strings.Join(jobs.Jobs[n-1].Args, " ") != "--device cpu --threads 1" ||
		jobs.Jobs[2].Cells[0] != killed {
		t.Errorf("after the retry, jobs %+v: want the killed cell and the collecting cell again, with the options of the first submission", jobs.Jobs)
	}
	a, b := slurmResults(t, local), slurmResults(t, run)
	if len(a) < 12 {
		t.Fatalf("the local run has %d result files", len(a))
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s differs between the local and the Slurm run", k)
		}
	}
	if len(a) != len(b) {
		t.Errorf("%d result files locally, %d under Slurm", len(a), len(b))
	}
}

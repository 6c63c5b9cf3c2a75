// Command divres trains diverse image classifiers and ensembles, corrupts images the
// way CIFAR-10-C does, measures resiliency and diversity, and draws the figures of a
// design-diversity study.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/internal/torchblas"
)

// profileFile is the open --cpuprofile file, nil without the flag.
var profileFile *os.File

// commands holds the subcommands; each cmd_*.go file adds its own in an init function.
var commands []*cli.Command

func addCommand(c *cli.Command) { commands = append(commands, c) }

func newApp() *cli.App {
	sort.Slice(commands, func(i, j int) bool { return commands[i].Name < commands[j].Name })
	return &cli.App{
		Name:  "divres",
		Usage: "design diversity for resilient image classifiers",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log level: debug, info, warn, error"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a Go CPU profile of the whole command to `FILE` (go tool pprof; libtorch's own threads show as cgo calls)"},
		},
		Before: func(c *cli.Context) error {
			if c.String("log-format") == "json" {
				logrus.SetFormatter(&logrus.JSONFormatter{})
			} else {
				logrus.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
			}
			lvl, err := logrus.ParseLevel(c.String("log-level"))
			if err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			logrus.SetLevel(lvl)
			if p := c.String("cpuprofile"); p != "" {
				f, err := os.Create(p)
				if err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					f.Close()
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				profileFile = f
			}
			return nil
		},
		After: func(*cli.Context) error {
			if profileFile == nil {
				return nil
			}
			pprof.StopCPUProfile()
			return profileFile.Close()
		},
		Commands: commands,
	}
}

// ensureOpenMPPolicy re-executes the program with GOMP_SPINCOUNT=10000 when the
// user has set neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT. libgomp reads them once,
// when libtorch is loaded (before main runs). Its default spins idle threads for
// about 300,000 iterations: on few cores shared with other work they then compete
// with the working threads and steps become erratic and several times slower; with
// OMP_WAIT_POLICY=PASSIVE they sleep at once, and waking them costs up to 2.3× on
// small batches of small convolutional nets. A short spin keeps back-to-back
// operations fast and yields the CPU soon after (README, Threads).
// The re-exec loads libtorch and its ~290 shared libraries a second time (0.6 s on
// a 2-core machine), so it is skipped where no OpenMP team runs: commands that do
// no libtorch work, help, and one intra-op thread. DIVRES_NO_REEXEC=1 turns it off.
func ensureOpenMPPolicy() {
	if os.Getenv("OMP_WAIT_POLICY") != "" || os.Getenv("GOMP_SPINCOUNT") != "" || os.Getenv("DIVRES_NO_REEXEC") != "" {
		return
	}
	if runtime.NumCPU() == 1 || !needsOpenMPPolicy(os.Args[1:], os.Getenv) {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	env := append(os.Environ(), "GOMP_SPINCOUNT=10000", "DIVRES_NO_REEXEC=1")
	if err := syscall.Exec(exe, os.Args, env); err != nil {
		logrus.Debugf("re-exec with GOMP_SPINCOUNT=10000 failed: %v", err)
	}
}

// noTorchWork are the commands that never run libtorch operators.
var noTorchWork = map[string]bool{"corrupt": true, "data": true, "plot": true, "correlate": true, "version": true, "help": true}

// needsOpenMPPolicy reports whether the command line args (without the program
// name) may run libtorch operators on more than one OpenMP thread.
func needsOpenMPPolicy(args []string, getenv func(string) string) bool {
	if getenv("DIVRES_THREADS") == "1" || (getenv("DIVRES_THREADS") == "" && getenv("OMP_NUM_THREADS") == "1") {
		return false
	}
	command := ""
	for i, a := range args {
		switch {
		case a == "--help" || a == "-h" || a == "--threads=1":
			return false
		case a == "--threads" && i+1 < len(args) && args[i+1] == "1":
			return false
		case command == "" && !strings.HasPrefix(a, "-") && (i == 0 || !strings.HasPrefix(args[i-1], "--log-")):
			command = a
		}
	}
	return command != "" && !noTorchWork[command]
}

func main() {
	ensureOpenMPPolicy()
	torchblas.Use()
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "divres:", err)
		os.Exit(1)
	}
}

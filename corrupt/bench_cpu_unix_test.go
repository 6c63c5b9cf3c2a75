//go:build unix

package corrupt

import "syscall"

// processCPUSeconds returns the user+system CPU time of the process so far, so that
// benchmarks can report throughput per CPU second, which stays meaningful on a busy
// machine where wall-clock time does not.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

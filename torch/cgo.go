package torch

// The shim is built by build.sh into build/shim at the top of the checkout; its run
// path is recorded so that go build, go test and go run need no environment.

// #cgo CFLAGS: -I${SRCDIR}/shim
// #cgo LDFLAGS: -L${SRCDIR}/../build/shim -ldivres_torch -Wl,-rpath,${SRCDIR}/../build/shim
// #include "shim/shim.h"
import "C"

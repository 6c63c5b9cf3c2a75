package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/divres/divres/ensemble"
	"github.com/divres/divres/torch"
	"github.com/urfave/cli/v2"
)

// allowNonFiniteFlag is the --allow-nonfinite flag of the commands that refuse
// checkpoints holding NaN or Inf; what says what the command does anyway.
func allowNonFiniteFlag(what string) *cli.BoolFlag {
	return &cli.BoolFlag{Name: "allow-nonfinite", Usage: what + " even when the checkpoint holds NaN or Inf weights"}
}

// nonFiniteWeights counts the floating-point tensors of a safetensors file that
// hold a NaN or an infinite value, and the elements that do, reading the data in
// chunks. A header that does not parse gives ok = false: the loader that
// follows reports it.
func nonFiniteWeights(path string) (tensors, floats int, elems int64, ok bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, false, nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return 0, 0, 0, false, nil
	}
	h, err := torch.ReadSafetensorsHeader(bufio.NewReader(f), st.Size())
	if err != nil {
		return 0, 0, 0, false, nil
	}
	buf := make([]byte, 1<<20)
	for _, e := range h.Entries {
		var size int64
		var bad func(b []byte) bool
		switch e.DType {
		case torch.Float32:
			size, bad = 4, func(b []byte) bool { return binary.LittleEndian.Uint32(b)&0x7f800000 == 0x7f800000 }
		case torch.Float64:
			size, bad = 8, func(b []byte) bool { return binary.LittleEndian.Uint64(b)&0x7ff0000000000000 == 0x7ff0000000000000 }
		case torch.Float16:
			size, bad = 2, func(b []byte) bool { return binary.LittleEndian.Uint16(b)&0x7c00 == 0x7c00 }
		case torch.BFloat16:
			size, bad = 2, func(b []byte) bool { return binary.LittleEndian.Uint16(b)&0x7f80 == 0x7f80 }
		default:
			continue
		}
		floats++
		r := io.NewSectionReader(f, h.DataOffset+e.Begin, e.End-e.Begin)
		var n int64
		for {
			k, rerr := io.ReadFull(r, buf[:len(buf)/int(size)*int(size)])
			for i := 0; i+int(size) <= k; i += int(size) {
				if bad(buf[i:]) {
					n++
				}
			}
			if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
				break
			}
			if rerr != nil {
				return 0, 0, 0, false, fmt.Errorf("read %s: %w", path, rerr)
			}
		}
		if n > 0 {
			tensors++
			elems += n
		}
	}
	return tensors, floats, elems, true, nil
}

// checkFiniteWeights refuses the checkpoint at path (a file or a run directory)
// when it holds NaN or Inf weights, unless allow; what names the action for
// the message (e.g. "evaluates").
func checkFiniteWeights(path string, allow bool, what string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, ensemble.ModelFile)
	}
	if allow {
		return nil
	}
	tensors, floats, elems, ok, err := nonFiniteWeights(path)
	if err != nil || !ok || tensors == 0 {
		return err
	}
	return fmt.Errorf("%s: %d of %d weight tensors hold NaN or Inf (non-finite values: %d); --allow-nonfinite %s it anyway",
		path, tensors, floats, elems, what)
}

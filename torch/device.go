package torch

import (
	"fmt"
	"strconv"
	"strings"
)

// DeviceType is libtorch's device type code.
type DeviceType int8

// Device types.
const (
	DeviceCPU  DeviceType = 0
	DeviceCUDA DeviceType = 1
)

// Device names where a tensor lives.
type Device struct {
	Type DeviceType
	// Index is the CUDA device number; -1 for the CPU or the current CUDA device.
	Index int
}

// CPU is the host.
var CPU = Device{Type: DeviceCPU, Index: -1}

// CUDA returns CUDA device i.
func CUDA(i int) Device { return Device{Type: DeviceCUDA, Index: i} }

// IsCUDA reports whether d is a CUDA device.
func (d Device) IsCUDA() bool { return d.Type == DeviceCUDA }

// String returns "cpu" or "cuda:N".
func (d Device) String() string {
	switch d.Type {
	case DeviceCPU:
		return "cpu"
	case DeviceCUDA:
		if d.Index < 0 {
			return "cuda"
		}
		return "cuda:" + strconv.Itoa(d.Index)
	}
	return fmt.Sprintf("device(%d:%d)", d.Type, d.Index)
}

// ParseDevice parses "cpu", "cuda", "cuda:N" or "auto" (CUDA device 0 when available,
// else the CPU).
func ParseDevice(s string) (Device, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "cpu":
		return CPU, nil
	case s == "auto" || s == "":
		if CUDAAvailable() {
			return CUDA(0), nil
		}
		return CPU, nil
	case s == "cuda" || s == "gpu":
		return CUDA(0), nil
	case strings.HasPrefix(s, "cuda:"):
		i, err := strconv.Atoi(s[5:])
		if err != nil || i < 0 {
			return CPU, fmt.Errorf("bad device %q", s)
		}
		return CUDA(i), nil
	}
	return CPU, fmt.Errorf("unknown device %q (want cpu, cuda, cuda:N or auto)", s)
}

func (d Device) applyOption(o *options) {
	o.devType = int(d.Type)
	o.devIndex = d.Index
}

// Option sets the dtype or device of a created tensor: pass a DType or a Device.
type Option interface{ applyOption(*options) }

type options struct{ dtype, devType, devIndex int }

func resolveOptions(opts []Option) options {
	o := options{dtype: -1, devType: -1, devIndex: -1}
	for _, x := range opts {
		if x != nil {
			x.applyOption(&o)
		}
	}
	return o
}

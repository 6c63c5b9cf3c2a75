package data

import (
	"fmt"
	"math"
	"strings"
)

// Norm holds per-channel normalisation constants on the [0, 1] pixel scale: a pixel v
// becomes (v/255 − Mean[c]) / Std[c].
type Norm struct {
	Mean, Std []float32
}

// Standard constants: the per-channel mean and standard deviation of each training
// set (CIFAR: over all 50,000 training images; Fashion-MNIST and MNIST: over the
// 60,000 training images).
var (
	CIFAR10Norm      = Norm{Mean: []float32{0.4914, 0.4822, 0.4465}, Std: []float32{0.2470, 0.2435, 0.2616}}
	CIFAR100Norm     = Norm{Mean: []float32{0.5071, 0.4865, 0.4409}, Std: []float32{0.2673, 0.2564, 0.2762}}
	FashionMNISTNorm = Norm{Mean: []float32{0.2860}, Std: []float32{0.3530}}
	MNISTNorm        = Norm{Mean: []float32{0.1307}, Std: []float32{0.3081}}
)

// NormFor returns the standard constants of a dataset name (fashion-mnist, mnist,
// cifar10, cifar100).
func NormFor(name string) (Norm, bool) {
	switch canonicalName(name) {
	case "fashion-mnist":
		return FashionMNISTNorm, true
	case "mnist":
		return MNISTNorm, true
	case "cifar10":
		return CIFAR10Norm, true
	case "cifar100":
		return CIFAR100Norm, true
	}
	return Norm{}, false
}

// canonicalName maps the accepted spellings of the built-in dataset names to one.
func canonicalName(name string) string {
	switch strings.ToLower(strings.ReplaceAll(name, "_", "-")) {
	case "fashion-mnist", "fashionmnist", "fmnist":
		return "fashion-mnist"
	case "mnist":
		return "mnist"
	case "cifar10", "cifar-10":
		return "cifar10"
	case "cifar100", "cifar-100":
		return "cifar100"
	}
	return ""
}

// forChannels returns the constants for c output channels: as they are, or a
// one-channel Norm repeated c times.
func (n Norm) forChannels(c int) (mean, std []float32, err error) {
	if len(n.Mean) != len(n.Std) {
		return nil, nil, fmt.Errorf("normalisation: %d means but %d standard deviations", len(n.Mean), len(n.Std))
	}
	switch len(n.Mean) {
	case c:
		mean, std = n.Mean, n.Std
	case 1:
		for range c {
			mean = append(mean, n.Mean[0])
			std = append(std, n.Std[0])
		}
	default:
		return nil, nil, fmt.Errorf("normalisation: %d channels of constants for %d-channel images", len(n.Mean), c)
	}
	for i := range std {
		if !(std[i] > 0) || math.IsInf(float64(std[i]), 0) || math.IsNaN(float64(mean[i])) {
			return nil, nil, fmt.Errorf("normalisation: channel %d has mean %v std %v", i, mean[i], std[i])
		}
	}
	return mean, std, nil
}

package data

import (
	"slices"
	"testing"
)

func TestCanonicalName(t *testing.T) {
	for spec, want := range map[string]string{
		"fashion-mnist": "fashion-mnist", "FashionMNIST": "fashion-mnist", "fmnist": "fashion-mnist",
		"fashion_mnist": "fashion-mnist", "MNIST": "mnist", "cifar-10": "cifar10", "CIFAR100": "cifar100",
	} {
		got, ok := CanonicalName(spec)
		if !ok || got != want {
			t.Errorf("CanonicalName(%q) = %q, %v; want %q", spec, got, ok, want)
		}
		if !slices.Contains(Names, got) {
			t.Errorf("CanonicalName(%q) = %q is not in Names", spec, got)
		}
	}
	for _, spec := range []string{"", "cifar", "/data/cifar10", "imagenet"} {
		if got, ok := CanonicalName(spec); ok {
			t.Errorf("CanonicalName(%q) = %q, true; want false", spec, got)
		}
	}
}

package data

// CanonicalName returns the one spelling of a built-in dataset's name (one of
// Names) for any accepted spelling of it ("fmnist", "FashionMNIST", "cifar-10",
// ...), and false when spec does not name a built-in dataset (a path, say).
func CanonicalName(spec string) (string, bool) {
	n := canonicalName(spec)
	return n, n != ""
}

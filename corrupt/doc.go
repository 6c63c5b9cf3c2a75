// Package corrupt implements the natural image corruptions of the CIFAR-10-C and
// ImageNet-C benchmarks (Hendrycks & Dietterich, ICLR 2019) in pure Go: the 15
// benchmark corruptions and 4 extra ones (speckle_noise, gaussian_blur, spatter,
// saturate), each at severities 1–5, with the CIFAR (32×32) or ImageNet (224×224)
// constants. The library operations the original borrows (scipy/skimage Gaussian
// filters, scipy zoom, OpenCV kernels and warps, ImageMagick motion blur, Pillow BOX
// resizing and JPEG, skimage HSV) are re-implemented to give the same pixels: with the
// numpy random mode and seed 0 the reference outputs of the original generator are
// reproduced value for value (see parity_test.go).
//
// # Images
//
// Images are 8-bit, row-major H×W×C, at least 8×8. Every corruption computes on RGB,
// as the original does, and ends with the original's truncating cast
// (uint8(254.999) = 254). Apply accepts grayscale images (C = 1): the grey value is
// copied to R, G and B (how the reference inputs were made from Fashion-MNIST), the
// image is corrupted, and the result is reduced to one channel with Pillow's "L"
// conversion, Y = (19595·R + 38470·G + 7471·B + 2¹⁵) >> 16 (ITU-R 601 luma, rounded).
// Those weights sum to 2¹⁶, so grey results keep their exact value and a
// grey → RGB → grey round trip is the identity.
//
// # Random numbers
//
// Corruptions draw from an RNG with numpy's legacy RandomState semantics. Run offers
// two modes:
//
//   - default: every image gets its own StreamRNG (xoshiro256**, ziggurat normals,
//     Poisson variates of shot noise by CDF inversion), keyed by (seed, corruption
//     index, severity, image index). Results do not depend on the number of workers,
//     on batching, or on which other images are processed. The distributions are
//     those of the original; the numbers are not.
//   - numpy: NumpyRNG (MT19937 and numpy's legacy samplers) reseeded with
//     seed + 1000·ci + severity before each (corruption, severity) batch, ci being the
//     corruption's index in Names, and the images drawn in order — the rule that made
//     the reference vectors. Batches run in parallel; within one, images are sequential.
//
// # Frost textures
//
// frost blends crops of texture images. Options.Frost supplies them: LoadFrostDir
// reads the original frost1.png … frost5.jpg (needed for parity), ProceduralFrost
// makes look-alike textures of the same sizes from a seed (the default; nil
// Options.Frost uses a fixed seed).
//
// # Sets
//
// CreateSet/SetWriter and OpenSet write and read corruption sets in the CIFAR-10-C
// layout (DIR/<corruption>.npy with the severities stacked, DIR/labels.npy), reading one
// corruption × severity slice without loading whole files.
package corrupt

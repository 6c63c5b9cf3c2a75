package study

import (
	"fmt"

	"github.com/divres/divres/data"
)

// PadTo returns the dataset with its images zero-padded (centred) to size×size,
// as the reference corruption inputs pad Fashion-MNIST's 28×28 to 32×32. Images
// of that size already (or size 0) are returned as they are; larger ones are an
// error.
func PadTo(d data.Dataset, size int) (data.Dataset, error) {
	c, h, w := d.Shape()
	if size <= 0 || (h == size && w == size) {
		return d, nil
	}
	if h > size || w > size {
		return nil, fmt.Errorf("images of %d×%d do not fit in %d×%d", h, w, size, size)
	}
	top, left := (size-h)/2, (size-w)/2
	n := d.Len()
	pix := make([]uint8, n*c*size*size)
	labels := make([]int32, n)
	img := make([]uint8, c*h*w)
	for i := range n {
		lab, err := d.Image(i, img)
		if err != nil {
			return nil, err
		}
		labels[i] = int32(lab)
		base := i * c * size * size
		for ch := range c {
			for y := range h {
				copy(pix[base+(ch*size+y+top)*size+left:], img[(ch*h+y)*w:(ch*h+y+1)*w])
			}
		}
	}
	return data.NewMemory(c, size, size, pix, labels, d.ClassNames())
}

package corrupt

import (
	"fmt"
	"testing"

	"codeberg.org/sbinet/npyio/npz"
)

// Sizes other than 32×32 and the ImageNet constants: testdata/geo_ref.npz holds the
// original algorithms' outputs (scipy, skimage, OpenCV, ImageMagick; see
// testdata/gen_geo_ref.py) for two 36×36 images with the ImageNet constants (the
// size where scipy's zoom leaves a zero row for z = 1.2, motion kernels longer than
// the image, fog map 256, elastic's "244" constants) and one 24×36 image with the CIFAR
// constants (non-square; fog map grown to 64).
func TestGeoSizesMatchOriginal(t *testing.T) {
	r, err := npz.Open("testdata/geo_ref.npz")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, set := range []struct {
		name   string
		params ParamSet
		h, w   int
	}{{"in36", ImageNet, 36, 36}, {"ci24x36", CIFAR, 24, 36}} {
		var pix []uint8
		if err := r.Read(set.name+"_inputs.npy", &pix); err != nil {
			t.Fatal(err)
		}
		per := set.h * set.w * 3
		var imgs []Image
		for i := 0; i+per <= len(pix); i += per {
			imgs = append(imgs, Image{H: set.h, W: set.w, C: 3, Pix: pix[i : i+per]})
		}
		for _, name := range []string{"motion_blur", "zoom_blur", "snow", "fog", "elastic_transform"} {
			c, err := Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			for sev := 1; sev <= 5; sev++ {
				var want []uint8
				key := fmt.Sprintf("%s_%s_%d.npy", set.name, name, sev)
				if err := r.Read(key, &want); err != nil {
					t.Fatal(err)
				}
				rng := NewNumpyRNG(uint32(1000*c.Index + sev))
				diff := 0
				for i, img := range imgs {
					got := c.Apply(img, sev, rng, &Options{Params: set.params})
					for k, v := range got.Pix {
						if v != want[i*per+k] {
							diff++
						}
					}
				}
				if diff > 0 {
					t.Errorf("%s: %d of %d values differ from the original", key, diff, len(want))
				}
			}
		}
	}
}

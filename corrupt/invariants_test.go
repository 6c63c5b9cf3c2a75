package corrupt

import (
	"bytes"
	"testing"
)

// Invariants over every registered corruption: shapes, input untouched,
// determinism, severity ordering, grayscale handling, ImageNet-size images.

// nonMonotone lists the corruptions whose mean damage does not grow with severity,
// with the reason (../shared/corrupt/PARAMS.md and the constant tables).
var nonMonotone = map[string]string{
	"saturate":          "severities 1–2 reduce saturation, 3–5 increase it",
	"glass_blur":        "severities 1–3 differ only in a tiny blur σ, 4–5 in iterations; pixel moves dominate",
	"spatter":           "severities 4–5 switch from water to mud drops",
	"frost":             "a random texture crop per image; the image weight falls while the frost weight plateaus",
	"elastic_transform": "the affine jitter, the largest displacement, falls from 2.56 to 0.96 px with severity",
	"motion_blur":       "a random angle per image; the radius only grows from 6 to 9 and severities 3–4 are close",
}

// weakerAtFive lists corruptions whose severity 5 does less mean damage than severity 1.
var weakerAtFive = map[string]bool{"saturate": true, "spatter": true, "elastic_transform": true}

func meanAbsDiff(a, b Image) float64 {
	s := 0
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d < 0 {
			d = -d
		}
		s += d
	}
	return float64(s) / float64(len(a.Pix))
}

func TestInvariantsShapesDeterminismInputUntouched(t *testing.T) {
	imgs := testImages(3, 32, 32, 3)
	for _, c := range All() {
		for sev := 1; sev <= 5; sev++ {
			for i, img := range imgs {
				before := img.Clone()
				a, err := Apply(c, img, sev, NewStreamRNG(7, c.Index, sev, i), nil)
				if err != nil {
					t.Fatalf("%s sev %d: %v", c.Name, sev, err)
				}
				if !bytes.Equal(before.Pix, img.Pix) {
					t.Fatalf("%s sev %d modified its input", c.Name, sev)
				}
				if a.H != 32 || a.W != 32 || a.C != 3 || len(a.Pix) != 3072 {
					t.Fatalf("%s sev %d: output %d×%d×%d", c.Name, sev, a.H, a.W, a.C)
				}
				b, _ := Apply(c, img, sev, NewStreamRNG(7, c.Index, sev, i), nil)
				if !bytes.Equal(a.Pix, b.Pix) {
					t.Fatalf("%s sev %d: not deterministic for a seed", c.Name, sev)
				}
				if c.Random && i == 0 && sev == 3 {
					d, _ := Apply(c, img, sev, NewStreamRNG(8, c.Index, sev, i), nil)
					if bytes.Equal(a.Pix, d.Pix) {
						t.Errorf("%s: another seed gives the same output", c.Name)
					}
				}
			}
		}
	}
}

func TestInvariantsSeverityOrdering(t *testing.T) {
	inputs := mustParityInputs(t)
	// Every 4th image: Fashion-MNIST and photos.
	var imgs []Image
	for i := 0; i < len(inputs); i += 4 {
		imgs = append(imgs, inputs[i])
	}
	for _, c := range All() {
		var dmg [5]float64
		for sev := 1; sev <= 5; sev++ {
			for i, img := range imgs {
				out, err := Apply(c, img, sev, NewStreamRNG(1, c.Index, sev, i), nil)
				if err != nil {
					t.Fatal(err)
				}
				dmg[sev-1] += meanAbsDiff(out, img) / float64(len(imgs))
			}
		}
		if dmg[4] <= dmg[0] && !weakerAtFive[c.Name] {
			t.Errorf("%s: severity 5 (%.2f) no stronger than severity 1 (%.2f)", c.Name, dmg[4], dmg[0])
		}
		if why, ok := nonMonotone[c.Name]; ok {
			t.Logf("%-18s %.2f %.2f %.2f %.2f %.2f (not monotone: %s)", c.Name, dmg[0], dmg[1], dmg[2], dmg[3], dmg[4], why)
			continue
		}
		for s := 1; s < 5; s++ {
			if dmg[s] <= dmg[s-1] {
				t.Errorf("%s: severity %d damage %.3f not above severity %d's %.3f", c.Name, s+1, dmg[s], s, dmg[s-1])
			}
		}
	}
}

func TestGrayscale(t *testing.T) {
	// Grey → RGB → grey is the identity for every value.
	g := NewImage(16, 16, 1)
	for i := range g.Pix {
		g.Pix[i] = uint8(i)
	}
	if back := RGBToGray(GrayToRGB(g)); !bytes.Equal(back.Pix, g.Pix) {
		t.Fatal("grey round trip is not the identity")
	}
	// Luma of a colour pixel: Pillow's L of (255, 0, 0) is 76, of (0, 255, 0) 150, of (0, 0, 255) 29.
	rgb := Image{H: 1, W: 3, C: 3, Pix: []uint8{255, 0, 0, 0, 255, 0, 0, 0, 255}}
	if l := RGBToGray(rgb).Pix; l[0] != 76 || l[1] != 150 || l[2] != 29 {
		t.Errorf("luma %v", l)
	}
	// A grayscale image gives a 1-channel result equal to the RGB result's luma; for
	// channel-symmetric deterministic corruptions the RGB result is grey, so this is
	// its grey value.
	gray := testImages(2, 32, 32, 1)
	for _, c := range All() {
		for sev := 1; sev <= 5; sev += 2 {
			for i, img := range gray {
				out, err := Apply(c, img, sev, NewStreamRNG(3, c.Index, sev, i), nil)
				if err != nil {
					t.Fatal(err)
				}
				if out.C != 1 || len(out.Pix) != 32*32 {
					t.Fatalf("%s: grayscale output has %d channels", c.Name, out.C)
				}
				rgbOut, _ := Apply(c, GrayToRGB(img), sev, NewStreamRNG(3, c.Index, sev, i), nil)
				if !bytes.Equal(RGBToGray(rgbOut).Pix, out.Pix) {
					t.Fatalf("%s sev %d: grayscale result is not the luma of the RGB result", c.Name, sev)
				}
			}
		}
	}
	for _, name := range []string{"contrast", "gaussian_blur", "defocus_blur", "pixelate", "brightness", "zoom_blur", "motion_blur"} {
		c, err := Lookup(name)
		if err != nil {
			continue
		}
		out, _ := Apply(c, GrayToRGB(gray[0]), 4, nil, nil)
		for i := 0; i < len(out.Pix); i += 3 {
			if c.Random {
				break
			}
			if out.Pix[i] != out.Pix[i+1] || out.Pix[i] != out.Pix[i+2] {
				t.Fatalf("%s: grey input gave a coloured pixel", name)
			}
		}
	}
}

func TestApplyValidation(t *testing.T) {
	c, _ := Lookup("contrast")
	noise, _ := Lookup("gaussian_noise")
	ok := testImages(1, 32, 32, 3)[0]
	for _, tc := range []struct {
		name string
		c    *Corruption
		img  Image
		sev  int
		rng  RNG
	}{
		{"nil corruption", nil, ok, 1, nil},
		{"severity 0", c, ok, 0, nil},
		{"severity 6", c, ok, 6, nil},
		{"2 channels", c, NewImage(32, 32, 2), 1, nil},
		{"too small", c, NewImage(7, 32, 3), 1, nil},
		{"short pixels", c, Image{H: 32, W: 32, C: 3, Pix: make([]uint8, 10)}, 1, nil},
		{"random without rng", noise, ok, 1, nil},
	} {
		if _, err := Apply(tc.c, tc.img, tc.sev, tc.rng, nil); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestImageNetSize runs every registered corruption on 224×224 images with the
// ImageNet constants, and on an odd CIFAR-constant size.
func TestImageNetSize(t *testing.T) {
	if testing.Short() {
		t.Skip("slow in -short mode")
	}
	big := testImages(1, 224, 224, 3)[0]
	odd := testImages(1, 37, 50, 3)[0]
	for _, c := range All() {
		for sev := 1; sev <= 5; sev++ {
			out, err := Apply(c, big, sev, NewStreamRNG(0, c.Index, sev, 0), &Options{Params: ImageNet})
			if err != nil {
				t.Fatalf("%s sev %d at 224×224: %v", c.Name, sev, err)
			}
			if d := meanAbsDiff(out, big); d == 0 {
				t.Errorf("%s sev %d at 224×224 changed nothing", c.Name, sev)
			}
			if _, err := Apply(c, odd, sev, NewStreamRNG(0, c.Index, sev, 0), nil); err != nil {
				t.Fatalf("%s sev %d at 37×50: %v", c.Name, sev, err)
			}
		}
	}
}

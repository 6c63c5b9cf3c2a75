package data

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzFolder: an image folder holding one arbitrary file (as .png or .jpg) beside
// a valid image opens and reads into images of the folder's shape with valid
// labels, or gives a one-line error; never a panic, never an allocation for an
// image its header merely claims. Run longer with
//
//	go test ./data -run '^$' -fuzz '^FuzzFolder$' -fuzztime 60s -fuzzminimizetime 2s
func FuzzFolder(f *testing.F) {
	good := pngBytes(f, solid(4, 3, 10, 20, 30))
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, solid(4, 3, 1, 2, 3), nil); err != nil {
		f.Fatal(err)
	}
	jp := jb.Bytes()
	f.Add(good, false, false)
	f.Add(jp, true, true)
	f.Add(pngBytes(f, solid(5, 3, 0, 0, 0)), false, true)
	f.Add(good[:len(good)/2], false, false)
	f.Add(jp[:len(jp)-20], true, false)
	// A JPEG whose frame header claims 65535×65535 pixels.
	huge := bytes.Clone(jp)
	if i := bytes.Index(huge, []byte{0xff, 0xc0}); i >= 0 {
		binary.BigEndian.PutUint16(huge[i+5:], 0xffff)
		binary.BigEndian.PutUint16(huge[i+7:], 0xffff)
	}
	f.Add(huge, true, false)
	f.Add([]byte{}, false, false)
	f.Fuzz(func(t *testing.T, in []byte, asJPEG, eager bool) {
		root := t.TempDir()
		name := "b.png"
		if asJPEG {
			name = "b.jpg"
		}
		writeFile(t, filepath.Join(root, "cat", "a.png"), good)
		writeFile(t, filepath.Join(root, "dog", name), in)
		opts := FolderOptions{Eager: eager}
		if eager {
			opts.Width, opts.Height = 4, 3
		}
		d, err := OpenFolder(root, opts)
		if err != nil {
			oneLineErr(t, err)
			return
		}
		c, h, w := d.Shape()
		if d.Len() != 2 || d.NumClasses() != 2 || c != 3 || h != 3 || w != 4 {
			t.Fatalf("%d images, %d classes, shape %d×%d×%d", d.Len(), d.NumClasses(), c, h, w)
		}
		dst := make([]uint8, c*h*w)
		for i := range d.Len() {
			l, err := d.Image(i, dst)
			if err != nil {
				oneLineErr(t, err)
				continue
			}
			if cfg, _, err := image.DecodeConfig(bytes.NewReader(in)); d.Label(i) == 1 && err == nil &&
				int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
				t.Fatalf("image %d of %d×%d pixels decoded", i, cfg.Width, cfg.Height)
			}
			if l != d.Label(i) || l < 0 || l >= d.NumClasses() {
				t.Fatalf("image %d: label %d (Label says %d)", i, l, d.Label(i))
			}
		}
	})
}

// oneLineErr fails unless err is a non-empty one-line message.
func oneLineErr(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
}

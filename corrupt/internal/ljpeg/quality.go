package ljpeg

import (
	"fmt"
	"sync/atomic"
)

// qualityTables holds everything derived from one quality setting.
type qualityTables struct {
	luma, chroma       [64]uint16 // quantisation tables, natural order
	lumaZ, chromaZ     *quantizer
	lumaDeq, chromaDeq [64]int32 // dequantisation multipliers
}

// tablesCache holds the tables of each quality once built; lock-free reads, as
// the corruption calls tablesFor for every image from many goroutines.
var tablesCache [101]atomic.Pointer[qualityTables]

// tablesFor returns the (cached) tables of a quality in 1..100.
func tablesFor(quality int) (*qualityTables, error) {
	if quality < 1 || quality > 100 {
		return nil, fmt.Errorf("jpeg quality %d out of range 1..100", quality)
	}
	if t := tablesCache[quality].Load(); t != nil {
		return t, nil
	}
	t := &qualityTables{
		luma:   scaledQuant(&stdLumaQuant, quality),
		chroma: scaledQuant(&stdChromaQuant, quality),
	}
	t.lumaZ = newQuantizer(&t.luma)
	t.chromaZ = newQuantizer(&t.chroma)
	for i := 0; i < 64; i++ {
		t.lumaDeq[i] = int32(t.luma[i])
		t.chromaDeq[i] = int32(t.chroma[i])
	}
	tablesCache[quality].CompareAndSwap(nil, t)
	return tablesCache[quality].Load(), nil
}

package nets

import (
	"slices"
	"testing"

	"github.com/divres/divres/torch"
)

func TestViTWidthKeepsHeads(t *testing.T) {
	// Width scales the head dimension: at 0.3, 256/4·0.3 = 19.2 → 19 per head, hidden 76.
	n, err := NewUninitialized("vit_small", Config{Style: CIFAR, Width: 0.3}, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	v := n.Store.Get("encoder.layers.encoder_layer_0.self_attention.in_proj_weight")
	if v == nil || !slices.Equal(v.T.Shape(), []int64{3 * 76, 76}) {
		t.Fatalf("in_proj_weight %v, want [228 76]", v)
	}
	if got := len(n.Model.(*ViT).layers); got != 7 {
		t.Errorf("%d layers, want 7", got)
	}
}

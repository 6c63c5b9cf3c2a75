package nas

// convOut is the output side of a convolution or pooling.
func convOut(side, k, stride, pad int64) int64 { return (side+2*pad-k)/stride + 1 }

// MACs counts the multiply-accumulates of one forward pass of genome g on one image
// of side size: every convolution and the final linear layer (BatchNorm, ReLU,
// pooling and the residual additions are not counted), the convention of
// nets.Net.MACs. A convolution with Cin inputs, Cout outputs, a k×k kernel and an
// H×W output costs H·W·Cout·Cin·k²; the linear layer in·out.
//
// For torchvision's ResNet50 (ImageNet style, 224×224 RGB, 1,000 classes) this is
// 4,089,184,256 MACs (4.09 G: 118,013,952 in the stem, 2,048,000 in fc); for the
// CIFAR style (3×3/1 stem and the max-pool kept, 32×32 RGB, 10 classes) 325,799,936
// (1,769,472 in the stem; the stages run at 16, 16, 8, 4 and 2 pixels).
func (e *Elastic) MACs(g Genome, size int64) (int64, error) {
	if err := e.space.Check(g); err != nil {
		return 0, err
	}
	ws := e.Stem.W.Shape()
	stemOut, inC, k := ws[0], ws[1], ws[2]
	stride, pad := int64(1), int64(1)
	if k == 7 {
		stride, pad = 2, 3
	}
	side := convOut(size, k, stride, pad)
	macs := side * side * stemOut * inC * k * k
	side = convOut(side, 3, 2, 1) // max-pool
	for s, st := range e.Stages {
		for j := 0; j < g.Depth[s]; j++ {
			b := st[j]
			m := e.space.InnerWidth(b.Inner, g.Width[s][j])
			out := convOut(side, 3, b.Stride, 1)
			macs += side * side * b.In * m // conv1, 1×1
			macs += out * out * m * m * 9  // conv2, 3×3 (strided)
			macs += out * out * m * b.Out  // conv3, 1×1
			if b.DownConv != nil {
				d := convOut(side, 1, b.Stride, 0)
				macs += d * d * b.In * b.Out // projection, 1×1 (strided)
			}
			side = out
		}
	}
	fs := e.FC.W.Shape()
	return macs + fs[0]*fs[1], nil
}

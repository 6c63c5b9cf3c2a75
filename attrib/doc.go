// Package attrib computes gradient attributions of divres classifiers on the
// device and compares them.
//
// Methods (each on any nets model in evaluation mode, batched, with the graph
// optionally kept so that a training loss can contain the maps):
//
//   - Saliency: |∂f_t/∂x| (or signed), and input × gradient;
//   - integrated gradients (IG) with the quadratures of Captum (Gauss–Legendre,
//     the default, and the left, right, middle and trapezoid Riemann sums), several
//     baselines (zeros, a constant, the blurred input, uniform noise, a given
//     tensor), an internal batch that bounds memory and the convergence delta;
//   - the noise tunnel over any of them (SmoothGrad, SmoothGrad², VarGrad);
//   - Grad-CAM on any named layer of the model (nets.Hooks), with the ReLU option
//     and nearest or bilinear upsampling to the input;
//   - GradientSHAP (expected gradients over a baseline distribution).
//
// The conventions are Captum 0.8's, and the tests reproduce Captum's outputs on a
// reference net to 1e-6: f_t is the logit of the target class (not its
// probability); the noise tunnel repeats each input nt_samples times, sample-major
// within each input ("example-major"); Grad-CAM weights the layer's output
// channels by the spatial mean of their gradients.
//
// Per-sample input gradients are only meaningful in evaluation mode, where
// BatchNorm uses its running statistics: in training mode the statistics of the
// batch mix the samples (and IG's batched path points would influence each
// other). Every method refuses a model whose store is in training mode.
//
// Similarity compares the maps of two models on the same inputs (cosine, Spearman
// rank correlation, top-k% overlap), per sample and over the whole batch, and
// Matrix gives the M×M table of M models.
package attrib

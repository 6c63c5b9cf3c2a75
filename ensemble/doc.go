// Package ensemble trains image classifiers and evaluates them, clean and under the
// natural corruptions of package corrupt. An individual model is a one-member
// ensemble: the training loop runs a list of members through a pluggable Loss, so
// that joint training of several members (negative-correlation learning) plugs into
// the same loop, checkpoints and history.
//
// # Training
//
// Train runs a TrainConfig into a run directory:
//
//	DIR/config.json             the configuration (written when the run starts)
//	DIR/model.safetensors       the weights with PyTorch state_dict names and the
//	                            metadata LoadModel needs (Meta), after every epoch
//	DIR/train_state.safetensors everything an exact resume needs: weights, optimizer
//	                            state, libtorch's RNG state, loss scaler, epoch,
//	                            step, configuration and history
//	DIR/history.json, .csv      per-epoch training and validation loss and accuracy
//
// Every file is written atomically (temporary file + rename), model.safetensors
// before train_state.safetensors: a run killed at any point resumes from the last
// train_state, at the start of the epoch that was interrupted, and ends with bitwise
// the same weights as an uninterrupted run on the same machine and thread count (the
// data order and augmentation are functions of (seed, epoch, image), the libtorch
// generator is restored, and the learning rate is a function of the step). A
// non-finite loss stops training with an error naming the epoch and step; the
// checkpoint of the last completed epoch is left untouched.
//
// libtorch's random generator is process-wide: do not train two models at once in
// one process if the runs must be reproducible.
//
// # Evaluation
//
// Predict runs a model over a dataset; EvaluateCorruptions measures a model's error
// on the clean test set and on every corruption × severity of a corruption set (read
// from a directory in the CIFAR-10-C layout, or generated from the test set by
// corrupt.Run and cached, see GenerateSet) and returns a corrupt.Result.
//
// # Ensembles of trained members
//
// A Pool holds members (run directories, OpenPoolMembers) and their Outputs on a
// list of slices (the clean test set, each corruption × severity). LoadPool fills
// it from a PredictionCache, keyed by the SHA-256 of each member's weights and of
// each slice's content, so that a member runs over a slice once. A Combiner merges
// the members' outputs (mean of softmax, mean of logits, weighted mean, majority
// vote with ties to the mean probability); ResultFromSliceErrors turns an
// ensemble's per-slice errors into a corrupt.Result with the single-model formulas
// (corrupt.ComputeCE). Subsets and SampleSubsets enumerate ensembles of a pool and
// ScoreEnsembles evaluates them and their diversity (package diversity) from the
// cached outputs, without forward passes.
//
// # Joint training
//
// TrainJoint trains M members together with the NCL loss of DESIGN.md (see NCL
// for the heuristics none, prediction, attribution, activation, classic, gncl).
// Every member has its own architecture, width, weight seed and optimizer state;
// the loop, checkpoints, exact resume, NaN stop and history are Train's, and each
// member is written as an ordinary run directory (DIR/members/<i>_<model>) that
// evaluation, prediction, diversity and attribution take like any model. The
// trained objective is M·L, so that λ = 1, γ = 0 is bit for bit independent
// training of each member (TrainConfig.InitSeed, `divres train --init-seed`).
//
// Memory: the attribution heuristic keeps every member's forward graph and the
// graph of its input-gradient backward pass (create_graph) alive until the
// step's backward. Peak RSS of a one-epoch `divres ncl` run at batch 128 on a
// 2-core CPU machine (training, validation and evaluation): three of the study's
// small nets (resnet18×0.25, mobilenet_v2×0.25, densenet121×0.125, 1×32×32
// inputs) 3.4 GB with attribution against 2.3 GB with the prediction heuristic;
// three full-width CIFAR ResNet18s (3×32×32 inputs) 2.9 GB against 2.1 GB. The
// double-backward graph thus adds about 40–50% to the step's tensor memory, which
// is what it costs on a GPU at CIFAR scale (about 1 GB more for three ResNet18s at
// batch 128, plus the CUDA context and cuDNN workspaces); a training epoch took
// 1.2 (ResNet18s) to 2.4 (small nets) times as long as with prediction.
package ensemble

// Package nas builds ensembles from the sub-networks of one weight-sharing
// super-network derived from ResNet50 (BootstrapNAS-style): elastic depth and width,
// progressive shrinking, NSGA-II search, extraction of standalone models, and the
// choice of ensemble members by accuracy or diversity.
//
// # Super-network
//
// Elastic (registered in nets as "resnet50_elastic") has the parameters of nets'
// resnet50, CIFAR or ImageNet style, with the same state_dict names; the full genome
// runs exactly resnet50's operations (a test checks bitwise equality). A Genome
// gives each stage a depth (a suffix of its blocks, never the first, is dropped)
// and each block a width choice: the inner (bottleneck) width is the full one times
// a multiplier of the Space (1, 0.8, 0.6 by default), rounded to a multiple of the
// divisor (8). Narrow blocks use the first channels of conv1/conv2 (and the first
// input columns of conv2/conv3); ReorderByImportance sorts those channels by the L1
// norm of the weights that read them, so that the first are the most important,
// without changing the full network's function. MACs are counted analytically
// (4,089,184,256 for ResNet50 at 224×224).
//
// BatchNorm statistics belong to one sub-network: Recalibrate re-estimates them
// (cumulative average over training images) before a sub-network is evaluated.
//
// # Pipeline
//
// Train runs progressive shrinking from a trained resnet50 run (stages such as
// depth, then depth + width; one random sub-network per step, or the sandwich
// rule) and is resumable. Search runs NSGA2Int (NSGA-II over integer genomes:
// SBX and polynomial mutation with rounding, duplicates removed) with the
// objectives validation error and MACs and writes the Pareto front (JSON, CSV).
// Extract writes a genome as a standalone model run whose architecture name
// (SubnetArch, e.g. "resnet50_sub-64.64_128.104…") the nets registry resolves, so
// that every command taking a trained run accepts it. SelectEnsemble picks K
// members under an accuracy floor by accuracy, by prediction diversity (package
// diversity) or by attribution diversity (package attrib) and extracts them.
//
// Pareto ranking, crowding distance, 2-D hypervolume and a real-valued NSGA-II
// (checked on ZDT1) are the search machinery underneath.
package nas

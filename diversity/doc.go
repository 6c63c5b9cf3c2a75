// Package diversity measures how differently the members of an ensemble behave, from
// plain arrays: softmax outputs and labels (prediction diversity), features (activation
// diversity by CKA) and attribution maps (attribution diversity). It also correlates a
// diversity measure with an ensemble's accuracy or resilience over a set of ensembles
// (Pearson, Spearman, Kendall τ-b with seeded bootstrap intervals and p-values).
//
// Conventions (M members, N samples, oracle O[m,n] = 1 when member m is right on n):
// pairwise measures are averaged over the M(M-1)/2 unordered pairs and also reported as
// M×M matrices with null on the diagonal; theta is a population variance; GD and CFD
// use p_i, the share of samples that exactly i members get wrong; KL is averaged over
// ordered pairs, JS over unordered pairs, both in nats; RBF CKA uses the bandwidth
// threshold² × median squared distance (median over all n·n entries). A value that is
// undefined (a zero denominator, too few samples) is NaN, written as null in JSON, and
// its key gets an entry in Report.Reasons.
//
// The ensembles table read by ReadEnsembles (file ensembles.json of a directory) is
//
//	{"ensembles": [
//	  {"name": "r18+vgg", "members": ["runs/a", "runs/b"], "homogeneous": false,
//	   "metrics": {"accuracy": 0.93, "mce": 0.81, "relative_mce": 0.95,
//	               "corruption_accuracy": 0.72,
//	               "accuracy/gaussian_noise": 0.61,       per corruption
//	               "accuracy/gaussian_noise/3": 0.58,     per corruption and severity
//	               "accuracy/severity/3": 0.70},          per severity
//	   "diversity": {"disagreement": 0.12, "q_statistic": 0.8, ...}}]}
//
// Every numeric key of "metrics" is a target and every numeric key of "diversity" a
// predictor (matrices and other non-numbers are skipped); a null value leaves that
// ensemble out of the pairs that use it.
package diversity

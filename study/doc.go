// Package study runs the design-diversity study as a sequence of stages in one run
// directory.
//
// A Stage has a number, a name, the stages whose outputs it reads (Inputs), the
// paths of the run directory it writes (Outputs), a fingerprint of the part of the
// recipe it depends on, and a Run function. Stages are resumable: a stage writes
// every output atomically and reuses what a previous run finished (trained models,
// the corruption set, evaluations), and when it ends it records its fingerprint in
// RUN/stages/<number>-<name>.json. A later run skips a stage whose record holds the
// fingerprint of the current recipe and whose outputs exist, and reruns it (and,
// since their inputs changed, the stages after it) otherwise.
//
// The stages today:
//
//  1. individual: every architecture of the Config is trained the same way with
//     each of its seeds (RUN/train/<model>_s<seed>), a corrupted test set is
//     generated once (RUN/corruptions), every trained model is evaluated on it
//     (RUN/seeds/<model>_s<seed>: eval.json and the per-image outcomes,
//     outcomes.json), each architecture's result is the mean over its seeds
//     (RUN/eval/<model>: clean error, E(s,c), CE, mCE and relative mCE against
//     the baseline's mean), the figures and summary table are drawn
//     (RUN/figures), and the statistics are written (RUN/stats/individual.md,
//     .csv, .json): for clean error, corruption accuracy, mCE and relative mCE
//     the estimate with a seeded percentile bootstrap interval over the test
//     images and the seeds, the spread over seeds, Spearman ρ of relative mCE
//     against clean error, Kendall's W of the ranking across seeds, and the
//     verdicts.
//  2. ensembles: a pool of the stage-1 models (each architecture's first seed,
//     and the further seeds of the Homogeneous architectures) is scored as
//     every k-member subset (k = 2…3 by default), heterogeneous and homogeneous:
//     member outputs are computed once per input and cached, every ensemble's
//     accuracy, corruption accuracy, mCE and relative mCE, its prediction,
//     activation (CKA) and attribution diversity, and the correlation of every
//     diversity measure with every target with bootstrap intervals
//     (RUN/ensembles/ensembles.json, correlations.json); finding 2.
//  3. nas: a weight-sharing super-network from the study's trained ResNet50,
//     a short progressive shrinking, NSGA-II over sub-networks (error against
//     MACs), and ensembles of Pareto sub-networks chosen by accuracy, by
//     prediction diversity and by attribution diversity, evaluated like stage
//     2's with paired bootstrap intervals (RUN/nas); its cells join finding 2.
//  4. ncl: one member set trained jointly over a grid of λ (the balance of the
//     members' and the ensemble's cross-entropy) × diversity heuristics (none,
//     prediction, attribution, activation), each cell resumable on its own and
//     its members ordinary run directories, evaluated like an ensemble of stage
//     2 (RUN/ncl/ncl.json with intervals); findings 3 (the balanced loss and
//     resilience) and 4 (the diversity NCL buys beside that of different
//     architectures).
//  5. report: from the result files alone, RUN/report.html (one self-contained
//     page, the figures embedded) and RUN/report.md (the same, figures linked):
//     the recipe, which stages are complete and which missing, every finding of
//     RUN/findings (statement, verdict, primary effect with its interval, what
//     would settle it, and all its cells), the stage tables that exist (stage 1
//     statistics and summary, the ensembles with their diversities and
//     correlations, NAS, NCL) and every figure of RUN/figures. Every table is
//     also written as CSV and JSON under RUN/tables (findings.csv: one row per
//     cell). It has no Inputs, so that it runs after any subset of the stages;
//     when skipped as complete it rewrites the report if a file it reads is
//     newer.
//
// # Verdicts
//
// A claim (a quantity below or above a threshold, such as "relative mCE below
// 100 %") is "supported" only when its whole interval lies on the claim's side,
// "contradicted" only when it lies on the other side, and "inconclusive at this
// scale" otherwise, with what would narrow the interval (more seeds, test images
// or epochs).
//
// # Findings
//
// Each finding is computed, never written by hand: the stage that states it
// writes RUN/findings/finding<N>-s<stage>.json (Finding: the statement, its
// cells — every estimate with its interval, claim, verdict and the result file
// it comes from — and the verdict of its primary cell), and other stages may
// add cells to it; the report reads them back.
//
// # Recipes, reruns and cells
//
// The recipe is saved as RUN/study.json; Preset gives the named recipes
// (quick, the default, and cifar10). Each stage's fingerprint covers only the
// part of the recipe it depends on, so a run directory given an edited recipe
// reruns the stages whose part changed and those that read them, and says so in
// the log. Every stage is also a set of cells (PlanCell: explicit dependencies
// and outputs; stage 1's are its training runs) that `divres study --plan`
// lists, `--cell` runs one at a time, `--devices` schedules over several
// devices and `--slurm` submits as job arrays.
package study

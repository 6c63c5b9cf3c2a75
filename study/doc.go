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
// Further stages (ensembles, NAS ensembles, NCL, the report) are added to the list
// returned by Stages; Run runs all of them or the subset Options.Stages names.
//
// The recipe is saved as RUN/study.json; a run directory holds one recipe, and
// Run refuses to continue a directory that holds another.
package study

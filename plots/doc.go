// Package plots draws the figures of a design-diversity study from result files
// only, never from live models: relative mCE per architecture against a baseline,
// error against severity per corruption family, a model × corruption heat map, a
// clean-error versus relative-mCE scatter, and a summary table (Markdown and CSV).
//
// Every figure function takes the results, the name of the baseline model ("" when
// there is none) and an output path whose extension (.png, .svg or .pdf) picks the
// format. Files are written atomically: a temporary file in the same directory is
// renamed onto the path once it is complete.
//
// Corruptions are grouped into the families of the benchmark (Hendrycks &
// Dietterich): noise, blur, weather and digital; the four extra corruptions join
// the family they resemble (speckle_noise: noise, gaussian_blur: blur, spatter:
// weather, saturate: digital) but only count in a family average when none of the
// family's benchmark corruptions was evaluated.
package plots

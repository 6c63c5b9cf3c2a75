package plots

// Result is one model's evaluation on a corruption benchmark, in the JSON shape of
// the eval stage (corrupt.Result). Errors are fractions in [0, 1]; CE and mCE
// values are ratios (1 = the baseline).
//
// This copy of the type stands in for corrupt.Result until that one exists; it is
// then replaced by an alias.
type Result struct {
	Model              string               `json:"model"`
	Arch               string               `json:"arch"`
	Style              string               `json:"style"`
	Width              float64              `json:"width"`
	Params             int64                `json:"params"`
	Dataset            string               `json:"dataset"`
	Corruptions        string               `json:"corruptions"`
	CleanError         float64              `json:"clean_error"`
	Errors             map[string][]float64 `json:"errors"`
	CorruptionAccuracy float64              `json:"corruption_accuracy"`
	Baseline           string               `json:"baseline,omitempty"`
	CE                 map[string]float64   `json:"ce,omitempty"`
	RelativeCE         map[string]float64   `json:"relative_ce,omitempty"`
	MCE                *float64             `json:"mce,omitempty"`
	RelativeMCE        *float64             `json:"relative_mce,omitempty"`
}

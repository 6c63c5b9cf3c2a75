package study

// NASRecipe is the recipe of stage 3 (NAS ensembles).
type NASRecipe struct{}

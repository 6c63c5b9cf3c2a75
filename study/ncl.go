package study

// NCLRecipe is the recipe of stage 4 (NCL).
type NCLRecipe struct{}

package corrupt

import "testing"

func TestElasticParity(t *testing.T) { geoCheckParity(t, "elastic_transform", 0.001) }

func BenchmarkGeoElastic(b *testing.B) { geoBench(b, "elastic_transform") }

package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/diversity"
	"github.com/divres/divres/internal/atomicfile"
)

func init() {
	addCommand(&cli.Command{
		Name:  "correlate",
		Usage: "correlate every diversity metric with ensemble accuracy, mCE and relative mCE (clean, per corruption, per severity)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ensembles", Usage: "`DIR` with ensembles.json (or the JSON file itself)", Required: true},
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (correlations.json, correlations.csv)", Required: true},
			&cli.IntFlag{Name: "bootstrap", Value: 1000, Usage: "bootstrap resamples for the confidence intervals"},
			&cli.Float64Flag{Name: "level", Value: 0.95, Usage: "confidence level"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "bootstrap seed"},
		},
		Action: func(c *cli.Context) error {
			ens, err := diversity.ReadEnsembles(c.String("ensembles"))
			if err != nil {
				return fmt.Errorf("correlate: %w", err)
			}
			if c.Int("bootstrap") < 1 {
				return fmt.Errorf("correlate: --bootstrap %d: want at least 1", c.Int("bootstrap"))
			}
			o := diversity.CorrOptions{Bootstrap: c.Int("bootstrap"), Seed: c.Uint64("seed"), Level: c.Float64("level")}
			if !(o.Level > 0 && o.Level < 1) {
				return fmt.Errorf("correlate: --level %v is not in (0, 1)", o.Level)
			}
			rows := diversity.CorrelationTable(ens, o)
			if len(rows) == 0 {
				return fmt.Errorf("correlate: the ensembles have no numeric diversity and metrics values to correlate")
			}
			return writeCorrelations(c.String("out"), len(ens), o, rows)
		},
	})
}

func writeCorrelations(dir string, n int, o diversity.CorrOptions, rows []diversity.CorrRow) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("correlate: %w", err)
	}
	doc := map[string]any{"ensembles": n, "bootstrap": o.Bootstrap, "seed": o.Seed, "level": o.Level, "correlations": rows}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return fmt.Errorf("correlate: %w", err)
	}
	jp := filepath.Join(dir, "correlations.json")
	if err := atomicfile.WriteFile(jp, append(b, '\n')); err != nil {
		return fmt.Errorf("correlate: write %s: %w", jp, err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	head := []string{"diversity", "target", "n"}
	for _, k := range []string{"pearson", "spearman", "kendall_tau_b"} {
		head = append(head, k, k+"_low", k+"_high", k+"_p")
	}
	w.Write(append(head, "reason"))
	num := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 10, 64)
	}
	for _, r := range rows {
		rec := []string{r.Diversity, r.Target, strconv.Itoa(r.N)}
		for _, e := range []diversity.Estimate{r.Pearson, r.Spearman, r.KendallTauB} {
			rec = append(rec, num(e.Value), num(e.Low), num(e.High), num(e.P))
		}
		w.Write(append(rec, r.Reason))
	}
	w.Flush()
	cp := filepath.Join(dir, "correlations.csv")
	if err := atomicfile.WriteFile(cp, buf.Bytes()); err != nil {
		return fmt.Errorf("correlate: write %s: %w", cp, err)
	}
	logrus.WithFields(logrus.Fields{"json": jp, "csv": cp, "rows": len(rows)}).Info("correlations written")
	return nil
}

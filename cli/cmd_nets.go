package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/divres/divres/nets"
	"github.com/divres/divres/torch"
)

func init() {
	addCommand(&cli.Command{
		Name:  "nets",
		Usage: "inspect the architectures",
		Subcommands: []*cli.Command{{
			Name: "list",
			Usage: "list the architectures: family, styles, parameters and features (width 1, 10 classes) and " +
				"multiply-accumulates at the style's default input size",
			UsageText: "divres nets list [--json] [--style cifar|imagenet] [--arch NAME] [--no-macs]",
			Flags: []cli.Flag{
				&cli.StringSliceFlag{Name: "arch", Usage: "only these architectures"},
				&cli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"},
				&cli.StringFlag{Name: "style", Usage: "only this style: cifar or imagenet"},
				&cli.BoolFlag{Name: "no-macs", Usage: "skip counting multiply-accumulates (one forward pass each)"},
			},
			Action: netsList,
		}},
	})
}

// netsRow is one architecture and style in `divres nets list`.
type netsRow struct {
	Name     string `json:"name"`
	Family   string `json:"family"`
	Style    string `json:"style"`
	Params   int64  `json:"params"`
	Features int64  `json:"features"`
	MinSize  int64  `json:"min_size"`
	MACsSize int64  `json:"macs_input_size,omitempty"`
	MACs     int64  `json:"macs,omitempty"`
}

func netsList(c *cli.Context) error {
	var styles []nets.Style
	if s := c.String("style"); s != "" {
		st, err := nets.ParseStyle(s)
		if err != nil {
			return fmt.Errorf("--style: %w", err)
		}
		styles = []nets.Style{st}
	}
	type job struct {
		spec  *nets.Spec
		style nets.Style
	}
	names := nets.Names()
	if a := c.StringSlice("arch"); len(a) > 0 {
		names = a
	}
	var jobs []job
	for _, name := range names {
		spec, err := nets.Lookup(name)
		if err != nil {
			return err
		}
		for _, st := range spec.Styles {
			if styles == nil || st == styles[0] {
				jobs = append(jobs, job{spec, st})
			}
		}
	}
	withMACs := !c.Bool("no-macs")
	prog := newProgress("architectures", "arch", len(jobs))
	rows := make([]netsRow, 0, len(jobs))
	for _, j := range jobs {
		r, err := describeArch(j.spec, j.style, withMACs)
		if err != nil {
			return err
		}
		rows = append(rows, r)
		prog.Update(len(rows), 0)
	}
	prog.Finish()
	w := c.App.Writer
	if c.Bool("json") {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "name\tfamily\tstyle\tparams\tfeatures\tmin size\tGMACs\tat\t")
	for _, r := range rows {
		macs, at := "-", "-"
		if r.MACs > 0 {
			macs, at = fmt.Sprintf("%.3f", float64(r.MACs)/1e9), fmt.Sprintf("%d", r.MACsSize)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t\n", r.Name, r.Family, r.Style, r.Params, r.Features, r.MinSize, macs, at)
	}
	return tw.Flush()
}

// describeArch builds one architecture at width 1 with 10 classes (uninitialised,
// then zeroed so that no denormal or NaN slows the passes down) and measures it.
func describeArch(spec *nets.Spec, st nets.Style, withMACs bool) (netsRow, error) {
	r := netsRow{Name: spec.Name, Family: spec.Family, Style: string(st), MinSize: spec.MinInput(st)}
	n, err := nets.NewUninitialized(spec.Name, nets.Config{Style: st, Classes: 10}, torch.CPU)
	if err != nil {
		return r, err
	}
	defer n.Close()
	for _, v := range n.Store.Vars() {
		if err := v.T.Zero_(); err != nil {
			return r, fmt.Errorf("%s: %w", spec.Name, err)
		}
	}
	n.Store.SetTraining(false)
	r.Params = n.Store.NumParams()
	if withMACs {
		size := st.DefaultSize()
		if r.MACs, err = n.MACs(size); err != nil {
			return r, fmt.Errorf("%s/%s: forward at %d×%d: %w", spec.Name, st, size, size, err)
		}
		r.MACsSize = size
	}
	// The feature size does not depend on the input size: measure it at the smallest.
	size := r.MinSize
	err = torch.Do(func(s *torch.Scope) error {
		_, feats := n.Forward(torch.Zeros(s, []int64{1, n.Config.InChannels, size, size}))
		r.Features = feats.Size(1)
		return feats.Err()
	}, torch.Inference())
	if err != nil {
		return r, fmt.Errorf("%s/%s: forward at %d×%d: %w", spec.Name, st, size, size, err)
	}
	return r, nil
}

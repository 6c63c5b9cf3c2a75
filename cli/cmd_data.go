package main

import (
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/divres/divres/data"
	"github.com/divres/divres/internal/atomicfile"
	"github.com/divres/divres/internal/progress"
)

func init() {
	addCommand(&cli.Command{
		Name:  "data",
		Usage: "inspect datasets: counts, class balance, pixel statistics, sample grids",
		Subcommands: []*cli.Command{
			{
				Name:      "info",
				Usage:     "print counts, shape, class balance and pixel statistics of a dataset split",
				UsageText: "divres data info --data NAME|PATH [--split train|test] [--json]",
				Flags: append(dataFlags(),
					&cli.BoolFlag{Name: "json", Usage: "print JSON instead of tables"},
				),
				Action: dataInfo,
			},
			{
				Name:      "grid",
				Usage:     "write a PNG grid of sample images labelled with their classes",
				UsageText: "divres data grid --data NAME|PATH --out grid.png [--n 64] [--seed S]",
				Flags: append(dataFlags(),
					&cli.StringFlag{Name: "out", Usage: "output PNG file", Required: true},
					&cli.IntFlag{Name: "n", Value: 64, Usage: "number of images"},
					&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "seed of the random choice of images"},
				),
				Action: dataGrid,
			},
		},
	})
}

// dataFlags are the flags that select a dataset (shared with other commands through
// openDataFlags).
func dataFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "data", Required: true, Usage: "dataset: " + strings.Join(data.Names, ", ") +
			", or a directory (CIFAR binary, IDX files, CIFAR-10-C style set, image folder)"},
		&cli.StringFlag{Name: "split", Usage: "train or test (default: train when the dataset has one)"},
		&cli.StringFlag{Name: "root", Usage: "directory of named datasets (default $DIVRES_DATA or ~/.cache/divres/data)"},
		&cli.BoolFlag{Name: "download", Usage: "download CIFAR-10/100 into --root if missing (checksum-verified)"},
		&cli.StringFlag{Name: "base-url", Usage: "download location instead of the official one", Hidden: true},
		&cli.BoolFlag{Name: "coarse", Usage: "CIFAR-100: use the 20 superclass labels"},
		&cli.StringFlag{Name: "corruption", Usage: "CIFAR-10-C style set: corruption to read"},
		&cli.IntFlag{Name: "severity", Usage: "CIFAR-10-C style set: severity to read"},
		&cli.StringFlag{Name: "size", Usage: "image folders: resize every image to WxH"},
		&cli.BoolFlag{Name: "gray", Usage: "image folders: read as grayscale"},
		&cli.BoolFlag{Name: "eager", Usage: "image folders: decode all images up front"},
	}
}

// openDataFlags resolves --data and --split.
func openDataFlags(c *cli.Context) (data.Dataset, string, error) {
	opts := data.OpenOptions{
		Root: c.String("root"), Download: c.Bool("download"), BaseURL: c.String("base-url"),
		Coarse: c.Bool("coarse"), Corruption: c.String("corruption"), Severity: c.Int("severity"),
		Folder: data.FolderOptions{Gray: c.Bool("gray"), Eager: c.Bool("eager")},
	}
	if s := c.String("size"); s != "" {
		w, h, ok := dataParseSize(s)
		if !ok {
			return nil, "", fmt.Errorf("--size %q: want WxH, e.g. 32x32", s)
		}
		opts.Folder.Width, opts.Folder.Height = w, h
	}
	if opts.Download {
		prog := progress.New("download", "B", 0, progress.Options{Bytes: true})
		defer prog.Finish()
		opts.Progress = func(done, total int64) { prog.Update64(done, total, "") }
	}
	train, test, err := data.OpenContext(c.Context, c.String("data"), opts)
	if err != nil {
		return nil, "", err
	}
	split := c.String("split")
	switch split {
	case "":
		if train != nil {
			return train, "train", nil
		}
		return test, "test", nil
	case "train":
		if train == nil {
			return nil, "", fmt.Errorf("%s has no training split", c.String("data"))
		}
		return train, split, nil
	case "test":
		if test == nil {
			return nil, "", fmt.Errorf("%s has no test split", c.String("data"))
		}
		return test, split, nil
	}
	return nil, "", fmt.Errorf("--split %q: want train or test", split)
}

func dataParseSize(s string) (w, h int, ok bool) {
	a, b, found := strings.Cut(strings.ToLower(s), "x")
	if !found {
		return 0, 0, false
	}
	w, err1 := strconv.Atoi(a)
	h, err2 := strconv.Atoi(b)
	return w, h, err1 == nil && err2 == nil && w > 0 && h > 0
}

// dataInfoReport is what `data info` prints.
type dataInfoReport struct {
	Data     string            `json:"data"`
	Split    string            `json:"split"`
	Images   int               `json:"images"`
	Channels int               `json:"channels"`
	Height   int               `json:"height"`
	Width    int               `json:"width"`
	Classes  []dataClassCount  `json:"classes"`
	Pixels   []dataChannelStat `json:"pixels"`
}

type dataClassCount struct {
	Label int    `json:"label"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type dataChannelStat struct {
	Channel int     `json:"channel"`
	Mean    float64 `json:"mean"`
	Std     float64 `json:"std"`
	Min     uint8   `json:"min"`
	Max     uint8   `json:"max"`
}

func dataInfo(c *cli.Context) error {
	d, split, err := openDataFlags(c)
	if err != nil {
		return err
	}
	ch, h, w := d.Shape()
	r := dataInfoReport{Data: c.String("data"), Split: split, Images: d.Len(), Channels: ch, Height: h, Width: w}
	names := d.ClassNames()
	for k, n := range data.ClassCounts(d) {
		r.Classes = append(r.Classes, dataClassCount{Label: k, Name: names[k], Count: n})
	}
	var progressFn func(int)
	if _, inMemory := d.(*data.Memory); !inMemory && d.Len() > 1000 {
		prog := newProgress("pixel statistics", "img", d.Len())
		defer prog.Finish()
		progressFn = func(done int) { prog.Update(done, 0) }
	}
	st, err := data.ComputePixelStats(d, progressFn)
	if err != nil {
		return err
	}
	for k := range st.Mean {
		r.Pixels = append(r.Pixels, dataChannelStat{Channel: k, Mean: st.Mean[k], Std: st.Std[k], Min: st.Min[k], Max: st.Max[k]})
	}
	logrus.WithFields(logrus.Fields{"data": r.Data, "split": split, "images": r.Images}).Debug("dataset read")
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return dataWriteInfo(c.App.Writer, r)
}

func dataWriteInfo(out io.Writer, r dataInfoReport) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "dataset\t%s (%s)\n", r.Data, r.Split)
	fmt.Fprintf(tw, "images\t%d\n", r.Images)
	fmt.Fprintf(tw, "shape\t%d×%d×%d (C×H×W)\n", r.Channels, r.Height, r.Width)
	fmt.Fprintf(tw, "classes\t%d\n", len(r.Classes))
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "channel\tmean\tstd\tmin\tmax")
	for _, p := range r.Pixels {
		fmt.Fprintf(tw, "%d\t%.4f\t%.4f\t%d\t%d\n", p.Channel, p.Mean, p.Std, p.Min, p.Max)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "label\tclass\timages\tshare")
	for _, k := range r.Classes {
		share := 0.0
		if r.Images > 0 {
			share = 100 * float64(k.Count) / float64(r.Images)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%.2f%%\n", k.Label, k.Name, k.Count, share)
	}
	return tw.Flush()
}

func dataGrid(c *cli.Context) error {
	d, _, err := openDataFlags(c)
	if err != nil {
		return err
	}
	n := c.Int("n")
	if n <= 0 {
		return fmt.Errorf("--n %d: want a positive number of images", n)
	}
	n = min(n, d.Len())
	idx := data.Permutation(d.Len(), c.Uint64("seed"), 0)[:n]
	img, err := data.Grid(d, idx)
	if err != nil {
		return err
	}
	out := c.String("out")
	if err := atomicfile.Write(out, func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
		return err
	}
	logrus.WithFields(logrus.Fields{"out": out, "images": n}).Info("grid written")
	return nil
}

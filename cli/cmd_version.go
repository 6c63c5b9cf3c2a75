package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	"github.com/divres/divres/cuda"
	"github.com/divres/divres/torch"
)

// version is divres's own version.
const version = "0.1.0"

func init() {
	addCommand(&cli.Command{
		Name:  "version",
		Usage: "print divres, Go and libtorch versions and what CUDA offers",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "machine-readable output"}},
		Action: func(c *cli.Context) error {
			info := cuda.Describe()
			v := map[string]any{
				"divres":         version,
				"go":             runtime.Version(),
				"libtorch":       torch.Version(),
				"threads":        torch.NumThreads(),
				"cuda_built":     info.Built,
				"cuda_available": info.Available,
				"cuda_devices":   len(info.Devices),
				"device_names":   info.Devices,
				"cudnn":          info.Cudnn,
			}
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						v["commit"] = s.Value
					}
				}
			}
			if c.Bool("json") {
				b, _ := json.MarshalIndent(v, "", "  ")
				fmt.Println(string(b))
				return nil
			}
			fmt.Printf("divres %s (%s)\n", version, runtime.Version())
			fmt.Printf("libtorch %s, %d intra-op threads\n", torch.Version(), torch.NumThreads())
			switch {
			case info.Available:
				fmt.Printf("CUDA: available, %d device(s)", len(info.Devices))
				for i, n := range info.Devices {
					fmt.Printf("; %d: %s", i, n)
				}
				fmt.Printf("; cuDNN: %v\n", info.Cudnn)
			case info.Built:
				fmt.Println("CUDA: libtorch has CUDA, but no device is visible (0 devices)")
			default:
				fmt.Println("CUDA: not available (CPU-only libtorch, 0 devices)")
			}
			return nil
		},
	})
}

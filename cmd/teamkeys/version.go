package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

func (a *App) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "version",
		Short:             "Print the CLI's version",
		Annotations:       map[string]string{outputsAnnotation: "table,json"}, // text unless -o json, even when piped
		Args:              exactArgs(0, "no arguments"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.wrap(func(*cobra.Command, []string) error {
			platform := runtime.GOOS + "/" + runtime.GOARCH
			if a.cfg.Output == "json" {
				return printJSON(a.Stdout, map[string]string{"version": cliVersion(), "go": runtime.Version(), "platform": platform})
			}
			_, err := fmt.Fprintf(a.Stdout, "teamkeys %s (%s, %s)\n", cliVersion(), runtime.Version(), platform)
			return err
		}),
	}
}

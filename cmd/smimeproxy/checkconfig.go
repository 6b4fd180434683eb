package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/smimeproxy/smimeproxy/config"
)

func init() {
	register("check-config", command{
		summary: "check a config file and report every problem",
		run:     runCheckConfig,
	})
}

// runCheckConfig prints every problem (exit 1) or "FILE: ok" (exit 0), and
// the warnings serve would log, so that an operator sees them before a start.
func runCheckConfig(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config `file` to check (required)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: smimeproxy check-config -config FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *path == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}

	cfg, err := config.Load(*path)
	var cerr *config.Error
	switch {
	case errors.As(err, &cerr):
		for _, p := range cerr.Problems {
			fmt.Fprintln(stderr, p)
		}
		fmt.Fprintf(stderr, "%s: %d problem(s)\n", *path, len(cerr.Problems))
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "smimeproxy: check-config: %v\n", err)
		return 1
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "%s: ok\n", *path)
	return 0
}

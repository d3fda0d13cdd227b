package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; when
// empty, the module version recorded by the Go tool is used.
var version string

// buildInfo describes the running binary.
type buildInfo struct {
	Version string
	Commit  string
	Go      string
}

func readBuildInfo() buildInfo {
	bi := buildInfo{Version: version, Commit: "unknown", Go: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if ok {
		if bi.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			bi.Version = info.Main.Version
		}
		modified := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				bi.Commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && bi.Commit != "unknown" {
			bi.Commit += "-dirty"
		}
	}
	if bi.Version == "" {
		bi.Version = "dev"
	}
	return bi
}

func (c *cli) version(args []string) error {
	fs := flag.NewFlagSet("atende version", flag.ContinueOnError)
	if err := c.parseFlags(fs, args, func(w io.Writer) {
		fmt.Fprintln(w, "Usage: atende version\n\nPrints the version, the commit it was built from and the Go version.")
	}); err != nil {
		return err
	}
	bi := readBuildInfo()
	fmt.Fprintf(c.stdout, "atende %s\ncommit %s\n%s\n", bi.Version, bi.Commit, bi.Go)
	return nil
}

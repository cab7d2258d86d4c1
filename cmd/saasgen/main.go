// Command saasgen creates SaaS backends in Go that are built for 100x their
// launch size, proves they build and pass their own tests, and grows them.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/saasgen/saasgen/cmd/saasgen/cli"
)

// version is set by the release build (-ldflags "-X main.version=v1.2.3").
var version = ""

func main() {
	os.Exit(run(resolveVersion()))
}

// run runs saasgen with the process's arguments and streams; Ctrl-C and
// SIGTERM cancel it (exit 130).
func run(version string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Execute(ctx, os.Args[1:], cli.System(), version)
}

// resolveVersion prefers the release ldflags, then the module version that
// `go install …@vX` records, then "dev".
func resolveVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

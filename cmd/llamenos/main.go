// Command llamenos is the hotline appliance daemon and its admin tools.
// Each subcommand is a small function; the work lives in the packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"llamenos/buildinfo"
)

// errUsage marks a command-line mistake: exit status 2 instead of 1.
var errUsage = errors.New("usage")

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"version":         {"print version, commit and Go version", runVersion},
	"serve":           {"run the daemon: llamenos serve --config FILE", runServe},
	"demo":            {"run the whole product on this machine with a simulated phone line", runDemo},
	"asterisk-config": {"render the Asterisk configuration for this daemon", runAsteriskConfig},
	"backup":          {"write an encrypted, verified backup of the database (online if the daemon runs)", runBackup},
	"restore":         {"verify a backup and put it in place of the database (daemon stopped)", runRestore},
	"check":           {"validate the configuration and verify the database", runCheck},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "llamenos: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err := cmd.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "llamenos: %v\n", err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: llamenos <command> [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("llamenos "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and refuses stray positional arguments beyond want.
func parseFlags(fs *flag.FlagSet, args []string, want int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != want {
		return fmt.Errorf("%w: expected %d argument(s), got %d", errUsage, want, fs.NArg())
	}
	return nil
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: llamenos version")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Prints the version of this binary, the commit it was built from and the Go")
		fmt.Fprintln(stderr, "version, for example: llamenos v1.2.0 (commit 0a1b2c3…, go1.26.8).")
		fmt.Fprintln(stderr, "Release binaries built from the same commit are identical (make release).")
		fmt.Fprintln(stderr, "It takes no flags and no arguments.")
	}
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	fmt.Fprintln(stdout, buildinfo.Get().String())
	return nil
}

// Command atende runs the atende contact center: the server, its database
// migrations and the operator's administrative commands. It only reads
// configuration and wires packages together; the work is done elsewhere.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// cli is the process's outside world, so that tests can run commands in-process.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

func main() {
	c := &cli{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(c.run(context.Background(), os.Args[1:]))
}

// usageError is a mistake in how a command was called: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

const mainUsage = `atende is an omnichannel contact center in one binary.

Usage:
  atende serve [settings]      run the server (migrates the database first)
  atende migrate [settings]    apply database migrations and exit
  atende admin COMMAND ...     create tenants, users and API tokens; reset passwords
  atende sim -config FILE      simulate days of a center on the real routing engine (docs/simulator.md)
  atende version               print version, commit and Go version

Run 'atende COMMAND --help' for a command's settings.
`

// run runs the command in args and returns the process exit status.
func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stderr, mainUsage)
		return 2
	}
	var err error
	name := args[0]
	switch name {
	case "serve":
		err = c.serve(ctx, args[1:])
	case "migrate":
		err = c.migrate(ctx, args[1:])
	case "admin":
		err = c.admin(ctx, args[1:])
	case "sim":
		err = c.sim(ctx, args[1:])
	case "version", "--version", "-version":
		err = c.version(args[1:])
	case "help", "-h", "-help", "--help":
		fmt.Fprint(c.stdout, mainUsage)
		return 0
	default:
		fmt.Fprintf(c.stderr, "atende: unknown command %q\n\n%s", name, mainUsage)
		return 2
	}
	if err == nil || errors.Is(err, errHelp) {
		return 0
	}
	fmt.Fprintf(c.stderr, "atende %s: %v\n", name, err)
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// parseFlags parses a subcommand's flags. --help prints usage to stdout and
// returns errHelp; any other mistake is a usageError pointing to --help.
func (c *cli) parseFlags(fs *flag.FlagSet, args []string, usage func(io.Writer)) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage(c.stdout)
		return errHelp
	case err != nil:
		return usagef("%v (see '%s --help')", err, fs.Name())
	case fs.NArg() > 0:
		return usagef("unexpected argument %q (see '%s --help')", fs.Arg(0), fs.Name())
	}
	return nil
}

// errHelp ends a command successfully after its help was printed.
var errHelp = errors.New("help requested")

// flagHelp writes the help of flags that are not settings.
func flagHelp(w io.Writer, fs *flag.FlagSet, names ...string) {
	for _, n := range names {
		f := fs.Lookup(n)
		name, usage := flag.UnquoteUsage(f)
		if name != "" {
			name = " " + strings.ToUpper(name)
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "  --%s%s\n        %s%s\n", n, name, usage, def)
	}
}

// newLogger returns the structured logger of the process, writing to w.
func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

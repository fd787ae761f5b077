// Command huimin is the Huimin claims engine: the HTTP service and its
// operator commands (migrations, tokens, ledger verification, checks).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "huimin:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a code after its message was printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// commands are the subcommands with their help. `huimin CMD --help` (or
// -h, anywhere among its arguments) prints the command's help and does
// nothing else, whatever the command.
var commands = []struct {
	name, synopsis, help string
}{
	{"serve", "serve [--addr ADDR] [--db SPEC]", "run the HTTP service (migrates and seeds first)"},
	{"migrate", "migrate up|status [--db SPEC]", "apply or list schema migrations"},
	{"token", "token create --role ROLE --name NAME [--org ORG] | list | revoke ID", "API tokens (a new token is the last line of stdout)"},
	{"user", "user create --role ROLE --name NAME [--org ORG] [--password-stdin] | list | disable NAME | reset NAME [--password-stdin]",
		"console users (a generated password is the last line of stdout)"},
	{"ledger", "ledger verify FILE.csv", "check an exported ledger offline (exit 1 when altered); needs no database"},
	{"check", "check [--db SPEC]", "recompute every ledger, budget and approval invariant (exit 1 on a breach)"},
	{"demo", "demo [--tokens FILE] [--seed N]", "fill an empty database with a demo registry and claims in every state"},
	{"version", "version", "print the version (also --version)"},
}

// usage is the whole help: commands, then every setting.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: huimin <command> [arguments]   (huimin <command> --help for one command)\n\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %s\n      %s\n", c.synopsis, c.help)
	}
	b.WriteString("\nA command that opens a database names it on stderr (database: …). --db SPEC\noverrides HUIMIN_DB for that command.\n\n")
	b.WriteString(settingsHelp())
	return b.String()
}

// commandHelp is one command's help.
func commandHelp(name string) string {
	for _, c := range commands {
		if c.name == name {
			return fmt.Sprintf("usage: huimin %s\n\n%s\n\n%s", c.synopsis, c.help, settingsHelp())
		}
	}
	return usage()
}

// wantsHelp reports whether args ask for help: -h, -help or --help before
// any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// dbFlag removes a --db SPEC (or --db=SPEC) from args into cfg.
func dbFlag(cfg *config, args []string) ([]string, error) {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--db" || a == "-db":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("--db needs a value, e.g. --db sqlite:huimin-data/huimin.db")
			}
			cfg.DB = args[i+1]
			i++
		case strings.HasPrefix(a, "--db=") || strings.HasPrefix(a, "-db="):
			cfg.DB = a[strings.Index(a, "=")+1:]
		default:
			out = append(out, a)
		}
	}
	return out, nil
}

// run is the whole program with its inputs made explicit, so tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return exitError{2}
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		if len(args) > 1 {
			fmt.Fprint(stdout, commandHelp(args[1]))
		} else {
			fmt.Fprint(stdout, usage())
		}
		return nil
	case "version", "--version", "-version", "-v":
		fmt.Fprintln(stdout, versionString())
		return nil
	}
	known := false
	for _, c := range commands {
		known = known || c.name == args[0]
	}
	if !known {
		fmt.Fprintf(stderr, "huimin: unknown command %q\n\n%s", args[0], usage())
		return exitError{2}
	}
	if wantsHelp(args[1:]) {
		fmt.Fprint(stdout, commandHelp(args[0]))
		return nil
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	rest := args[1:]
	if args[0] != "ledger" {
		if rest, err = dbFlag(&cfg, rest); err != nil {
			fmt.Fprintf(stderr, "huimin %s: %v\n", args[0], err)
			return exitError{2}
		}
	}
	log := newLogger(stderr, cfg.LogLevel)
	cfg.stderr = stderr
	switch args[0] {
	case "serve":
		if err := serveFlags(&cfg, rest); err != nil {
			fmt.Fprintf(stderr, "huimin serve: %v\n\n%s", err, commandHelp("serve"))
			return exitError{2}
		}
		return serve(ctx, cfg, log, stdout)
	case "migrate":
		return migrate(ctx, cfg, rest, stdout)
	case "token":
		return token(ctx, cfg, rest, stdout, stderr)
	case "user":
		return user(ctx, cfg, rest, os.Stdin, stdout, stderr)
	case "ledger":
		return ledgerCmd(rest, stdout, stderr)
	case "check":
		if len(rest) > 0 {
			fmt.Fprintf(stderr, "huimin check: unexpected argument %q\n\n%s", rest[0], commandHelp("check"))
			return exitError{2}
		}
		return check(ctx, cfg, stdout)
	case "demo":
		return demoCmd(ctx, cfg, rest, stdout, stderr)
	}
	return exitError{2}
}

// serveFlags reads serve's own flags: --addr (over HUIMIN_ADDR). Anything
// else is an error, so that a mistyped flag never starts a server with
// the defaults.
func serveFlags(cfg *config, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

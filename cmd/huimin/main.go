// Command huimin is the Huimin claims engine: the HTTP service and its
// operator commands (migrations, tokens, ledger verification, checks).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
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

const usage = `usage: huimin <command>

  serve                          run the HTTP service (migrates and seeds first)
  migrate up|status              apply or list schema migrations
  token create --role ROLE --name NAME [--org ORG]
                                 issue an API token (the raw token is the last line)
  token list                     list tokens
  token revoke ID                revoke a token
  ledger verify FILE.csv         check an exported ledger offline (exit 1 when altered)
  check                          recompute every ledger and budget invariant
  version                        print the version

environment: HUIMIN_DB (default sqlite:huimin-data/huimin.db), HUIMIN_ADDR
(default 127.0.0.1:8080), HUIMIN_LOG_LEVEL (debug|info|warn|error, default info)
`

// run is the whole program with its inputs made explicit, so tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError{2}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	switch args[0] {
	case "serve":
		return serve(ctx, cfg, log, stdout)
	case "migrate":
		return migrate(ctx, cfg, args[1:], stdout)
	case "token":
		return token(ctx, cfg, args[1:], stdout, stderr)
	case "ledger":
		return ledgerCmd(args[1:], stdout, stderr)
	case "check":
		return check(ctx, cfg, stdout)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "huimin: unknown command %q\n\n%s", args[0], usage)
	return exitError{2}
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

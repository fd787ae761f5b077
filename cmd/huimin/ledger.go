package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"huimin/ledger"
	"huimin/payouts"
)

// ledgerCmd is `huimin ledger verify FILE.csv`: it needs no database, only
// the exported file, so anyone given an export can check it.
func ledgerCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) != 2 || args[0] != "verify" {
		return fmt.Errorf("usage: huimin ledger verify FILE.csv")
	}
	f, err := os.Open(args[1])
	if err != nil {
		return err
	}
	defer f.Close()
	rows, bad, reason, err := ledger.VerifyExport(f)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", args[1], err)
		return exitError{1}
	}
	if bad != 0 {
		fmt.Fprintf(stdout, "%s: NOT intact: line %d: %s\n", args[1], bad, reason)
		return exitError{1}
	}
	fmt.Fprintf(stdout, "%s: intact: %d entries, every hash and link checks\n", args[1], rows)
	return nil
}

// check is `huimin check`: every invariant of DESIGN §8, non-zero on a breach.
func check(ctx context.Context, cfg config, stdout io.Writer) error {
	d, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	breaches, err := payouts.New(d, time.Now).Check(ctx)
	if err != nil {
		return err
	}
	for _, b := range breaches {
		fmt.Fprintln(stdout, "BREACH", b.String())
	}
	if len(breaches) > 0 {
		fmt.Fprintf(stdout, "%d invariant breach(es)\n", len(breaches))
		return exitError{1}
	}
	fmt.Fprintln(stdout, "all invariants hold")
	return nil
}

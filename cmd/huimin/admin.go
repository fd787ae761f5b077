package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/web"
	"huimin/migrations"
)

func openDB(ctx context.Context, cfg config) (*db.DB, error) {
	cfg.announceDB()
	d, err := db.Open(ctx, cfg.DB, cfg.dbOptions())
	if err != nil {
		return nil, cfg.explainOpen(err)
	}
	if _, err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func migrate(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if len(args) != 1 || (args[0] != "up" && args[0] != "status") {
		return fmt.Errorf("usage: huimin migrate up|status")
	}
	cfg.announceDB()
	d, err := db.Open(ctx, cfg.DB, cfg.dbOptions())
	if err != nil {
		return cfg.explainOpen(err)
	}
	defer d.Close()
	if args[0] == "up" {
		n, err := d.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s)\n", n)
		return nil
	}
	st, err := migrations.List(ctx, d.SQL, d.Dialect)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATE\tFILE")
	for _, s := range st {
		state := "pending"
		if s.Applied {
			state = "applied"
		}
		fmt.Fprintf(tw, "%05d\t%s\t%s\n", s.Version, state, s.Name)
	}
	return tw.Flush()
}

// cli is the audit identity of operator commands run on the host.
var cli = audit.Who{Actor: "cli", Role: auth.Admin}

func token(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: huimin token create|list|revoke")
	}
	d, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	svc := auth.NewService(d, time.Now)
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("token create", flag.ContinueOnError)
		fs.SetOutput(stderr)
		var in auth.NewInput
		fs.StringVar(&in.Role, "role", "", "admin, insurer, finance or auditor")
		fs.StringVar(&in.Name, "name", "", "the token's name: the actor in approvals, ledger and audit")
		fs.StringVar(&in.Org, "org", "", "the insurer's organisation (insurer tokens only)")
		if err := fs.Parse(args[1:]); err != nil {
			return exitError{2}
		}
		raw, t, err := svc.Create(ctx, cli, in)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s token %s (id %s); the token is shown once:\n%s\n", t.Role, t.Name, t.ID, raw)
		return nil
	case "list":
		ts, err := svc.List(ctx, 10000, "")
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tROLE\tNAME\tORG\tCREATED\tREVOKED")
		for _, t := range ts {
			revoked := "-"
			if t.RevokedAt != nil {
				revoked = web.Timestamp(*t.RevokedAt)
			}
			org := t.Org
			if org == "" {
				org = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Role, t.Name, org, web.Timestamp(t.CreatedAt), revoked)
		}
		return tw.Flush()
	case "revoke":
		if len(args) != 2 {
			return fmt.Errorf("usage: huimin token revoke ID")
		}
		t, err := svc.Revoke(ctx, cli, args[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked token %s (%s)\n", t.ID, t.Name)
		return nil
	}
	return fmt.Errorf("usage: huimin token create|list|revoke")
}

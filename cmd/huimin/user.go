package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"huimin/internal/auth"
	"huimin/internal/web"
)

const userUsage = "usage: huimin user create --role ROLE --name NAME [--org ORG] [--password-stdin] | list | disable NAME | reset NAME [--password-stdin]"

// user manages console users (DESIGN §18). A generated password is printed
// as the last line of stdout, once; with --password-stdin the first line of
// stdin is the password and nothing secret is printed.
func user(ctx context.Context, cfg config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(userUsage)
	}
	d, err := openDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	svc := auth.NewUsers(d, time.Now, auth.UserConfig{})
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("user create", flag.ContinueOnError)
		fs.SetOutput(stderr)
		var in auth.NewUserInput
		var fromStdin bool
		fs.StringVar(&in.Role, "role", "", "admin, finance or auditor")
		fs.StringVar(&in.Name, "name", "", "the user name: the actor in approvals, ledger and audit")
		fs.StringVar(&in.Org, "org", "", "the office the user belongs to (optional)")
		fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin instead of generating one")
		if err := fs.Parse(args[1:]); err != nil {
			return exitError{2}
		}
		if fromStdin {
			if in.Password, err = readPassword(stdin); err != nil {
				return err
			}
		}
		pw, u, err := svc.Create(ctx, cli, in)
		if err != nil {
			return err
		}
		if fromStdin {
			fmt.Fprintf(stdout, "created %s user %s (id %s) with the password read from stdin\n", u.Role, u.Name, u.ID)
			return nil
		}
		fmt.Fprintf(stdout, "created %s user %s (id %s); sign in at /console/ with this password, shown once:\n%s\n", u.Role, u.Name, u.ID, pw)
		return nil
	case "list":
		us, err := svc.List(ctx, 100000, "")
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLE\tORG\tCREATED\tPASSWORD SET\tDISABLED")
		for _, u := range us {
			disabled := "-"
			if u.DisabledAt != nil {
				disabled = web.Timestamp(*u.DisabledAt)
			}
			org := u.Org
			if org == "" {
				org = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, org, web.Timestamp(u.CreatedAt), web.Timestamp(u.PasswordSetAt), disabled)
		}
		return tw.Flush()
	case "disable":
		if len(args) != 2 {
			return errors.New("usage: huimin user disable NAME")
		}
		u, err := svc.Disable(ctx, cli, args[1])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "disabled user %s; their sessions have ended\n", u.Name)
		return nil
	case "reset":
		fs := flag.NewFlagSet("user reset", flag.ContinueOnError)
		fs.SetOutput(stderr)
		fromStdin := fs.Bool("password-stdin", false, "read the new password from the first line of stdin")
		// The name may come before or after the flag.
		rest := args[1:]
		var name string
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			name, rest = rest[0], rest[1:]
		}
		if err := fs.Parse(rest); err != nil {
			return exitError{2}
		}
		if name == "" && fs.NArg() == 1 {
			name = fs.Arg(0)
		} else if fs.NArg() != 0 || name == "" {
			return errors.New("usage: huimin user reset NAME [--password-stdin]")
		}
		password := ""
		if *fromStdin {
			var err error
			if password, err = readPassword(stdin); err != nil {
				return err
			}
		}
		pw, u, err := svc.Reset(ctx, cli, name, password)
		if err != nil {
			return err
		}
		if *fromStdin {
			fmt.Fprintf(stdout, "reset the password of %s (read from stdin); their sessions have ended and any lockout is lifted\n", u.Name)
			return nil
		}
		fmt.Fprintf(stdout, "reset the password of %s; their sessions have ended and any lockout is lifted. The new password, shown once:\n%s\n", u.Name, pw)
		return nil
	}
	return errors.New(userUsage)
}

// readPassword reads the first line of r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("--password-stdin: stdin holds no password")
	}
	if msg := auth.PasswordProblem(line, ""); msg != "" {
		return "", fmt.Errorf("the password %s", msg)
	}
	return line, nil
}

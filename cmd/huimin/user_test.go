package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/auth"
	"huimin/internal/db"
)

// signIn tries a password against the users on the CLI's database, as the
// console would.
func signIn(t *testing.T, c *cliEnv, name, password string) error {
	t.Helper()
	d, err := db.Open(context.Background(), c.spec)
	require.NoError(t, err)
	defer d.Close()
	_, _, err = auth.NewUsers(d, time.Now, auth.UserConfig{}).SignIn(context.Background(), name, password, "test")
	return err
}

func TestUserCommands(t *testing.T) {
	c := newCLI(t)
	out, _, err := c.run(t, "user", "create", "--role", "finance", "--name", "fin-wang", "--org", "wancheng-czj")
	require.NoError(t, err)
	pw := lastLine(out)
	require.Regexp(t, `^[A-Za-z0-9]{4}(-[A-Za-z0-9]{4}){3}$`, pw, "the generated password is the last line: %q", out)
	require.NoError(t, signIn(t, c, "fin-wang", pw), "the printed password signs in")
	require.ErrorIs(t, signIn(t, c, "fin-wang", pw+"x"), auth.ErrBadCredentials)

	out, _, err = c.run(t, "user", "list")
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`(?m)^fin-wang\s+finance\s+wancheng-czj\s+\S+Z\s+\S+Z\s+-$`), out)
	require.NotContains(t, out, pw, "the password is shown once")

	// reset gives a new password and the old one stops working.
	out, _, err = c.run(t, "user", "reset", "fin-wang")
	require.NoError(t, err)
	pw2 := lastLine(out)
	require.NotEqual(t, pw, pw2)
	require.ErrorIs(t, signIn(t, c, "fin-wang", pw), auth.ErrBadCredentials)
	require.NoError(t, signIn(t, c, "fin-wang", pw2))

	// A password from stdin is used and never printed.
	cfg, err := loadConfig(c.getenv)
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	chosen := "Nanyang-惠民-2026-a"
	require.NoError(t, user(context.Background(), cfg, []string{"create", "--role", "auditor", "--name", "aud-zhao", "--password-stdin"},
		strings.NewReader(chosen+"\r\n"), &stdout, &stderr))
	require.NotContains(t, stdout.String(), chosen)
	require.NoError(t, signIn(t, c, "aud-zhao", chosen))
	stdout.Reset()
	require.Error(t, user(context.Background(), cfg, []string{"create", "--role", "auditor", "--name", "aud-li", "--password-stdin"},
		strings.NewReader("short\n"), &stdout, &stderr), "the password policy holds for stdin too")

	out, _, err = c.run(t, "user", "disable", "fin-wang")
	require.NoError(t, err)
	require.Contains(t, out, "disabled user fin-wang")
	require.ErrorIs(t, signIn(t, c, "fin-wang", pw2), auth.ErrUserDisabled)
	out, _, err = c.run(t, "user", "list")
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`(?m)^fin-wang\s+finance\s+wancheng-czj\s+\S+Z\s+\S+Z\s+20\d\d-\S+Z$`), out)

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"an insurer", []string{"user", "create", "--role", "insurer", "--name", "picc"}},
		{"an unknown role", []string{"user", "create", "--role", "root", "--name", "x"}},
		{"a bad name", []string{"user", "create", "--role", "finance", "--name", "fin wang"}},
		{"a name taken", []string{"user", "create", "--role", "finance", "--name", "aud-zhao"}},
		{"disabling nobody", []string{"user", "disable", "nobody"}},
		{"resetting nobody", []string{"user", "reset", "nobody"}},
		{"no subcommand", []string{"user"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := c.run(t, tc.args...)
			require.Error(t, err)
		})
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/ledger"
	"huimin/policies"
	"huimin/server"
	"huimin/server/servertest"
)

// cli is one command line environment: a fresh SQLite database in a temp
// directory, and optional extra variables.
type cliEnv struct {
	dir  string
	spec string
	vars map[string]string
}

func newCLI(t *testing.T) *cliEnv {
	t.Helper()
	dir := t.TempDir()
	return &cliEnv{dir: dir, spec: "sqlite:" + filepath.Join(dir, "h.db"), vars: map[string]string{}}
}

func (c *cliEnv) getenv(k string) string {
	if v, ok := c.vars[k]; ok {
		return v
	}
	if k == "HUIMIN_DB" {
		return c.spec
	}
	return ""
}

// run runs the binary's run with args and returns stdout, stderr and the
// error.
func (c *cliEnv) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, c.getenv, &out, &errOut)
	return out.String(), errOut.String(), err
}

func requireExit(t *testing.T, err error, code int) {
	t.Helper()
	var ee exitError
	require.True(t, errors.As(err, &ee), "want exitError{%d}, got %v", code, err)
	require.Equal(t, code, ee.code)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestTokenCommands(t *testing.T) {
	c := newCLI(t)
	out, _, err := c.run(t, "token", "create", "--role", "finance", "--name", "fin-x")
	require.NoError(t, err)
	raw := lastLine(out)
	require.True(t, strings.HasPrefix(raw, "hm_"), "the raw token is the last line: %q", out)
	require.Greater(t, len(raw), 40)
	m := regexp.MustCompile(`\(id ([0-9A-Z]{26})\)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	id := m[1]

	// The token works against the application on the same database.
	d, err := db.Open(context.Background(), c.spec)
	require.NoError(t, err)
	p, err := auth.NewService(d, time.Now).Authenticate(context.Background(), raw)
	require.NoError(t, err)
	require.Equal(t, "fin-x", p.Name)
	require.Equal(t, auth.Finance, p.Role)
	require.NoError(t, d.Close())

	out, _, err = c.run(t, "token", "list")
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`(?m)^`+id+`\s+finance\s+fin-x\s+-\s+\S+\s+-$`), out)
	require.NotContains(t, out, raw, "the raw token is shown once")

	out, _, err = c.run(t, "token", "revoke", id)
	require.NoError(t, err)
	require.Contains(t, out, "revoked token "+id)
	out, _, err = c.run(t, "token", "list")
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`(?m)^`+id+`\s+finance\s+fin-x\s+-\s+\S+\s+20\d\d-\S+Z$`), out)

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"an unknown role", []string{"token", "create", "--role", "root", "--name", "x"}},
		{"a bad name", []string{"token", "create", "--role", "finance", "--name", "fin x"}},
		{"an insurer without an org", []string{"token", "create", "--role", "insurer", "--name", "picc"}},
		{"revoking an unknown id", []string{"token", "revoke", "01JZZZZZZZZZZZZZZZZZZZZZZZ"}},
		{"no subcommand", []string{"token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := c.run(t, tc.args...)
			require.Error(t, err)
		})
	}
	_, _, err = c.run(t, "token", "create", "--colour", "red")
	requireExit(t, err, 2)
}

func TestMigrateAndVersion(t *testing.T) {
	c := newCLI(t)
	out, _, err := c.run(t, "migrate", "status")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^00001\s+pending\s+`, out)
	pending := strings.Count(out, "pending")
	files, err := filepath.Glob("../../migrations/sqlite/*.sql")
	require.NoError(t, err)
	require.Equal(t, len(files), pending, "every migration file is pending on a fresh database")
	out, _, err = c.run(t, "migrate", "up")
	require.NoError(t, err)
	require.Contains(t, out, fmt.Sprintf("applied %d migration(s)", len(files)))
	out, _, err = c.run(t, "migrate", "status")
	require.NoError(t, err)
	require.Regexp(t, `(?m)^VERSION\s+STATE\s+FILE$`, out)
	require.Regexp(t, `(?m)^00001\s+applied\s+\S+\.sql$`, out)
	require.NotContains(t, out, "pending")
	out, _, err = c.run(t, "migrate", "up")
	require.NoError(t, err)
	require.Contains(t, out, "applied 0 migration(s)")
	_, _, err = c.run(t, "migrate", "down")
	require.Error(t, err)

	out, _, err = c.run(t, "version")
	require.NoError(t, err)
	require.Regexp(t, `^huimin \S+`, out)

	out, _, err = c.run(t, "help")
	require.NoError(t, err)
	require.Contains(t, out, "ledger verify FILE.csv")
}

func TestUsageAndConfigErrors(t *testing.T) {
	c := newCLI(t)
	_, stderr, err := c.run(t, "frobnicate")
	requireExit(t, err, 2)
	require.Contains(t, stderr, `unknown command "frobnicate"`)
	_, stderr, err = c.run(t)
	requireExit(t, err, 2)
	require.Contains(t, stderr, "usage: huimin")

	c.vars["HUIMIN_LOG_LEVEL"] = "chatty"
	_, _, err = c.run(t, "check")
	require.Error(t, err)
	require.ErrorContains(t, err, "HUIMIN_LOG_LEVEL")
	var ee exitError
	require.False(t, errors.As(err, &ee), "a config error is reported, not a bare exit code")
	for _, level := range []string{"debug", "INFO", "warn", "error"} {
		c.vars["HUIMIN_LOG_LEVEL"] = level
		_, _, err = c.run(t, "check")
		require.NoError(t, err, level)
	}
	delete(c.vars, "HUIMIN_LOG_LEVEL")

	c.vars["HUIMIN_SHUTDOWN_TIMEOUT"] = "soon"
	_, _, err = c.run(t, "check")
	require.ErrorContains(t, err, "HUIMIN_SHUTDOWN_TIMEOUT")
	delete(c.vars, "HUIMIN_SHUTDOWN_TIMEOUT")

	c.vars["HUIMIN_DB"] = "postgres:whatever"
	_, _, err = c.run(t, "check")
	require.Error(t, err)
}

// seeded opens the CLI's database, bootstraps it (the four seeded plans,
// each one fund entry) and tops one plan up twice, so the ledger has a
// chain longer than one entry.
func seeded(t *testing.T, c *cliEnv) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, c.spec)
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	_, err = d.Migrate(ctx)
	require.NoError(t, err)
	a := server.New(d, server.Config{})
	_, err = a.Bootstrap(ctx)
	require.NoError(t, err)
	who := audit.Who{Actor: "fin-wang", Role: auth.Finance}
	for _, amt := range []string{`"1000.00"`, `"234.56"`} {
		_, err := a.Plans.Fund(ctx, who, "ZKB-2026", policies.FundingInput{Amount: json.RawMessage(amt), Reason: "追加预算", Reference: "宛财〔2026〕1号"})
		require.NoError(t, err)
	}
	return d
}

func TestLedgerVerifyCommand(t *testing.T) {
	c := newCLI(t)
	d := seeded(t, c)
	var buf bytes.Buffer
	require.NoError(t, ledger.New(d, time.Now).Export(context.Background(), ledger.Filter{}, ledger.FormatCSV, &buf))
	good := filepath.Join(c.dir, "ledger.csv")
	require.NoError(t, os.WriteFile(good, buf.Bytes(), 0o600))

	out, _, err := c.run(t, "ledger", "verify", good)
	require.NoError(t, err)
	require.Contains(t, out, "intact: 6 entries")

	// One byte of an amount: 1000.00 → 1001.00.
	edited := bytes.Replace(buf.Bytes(), []byte(",1000.00,"), []byte(",1001.00,"), 1)
	require.NotEqual(t, buf.Bytes(), edited)
	bad := filepath.Join(c.dir, "edited.csv")
	require.NoError(t, os.WriteFile(bad, edited, 0o600))
	out, _, err = c.run(t, "ledger", "verify", bad)
	requireExit(t, err, 1)
	require.Contains(t, out, "NOT intact: line ")

	_, _, err = c.run(t, "ledger", "verify", filepath.Join(c.dir, "missing.csv"))
	require.Error(t, err)
	_, _, err = c.run(t, "ledger", "verify")
	require.Error(t, err)
	empty := filepath.Join(c.dir, "empty.csv")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	_, _, err = c.run(t, "ledger", "verify", empty)
	requireExit(t, err, 1)
}

func TestCheckCommand(t *testing.T) {
	c := newCLI(t)
	d := seeded(t, c)
	out, _, err := c.run(t, "check")
	require.NoError(t, err)
	require.Contains(t, out, "all invariants hold")

	require.NoError(t, d.Exec("UPDATE ledger_entries SET amount = amount + 1 WHERE plan_code = 'ZKB-2026' AND seq = 2").Error)
	out, _, err = c.run(t, "check")
	requireExit(t, err, 1)
	require.Contains(t, out, "BREACH ZKB-2026: ledger chain broken at seq 2")
	require.Contains(t, out, "invariant breach(es)")
}

// syncBuffer is what a server writes while the test reads it: the serve
// goroutine here, or a `huimin serve` subprocess's stdout and stderr
// (proc_test.go).
type syncBuffer = servertest.LockedBuffer

// serve runs `huimin serve` until stop is called and returns its base URL.
func (c *cliEnv) serve(t *testing.T) (base string, out *syncBuffer, stop func() error) {
	t.Helper()
	c.vars["HUIMIN_ADDR"] = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, c.getenv, out, &syncBuffer{}) }()
	re := regexp.MustCompile(`serving on (http://\S+)`)
	require.Eventually(t, func() bool { return re.MatchString(out.String()) }, 20*time.Second, 10*time.Millisecond, "serve did not start: %s", out)
	base = re.FindStringSubmatch(out.String())[1]
	return base, out, func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			return errors.New("serve did not stop")
		}
	}
}

func TestServeBootstrapsOnceAndStopsOnSignal(t *testing.T) {
	c := newCLI(t)
	base, out, stop := c.serve(t)
	m := regexp.MustCompile(`(?m)^(hm_\S+)$`).FindStringSubmatch(out.String())
	require.NotNil(t, m, "the first admin token is printed: %s", out)
	admin := m[1]

	resp, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/plans", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var plans struct{ Items []struct{ Code string } }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&plans))
	resp.Body.Close()
	require.Len(t, plans.Items, 4, "the four 2026 plans are seeded")
	require.NoError(t, stop())

	// A second start finds the admin token and the plans in place.
	_, out, stop = c.serve(t)
	require.NotContains(t, out.String(), "hm_")
	require.NoError(t, stop())
}

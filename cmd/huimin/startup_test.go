package main

// Servers started at the same moment on a fresh database (DESIGN §19): the
// migrations, the seeding and the first admin token race, and every server
// must come up — before, all but one exited with "plan ZKB-2026 already
// exists" or goose's "Table 'plans' already exists".

import (
	"database/sql"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startServersTogether starts one `huimin serve` per spec at the same
// moment (extra is added to each one's environment) and waits until every
// one serves; each is killed, and its log checked, when the test ends.
func startServersTogether(t testing.TB, specs []string, extra ...string) []*serverProc {
	t.Helper()
	bin := huiminBinary(t)
	var srv []*serverProc
	for _, spec := range specs {
		addr := freeAddr(t)
		s := &serverProc{URL: "http://" + addr, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
		s.cmd = exec.Command(bin, "serve")
		s.cmd.Dir = t.TempDir()
		s.cmd.Env = append(append(os.Environ(), "HUIMIN_DB="+spec, "HUIMIN_ADDR="+addr, "HUIMIN_LOG_LEVEL=info", "HUIMIN_SHUTDOWN_TIMEOUT=5s"), extra...)
		s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
		srv = append(srv, s)
	}
	for _, s := range srv {
		require.NoError(t, s.cmd.Start())
		go func() {
			s.waitErr = s.cmd.Wait()
			close(s.exited)
		}()
		t.Cleanup(func() {
			s.kill()
			s.requireCleanLog(t)
		})
	}
	deadline := time.After(90 * time.Second)
	for i, s := range srv {
		for !strings.Contains(s.stdout.String(), "huimin serving on ") {
			select {
			case <-s.exited:
				t.Fatalf("server %d exited before serving (%v)\nstdout:\n%s\nstderr:\n%s", i+1, s.waitErr, s.stdout, s.stderr)
			case <-deadline:
				t.Fatalf("server %d did not start within 90s\nstdout:\n%s\nstderr:\n%s", i+1, s.stdout, s.stderr)
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return srv
}

// adminTokens are the admin tokens the servers printed, all of them.
func adminTokens(srv []*serverProc) []string {
	var tokens []string
	for _, s := range srv {
		for _, line := range strings.Split(s.stdout.String(), "\n") {
			if strings.HasPrefix(line, "hm_") {
				tokens = append(tokens, strings.TrimSpace(line))
			}
		}
	}
	return tokens
}

func TestServersStartedTogetherOnAFreshDatabase(t *testing.T) {
	cfg := mysqlDatabase(t)
	spec := "mysql:" + cfg.FormatDSN()
	srv := startServersTogether(t, []string{spec, spec, spec, spec})
	tokens := adminTokens(srv)
	require.Len(t, tokens, 1, "exactly one server creates and prints the first admin token")

	conn, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	defer conn.Close()
	var plans, admins, fundings int
	require.NoError(t, conn.QueryRow("SELECT COUNT(*) FROM plans").Scan(&plans))
	require.NoError(t, conn.QueryRow("SELECT COUNT(*) FROM tokens WHERE role = 'admin'").Scan(&admins))
	require.NoError(t, conn.QueryRow("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'fund'").Scan(&fundings))
	require.Equal(t, []int{4, 1, 4}, []int{plans, admins, fundings}, "the four seed plans, funded once each, and one admin token")
	for _, s := range srv {
		d := &deployment{srv: s, http: &http.Client{Timeout: 10 * time.Second}}
		st, body, err := d.call("GET", "/api/v1/plans", tokens[0], nil, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, st, "every server serves: %s", body)
	}
	runCheck(t, spec)
}

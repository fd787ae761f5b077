package main

// The fault tests of DESIGN §10 run against the real binary: `huimin serve`
// runs as a subprocess on a real database while clients load it, and the
// test breaks things underneath — kill -9 (kill_test.go), a database that
// stops answering (outage_test.go), a full disk or one that turns read-only
// (disk_test.go) — then checks that every acknowledged write survived, that
// the API answered 503 (never 500, never late) while it could not write,
// that it recovered by itself, and that `huimin check` finds every ledger and
// budget invariant intact. The longer versions are in soak_test.go (build
// tag soak, `make soak`).
//
// This file holds the process side of that: building the binary once,
// starting, stopping and killing one `huimin serve`, checking its log, and
// running `huimin check`.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ---- the binary --------------------------------------------------------------

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// huiminBinary builds cmd/huimin once per test process — with the race
// detector when the tests run with it, so races in the server under load are
// caught too (its stderr is checked for race reports).
func huiminBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		start := time.Now()
		if binDir, buildErr = os.MkdirTemp("", "huimin-fault-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "huimin")
		args := []string{"build", "-o", binPath}
		if raceEnabled() {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "huimin/cmd/huimin")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		fmt.Fprintf(os.Stderr, "fault tests: built huimin (race=%v) in %s\n", raceEnabled(), time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatalf("build huimin: %v", buildErr)
	}
	return binPath
}

func raceEnabled() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// ---- one server process --------------------------------------------------------

// serverProc is one `huimin serve` subprocess.
type serverProc struct {
	cmd            *exec.Cmd
	URL            string
	stdout, stderr *syncBuffer
	exited         chan struct{}
	waitErr        error
	secrets        []string // what must never reach its log
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// startServer runs `huimin serve` on spec and waits until it serves. It is
// killed when the test ends, if it has not stopped before.
func startServer(t testing.TB, spec string, secrets []string) *serverProc {
	t.Helper()
	bin := huiminBinary(t)
	addr := freeAddr(t)
	s := &serverProc{URL: "http://" + addr, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{}), secrets: secrets}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Dir = t.TempDir()
	s.cmd.Env = append(os.Environ(), "HUIMIN_DB="+spec, "HUIMIN_ADDR="+addr, "HUIMIN_LOG_LEVEL=info", "HUIMIN_SHUTDOWN_TIMEOUT=5s")
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	require.NoError(t, s.cmd.Start())
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.kill()
		s.requireCleanLog(t)
	})
	deadline := time.After(60 * time.Second)
	for !strings.Contains(s.stdout.String(), "huimin serving on ") {
		select {
		case <-s.exited:
			t.Fatalf("huimin serve exited before serving (%v)\nstdout:\n%s\nstderr:\n%s", s.waitErr, s.stdout, s.stderr)
		case <-deadline:
			t.Fatalf("huimin serve did not start within 60s\nstdout:\n%s\nstderr:\n%s", s.stdout, s.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return s
}

// adminToken is the token the first serve on an empty database prints.
func (s *serverProc) adminToken(t testing.TB) string {
	t.Helper()
	for _, line := range strings.Split(s.stdout.String(), "\n") {
		if strings.HasPrefix(line, "hm_") {
			return strings.TrimSpace(line)
		}
	}
	t.Fatalf("no admin token in the output of the first serve:\n%s", s.stdout)
	return ""
}

func (s *serverProc) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// kill is kill -9: no shutdown, no flush, no closing of the database.
func (s *serverProc) kill() {
	if s.alive() {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-s.exited
}

// stop is a graceful stop (SIGTERM), which must end with exit status 0.
func (s *serverProc) stop(t testing.TB) {
	t.Helper()
	require.True(t, s.alive(), "the server died on its own: %v\n%s", s.waitErr, s.stderr)
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.kill()
		t.Fatalf("huimin serve did not stop within 20s of SIGTERM")
	}
	require.NoError(t, s.waitErr, "a graceful stop exits 0\n%s", s.stderr)
}

// requireCleanLog fails when the server's log holds a race report, a
// panic, a 500, or any id or account number the test put in the registry.
func (s *serverProc) requireCleanLog(t testing.TB) {
	t.Helper()
	log := s.stderr.String()
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", `"status":500`} {
		if i := strings.Index(log, bad); i >= 0 {
			t.Errorf("the server log holds %q:\n%s", bad, excerpt(log, i))
		}
	}
	for _, secret := range s.secrets {
		if i := strings.Index(log, secret); i >= 0 {
			t.Errorf("the server log holds an id or account number (DESIGN §9):\n%s", excerpt(log, i))
			return
		}
	}
}

func excerpt(s string, i int) string {
	return s[max(0, i-1000):min(len(s), i+3000)]
}

// runCheck runs `huimin check` on spec and requires exit 0.
func runCheck(t testing.TB, spec string) {
	t.Helper()
	cmd := exec.Command(huiminBinary(t), "check")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "HUIMIN_DB="+spec)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "huimin check:\n%s", out)
	require.Contains(t, string(out), "all invariants hold")
}

package huimin_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReadmeWalkthrough runs the README's walkthrough as a newcomer pastes
// it: every ```sh block of the "Walkthrough" section, in order, in one bash
// session (so variables carry from block to block), with `set -euo
// pipefail`, against `huimin serve` on a fresh embedded database — the
// service `make run` starts. The blocks run in a scratch directory that
// holds bin/huimin and the repository's files by symlink, so nothing is
// written into the clone. A block that fails fails the test with its text
// and output: the walkthrough cannot rot.
func TestReadmeWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("the walkthrough needs %s (.ci/run installs it)", tool)
			}
			t.Skipf("the walkthrough needs %s", tool)
		}
	}
	blocks := walkthroughBlocks(t)
	require.NotEmpty(t, blocks)

	work := t.TempDir()
	root, err := os.Getwd()
	require.NoError(t, err)
	entries, err := os.ReadDir(root)
	require.NoError(t, err)
	for _, e := range entries {
		if name := e.Name(); name != "bin" && name != "huimin-data" && !strings.HasPrefix(name, ".") {
			require.NoError(t, os.Symlink(filepath.Join(root, name), filepath.Join(work, name)))
		}
	}
	bin := filepath.Join(work, "bin", "huimin")
	build := exec.Command("go", "build", "-o", bin, "./cmd/huimin")
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build: %s", out)

	port := freePort(t)
	env := append(os.Environ(), "HUIMIN_ADDR=127.0.0.1:"+port, "HUIMIN_DB=", "HUIMIN_LOG_LEVEL=warn")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serve := exec.CommandContext(ctx, bin, "serve")
	serve.Dir, serve.Env = work, env
	var serveOut bytes.Buffer
	serve.Stdout, serve.Stderr = &serveOut, &serveOut
	require.NoError(t, serve.Start())
	t.Cleanup(func() { cancel(); _ = serve.Wait() })
	base := "http://127.0.0.1:" + port
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 100*time.Millisecond, "the server did not become ready: %s", &serveOut)

	// One bash for all blocks; each block is followed by a marker line so
	// a failure is pinned to its block.
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	fmt.Fprintf(&script, "export HUIMIN=%s\n", base)
	for i, b := range blocks {
		fmt.Fprintf(&script, "echo '>>> block %d'\n%s\n", i+1, b.text)
	}
	script.WriteString("echo '>>> done'\n")
	sh := exec.Command("bash", "-c", script.String())
	sh.Dir, sh.Env = work, append(env, "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
	var shOut bytes.Buffer
	sh.Stdout, sh.Stderr = &shOut, &shOut
	err = sh.Run()
	log := shOut.String()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(log), ">>> done") {
		last := 0
		for i := range blocks {
			if strings.Contains(log, fmt.Sprintf(">>> block %d\n", i+1)) {
				last = i
			}
		}
		t.Fatalf("README walkthrough block %d (line %d) failed: %v\n--- block ---\n%s\n--- output (tail) ---\n%s\n--- server ---\n%s",
			last+1, blocks[last].line, err, blocks[last].text, tail(log, 4000), tail(serveOut.String(), 2000))
	}
	t.Logf("%d blocks ran", len(blocks))
}

type readmeBlock struct {
	line int
	text string
}

// walkthroughBlocks returns the ```sh blocks between "## Walkthrough" and
// the next second-level heading.
func walkthroughBlocks(t *testing.T) []readmeBlock {
	f, err := os.Open("README.md")
	require.NoError(t, err)
	defer f.Close()
	var blocks []readmeBlock
	in, inBlock := false, false
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## Walkthrough"
		case in && !inBlock && line == "```sh":
			inBlock, start = true, n
			cur.Reset()
		case inBlock && line == "```":
			inBlock = false
			blocks = append(blocks, readmeBlock{start, cur.String()})
		case inBlock:
			cur.WriteString(line + "\n")
		}
	}
	require.NoError(t, sc.Err())
	return blocks
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

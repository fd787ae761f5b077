package docs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// redocly is the Redocly CLI the lint runs, pinned: a new release may add
// rules, and the document should change on purpose, not with the registry.
const redocly = "@redocly/cli@2.77.0"

// TestOpenAPILintsClean lints openapi.yaml with an independent validator,
// Redocly CLI, under the repository's redocly.yaml (its recommended
// ruleset), and fails on any error or warning, or on a problem hidden by an
// ignore file. Without npx it is skipped locally and fails in CI (CI=true),
// where .ci/run installs Node.js and npm.
func TestOpenAPILintsClean(t *testing.T) {
	npx, err := exec.LookPath("npx")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("npx is not installed, and CI must lint docs/openapi.yaml (.ci/run installs nodejs and npm): %v", err)
		}
		t.Skip("npx is not installed: the OpenAPI lint runs in CI (CI=true); install Node.js and npm to run it here")
	}
	requireNode(t)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lint := func(format string) (stdout, stderr []byte, err error) {
		cmd := exec.CommandContext(ctx, npx, "--yes", redocly, "lint", "--config", "../redocly.yaml", "--format", format, "openapi.yaml")
		// No usage data sent from CI, and no update notice in the output.
		cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err = cmd.Run()
		return out.Bytes(), errOut.Bytes(), err
	}

	out, errOut, runErr := lint("json")
	var report struct {
		Totals struct {
			Errors, Warnings, Ignored int
		}
		Version  string
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string
			Message  string
			Location []struct {
				Pointer string
			}
		}
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("redocly lint did not answer its JSON report (run error: %v): %v\nstdout:\n%s\nstderr:\n%s", runErr, err, out, errOut)
	}
	if want := strings.TrimPrefix(redocly, "@redocly/cli@"); report.Version != want {
		t.Fatalf("redocly lint is version %q, not the pinned %s", report.Version, want)
	}
	if report.Totals.Errors+report.Totals.Warnings+report.Totals.Ignored == 0 && runErr == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "docs/openapi.yaml: %d errors, %d warnings, %d ignored (an ignore file hides problems; fix them instead) under %s:\n",
		report.Totals.Errors, report.Totals.Warnings, report.Totals.Ignored, redocly)
	for _, p := range report.Problems {
		where := ""
		if len(p.Location) > 0 {
			where = p.Location[0].Pointer
		}
		fmt.Fprintf(&b, "  %s %s at %s: %s\n", p.Severity, p.RuleID, where, p.Message)
	}
	// The same run in Redocly's own format, with the lines of the document.
	frame, frameErr, _ := lint("codeframe")
	t.Fatalf("%s\n%s%s\n(exit: %v)", b.String(), frame, frameErr, runErr)
}

// requireNode fails (skips outside CI) when Node.js is not one the pinned
// Redocly CLI accepts (its engines: >=20.19 <21 or >=22.12; Debian 12's own
// nodejs is 18): npx would install it with a warning, and the run would
// fail in ways that do not say so.
func requireNode(t *testing.T) {
	t.Helper()
	out, err := exec.Command("node", "--version").Output()
	m := regexp.MustCompile(`^v(\d+)\.(\d+)\.`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("npx is installed but `node --version` fails (%v): %q", err, out)
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	if major > 22 || (major == 22 && minor >= 12) || (major == 20 && minor >= 19) {
		return
	}
	msg := fmt.Sprintf("%s needs Node.js 20.19+ (not 21) or 22.12+, and this is %s", redocly, bytes.TrimSpace(out))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

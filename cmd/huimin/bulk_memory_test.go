package main

// The memory a bulk request costs the server, measured on the real binary:
// its peak RSS (VmHWM) while it takes 31 MiB claim batches, one at a time
// and several at once, with and without the bulk limit (HUIMIN_MAX_BULK_MIB)
// in the way. BENCHMARKS.md records the figures and the command.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// batchBytes is the size of each batch: just under the 32 MiB bulk body
// limit, with claims.MaxBatch claims.
const (
	batchBytes  = 31 << 20
	batchClaims = 10000
	bigBatchMiB = batchBytes >> 20 // what one batch counts against the bulk budget
)

// bigBatch is a claim batch of batchClaims claims for d's people, about
// batchBytes long: each claim carries ten evidence items whose URIs pad it
// to size, as scanned documents' locations would.
func (d *deployment) bigBatch(tb testing.TB, tag string) []byte {
	tb.Helper()
	claim := func(i, uriLen int) map[string]any {
		ref := fmt.Sprintf("MEM-%s-%d", tag, i)
		ev := make([]map[string]string, 10)
		for k := range ev {
			uri := fmt.Sprintf("https://docs.example.cn/%s/%d/", ref, k)
			ev[k] = map[string]string{"kind": "settlement_sheet", "sha256": strings.Repeat("5e", 32),
				"uri": uri + strings.Repeat("x", max(0, uriLen-len(uri)))}
		}
		return map[string]any{
			"plan": faultPlan, "external_ref": ref, "beneficiary_id": d.people[i%len(d.people)],
			"event_date": d.eventDate, "cause": "medical",
			"facts": map[string]any{
				"service_type": "inpatient", "bill_ref": "BILL-" + ref, "total_cost": "1300.00",
				"policy_scope_cost": "1200.00", "basic_insurance_paid": "0",
				"critical_illness_paid": "0", "medical_assistance_paid": "0",
			},
			"evidence": ev,
		}
	}
	bare, err := json.Marshal(claim(0, 0))
	require.NoError(tb, err)
	uriLen := 40 + (batchBytes/batchClaims-len(bare))/10
	claims := make([]any, batchClaims)
	for i := range claims {
		claims[i] = claim(i, uriLen)
	}
	body, err := json.Marshal(map[string]any{"claims": claims})
	require.NoError(tb, err)
	require.Less(tb, len(body), 32<<20, "within the bulk body limit")
	return body
}

// procStatus reads a field of /proc/PID/status in KiB (VmHWM, VmRSS).
func procStatus(tb testing.TB, pid int, field string) int64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(tb, err)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(tb, err)
			return kb
		}
	}
	tb.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// BenchmarkBulkMemory reports the server's peak RSS while it takes
// concurrent 31 MiB claim batches on MariaDB: one batch; eight at once with
// HUIMIN_MAX_BULK_MIB=256, so all eight run (what any number did before the
// limit); and eight at once with the default budget of 64 MiB, which serves
// two and refuses the others with 503 before reading their bodies. Each case is a fresh server,
// its peak reset (/proc/PID/clear_refs) once it is deployed and idle. Run it
// without the race detector, once:
//
//	CI=true go test -run '^$' -bench BulkMemory -benchtime 1x -timeout 30m ./cmd/huimin/
func BenchmarkBulkMemory(b *testing.B) {
	for _, tc := range []struct {
		name               string
		budgetMiB, batches int
	}{
		{"one_batch", 64, 1},
		{"8_at_once_budget_256MiB", 256, 8},
		{"8_at_once_budget_64MiB", 64, 8},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.Setenv("HUIMIN_MAX_BULK_MIB", strconv.Itoa(tc.budgetMiB))
			d := deploy(b, "mysql:"+mysqlDatabase(b).FormatDSN(), 1000)
			client := &http.Client{Timeout: 10 * time.Minute}
			var served, refused int
			var took time.Duration
			var peak, idle int64
			for n := range b.N {
				bodies := make([][]byte, tc.batches)
				for i := range bodies {
					bodies[i] = d.bigBatch(b, fmt.Sprintf("%s-%d-%d", tc.name, n, i))
				}
				pid := d.srv.cmd.Process.Pid
				require.NoError(b, os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0))
				idle = procStatus(b, pid, "VmRSS")
				statuses := make([]int, len(bodies))
				start := time.Now()
				var wg sync.WaitGroup
				for i, body := range bodies {
					wg.Go(func() {
						req, err := http.NewRequest(http.MethodPost, d.srv.URL+"/api/v1/claim-batches", bytes.NewReader(body))
						if err != nil {
							return
						}
						req.Header.Set("Content-Type", "application/json")
						req.Header.Set("Authorization", "Bearer "+d.insurer)
						resp, err := client.Do(req)
						if err != nil {
							return // a refused upload may be cut off mid-body
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						_ = resp.Body.Close()
						statuses[i] = resp.StatusCode
					})
				}
				wg.Wait()
				took += time.Since(start)
				peak = max(peak, procStatus(b, pid, "VmHWM"))
				for _, st := range statuses {
					switch st {
					case http.StatusOK:
						served++
					default:
						refused++
					}
				}
			}
			require.Positive(b, served, "at least one batch was served")
			if tc.batches*bigBatchMiB > tc.budgetMiB {
				require.Positive(b, refused, "the bulk limit refused the batches over it")
			} else {
				require.Zero(b, refused, "every batch within the limit was served")
			}
			b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
			b.ReportMetric(float64(idle)/1024, "idle-RSS-MiB")
			b.ReportMetric(float64(served)/float64(b.N), "served/op")
			b.ReportMetric(float64(refused)/float64(b.N), "refused/op")
			b.ReportMetric(took.Seconds()/float64(b.N), "s/op")
			d.srv.stop(b)
		})
	}
}

package payouts_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/ledger"
)

// benchEntries is how many ledger entries the export benchmark writes:
// HUIMIN_BENCH_ENTRIES, default 100000.
func benchEntries(b *testing.B) int {
	n := 100000
	if v := os.Getenv("HUIMIN_BENCH_ENTRIES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2 {
			b.Fatalf("HUIMIN_BENCH_ENTRIES=%q: want an integer ≥ 2", v)
		}
	}
	return n
}

// fillLedger writes a valid chain of n entries for plan straight into the
// database with multi-row INSERTs: one fund entry, then reserves of 1.00
// each, and sets the plan's budget row to match, so Verify and Check hold.
func fillLedger(b *testing.B, d *db.DB, plan string, n int) {
	ctx := context.Background()
	start := time.Date(2026, 6, 15, 2, 0, 0, 0, time.UTC).UnixMilli()
	reserves := int64(n - 1)
	funded := reserves*100 + 100000
	if err := d.Exec("INSERT INTO budgets (plan_code, funded, available, reserved, in_payment, paid, last_seq, last_hash, settlements, updated_at) VALUES (?,?,?,?,0,0,0,?,0,?)",
		plan, funded, funded-reserves*100, reserves*100, ledger.GenesisHash, start).Error; err != nil {
		b.Fatal(err)
	}
	const perInsert = 2000
	const cols = "(plan_code, seq, kind, claim_id, amount, from_account, to_account, actor, at, beneficiary_id, county_code, reference, prev_hash, hash)"
	prev := ledger.GenesisHash
	var sql strings.Builder
	args := make([]any, 0, perInsert*14)
	flush := func() {
		if len(args) == 0 {
			return
		}
		if _, err := d.SQL.ExecContext(ctx, sql.String(), args...); err != nil {
			b.Fatal(err)
		}
		sql.Reset()
		args = args[:0]
	}
	for i := 1; i <= n; i++ {
		e := ledger.Entry{PlanCode: plan, Seq: int64(i), Kind: ledger.Reserve, Amount: 100, Actor: "fin-wang",
			At: start + int64(i), CountyCode: "411325", PrevHash: prev,
			ClaimID: fmt.Sprintf("01JBENCH%018d", i), BeneficiaryID: fmt.Sprintf("411325198001%06d", i%1000000)}
		if i == 1 {
			e.Kind, e.Amount, e.ClaimID, e.BeneficiaryID, e.CountyCode = ledger.Fund, funded, "", "", ""
		}
		flow := ledger.Flow[e.Kind]
		e.FromAccount, e.ToAccount = flow[0], flow[1]
		e.Hash = ledger.ChainHash(e.PrevHash, e.Canonical())
		prev = e.Hash
		if sql.Len() == 0 {
			sql.WriteString("INSERT INTO ledger_entries " + cols + " VALUES ")
		} else {
			sql.WriteString(",")
		}
		sql.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
		args = append(args, e.PlanCode, e.Seq, e.Kind, e.ClaimID, e.Amount, e.FromAccount, e.ToAccount, e.Actor, e.At,
			e.BeneficiaryID, e.CountyCode, "", e.PrevHash, e.Hash)
		if i%perInsert == 0 {
			flush()
		}
	}
	flush()
	if err := d.Exec("UPDATE budgets SET last_seq = ?, last_hash = ? WHERE plan_code = ?", n, prev, plan).Error; err != nil {
		b.Fatal(err)
	}
}

// mariadbBatch times the yardstick of DESIGN §12: the mariadb client
// selecting the same rows with --batch into a file. It reports false when no
// client is installed.
func mariadbBatch(b *testing.B, d *db.DB, plan string) (time.Duration, bool) {
	client, err := exec.LookPath("mariadb")
	if err != nil {
		if client, err = exec.LookPath("mysql"); err != nil {
			return 0, false
		}
	}
	cfg, err := mysql.ParseDSN(testdb.MySQLDSN())
	if err != nil {
		b.Fatal(err)
	}
	var name string
	if err := d.Raw("SELECT DATABASE()").Scan(&name).Error; err != nil {
		b.Fatal(err)
	}
	host, port, _ := strings.Cut(cfg.Addr, ":")
	out, err := os.Create(filepath.Join(b.TempDir(), "batch.tsv"))
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	args := []string{"--batch", "-h", host, "-P", or(port, "3306"), "-u", cfg.User, name, "-e",
		"SELECT plan_code, seq, kind, claim_id, amount, from_account, to_account, actor, at, beneficiary_id, county_code, reference, prev_hash, hash " +
			"FROM ledger_entries WHERE plan_code = '" + plan + "' ORDER BY plan_code, seq"}
	if cfg.Passwd != "" {
		args = append(args, "-p"+cfg.Passwd)
	}
	cmd := exec.Command(client, args...)
	cmd.Stdout = out
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v", client, err)
	}
	return time.Since(t0), true
}

// peakRSS reads the process's resident high-water mark (VmHWM) on Linux.
func peakRSS() (uint64, bool) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// lineCounter is an io.Writer that keeps only the byte and line counts.
type lineCounter struct{ bytes, lines int64 }

func (w *lineCounter) Write(p []byte) (int, error) {
	w.bytes += int64(len(p))
	w.lines += int64(bytes.Count(p, []byte{'\n'}))
	return len(p), nil
}

// heapPeak samples HeapInuse until stopped and returns the peak above the
// baseline taken at start (after a GC).
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	peak.Store(base)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		if p := peak.Load(); p > base {
			return p - base
		}
		return 0
	}
}

// BenchmarkLedgerExport streams a plan's ledger of HUIMIN_BENCH_ENTRIES
// entries from MariaDB as CSV to io.Discard (a line counter) and reports
// entries/s and the heap the export needed above the baseline, which must
// not grow with the number of entries (DESIGN §8, §12).
//
//	HUIMIN_BENCH_ENTRIES=1000000 go test -run '^$' -bench LedgerExport -benchtime 1x ./payouts/
func BenchmarkLedgerExport(b *testing.B) {
	n := benchEntries(b)
	d := testdb.Open(b, "mysql")
	plan := "BENCH-EXPORT"
	setup := time.Now()
	fillLedger(b, d, plan, n)
	b.Logf("inserted %d entries in %s", n, time.Since(setup).Round(time.Millisecond))
	svc := ledger.New(d, time.Now)
	ctx := context.Background()
	// Measure the export's resident set, not the fill's: return the fill's
	// memory to the OS and reset the kernel's high-water mark.
	debug.FreeOSMemory()
	rssReset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil

	var (
		w         lineCounter
		peak      uint64
		elapsed   time.Duration
		runs      int
		allocated uint64
		ms        runtime.MemStats
	)
	for b.Loop() {
		w = lineCounter{}
		stop := heapPeak()
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		t0 := time.Now()
		if err := svc.Export(ctx, ledger.Filter{Plan: plan}, ledger.FormatCSV, &w); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(t0)
		runtime.ReadMemStats(&ms)
		allocated += ms.TotalAlloc - before
		peak = max(peak, stop())
		runs++
	}
	if hwm, ok := peakRSS(); ok && rssReset {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
	}
	if base, ok := mariadbBatch(b, d, plan); ok {
		ours := float64(n) * float64(runs) / elapsed.Seconds()
		b.ReportMetric(float64(n)/base.Seconds(), "mariadb-batch-entries/s")
		b.ReportMetric(ours/(float64(n)/base.Seconds()), "ratio-to-mariadb")
	}
	if w.lines != int64(n)+1 {
		b.Fatalf("the export has %d lines, want %d entries and the header", w.lines, n+1)
	}
	b.ReportMetric(float64(n)*float64(runs)/elapsed.Seconds(), "entries/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(w.bytes)/float64(n), "bytes/entry")
	b.ReportMetric(float64(allocated)/float64(n)/float64(runs), "alloc-B/entry")

	// The exported chain is intact, so the data measured is a real ledger.
	if n <= 200000 {
		v, err := svc.Verify(ctx, plan)
		if err != nil || !v.OK {
			b.Fatalf("verify: %+v %v", v, err)
		}
	}
}

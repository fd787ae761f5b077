package prevention_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// benchPeople registers n people straight into the registry tables, two to
// a household, each marginal_at_risk (FPB) and illness_poverty (ZKB).
func benchPeople(b *testing.B, e *env, n int) []string {
	b.Helper()
	ids := make([]string, n)
	people := make([]servertest.Person, n)
	for i := range n {
		ids[i] = servertest.ResidentID(200000 + i)
		people[i] = servertest.Person{ID: ids[i], Name: "受益人", Household: fmt.Sprintf("HH-PB-%d", i/2),
			County: []string{"411325", "411326", "411381"}[i%3], Categories: []string{"marginal_at_risk", "illness_poverty"}}
	}
	servertest.InsertPeople(b, e.d, people...)
	return ids
}

// BenchmarkSimulate100k: the what-if of a lower illness deductible on a
// 防贫保 plan of 100,000 claims (50,000 people, two to a household, so that
// claims accumulate; a 政康保 claim on every tenth bill, so that offsets
// apply), on SQLite and on MariaDB, through the router (POST
// …/simulations, JSON answer). DESIGN §20's target: under 5 s.
//
//	CI=true go test -run '^$' -bench Simulate100k -benchtime 3x ./prevention/
func BenchmarkSimulate100k(b *testing.B) {
	for _, dialect := range testdb.Dialects {
		b.Run(dialect, func(b *testing.B) { benchSimulate(b, dialect) })
	}
}

func benchSimulate(b *testing.B, dialect string) {
	d := testdb.Open(b, dialect)
	e := newEnv(b, d)
	const n = 100000
	people := benchPeople(b, e, n/2)
	start := time.Now()
	bodies := make([][]byte, 0, 10000)
	flush := func() {
		if len(bodies) == 0 {
			return
		}
		ans, err := e.h.App.Claims.SubmitBatch(context.Background(), insurer, bodies)
		require.NoError(b, err)
		require.Zero(b, ans.Summary.Failed)
		bodies = bodies[:0]
	}
	for j := range n + n/10 {
		var c map[string]any
		id := people[j%len(people)]
		if j%11 == 10 { // the 政康保 claim of an earlier FPB bill
			k := j - 10
			c = map[string]any{"plan": "ZKB-2026", "cause": "medical", "evidence": evidenceOf("settlement_sheet"), "facts": map[string]any{
				"service_type": "inpatient", "bill_ref": fmt.Sprintf("PB-%d", k), "total_cost": "9000.00", "policy_scope_cost": "8000.00",
				"basic_insurance_paid": "3000.00", "critical_illness_paid": "0", "medical_assistance_paid": "0"}}
			id = people[k%len(people)]
		} else {
			c = map[string]any{"plan": "FPB-2026", "cause": "illness", "evidence": evidenceOf("settlement_sheet", "invoice"), "facts": map[string]any{
				"household_income_per_capita": "4200.00", "bill_ref": fmt.Sprintf("PB-%d", j), "self_pay": fmt.Sprintf("%d.%02d", 1000+j%9000, j%100)}}
		}
		c["external_ref"], c["beneficiary_id"], c["event_date"] = fmt.Sprintf("pb-%d", j), id, fmt.Sprintf("2026-%02d-%02d", 1+j%5, 1+j%28)
		bodies = append(bodies, mustJSON(b, c))
		if len(bodies) == cap(bodies) {
			flush()
		}
	}
	flush()
	fpb := servertest.Count(b, d, "claims", "plan_code = ?", "FPB-2026")
	b.Logf("filed %d claims (%d FPB) in %s", servertest.Count(b, d, "claims", "1 = 1"), fpb, time.Since(start).Round(time.Second))

	body := map[string]any{"rules": map[string]any{"causes": map[string]any{"illness": map[string]any{"deductible": "3000.00"}}}}
	var elapsed, goCPU, dbCPU time.Duration
	for b.Loop() {
		t0, g0, m0 := time.Now(), processCPU(), serverCPU(dialect)
		r := e.h.Raw(servertest.Request{Method: http.MethodPost, Path: "/api/v1/plans/FPB-2026/simulations", Token: "finance", Body: body})
		elapsed, goCPU, dbCPU = elapsed+time.Since(t0), goCPU+processCPU()-g0, dbCPU+serverCPU(dialect)-m0
		require.Equal(b, http.StatusOK, r.Status, "%s", r.Body)
		require.Contains(b, string(r.Body), fmt.Sprintf(`"claims":%d`, fpb))
	}
	reportTimes(b, elapsed, goCPU, dbCPU, "simulation")
	b.ReportMetric(float64(fpb)*float64(b.N)/elapsed.Seconds(), "claims/s")
}

// BenchmarkImportRecords100k: a settlement file of 100,000 records (12 MB,
// 50,000 registered people, two bills each) through the router on
// MariaDB. DESIGN §20's target: under 10 s.
//
//	CI=true go test -run '^$' -bench ImportRecords100k -benchtime 3x ./prevention/
func BenchmarkImportRecords100k(b *testing.B) {
	d := testdb.Open(b, "mysql")
	e := newEnv(b, d)
	const n = 100000
	people := benchPeople(b, e, n/2)
	var elapsed, goCPU, dbCPU time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		var sb strings.Builder
		sb.WriteString(csvOf())
		for j := range n {
			sb.WriteString(settlement{people[j%len(people)], fmt.Sprintf("2026-%02d-%02d", 1+j%5, 1+j%28), "南阳市中心医院", "inpatient",
				fmt.Sprintf("MB-%d-%d", i, j), "30000.00", "26000.00", "15000.00", "3000.00", "2000.00", "9000.00"}.line() + "\r\n")
		}
		file := []byte(sb.String())
		b.StartTimer()
		t0, g0, m0 := time.Now(), processCPU(), mariadbCPU()
		r := e.h.Raw(e.importRequest(file, "text/csv; charset=utf-8"))
		elapsed, goCPU, dbCPU = elapsed+time.Since(t0), goCPU+processCPU()-g0, dbCPU+mariadbCPU()-m0
		require.Equal(b, http.StatusOK, r.Status, "%s", r.Body)
		require.Contains(b, string(r.Body), fmt.Sprintf(`"created":%d`, n))
	}
	reportTimes(b, elapsed, goCPU, dbCPU, "import")
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "records/s")
}

// reportTimes reports the wall time of one op and the CPU time it took in
// this process and in the local MariaDB server: on a machine shared with
// other work the wall time says little, and (Go + MariaDB CPU) / cores is
// what the op needs of an idle one at best, their sum at worst.
func reportTimes(b *testing.B, elapsed, goCPU, dbCPU time.Duration, op string) {
	n := float64(b.N)
	b.ReportMetric(elapsed.Seconds()/n, "s/"+op)
	b.ReportMetric(goCPU.Seconds()/n, "go-cpu-s/"+op)
	if dbCPU > 0 {
		b.ReportMetric(dbCPU.Seconds()/n, "db-cpu-s/"+op)
	}
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU is the CPU time of the database server: MariaDB's, none for
// SQLite (its work is this process's).
func serverCPU(dialect string) time.Duration {
	if dialect != "mysql" {
		return 0
	}
	return mariadbCPU()
}

// mariadbCPU is the CPU time the oldest local mariadbd (or mysqld) has
// used, from /proc; 0 when there is none to read.
func mariadbCPU() time.Duration {
	for _, name := range []string{"mariadbd", "mysqld"} {
		out, err := exec.Command("pgrep", "-o", "-x", name).Output()
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + strings.TrimSpace(string(out)) + "/stat")
		if err != nil {
			return 0
		}
		// The fields after the command's closing parenthesis: utime and
		// stime are the 12th and 13th, in clock ticks (100 a second).
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 13 {
			return 0
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		return time.Duration(u+s) * 10 * time.Millisecond
	}
	return 0
}

package server_test

import (
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/money"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// TestBusinessMetrics: /metrics names the build and the database pool, and
// each plan's budget accounts equal the budget the API answers, to the fen.
func TestBusinessMetrics(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		servertest.RequireStatus(t, h.Post(t, "finance", "/api/v1/plans/ZKB-2026/funding",
			map[string]any{"amount": "1234567.89", "reason": "县级配套资金", "reference": "宛财〔2026〕12号"}), 201)

		csv, err := os.ReadFile("../policies/testdata/registry_gbk.csv")
		require.NoError(t, err)
		r := h.Do(t, servertest.Request{Method: "POST", Path: "/api/v1/beneficiaries/import", Token: "admin", Body: csv,
			Header: map[string]string{"Content-Type": "text/csv; charset=GBK"}})
		servertest.RequireStatus(t, r, 200)
		var imported struct {
			Created int `json:"created"`
		}
		r.JSON(t, &imported)
		require.Positive(t, imported.Created)

		var plan struct {
			Budget map[string]money.Amount `json:"budget"`
		}
		h.Get(t, "finance", "/api/v1/plans/ZKB-2026").JSON(t, &plan)
		metrics := string(h.Get(t, "", "/metrics").Body)

		require.Regexp(t, `huimin_build_info\{database="`+string(d.Dialect)+`",goversion="go[^"]+",version="[^"]+"\} 1`, metrics)
		require.Regexp(t, `go_sql_max_open_connections\{db_name="huimin"\} [1-9]`, metrics)
		require.Contains(t, metrics, "huimin_budget_scrape_ok 1")
		require.Contains(t, metrics, "# TYPE huimin_db_retries_total counter")
		require.Contains(t, metrics, fmt.Sprintf("huimin_registry_import_rows_total{outcome=\"created\"} %d\n", imported.Created))
		for _, account := range []string{"funded", "available", "reserved", "in_payment", "paid"} {
			m := regexp.MustCompile(fmt.Sprintf(`huimin_budget_fen\{account="%s",plan="ZKB-2026"\} (\S+)`, account)).FindStringSubmatch(metrics)
			require.NotNil(t, m, "no %s gauge in\n%s", account, metrics)
			require.Equal(t, fmt.Sprint(plan.Budget[account].Fen()), normalise(m[1]), account)
		}
	})
}

// normalise writes a Prometheus sample value (1.23456789e+08) as an integer.
func normalise(v string) string {
	d, err := decimal.NewFromString(v)
	if err != nil {
		return v
	}
	return d.String()
}

package server

import (
	"context"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"huimin/internal/db"
	"huimin/ledger"
)

// registerBusinessMetrics adds what an operator watches besides requests:
// the build, the database pool, and every plan's budget accounts.
func registerBusinessMetrics(reg *prometheus.Registry, d *db.DB) {
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "huimin_build_info", Help: "Always 1; the labels name the running build.",
	}, []string{"version", "goversion", "database"})
	build.WithLabelValues(Version, runtime.Version(), string(d.Dialect)).Set(1)
	reg.MustRegister(build,
		collectors.NewDBStatsCollector(d.SQL, "huimin"),
		&budgetCollector{d: d})
	reg.MustRegister(d.Collectors()...) // huimin_db_retries_total, huimin_db_retries_exhausted_total
}

// budgetCollector reads the budget rows at each scrape: a gauge per plan and
// account, in fen. Fen are whole numbers, which a float64 holds exactly up
// to 2^53 (90 trillion yuan), so the figure equals the ledger's to the fen;
// no arithmetic is done on it here.
type budgetCollector struct{ d *db.DB }

var budgetDesc = prometheus.NewDesc("huimin_budget_fen",
	"A plan's budget account in fen (funded, available, reserved, in_payment, paid), read from the budget row at scrape time.",
	[]string{"plan", "account"}, nil)

var budgetUp = prometheus.NewDesc("huimin_budget_scrape_ok",
	"1 when the budget rows were read for this scrape, 0 when the database did not answer in time.", nil, nil)

func (b *budgetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- budgetDesc
	ch <- budgetUp
}

func (b *budgetCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ok := 0.0
	if b.d.Health.Err() == nil {
		if bs, err := ledger.Budgets(ctx, b.d.DB); err == nil {
			ok = 1
			for _, r := range bs {
				for _, a := range []struct {
					name string
					fen  int64
				}{
					{"funded", r.Funded}, {"available", r.Available}, {"reserved", r.Reserved},
					{"in_payment", r.InPayment}, {"paid", r.Paid},
				} {
					ch <- prometheus.MustNewConstMetric(budgetDesc, prometheus.GaugeValue, float64(a.fen), r.PlanCode, a.name)
				}
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(budgetUp, prometheus.GaugeValue, ok)
}

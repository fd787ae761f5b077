package db

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/glebarez/go-sqlite"
	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a transaction is retried, the reason label of the retry metrics.
const (
	// RetryConflict is MySQL error 1213: an InnoDB deadlock, or on a
	// Galera cluster a certification conflict (another node committed a
	// write to a row this transaction wrote) or a brute-force abort by a
	// replicated write set, which MariaDB all report as 1213.
	RetryConflict = "conflict"
	// RetryLockWait is MySQL error 1205: a lock wait timeout (also what a
	// Galera node answers when wsrep_sync_wait waits too long).
	RetryLockWait = "lock_wait_timeout"
	// RetryBusy is SQLite's SQLITE_BUSY or SQLITE_LOCKED.
	RetryBusy = "sqlite_busy"
)

// retryReason names why err may be cured by running the transaction again,
// or is "" when it cannot.
func retryReason(err error) string {
	if err == nil {
		return ""
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1213:
			return RetryConflict
		case 1205:
			return RetryLockWait
		}
		return ""
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		if c := se.Code() & 0xff; c == 5 || c == 6 { // SQLITE_BUSY, SQLITE_LOCKED
			return RetryBusy
		}
	}
	return ""
}

// backoff is the pause before attempt+1: 5 ms × attempt², with ±50 %
// jitter so that transactions that conflicted on two cluster nodes do not
// meet again in step.
func backoff(attempt int) time.Duration {
	base := time.Duration(attempt*attempt) * 5 * time.Millisecond
	return base/2 + rand.N(base)
}

// pause waits d, or less when ctx ends first; it reports whether ctx is
// still live.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// retryMetrics count retried transactions, so that an operator sees
// conflict pressure (DESIGN §19): on a cluster, certification conflicts on
// a plan's hot budget row grow with the number of nodes written at once.
type retryMetrics struct {
	retries, exhaustedTotal *prometheus.CounterVec
}

func newRetryMetrics() *retryMetrics {
	m := &retryMetrics{
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "huimin_db_retries_total",
			Help: "Transactions rolled back and run again, by reason: conflict (MySQL 1213: deadlock or Galera certification conflict), lock_wait_timeout (1205), sqlite_busy.",
		}, []string{"reason"}),
		exhaustedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "huimin_db_retries_exhausted_total",
			Help: "Transactions that failed again on their last attempt (answered 503 unavailable), by reason.",
		}, []string{"reason"}),
	}
	// Every reason is shown from the start, at 0, so a dashboard's rate
	// has a series before the first retry.
	for _, r := range []string{RetryConflict, RetryLockWait, RetryBusy} {
		m.retries.WithLabelValues(r)
		m.exhaustedTotal.WithLabelValues(r)
	}
	return m
}

func (m *retryMetrics) retried(reason string) {
	if m != nil {
		m.retries.WithLabelValues(reason).Inc()
	}
}

func (m *retryMetrics) exhausted(reason string) {
	if m != nil {
		m.exhaustedTotal.WithLabelValues(reason).Inc()
	}
}

// Collectors are the database's metrics, for the application's registry:
// huimin_db_retries_total and huimin_db_retries_exhausted_total by reason.
func (d *DB) Collectors() []prometheus.Collector {
	if d.retry == nil {
		d.retry = newRetryMetrics()
	}
	return []prometheus.Collector{d.retry.retries, d.retry.exhaustedTotal}
}

package payouts

import "github.com/prometheus/client_golang/prometheus"

// Transitions counts the claim transitions this service commits, by plan
// and transition (first_approval, approved, declined, revoked, disbursed,
// paid, payment_failed, objection_upheld, objection_dismissed), once each
// transaction has committed: an operator sees the money path move, and a
// retried transaction is not counted twice.
type Transitions struct{ vec *prometheus.CounterVec }

// RegisterMetrics registers the service's counters on reg.
func (s *Service) RegisterMetrics(reg prometheus.Registerer) {
	t := &Transitions{vec: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huimin_claim_transitions_total",
		Help: "Claim transitions committed by finance and the bank's results, by plan and transition.",
	}, []string{"plan", "transition"})}
	reg.MustRegister(t.vec)
	s.transitions = t
}

// count adds n transitions; a service without metrics counts nothing.
func (s *Service) count(plan, transition string, n int) {
	if s.transitions == nil || n <= 0 {
		return
	}
	s.transitions.vec.WithLabelValues(plan, transition).Add(float64(n))
}

package claims

import "github.com/prometheus/client_golang/prometheus"

// Transitions counts the claim transitions the services commit, by plan and
// transition (withdrawn here; first_approval, approved, declined, revoked,
// disbursed, paid, payment_failed, objection_upheld, objection_dismissed in
// payouts), once each transaction has committed, so that a retried
// transaction is not counted twice. Filing is counted apart, by the status
// a claim was stored in (huimin_claims_total).
type Transitions struct{ vec *prometheus.CounterVec }

func newTransitions(reg prometheus.Registerer) *Transitions {
	t := &Transitions{vec: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huimin_claim_transitions_total",
		Help: "Claim transitions committed after filing, by plan and transition.",
	}, []string{"plan", "transition"})}
	if reg != nil {
		reg.MustRegister(t.vec)
	}
	return t
}

// Count counts n transitions; a nil Transitions counts nothing.
func (t *Transitions) Count(plan, transition string, n int) {
	if t == nil || n <= 0 {
		return
	}
	t.vec.WithLabelValues(plan, transition).Add(float64(n))
}

// Transitions is the counter the other services count their transitions on.
func (s *Service) Transitions() *Transitions { return s.transitions }

package payouts

import "huimin/claims"

// UseTransitions makes the service count its committed transitions on t
// (claims.Transitions: one counter for every service that moves a claim).
func (s *Service) UseTransitions(t *claims.Transitions) { s.transitions = t }

// count adds n transitions; a service without a counter counts nothing.
func (s *Service) count(plan, transition string, n int) { s.transitions.Count(plan, transition, n) }

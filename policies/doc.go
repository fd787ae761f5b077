// Package policies holds the four programmes, their versioned rules, the pure
// payout math and the beneficiary registry: everything that decides who is
// covered and how much a claim pays, as plain functions on plain values.
//
// Nothing here does I/O. The claims pipeline loads a plan's rules, the
// beneficiary's categories and the history of earlier counted claims, and
// hands them to CheckEligibility and Assess; the answers are deterministic, so
// every worked example of DESIGN §5 is a table test without a database.
//
// Money is decimal.Decimal throughout (never float64). Tier sums are exact;
// amounts are rounded half-up to the fen after tiers and before caps, and for
// accumulated rules the cumulative amounts are rounded before they are
// differenced, so splitting one cost over several claims pays exactly what a
// single claim would (DESIGN §3, §5).
package policies

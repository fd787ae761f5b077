package claims_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// storm posts every body at once from its own goroutine, each under its own
// key, and returns the decoded claims in the order of bodies.
func (e *env) storm(t *testing.T, bodies [][]byte) []claimView {
	t.Helper()
	answers := servertest.AllAtOnce(len(bodies), func(i int) *servertest.Response {
		return e.h.Raw(submission("insurer", fmt.Sprintf("storm-%d", i), bodies[i]))
	})
	out := make([]claimView, len(bodies))
	for i, a := range answers {
		require.Equal(t, http.StatusCreated, a.Status, "claim %d: %s", i, a.Body)
		require.NoError(t, json.Unmarshal(a.Body, &out[i]))
	}
	return out
}

// household sums a household's stored claims: the payable of assessed ones
// and the base of counted ones, in fen.
func (e *env) household(t *testing.T, id string) (payable, base int64, assessed int64) {
	t.Helper()
	var row struct{ Payable, Base, Assessed int64 }
	require.NoError(t, e.d.Raw(`SELECT COALESCE(SUM(CASE WHEN status = 'assessed' THEN payable ELSE 0 END), 0) AS payable,
		COALESCE(SUM(CASE WHEN counted = 1 THEN base ELSE 0 END), 0) AS base,
		COALESCE(SUM(CASE WHEN status = 'assessed' THEN 1 ELSE 0 END), 0) AS assessed
		FROM claims WHERE household_id = ?`, id).Scan(&row).Error)
	return row.Payable, row.Base, row.Assessed
}

// TestConcurrentClaimsRespectCaps files many claims of one household at the
// same moment: the household lock must make the outcome what one-by-one
// filing gives, and never overrun a cap.
func TestConcurrentClaimsRespectCaps(t *testing.T) {
	d := testdb.Open(t, "mysql")
	e := newEnv(t, d)

	// Household A: 40 illness bills of 6000.00 .. 15769.50, 435390.00 in
	// all, far past the 100000.00 cap. Household B: 20 bills of 1500.00 ..
	// 3400.00, 49000.00 in all, F = 4500 + 0.5 × 29000 = 19000.00 under the cap.
	var membersA, membersB, membersSeq []string
	for i := range 4 {
		membersA = append(membersA, e.register(t, servertest.Person{ID: servertest.ResidentID(300 + i), Household: "HH-RACE-A", Categories: []string{"marginal_at_risk"}}))
		membersB = append(membersB, e.register(t, servertest.Person{ID: servertest.ResidentID(310 + i), Household: "HH-RACE-B", Categories: []string{"unstable_out_of_poverty"}}))
		membersSeq = append(membersSeq, e.register(t, servertest.Person{ID: servertest.ResidentID(320 + i), Household: "HH-SEQ", Categories: []string{"marginal_at_risk"}}))
	}
	amountA := func(i int) string { return fmt.Sprintf("%d.%02d", 6000+i*250+i/2, (i%2)*50) }
	var bodies [][]byte
	for i := range 40 {
		bodies = append(bodies, mustJSON(t, fpbIllness(membersA[i%4], fmt.Sprintf("RACE-A-%d", i), amountA(i))))
	}
	for i := range 20 {
		bodies = append(bodies, mustJSON(t, fpbIllness(membersB[i%4], fmt.Sprintf("RACE-B-%d", i), fmt.Sprintf("%d.00", 1500+i*100))))
	}
	claims := e.storm(t, bodies)

	// The same bills of household A, filed one by one.
	for i := range 40 {
		e.file(t, fpbIllness(membersSeq[i%4], fmt.Sprintf("SEQ-%d", i), amountA(i)))
	}
	seqPayable, _, _ := e.household(t, "HH-SEQ")
	require.EqualValues(t, 10000000, seqPayable, "one by one, household A's bills fill the cap exactly")

	payableA, _, assessedA := e.household(t, "HH-RACE-A")
	require.LessOrEqual(t, payableA, int64(10000000), "never past the household cap")
	require.Equal(t, seqPayable, payableA, "concurrent filing pays what one-by-one filing pays")
	for _, c := range claims[:40] {
		if c.Status == "rejected" {
			require.Equal(t, []string{"annual_cap_reached"}, c.ReasonCodes())
		}
	}
	require.Positive(t, assessedA)

	payableB, baseB, _ := e.household(t, "HH-RACE-B")
	require.EqualValues(t, 1900000, payableB, "accumulation is exact under concurrency: F(49000.00)")
	require.EqualValues(t, 4900000, baseB, "every bill counted once")
	belowDeductible := 0
	for _, c := range claims[40:] {
		if c.Status == "rejected" {
			require.Equal(t, []string{"nothing_payable"}, c.ReasonCodes())
			belowDeductible++
		}
	}
	// Whatever the order, the first bills stay under the 5000.00 deductible:
	// at least one and at most three (1500 + 1600 + 1700 < 5000).
	require.GreaterOrEqual(t, belowDeductible, 1)
	require.LessOrEqual(t, belowDeductible, 3)
}

// TestConcurrentZFBClaimsPayOnce files claims of four household members for
// one incident at once: exactly one is paid, the others are
// already_compensated.
func TestConcurrentZFBClaimsPayOnce(t *testing.T) {
	d := testdb.Open(t, "mysql")
	e := newEnv(t, d)
	var members []string
	for i := range 4 {
		members = append(members, e.register(t, servertest.Person{ID: servertest.ResidentID(400 + i), Household: "HH-FLOOD", Residency: []string{"hukou"}}))
	}
	var bodies [][]byte
	for i := range 24 {
		bodies = append(bodies, mustJSON(t, zfbClaim(members[i%4], "YJ-FLOOD-2026-07", "property_loss",
			map[string]any{"assessed_loss": fmt.Sprintf("%d.00", 3000+i*100)})))
	}
	claims := e.storm(t, bodies)
	assessed := 0
	for _, c := range claims {
		if c.Status == "assessed" {
			assessed++
			continue
		}
		require.Equal(t, []string{"already_compensated"}, c.ReasonCodes())
	}
	require.Equal(t, 1, assessed, "one payout per household and incident")
	_, _, stored := e.household(t, "HH-FLOOD")
	require.EqualValues(t, 1, stored)
}

// TestConcurrentIdenticalBatches sends one batch from several clients at
// once. Exactly one set of claims is stored; every answer names the stored
// claims, including the error of an item that reuses an external_ref of
// the batch with another body.
func TestConcurrentIdenticalBatches(t *testing.T) {
	d := testdb.Open(t, "mysql")
	e := newEnv(t, d)
	var claims []any
	for i := range 6 {
		p := e.register(t, servertest.Person{ID: servertest.ResidentID(450 + i), Household: fmt.Sprintf("HH-CB-%d", i), Categories: []string{"marginal_at_risk"}})
		c := fpbIllness(p, fmt.Sprintf("CB-%d", i), "9000.00")
		claims = append(claims, c, c.fact("self_pay", "9999.00")) // the second reuses the first's external_ref
	}
	body := mustJSON(t, map[string]any{"claims": claims})

	const clients = 8
	answers := servertest.AllAtOnce(clients, func(int) *servertest.Response {
		return e.h.RawPost("insurer", "/api/v1/claim-batches", body)
	})

	var stored []string
	require.NoError(t, d.Table("claims").Order("external_ref").Pluck("id", &stored).Error)
	require.Len(t, stored, 6, "each external_ref stored once")
	created := 0
	for i, a := range answers {
		require.Equal(t, http.StatusOK, a.Status, "client %d: %s", i, a.Body)
		var res batchAnswer
		require.NoError(t, json.Unmarshal(a.Body, &res))
		created += res.Summary.Created
		for j := 0; j < len(claims); j += 2 {
			first, second := res.Results[j], res.Results[j+1]
			require.Contains(t, stored, first.ClaimID, "client %d item %d", i, j)
			require.Equal(t, "failed", second.Status)
			require.Equal(t, "duplicate_external_ref", second.Error.Code)
			require.Equal(t, first.ClaimID, second.Error.Details["claim_id"], "client %d item %d: the error names the stored claim", i, j+1)
		}
	}
	require.Equal(t, 6, created, "one client created the claims, the others replayed them")
}

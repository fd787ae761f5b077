package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"huimin/internal/db"
	"huimin/internal/ids"
	"huimin/policies"
)

// fillClaims inserts n claims straight into the claims table of the
// database at spec, so that the scenarios can be measured against a table
// that already holds a year of a county's claims (BENCHMARKS.md, "table
// size") without filing a million claims over HTTP first. It is a
// benchmarking aid, not an API.
//
// What is stored is shaped like what filing stores: ids that are ULIDs of
// the past months, in order, so that the load's new claims land after them
// as they would; the four seeded 2026 plans; rows of the size a filed claim
// has (facts, evidence, reasons and the Chinese-free breakdown text of a
// real ZKB claim); 85 % paid and counted, 10 % rejected, 5 % declined. The
// claimants are 500,000 households of their own, two claims each: the
// load's registry people have the history filing gives them, no more, and
// what grows is the tables and their indexes, which is what a growing year
// costs. No money moves: the plans' budgets and ledgers stay as they are,
// so `huimin check` of such a database reports the paid claims it cannot
// match with reservations — use it for benchmarks only.
func fillClaims(ctx context.Context, spec string, n int, now time.Time) error {
	d, err := db.Open(ctx, spec)
	if err != nil {
		return err
	}
	defer d.Close()
	start := time.Now()
	plans := []struct{ code, programme, cause string }{
		{"ZKB-2026", "ZKB", "medical"}, {"FPB-2026", "FPB", "illness"}, {"ZFB-2026", "ZFB", "disaster"}, {"CYB-2026", "CYB", "loss_topup"},
	}
	counties := make([]string, 0, len(policies.Counties))
	for code := range policies.Counties {
		counties = append(counties, code)
	}
	slices.Sort(counties)
	const (
		facts     = `{"service_type":"inpatient","bill_ref":"%s","total_cost":"3392.00","policy_scope_cost":"2892.00","basic_insurance_paid":"100.00","critical_illness_paid":"0.00","medical_assistance_paid":"0.00"}`
		evidence  = `[{"kind":"settlement_sheet","sha256":"abababababababababababababababababababababababababababababababab"}]`
		breakdown = `[{"description":"Base: policy-scope cost 2892.00 − basic medical insurance 100.00 − critical illness insurance 0.00 − medical assistance 0.00","amount":"2792.00"},{"description":"Accumulated medical base this year: earlier counted claims 0.00 + this claim 2792.00","amount":"2792.00"},{"description":"F(2792.00) = 0.80 × (2792.00 − 0.00) = 2233.60 [ratio 0.80 of disability_poverty, the best of the beneficiary's eligible categories]","amount":"2233.60"},{"description":"F(0.00) = 0.00, not above the deductible 0.00, for earlier counted claims","amount":"0.00"},{"description":"This claim: F(2792.00) − F(0.00) = 2233.60 − 0.00","amount":"2233.60"},{"description":"Annual cap per person 100000.00 − already paid this year 0.00 = room 100000.00","amount":"100000.00"},{"description":"Payable","amount":"2233.60"}]`
		cols      = "id, plan_code, programme, org, external_ref, beneficiary_id, household_id, cap_subject, county_code, event_date, cause, reference, service_type, facts, evidence, status, counted, base, fact_base, request_hash, payable, reserved, reserved_amount, reasons, breakdown, rules_version, submitted_at, updated_at"
		perRow    = 28
		chunk     = 1000 // rows per statement: 28,000 placeholders, under MariaDB's 65,535
		perTx     = 10
	)
	// The year so far, evenly: the first claim 300 days ago, the last a
	// minute ago.
	first := now.Add(-300 * 24 * time.Hour)
	step := (299*24*time.Hour + 23*time.Hour) / time.Duration(max(n, 1))
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", perRow), ",") + ")"
	for done := 0; done < n; {
		err := d.Tx(ctx, func(tx *gorm.DB) error {
			for s := 0; s < perTx && done < n; s++ {
				k := min(chunk, n-done)
				args := make([]any, 0, k*perRow)
				for i := range k {
					c := done + i
					p := plans[c%len(plans)]
					at := first.Add(time.Duration(c) * step)
					county := counties[c%len(counties)]
					// Two claims per household, one person each: unique ids
					// from the sequence, outside the load's registry (born
					// 1930 onwards; the load's people are born 1950 onwards).
					h := c / 2
					person := policies.ResidentIDWithCheck(fmt.Sprintf("%s%04d%02d%02d%03d", county, 1930+h/336000%20, 1+(h/28000)%12, 1+(h/1000)%28, h%1000))
					household := fmt.Sprintf("F%s%07d", county, h)
					ref := fmt.Sprintf("FILL-%08d", c)
					status, counted, payable, reasons := "paid", true, int64(223360), `[]`
					switch c % 20 {
					case 0, 1:
						status, counted, payable, reasons = "rejected", false, 0, `[{"code":"not_covered_category","message":"the beneficiary holds none of the plan's eligible categories"}]`
					case 2:
						status, counted = "declined", false
					}
					reserved := payable
					args = append(args, ids.New(at), p.code, p.programme, "picc", ref, person, household, person, county,
						at.Format("2006-01-02"), p.cause, ref, "inpatient", fmt.Sprintf(facts, ref), evidence, status, counted,
						int64(279200), int64(279200), fmt.Sprintf("%064x", c), payable, status == "paid", reserved, reasons, breakdown, 1,
						at.UnixMilli(), at.UnixMilli())
				}
				sql := "INSERT INTO claims (" + cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+",", k), ",")
				if err := tx.Exec(sql, args...).Error; err != nil {
					return err
				}
				done += k
			}
			return nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "\rfill: %d/%d claims (%.0f/s)", done, n, float64(done)/time.Since(start).Seconds())
	}
	fmt.Fprintln(os.Stderr)
	return nil
}

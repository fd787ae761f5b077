package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"gorm.io/gorm"

	"huimin/internal/db"
	"huimin/ledger"
)

// fillLedger appends n fund/reserve entries to plan's chain directly in the
// database, correctly chained and with the budget row kept equal to them, so
// that the export benchmark has a large, valid ledger to stream without
// taking hours of API calls. It is a benchmarking aid, not an API.
func fillLedger(ctx context.Context, spec, plan string, n int) error {
	d, err := db.Open(ctx, spec)
	if err != nil {
		return err
	}
	defer d.Close()
	start := time.Now()
	const chunk = 5000
	for done := 0; done < n; {
		k := min(chunk, n-done)
		err := d.Tx(ctx, func(tx *gorm.DB) error {
			moves := make([]ledger.Move, k)
			for i := range moves {
				// Alternate funding and reservations so the accounts move.
				if (done+i)%2 == 0 {
					moves[i] = ledger.Move{Kind: ledger.Fund, Amount: 100000 + int64(i%997), Reference: "bench"}
				} else {
					moves[i] = ledger.Move{Kind: ledger.Reserve, Amount: 1000 + int64(i%97), ClaimID: fmt.Sprintf("BENCH%021d", done+i),
						BeneficiaryID: "411325199001011234", CountyCode: "411325"}
				}
			}
			_, _, err := ledger.Append(ctx, tx, plan, "bench-fill", time.Now(), moves...)
			return err
		})
		if err != nil {
			return err
		}
		done += k
		fmt.Fprintf(os.Stderr, "\rfill: %d/%d entries (%.0f/s)", done, n, float64(done)/time.Since(start).Seconds())
	}
	fmt.Fprintln(os.Stderr)
	return nil
}

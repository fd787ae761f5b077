package claims

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"huimin/internal/testdb"
	"huimin/policies"
)

// A batch chunk reads the history of up to 250 households in one
// statement. MariaDB must read it through the household index: past
// eq_range_index_dive_limit (200) values in the IN list it estimates from
// statistics, and on a table that grew since they were taken it chose a
// full scan, so every chunk read the whole table.
func TestHistoryOfAChunkReadsTheHouseholdIndex(t *testing.T) {
	d := testdb.Open(t, "mysql")
	ctx := context.Background()
	households := make([]string, 0, 250)
	recs := make([]*record, 0, 400)
	for i := range 400 {
		h := fmt.Sprintf("HH-%04d", i)
		if i < 250 {
			households = append(households, h)
		}
		recs = append(recs, &record{ID: fmt.Sprintf("01J%023d", i), PlanCode: "FPB-2026", Programme: "FPB", Org: "insurer",
			ExternalRef: fmt.Sprintf("REF-%04d", i), BeneficiaryID: fmt.Sprintf("B%04d", i), HouseholdID: h, CapSubject: h,
			CountyCode: "411302", EventDate: "2026-03-01", Cause: "illness", Status: Assessed, Counted: true,
			Facts: "{}", Evidence: "[]", Reasons: "[]", Breakdown: "{}", RulesVersion: 1})
	}
	require.NoError(t, insertClaims(ctx, d.DB, recs))

	query := d.DB.ToSQL(func(tx *gorm.DB) *gorm.DB {
		var out []policies.Prior
		return historyQuery(tx, households).Find(&out)
	})
	var plan []struct {
		Table string
		Type  string
		Key   *string
	}
	require.NoError(t, d.DB.Raw("EXPLAIN "+query).Scan(&plan).Error)
	require.Len(t, plan, 1)
	require.NotNil(t, plan[0].Key, "a full scan: %+v", plan[0])
	require.Equal(t, "claims_household", *plan[0].Key)
	require.Equal(t, "range", plan[0].Type)

	history, err := loadHistory(ctx, d.DB, households)
	require.NoError(t, err)
	require.Len(t, history, 250, "every household of the chunk and none beyond it")
	require.Equal(t, "FPB-2026", history["HH-0007"][0].Plan)
}

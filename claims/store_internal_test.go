package claims

import (
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm/schema"
)

// insertClaims writes the columns by hand; a field added to record must be
// added to claimColumns and claimValues too, in the same place.
func TestClaimColumnsAreTheRecordsFields(t *testing.T) {
	s, err := schema.Parse(&record{}, &sync.Map{}, schema.NamingStrategy{})
	require.NoError(t, err)
	var fields []string
	for _, f := range s.Fields {
		fields = append(fields, f.DBName)
	}
	require.Equal(t, fields, strings.Split(claimColumns, ", "))
	require.Len(t, fields, claimColumnCount)

	r := &record{ID: "01", PlanCode: "P", Programme: "ZKB", Org: "o", ExternalRef: "e", BeneficiaryID: "b", HouseholdID: "h",
		CapSubject: "c", CountyCode: "411302", EventDate: "2026-01-02", Cause: "medical", Reference: "ref", ServiceType: "inpatient",
		Facts: "{}", Evidence: "[]", Status: Assessed, Counted: true, Base: 1, FactBase: 2, RequestHash: "hash", Payable: 3,
		Reserved: true, ReservedAmount: 4, Reasons: "[]", Breakdown: "[]", RulesVersion: 5, Approvals: 8, SubmittedAt: 6, UpdatedAt: 7}
	values := claimValues(nil, r)
	require.Len(t, values, claimColumnCount)
	for i, f := range s.Fields {
		v, _ := f.ValueOf(t.Context(), reflect.ValueOf(r).Elem())
		require.Equal(t, v, values[i], "column %s", f.DBName)
	}
}

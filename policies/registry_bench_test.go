package policies

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/testdb"
)

// benchRegistryCSV builds a registry import of people × 2 rows (a category
// and a residency period each), valid resident ids spread over the 13
// counties, as a county office would upload it.
func benchRegistryCSV(people int) []byte {
	counties := slices.Sorted(func(yield func(string) bool) {
		for c := range Counties {
			if !yield(c) {
				return
			}
		}
	})
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	var b strings.Builder
	b.Grow(people * 2 * 110)
	b.WriteString(RegistryCSVHeader + "\r\n")
	for i := range people {
		county := counties[i%len(counties)]
		// 999 sequence numbers per birth date keep the ids distinct.
		id := ResidentIDWithCheck(fmt.Sprintf("%s%s%03d", county, birth.AddDate(0, 0, i/999).Format("20060102"), 1+i%999))
		person := fmt.Sprintf("%s,resident_id,测试居民%d,%s,HH-%06d,62220212%011d,", id, i, county, i/2, i)
		fmt.Fprintf(&b, "%scategory,illness_poverty,2026-01-01,\r\n", person)
		fmt.Fprintf(&b, "%sresidency,hukou,2001-05-01,\r\n", person)
	}
	return []byte(b.String())
}

// BenchmarkImport100k imports 100,000 rows (50,000 people) into MariaDB:
// the first iteration creates them, later ones update them. Parsing is
// outside the timer; rows/s counts CSV rows stored.
//
//	go test -run '^$' -bench Import100k -benchtime 1x ./policies/
func BenchmarkImport100k(b *testing.B) {
	const people, rows = 50_000, 100_000
	d := testdb.Open(b, "mysql")
	parsed, errs := ParseRegistryCSV(benchRegistryCSV(people))
	require.Empty(b, errs)
	require.Len(b, parsed, people)
	r := NewRegistry(d, time.Now)
	ctx := context.Background()

	n := 0
	for b.Loop() {
		created, updated, err := r.Import(ctx, storeWho, parsed)
		require.NoError(b, err)
		require.Equal(b, people, created+updated)
		n++
	}
	b.ReportMetric(float64(rows*n)/b.Elapsed().Seconds(), "rows/s")

	var stored int64
	require.NoError(b, d.Table("beneficiary_grants").Count(&stored).Error)
	require.EqualValues(b, rows, stored)
}

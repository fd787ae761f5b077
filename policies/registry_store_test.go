package policies

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/db"
	"huimin/internal/testdb"
)

// storeWho is the actor of the store tests.
var storeWho = audit.Who{Actor: "adm-test", Role: "admin", RequestID: "req-1"}

// storeClock is a settable clock for one test.
type storeClock struct{ t time.Time }

func (c *storeClock) now() time.Time { return c.t }

func newStoreRegistry(d *db.DB) (*Registry, *storeClock) {
	clock := &storeClock{t: time.Date(2026, 6, 15, 2, 0, 0, 0, time.UTC)}
	return NewRegistry(d, clock.now), clock
}

// storePerson is a valid resident of 内乡县 with one category and one
// residency period, periods listed in the order LoadBeneficiary returns them.
func storePerson(first17 string) Beneficiary {
	return Beneficiary{
		IDNumber: ResidentIDWithCheck(first17), IDType: IDTypeResidentID, Name: "张三", CountyCode: "411325",
		HouseholdID: "NX-0001", PayoutAccount: "6222021234567890123",
		Categories: []Grant{{Value: "illness_poverty", ValidFrom: "2026-01-01"}},
		Residency:  []Grant{{Value: "hukou", ValidFrom: "2010-03-01"}},
	}
}

// storeTimes reads a stored person's created_at and updated_at.
func storeTimes(t *testing.T, d *db.DB, id string) (created, updated int64) {
	t.Helper()
	var rec beneficiaryRecord
	require.NoError(t, d.Where("id_number = ?", id).Take(&rec).Error)
	return rec.CreatedAt, rec.UpdatedAt
}

// storeCount counts the rows of a table.
func storeCount(t *testing.T, d *db.DB, table string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, d.Table(table).Count(&n).Error)
	return n
}

// storeAudit returns the audit records of an action, oldest first.
func storeAudit(t *testing.T, d *db.DB, action string) []audit.Record {
	t.Helper()
	var recs []audit.Record
	require.NoError(t, d.Where("action = ?", action).Order("id").Find(&recs).Error)
	return recs
}

// storeRequireNoRawID fails if any audit record holds id unmasked.
func storeRequireNoRawID(t *testing.T, d *db.DB, id string) {
	t.Helper()
	var recs []audit.Record
	require.NoError(t, d.Find(&recs).Error)
	for _, r := range recs {
		require.NotContains(t, fmt.Sprintf("%+v", r), id, "the audit log holds id numbers masked only")
	}
}

func TestRegistryPutCreatesThenReplaces(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		r, clock := newStoreRegistry(d)
		first := storePerson("41132519850615001")

		created, err := r.Put(ctx, storeWho, first)
		require.NoError(t, err)
		require.True(t, created, "a new id number is created")
		got, err := LoadBeneficiary(ctx, d.DB, first.IDNumber)
		require.NoError(t, err)
		require.Equal(t, first, got)
		createdAt, updatedAt := storeTimes(t, d, first.IDNumber)
		require.Equal(t, clock.t.UnixMilli(), createdAt)
		require.Equal(t, createdAt, updatedAt)

		clock.t = clock.t.Add(time.Hour)
		second := first
		second.Name, second.HouseholdID, second.PayoutAccount = "张三丰", "", ""
		second.Categories = []Grant{
			{Value: "rural_destitute", ValidFrom: "2025-01-01", ValidTo: "2025-12-31"},
			{Value: "marginal_at_risk", ValidFrom: "2026-01-01"},
		}
		second.Residency = nil
		created, err = r.Put(ctx, storeWho, second)
		require.NoError(t, err)
		require.False(t, created, "the same id number again is an update")
		got, err = LoadBeneficiary(ctx, d.DB, first.IDNumber)
		require.NoError(t, err)
		require.Equal(t, second, got, "person fields overwritten, periods replaced (the hukou period is gone)")
		createdAt2, updatedAt2 := storeTimes(t, d, first.IDNumber)
		require.Equal(t, createdAt, createdAt2, "created_at survives an update")
		require.Equal(t, clock.t.UnixMilli(), updatedAt2)
		require.EqualValues(t, 1, storeCount(t, d, "beneficiaries"))
		require.EqualValues(t, 2, storeCount(t, d, "beneficiary_grants"))

		recs := storeAudit(t, d, "beneficiary.put")
		require.Len(t, recs, 2)
		for i, outcome := range []string{"created", "updated"} {
			require.Equal(t, MaskID(first.IDNumber), recs[i].Target)
			require.Equal(t, outcome, recs[i].Outcome)
			require.Equal(t, storeWho.Actor, recs[i].Actor)
		}
		storeRequireNoRawID(t, d, first.IDNumber)
	})
}

func TestRegistryPutMergesExactRepeatsAndRefusesClashes(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		r, _ := newStoreRegistry(d)

		repeated := storePerson("41132519850615001")
		repeated.Categories = append(repeated.Categories, repeated.Categories[0])
		_, err := r.Put(ctx, storeWho, repeated)
		require.NoError(t, err, "an exact repeat of a period is harmless")
		got, err := LoadBeneficiary(ctx, d.DB, repeated.IDNumber)
		require.NoError(t, err)
		require.Len(t, got.Categories, 1, "and is stored once")

		clash := storePerson("41130219720304002")
		clash.Categories = append(clash.Categories, Grant{Value: "illness_poverty", ValidFrom: "2026-01-01", ValidTo: "2026-06-30"})
		_, err = r.Put(ctx, storeWho, clash)
		var ve *apperr.ValidationError
		require.ErrorAs(t, err, &ve)
		require.Equal(t, "categories[1].valid_to", ve.Fields[0].Field)
		_, err = LoadBeneficiary(ctx, d.DB, clash.IDNumber)
		require.ErrorIs(t, err, apperr.ErrNotFound, "nothing of a refused person is stored")
	})
}

func TestRegistryPutRefusesInvalidAndStoresNothing(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		r, _ := newStoreRegistry(d)
		bad := storePerson("41132519850615001")
		bad.CountyCode = "110101"
		bad.Categories[0].ValidTo = "2025-01-01"
		_, err := r.Put(context.Background(), storeWho, bad)
		var ve *apperr.ValidationError
		require.ErrorAs(t, err, &ve)
		var fields []string
		for _, f := range ve.Fields {
			fields = append(fields, f.Field)
		}
		require.ElementsMatch(t, []string{"county_code", "categories[0].valid_to"}, fields)
		require.Zero(t, storeCount(t, d, "beneficiaries"))
		require.Zero(t, storeCount(t, d, "audit_log"))
	})
}

func TestLoadBeneficiaryUnknownIsNotFound(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		id := ResidentIDWithCheck("41132519850615001")
		_, err := LoadBeneficiary(context.Background(), d.DB, id)
		require.ErrorIs(t, err, apperr.ErrNotFound)
		require.NotContains(t, err.Error(), id, "the message shows the id masked")
		require.Contains(t, err.Error(), MaskID(id))
	})
}

// storeCrowd returns n valid people with ids in ascending order, each with
// a category and a residency period.
func storeCrowd(n int, name string) []Beneficiary {
	people := make([]Beneficiary, n)
	for i := range people {
		p := storePerson(fmt.Sprintf("411325198001%02d%03d", 1+i/1000, i%1000))
		p.Name = fmt.Sprintf("%s%d", name, i)
		p.HouseholdID = fmt.Sprintf("HH-%05d", i/2)
		people[i] = p
	}
	return people
}

func TestRegistryImportWritesInChunksAndCounts(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		r, clock := newStoreRegistry(d)
		n := 2*registryChunk + 500 // three chunks, the last one partial
		people := storeCrowd(n, "甲")
		slices.Reverse(people) // the input order does not matter

		created, updated, err := r.Import(ctx, storeWho, people)
		require.NoError(t, err)
		require.Equal(t, n, created)
		require.Zero(t, updated)
		require.EqualValues(t, n, storeCount(t, d, "beneficiaries"))
		require.EqualValues(t, 2*n, storeCount(t, d, "beneficiary_grants"))
		firstCreated, _ := storeTimes(t, d, people[0].IDNumber)

		// Re-import the first 1200 changed (one category instead of two
		// periods) and 300 new people.
		clock.t = clock.t.Add(time.Minute)
		again := storeCrowd(n+300, "乙")[n-1200:]
		for i := range again {
			again[i].Residency = nil
			again[i].Categories = []Grant{{Value: "sudden_hardship", ValidFrom: "2026-03-01", ValidTo: "2026-12-31"}}
		}
		created, updated, err = r.Import(ctx, storeWho, again)
		require.NoError(t, err)
		require.Equal(t, 300, created)
		require.Equal(t, 1200, updated)
		require.EqualValues(t, n+300, storeCount(t, d, "beneficiaries"))
		require.EqualValues(t, 2*(n-1200)+1500, storeCount(t, d, "beneficiary_grants"), "each imported person's periods were replaced")

		got, err := LoadBeneficiary(ctx, d.DB, again[0].IDNumber)
		require.NoError(t, err)
		require.Equal(t, again[0], got)
		createdAt, updatedAt := storeTimes(t, d, again[0].IDNumber)
		require.Equal(t, firstCreated, createdAt, "created_at survives a re-import")
		require.Equal(t, clock.t.UnixMilli(), updatedAt)
		untouched, err := LoadBeneficiary(ctx, d.DB, people[n-1].IDNumber)
		require.NoError(t, err)
		require.Equal(t, people[n-1], untouched, "people not in the second file are left alone")

		recs := storeAudit(t, d, "beneficiary.import")
		require.Len(t, recs, 2, "one audit record per import, not per chunk")
		require.Equal(t, "created=2500 updated=0 unchanged=0 errors=0", recs[0].Outcome)
		require.Equal(t, "created=300 updated=1200 unchanged=0 errors=0", recs[1].Outcome)
		storeRequireNoRawID(t, d, people[0].IDNumber)
	})
}

func TestRegistryImportRefusesInvalidOrRepeatedPeople(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		r, _ := newStoreRegistry(d)
		people := storeCrowd(3, "丙")
		people[1].CountyCode = ""
		people = append(people, people[0])
		_, _, err := r.Import(context.Background(), storeWho, people)
		var ve *apperr.ValidationError
		require.ErrorAs(t, err, &ve)
		var fields []string
		for _, f := range ve.Fields {
			fields = append(fields, f.Field)
		}
		require.Equal(t, []string{"people[1].county_code", "people[3].id_number"}, fields)
		require.Zero(t, storeCount(t, d, "beneficiaries"), "nothing is stored when any person is invalid")
		require.Zero(t, storeCount(t, d, "audit_log"))
	})
}

func TestRegistryImportFailingMidwayKeepsWholePeopleAndAudits(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		// Fail the periods of the second chunk, after its people rows were
		// written in the same transaction.
		grantInserts := 0
		require.NoError(t, d.Callback().Create().Before("gorm:create").Register("test:fail_second_chunk", func(tx *gorm.DB) {
			if tx.Statement.Table == "beneficiary_grants" {
				grantInserts++
				if grantInserts == 2 {
					_ = tx.AddError(errors.New("injected failure"))
				}
			}
		}))
		r, _ := newStoreRegistry(d)
		people := storeCrowd(2*registryChunk, "丁")
		created, updated, err := r.Import(context.Background(), storeWho, people)
		require.ErrorContains(t, err, "injected failure")
		require.Equal(t, registryChunk, created, "the first chunk committed")
		require.Zero(t, updated)
		require.EqualValues(t, registryChunk, storeCount(t, d, "beneficiaries"), "the failed chunk left no person behind")
		require.EqualValues(t, 2*registryChunk, storeCount(t, d, "beneficiary_grants"))
		_, err = LoadBeneficiary(context.Background(), d.DB, people[registryChunk].IDNumber)
		require.ErrorIs(t, err, apperr.ErrNotFound)

		recs := storeAudit(t, d, "beneficiary.import")
		require.Len(t, recs, 1)
		require.Equal(t, "failed after created=1000 updated=0 unchanged=0 errors=0", recs[0].Outcome)
	})
}

func TestRegistryPeriodClashes(t *testing.T) {
	open := Grant{Value: "illness_poverty", ValidFrom: "2026-01-01"}
	closed := Grant{Value: "illness_poverty", ValidFrom: "2026-01-01", ValidTo: "2026-12-31"}
	later := Grant{Value: "illness_poverty", ValidFrom: "2026-07-01"}
	cases := []struct {
		name       string
		categories []Grant
		residency  []Grant
		want       []string
	}{
		{"distinct starts are separate periods", []Grant{open, later}, nil, nil},
		{"an exact repeat is not a clash", []Grant{open, open}, nil, nil},
		{"same start, two ends", []Grant{open, later, closed}, nil, []string{"categories[2].valid_to"}},
		{"residency too", nil, []Grant{{Value: "hukou", ValidFrom: "2020-01-01"}, {Value: "hukou", ValidFrom: "2020-01-01", ValidTo: "2021-01-01"}}, []string{"residency[1].valid_to"}},
		{"the same start in another value is fine", []Grant{open, {Value: "marginal_at_risk", ValidFrom: "2026-01-01", ValidTo: "2026-03-01"}}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range registryPeriodClashes(Beneficiary{Categories: tc.categories, Residency: tc.residency}) {
				got = append(got, f.Field)
				require.False(t, strings.Contains(f.Message, "illness_poverty") && strings.Contains(f.Message, "2026"), "the message names the other period by position")
			}
			require.Equal(t, tc.want, got)
		})
	}
}

package servertest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/policies"
)

// Person is a registry entry under test. Zero fields take the defaults
// noted; every category and residency period runs from ValidFrom, open-ended.
type Person struct {
	ID         string
	Name       string // default 张三
	County     string // default 411325
	Household  string // optional
	Payout     string // payout account, optional
	Categories []string
	Residency  []string
	ValidFrom  string // default 2020-01-01
}

func (p Person) withDefaults() Person {
	if p.Name == "" {
		p.Name = "张三"
	}
	if p.County == "" {
		p.County = "411325"
	}
	if p.ValidFrom == "" {
		p.ValidFrom = "2020-01-01"
	}
	return p
}

// Body is p as the body of PUT /api/v1/beneficiaries/{id}.
func (p Person) Body() map[string]any {
	p = p.withDefaults()
	periods := func(key string, values []string) []map[string]any {
		out := []map[string]any{}
		for _, v := range values {
			out = append(out, map[string]any{key: v, "valid_from": p.ValidFrom, "valid_to": nil})
		}
		return out
	}
	b := map[string]any{
		"name": p.Name, "county_code": p.County,
		"categories": periods("category", p.Categories), "residency": periods("type", p.Residency),
	}
	if p.Household != "" {
		b["household_id"] = p.Household
	}
	if p.Payout != "" {
		b["payout_account"] = p.Payout
	}
	return b
}

// PutPerson creates or replaces p through PUT /api/v1/beneficiaries/{id} as
// the administrator would; the caller asserts the status.
func (h *Harness) PutPerson(t testing.TB, p Person) *Response {
	t.Helper()
	return h.Do(t, Request{Method: http.MethodPut, Path: "/api/v1/beneficiaries/" + p.ID, Token: "admin", Body: p.Body()})
}

// InsertPeople writes people straight into the registry tables, without
// the validation and audit of the API: fast, for tests and benchmarks that
// need thousands. The id type is detected from the id.
func InsertPeople(t testing.TB, d *db.DB, people ...Person) {
	t.Helper()
	if len(people) == 0 {
		return
	}
	var persons, grants []map[string]any
	for _, p := range people {
		p = p.withDefaults()
		idType := policies.DetectIDType(p.ID)
		require.NotEmpty(t, idType, "%q is neither a resident id nor a credit code", p.ID)
		persons = append(persons, map[string]any{
			"id_number": p.ID, "id_type": idType, "name": p.Name, "county_code": p.County,
			"household_id": p.Household, "payout_account": p.Payout, "created_at": 0, "updated_at": 0,
		})
		for kind, values := range map[string][]string{policies.RegistryKindCategory: p.Categories, policies.RegistryKindResidency: p.Residency} {
			for _, v := range values {
				grants = append(grants, map[string]any{"id_number": p.ID, "kind": kind, "value": v, "valid_from": p.ValidFrom, "valid_to": ""})
			}
		}
	}
	// Batches of 500 keep each statement well under MariaDB's 65535
	// placeholders and SQLite's 32766.
	require.NoError(t, d.Table("beneficiaries").CreateInBatches(persons, 500).Error)
	if len(grants) > 0 {
		require.NoError(t, d.Table("beneficiary_grants").CreateInBatches(grants, 500).Error)
	}
}

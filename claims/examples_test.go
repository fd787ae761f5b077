package claims_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// requirePaid asserts a claim was assessed to pay want, with a breakdown
// whose last step is that payable, and that a reader sees it so.
func (e *env) requirePaid(t *testing.T, c claimView, want string) {
	t.Helper()
	require.Equal(t, "assessed", c.Status, "reasons: %v", c.ReasonCodes())
	require.Empty(t, c.Reasons)
	require.Equal(t, want, c.Payable)
	require.NotEmpty(t, c.Breakdown)
	require.Equal(t, want, c.Breakdown[len(c.Breakdown)-1].Amount, "the last breakdown step is the payable")
	for _, s := range c.Breakdown {
		require.NotEmpty(t, s.Description)
	}
	stored := e.get(t, "auditor", c.ID)
	require.Equal(t, c.Status, stored.Status)
	require.Equal(t, c.Payable, stored.Payable)
	require.Equal(t, c.Breakdown, stored.Breakdown)
}

// TestDesignExamples submits every worked example of DESIGN §5 over HTTP and
// checks the documented payable.
func TestDesignExamples(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		destitute := e.register(t, servertest.Person{ID: servertest.ResidentID(1), Categories: []string{"rural_destitute"}})
		ill := e.register(t, servertest.Person{ID: servertest.ResidentID(2), Categories: []string{"illness_poverty"}})
		ill2 := e.register(t, servertest.Person{ID: servertest.ResidentID(3), Categories: []string{"illness_poverty"}})

		cases := []struct {
			name string
			body claim
			want string
		}{
			{"ZKB rural destitute inpatient: base 8000.00 at ratio 1.00",
				zkbClaim(destitute, "BILL-ZKB-1", "inpatient", "50000.00", "48000.00", "30000.00", "6000.00", "4000.00"), "8000.00"},
			{"ZKB the same bill for an illness_poverty person: 0.80 of 8000.00",
				zkbClaim(ill, "BILL-ZKB-1", "inpatient", "50000.00", "48000.00", "30000.00", "6000.00", "4000.00"), "6400.00"},
			{"ZKB outpatient base 15000.00 at 0.80 is capped at the outpatient cap",
				zkbClaim(ill2, "BILL-ZKB-2", "outpatient", "15000.00", "15000.00", "0", "0", "0"), "10000.00"},
		}
		zfbPeople := map[string]string{}
		for i, class := range []string{"rooms3", "rooms5", "grade4", "property"} {
			zfbPeople[class] = e.register(t, servertest.Person{ID: servertest.ResidentID(10 + i), Household: "HH-ZFB-" + class, Residency: []string{"hukou"}})
		}
		cases = append(cases, []struct {
			name string
			body claim
			want string
		}{
			{"ZFB 3 rooms collapsed: 3 × 5000.00",
				zfbClaim(zfbPeople["rooms3"], "YJ-2026-001", "house_collapsed", map[string]any{"rooms": 3}), "15000.00"},
			{"ZFB 5 rooms collapsed: limited to 20000.00",
				zfbClaim(zfbPeople["rooms5"], "YJ-2026-002", "house_collapsed", map[string]any{"rooms": 5}), "20000.00"},
			{"ZFB disability grade 4: 50000.00 × 7 / 10",
				zfbClaim(zfbPeople["grade4"], "YJ-2026-003", "disability", map[string]any{"disability_grade": 4}), "35000.00"},
			{"ZFB property loss 7500.00: 0.50 × (7500.00 − 1000.00)",
				zfbClaim(zfbPeople["property"], "YJ-2026-004", "property_loss", map[string]any{"assessed_loss": "7500.00"}), "3250.00"},
		}...)
		coop := e.register(t, servertest.Person{ID: cooperativeUSCC(1), Name: "西峡县月季种植专业合作社", Categories: []string{"agri_operator"}})
		cases = append(cases, struct {
			name string
			body claim
			want string
		}{"CYB premium 12345.67 with county subsidy: 0.20, rounded half-up",
			cybPremium(coop, "rose", "12345.67", true), "2469.13"})

		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e.requirePaid(t, e.file(t, tc.body), tc.want)
			})
		}

		t.Run("FPB two illness claims of one household accumulate", func(t *testing.T) {
			mother := e.register(t, servertest.Person{ID: servertest.ResidentID(20), Household: "HH-FPB-1", Categories: []string{"marginal_at_risk"}})
			son := e.register(t, servertest.Person{ID: servertest.ResidentID(21), Household: "HH-FPB-1", Categories: []string{"marginal_at_risk"}})
			first := e.file(t, fpbIllness(mother, "BILL-FPB-1", "12000.00"))
			e.requirePaid(t, first, "2100.00")
			// The household is the cap subject: the son's bill continues the
			// mother's accumulation, F(42000) − F(12000) = 15500 − 2100.
			second := e.file(t, fpbIllness(son, "BILL-FPB-2", "30000.00"))
			e.requirePaid(t, second, "13400.00")
			require.Equal(t, "HH-FPB-1", *second.HouseholdID)
		})

		t.Run("FPB illness is offset by ZKB paid on the same bill", func(t *testing.T) {
			p := e.register(t, servertest.Person{ID: servertest.ResidentID(30), Household: "HH-OFFSET", Categories: []string{"illness_poverty", "marginal_at_risk"}})
			zkb := e.file(t, zkbClaim(p, "BILL-SHARED-9", "inpatient", "60000.00", "48000.00", "30000.00", "6000.00", "4000.00"))
			e.requirePaid(t, zkb, "6400.00")
			// self_pay 20000.00 − ZKB 6400.00 = 13600.00; 0.30 × (13600 − 5000) = 2580.00.
			fpb := e.file(t, fpbIllness(p, "BILL-SHARED-9", "20000.00"))
			e.requirePaid(t, fpb, "2580.00")
			var offset, after bool
			for _, s := range fpb.Breakdown {
				if s.Amount == "6400.00" && containsAny(s.Description, "ZKB", "政康保") {
					offset = true
				}
				if s.Amount == "13600.00" {
					after = true
				}
			}
			require.True(t, offset, "the breakdown shows the ZKB offset: %+v", fpb.Breakdown)
			require.True(t, after, "the breakdown shows the base after the offset: %+v", fpb.Breakdown)

			// Another bill is not offset.
			other := e.file(t, fpbIllness(p, "BILL-OTHER-1", "1000.00"))
			e.requirePaid(t, other, "300.00")
		})
	})
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

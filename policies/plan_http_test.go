package policies_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/ledger"
	"huimin/server/servertest"
)

type planView struct {
	Code                  string         `json:"code"`
	Programme             string         `json:"programme"`
	Counties              []string       `json:"counties"`
	BudgetPolicy          string         `json:"budget_policy"`
	DualApprovalThreshold string         `json:"dual_approval_threshold"`
	FilingWindowDays      int            `json:"filing_window_days"`
	Status                string         `json:"status"`
	RulesVersion          int            `json:"rules_version"`
	Rules                 map[string]any `json:"rules"`
	Budget                struct {
		Funded, Available, Reserved, InPayment, Paid string
	} `json:"budget"`
}

func TestSeededPlansAndProgrammes(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		r := h.Get(t, "insurer", "/api/v1/programmes")
		servertest.RequireStatus(t, r, http.StatusOK)
		var progs struct {
			Items []struct {
				Code, Kind   string
				Causes       []string
				DefaultRules map[string]any `json:"default_rules"`
			}
		}
		r.JSON(t, &progs)
		require.Len(t, progs.Items, 4)
		require.Equal(t, "ZKB", progs.Items[0].Code)
		require.Equal(t, "medical_topup", progs.Items[0].Kind)
		require.Equal(t, []string{"illness", "education", "disaster", "accident"}, progs.Items[2].Causes)

		r = h.Get(t, "auditor", "/api/v1/plans")
		servertest.RequireStatus(t, r, http.StatusOK)
		var list struct{ Items []planView }
		r.JSON(t, &list)
		want := map[string][2]string{
			"CYB-2026": {"10000000.00", "pro_rata"}, "FPB-2026": {"20000000.00", "first_come"},
			"ZFB-2026": {"10000000.00", "first_come"}, "ZKB-2026": {"130000000.00", "first_come"},
		}
		require.Len(t, list.Items, 4)
		for _, p := range list.Items {
			require.Equal(t, want[p.Code][0], p.Budget.Funded, p.Code)
			require.Equal(t, want[p.Code][0], p.Budget.Available, p.Code)
			require.Equal(t, "0.00", p.Budget.Reserved)
			require.Equal(t, want[p.Code][1], p.BudgetPolicy, p.Code)
			require.Equal(t, 1, p.RulesVersion)
			require.Equal(t, "50000.00", p.DualApprovalThreshold)
		}

		// Each seeded budget is one fund entry, first in its chain.
		var e ledger.Entry
		require.NoError(t, d.Where("plan_code = ? AND seq = 1", "ZKB-2026").Take(&e).Error)
		require.Equal(t, "fund", e.Kind)
		require.Equal(t, int64(13000000000), e.Amount)
		require.Equal(t, ledger.GenesisHash, e.PrevHash)
		require.Equal(t, ledger.ChainHash(e.PrevHash, e.Canonical()), e.Hash)
	})
}

func TestCountyPlanWithCustomRulesAndVersions(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		body := map[string]any{
			"code": "FPB-2026-XICHUAN", "programme": "FPB", "name": "防贫保 淅川 2026",
			"coverage_start": "2026-01-01", "coverage_end": "2026-12-31", "budget": "2500000.00",
			"counties": []string{"411326"}, "filing_window_days": 90, "dual_approval_threshold": 20000,
			"rules": map[string]any{
				"prevention_line": "6500.00",
				"causes": map[string]any{
					"illness":   map[string]any{"deductible": "3000.00"},
					"education": nil,
				},
			},
		}
		r := h.Post(t, "admin", "/api/v1/plans", body)
		servertest.RequireStatus(t, r, http.StatusCreated)
		var p planView
		r.JSON(t, &p)
		require.Equal(t, []string{"411326"}, p.Counties)
		require.Equal(t, "first_come", p.BudgetPolicy)
		require.Equal(t, "20000.00", p.DualApprovalThreshold)
		require.Equal(t, 90, p.FilingWindowDays)
		require.Equal(t, "2500000.00", p.Budget.Available)
		require.Equal(t, "6500.00", p.Rules["prevention_line"])
		causes := p.Rules["causes"].(map[string]any)
		require.Nil(t, causes["education"], "a cause set to null stays null: not covered")
		require.Equal(t, "3000.00", causes["illness"].(map[string]any)["deductible"])
		require.Contains(t, causes, "accident", "omitted causes keep the defaults")

		servertest.RequireError(t, h.Post(t, "admin", "/api/v1/plans", body), 409, "conflict")

		// A rule change is a new version; the old one stays readable.
		r = h.Put(t, "admin", "/api/v1/plans/FPB-2026-XICHUAN/rules", map[string]any{"prevention_line": "7000.00"})
		servertest.RequireStatus(t, r, http.StatusOK)
		r.JSON(t, &p)
		require.Equal(t, 2, p.RulesVersion)
		require.Equal(t, "7000.00", p.Rules["prevention_line"])
		r = h.Get(t, "auditor", "/api/v1/plans/FPB-2026-XICHUAN/rules/1")
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Equal(t, "6500.00", r.Map(t)["rules"].(map[string]any)["prevention_line"])
		servertest.RequireError(t, h.Get(t, "auditor", "/api/v1/plans/FPB-2026-XICHUAN/rules/3"), 404, "not_found")

		// Bad rules name the path and change nothing.
		r = h.Put(t, "admin", "/api/v1/plans/FPB-2026-XICHUAN/rules", map[string]any{
			"causes": map[string]any{"illness": map[string]any{"brackets": []any{
				map[string]any{"up_to": "20000.00", "rate": "0.30"},
				map[string]any{"up_to": "10000.00", "rate": "0.50"},
				map[string]any{"up_to": nil, "rate": "1.50"},
			}}},
			"colour": "red",
		})
		e := servertest.RequireError(t, r, 422, "validation_failed")
		require.Contains(t, e.FieldNames(), "rules.causes.illness.brackets[2].rate")
		require.Contains(t, e.FieldNames(), "rules.colour")
		r = h.Get(t, "insurer", "/api/v1/plans/FPB-2026-XICHUAN")
		r.JSON(t, &p)
		require.Equal(t, 2, p.RulesVersion)

		servertest.RequireError(t, h.Put(t, "finance", "/api/v1/plans/FPB-2026-XICHUAN/rules", map[string]any{}), 403, "forbidden")
		servertest.RequireError(t, h.Get(t, "insurer", "/api/v1/plans/NOPE"), 404, "not_found")
	})
}

func TestPlanValidationNamesEveryField(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		r := h.Post(t, "admin", "/api/v1/plans", map[string]any{
			"code": "bad code!", "programme": "XYZ", "name": "", "coverage_start": "2026-02-30",
			"coverage_end": "2026-13-01", "budget": "-5", "counties": []string{"110101"},
			"budget_policy": "lottery", "dual_approval_threshold": "0.001", "filing_window_days": 0,
		})
		e := servertest.RequireError(t, r, 422, "validation_failed")
		require.ElementsMatch(t, []string{"code", "programme", "name", "coverage_start", "coverage_end", "budget",
			"counties[0]", "budget_policy", "dual_approval_threshold", "filing_window_days"}, e.FieldNames())

		r = h.Post(t, "admin", "/api/v1/plans", map[string]any{
			"code": "ZKB-X", "programme": "ZKB", "name": "x", "coverage_start": "2026-06-01",
			"coverage_end": "2026-01-01", "budget": 1e30,
		})
		e = servertest.RequireError(t, r, 422, "validation_failed")
		require.ElementsMatch(t, []string{"coverage_end", "budget"}, e.FieldNames())
		servertest.RequireError(t, h.Get(t, "admin", "/api/v1/plans/ZKB-X"), 404, "not_found")
	})
}

func TestFundingAndClosing(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		r := h.Post(t, "finance", "/api/v1/plans/ZFB-2026/funding", map[string]any{"amount": "250000.50", "reason": "二次拨款", "reference": "宛财预〔2026〕12号"})
		servertest.RequireStatus(t, r, http.StatusCreated)
		m := r.Map(t)
		require.Equal(t, "10250000.50", m["funded"])
		require.Equal(t, "10250000.50", m["available"])

		e := servertest.RequireError(t, h.Post(t, "finance", "/api/v1/plans/ZFB-2026/funding", map[string]any{"amount": "0", "reason": "", "reference": "x"}), 422, "validation_failed")
		require.ElementsMatch(t, []string{"amount", "reason"}, e.FieldNames())
		servertest.RequireError(t, h.Post(t, "auditor", "/api/v1/plans/ZFB-2026/funding", map[string]any{"amount": "1", "reason": "x", "reference": "x"}), 403, "forbidden")
		servertest.RequireError(t, h.Post(t, "finance", "/api/v1/plans/NOPE/funding", map[string]any{"amount": "1", "reason": "x", "reference": "x"}), 404, "not_found")

		var entries []ledger.Entry
		require.NoError(t, d.Where("plan_code = ?", "ZFB-2026").Order("seq").Find(&entries).Error)
		require.Len(t, entries, 2)
		require.Equal(t, entries[0].Hash, entries[1].PrevHash)
		require.Equal(t, "fin-wang", entries[1].Actor)
		require.Equal(t, int64(25000050), entries[1].Amount)

		r = h.Get(t, "auditor", "/api/v1/plans/ZFB-2026/budget")
		servertest.RequireStatus(t, r, http.StatusOK)
		m = r.Map(t)
		require.Equal(t, "0.00", m["burn_per_day_30d"])
		require.Nil(t, m["projected_exhaustion"])

		r = h.Post(t, "admin", "/api/v1/plans/ZFB-2026/close", nil)
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Equal(t, "closed", r.Map(t)["status"])
		servertest.RequireError(t, h.Post(t, "finance", "/api/v1/plans/ZFB-2026/funding", map[string]any{"amount": "1", "reason": "x", "reference": "x"}), 409, "plan_closed")
		servertest.RequireError(t, h.Put(t, "admin", "/api/v1/plans/ZFB-2026/rules", map[string]any{}), 409, "plan_closed")
	})
}

package prevention_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"huimin/claims"
	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/policies"
	"huimin/server/servertest"
)

var insurer = audit.Who{Actor: "picc-api", Role: auth.Insurer, Org: "picc"}

// evidenceOf is well-formed evidence of the kinds.
func evidenceOf(kinds ...string) []map[string]any {
	out := make([]map[string]any, len(kinds))
	for i, k := range kinds {
		out[i] = map[string]any{"kind": k, "sha256": servertest.SHA(k)}
	}
	return out
}

// generated is a plan's worth of generated claims: the plans' codes and
// the rules they were created with.
type generated struct {
	zkb, fpb, zfb                string
	zkbRules, fpbRules, zfbRules map[string]any
}

// generate files n claims on three plans of its own (ZKB, FPB, ZFB, with
// low caps so that caps are reached), interleaved, for households of two
// or three people: accumulation over several claims of a subject, FPB
// illness bills that ZKB also paid (offsets), FPB disasters that ZFB also
// paid, ZFB incidents claimed twice (already_compensated), bills below the
// deductible (nothing_payable), caps reached (annual_cap_reached), people
// outside the categories and claims without their evidence.
func generate(t testing.TB, e *env, n int) generated {
	t.Helper()
	g := generated{
		zkb: servertest.Unique("ZKB-GEN"), fpb: servertest.Unique("FPB-GEN"), zfb: servertest.Unique("ZFB-GEN"),
		zkbRules: map[string]any{"deductible": "500.00", "annual_cap": "15000.00", "outpatient_annual_cap": "3000.00"},
		fpbRules: map[string]any{"annual_cap": "20000.00", "causes": map[string]any{"illness": map[string]any{"cap": "15000.00"}}},
		zfbRules: map[string]any{"annual_cap": "30000.00"},
	}
	e.createPlan(t, g.zkb, "ZKB", g.zkbRules)
	e.createPlan(t, g.fpb, "FPB", g.fpbRules)
	e.createPlan(t, g.zfb, "ZFB", g.zfbRules)

	var people []servertest.Person
	counties := []string{"411325", "411326", "411381"}
	for i := range n / 5 {
		cats := [][]string{
			{"illness_poverty", "marginal_at_risk"}, {"rural_destitute", "unstable_out_of_poverty"},
			{"disability_poverty"}, {"sudden_hardship"}, {"agri_operator"},
		}[i%5]
		hh := fmt.Sprintf("HH-GEN-%d", i/3)
		if i%11 == 0 {
			hh = "" // their own household
		}
		people = append(people, servertest.Person{ID: servertest.NewPersonID(), Household: hh, County: counties[i%3],
			Categories: cats, Residency: []string{"hukou"}, ValidFrom: "2026-01-01"})
	}
	servertest.InsertPeople(t, e.d, people...)

	bodies := make([][]byte, 0, n)
	for j := range n {
		who := people[(j*7)%len(people)].ID
		bill := fmt.Sprintf("GB-%d", (j*7)%len(people)*10+j%3)
		incident := fmt.Sprintf("YJ-%d-%d", (j*7)%len(people)/3, j%2) // one of two incidents of the household
		var c map[string]any
		switch j % 7 {
		case 0, 1:
			service := "inpatient"
			if j%4 == 0 {
				service = "outpatient"
			}
			c = map[string]any{"plan": g.zkb, "cause": "medical", "evidence": evidenceOf("settlement_sheet"), "facts": map[string]any{
				"service_type": service, "bill_ref": bill, "total_cost": fmt.Sprintf("%d.00", 4000+j*31%18000+j%700),
				"policy_scope_cost": fmt.Sprintf("%d.%02d", 3000+j*31%18000, j%100), "basic_insurance_paid": fmt.Sprintf("%d.00", 500+j%1500),
				"critical_illness_paid": "0", "medical_assistance_paid": fmt.Sprintf("%d.00", j%400),
			}}
		case 2, 3:
			c = map[string]any{"plan": g.fpb, "cause": "illness", "evidence": evidenceOf("settlement_sheet", "invoice"), "facts": map[string]any{
				"household_income_per_capita": "4200.00", "bill_ref": bill, "self_pay": fmt.Sprintf("%d.%02d", 800+j*53%9000, j%100),
			}}
		case 4:
			c = map[string]any{"plan": g.fpb, "cause": []string{"education", "accident", "disaster"}[j%3], "facts": map[string]any{
				"household_income_per_capita": "4200.00"}}
			f := c["facts"].(map[string]any)
			switch c["cause"] {
			case "education":
				f["self_pay"], c["evidence"] = fmt.Sprintf("%d.00", 6000+j*13%9000), evidenceOf("admission_notice", "fee_receipt")
			case "accident":
				f["net_loss"], c["evidence"] = fmt.Sprintf("%d.00", 3000+j*17%12000), evidenceOf("accident_report")
			default:
				f["incident_ref"], f["net_loss"], c["evidence"] = incident, fmt.Sprintf("%d.00", 4000+j*19%15000), evidenceOf("loss_certificate")
			}
		case 5:
			c = map[string]any{"plan": g.zfb, "cause": "disaster", "evidence": evidenceOf("incident_certificate"), "facts": map[string]any{
				"incident_ref": incident, "loss_class": "property_loss", "assessed_loss": fmt.Sprintf("%d.00", 1500+j*29%20000)}}
		case 6:
			c = map[string]any{"plan": g.zfb, "cause": "disaster", "evidence": evidenceOf("incident_certificate"), "facts": map[string]any{
				"incident_ref": incident, "loss_class": "house_damaged"}}
		}
		if j%53 == 9 {
			c["evidence"] = evidenceOf("photo") // evidence_missing
		}
		c["external_ref"], c["beneficiary_id"], c["event_date"] = fmt.Sprintf("gen-%d", j), who, fmt.Sprintf("2026-%02d-%02d", 1+j%5, 1+j%28)
		bodies = append(bodies, mustJSON(t, c))
	}
	for lo := 0; lo < len(bodies); lo += 500 {
		ans, err := e.h.App.Claims.SubmitBatch(context.Background(), insurer, bodies[lo:min(lo+500, len(bodies))])
		require.NoError(t, err)
		for _, res := range ans.Results {
			require.Equal(t, "created", res.Status, "%+v", res.Error)
		}
	}
	return g
}

// simulated runs claims.Simulate on plan code under rules and returns what
// it gave each claim, in order.
func simulated(t testing.TB, e *env, code string, rules map[string]any) []claims.Simulated {
	t.Helper()
	ctx := context.Background()
	plan, err := policies.LoadPlan(ctx, e.d.DB, code, false)
	require.NoError(t, err)
	r, errs := policies.ParseRules(plan.Programme, mustJSON(t, rules))
	require.NoError(t, errs.Err())
	var out []claims.Simulated
	require.NoError(t, claims.Simulate(ctx, e.d, plan, r, func(s claims.Simulated) error {
		out = append(out, s)
		return nil
	}))
	return out
}

// storedPayables reads every claim's payable, by id, and the ids of those a
// simulation re-assesses.
func storedPayables(t testing.TB, d *db.DB, plan string) (payable map[string]int64, simulatedIDs []string) {
	t.Helper()
	var rows []struct {
		ID      string
		Status  string
		Counted bool
		Payable int64
		Reasons string
	}
	require.NoError(t, d.Table("claims").Select("id, status, counted, payable, reasons").Where("plan_code = ?", plan).Order("id").Scan(&rows).Error)
	payable = map[string]int64{}
	for _, r := range rows {
		payable[r.ID] = r.Payable
		if r.Counted || strings.HasPrefix(r.Reasons, `[{"code":"annual_cap_reached"`) && strings.Count(r.Reasons, `"code"`) == 1 {
			simulatedIDs = append(simulatedIDs, r.ID)
		}
	}
	return payable, simulatedIDs
}

// TestSimulationOfTheCurrentRulesReproducesEveryPayable: on a few thousand
// generated claims, the what-if of each plan's own rules gives every claim
// exactly the payable it holds, to the fen, and changes nothing.
func TestSimulationOfTheCurrentRulesReproducesEveryPayable(t *testing.T) {
	// Pages of 97 claims: households' claims fall on many pages.
	defer func(n int) { claims.SimulationPage = n }(claims.SimulationPage)
	claims.SimulationPage = 97
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		g := generate(t, e, 3000)

		// The generated claims exercise what the simulation must replay.
		reasons := func(code string) int64 {
			return servertest.Count(t, d, "claims", "plan_code IN ? AND reasons LIKE ?", []string{g.zkb, g.fpb, g.zfb}, `%"`+code+`"%`)
		}
		for _, code := range []string{"annual_cap_reached", "nothing_payable", "already_compensated", "not_covered_category", "evidence_missing"} {
			require.NotZero(t, reasons(code), "no generated claim was rejected with %s", code)
		}
		require.NotZero(t, servertest.Count(t, d, "claims", "plan_code = ? AND breakdown LIKE ?", g.fpb, "%ZKB%already paid%"), "no FPB claim was offset by ZKB")
		require.NotZero(t, servertest.Count(t, d, "claims", "plan_code = ? AND breakdown LIKE ?", g.fpb, "%ZFB%already paid%"), "no FPB claim was offset by ZFB")

		for code, rules := range map[string]map[string]any{g.zkb: g.zkbRules, g.fpb: g.fpbRules, g.zfb: g.zfbRules} {
			payable, ids := storedPayables(t, d, code)
			sims := simulated(t, e, code, rules)
			require.Len(t, sims, len(ids), "%s: every claim that passed eligibility is re-assessed", code)
			var total int64
			for i, s := range sims {
				require.Equal(t, ids[i], s.ClaimID, "%s: in submission order", code)
				require.Equal(t, payable[s.ClaimID], s.Current)
				require.Equal(t, s.Current, s.Simulated, "%s: claim %s", code, s.ClaimID)
				total += s.Current
			}
			require.Positive(t, total)

			// Through the API: the same totals, nothing changed.
			r := e.h.Post(t, "auditor", "/api/v1/plans/"+code+"/simulations", map[string]any{"rules": rules})
			servertest.RequireStatus(t, r, http.StatusOK)
			m := r.Map(t)
			require.Equal(t, m["current_total"], m["simulated_total"])
			require.Equal(t, "0.00", m["difference"])
			require.EqualValues(t, 0, m["changed"])
			require.EqualValues(t, len(ids), m["claims"])
			require.Equal(t, m["households_current"], m["households_simulated"])
			after, _ := storedPayables(t, d, code)
			require.Equal(t, payable, after)
		}
	})
}

// TestLowerDeductiblePaysExactlyTheHandComputedAmount: a 防贫保 plan's
// illness deductible lowered from 5000 to 3000, by hand (tier 0.30 to
// 20000, 0.50 to 50000, 0.70 to 100000, 0.90 above; cause cap 100000):
//   - H1, one bill of 12000: 0.30 × 7000 = 2100 → 0.30 × 9000 = 2700, +600;
//   - H2, bills of 12000 then 30000: 2100 and F(42000) − F(12000) =
//     15500 − 2100 = 13400 → 2700 and 16100 − 2700 = 13400, +600;
//   - H3, one bill of 4000 (nothing payable, still counted) → 300, +300;
//   - H4, an education claim of 10000 (its own deductible 8000, 0.50) →
//     1000 both times;
//   - H5, one bill of 150000: F = 4500 + 15000 + 35000 + 45000 = 99500 →
//     F = 5100 + 95000 = 100100, capped at 100000, +500.
//
// Together +2000.00; H3 becomes a household reached.
func TestLowerDeductiblePaysExactlyTheHandComputedAmount(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := servertest.Unique("FPB-DED")
		e.createPlan(t, plan, "FPB", nil)
		person := func(county string) string {
			p := servertest.Person{ID: servertest.NewPersonID(), County: county, Household: servertest.Unique("HH-DED"), Categories: []string{"marginal_at_risk"}}
			servertest.InsertPeople(t, d, p)
			return p.ID
		}
		h1, h2, h3, h4, h5 := person("411325"), person("411325"), person("411326"), person("411326"), person("411381")
		illness := func(who, selfPay string) map[string]any {
			return map[string]any{"plan": plan, "external_ref": servertest.Unique("ded"), "beneficiary_id": who, "event_date": "2026-05-01",
				"cause": "illness", "evidence": evidenceOf("settlement_sheet", "invoice"),
				"facts": map[string]any{"household_income_per_capita": "4200.00", "bill_ref": servertest.Unique("B"), "self_pay": selfPay}}
		}
		education := map[string]any{"plan": plan, "external_ref": servertest.Unique("ded"), "beneficiary_id": h4, "event_date": "2026-03-01",
			"cause": "education", "evidence": evidenceOf("admission_notice", "fee_receipt"),
			"facts": map[string]any{"household_income_per_capita": "4200.00", "self_pay": "10000.00"}}
		named := []map[string]any{illness(h1, "12000.00"), illness(h2, "12000.00"), illness(h2, "30000.00"), illness(h3, "4000.00"), education, illness(h5, "150000.00")}
		var ids []string
		for _, c := range named {
			ans, err := e.h.App.Claims.SubmitBatch(context.Background(), insurer, [][]byte{mustJSON(t, c)})
			require.NoError(t, err)
			require.Equal(t, 1, ans.Summary.Created)
			ids = append(ids, ans.Results[0].ClaimID)
		}
		wantCurrent := []int64{210000, 210000, 1340000, 0, 100000, 9950000}
		wantSimulated := []int64{270000, 270000, 1340000, 30000, 100000, 10000000}

		lower := map[string]any{"causes": map[string]any{"illness": map[string]any{"deductible": "3000.00"}}}
		sims := simulated(t, e, plan, lower)
		require.Len(t, sims, len(named))
		for i, s := range sims {
			require.Equal(t, ids[i], s.ClaimID)
			require.Equal(t, wantCurrent[i], s.Current, "claim %d now", i)
			require.Equal(t, wantSimulated[i], s.Simulated, "claim %d with the lower deductible", i)
		}

		r := e.h.Post(t, "finance", "/api/v1/plans/"+plan+"/simulations", map[string]any{"rules": lower})
		servertest.RequireStatus(t, r, http.StatusOK)
		var sim struct {
			Plan                string         `json:"plan"`
			Rules               map[string]any `json:"rules"`
			Claims              int            `json:"claims"`
			Changed             int            `json:"changed"`
			CurrentTotal        string         `json:"current_total"`
			SimulatedTotal      string         `json:"simulated_total"`
			Difference          string         `json:"difference"`
			HouseholdsCurrent   int            `json:"households_current"`
			HouseholdsSimulated int            `json:"households_simulated"`
			ByCounty            []struct {
				CountyCode string `json:"county_code"`
				Current    string `json:"current"`
				Simulated  string `json:"simulated"`
			} `json:"by_county"`
			ByCause []struct {
				Cause     string `json:"cause"`
				Current   string `json:"current"`
				Simulated string `json:"simulated"`
			} `json:"by_cause"`
		}
		r.JSON(t, &sim)
		require.Equal(t, plan, sim.Plan)
		require.Equal(t, 6, sim.Claims)
		require.Equal(t, 4, sim.Changed)
		require.Equal(t, "118100.00", sim.CurrentTotal)
		require.Equal(t, "120100.00", sim.SimulatedTotal)
		require.Equal(t, "2000.00", sim.Difference)
		require.Equal(t, 4, sim.HouseholdsCurrent)
		require.Equal(t, 5, sim.HouseholdsSimulated)
		require.Equal(t, "3000.00", sim.Rules["causes"].(map[string]any)["illness"].(map[string]any)["deductible"], "the rules simulated, merged onto the defaults")
		require.Equal(t, "6000.00", sim.Rules["prevention_line"])
		require.Len(t, sim.ByCounty, 3)
		require.Equal(t, "411325", sim.ByCounty[0].CountyCode)
		require.Equal(t, "17600.00", sim.ByCounty[0].Current) // 2100 + 2100 + 13400
		require.Equal(t, "18800.00", sim.ByCounty[0].Simulated)
		require.Equal(t, "411381", sim.ByCounty[2].CountyCode)
		require.Equal(t, "100000.00", sim.ByCounty[2].Simulated)
		require.Len(t, sim.ByCause, 2)
		require.Equal(t, "illness", sim.ByCause[0].Cause)
		require.Equal(t, "117100.00", sim.ByCause[0].Current)
		require.Equal(t, "119100.00", sim.ByCause[0].Simulated)
		require.Equal(t, "education", sim.ByCause[1].Cause)
		require.Equal(t, "1000.00", sim.ByCause[1].Simulated)

		// A higher deductible, 10000, pays less: H1 0.30 × 2000 = 600
		// (−1500); H2 600 and F(42000) − 600 = 14000 − 600 = 13400 (−1500);
		// H3 and H4 as before; H5 3000 + 15000 + 35000 + 45000 = 98000
		// (−1500). Nothing stored changed, and the plan's rules are as they
		// were.
		r = e.h.Post(t, "admin", "/api/v1/plans/"+plan+"/simulations", map[string]any{"rules": map[string]any{"causes": map[string]any{"illness": map[string]any{"deductible": "10000.00"}}}})
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Equal(t, "-4500.00", r.Map(t)["difference"])
		var version int
		require.NoError(t, d.Table("plans").Where("code = ?", plan).Pluck("rules_version", &version).Error)
		require.Equal(t, 1, version)
		payable, _ := storedPayables(t, d, plan)
		for i, id := range ids {
			require.Equal(t, wantCurrent[i], payable[id])
		}
		require.EqualValues(t, 2, servertest.Count(t, d, "audit_log", "action = ? AND target = ?", "plan.simulate", plan))
	})
}

// TestSimulationWorkbook: ?format=xlsx (or the Accept header) is a
// workbook with Chinese headers, numbers as numbers, amounts with two
// decimals and a bold frozen header row.
func TestSimulationWorkbook(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		p := servertest.Person{ID: servertest.NewPersonID(), County: "411326", Categories: []string{"rural_destitute"}}
		servertest.InsertPeople(t, d, p)
		c := map[string]any{"plan": "ZKB-2026", "external_ref": servertest.Unique("wb"), "beneficiary_id": p.ID, "event_date": "2026-05-01",
			"cause": "medical", "evidence": evidenceOf("settlement_sheet"), "facts": map[string]any{
				"service_type": "inpatient", "bill_ref": "WB-1", "total_cost": "52000.00", "policy_scope_cost": "48000.00",
				"basic_insurance_paid": "30000.00", "critical_illness_paid": "6000.00", "medical_assistance_paid": "4000.00"}}
		_, err := e.h.App.Claims.SubmitBatch(context.Background(), insurer, [][]byte{mustJSON(t, c)})
		require.NoError(t, err)
		body := map[string]any{"rules": map[string]any{"ratios": map[string]any{"rural_destitute": "0.90"}}}
		for _, req := range []servertest.Request{
			{Method: http.MethodPost, Path: "/api/v1/plans/ZKB-2026/simulations?format=xlsx", Token: "auditor", Body: body},
			{Method: http.MethodPost, Path: "/api/v1/plans/ZKB-2026/simulations", Token: "auditor", Body: body,
				Header: map[string]string{"Accept": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}},
		} {
			r := e.h.Do(t, req)
			servertest.RequireStatus(t, r, http.StatusOK)
			require.Equal(t, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", r.Header.Get("Content-Type"))
			x, err := excelize.OpenReader(bytes.NewReader(r.Body))
			require.NoError(t, err)
			const sheet = "政策测算"
			rows, err := x.GetRows(sheet)
			require.NoError(t, err)
			require.Equal(t, []string{"分类", "代码", "名称", "现行规则", "测算规则", "差额"}, rows[0])
			require.Equal(t, []string{"赔付合计", "ZKB-2026", "政康保 2026"}, rows[1][:3])
			// 8000.00 now; 0.90 × 8000 = 7200.00.
			for cell, want := range map[string]string{"D2": "8000", "E2": "7200", "F2": "-800", "D3": "1", "E3": "1"} {
				typ, err := x.GetCellType(sheet, cell)
				require.NoError(t, err)
				require.NotEqual(t, excelize.CellTypeSharedString, typ, "%s is a number cell", cell)
				require.NotEqual(t, excelize.CellTypeInlineString, typ, "%s is a number cell", cell)
				v, err := x.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
				require.NoError(t, err)
				require.Equal(t, want, v, cell)
			}
			style, err := x.GetCellStyle(sheet, "D2")
			require.NoError(t, err)
			st, err := x.GetStyle(style)
			require.NoError(t, err)
			require.Equal(t, 2, st.NumFmt, "amounts show two decimals (0.00)")
			hs, err := x.GetCellStyle(sheet, "A1")
			require.NoError(t, err)
			hst, err := x.GetStyle(hs)
			require.NoError(t, err)
			require.True(t, hst.Font != nil && hst.Font.Bold, "the header is bold")
			panes, err := x.GetPanes(sheet)
			require.NoError(t, err)
			require.True(t, panes.Freeze, "the header row is frozen")
			require.Equal(t, 1, panes.YSplit)
			require.Equal(t, []string{"区县", "411326", "淅川县"}, rows[4][:3])
			require.NoError(t, x.Close())
		}
	})
}

package prevention

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/db"
	"huimin/internal/money"
	"huimin/ledger"
	"huimin/policies"
)

// SimulationInput is the body of POST /api/v1/plans/{code}/simulations: a
// rules document as for PUT …/rules, merged onto the programme defaults.
type SimulationInput struct {
	Rules json.RawMessage `json:"rules"`
}

// Simulation is the answer: the plan's claims under its stored payables
// and under the simulated rules (DESIGN §20). difference = simulated −
// current; a household is reached when one of its cap subjects has a
// payable above 0.
type Simulation struct {
	Plan                string         `json:"plan"`
	RulesVersion        int            `json:"rules_version"` // the plan's current rules version
	Rules               policies.Rules `json:"rules"`         // the rules simulated, merged and canonical
	Claims              int            `json:"claims"`
	Changed             int            `json:"changed"` // claims whose payable differs
	CurrentTotal        money.Amount   `json:"current_total"`
	SimulatedTotal      money.Amount   `json:"simulated_total"`
	Difference          money.Amount   `json:"difference"`
	HouseholdsCurrent   int            `json:"households_current"`
	HouseholdsSimulated int            `json:"households_simulated"`
	ByCounty            []CountyLine   `json:"by_county"`
	ByCause             []CauseLine    `json:"by_cause"`
}

// CountyLine is one county's totals (counties with a claim only, by code).
type CountyLine struct {
	CountyCode string       `json:"county_code"`
	Current    money.Amount `json:"current"`
	Simulated  money.Amount `json:"simulated"`
}

// CauseLine is one cause's totals (causes with a claim only, in the
// programme's order).
type CauseLine struct {
	Cause     string       `json:"cause"`
	Current   money.Amount `json:"current"`
	Simulated money.Amount `json:"simulated"`
}

// totals are fen sums, current and simulated.
type totals struct{ current, simulated int64 }

// Simulate runs the what-if of rules (raw, as sent) on plan code: the
// rules are merged onto the programme defaults and validated exactly as
// PUT …/rules does (422 naming each bad field under "rules"), and the
// plan's claims re-assessed by claims.Simulate. Nothing changes but the
// audit log, which records who simulated what.
func (s *Service) Simulate(ctx context.Context, who audit.Who, code string, raw json.RawMessage) (Simulation, error) {
	if len(raw) == 0 {
		return Simulation{}, apperr.Invalid("rules", "is required: the rules to simulate, as for PUT /api/v1/plans/{code}/rules ({} for the programme defaults)")
	}
	plan, err := policies.LoadPlan(ctx, s.db.DB, code, false)
	if err != nil {
		return Simulation{}, db.Translate(err)
	}
	rules, errs := policies.ParseRules(plan.Programme, raw)
	if err := errs.Err(); err != nil {
		return Simulation{}, err
	}
	var (
		all                 totals
		byCounty, byCause   = map[string]*totals{}, map[string]*totals{}
		reachedC, reachedS  = map[string]bool{}, map[string]bool{}
		claimsN, changed    int
		countyKeys, causeOf []string
	)
	add := func(m map[string]*totals, k string, keys *[]string, c claims.Simulated) {
		t, ok := m[k]
		if !ok {
			t = &totals{}
			m[k] = t
			*keys = append(*keys, k)
		}
		t.current += c.Current
		t.simulated += c.Simulated
	}
	err = claims.Simulate(ctx, s.db, plan, rules, func(c claims.Simulated) error {
		claimsN++
		if c.Current != c.Simulated {
			changed++
		}
		all.current += c.Current
		all.simulated += c.Simulated
		add(byCounty, c.CountyCode, &countyKeys, c)
		add(byCause, c.Cause, &causeOf, c)
		if c.Current > 0 {
			reachedC[c.HouseholdID] = true
		}
		if c.Simulated > 0 {
			reachedS[c.HouseholdID] = true
		}
		return nil
	})
	if err != nil {
		return Simulation{}, db.Translate(err)
	}
	out := Simulation{
		Plan: plan.Code, RulesVersion: plan.RulesVersion, Rules: rules, Claims: claimsN, Changed: changed,
		CurrentTotal: money.Fen(all.current), SimulatedTotal: money.Fen(all.simulated), Difference: money.Fen(all.simulated - all.current),
		HouseholdsCurrent: len(reachedC), HouseholdsSimulated: len(reachedS),
		ByCounty: []CountyLine{}, ByCause: []CauseLine{},
	}
	slices.Sort(countyKeys)
	for _, k := range countyKeys {
		out.ByCounty = append(out.ByCounty, CountyLine{CountyCode: k, Current: money.Fen(byCounty[k].current), Simulated: money.Fen(byCounty[k].simulated)})
	}
	prog, _ := policies.ProgrammeByCode(plan.Programme)
	for _, k := range prog.Causes {
		if t, ok := byCause[k]; ok {
			out.ByCause = append(out.ByCause, CauseLine{Cause: k, Current: money.Fen(t.current), Simulated: money.Fen(t.simulated)})
		}
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		return audit.Write(ctx, tx, s.now(), who, "plan.simulate", plan.Code,
			fmt.Sprintf("%d claims: current %s, simulated %s", claimsN, out.CurrentTotal, out.SimulatedTotal))
	})
	return out, err
}

// causeNames are the causes' Chinese names by programme, as the public
// notice's roster prints them (DESIGN §14: 因病, 因学, 因灾, 因意外, 医疗, 灾害).
var causeNames = map[string]map[string]string{
	policies.ZKB: {policies.CauseMedical: "医疗"},
	policies.ZFB: {policies.CauseDisaster: "灾害"},
	policies.FPB: {policies.CauseIllness: "因病", policies.CauseEducation: "因学", policies.CauseDisaster: "因灾", policies.CauseAccident: "因意外"},
	policies.CYB: {policies.CausePremiumSubsidy: "保费补贴", policies.CauseLossTopup: "理赔再奖补"},
}

// WriteXLSX writes the simulation as a workbook for people: one sheet,
// 政策测算, with Chinese headers (分类, 代码, 名称, 现行规则, 测算规则, 差额), the
// totals and households reached first (bold), then a line per county and
// per cause; amounts are number cells with two decimals, counts integers,
// codes text (ledger.Sheet: bold frozen header).
func (sim Simulation) WriteXLSX(w io.Writer, programme, planName string) error {
	sh, err := ledger.NewSheet("政策测算", []ledger.SheetColumn{
		{Header: "分类", Width: 12}, {Header: "代码", Width: 18}, {Header: "名称", Width: 24},
		{Header: "现行规则", Width: 16}, {Header: "测算规则", Width: 16}, {Header: "差额", Width: 16},
	})
	if err != nil {
		return err
	}
	defer sh.Close()
	amount := func(a money.Amount) ledger.SheetAmount { return ledger.SheetAmount(a.Fen()) }
	rows := [][]any{
		{"赔付合计", sim.Plan, planName, amount(sim.CurrentTotal), amount(sim.SimulatedTotal), amount(sim.Difference)},
		{"受益户数", sim.Plan, planName, sim.HouseholdsCurrent, sim.HouseholdsSimulated, sim.HouseholdsSimulated - sim.HouseholdsCurrent},
		{"测算件数", sim.Plan, planName, sim.Claims, sim.Claims, 0},
	}
	for _, r := range rows {
		if err := sh.BoldRow(r...); err != nil {
			return err
		}
	}
	for _, l := range sim.ByCounty {
		name, _ := policies.CountyName(l.CountyCode)
		if err := sh.Row("区县", l.CountyCode, name, amount(l.Current), amount(l.Simulated), ledger.SheetAmount(l.Simulated.Fen()-l.Current.Fen())); err != nil {
			return err
		}
	}
	for _, l := range sim.ByCause {
		if err := sh.Row("原因", l.Cause, causeNames[programme][l.Cause], amount(l.Current), amount(l.Simulated), ledger.SheetAmount(l.Simulated.Fen()-l.Current.Fen())); err != nil {
			return err
		}
	}
	_, err = sh.WriteTo(w)
	return err
}

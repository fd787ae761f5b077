package policies

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/shopspring/decimal"

	"huimin/internal/apperr"
	"huimin/internal/civil"
	"huimin/internal/money"
	"huimin/internal/web"
)

// Plan statuses.
const (
	PlanActive = "active"
	PlanClosed = "closed"
)

// Budget policies (DESIGN §7): first_come reserves at approval; pro_rata
// shares the budget among approved claims at settlement.
const (
	FirstCome = "first_come"
	ProRata   = "pro_rata"
)

// Plan defaults of DESIGN §5.
var (
	DefaultDualApprovalThreshold = decimal.RequireFromString("50000.00")
	DefaultFilingWindowDays      = 180
)

// MaxNoticeDays is the longest notice period a plan may have, in working
// days (DESIGN §14).
const MaxNoticeDays = 30

// PlanNameMax is the longest plan name in characters (plans.name is
// VARCHAR(200); docs/openapi.yaml).
const PlanNameMax = 200

// Plan is one programme's cover for a period, with the rules version in force.
type Plan struct {
	Code                  string
	Programme             string
	Name                  string
	CoverageStart         civil.Date
	CoverageEnd           civil.Date
	Counties              []string // empty: all of Nanyang
	BudgetPolicy          string
	DualApprovalThreshold decimal.Decimal
	FilingWindowDays      int
	NoticeDays            int // working days of public notice (公示) before payment; 0: none (DESIGN §14)
	Status                string
	RulesVersion          int
	Rules                 Rules
	CreatedAt             int64
	UpdatedAt             int64
}

// CoversCounty reports whether the plan's area includes county.
func (p Plan) CoversCounty(county string) bool {
	return len(p.Counties) == 0 || slices.Contains(p.Counties, county)
}

// PlanInput is the body of POST /api/v1/plans. Amounts and rules stay raw so
// that each is checked and named precisely.
type PlanInput struct {
	Code                  string          `json:"code"`
	Programme             string          `json:"programme"`
	Name                  string          `json:"name"`
	CoverageStart         string          `json:"coverage_start"`
	CoverageEnd           string          `json:"coverage_end"`
	Budget                json.RawMessage `json:"budget"`
	Counties              []string        `json:"counties"`
	BudgetPolicy          string          `json:"budget_policy"`
	DualApprovalThreshold json.RawMessage `json:"dual_approval_threshold"`
	FilingWindowDays      *int            `json:"filing_window_days"`
	NoticeDays            *int            `json:"notice_days"`
	Rules                 json.RawMessage `json:"rules"`
}

// ToPlan checks every field and returns the plan to create and its initial
// budget, or the field errors. Omitted optional fields take the defaults of
// DESIGN §5; a CYB plan defaults to pro_rata, the others to first_come.
func (in PlanInput) ToPlan() (Plan, decimal.Decimal, apperr.Fields) {
	var f apperr.Fields
	p := Plan{Code: in.Code, Programme: in.Programme, Name: in.Name, Status: PlanActive, RulesVersion: 1}
	if !web.IsPlanCode(in.Code) {
		f.Add("code", "%s", web.PlanCodeMessage(in.Code))
	}
	prog, known := ProgrammeByCode(in.Programme)
	if !known {
		f.Add("programme", "must be one of ZKB, ZFB, FPB, CYB")
	}
	web.CheckText(&f, "name", in.Name, PlanNameMax)
	start, err := civil.Parse(in.CoverageStart)
	if err != nil {
		f.Add("coverage_start", "%v", err)
	}
	end, err2 := civil.Parse(in.CoverageEnd)
	if err2 != nil {
		f.Add("coverage_end", "%v", err2)
	}
	if err == nil && err2 == nil && end < start {
		f.Add("coverage_end", "must not be before coverage_start")
	}
	p.CoverageStart, p.CoverageEnd = start, end
	budget, err := money.ParseJSON(in.Budget)
	if err != nil {
		f.Add("budget", "%v", err)
	}
	p.Counties = []string{}
	for i, c := range in.Counties {
		if _, ok := Counties[c]; !ok {
			f.Add(apperr.Join("counties", indexPath(i)), "not a Nanyang county code")
		} else if slices.Contains(p.Counties, c) {
			f.Add(apperr.Join("counties", indexPath(i)), "listed twice")
		} else {
			p.Counties = append(p.Counties, c)
		}
	}
	slices.Sort(p.Counties)
	switch in.BudgetPolicy {
	case FirstCome, ProRata:
		p.BudgetPolicy = in.BudgetPolicy
	case "":
		p.BudgetPolicy = FirstCome
		if in.Programme == CYB {
			p.BudgetPolicy = ProRata
		}
	default:
		f.Add("budget_policy", "must be first_come or pro_rata")
	}
	p.DualApprovalThreshold = DefaultDualApprovalThreshold
	if len(in.DualApprovalThreshold) > 0 && string(in.DualApprovalThreshold) != "null" {
		d, err := money.ParseJSON(in.DualApprovalThreshold)
		switch {
		case err != nil:
			f.Add("dual_approval_threshold", "%v", err)
		case d.IsZero():
			f.Add("dual_approval_threshold", "must be above 0.00")
		default:
			p.DualApprovalThreshold = d
		}
	}
	p.FilingWindowDays = DefaultFilingWindowDays
	if in.FilingWindowDays != nil {
		if *in.FilingWindowDays < 1 || *in.FilingWindowDays > 3660 {
			f.Add("filing_window_days", "must be from 1 to 3660 days")
		}
		p.FilingWindowDays = *in.FilingWindowDays
	}
	if in.NoticeDays != nil {
		if *in.NoticeDays < 0 || *in.NoticeDays > MaxNoticeDays {
			f.Add("notice_days", "must be from 0 to %d working days", MaxNoticeDays)
		}
		p.NoticeDays = *in.NoticeDays
	}
	if known {
		r, errs := ParseRules(prog.Code, in.Rules)
		f.Merge("", errs)
		p.Rules = r
	}
	return p, budget, f
}

func indexPath(i int) string { return "[" + strconv.Itoa(i) + "]" }

// PlanView is a plan in answers (DESIGN §11).
type PlanView struct {
	Code                  string       `json:"code"`
	Programme             string       `json:"programme"`
	Name                  string       `json:"name"`
	CoverageStart         string       `json:"coverage_start"`
	CoverageEnd           string       `json:"coverage_end"`
	Counties              []string     `json:"counties"`
	BudgetPolicy          string       `json:"budget_policy"`
	DualApprovalThreshold money.Amount `json:"dual_approval_threshold"`
	FilingWindowDays      int          `json:"filing_window_days"`
	NoticeDays            int          `json:"notice_days"`
	Status                string       `json:"status"`
	Rules                 Rules        `json:"rules"`
	RulesVersion          int          `json:"rules_version"`
	Budget                any          `json:"budget"`
	CreatedAt             string       `json:"created_at"`
	UpdatedAt             string       `json:"updated_at"`
}

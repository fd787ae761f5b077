package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/civil"
	"huimin/internal/db"
	"huimin/internal/money"
	"huimin/internal/ttl"
	"huimin/internal/web"
	"huimin/ledger"
)

type planRecord struct {
	Code                  string `gorm:"primaryKey"`
	Programme             string
	Name                  string
	CoverageStart         string
	CoverageEnd           string
	Counties              string // comma-separated county codes
	BudgetPolicy          string
	DualApprovalThreshold int64
	FilingWindowDays      int
	NoticeDays            int
	Status                string
	RulesVersion          int
	CreatedAt             int64 `gorm:"autoCreateTime:false"`
	UpdatedAt             int64 `gorm:"autoUpdateTime:false"`
}

func (planRecord) TableName() string { return "plans" }

type ruleVersionRecord struct {
	PlanCode  string `gorm:"primaryKey"`
	Version   int    `gorm:"primaryKey;autoIncrement:false"`
	Rules     string
	Actor     string
	CreatedAt int64 `gorm:"autoCreateTime:false"`
}

func (ruleVersionRecord) TableName() string { return "plan_rule_versions" }

func recordOf(p Plan) planRecord {
	return planRecord{
		Code: p.Code, Programme: p.Programme, Name: p.Name,
		CoverageStart: string(p.CoverageStart), CoverageEnd: string(p.CoverageEnd),
		Counties: strings.Join(p.Counties, ","), BudgetPolicy: p.BudgetPolicy,
		DualApprovalThreshold: money.ToFen(p.DualApprovalThreshold), FilingWindowDays: p.FilingWindowDays, NoticeDays: p.NoticeDays,
		Status: p.Status, RulesVersion: p.RulesVersion, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

func (r planRecord) plan() Plan {
	p := Plan{
		Code: r.Code, Programme: r.Programme, Name: r.Name,
		CoverageStart: civil.Date(r.CoverageStart), CoverageEnd: civil.Date(r.CoverageEnd),
		Counties: []string{}, BudgetPolicy: r.BudgetPolicy,
		DualApprovalThreshold: money.FromFen(r.DualApprovalThreshold), FilingWindowDays: r.FilingWindowDays, NoticeDays: r.NoticeDays,
		Status: r.Status, RulesVersion: r.RulesVersion, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.Counties != "" {
		p.Counties = strings.Split(r.Counties, ",")
	}
	return p
}

// ruleCache keeps parsed rule versions. A version never changes once
// written, so entries never go stale. The key names the database too (by
// its GORM config, shared by every session and transaction of one opened
// database), since a process may hold several — tests do — with the same
// plan codes.
var ruleCache sync.Map // "db\x00plan\x00version" → Rules

// LoadRules returns a plan's rules at version.
func LoadRules(ctx context.Context, tx *gorm.DB, programme, plan string, version int) (Rules, error) {
	key := fmt.Sprintf("%p\x00%s\x00%d", tx.Config, plan, version)
	if r, ok := ruleCache.Load(key); ok {
		return r.(Rules), nil
	}
	var rv ruleVersionRecord
	err := tx.WithContext(ctx).Where("plan_code = ? AND version = ?", plan, version).Take(&rv).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Rules{}, apperr.New(apperr.ErrNotFound, "plan %s has no rules version %d", plan, version)
	}
	if err != nil {
		return Rules{}, err
	}
	r, errs := ParseRules(programme, json.RawMessage(rv.Rules))
	if len(errs) > 0 {
		return Rules{}, fmt.Errorf("stored rules of %s v%d no longer parse: %v", plan, version, errs.Err())
	}
	ruleCache.Store(key, r)
	return r, nil
}

// LoadPlan reads a plan and its current rules; forUpdate locks the plan row.
func LoadPlan(ctx context.Context, tx *gorm.DB, code string, forUpdate bool) (Plan, error) {
	var rec planRecord
	q := tx.WithContext(ctx)
	if forUpdate {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	err := q.Where("code = ?", code).Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Plan{}, apperr.New(apperr.ErrNotFound, "no plan %s", code)
	}
	if err != nil {
		return Plan{}, err
	}
	p := rec.plan()
	p.Rules, err = LoadRules(ctx, tx, p.Programme, p.Code, p.RulesVersion)
	return p, err
}

// Plans creates and changes plans and their funding.
type Plans struct {
	db      *db.DB
	now     func() time.Time
	current *ttl.Cache[string, Plan]
}

// NewPlans returns the plan service.
func NewPlans(d *db.DB, now func() time.Time) *Plans {
	return &Plans{db: d, now: now, current: ttl.New[string, Plan](time.Second, 10000)}
}

// Current returns a plan and its current rules for claim intake, from a
// cache that lives one second: every claim needs its plan, and plans change
// rarely. A change made through this service (rules, closing) clears the
// cache at once; one made by another process is seen within the second.
func (s *Plans) Current(ctx context.Context, code string) (Plan, error) {
	if p, ok := s.current.Get(code); ok {
		return p, nil
	}
	gen := s.current.Gen()
	p, err := LoadPlan(ctx, s.db.DB.WithContext(ctx), code, false)
	if err != nil {
		return p, err
	}
	s.current.Set(code, p, gen)
	return p, nil
}

// Create stores a new plan with rules version 1 and opens its budget with the
// initial funding as its first ledger entry.
func (s *Plans) Create(ctx context.Context, who audit.Who, p Plan, budget decimal.Decimal) (Plan, ledger.Budget, error) {
	now := s.now()
	p.CreatedAt, p.UpdatedAt = now.UnixMilli(), now.UnixMilli()
	rules, err := json.Marshal(p.Rules)
	if err != nil {
		return p, ledger.Budget{}, err
	}
	var b ledger.Budget
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		rec := recordOf(p)
		if err := tx.Create(&rec).Error; err != nil {
			if db.IsDuplicate(err) {
				return apperr.New(apperr.ErrConflict, "plan %s already exists", p.Code)
			}
			return err
		}
		if err := tx.Create(&ruleVersionRecord{PlanCode: p.Code, Version: 1, Rules: string(rules), Actor: who.Actor, CreatedAt: now.UnixMilli()}).Error; err != nil {
			return err
		}
		if err := ledger.Open(ctx, tx, p.Code, now); err != nil {
			return err
		}
		b, _, err = ledger.Append(ctx, tx, p.Code, who.Actor, now, ledger.Move{Kind: ledger.Fund, Amount: money.ToFen(budget), Reference: "initial budget"})
		if err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "plan.create", p.Code, "created")
	})
	return p, b, err
}

// ChangeRules stores rules as the plan's next version. Claims already
// assessed keep the version they were assessed under.
func (s *Plans) ChangeRules(ctx context.Context, who audit.Who, code string, raw json.RawMessage) (Plan, error) {
	var p Plan
	now := s.now()
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		p, err = LoadPlan(ctx, tx, code, true)
		if err != nil {
			return err
		}
		if p.Status == PlanClosed {
			return apperr.New(apperr.ErrPlanClosed, "plan %s is closed", code)
		}
		r, errs := ParseRules(p.Programme, raw)
		if len(errs) > 0 {
			return errs.Err()
		}
		rules, err := json.Marshal(r)
		if err != nil {
			return err
		}
		p.Rules, p.RulesVersion, p.UpdatedAt = r, p.RulesVersion+1, now.UnixMilli()
		if err := tx.Create(&ruleVersionRecord{PlanCode: code, Version: p.RulesVersion, Rules: string(rules), Actor: who.Actor, CreatedAt: now.UnixMilli()}).Error; err != nil {
			return err
		}
		if err := tx.Model(&planRecord{}).Where("code = ?", code).Updates(map[string]any{"rules_version": p.RulesVersion, "updated_at": p.UpdatedAt}).Error; err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "plan.rules", code, fmt.Sprintf("version %d", p.RulesVersion))
	})
	s.current.Clear()
	return p, err
}

// Close closes a plan: it takes no new claims. Closing a closed plan is a no-op.
func (s *Plans) Close(ctx context.Context, who audit.Who, code string) (Plan, error) {
	var p Plan
	now := s.now()
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		p, err = LoadPlan(ctx, tx, code, true)
		if err != nil {
			return err
		}
		outcome := "already_closed"
		if p.Status != PlanClosed {
			p.Status, p.UpdatedAt = PlanClosed, now.UnixMilli()
			if err := tx.Model(&planRecord{}).Where("code = ?", code).Updates(map[string]any{"status": PlanClosed, "updated_at": p.UpdatedAt}).Error; err != nil {
				return err
			}
			outcome = "closed"
		}
		return audit.Write(ctx, tx, now, who, "plan.close", code, outcome)
	})
	s.current.Clear()
	return p, err
}

// Limits of the funding texts, in characters (docs/openapi.yaml).
const (
	FundingReasonMax    = 200
	FundingReferenceMax = 128
)

// FundingInput is the body of POST /api/v1/plans/{code}/funding.
type FundingInput struct {
	Amount    json.RawMessage `json:"amount"`
	Reason    string          `json:"reason"`
	Reference string          `json:"reference"`
}

// Fund tops up a plan's budget: one `fund` ledger entry (funding →
// available) in the same transaction as the budget row and the audit record.
func (s *Plans) Fund(ctx context.Context, who audit.Who, code string, in FundingInput) (ledger.Budget, error) {
	var f apperr.Fields
	amount, err := money.ParseJSON(in.Amount)
	if err != nil {
		f.Add("amount", "%v", err)
	} else if amount.IsZero() {
		f.Add("amount", "must be above 0.00")
	}
	// The reason is kept whole in the audit record's outcome, "<amount>:
	// <reason>" (at most 15 + 2 + 200 of its 255 characters); the reference
	// goes into the fund ledger entry (128 characters) and is compared as
	// people read it, so it may not start or end with whitespace. Lengths
	// count every character, as docs/openapi.yaml's maxLength does.
	web.CheckText(&f, "reason", in.Reason, FundingReasonMax)
	web.CheckRef(&f, "reference", in.Reference, FundingReferenceMax)
	if err := f.Err(); err != nil {
		return ledger.Budget{}, err
	}
	var b ledger.Budget
	now := s.now()
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		p, err := LoadPlan(ctx, tx, code, false)
		if err != nil {
			return err
		}
		if p.Status == PlanClosed {
			return apperr.New(apperr.ErrPlanClosed, "plan %s is closed", code)
		}
		b, _, err = ledger.Append(ctx, tx, code, who.Actor, now, ledger.Move{Kind: ledger.Fund, Amount: money.ToFen(amount), Reference: in.Reference})
		if err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "plan.fund", code, fmt.Sprintf("%s: %s", money.String(amount), in.Reason))
	})
	return b, err
}

// Get returns a plan and its budget.
func (s *Plans) Get(ctx context.Context, code string) (Plan, ledger.Budget, error) {
	var (
		p Plan
		b ledger.Budget
	)
	err := db.Translate(s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if p, err = LoadPlan(ctx, tx, code, false); err != nil {
			return err
		}
		b, err = ledger.Get(ctx, tx, code)
		return err
	}))
	return p, b, err
}

// ListFilter narrows a plan list.
type ListFilter struct {
	Programme string
	Status    string
	After     string // cursor: the last code of the previous page
	Limit     int
}

// List returns plans ordered by code with their budgets.
func (s *Plans) List(ctx context.Context, f ListFilter) ([]Plan, map[string]ledger.Budget, error) {
	var recs []planRecord
	q := s.db.WithContext(ctx).Order("code").Limit(f.Limit)
	if f.Programme != "" {
		q = q.Where("programme = ?", f.Programme)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.After != "" {
		q = q.Where("code > ?", f.After)
	}
	if err := q.Find(&recs).Error; err != nil {
		return nil, nil, db.Translate(err)
	}
	codes := make([]string, len(recs))
	plans := make([]Plan, len(recs))
	for i, r := range recs {
		codes[i] = r.Code
		p := r.plan()
		rules, err := LoadRules(ctx, s.db.DB, p.Programme, p.Code, p.RulesVersion)
		if err != nil {
			return nil, nil, db.Translate(err)
		}
		p.Rules = rules
		plans[i] = p
	}
	var budgets []ledger.Budget
	if len(codes) > 0 {
		if err := s.db.WithContext(ctx).Where("plan_code IN ?", codes).Find(&budgets).Error; err != nil {
			return nil, nil, db.Translate(err)
		}
	}
	byPlan := make(map[string]ledger.Budget, len(budgets))
	for _, b := range budgets {
		byPlan[b.PlanCode] = b
	}
	return plans, byPlan, nil
}

// RuleVersion is one stored version of a plan's rules.
type RuleVersion struct {
	Plan      string          `json:"plan"`
	Version   int             `json:"version"`
	Rules     json.RawMessage `json:"rules"`
	Actor     string          `json:"actor"`
	CreatedAt int64           `json:"-"`
}

// Version returns one stored rules version.
func (s *Plans) Version(ctx context.Context, code string, version int) (RuleVersion, error) {
	var rv ruleVersionRecord
	err := s.db.WithContext(ctx).Where("plan_code = ? AND version = ?", code, version).Take(&rv).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return RuleVersion{}, apperr.New(apperr.ErrNotFound, "plan %s has no rules version %d", code, version)
	}
	if err != nil {
		return RuleVersion{}, db.Translate(err)
	}
	return RuleVersion{Plan: rv.PlanCode, Version: rv.Version, Rules: json.RawMessage(rv.Rules), Actor: rv.Actor, CreatedAt: rv.CreatedAt}, nil
}

// seedPlans are the four 2026 plans of DESIGN §2 and the budget table, with
// the notice periods of DESIGN §14 (ZFB and FPB publish 5 working days).
var seedPlans = []struct {
	code, programme, name, budget, policy string
	noticeDays                            int
}{
	{"ZKB-2026", ZKB, "政康保 2026", "130000000.00", FirstCome, 0},
	{"ZFB-2026", ZFB, "政福保 2026", "10000000.00", FirstCome, 5},
	{"FPB-2026", FPB, "防贫保 2026", "20000000.00", FirstCome, 5},
	{"CYB-2026", CYB, "产业保 2026", "10000000.00", ProRata, 0},
}

// Seed creates the four 2026 plans with default rules when no plan exists.
// Any number of servers may start at once (DESIGN §19): seeding runs under
// the database's "seed" lock, and is idempotent besides — a seed plan that
// already exists is left as it is (409 conflict from Create is not an
// error), and a seed cut short (the server killed after two plans) is
// completed by the next start, as long as every plan there is one of the
// seed's. A database with any other plan is not seeded.
func (s *Plans) Seed(ctx context.Context) error {
	return s.db.Exclusive(ctx, "seed", s.seed)
}

func (s *Plans) seed(ctx context.Context) error {
	var existing []string
	if err := s.db.WithContext(ctx).Model(&planRecord{}).Pluck("code", &existing).Error; err != nil {
		return db.Translate(err)
	}
	seeded := map[string]bool{}
	for _, sp := range seedPlans {
		seeded[sp.code] = true
	}
	for _, code := range existing {
		if !seeded[code] {
			return nil
		}
	}
	who := audit.Who{Actor: "system", Role: "admin"}
	for _, sp := range seedPlans {
		if slices.Contains(existing, sp.code) {
			continue
		}
		p := Plan{
			Code: sp.code, Programme: sp.programme, Name: sp.name,
			CoverageStart: "2026-01-01", CoverageEnd: "2026-12-31", Counties: []string{},
			BudgetPolicy: sp.policy, DualApprovalThreshold: DefaultDualApprovalThreshold,
			FilingWindowDays: DefaultFilingWindowDays, Status: PlanActive, RulesVersion: 1,
			NoticeDays: sp.noticeDays, Rules: DefaultRules(sp.programme),
		}
		if _, _, err := s.Create(ctx, who, p, decimal.RequireFromString(sp.budget)); err != nil && apperr.KindOf(err) != apperr.ErrConflict {
			return fmt.Errorf("seed %s: %w", sp.code, err)
		}
	}
	return nil
}

// Report computes the budget report of a plan at the service's clock.
func (s *Plans) Report(ctx context.Context, code string) (BudgetReport, error) {
	now := s.now()
	var r BudgetReport
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		b, err := ledger.Get(ctx, tx, code)
		if err != nil {
			return err
		}
		committed, err := ledger.CommittedSince(ctx, tx, code, now.Add(-30*24*time.Hour).UnixMilli())
		if err != nil {
			return err
		}
		burn := money.FloorFen(money.FromFen(committed).Div(decimal.NewFromInt(30)))
		r = BudgetReport{BudgetView: BudgetView{Plan: code, Figures: b.Figures()}, BurnPerDay30d: money.Of(burn)}
		if burn.IsPositive() {
			days := money.FromFen(b.Available).Div(burn).Ceil().IntPart()
			d := civil.Today(now).AddDays(int(days)).String()
			r.ProjectedExhaustion = &d
		}
		return nil
	})
	return r, db.Translate(err)
}

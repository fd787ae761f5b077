package prevention

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/db"
	"huimin/internal/ids"
	"huimin/policies"
)

// warningRow is a row of warnings: one per plan and cap subject, so that a
// warning keeps its id and follow-up status however often it is computed
// again. The computed columns (household_id … expected_payable, live) are
// rewritten by every refresh that finds them changed; status and followups
// only by a follow-up or by the two automatic changes (claimed, reopened),
// each under the row's lock.
type warningRow struct {
	ID              string `gorm:"primaryKey"`
	PlanCode        string
	CapSubject      string
	HouseholdID     string
	CountyCode      string
	BeneficiaryIDs  string // JSON list
	Bills           string // JSON list of Bill
	ExpectedPayable int64
	Live            bool // the subject has bills payable now
	Status          string
	Followups       string // JSON list of Followup
	CreatedAt       int64  `gorm:"autoCreateTime:false"`
	UpdatedAt       int64  `gorm:"autoUpdateTime:false"`
}

func (warningRow) TableName() string { return "warnings" }

// Followup is one status change of a warning: who set it, when, and why.
// The automatic ones are by "system".
type Followup struct {
	Status string `json:"status"`
	Note   string `json:"note"`
	Actor  string `json:"actor"`
	At     int64  `json:"at"` // Unix ms
}

// systemActor acts the automatic status changes.
const systemActor = "system"

func (w warningRow) bills() []Bill {
	var b []Bill
	_ = json.Unmarshal([]byte(w.Bills), &b)
	return b
}

func (w warningRow) followups() []Followup {
	var f []Followup
	_ = json.Unmarshal([]byte(w.Followups), &f)
	return f
}

// computed returns the row's computed columns as the prospect p gives them.
func computed(p *prospect) (household, county, beneficiaries, bills string) {
	bs, _ := json.Marshal(p.beneficiaries)
	bl, _ := json.Marshal(p.bills)
	return p.household, p.county, string(bs), string(bl)
}

// refreshScope says which warnings of a plan a refresh recomputes: every
// one (subjects nil), or those of a few cap subjects.
type refreshScope struct {
	subjects []string
}

// refresh computes the warnings of plan again (for the subjects of scope)
// and stores what changed, and returns the prospects it found, by subject.
// Reading (records, registry, claims) is done outside any write
// transaction; the writes are short transactions of their own:
//   - a subject with a prospect gets its row created (open) or its computed
//     columns rewritten when they changed, and is live; a claimed one opens
//     again (new bills appeared);
//   - a live row whose subject has no prospect any more is no longer live,
//     and becomes claimed when each of its last bills now has a counted
//     claim — a claimed warning stays listed with the bills it had.
//
// Two refreshes running at once compute the same thing; the unique key on
// (plan, subject) keeps one row.
func (s *Service) refresh(ctx context.Context, who audit.Who, plan policies.Plan, scope refreshScope) (map[string]*prospect, error) {
	now := s.now()
	found, claimed, err := s.compute(ctx, plan, scope, now)
	if err != nil {
		return nil, err
	}
	existing, err := loadWarnings(ctx, s.db.DB, plan.Code, scope.subjects)
	if err != nil {
		return nil, db.Translate(err)
	}
	bySubject := make(map[string]warningRow, len(existing))
	for _, w := range existing {
		bySubject[w.CapSubject] = w
	}

	var upserts []warningRow
	var reopen, claim, gone []string // row ids
	for subject, p := range found {
		household, county, beneficiaries, bills := computed(p)
		w, ok := bySubject[subject]
		if ok && w.Live && w.HouseholdID == household && w.CountyCode == county && w.BeneficiaryIDs == beneficiaries && w.Bills == bills && w.ExpectedPayable == p.expected {
			if w.Status == StatusClaimed {
				reopen = append(reopen, w.ID)
			}
			continue
		}
		if !ok {
			w = warningRow{ID: ids.New(now), PlanCode: plan.Code, CapSubject: subject, Status: StatusOpen, Followups: "[]", CreatedAt: now.UnixMilli()}
		} else if w.Status == StatusClaimed {
			reopen = append(reopen, w.ID)
		}
		w.HouseholdID, w.CountyCode, w.BeneficiaryIDs, w.Bills, w.ExpectedPayable = household, county, beneficiaries, bills, p.expected
		w.Live, w.UpdatedAt = true, now.UnixMilli()
		upserts = append(upserts, w)
	}
	for _, w := range existing {
		if _, ok := found[w.CapSubject]; ok {
			continue
		}
		if w.Status != StatusClaimed && allClaimed(w.bills(), claimed) {
			claim = append(claim, w.ID)
		} else if w.Live {
			gone = append(gone, w.ID)
		}
	}

	// One order for every writer's row locks, so that two refreshes of
	// the plan at once do not deadlock.
	slices.SortFunc(upserts, func(a, b warningRow) int { return strings.Compare(a.CapSubject, b.CapSubject) })
	slices.Sort(gone)
	slices.Sort(claim)
	slices.Sort(reopen)
	if len(upserts) > 0 || len(gone) > 0 {
		err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			for lo := 0; lo < len(upserts); lo += 500 {
				batch := upserts[lo:min(lo+500, len(upserts))]
				if err := tx.WithContext(ctx).Clauses(clause.OnConflict{
					Columns:   []clause.Column{{Name: "plan_code"}, {Name: "cap_subject"}},
					DoUpdates: clause.AssignmentColumns([]string{"household_id", "county_code", "beneficiary_ids", "bills", "expected_payable", "live", "updated_at"}),
				}).Create(&batch).Error; err != nil {
					return err
				}
			}
			for lo := 0; lo < len(gone); lo += 1000 {
				if err := tx.WithContext(ctx).Model(&warningRow{}).Where("id IN ? AND live = ?", gone[lo:min(lo+1000, len(gone))], true).
					Updates(map[string]any{"live": false, "updated_at": now.UnixMilli()}).Error; err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, id := range claim {
		if err := s.autoStatus(ctx, who, id, StatusClaimed, "every bill has a counted claim", now); err != nil {
			return nil, err
		}
	}
	for _, id := range reopen {
		if err := s.autoStatus(ctx, who, id, StatusOpen, "new bills would be payable", now); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// autoStatus is one automatic status change, under the row's lock and
// only while the change still applies (a follow-up may have come first),
// with its follow-up entry and audit record. The claimed warning keeps its
// bills and expected payable and is no longer live.
func (s *Service) autoStatus(ctx context.Context, who audit.Who, id, status, note string, now time.Time) error {
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		w, err := lockWarning(ctx, tx, id)
		if err != nil {
			return err
		}
		switch {
		case status == StatusClaimed && w.Status == StatusClaimed:
			return nil
		case status == StatusOpen && w.Status != StatusClaimed:
			return nil
		}
		set := map[string]any{"status": status, "updated_at": now.UnixMilli(), "followups": appendFollowup(w, Followup{Status: status, Note: note, Actor: systemActor, At: now.UnixMilli()})}
		if status == StatusClaimed {
			set["live"] = false
		}
		if err := tx.WithContext(ctx).Model(&warningRow{}).Where("id = ?", id).Updates(set).Error; err != nil {
			return err
		}
		// The request that found the change acted it, as the system: its
		// request id ties the record to the read that caused it.
		sys := audit.Who{Actor: systemActor, Role: systemActor, RequestID: who.RequestID}
		return audit.Write(ctx, tx, now, sys, "warning.status", id, status+": "+note)
	})
}

func appendFollowup(w warningRow, f Followup) string {
	b, _ := json.Marshal(append(w.followups(), f))
	return string(b)
}

// allClaimed reports that every bill has a counted claim (claimed holds
// the claimed person-and-bill pairs).
func allClaimed(bills []Bill, claimed map[[2]string]bool) bool {
	if len(bills) == 0 {
		return false
	}
	for _, b := range bills {
		if !claimed[[2]string{b.BeneficiaryID, b.BillRef}] {
			return false
		}
	}
	return true
}

// compute reads what the warnings of plan (in scope) depend on and returns
// the prospects, by subject, and the person-and-bill pairs that have a
// counted claim of the plan.
func (s *Service) compute(ctx context.Context, plan policies.Plan, scope refreshScope, now time.Time) (map[string]*prospect, map[[2]string]bool, error) {
	tx := s.db.DB
	var people []string // nil: everyone with records
	if scope.subjects != nil {
		people = []string{}
		for _, subject := range scope.subjects {
			if plan.Programme == policies.FPB {
				ms, err := policies.Members(ctx, tx, subject)
				if err != nil {
					return nil, nil, db.Translate(err)
				}
				people = append(people, ms...)
			} else {
				people = append(people, subject)
			}
		}
	}
	records, err := recordsSettled(ctx, tx, plan.CoverageStart, plan.CoverageEnd, people)
	if err != nil {
		return nil, nil, db.Translate(err)
	}
	ids := make([]string, 0, len(records))
	for _, r := range records {
		ids = append(ids, r.IDNumber)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	registry := make(map[string]policies.Beneficiary, len(ids))
	for lo := 0; lo < len(ids); lo += 1000 {
		got, err := policies.LoadBeneficiaries(ctx, tx, ids[lo:min(lo+1000, len(ids))])
		if err != nil {
			return nil, nil, db.Translate(err)
		}
		for k, v := range got {
			registry[k] = v
		}
	}
	households := make([]string, 0, len(registry))
	for _, b := range registry {
		households = append(households, b.CapHousehold())
	}
	slices.Sort(households)
	households = slices.Compact(households)
	history, err := claims.CountedHistory(ctx, tx, households)
	if err != nil {
		return nil, nil, db.Translate(err)
	}
	claimed := map[[2]string]bool{}
	c := cause(plan.Programme)
	for _, hs := range history {
		for _, q := range hs {
			if q.Plan == plan.Code && q.Cause == c && q.Reference != "" {
				claimed[[2]string{q.BeneficiaryID, q.Reference}] = true
			}
		}
	}
	if plan.Status != policies.PlanActive {
		// A closed plan takes no claims: nothing would be payable now.
		return map[string]*prospect{}, claimed, nil
	}
	found := prospects(plan, records, registry, history, now)
	if scope.subjects != nil {
		for subject := range found {
			if !slices.Contains(scope.subjects, subject) {
				delete(found, subject)
			}
		}
	}
	return found, claimed, nil
}

// loadWarnings reads the warnings of plan (of these subjects, unless nil).
func loadWarnings(ctx context.Context, tx *gorm.DB, plan string, subjects []string) ([]warningRow, error) {
	var out []warningRow
	q := tx.WithContext(ctx).Where("plan_code = ?", plan)
	if subjects != nil {
		q = q.Where("cap_subject IN ?", subjects)
	}
	err := q.Find(&out).Error
	return out, err
}

// lockWarning reads one warning FOR UPDATE.
func lockWarning(ctx context.Context, tx *gorm.DB, id string) (warningRow, error) {
	var w warningRow
	err := tx.WithContext(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&w).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return w, apperr.New(apperr.ErrNotFound, "no warning %s", id)
	}
	return w, err
}

// readWarning reads one warning.
func readWarning(ctx context.Context, tx *gorm.DB, id string) (warningRow, error) {
	var w warningRow
	err := tx.WithContext(ctx).Where("id = ?", id).Take(&w).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return w, apperr.New(apperr.ErrNotFound, "no warning %s", id)
	}
	return w, db.Translate(err)
}

// listFilter selects warnings for the list, largest expected payable first.
type listFilter struct {
	Plan, Status, CountyCode string
	// After is the cursor: the expected payable and id of the previous
	// page's last warning.
	After *listKey
	Limit int
}

type listKey struct {
	expected int64
	id       string
}

// listWarnings reads one page: the live warnings and the claimed ones.
func listWarnings(ctx context.Context, tx *gorm.DB, f listFilter) ([]warningRow, error) {
	q := tx.WithContext(ctx).Where("plan_code = ? AND (live = ? OR status = ?)", f.Plan, true, StatusClaimed)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.CountyCode != "" {
		q = q.Where("county_code = ?", f.CountyCode)
	}
	if f.After != nil {
		q = q.Where("expected_payable < ? OR (expected_payable = ? AND id < ?)", f.After.expected, f.After.expected, f.After.id)
	}
	var out []warningRow
	err := q.Order("expected_payable DESC, id DESC").Limit(f.Limit).Find(&out).Error
	return out, err
}

// CountyCount is one county's line of the warnings summary.
type countyCount struct {
	CountyCode string
	Status     string
	N          int
	Expected   int64
}

// summarise counts the listed warnings of plan by county and status, and
// sums their expected payables (fen, in SQL on integers).
func summarise(ctx context.Context, tx *gorm.DB, plan string) ([]countyCount, error) {
	var out []countyCount
	err := tx.WithContext(ctx).Model(&warningRow{}).
		Select("county_code, status, COUNT(*) AS n, COALESCE(SUM(expected_payable), 0) AS expected").
		Where("plan_code = ? AND (live = ? OR status = ?)", plan, true, StatusClaimed).
		Group("county_code, status").Order("county_code, status").Scan(&out).Error
	return out, err
}

// warningRef is the external_ref of a claim filed from a warning's draft:
// "warning:<warning id>:<record id>", both ULIDs (61 characters, within
// external_ref's 128 letters, digits and _ . : / # -), one per settlement
// record, so that the insurer's second filing of the same draft is a
// replay, never a second claim.
func warningRef(warningID, recordID string) string {
	return "warning:" + warningID + ":" + recordID
}

// ParseWarningRef returns the warning and record ids of a claim's
// external_ref made by a warning's draft.
func ParseWarningRef(ref string) (warningID, recordID string, ok bool) {
	rest, ok := strings.CutPrefix(ref, "warning:")
	if !ok {
		return "", "", false
	}
	warningID, recordID, ok = strings.Cut(rest, ":")
	return warningID, recordID, ok && len(warningID) == 26 && len(recordID) == 26
}

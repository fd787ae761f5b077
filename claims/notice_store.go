package claims

// This file holds every statement on the public-notice tables (notices,
// notice_claims) and the objections table (DESIGN §14). They belong to
// claims because a claim's answer shows its notice and its objections, and
// payouts, which decides what a notice lists and what an objection does,
// imports claims and not the other way round. Functions take the caller's
// transaction.

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/db"
	"huimin/internal/web"
)

// Objection statuses: open until resolved, then upheld (the claim is
// revoked) or dismissed.
const (
	ObjectionOpen      = "open"
	ObjectionUpheld    = "upheld"
	ObjectionDismissed = "dismissed"
)

// NoticeRef is the notice a claim was published in, as the claim shows it.
type NoticeRef struct {
	ID     string `json:"id"`
	EndsOn string `json:"ends_on"`
}

// Notice is a public notice as posted: its period, where to object, and the
// claims it listed with the amount each showed.
type Notice struct {
	ID         string
	Plan       string
	CountyCode string // "" for a notice of every county
	StartsOn   string
	EndsOn     string
	NoticeDays int
	Contact    string
	Actor      string
	CreatedAt  int64
	Items      []NoticeItem // by claim id; nil in a list
	Count      int          // len(Items), also filled in a list
	Total      int64        // fen, the sum of the items' amounts
}

// NoticeItem is one claim of a notice.
type NoticeItem struct {
	ClaimID string
	Amount  int64 // fen
}

type noticeRecord struct {
	ID         string `gorm:"primaryKey"`
	PlanCode   string
	CountyCode string
	StartsOn   string
	EndsOn     string
	NoticeDays int
	Contact    string
	Actor      string
	CreatedAt  int64 `gorm:"autoCreateTime:false"`
}

func (noticeRecord) TableName() string { return "notices" }

type noticeClaimRecord struct {
	ClaimID  string `gorm:"primaryKey"`
	NoticeID string
	Amount   int64
}

func (noticeClaimRecord) TableName() string { return "notice_claims" }

func (r noticeRecord) notice() Notice {
	return Notice{ID: r.ID, Plan: r.PlanCode, CountyCode: r.CountyCode, StartsOn: r.StartsOn, EndsOn: r.EndsOn,
		NoticeDays: r.NoticeDays, Contact: r.Contact, Actor: r.Actor, CreatedAt: r.CreatedAt}
}

// Publishable returns the ids of a plan's approved claims (of county, when
// set) that are in no notice yet, in id order, at most limit. They are read
// without a lock: lock them, then ask again with only those ids
// (Unpublished), before publishing.
func Publishable(ctx context.Context, tx *gorm.DB, plan, county string, limit int) ([]string, error) {
	q := tx.WithContext(ctx).Model(&record{}).
		Where("plan_code = ? AND status = ?", plan, Approved).
		Where("NOT EXISTS (SELECT 1 FROM notice_claims nc WHERE nc.claim_id = claims.id)")
	if county != "" {
		q = q.Where("county_code = ?", county)
	}
	var ids []string
	err := q.Order("id").Limit(limit).Pluck("id", &ids).Error
	return ids, err
}

// Unpublished returns those of ids that are in no notice.
func Unpublished(ctx context.Context, tx *gorm.DB, ids []string) (map[string]bool, error) {
	var taken []string
	if err := tx.WithContext(ctx).Model(&noticeClaimRecord{}).Where("claim_id IN ?", ids).Pluck("claim_id", &taken).Error; err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	for _, id := range taken {
		delete(out, id)
	}
	return out, nil
}

// InsertNotice stores a notice and its claims. A claim already in a notice
// (a concurrent one that got there first) is 409 conflict.
func InsertNotice(ctx context.Context, tx *gorm.DB, n Notice) error {
	rec := noticeRecord{ID: n.ID, PlanCode: n.Plan, CountyCode: n.CountyCode, StartsOn: n.StartsOn, EndsOn: n.EndsOn,
		NoticeDays: n.NoticeDays, Contact: n.Contact, Actor: n.Actor, CreatedAt: n.CreatedAt}
	if err := tx.WithContext(ctx).Create(&rec).Error; err != nil {
		return err
	}
	rows := make([]noticeClaimRecord, len(n.Items))
	for i, it := range n.Items {
		rows[i] = noticeClaimRecord{ClaimID: it.ClaimID, NoticeID: n.ID, Amount: it.Amount}
	}
	err := tx.WithContext(ctx).CreateInBatches(rows, 500).Error
	if db.IsDuplicate(err) {
		return apperr.New(apperr.ErrConflict, "another notice published some of these claims at the same time; post the notice again")
	}
	return err
}

// LoadNotice reads a notice with its claims in id order.
func LoadNotice(ctx context.Context, tx *gorm.DB, id string) (Notice, error) {
	var rec noticeRecord
	err := tx.WithContext(ctx).Where("id = ?", id).Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Notice{}, apperr.New(apperr.ErrNotFound, "no notice %s", id)
	}
	if err != nil {
		return Notice{}, err
	}
	var rows []noticeClaimRecord
	if err := tx.WithContext(ctx).Where("notice_id = ?", id).Order("claim_id").Find(&rows).Error; err != nil {
		return Notice{}, err
	}
	n := rec.notice()
	n.Items = make([]NoticeItem, len(rows))
	for i, r := range rows {
		n.Items[i] = NoticeItem{ClaimID: r.ClaimID, Amount: r.Amount}
		n.Total += r.Amount
	}
	n.Count = len(rows)
	return n, nil
}

// NoticeFilter narrows a notice list, newest first.
type NoticeFilter struct {
	Plan   string
	Before string // cursor: the last id of the previous page
	Limit  int
}

// ListNotices returns notices newest first, each with its count and total
// but not its items.
func ListNotices(ctx context.Context, tx *gorm.DB, f NoticeFilter) ([]Notice, error) {
	q := tx.WithContext(ctx).Order("id DESC").Limit(f.Limit)
	if f.Plan != "" {
		q = q.Where("plan_code = ?", f.Plan)
	}
	if f.Before != "" {
		q = q.Where("id < ?", f.Before)
	}
	var recs []noticeRecord
	if err := q.Find(&recs).Error; err != nil {
		return nil, err
	}
	out := make([]Notice, len(recs))
	if len(recs) == 0 {
		return out, nil
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	var sums []struct {
		NoticeID string
		N        int
		Total    int64
	}
	if err := tx.WithContext(ctx).Model(&noticeClaimRecord{}).Select("notice_id, COUNT(*) AS n, SUM(amount) AS total").
		Where("notice_id IN ?", ids).Group("notice_id").Scan(&sums).Error; err != nil {
		return nil, err
	}
	byID := map[string]int{}
	for i, r := range recs {
		out[i] = r.notice()
		byID[r.ID] = i
	}
	for _, s := range sums {
		out[byID[s.NoticeID]].Count, out[byID[s.NoticeID]].Total = s.N, s.Total
	}
	return out, nil
}

// NoticeLine is what a notice roster prints of one listed claim beside its
// payee's registry entry: the claim as it is now (a claim declined since is
// still listed, with the amount the notice showed).
type NoticeLine struct {
	ClaimID       string
	Amount        int64 // fen, as the notice showed it
	BeneficiaryID string
	CountyCode    string
	Programme     string
	Cause         string
}

// NoticeLines returns the claims a notice lists, in claim id order.
func NoticeLines(ctx context.Context, tx *gorm.DB, noticeID string) ([]NoticeLine, error) {
	var out []NoticeLine
	err := tx.WithContext(ctx).Table("notice_claims").
		Select("notice_claims.claim_id, notice_claims.amount, claims.beneficiary_id, claims.county_code, claims.programme, claims.cause").
		Joins("JOIN claims ON claims.id = notice_claims.claim_id").
		Where("notice_claims.notice_id = ?", noticeID).Order("notice_claims.claim_id").Scan(&out).Error
	return out, err
}

// Publication is what a disbursement asks of a claim's notice and
// objections: the end date of its notice ("" when in none) and whether an
// objection to it is open.
type Publication struct {
	NoticeEndsOn  string
	OpenObjection bool
}

// Publications returns the publication of each claim that is in a notice or
// has an open objection; the others are absent.
func Publications(ctx context.Context, tx *gorm.DB, ids []string) (map[string]Publication, error) {
	out := map[string]Publication{}
	if len(ids) == 0 {
		return out, nil
	}
	var ends []struct{ ClaimID, EndsOn string }
	if err := tx.WithContext(ctx).Table("notice_claims").Select("notice_claims.claim_id, notices.ends_on").
		Joins("JOIN notices ON notices.id = notice_claims.notice_id").
		Where("notice_claims.claim_id IN ?", ids).Scan(&ends).Error; err != nil {
		return nil, err
	}
	for _, e := range ends {
		out[e.ClaimID] = Publication{NoticeEndsOn: e.EndsOn}
	}
	var open []string
	if err := tx.WithContext(ctx).Model(&objectionRecord{}).Distinct("claim_id").
		Where("claim_id IN ? AND status = ?", ids, ObjectionOpen).Pluck("claim_id", &open).Error; err != nil {
		return nil, err
	}
	for _, id := range open {
		p := out[id]
		p.OpenObjection = true
		out[id] = p
	}
	return out, nil
}

// Objection is an objection (异议) to a claim: who raised it and why, who
// recorded it, and once resolved, how, by whom and with what note.
type Objection struct {
	ID         string
	ClaimID    string
	Status     string
	RaisedBy   string
	Reason     string
	Actor      string // who recorded it
	At         int64
	Note       string
	ResolvedBy string
	ResolvedAt int64 // 0 while open
}

type objectionRecord struct {
	ID         string `gorm:"primaryKey"`
	ClaimID    string
	Status     string
	RaisedBy   string
	Reason     string
	Actor      string
	At         int64
	Note       string
	ResolvedBy string
	ResolvedAt int64
}

func (objectionRecord) TableName() string { return "objections" }

// ObjectionView is an objection in answers.
type ObjectionView struct {
	ID         string  `json:"id"`
	ClaimID    string  `json:"claim_id"`
	Status     string  `json:"status"`
	RaisedBy   string  `json:"raised_by"`
	Reason     string  `json:"reason"`
	RecordedBy string  `json:"recorded_by"`
	At         string  `json:"at"`
	Note       *string `json:"note"`
	ResolvedBy *string `json:"resolved_by"`
	ResolvedAt *string `json:"resolved_at"`
}

// View renders the objection.
func (o Objection) View() ObjectionView {
	v := ObjectionView{ID: o.ID, ClaimID: o.ClaimID, Status: o.Status, RaisedBy: o.RaisedBy, Reason: o.Reason,
		RecordedBy: o.Actor, At: web.Timestamp(o.At)}
	if o.Status != ObjectionOpen {
		note, by, at := o.Note, o.ResolvedBy, web.Timestamp(o.ResolvedAt)
		v.Note, v.ResolvedBy, v.ResolvedAt = &note, &by, &at
	}
	return v
}

// InsertObjection stores a new objection.
func InsertObjection(ctx context.Context, tx *gorm.DB, o Objection) error {
	rec := objectionRecord(o)
	return tx.WithContext(ctx).Create(&rec).Error
}

// LoadObjection reads an objection, locked FOR UPDATE when lock is set.
func LoadObjection(ctx context.Context, tx *gorm.DB, id string, lock bool) (Objection, error) {
	var rec objectionRecord
	q := tx.WithContext(ctx).Where("id = ?", id)
	if lock {
		q = q.Clauses(lockingUpdate)
	}
	err := q.Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Objection{}, apperr.New(apperr.ErrNotFound, "no objection %s", id)
	}
	return Objection(rec), err
}

// SaveResolution records an objection's resolution.
func SaveResolution(ctx context.Context, tx *gorm.DB, o Objection) error {
	return tx.WithContext(ctx).Model(&objectionRecord{}).Where("id = ?", o.ID).Updates(map[string]any{
		"status": o.Status, "note": o.Note, "resolved_by": o.ResolvedBy, "resolved_at": o.ResolvedAt,
	}).Error
}

// annotate fills in each view's notice and objections (oldest first), for
// the answers read from the store (Get, List, Read). An approval's answer
// (Locked.View) needs neither: only approved claims are published or
// objected to, and an approval's claim was assessed until now.
func annotate(ctx context.Context, tx *gorm.DB, views []View) error {
	if len(views) == 0 {
		return nil
	}
	ids := make([]string, len(views))
	at := make(map[string]int, len(views))
	for i, v := range views {
		ids[i], at[v.ID] = v.ID, i
	}
	var refs []struct{ ClaimID, ID, EndsOn string }
	if err := tx.WithContext(ctx).Table("notice_claims").Select("notice_claims.claim_id, notices.id, notices.ends_on").
		Joins("JOIN notices ON notices.id = notice_claims.notice_id").
		Where("notice_claims.claim_id IN ?", ids).Scan(&refs).Error; err != nil {
		return err
	}
	for _, r := range refs {
		views[at[r.ClaimID]].Notice = &NoticeRef{ID: r.ID, EndsOn: r.EndsOn}
	}
	var recs []objectionRecord
	if err := tx.WithContext(ctx).Where("claim_id IN ?", ids).Order("at, id").Find(&recs).Error; err != nil {
		return err
	}
	for _, r := range recs {
		v := &views[at[r.ClaimID]]
		v.Objections = append(v.Objections, Objection(r).View())
	}
	return nil
}

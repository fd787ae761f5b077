// Package audit appends to the audit log of DESIGN §8: every mutating request
// and every export, with who, what and the outcome. Rows are only inserted.
// Each service writes its record in the same transaction as the change it
// describes, so a change and its audit record exist together or not at all.
package audit

import (
	"context"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"huimin/internal/db"
	"huimin/internal/ids"
)

// Record is one audit log row.
type Record struct {
	ID        string `gorm:"primaryKey"`
	At        int64
	Actor     string
	Role      string
	Org       string
	Action    string
	Target    string
	Outcome   string
	RequestID string
}

// TableName is the audit table.
func (Record) TableName() string { return "audit_log" }

// Who is the acting principal and request, as the services receive it.
type Who struct {
	Actor     string
	Role      string
	Org       string
	RequestID string
}

// Lengths of the audit_log columns that carry text built by the caller, in
// characters: target VARCHAR(128) and outcome VARCHAR(255) on MySQL/MariaDB
// (migrations/mysql 00001 and 00002), which counts characters in a utf8mb4
// VARCHAR and refuses a longer value (error 1406). SQLite does not limit
// TEXT; both databases get the same rule.
const (
	MaxTarget  = 128
	MaxOutcome = 255
)

// NewRecord makes a record to insert, for callers that write several at once.
//
// The target and the outcome are summaries that a caller may build from a
// client's text (a funding record's outcome is "<amount>: <reason>"), so they
// are shortened here, once for every writer, to fit their columns on both
// databases: a longer one keeps its first characters and ends in "…". A
// record is never refused for its length: the change it describes would
// fail with it. The principal's fields (actor, role, org, request id) are
// not shortened, since a shortened name would blame someone else; they are
// bounded where they enter (token names and orgs at most 64 characters,
// request ids at most 64).
func NewRecord(now time.Time, who Who, action, target, outcome string) Record {
	return Record{
		ID: ids.New(now), At: now.UnixMilli(), Actor: who.Actor, Role: who.Role, Org: who.Org,
		Action: action, Target: Summary(target, MaxTarget), Outcome: Summary(outcome, MaxOutcome), RequestID: who.RequestID,
	}
}

// Summary returns s when it has at most limit characters, else its first
// limit−1 characters and "…", so the result never exceeds limit characters.
func Summary(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	if limit < 1 {
		return ""
	}
	return string([]rune(s)[:limit-1]) + "…"
}

// Write appends one record in tx.
func Write(ctx context.Context, tx *gorm.DB, now time.Time, who Who, action, target, outcome string) error {
	r := NewRecord(now, who, action, target, outcome)
	return tx.WithContext(ctx).Create(&r).Error
}

// Filter selects audit records for the auditor's list, newest first.
type Filter struct {
	Actor, Action string
	Target        string    // the records of one thing, such as a claim by its id (index audit_target)
	From, To      time.Time // From inclusive, To exclusive; zero: unbounded
	Before        string    // cursor: the id of the last record of the previous page
	Limit         int
}

// List returns the records that match f, newest first. Audit ids are ULIDs
// of the record's instant, so a time range is an id range on the primary key.
func List(ctx context.Context, tx *gorm.DB, f Filter) ([]Record, error) {
	q := tx.WithContext(ctx).Order("id DESC").Limit(f.Limit)
	if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Target != "" {
		q = q.Where("target = ?", f.Target)
	}
	if !f.From.IsZero() {
		q = q.Where("id >= ?", ids.Floor(f.From))
	}
	if !f.To.IsZero() {
		q = q.Where("id < ?", ids.Floor(f.To))
	}
	if f.Before != "" {
		q = q.Where("id < ?", f.Before)
	}
	var recs []Record
	err := q.Find(&recs).Error
	return recs, err
}

// WriteAll appends several records in tx with one statement. Their target
// and outcome are shortened as NewRecord does, in place, so that a record
// made without NewRecord fits too.
func WriteAll(ctx context.Context, tx *gorm.DB, rs []Record) error {
	if len(rs) == 0 {
		return nil
	}
	for i := range rs {
		rs[i].Target, rs[i].Outcome = Summary(rs[i].Target, MaxTarget), Summary(rs[i].Outcome, MaxOutcome)
	}
	return db.InsertRows(ctx, tx, "audit_log", columns, len(rs), 0, func(args []any, i int) []any {
		r := &rs[i]
		return append(args, r.ID, r.At, r.Actor, r.Role, r.Org, r.Action, r.Target, r.Outcome, r.RequestID)
	})
}

// columns are the audit log's columns, in the order WriteAll gives a
// record's values.
var columns = []string{"id", "at", "actor", "role", "org", "action", "target", "outcome", "request_id"}

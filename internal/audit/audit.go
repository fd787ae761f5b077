// Package audit appends to the audit log of DESIGN §8: every mutating request
// and every export, with who, what and the outcome. Rows are only inserted.
// Each service writes its record in the same transaction as the change it
// describes, so a change and its audit record exist together or not at all.
package audit

import (
	"context"
	"time"

	"gorm.io/gorm"

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

// NewRecord makes a record to insert, for callers that write several at once.
func NewRecord(now time.Time, who Who, action, target, outcome string) Record {
	return Record{
		ID: ids.New(now), At: now.UnixMilli(), Actor: who.Actor, Role: who.Role, Org: who.Org,
		Action: action, Target: target, Outcome: outcome, RequestID: who.RequestID,
	}
}

// Write appends one record in tx.
func Write(ctx context.Context, tx *gorm.DB, now time.Time, who Who, action, target, outcome string) error {
	r := NewRecord(now, who, action, target, outcome)
	return tx.WithContext(ctx).Create(&r).Error
}

// Filter selects audit records for the auditor's list, newest first.
type Filter struct {
	Actor, Action string
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

// WriteAll appends several records in tx with one statement.
func WriteAll(ctx context.Context, tx *gorm.DB, rs []Record) error {
	if len(rs) == 0 {
		return nil
	}
	return tx.WithContext(ctx).Create(&rs).Error
}

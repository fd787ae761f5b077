package ledger

import (
	"time"

	"huimin/internal/db"
)

// Service reads the ledger for people: lists, exports and verification.
// Writes go through Append inside the caller's transaction.
type Service struct {
	db  *db.DB
	now func() time.Time
}

// New returns the ledger service.
func New(d *db.DB, now func() time.Time) *Service { return &Service{db: d, now: now} }

// Package auth issues and checks API tokens and enforces roles (DESIGN §9).
// A token is "hm_" followed by 32 random bytes in base64url; only its SHA-256
// is stored, so a database leak reveals no usable token. Revocation takes
// effect on the next request: tokens are looked up on every request, by hash,
// with no cache.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/db"
	"huimin/internal/ids"
	"huimin/internal/ttl"
)

// Roles of DESIGN §9.
const (
	Admin   = "admin"
	Insurer = "insurer"
	Finance = "finance"
	Auditor = "auditor"
)

// AllRoles lists every role.
var AllRoles = []string{Admin, Insurer, Finance, Auditor}

// Prefix marks Huimin tokens so that secret scanners and people recognise them.
const Prefix = "hm_"

var (
	goodName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	goodOrg  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

// Token is a stored token: never the raw value, only its hash.
type Token struct {
	ID        string `gorm:"primaryKey"`
	Name      string
	Role      string
	Org       string
	Hash      string
	CreatedAt int64 `gorm:"autoCreateTime:false"`
	RevokedAt *int64
}

// Principal is who is calling: the token's id, name (the actor), role and org.
type Principal struct {
	TokenID string
	Name    string
	Role    string
	Org     string
}

// Service issues, lists, revokes and checks tokens.
type Service struct {
	db         *db.DB
	now        func() time.Time
	principals *ttl.Cache[string, Principal] // by token hash
}

// NewService returns a token service on d with clock now.
func NewService(d *db.DB, now func() time.Time) *Service {
	return &Service{db: d, now: now, principals: ttl.New[string, Principal](time.Second, 10000)}
}

// NewInput is what creating a token takes.
type NewInput struct {
	Role string `json:"role"`
	Name string `json:"name"`
	Org  string `json:"org"`
}

// Validate names every bad field.
func (in NewInput) Validate() error {
	var f apperr.Fields
	roleOK := oneOf(in.Role, AllRoles)
	if !roleOK {
		f.Add("role", "must be one of admin, insurer, finance, auditor")
	}
	if !goodName.MatchString(in.Name) {
		f.Add("name", "must match [A-Za-z0-9_.-]{1,64}")
	}
	switch {
	case !roleOK:
		// Whether an org belongs depends on the role; say nothing until it is valid.
	case in.Role == Insurer && !goodOrg.MatchString(in.Org):
		f.Add("org", "an insurer token needs an org matching [A-Za-z0-9_.-]{1,64}")
	case in.Role != Insurer && in.Org != "":
		f.Add("org", "only insurer tokens belong to an org")
	}
	return f.Err()
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// Create issues a token and returns the raw value, which is shown once.
func (s *Service) Create(ctx context.Context, who audit.Who, in NewInput) (string, Token, error) {
	if err := in.Validate(); err != nil {
		return "", Token{}, err
	}
	raw, hash := newRaw()
	now := s.now()
	t := Token{ID: ids.New(now), Name: in.Name, Role: in.Role, Org: in.Org, Hash: hash, CreatedAt: now.UnixMilli()}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&t).Error; err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "token.create", t.ID, "created")
	})
	if err != nil {
		return "", Token{}, err
	}
	return raw, t, nil
}

func newRaw() (raw, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	raw = Prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return raw, hashOf(raw)
}

func hashOf(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}

// List returns tokens newest first, after the cursor id when given.
func (s *Service) List(ctx context.Context, limit int, after string) ([]Token, error) {
	var ts []Token
	q := s.db.WithContext(ctx).Order("id DESC").Limit(limit)
	if after != "" {
		q = q.Where("id < ?", after)
	}
	return ts, db.Translate(q.Find(&ts).Error)
}

// Revoke revokes a token; revoking twice is harmless.
func (s *Service) Revoke(ctx context.Context, who audit.Who, id string) (Token, error) {
	var t Token
	now := s.now()
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", id).Take(&t).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return apperr.New(apperr.ErrNotFound, "no token %s", id)
			}
			return err
		}
		outcome := "already_revoked"
		if t.RevokedAt == nil {
			ms := now.UnixMilli()
			t.RevokedAt = &ms
			if err := tx.Model(&Token{}).Where("id = ?", id).Update("revoked_at", ms).Error; err != nil {
				return err
			}
			outcome = "revoked"
		}
		return audit.Write(ctx, tx, now, who, "token.revoke", id, outcome)
	})
	s.principals.Clear()
	return t, err
}

// Authenticate returns the principal of a live token, or ErrUnauthorized.
func (s *Service) Authenticate(ctx context.Context, raw string) (Principal, error) {
	if !strings.HasPrefix(raw, Prefix) || len(raw) > 128 {
		return Principal{}, apperr.New(apperr.ErrUnauthorized, "invalid token")
	}
	// Live tokens are remembered for a second: every request authenticates,
	// and a revocation through this process clears the cache at once (one
	// made by another process, such as the CLI, is seen within the second).
	h := hashOf(raw)
	if p, ok := s.principals.Get(h); ok {
		return p, nil
	}
	gen := s.principals.Gen()
	var t Token
	err := s.db.WithContext(ctx).Where("hash = ? AND revoked_at IS NULL", h).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, apperr.New(apperr.ErrUnauthorized, "invalid or revoked token")
	}
	if err != nil {
		return Principal{}, db.Translate(err)
	}
	p := Principal{TokenID: t.ID, Name: t.Name, Role: t.Role, Org: t.Org}
	s.principals.Set(h, p, gen)
	return p, nil
}

// EnsureAdmin creates an admin token named "admin" when no live admin token
// exists, and returns its raw value (empty when one already existed). The
// first `serve` on an empty database prints it once. Servers started
// together look and create under the database's "admin-token" lock, so
// exactly one of them creates and prints it.
func (s *Service) EnsureAdmin(ctx context.Context) (string, error) {
	var raw string
	err := s.db.Exclusive(ctx, "admin-token", func(ctx context.Context) error {
		var n int64
		if err := s.db.WithContext(ctx).Model(&Token{}).Where("role = ? AND revoked_at IS NULL", Admin).Count(&n).Error; err != nil {
			return fmt.Errorf("count admin tokens: %w", db.Translate(err))
		}
		if n > 0 {
			return nil
		}
		var err error
		raw, _, err = s.Create(ctx, audit.Who{Actor: "system", Role: Admin}, NewInput{Role: Admin, Name: "admin"})
		return err
	})
	return raw, err
}

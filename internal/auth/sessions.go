package auth

// Console sessions and sign-in (DESIGN §18). A session id is 32 random
// bytes sent as a cookie; only its SHA-256 is stored. A session ends at
// sign-out, when its user is disabled or given a new password, after
// IdleTimeout without a request and MaxAge after sign-in. Repeated failed
// sign-ins of one name lock it for a while. Every sign-in, failed sign-in,
// sign-out and expiry is in the audit log.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/db"
	"huimin/internal/ids"
)

var lockUpdate = clause.Locking{Strength: "UPDATE"}

// Session is a sessions row.
type Session struct {
	ID         string `gorm:"primaryKey"` // SHA-256 of the cookie's value, hex
	UserID     string
	CreatedAt  int64 `gorm:"autoCreateTime:false"`
	LastSeenAt int64
}

// TableName is the sessions table.
func (Session) TableName() string { return "sessions" }

// loginFailure is a login_failures row: one failed sign-in of a name.
type loginFailure struct {
	ID   string `gorm:"primaryKey"`
	Name string
	At   int64
}

func (loginFailure) TableName() string { return "login_failures" }

// Why a sign-in was refused. The console says the first two alike, so that
// a stranger cannot tell which names exist.
var (
	ErrBadCredentials = errors.New("wrong user name or password")
	ErrLockedOut      = errors.New("too many failed sign-ins: locked for a while")
	ErrUserDisabled   = errors.New("the user is disabled")
	ErrNoSession      = errors.New("no valid session")
)

// touchEvery is how stale last_seen_at may get before a request writes it
// again: idleness is measured to the minute, and a page view that follows
// another within the minute writes nothing.
const touchEvery = time.Minute

// StaffSession is a signed-in user's session.
type StaffSession struct {
	Principal
	Raw       string // the cookie value
	CSRF      string // the token every mutating request must carry
	CreatedAt time.Time
}

// CSRFToken is the CSRF token of a session: derived from the session id
// (which the browser keeps in an HttpOnly cookie that scripts cannot read),
// so it needs no column, and the stored hash of the id does not give it.
func CSRFToken(raw string) string {
	h := sha256.Sum256([]byte("huimin-csrf|" + raw))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// SameToken compares two tokens in constant time.
func SameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// SignIn checks a name and password and opens a session. It refuses with
// ErrLockedOut (before looking at the password) while the name has
// MaxFailures failed sign-ins within FailureWindow, with ErrBadCredentials
// for an unknown name or a wrong password (recorded toward the lockout),
// and with ErrUserDisabled for a disabled user's right password. lockedUntil
// is set with ErrLockedOut. Every outcome is audited.
func (u *Users) SignIn(ctx context.Context, name, password, requestID string) (s StaffSession, lockedUntil time.Time, err error) {
	now := u.now()
	who := audit.Who{Actor: name, RequestID: requestID}
	if !goodName.MatchString(name) || len(password) > 4*PasswordMax {
		// Not a name any user can have: nothing to count it against, and
		// nothing safe to write as the actor.
		who.Actor = "-"
		u.auditAlone(ctx, now, who, "session.login", "", "failed: malformed name")
		return s, lockedUntil, ErrBadCredentials
	}
	var failures []loginFailure
	since := now.Add(-u.cfg.FailureWindow).UnixMilli()
	if err := u.db.WithContext(ctx).Where("name = ? AND at > ?", name, since).Order("at").Find(&failures).Error; err != nil {
		return s, lockedUntil, db.Translate(err)
	}
	usr, lookupErr := loadUser(ctx, u.db.DB, name, false)
	if lookupErr == nil {
		who.Role, who.Org = usr.Role, usr.Org
	}
	if len(failures) >= u.cfg.MaxFailures {
		lockedUntil = time.UnixMilli(failures[len(failures)-u.cfg.MaxFailures].At).Add(u.cfg.FailureWindow)
		u.auditAlone(ctx, now, who, "session.login", name, "refused: locked")
		return s, lockedUntil, ErrLockedOut
	}
	found := lookupErr == nil
	if lookupErr != nil && apperr.KindOf(lookupErr) != apperr.ErrNotFound {
		return s, lockedUntil, lookupErr
	}
	var phc string
	if found {
		phc = usr.PasswordHash
	}
	var ok bool
	if err := u.withKDF(ctx, func() {
		if !found {
			phc = u.dummy()
		}
		ok = passwordMatches(phc, password)
	}); err != nil {
		return s, lockedUntil, err
	}
	if !found || !ok {
		why := "failed: wrong password"
		if !found {
			why = "failed: unknown user"
		}
		err := u.db.Tx(ctx, func(tx *gorm.DB) error {
			// Old failures of every name go as new ones come: the table
			// holds at most a window's worth.
			if err := tx.Where("at <= ?", since).Delete(&loginFailure{}).Error; err != nil {
				return err
			}
			if err := tx.Create(&loginFailure{ID: ids.New(now), Name: name, At: now.UnixMilli()}).Error; err != nil {
				return err
			}
			return audit.Write(ctx, tx, now, who, "session.login", name, why)
		})
		if err != nil {
			return s, lockedUntil, err
		}
		if all := append(failures, loginFailure{At: now.UnixMilli()}); len(all) >= u.cfg.MaxFailures {
			// This failure locks the name: say so now.
			lockedUntil = time.UnixMilli(all[len(all)-u.cfg.MaxFailures].At).Add(u.cfg.FailureWindow)
			return s, lockedUntil, ErrLockedOut
		}
		return s, lockedUntil, ErrBadCredentials
	}
	if usr.DisabledAt != nil {
		u.auditAlone(ctx, now, who, "session.login", name, "refused: disabled")
		return s, lockedUntil, ErrUserDisabled
	}
	raw := newSessionID()
	row := Session{ID: sessionHash(raw), UserID: usr.ID, CreatedAt: now.UnixMilli(), LastSeenAt: now.UnixMilli()}
	err = u.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := u.pruneSessions(ctx, tx, now); err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := tx.Where("name = ?", name).Delete(&loginFailure{}).Error; err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "session.login", name, "signed_in")
	})
	if err != nil {
		return s, lockedUntil, err
	}
	return StaffSession{Principal: principalOf(usr), Raw: raw, CSRF: CSRFToken(raw), CreatedAt: now}, lockedUntil, nil
}

func principalOf(usr User) Principal {
	return Principal{Name: usr.Name, Role: usr.Role, Org: usr.Org}
}

// Session returns the live session of a cookie value and marks it used, or
// ErrNoSession: unknown, idle past IdleTimeout, older than MaxAge, or its
// user disabled. An expired session is deleted and the expiry audited.
func (u *Users) Session(ctx context.Context, raw, requestID string) (StaffSession, error) {
	if raw == "" || len(raw) > 128 {
		return StaffSession{}, ErrNoSession
	}
	now := u.now()
	var row Session
	err := u.db.WithContext(ctx).Where("id = ?", sessionHash(raw)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return StaffSession{}, ErrNoSession
	}
	if err != nil {
		return StaffSession{}, db.Translate(err)
	}
	var usr User
	err = u.db.WithContext(ctx).Where("id = ?", row.UserID).Take(&usr).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return StaffSession{}, db.Translate(err)
	}
	idle := now.Sub(time.UnixMilli(row.LastSeenAt))
	age := now.Sub(time.UnixMilli(row.CreatedAt))
	if err != nil || usr.DisabledAt != nil || idle >= u.cfg.IdleTimeout || age >= u.cfg.MaxAge {
		why := "expired: idle"
		if age >= u.cfg.MaxAge {
			why = "expired: max age"
		}
		if err != nil || usr.DisabledAt != nil {
			why = "ended: user disabled"
		}
		who := audit.Who{Actor: usr.Name, Role: usr.Role, Org: usr.Org, RequestID: requestID}
		if who.Actor == "" {
			who.Actor = "-"
		}
		_ = u.db.Tx(ctx, func(tx *gorm.DB) error {
			if err := tx.Where("id = ?", row.ID).Delete(&Session{}).Error; err != nil {
				return err
			}
			return audit.Write(ctx, tx, now, who, "session.expire", usr.Name, why)
		})
		return StaffSession{}, ErrNoSession
	}
	if idle >= touchEvery {
		if err := u.db.WithContext(ctx).Model(&Session{}).Where("id = ?", row.ID).Update("last_seen_at", now.UnixMilli()).Error; err != nil {
			return StaffSession{}, db.Translate(err)
		}
	}
	return StaffSession{Principal: principalOf(usr), Raw: raw, CSRF: CSRFToken(raw), CreatedAt: time.UnixMilli(row.CreatedAt)}, nil
}

// SignOut ends a session; signing out of an ended session is harmless.
func (u *Users) SignOut(ctx context.Context, s StaffSession, requestID string) error {
	now := u.now()
	who := audit.Who{Actor: s.Name, Role: s.Role, Org: s.Org, RequestID: requestID}
	return u.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", sessionHash(s.Raw)).Delete(&Session{}).Error; err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "session.logout", s.Name, "signed_out")
	})
}

// SessionCount is the number of live-looking sessions of a user (not yet
// pruned), for the administrator's list.
func (u *Users) SessionCount(ctx context.Context, userID string) (int64, error) {
	var n int64
	since := u.now().Add(-u.cfg.IdleTimeout).UnixMilli()
	err := u.db.WithContext(ctx).Model(&Session{}).Where("user_id = ? AND last_seen_at > ?", userID, since).Count(&n).Error
	return n, db.Translate(err)
}

// pruneSessions deletes the sessions past either limit, as sign-ins come.
func (u *Users) pruneSessions(ctx context.Context, tx *gorm.DB, now time.Time) error {
	if err := tx.WithContext(ctx).Where("last_seen_at <= ?", now.Add(-u.cfg.IdleTimeout).UnixMilli()).Delete(&Session{}).Error; err != nil {
		return err
	}
	return tx.WithContext(ctx).Where("created_at <= ?", now.Add(-u.cfg.MaxAge).UnixMilli()).Delete(&Session{}).Error
}

// endSessions deletes every session of a user and says how many there were.
func endSessions(ctx context.Context, tx *gorm.DB, userID string) (int64, error) {
	res := tx.WithContext(ctx).Where("user_id = ?", userID).Delete(&Session{})
	return res.RowsAffected, res.Error
}

// auditAlone writes one audit record in a transaction of its own (a refused
// sign-in changes nothing else). A failure to write it is not the
// caller's answer: the refusal stands.
func (u *Users) auditAlone(ctx context.Context, now time.Time, who audit.Who, action, target, outcome string) {
	_ = u.db.Tx(ctx, func(tx *gorm.DB) error {
		return audit.Write(ctx, tx, now, who, action, target, outcome)
	})
}

func newSessionID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func sessionHash(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}

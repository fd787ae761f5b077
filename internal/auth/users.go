package auth

// Staff accounts of the console (DESIGN §18). A user signs in with a name
// and a password; the name is the actor in approvals, ledger entries and the
// audit log, shared with API tokens of the same name, so one person is one
// actor whichever way they act.
//
// Passwords are hashed with argon2id (golang.org/x/crypto/argon2): memory
// hard, so a leaked table is expensive to guess against on GPUs; the Go
// team's own library; pure Go, no cgo. The parameters are stored with each
// hash (a PHC string), so raising them later leaves old passwords valid.

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/db"
	"huimin/internal/ids"
)

// StaffRoles are the roles a console user may have. Insurers integrate
// over the API with tokens; they have no console.
var StaffRoles = []string{Admin, Finance, Auditor}

// Password limits, in characters.
const (
	PasswordMin = 12
	PasswordMax = 128
)

// User is a users row: never the password, only its argon2id hash.
type User struct {
	ID            string `gorm:"primaryKey"`
	Name          string
	Role          string
	Org           string
	PasswordHash  string
	CreatedAt     int64 `gorm:"autoCreateTime:false"`
	PasswordSetAt int64
	DisabledAt    *int64
}

// TableName is the users table.
func (User) TableName() string { return "users" }

// KDF holds the argon2id parameters of new hashes.
type KDF struct {
	Time    uint32 // passes
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultKDF is OWASP's recommended argon2id setting (19 MiB, 2 passes,
// 1 lane): about 0.2 s on one core of the CI machine.
var DefaultKDF = KDF{Time: 2, Memory: 19 * 1024, Threads: 1}

// UserConfig is how sessions and the lockout behave; zero fields take the
// defaults noted.
type UserConfig struct {
	IdleTimeout   time.Duration // a session unused this long ends (30 min)
	MaxAge        time.Duration // a session ends this long after sign-in, used or not (12 h)
	MaxFailures   int           // failed sign-ins of a name within FailureWindow that lock it (5)
	FailureWindow time.Duration // (15 min)
	KDF           KDF           // (DefaultKDF)
}

func (c UserConfig) withDefaults() UserConfig {
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 30 * time.Minute
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 12 * time.Hour
	}
	if c.MaxFailures <= 0 {
		c.MaxFailures = 5
	}
	if c.FailureWindow <= 0 {
		c.FailureWindow = 15 * time.Minute
	}
	if c.KDF.Time == 0 || c.KDF.Memory == 0 || c.KDF.Threads == 0 {
		c.KDF = DefaultKDF
	}
	return c
}

// Users manages staff accounts and their console sessions.
type Users struct {
	db  *db.DB
	now func() time.Time
	cfg UserConfig
	// kdf bounds the password hashes computed at once: each takes
	// cfg.KDF.Memory, so a burst of sign-ins cannot take the process's
	// memory; the others wait their turn (or their request's deadline).
	kdf chan struct{}
	// dummy is a hash checked when the name is unknown, so that an unknown
	// name takes as long to refuse as a wrong password. It is made on first
	// use: most processes (and tests) never sign anyone in.
	dummy func() string
}

// NewUsers returns the user service on d with clock now.
func NewUsers(d *db.DB, now func() time.Time, cfg UserConfig) *Users {
	cfg = cfg.withDefaults()
	u := &Users{db: d, now: now, cfg: cfg, kdf: make(chan struct{}, 2)}
	u.dummy = sync.OnceValue(func() string { return hashPassword(cfg.KDF, GeneratePassword()) })
	return u
}

// Config returns the settings in force, defaults filled in.
func (u *Users) Config() UserConfig { return u.cfg }

// NewUserInput is what creating a user takes. An empty Password has one
// generated.
type NewUserInput struct {
	Role     string
	Name     string
	Org      string
	Password string
}

// Validate names every bad field.
func (in NewUserInput) Validate() error {
	var f apperr.Fields
	if !oneOf(in.Role, StaffRoles) {
		f.Add("role", "must be one of admin, finance, auditor (insurers use API tokens)")
	}
	if !goodName.MatchString(in.Name) {
		f.Add("name", "must match [A-Za-z0-9_.-]{1,64}")
	}
	if in.Org != "" && !goodOrg.MatchString(in.Org) {
		f.Add("org", "must match [A-Za-z0-9_.-]{1,64} (the office, optional)")
	}
	if in.Password != "" {
		if msg := PasswordProblem(in.Password, in.Name); msg != "" {
			f.Add("password", "%s", msg)
		}
	}
	return f.Err()
}

// PasswordProblem says what is wrong with a password chosen for the user
// name, or "" when it is acceptable: 12 to 128 characters of valid text, not
// containing the name, not one character repeated.
func PasswordProblem(pw, name string) string {
	switch n := utf8.RuneCountInString(pw); {
	case !utf8.ValidString(pw):
		return "is not valid UTF-8 text"
	case n < PasswordMin:
		return fmt.Sprintf("must be at least %d characters", PasswordMin)
	case n > PasswordMax:
		return fmt.Sprintf("must be at most %d characters", PasswordMax)
	case strings.ContainsFunc(pw, unicode.IsControl):
		return "must not contain control characters"
	case name != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(name)):
		return "must not contain the user name"
	case strings.Trim(pw, pw[:firstRuneLen(pw)]) == "":
		return "must not be one character repeated"
	}
	return ""
}

func firstRuneLen(s string) int {
	_, n := utf8.DecodeRuneInString(s)
	return n
}

// passwordAlphabet leaves out characters that read alike (0/O, 1/l/I).
const passwordAlphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// GeneratePassword returns a random password of 16 characters in four
// groups (about 92 bits): xxxx-xxxx-xxxx-xxxx.
func GeneratePassword() string {
	var b strings.Builder
	max := big.NewInt(int64(len(passwordAlphabet)))
	for i := range 16 {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b.WriteByte(passwordAlphabet[n.Int64()])
	}
	return b.String()
}

// hashPassword returns pw's argon2id hash as a PHC string.
func hashPassword(k KDF, pw string) string {
	var salt [16]byte
	if _, err := rand.Read(salt[:]); err != nil {
		panic(err)
	}
	key := argon2.IDKey([]byte(pw), salt[:], k.Time, k.Memory, k.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, k.Memory, k.Time, k.Threads,
		b64.EncodeToString(salt[:]), b64.EncodeToString(key))
}

// passwordMatches reports whether pw matches a PHC string made by
// hashPassword, comparing in constant time.
func passwordMatches(phc, pw string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false
	}
	var k KDF
	var threads int
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &k.Memory, &k.Time, &threads); err != nil ||
		threads < 1 || threads > 255 || k.Time < 1 || k.Time > 100 || k.Memory < 8 || k.Memory > 4<<20 {
		return false
	}
	k.Threads = uint8(threads)
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, k.Time, k.Memory, k.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// withKDF runs fn holding one of the hashing slots.
func (u *Users) withKDF(ctx context.Context, fn func()) error {
	select {
	case u.kdf <- struct{}{}:
	case <-ctx.Done():
		return apperr.New(apperr.ErrUnavailable, "too many sign-ins at once; retry")
	}
	defer func() { <-u.kdf }()
	fn()
	return nil
}

// Create makes a user and returns the password: the one given, or a new
// one, which is shown once.
func (u *Users) Create(ctx context.Context, who audit.Who, in NewUserInput) (string, User, error) {
	if err := in.Validate(); err != nil {
		return "", User{}, err
	}
	pw := in.Password
	if pw == "" {
		pw = GeneratePassword()
	}
	var hash string
	if err := u.withKDF(ctx, func() { hash = hashPassword(u.cfg.KDF, pw) }); err != nil {
		return "", User{}, err
	}
	now := u.now()
	usr := User{ID: ids.New(now), Name: in.Name, Role: in.Role, Org: in.Org, PasswordHash: hash,
		CreatedAt: now.UnixMilli(), PasswordSetAt: now.UnixMilli()}
	err := u.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&usr).Error; err != nil {
			if db.IsDuplicate(err) {
				return apperr.New(apperr.ErrConflict, "a user named %s already exists", in.Name)
			}
			return err
		}
		return audit.Write(ctx, tx, now, who, "user.create", in.Name, "created "+in.Role)
	})
	if err != nil {
		return "", User{}, err
	}
	return pw, usr, nil
}

// List returns users ordered by name, after the cursor name when given.
func (u *Users) List(ctx context.Context, limit int, after string) ([]User, error) {
	var us []User
	q := u.db.WithContext(ctx).Order("name").Limit(limit)
	if after != "" {
		q = q.Where("name > ?", after)
	}
	return us, db.Translate(q.Find(&us).Error)
}

// Get returns the user with this name.
func (u *Users) Get(ctx context.Context, name string) (User, error) {
	return loadUser(ctx, u.db.DB, name, false)
}

func loadUser(ctx context.Context, tx *gorm.DB, name string, lock bool) (User, error) {
	var usr User
	if !goodName.MatchString(name) {
		return usr, apperr.New(apperr.ErrNotFound, "no user %q", name)
	}
	q := tx.WithContext(ctx).Where("name = ?", name)
	if lock {
		q = q.Clauses(lockUpdate)
	}
	err := q.Take(&usr).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return usr, apperr.New(apperr.ErrNotFound, "no user %s", name)
	}
	return usr, db.Translate(err)
}

// Disable disables a user and ends their sessions at once; disabling twice
// is harmless.
func (u *Users) Disable(ctx context.Context, who audit.Who, name string) (User, error) {
	now := u.now()
	var usr User
	err := u.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if usr, err = loadUser(ctx, tx, name, true); err != nil {
			return err
		}
		outcome := "already_disabled"
		if usr.DisabledAt == nil {
			ms := now.UnixMilli()
			usr.DisabledAt = &ms
			if err := tx.Model(&User{}).Where("id = ?", usr.ID).Update("disabled_at", ms).Error; err != nil {
				return err
			}
			outcome = "disabled"
		}
		n, err := endSessions(ctx, tx, usr.ID)
		if err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "user.disable", name, fmt.Sprintf("%s, %d session(s) ended", outcome, n))
	})
	return usr, err
}

// Reset gives a user a new password — the one given, or a new one, which
// is shown once — re-enables a disabled user, clears their failed sign-ins
// (the lockout) and ends their sessions.
func (u *Users) Reset(ctx context.Context, who audit.Who, name, password string) (string, User, error) {
	if password != "" {
		if msg := PasswordProblem(password, name); msg != "" {
			return "", User{}, apperr.Invalid("password", "%s", msg)
		}
	} else {
		password = GeneratePassword()
	}
	var hash string
	if err := u.withKDF(ctx, func() { hash = hashPassword(u.cfg.KDF, password) }); err != nil {
		return "", User{}, err
	}
	now := u.now()
	var usr User
	err := u.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if usr, err = loadUser(ctx, tx, name, true); err != nil {
			return err
		}
		usr.PasswordHash, usr.PasswordSetAt, usr.DisabledAt = hash, now.UnixMilli(), nil
		if err := tx.Model(&User{}).Where("id = ?", usr.ID).Updates(map[string]any{
			"password_hash": hash, "password_set_at": usr.PasswordSetAt, "disabled_at": nil,
		}).Error; err != nil {
			return err
		}
		if err := tx.Where("name = ?", name).Delete(&loginFailure{}).Error; err != nil {
			return err
		}
		n, err := endSessions(ctx, tx, usr.ID)
		if err != nil {
			return err
		}
		return audit.Write(ctx, tx, now, who, "user.reset", name, fmt.Sprintf("new password, %d session(s) ended", n))
	})
	if err != nil {
		return "", User{}, err
	}
	return password, usr, nil
}

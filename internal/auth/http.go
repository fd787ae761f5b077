package auth

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/web"
)

const principalKey = "principal"

// Middleware is middleware that checks the bearer token, when one is sent,
// and records the principal. Require then enforces presence and role.
func (s *Service) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			if h == "" {
				return next(c)
			}
			scheme, raw, ok := strings.Cut(h, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				return apperr.New(apperr.ErrUnauthorized, "use Authorization: Bearer <token>")
			}
			p, err := s.Authenticate(c.Request().Context(), strings.TrimSpace(raw))
			if err != nil {
				return err
			}
			c.Set(principalKey, p)
			web.SetPrincipalName(c, p.Name)
			return next(c)
		}
	}
}

// Require lets through only authenticated callers with one of roles: no or a
// bad token is 401, another role 403.
func Require(roles ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, ok := c.Get(principalKey).(Principal)
			if !ok {
				return apperr.New(apperr.ErrUnauthorized, "a bearer token is required")
			}
			if !oneOf(p.Role, roles) {
				return apperr.New(apperr.ErrForbidden, "role %s may not do this", p.Role)
			}
			return next(c)
		}
	}
}

// Any is every role: routes open to all authenticated callers.
var Any = AllRoles

// From returns the caller (the zero Principal before authentication).
func From(c echo.Context) Principal {
	p, _ := c.Get(principalKey).(Principal)
	return p
}

// Who is the caller and request id, for audit records.
func Who(c echo.Context) audit.Who {
	p := From(c)
	return audit.Who{Actor: p.Name, Role: p.Role, Org: p.Org, RequestID: web.RequestID(c)}
}

// View is a token in answers. Token (the raw value) is set only on creation.
type View struct {
	ID        string  `json:"id"`
	Token     string  `json:"token,omitempty"`
	Role      string  `json:"role"`
	Name      string  `json:"name"`
	Org       *string `json:"org"`
	CreatedAt string  `json:"created_at"`
	RevokedAt *string `json:"revoked_at"`
}

// ViewOf renders t.
func ViewOf(t Token) View {
	v := View{ID: t.ID, Role: t.Role, Name: t.Name, CreatedAt: web.Timestamp(t.CreatedAt)}
	if t.Org != "" {
		org := t.Org
		v.Org = &org
	}
	if t.RevokedAt != nil {
		r := web.Timestamp(*t.RevokedAt)
		v.RevokedAt = &r
	}
	return v
}

// Routes mounts the admin token endpoints of DESIGN §11.
func (s *Service) Routes(g *echo.Group) {
	admin := Require(Admin)
	g.POST("/tokens", s.create, admin)
	g.GET("/tokens", s.list, admin)
	g.DELETE("/tokens/:id", s.revoke, admin)
}

func (s *Service) create(c echo.Context) error {
	var in NewInput
	if err := web.Bind(c, &in); err != nil {
		return err
	}
	raw, t, err := s.Create(c.Request().Context(), Who(c), in)
	if err != nil {
		return err
	}
	v := ViewOf(t)
	v.Token = raw
	return c.JSON(http.StatusCreated, v)
}

func (s *Service) list(c echo.Context) error {
	var fe apperr.Fields
	lq := web.ReadList(c, web.ListSpec{Default: 100, Max: 500, CursorParts: 1}, &fe)
	if err := fe.Err(); err != nil {
		return err
	}
	limit, cur := lq.Limit, lq.Cursor
	after := ""
	if cur != nil {
		after = cur[0]
	}
	ts, err := s.List(c.Request().Context(), limit+1, after)
	if err != nil {
		return err
	}
	views := make([]View, len(ts))
	for i, t := range ts {
		views[i] = ViewOf(t)
	}
	return c.JSON(http.StatusOK, web.Page(views, limit, func(v View) []string { return []string{v.ID} }))
}

func (s *Service) revoke(c echo.Context) error {
	// Token ids are ULIDs: anything else names no token, whatever the
	// database's collation would match (a trailing space on MariaDB).
	if !web.IsID(c.Param("id")) {
		return apperr.New(apperr.ErrNotFound, "no token %q", c.Param("id"))
	}
	t, err := s.Revoke(c.Request().Context(), Who(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ViewOf(t))
}

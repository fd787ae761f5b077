package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"huimin/internal/apperr"
)

const requestIDKey = "request_id"

// HeaderRequestID carries the request id in and out.
const HeaderRequestID = "X-Request-ID"

var goodRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// RequestIDs takes the client's X-Request-ID when it is sane, or makes one,
// and echoes it in the answer.
func RequestIDs() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(HeaderRequestID)
			if !goodRequestID.MatchString(id) {
				var b [12]byte
				_, _ = rand.Read(b[:])
				// A leading letter: an id is never a run of digits, which
				// could be mistaken for an account number in a log.
				id = "r" + hex.EncodeToString(b[:])
			}
			c.Set(requestIDKey, id)
			c.Response().Header().Set(HeaderRequestID, id)
			return next(c)
		}
	}
}

// RequestID returns the current request's id.
func RequestID(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// Observe runs after every request has been answered — its error rendered
// as the envelope first, so the status is final — and hands fn the route
// pattern ("(unmatched)" when no route matched) and the time taken. The
// access log and the request metrics are both observers.
func Observe(fn func(c echo.Context, route string, elapsed time.Duration)) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			route := c.Path()
			if route == "" {
				route = "(unmatched)"
			}
			fn(c, route, time.Since(start))
			return nil
		}
	}
}

// AccessLog writes one JSON line per request. It logs the route pattern
// (/api/v1/beneficiaries/:id), never the raw path or query, so id and account
// numbers never reach the log.
func AccessLog(log *slog.Logger) echo.MiddlewareFunc {
	return Observe(func(c echo.Context, route string, elapsed time.Duration) {
		attrs := []any{
			"request_id", RequestID(c),
			"method", c.Request().Method,
			"route", route,
			"status", c.Response().Status,
			"bytes", c.Response().Size,
			"duration_ms", elapsed.Milliseconds(),
		}
		if p := PrincipalName(c); p != "" {
			attrs = append(attrs, "actor", p)
		}
		log.Info("request", attrs...)
	})
}

// principalNameKey is set by the auth middleware so the access log can say
// who acted without importing auth.
const principalNameKey = "principal_name"

// SetPrincipalName records the acting token's name for the access log.
func SetPrincipalName(c echo.Context, name string) { c.Set(principalNameKey, name) }

// PrincipalName is the acting token's name, or "".
func PrincipalName(c echo.Context) string {
	n, _ := c.Get(principalNameKey).(string)
	return n
}

// Recover turns a panic into a 500 envelope and logs the stack with the
// request id.
func Recover(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					log.Error("panic", "request_id", RequestID(c), "route", c.Path(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					err = apperr.ErrInternal
				}
			}()
			return next(c)
		}
	}
}

// Body limits of DESIGN §9.
const (
	BodyLimit     = 1 << 20
	BulkBodyLimit = 32 << 20
)

// BodyLimits caps request bodies: 32 MiB for claim batches and registry
// imports, 1 MiB elsewhere. Larger bodies are 413 whether the client says so
// in Content-Length or not.
func BodyLimits() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			limit := int64(BodyLimit)
			p := c.Request().URL.Path
			if strings.HasSuffix(p, "/claim-batches") || strings.HasSuffix(p, "/beneficiaries/import") {
				limit = BulkBodyLimit
			}
			req := c.Request()
			if req.ContentLength > limit {
				return apperr.New(apperr.ErrPayloadTooLarge, "request body exceeds %d bytes", limit)
			}
			req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
			return next(c)
		}
	}
}

// tooLarge reports a read that hit the body limit.
func tooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

// Deadlines bounds each request's work, database calls included: a request
// that cannot finish in time — the database stopped answering without
// closing its connections, say — is answered 503 unavailable, which a client
// may retry (claims carry idempotency keys), instead of hanging for the
// driver's read timeout. Bulk routes (claim batches, registry imports,
// ledger exports, disbursements, settlements) get the longer bulk limit.
func Deadlines(normal, bulk time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			limit := normal
			p := c.Request().URL.Path
			switch {
			case strings.HasSuffix(p, "/claim-batches"), strings.HasSuffix(p, "/beneficiaries/import"),
				strings.HasSuffix(p, "/ledger/export"), strings.Contains(p, "/disbursements"),
				strings.HasSuffix(p, "/settlements"), strings.HasSuffix(p, "/ledger/verify"):
				limit = bulk
			}
			ctx, cancel := context.WithTimeout(c.Request().Context(), limit)
			defer cancel()
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

package web

import (
	"golang.org/x/sync/semaphore"

	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
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
			"duration_ms", millis(elapsed),
		}
		if p := PrincipalName(c); p != "" {
			attrs = append(attrs, "actor", p)
		}
		log.Info("request", attrs...)
	})
}

// millis is a duration in milliseconds to the microsecond: most requests
// take under a millisecond, and an integer would log them all as 0.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

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

// BodyLimits caps request bodies: 32 MiB for claim batches, registry
// imports and medical settlement imports, 1 MiB elsewhere. Larger bodies
// are 413 whether the client says so in Content-Length or not.
func BodyLimits() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			limit := int64(BodyLimit)
			p := c.Request().URL.Path
			if strings.HasSuffix(p, "/claim-batches") || strings.HasSuffix(p, "/beneficiaries/import") || strings.HasSuffix(p, "/medical-records/import") ||
				strings.HasSuffix(p, "/console/registry/import") {
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

// Bulk reports the bulk routes — claim batches, registry imports, ledger
// exports and verification, disbursements, settlements — by path: they get
// the longer deadline (Deadlines) and share the bulk slots (BulkLimit).
func Bulk(path string) bool {
	switch {
	case strings.HasSuffix(path, "/claim-batches"), strings.HasSuffix(path, "/beneficiaries/import"),
		strings.HasSuffix(path, "/ledger/export"), strings.Contains(path, "/disbursements"),
		strings.HasSuffix(path, "/settlements"), strings.HasSuffix(path, "/ledger/verify"),
		// Prevention (DESIGN §20): a settlement import, a what-if over a
		// plan's claims, a plan's warnings computed again.
		strings.HasSuffix(path, "/medical-records/import"), strings.HasSuffix(path, "/simulations"),
		strings.HasSuffix(path, "/warnings"), strings.HasSuffix(path, "/warnings/summary"),
		// A notice (公示) of up to 10,000 claims and its printable roster;
		// a month's report aggregates a plan's claims and ledger.
		strings.Contains(path, "/notices"), strings.Contains(path, "/reports/"),
		// The console's pages over the same work: the registry import by
		// upload, a settlement's preview and commit, the what-if.
		strings.HasSuffix(path, "/console/registry/import"), strings.HasSuffix(path, "/console/whatif"),
		strings.HasPrefix(path, "/console/budgets/") && strings.HasSuffix(path, "/settle"):
		return true
	}
	return false
}

// answerGrace is how long past its deadline a request may still take to
// write its answer — the 503 of a request that ran out of time — and how
// long past it the connection's read deadline is pushed (see Deadlines).
const answerGrace = 10 * time.Second

// Deadlines bounds each request's work, database calls included: a request
// that cannot finish in time — the database stopped answering without
// closing its connections, say — is answered 503 unavailable, which a client
// may retry (claims carry idempotency keys), instead of hanging for the
// driver's read timeout. Bulk routes (claim batches, registry imports,
// ledger exports, disbursements, settlements) get the longer bulk limit.
//
// It also fits the connection's deadlines to the request's. A bulk answer
// (an export streams for minutes) may be written until the bulk deadline,
// past http.Server.WriteTimeout, which bounds the others. And once the body
// is read, the read deadline moves past the request's: net/http reads the
// connection in the background while a handler runs, and that read failing
// at http.Server.ReadTimeout — which is only meant to bound reading the
// request — would cancel the request's context.
func Deadlines(normal, bulk time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			limit, req := normal, c.Request()
			isBulk := Bulk(req.URL.Path)
			if isBulk {
				limit = bulk
			}
			ctx, cancel := context.WithTimeout(req.Context(), limit)
			defer cancel()
			deadline, _ := ctx.Deadline()
			// Errors are ignored: a writer without deadlines (a test's
			// recorder) has no connection to bound.
			rc := http.NewResponseController(c.Response())
			if isBulk {
				_ = rc.SetWriteDeadline(deadline.Add(answerGrace))
			}
			readDone := func() { _ = rc.SetReadDeadline(deadline.Add(answerGrace)) }
			if req.Body == nil || req.Body == http.NoBody {
				readDone()
			} else {
				req.Body = &bodyEnd{ReadCloser: req.Body, atEOF: readDone}
			}
			c.SetRequest(req.WithContext(ctx))
			return next(c)
		}
	}
}

// bodyEnd calls atEOF once, when the body has been read to its end.
type bodyEnd struct {
	io.ReadCloser
	once  sync.Once
	atEOF func()
}

func (b *bodyEnd) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.once.Do(b.atEOF)
	}
	return n, err
}

// BulkLimit bounds the request bodies that bulk requests (see Bulk) hold
// at once to budgetMiB, so that concurrent 32 MiB batches and imports cannot
// take the process's memory while small batches and exports run freely. A
// bulk request weighs its Content-Length, at least 1 MiB (an export holds
// buffers too) and BulkBodyLimit when the length is not declared (a chunked
// upload may be that large). One that does not fit is answered 503
// unavailable with Retry-After at once, before its body is read: a
// semaphore, not a queue, because a queued upload would hold its connection
// and its buffers while it waits. Other routes pass.
func BulkLimit(budgetMiB int) echo.MiddlewareFunc {
	budget := int64(max(budgetMiB, 1)) << 20
	held := semaphore.NewWeighted(budget)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !Bulk(c.Request().URL.Path) {
				return next(c)
			}
			w := bulkWeight(c.Request().ContentLength, budget)
			if !held.TryAcquire(w) {
				return apperr.New(apperr.ErrUnavailable, "bulk requests already hold the %d MiB allowed at once; retry later", budget>>20)
			}
			defer held.Release(w)
			return next(c)
		}
	}
}

// bulkWeight is what a bulk request of this Content-Length counts against
// the budget (-1: not declared).
func bulkWeight(contentLength, budget int64) int64 {
	w := contentLength
	switch {
	case w < 0:
		w = BulkBodyLimit
	case w < 1<<20:
		w = 1 << 20
	}
	return min(w, BulkBodyLimit, budget)
}

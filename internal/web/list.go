package web

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"huimin/internal/apperr"
	"huimin/internal/civil"
)

// List is every list answer of DESIGN §11.
type List[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// NewList wraps items (never null in JSON) and the cursor ("" = last page).
func NewList[T any](items []T, next string) List[T] {
	if items == nil {
		items = []T{}
	}
	l := List[T]{Items: items}
	if next != "" {
		l.NextCursor = &next
	}
	return l
}

// limit reads ?limit= (default def, at most max), adding a field error for
// a bad value.
func limit(c echo.Context, def, max int, f *apperr.Fields) int {
	s := c.QueryParam("limit")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		f.Add("limit", "must be an integer from 1 to %d", max)
	}
	return n
}

// EncodeCursor packs the sort key of the last item of a page into an opaque
// cursor. Keyset cursors stay correct while rows are inserted.
func EncodeCursor(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "\x1f")))
}

// cursor unpacks ?cursor= into n parts, adding a field error for a cursor
// this list did not return.
func cursor(c echo.Context, n int, f *apperr.Fields) []string {
	s := c.QueryParam("cursor")
	if s == "" {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	parts := strings.Split(string(b), "\x1f")
	if err != nil || len(parts) != n || strings.ContainsFunc(string(b), func(r rune) bool { return r != 0x1f && (r < 0x20 || r > 0x7e) }) {
		f.Add("cursor", "not a cursor this list returned")
		return nil
	}
	return parts
}

// Timestamp formats Unix milliseconds as RFC 3339 UTC with milliseconds
// (DESIGN §3): 2026-11-28T02:03:04.005Z.
func Timestamp(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

// Page turns a query result fetched with limit+1 rows into a list answer:
// it trims the extra row and, when there was one, makes the cursor from the
// sort key of the last row kept.
func Page[T any](items []T, limit int, key func(T) []string) List[T] {
	next := ""
	if len(items) > limit {
		items = items[:limit]
		next = EncodeCursor(key(items[limit-1])...)
	}
	return NewList(items, next)
}

// DateRange reads ?from= and ?to= as China calendar dates (inclusive),
// adding a field error for each bad one.
func DateRange(c echo.Context, f *apperr.Fields) (from, to civil.Date) {
	for name, dst := range map[string]*civil.Date{"from": &from, "to": &to} {
		if v := c.QueryParam(name); v != "" {
			d, err := civil.Parse(v)
			if err != nil {
				f.Add(name, "%v", err)
			}
			*dst = d
		}
	}
	return from, to
}

// ListQuery is what every list endpoint reads from the query string: the
// page size, the cursor of the previous page and, for lists by date, the
// date range.
type ListQuery struct {
	Limit    int
	Cursor   []string // nil on the first page
	From, To civil.Date
}

// ListSpec says how a list endpoint pages.
type ListSpec struct {
	Default, Max int  // page size when ?limit= is absent, and the most allowed
	CursorParts  int  // parts of the sort key in the cursor
	Dates        bool // the list takes ?from= and ?to= (China dates, inclusive)
}

// ReadList reads ?limit=, ?cursor= and, when the list takes them, ?from= and
// ?to=, adding a field error to f for each bad one, so that a handler can
// add its own filters' problems to the same 422.
func ReadList(c echo.Context, spec ListSpec, f *apperr.Fields) ListQuery {
	q := ListQuery{Limit: limit(c, spec.Default, spec.Max, f), Cursor: cursor(c, spec.CursorParts, f)}
	if spec.Dates {
		q.From, q.To = DateRange(c, f)
	}
	return q
}

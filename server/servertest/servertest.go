// Package servertest drives the real Huimin router in HTTP tests, with a token
// for every role, and checks every exchange sent with Do against the OpenAPI
// document: every answer must match it, and so must every request the server
// accepted. It also holds the fixtures the feature packages' tests share:
// process-wide unique ids and resident ids, evidence hashes, registry people
// put through the API or inserted straight into the tables, and requests
// raced from goroutines (Raw, AllAtOnce).
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"

	"huimin/docs"
	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/server"
)

// Harness is an application on a test database with one token per role.
type Harness struct {
	App *server.App
	DB  *db.DB
	// Tokens by name: admin, finance, finance2, auditor, insurer (org
	// "picc"), insurer2 (org "cpic").
	Tokens map[string]string
	Clock  *Clock
	// Logs holds every log line the application wrote during the test;
	// at cleanup the harness fails the test if any holds an id or account
	// number.
	Logs *LockedBuffer
}

// personalData matches what must never reach a log (DESIGN §9): an
// 18-character resident id or credit code, or a bank card / account number
// (a run of 12 or more digits).
var personalData = regexp.MustCompile(`(^|[^0-9A-Za-z])([0-9]{17}[0-9X]|[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}|[0-9]{12,})([^0-9A-Za-z]|$)`)

// RequireNoPersonalData fails when logs contain an id or account number.
func RequireNoPersonalData(t testing.TB, logs string) {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		if m := personalData.FindString(line); m != "" {
			t.Errorf("a log line carries an id or account number (%q): %s", strings.Trim(m, "\"/ ,:"), line)
			return
		}
	}
}

// Clock is a settable test clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Start is the test clock's default time: 2026-06-15 10:00 in China.
var Start = time.Date(2026, 6, 15, 2, 0, 0, 0, time.UTC)

// New builds the application on d, bootstraps it (seed plans, admin token)
// and issues the role tokens.
func New(t testing.TB, d *db.DB) *Harness {
	t.Helper()
	clock := &Clock{t: Start}
	logs := &LockedBuffer{}
	a := server.New(d, server.Config{Now: clock.Now, Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	ctx := context.Background()
	admin, err := a.Bootstrap(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, admin, "bootstrap on an empty database prints an admin token")
	h := &Harness{App: a, DB: d, Tokens: map[string]string{"admin": admin}, Clock: clock, Logs: logs}
	t.Cleanup(func() { RequireNoPersonalData(t, logs.String()) })
	for name, in := range map[string]auth.NewInput{
		"finance":  {Role: auth.Finance, Name: "fin-wang"},
		"finance2": {Role: auth.Finance, Name: "fin-li"},
		"auditor":  {Role: auth.Auditor, Name: "aud-zhao"},
		"insurer":  {Role: auth.Insurer, Name: "picc-api", Org: "picc"},
		"insurer2": {Role: auth.Insurer, Name: "cpic-api", Org: "cpic"},
	} {
		raw, _, err := a.Tokens.Create(ctx, audit.Who{Actor: "test", Role: auth.Admin}, in)
		require.NoError(t, err)
		h.Tokens[name] = raw
	}
	return h
}

// Response is an answer under test.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), "body: %s", r.Body)
}

// Map decodes the body as a JSON object.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Request is one request to send.
type Request struct {
	Method  string
	Path    string
	Token   string // a role name of Harness.Tokens, or a raw value starting hm_, or ""
	Body    any    // marshalled as JSON unless []byte or string
	Header  map[string]string
	NoCheck bool // skip the OpenAPI check of the request (e.g. raw invalid bytes)
}

// Do sends a request through the router and checks the exchange against the
// OpenAPI document.
func (h *Harness) Do(t testing.TB, r Request) *Response {
	t.Helper()
	req, body, err := h.request(r)
	require.NoError(t, err)
	resp := h.serve(req)
	require.NotEmpty(t, resp.Header.Get("X-Request-ID"), "every answer carries X-Request-ID")
	if resp.Status >= 500 && resp.Status != http.StatusServiceUnavailable {
		t.Fatalf("%s %s answered %d: %s", r.Method, r.Path, resp.Status, resp.Body)
	}
	checkContract(t, r, body, req.Header, resp)
	return resp
}

// Raw sends a request through the router like Do but touches no
// testing.TB and checks nothing, so goroutines may call it; the caller
// asserts on the answers back on the test goroutine. It skips the OpenAPI
// check, which the sequential tests cover. A request that cannot be built
// (an unknown token name, a body that does not marshal) is a bug in the
// test, and Raw panics, as httptest.NewRequest does.
func (h *Harness) Raw(r Request) *Response {
	req, _, err := h.request(r)
	if err != nil {
		panic(err)
	}
	return h.serve(req)
}

// RawPost is Raw with POST and a JSON body.
func (h *Harness) RawPost(token, path string, body any) *Response {
	return h.Raw(Request{Method: http.MethodPost, Path: path, Token: token, Body: body})
}

// request builds r as an HTTP request and returns it with its encoded body.
func (h *Harness) request(r Request) (*http.Request, []byte, error) {
	var body []byte
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body = b
	case string:
		body = []byte(b)
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			return nil, nil, fmt.Errorf("%s %s: encode body: %w", r.Method, r.Path, err)
		}
	}
	req := httptest.NewRequest(r.Method, "http://huimin.test"+r.Path, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	if r.Token != "" {
		tok := r.Token
		if !strings.HasPrefix(tok, "hm_") {
			var ok bool
			if tok, ok = h.Tokens[r.Token]; !ok {
				return nil, nil, fmt.Errorf("no token %q", r.Token)
			}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req, body, nil
}

// serve runs req through the application's router.
func (h *Harness) serve(req *http.Request) *Response {
	rec := httptest.NewRecorder()
	h.App.Echo.ServeHTTP(rec, req)
	return &Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// Get is Do with GET.
func (h *Harness) Get(t testing.TB, token, path string) *Response {
	t.Helper()
	return h.Do(t, Request{Method: http.MethodGet, Path: path, Token: token})
}

// Post is Do with POST and a JSON body.
func (h *Harness) Post(t testing.TB, token, path string, body any) *Response {
	t.Helper()
	return h.Do(t, Request{Method: http.MethodPost, Path: path, Token: token, Body: body})
}

// Put is Do with PUT and a JSON body.
func (h *Harness) Put(t testing.TB, token, path string, body any) *Response {
	t.Helper()
	return h.Do(t, Request{Method: http.MethodPut, Path: path, Token: token, Body: body})
}

// RequireStatus asserts the status, showing the body when it differs.
func RequireStatus(t testing.TB, r *Response, status int) {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
}

// ErrorBody is the decoded envelope.
type ErrorBody struct {
	Error     ErrorDetail `json:"error"`
	RequestID string      `json:"request_id"`
}

// ErrorDetail is the envelope's error object, as an error answer carries it
// and as each refused item of a batch answer does.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Fields  []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"fields"`
	Details map[string]any `json:"details"`
}

// FieldNames lists the field paths the error names.
func (e ErrorBody) FieldNames() []string {
	out := make([]string, len(e.Error.Fields))
	for i, f := range e.Error.Fields {
		out[i] = f.Field
	}
	return out
}

// RequireError asserts an error answer with status and code in the envelope
// (with the request id of the X-Request-ID header) and returns it.
func RequireError(t testing.TB, r *Response, status int, code string) ErrorBody {
	t.Helper()
	require.Equal(t, status, r.Status, "body: %s", r.Body)
	var e ErrorBody
	r.JSON(t, &e)
	require.Equal(t, code, e.Error.Code, "body: %s", r.Body)
	require.NotEmpty(t, e.Error.Message)
	require.Equal(t, r.Header.Get("X-Request-ID"), e.RequestID)
	return e
}

// Count is the number of rows of table matching where ("1 = 1" for all).
func Count(t testing.TB, d *db.DB, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, d.Table(table).Where(where, args...).Count(&n).Error)
	return n
}

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

func router() (routers.Router, error) {
	specOnce.Do(func() {
		for _, ct := range []string{"text/csv", "application/x-ndjson", "text/plain", "application/yaml",
			"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
		}
		doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
		if err != nil {
			specErr = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			specErr = err
			return
		}
		doc.Servers = nil
		specRouter, specErr = gorillamux.NewRouter(doc)
	})
	return specRouter, specErr
}

// checkContract validates the answer (and, when the server accepted it, the
// request) against the OpenAPI document. A route the document lacks fails
// the test unless the router itself answered 404 or 405.
func checkContract(t testing.TB, r Request, body []byte, hdr http.Header, resp *Response) {
	t.Helper()
	rt, err := router()
	require.NoError(t, err, "docs/openapi.yaml must load and validate")
	req, _ := http.NewRequest(r.Method, "http://huimin.test"+r.Path, bytes.NewReader(body))
	req.Header = hdr.Clone()
	route, params, err := rt.FindRoute(req)
	if err != nil {
		if resp.Status == http.StatusNotFound || resp.Status == http.StatusMethodNotAllowed {
			return
		}
		t.Fatalf("%s %s is not in docs/openapi.yaml: %v", r.Method, r.Path, err)
	}
	ctx := context.Background()
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	// A claim batch is answered 200 even when some of its claims are bad:
	// each bad one fails alone, in its result. Such a request was not
	// accepted as it stands, so it is not held to ClaimBatchInput, which
	// types the claims a client must send; its answer is still checked.
	var batch struct {
		Summary struct {
			Failed int `json:"failed"`
		} `json:"summary"`
	}
	partlyFailed := route.Operation != nil && route.Operation.OperationID == "submitClaimBatch" && resp.Status == http.StatusOK &&
		json.Unmarshal(resp.Body, &batch) == nil && batch.Summary.Failed > 0
	if resp.Status < 300 && !r.NoCheck && !partlyFailed {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Fatalf("%s %s: accepted request does not match docs/openapi.yaml: %v", r.Method, r.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.Status, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(resp.Body)), Options: opts,
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Fatalf("%s %s → %d does not match docs/openapi.yaml: %v\nbody: %s", r.Method, r.Path, resp.Status, err, truncate(resp.Body))
	}
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

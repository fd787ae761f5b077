// Package server wires the Huimin application: the services of the domain
// packages on one database, and the one Echo instance that the binary serves
// and the HTTP tests drive (servertest). cmd/huimin reads the environment
// and hands this package plain values.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"huimin/claims"
	"huimin/console"
	"huimin/docs"
	"huimin/internal/apperr"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/i18n"
	"huimin/internal/web"
	"huimin/internal/webhooks"
	"huimin/ledger"
	"huimin/payouts"
	"huimin/policies"
	"huimin/prevention"
)

// Version is set at build time with -ldflags "-X huimin/internal/app.Version=…".
var Version = "dev"

// Config is what the application needs besides the database.
type Config struct {
	Log *slog.Logger
	Now func() time.Time
	// RequestTimeout bounds an ordinary request (default 3 s); bulk routes
	// get BulkTimeout (default 5 min). Past it the answer is 503.
	RequestTimeout time.Duration
	BulkTimeout    time.Duration
	// MaxBulkMiB bounds the request bodies bulk requests (web.Bulk) hold
	// at once, in MiB (default 64: two full 32 MiB batches, or many small
	// ones); one that does not fit is answered 503 at once (web.BulkLimit).
	MaxBulkMiB int
	// The connection limits of Echo.Server, the http.Server that serves
	// the router. ReadHeaderTimeout (default 10 s) bounds reading a
	// request's headers, ReadTimeout (default 1 min) reading all of it,
	// body included: a client that stops sending is cut off. WriteTimeout
	// (default 30 s; keep it above RequestTimeout) bounds writing an
	// ordinary answer from the end of the headers; bulk answers, exports
	// streamed for minutes, may be written until their BulkTimeout
	// (web.Deadlines). IdleTimeout (default 2 min) closes a keep-alive
	// connection that carries no request.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// Console sessions (internal/auth): one unused for SessionIdleTimeout
	// ends (default 30 min), and any ends SessionMaxAge after sign-in
	// (default 12 h).
	SessionIdleTimeout time.Duration
	SessionMaxAge      time.Duration
}

// withDefaults fills in the default of every unset setting.
func (cfg Config) withDefaults() Config {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&cfg.RequestTimeout, 3 * time.Second}, {&cfg.BulkTimeout, 5 * time.Minute},
		{&cfg.ReadHeaderTimeout, 10 * time.Second}, {&cfg.ReadTimeout, time.Minute},
		{&cfg.WriteTimeout, 30 * time.Second}, {&cfg.IdleTimeout, 2 * time.Minute},
	} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if cfg.MaxBulkMiB <= 0 {
		cfg.MaxBulkMiB = 64
	}
	return cfg
}

// App is the wired application.
type App struct {
	Echo       *echo.Echo
	DB         *db.DB
	Tokens     *auth.Service
	Plans      *policies.Plans
	Claims     *claims.Service
	Payouts    *payouts.Service
	Ledger     *ledger.Service
	Metrics    *prometheus.Registry
	Registry   *policies.Registry
	Webhooks   *webhooks.Service
	Prevention *prevention.Service // what-if and early warning (DESIGN §20)
	Users      *auth.Users         // staff accounts and console sessions
	Console    *console.Console    // the web console under /console/
	log        *slog.Logger
	seeders    []func(context.Context) error
	now        func() time.Time
}

// New wires the services on d and builds the router.
func New(d *db.DB, cfg Config) *App {
	cfg = cfg.withDefaults()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "huimin_database_up", Help: "1 while the database answers the health probe, 0 while requests are refused.",
	}, func() float64 {
		if d.Health.Err() != nil {
			return 0
		}
		return 1
	}))
	registerBusinessMetrics(reg, d)
	a := &App{
		DB: d, Metrics: reg, log: cfg.Log, now: cfg.Now,
		Tokens: auth.NewService(d, cfg.Now),
		Plans:  policies.NewPlans(d, cfg.Now),
	}
	a.Registry = policies.NewRegistry(d, cfg.Now)
	// Before the services that change claims: they write its deliveries.
	a.Webhooks = webhooks.New(d, webhooks.Config{Now: cfg.Now, Log: cfg.Log, Metrics: reg})
	a.Webhooks.Start()
	a.Claims = claims.New(d, cfg.Now, reg, a.Plans)
	a.Payouts = payouts.New(d, cfg.Now)
	a.Claims.Webhooks, a.Payouts.Webhooks = a.Webhooks, a.Webhooks
	a.Payouts.UseTransitions(a.Claims.Transitions())
	a.Registry.RegisterMetrics(reg)
	a.Ledger = ledger.New(d, cfg.Now)
	a.Users = auth.NewUsers(d, cfg.Now, auth.UserConfig{IdleTimeout: cfg.SessionIdleTimeout, MaxAge: cfg.SessionMaxAge})
	a.Prevention = prevention.New(d, a.now)
	a.Console = console.New(console.Deps{DB: d, Users: a.Users, Tokens: a.Tokens, Plans: a.Plans, Registry: a.Registry,
		Claims: a.Claims, Payouts: a.Payouts, Ledger: a.Ledger, Prevention: a.Prevention, Now: cfg.Now, Log: cfg.Log})
	a.seeders = append(a.seeders, a.Plans.Seed)
	a.Echo = a.router(cfg)
	return a
}

func (a *App) router(cfg Config) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Console paths get the console's HTML error page, the rest the envelope.
	e.HTTPErrorHandler = console.ErrorHandler(a.Console, web.ErrorHandler(a.log))
	e.Server.ReadHeaderTimeout, e.Server.ReadTimeout = cfg.ReadHeaderTimeout, cfg.ReadTimeout
	e.Server.WriteTimeout, e.Server.IdleTimeout = cfg.WriteTimeout, cfg.IdleTimeout
	// Outermost, so that the envelope is written through it too: with
	// Accept-Language: zh-CN or ?lang=zh every JSON answer's words are Chinese (DESIGN §16).
	e.Use(i18n.Middleware())
	// Echo's own 404/405 go through the same error handler, as the envelope.
	e.Use(web.RequestIDs(), web.AccessLog(a.log), a.metrics(), web.Recover(a.log), web.BodyLimits(),
		web.Deadlines(cfg.RequestTimeout, cfg.BulkTimeout), a.databaseGate())

	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": Version})
	})
	e.GET("/readyz", a.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(a.Metrics, promhttp.HandlerOpts{})))
	e.GET("/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", docs.OpenAPI)
	})
	e.GET("/docs", func(c echo.Context) error {
		page, err := docs.Reference()
		if err != nil {
			return err
		}
		return c.HTMLBlob(http.StatusOK, page)
	})

	// Authentication runs for /api/ paths only. It is not group middleware:
	// an Echo group with middleware registers catch-all not-found routes,
	// which would answer a wrong method with 404 instead of 405.
	authn := a.Tokens.Middleware()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		withAuth := authn(next)
		return func(c echo.Context) error {
			if strings.HasPrefix(c.Request().URL.Path, "/api/") {
				return withAuth(c)
			}
			return next(c)
		}
	})
	// After authentication, so that only a caller who may act takes a slot.
	e.Use(web.BulkLimit(cfg.MaxBulkMiB))
	api := e.Group("/api/v1")
	a.Tokens.Routes(api)
	a.Plans.Routes(api)
	a.Registry.Routes(api)
	a.Claims.Routes(api)
	a.Payouts.Routes(api)
	a.Payouts.NoticeRoutes(api) // 公示 and objections (DESIGN §14)
	a.Payouts.ReportRoutes(api) // 统计报表 (DESIGN §17)
	a.Plans.CalendarRoutes(api) // the working-day calendar of notice periods
	a.Ledger.Routes(api)
	a.Prevention.Routes(api) // what-if and early warning (DESIGN §20)
	a.Webhooks.Routes(api)
	// The web console (DESIGN §18): its own sessions, not the API's tokens.
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, console.Prefix) })
	a.Console.Routes(e)
	return e
}

// ready answers 200 when the database can serve within two seconds, else
// 503 — at once while the health breaker is open. On a Galera node "can
// serve" also means the node is Synced in the primary component
// (db.Ready): a joining, donor or cut-off node fails readiness, so a load
// balancer stops sending it requests, and the 503 says why.
func (a *App) ready(c echo.Context) error {
	ctx, release, err := a.DB.Health.Guard(c.Request().Context())
	if err != nil {
		return apperr.New(apperr.ErrUnavailable, "the database does not answer")
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := a.DB.Ready(ctx); err != nil {
		var why *apperr.Error
		if errors.As(err, &why) && why.Kind == apperr.ErrUnavailable {
			return why
		}
		return apperr.New(apperr.ErrUnavailable, "the database does not answer")
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// databaseGate holds every /api/ request — each needs the database, for
// its token if nothing else — to the database's health breaker (db.Health):
// while it is open the answer is 503 at once, ordinary and bulk routes
// alike, and a request under way when it opens is cancelled and answered
// 503, instead of waiting for its own deadline (minutes on a bulk route)
// on a database that stopped answering. Whatever error such a request then
// returns — a driver's, a cancelled context wrapped by a service — is
// answered as ErrDown, so a client sees one retryable answer. /healthz and
// the other routes without the database pass.
func (a *App) databaseGate() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !strings.HasPrefix(c.Request().URL.Path, "/api/") {
				return next(c)
			}
			ctx, release, err := a.DB.Health.Guard(c.Request().Context())
			if err != nil {
				return err
			}
			defer release()
			c.SetRequest(c.Request().WithContext(ctx))
			err = next(c)
			if err != nil && errors.Is(context.Cause(ctx), db.ErrDown) {
				return db.ErrDown
			}
			return err
		}
	}
}

// metrics counts requests by route, method and status, and times them.
func (a *App) metrics() echo.MiddlewareFunc {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huimin_http_requests_total", Help: "HTTP requests by route, method and status.",
	}, []string{"route", "method", "status"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "huimin_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route", "method"})
	a.Metrics.MustRegister(requests, latency)
	return web.Observe(func(c echo.Context, route string, elapsed time.Duration) {
		requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(c.Response().Status)).Inc()
		latency.WithLabelValues(route, c.Request().Method).Observe(elapsed.Seconds())
	})
}

// Close stops the services' background workers (the group committers).
// The database stays open: its owner closes it.
func (a *App) Close() {
	a.Claims.Close()
	a.Payouts.Close()
	a.Webhooks.Close()
}

// Bootstrap prepares a fresh database for use: it seeds the four 2026 plans
// when no plan exists and creates the first admin token when none is live,
// returning that token's raw value (empty when one already existed).
func (a *App) Bootstrap(ctx context.Context) (string, error) {
	for _, seed := range a.seeders {
		if err := seed(ctx); err != nil {
			return "", err
		}
	}
	return a.Tokens.EnsureAdmin(ctx)
}

// Package server wires the Huimin application: the services of the domain
// packages on one database, and the one Echo instance that the binary serves
// and the HTTP tests drive (servertest). cmd/huimin reads the environment
// and hands this package plain values.
package server

import (
	"context"
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
	"huimin/docs"
	"huimin/internal/apperr"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/web"
	"huimin/ledger"
	"huimin/payouts"
	"huimin/policies"
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
}

// App is the wired application.
type App struct {
	Echo     *echo.Echo
	DB       *db.DB
	Tokens   *auth.Service
	Plans    *policies.Plans
	Claims   *claims.Service
	Payouts  *payouts.Service
	Ledger   *ledger.Service
	Metrics  *prometheus.Registry
	Registry *policies.Registry
	log      *slog.Logger
	seeders  []func(context.Context) error
	now      func() time.Time
}

// New wires the services on d and builds the router.
func New(d *db.DB, cfg Config) *App {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 3 * time.Second
	}
	if cfg.BulkTimeout <= 0 {
		cfg.BulkTimeout = 5 * time.Minute
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &App{
		DB: d, Metrics: reg, log: cfg.Log, now: cfg.Now,
		Tokens: auth.NewService(d, cfg.Now),
		Plans:  policies.NewPlans(d, cfg.Now),
	}
	a.Registry = policies.NewRegistry(d, cfg.Now)
	a.Claims = claims.New(d, cfg.Now, reg, a.Plans)
	a.Payouts = payouts.New(d, cfg.Now)
	a.Ledger = ledger.New(d, cfg.Now)
	a.seeders = append(a.seeders, a.Plans.Seed)
	a.Echo = a.router(cfg)
	return a
}

func (a *App) router(cfg Config) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = web.ErrorHandler(a.log)
	e.Server.ReadHeaderTimeout = 10 * time.Second
	// Echo's own 404/405 go through the same error handler, as the envelope.
	e.Use(web.RequestIDs(), web.AccessLog(a.log), a.metrics(), web.Recover(a.log), web.BodyLimits(),
		web.Deadlines(cfg.RequestTimeout, cfg.BulkTimeout))

	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok", "version": Version})
	})
	e.GET("/readyz", a.ready)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(a.Metrics, promhttp.HandlerOpts{})))
	e.GET("/openapi.yaml", func(c echo.Context) error {
		return c.Blob(http.StatusOK, "application/yaml", docs.OpenAPI)
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
	api := e.Group("/api/v1")
	a.Tokens.Routes(api)
	a.Plans.Routes(api)
	a.Registry.Routes(api)
	a.Claims.Routes(api)
	a.Payouts.Routes(api)
	a.Ledger.Routes(api)
	return e
}

// ready answers 200 when the database answers within two seconds, else 503.
func (a *App) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := a.DB.Ping(ctx); err != nil {
		return apperr.New(apperr.ErrUnavailable, "the database does not answer")
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
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

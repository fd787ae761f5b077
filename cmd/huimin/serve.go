package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"huimin/internal/db"
	"huimin/server"
)

// serve migrates, seeds, prints the first admin token, and serves until the
// context ends; then it stops accepting, lets in-flight requests finish
// within the shutdown timeout and closes the database.
func serve(ctx context.Context, cfg config, log *slog.Logger, stdout io.Writer) error {
	opts := cfg.dbOptions()
	opts.Health.OnChange = func(err error) {
		if err != nil {
			log.Error("the database does not answer; refusing requests until it does", "error", err.Error())
		} else {
			log.Info("the database answers again; serving requests")
		}
	}
	opts.Log = log // retried transactions at debug
	cfg.announceDB()
	d, err := db.Open(ctx, cfg.DB, opts)
	if err != nil {
		return cfg.explainOpen(err)
	}
	defer d.Close()
	n, err := d.Migrate(ctx)
	if err != nil {
		return err
	}
	log.Info("schema migrated", "applied", n, "dialect", string(d.Dialect))

	a := server.New(d, cfg.serverConfig(log))
	adminToken, err := a.Bootstrap(ctx)
	if err != nil {
		return err
	}
	if adminToken != "" {
		fmt.Fprintf(stdout, "Created the first admin token (shown once; keep it safe):\n%s\n", adminToken)
	}
	// Disbursement batches that a crashed server (this one, or another on
	// the same database) left half-made are finished by whichever runs.
	go a.Payouts.ResumeDisbursementsEvery(ctx, 30*time.Second, func(n int, err error) {
		if err != nil {
			log.Warn("could not finish abandoned disbursement batches; trying again in 30s", "error", err.Error())
		} else {
			log.Info("finished abandoned disbursement batches", "batches", n)
		}
	})

	if cfg.PprofAddr != "" {
		// Profiling on its own listener (keep it on loopback), never on the
		// API address.
		go func() {
			log.Info("pprof listening", "addr", cfg.PprofAddr)
			if err := http.ListenAndServe(cfg.PprofAddr, pprofMux()); err != nil {
				log.Error("pprof stopped", "error", err.Error())
			}
		}()
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := a.Echo.Server
	srv.Handler = a.Echo
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "huimin serving on http://%s (database: %s)\n", ln.Addr(), d.Dialect)
	log.Info("serving", "addr", ln.Addr().String(), "version", server.Version)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.Close()
	log.Info("stopped")
	return nil
}

func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

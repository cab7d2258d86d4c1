package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"shop/internal/platform/config"
)

// CancelMargin is how long requests cancelled at the end of the shutdown
// grace period get to write their answer (503 shutting_down) before their
// connections are closed.
const CancelMargin = time.Second

// Drain records that the process has begun to shut down. Serve starts it;
// Readyz reads it. A nil *Drain never starts.
type Drain struct {
	started atomic.Bool
}

// Start marks the beginning of the shutdown.
func (d *Drain) Start() {
	if d != nil {
		d.started.Store(true)
	}
}

// Started reports whether the shutdown has begun.
func (d *Drain) Started() bool {
	return d != nil && d.started.Load()
}

// Serve serves h on ln until ctx is cancelled, then shuts down within
// cfg.ShutdownTimeout plus CancelMargin:
//
//  1. drain starts (so /readyz answers 503) and keep-alive ends; while
//     requests are in flight the listener stays open, so a load balancer's
//     probes see the 503 and requests it still sends are served;
//  2. once no request is in flight, or at the end of the grace period, the
//     listener closes and the remaining requests get the rest of the grace
//     period to finish;
//  3. then their contexts are cancelled with cause ErrShuttingDown, which
//     cancels their database statements (handlers answer 503 through
//     ServerError), and after CancelMargin their connections are closed.
//
// It returns nil after a shutdown, forced or not.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, cfg config.HTTP, drain *Drain, logger *slog.Logger) error {
	base, cancelRequests := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelRequests(ErrShuttingDown)
	var inFlight atomic.Int64
	srv := newServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		h.ServeHTTP(w, r)
	}), cfg, logger)
	srv.BaseContext = func(net.Listener) context.Context { return base }
	served, err := serveUntil(ctx, srv, ln, "http server", logger)
	if err != nil {
		return err
	}

	deadline := time.Now().Add(cfg.ShutdownTimeout)
	logger.Info("http server draining", slog.Duration("timeout", cfg.ShutdownTimeout), slog.Int64("in_flight", inFlight.Load()))
	drain.Start()
	srv.SetKeepAlivesEnabled(false)
	for inFlight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}

	err = shutdown(ctx, srv, deadline)
	if errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("shutdown grace period over: cancelling the requests still running", slog.Int64("in_flight", inFlight.Load()))
		cancelRequests(ErrShuttingDown)
		if err = shutdown(ctx, srv, time.Now().Add(CancelMargin)); err != nil {
			logger.Warn("requests still running after their cancellation: closing their connections", slog.Int64("in_flight", inFlight.Load()))
			err = srv.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("http server shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	logger.Info("http server stopped")
	return nil
}

// ServeInternal serves h on ln until ctx is cancelled, then closes within
// CancelMargin. It is for endpoints kept off the public listener, such as
// /metrics; their requests are short, so there is no drain.
func ServeInternal(ctx context.Context, ln net.Listener, h http.Handler, cfg config.HTTP, logger *slog.Logger) error {
	srv := newServer(h, cfg, logger)
	served, err := serveUntil(ctx, srv, ln, "internal http server", logger)
	if err != nil {
		return err
	}
	if err := shutdown(ctx, srv, time.Now().Add(CancelMargin)); err != nil {
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("internal http server: %w", err)
	}
	return nil
}

// serveUntil serves srv on ln until ctx is done and returns the channel
// that receives the result of srv.Serve once srv is shut down. It returns
// an error instead when srv stops serving before.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener, name string, logger *slog.Logger) (<-chan error, error) {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info(name+" listening", slog.String("addr", ln.Addr().String()))
	select {
	case err := <-served:
		return nil, fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
		return served, nil
	}
}

func newServer(h http.Handler, cfg config.HTTP, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadTimeout:       cfg.ReadTimeout,
		ReadHeaderTimeout: cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// shutdown closes srv's listeners and waits until deadline for its
// connections to become idle and close.
func shutdown(ctx context.Context, srv *http.Server, deadline time.Time) error {
	sctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	return srv.Shutdown(sctx)
}

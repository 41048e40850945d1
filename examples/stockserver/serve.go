package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/longhaul-go/longhaul"
)

// health serves GET /healthz: 200 "ok" while the server accepts requests, and
// 503 once its shutdown has begun.
type health struct {
	draining atomic.Bool
}

func (h *health) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if h.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("shutting down\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// newHandler routes GET /healthz to h and every other request to srv.
func newHandler(srv *longhaul.Server, h *health) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", h)
	mux.Handle("/", srv)
	return mux
}

// serve serves srv on listener until ctx ends or serving fails, then shuts
// both down and returns the exit status.
func serve(ctx context.Context, cfg config, listener net.Listener, srv *longhaul.Server, logger *slog.Logger, onListen func(net.Addr)) int {
	h := &health{}
	httpServer := &http.Server{
		Handler: newHandler(srv, h),
		// Guards against clients that never finish their headers. There is
		// no WriteTimeout, because POST /run holds its response until the job ends.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// A long-poll waits up to 30 seconds, longer than a graceful shutdown
	// should take. At shutdown, Drain makes it respond at once with the job's
	// current status, and the client polls again later.
	httpServer.RegisterOnShutdown(srv.Drain)

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(listener) }()
	logger.Info("listening", "addr", listener.Addr().String(), "url", "http://"+listener.Addr().String())
	if onListen != nil {
		onListen(listener.Addr())
	}

	status := exitOK
	select {
	case <-ctx.Done():
		logger.Info("shutdown requested", "cause", context.Cause(ctx), "timeout", cfg.shutdownTimeout)
	case err := <-serveErr:
		logger.Error("serving failed", "error", err)
		status = exitFailure
	}

	h.draining.Store(true)
	if !shutdown(httpServer, srv, logger, cfg.shutdownTimeout) {
		status = exitFailure
	}
	return status
}

// shutdown stops the HTTP server and then the job runtime within timeout,
// logs each step and reports whether both ended cleanly.
func shutdown(httpServer *http.Server, srv *longhaul.Server, logger *slog.Logger, timeout time.Duration) bool {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	clean := true

	// Shutdown closes the listener first, so no request arrives after it, and
	// then waits for open requests such as POST /run to finish.
	err := httpServer.Shutdown(ctx)
	switch {
	case err == nil:
		logger.Info("HTTP server stopped", "took", time.Since(start).Round(time.Millisecond))
	case errors.Is(err, context.DeadlineExceeded):
		logger.Warn("open requests did not finish within the shutdown timeout, so their connections are closed",
			"timeout", timeout)
		clean = false
		if err := httpServer.Close(); err != nil {
			logger.Error("failed to close the HTTP server", "error", err)
		}
	default:
		logger.Error("failed to stop the HTTP server", "error", err)
		clean = false
	}

	// srv.Shutdown closes WebSocket connections, lets running jobs finish in
	// the time left and stops callback deliveries.
	if err := srv.Shutdown(ctx); err != nil {
		logger.Error("jobs, sockets or callback deliveries did not finish within the shutdown timeout. Unfinished jobs went back to the in-memory queue, which is lost when the process exits",
			"timeout", timeout, "error", err)
		clean = false
	}

	logger.Info("stockserver stopped", "clean", clean, "took", time.Since(start).Round(time.Millisecond))
	return clean
}

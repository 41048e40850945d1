package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/longhaul-go/longhaul"
	"github.com/longhaul-go/longhaul/callback"
	"github.com/longhaul-go/longhaul/internal/faultnet"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/transport"
)

// closeTimeout bounds the shutdown of the server after the last run.
const closeTimeout = 5 * time.Second

// bench is a longhaul server on a loopback port behind a faultnet proxy,
// with the counters that the rows report.
type bench struct {
	cfg        config
	logger     *slog.Logger
	traffic    *traffic
	server     *longhaul.Server
	httpServer *http.Server
	serveDone  chan struct{}
	proxy      *faultnet.Proxy
	serverAddr string
	proxyAddr  string

	// deliveryTransport sends the callback deliveries.
	deliveryTransport *http.Transport

	// cutArmed makes the engine cut every connection through the proxy once,
	// when the job is halfway done.
	cutArmed atomic.Bool
}

// startBench starts the server and the proxy in front of it.
func startBench(cfg config, logger *slog.Logger) (*bench, error) {
	b := &bench{cfg: cfg, logger: logger, traffic: &traffic{}, serveDone: make(chan struct{})}
	b.deliveryTransport = &http.Transport{
		Proxy:       nil, // deliveries go straight to the client's receiver on loopback
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}

	engine := &lookup.Engine{Source: lookup.DefaultDemo(), ItemDelay: cfg.itemDelay}
	b.server = longhaul.NewServer(b.cuttingEngine(engine), longhaul.ServerConfig{
		Logger: logger,
		Callback: callback.HandlerConfig{
			// The client's callback receiver listens on loopback.
			AllowPrivateCallbacks: true,
			// Counting when a delivery starts, rather than in OnDelivery after
			// it was recorded, puts the count ahead of the client's result.
			HTTPClient: &http.Client{Transport: countRequests(b.deliveryTransport, &b.traffic.deliveries)},
		},
	})

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = b.server.Shutdown(context.Background())
		return nil, fmt.Errorf("failed to listen on loopback: %w", err)
	}
	b.serverAddr = listener.Addr().String()
	b.httpServer = &http.Server{
		Handler:           b.traffic.handler(b.server),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		defer close(b.serveDone)
		if err := b.httpServer.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
			logger.Error("serving failed", "error", err)
		}
	}()

	b.proxy, err = faultnet.New(faultnet.Config{Target: b.serverAddr, Logger: logger})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("failed to start the proxy: %w", err), b.close())
	}
	b.proxyAddr = b.proxy.Addr()
	b.proxy.SetLatency(cfg.latency, 0)
	return b, nil
}

// cuttingEngine wraps engine so that, while cutArmed is set, the first
// progress report at or past half of the job cuts every connection through
// the proxy. The engine runs on the server, so this hits every strategy at
// the same point of its job.
func (b *bench) cuttingEngine(engine *lookup.Engine) transport.Engine[lookup.Request, lookup.Result] {
	return transport.EngineFunc[lookup.Request, lookup.Result](
		func(ctx context.Context, req lookup.Request, progress transport.ProgressFunc) (lookup.Result, error) {
			return engine.Run(ctx, req, func(p transport.Progress) {
				progress(p)
				if p.Total > 0 && 2*p.Done >= p.Total && b.cutArmed.CompareAndSwap(true, false) {
					b.logger.Info("cutting every connection through the proxy", "done", p.Done, "total", p.Total)
					b.proxy.CutAll()
				}
			})
		})
}

// row is the outcome of one strategy's run.
type row struct {
	Strategy       transport.Strategy `json:"strategy"`
	Duration       time.Duration      `json:"-"`
	Milliseconds   float64            `json:"duration_ms"`
	HTTPRequests   int64              `json:"http_requests"`
	WSMessagesIn   int64              `json:"ws_messages_in"`  // client to server
	WSMessagesOut  int64              `json:"ws_messages_out"` // server to client
	Deliveries     int64              `json:"callback_deliveries"`
	CutConnections int64              `json:"cut_connections"`
	Error          string             `json:"error,omitempty"`
	Matches        bool               `json:"matches_direct_run"`
}

// run looks up req through strategy with a new client and compares the
// result with want, the JSON of a direct run.
func (b *bench) run(ctx context.Context, strategy transport.Strategy, req lookup.Request, want []byte) row {
	r := row{Strategy: strategy}
	client, err := longhaul.NewClient[lookup.Request, lookup.Result]("http://"+b.proxyAddr, longhaul.ClientConfig{
		Strategy:        strategy,
		DisableFallback: true,
		Logger:          b.logger,
	})
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer client.Close()

	callCtx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
	defer cancel()
	b.traffic.reset()
	cutsBefore := b.proxy.Stats().Cut
	b.cutArmed.Store(b.cfg.cut)

	start := time.Now()
	res, err := client.Do(callCtx, req)
	r.Duration = time.Since(start)

	b.cutArmed.Store(false)
	seen := b.traffic.snapshot()
	r.Milliseconds = float64(r.Duration.Microseconds()) / 1000
	r.HTTPRequests, r.WSMessagesIn, r.WSMessagesOut, r.Deliveries = seen.Requests, seen.WSIn, seen.WSOut, seen.Deliveries
	r.CutConnections = b.proxy.Stats().Cut - cutsBefore
	if err != nil {
		r.Error = err.Error()
		return r
	}

	got, err := json.Marshal(res)
	if err != nil {
		r.Error = fmt.Sprintf("failed to encode the result: %v", err)
		return r
	}
	r.Matches = bytes.Equal(got, want)
	return r
}

// close stops the proxy, the HTTP server and the longhaul server.
func (b *bench) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()

	var errs []error
	if b.proxy != nil {
		errs = append(errs, b.proxy.Close())
	}
	errs = append(errs, b.httpServer.Shutdown(ctx), b.server.Shutdown(ctx))
	<-b.serveDone
	b.deliveryTransport.CloseIdleConnections()
	return errors.Join(errs...)
}

package longhaul

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/longhaul-go/longhaul/callback"
	"github.com/longhaul-go/longhaul/polling"
	"github.com/longhaul-go/longhaul/simple"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/websocket"
)

// ClientConfig configures a Client. The zero value uses polling for every call
// and falls back to polling when another strategy is unavailable.
//
// HTTPClient, Pipeline and Logger apply to every strategy. Each strategy's own
// section sets the rest, and a strategy whose section leaves one of these three
// zero takes it from here.
type ClientConfig struct {
	// Strategy is used for calls that choose none with transport.WithStrategy
	// and that Policy leaves open. Defaults to transport.StrategyPolling, which
	// works for every client.
	Strategy transport.Strategy

	// Policy chooses the strategy of a call that sets none with
	// transport.WithStrategy. It receives the call's context and request. If it
	// returns "", the call uses Strategy. Defaults to nil.
	Policy func(ctx context.Context, req any) transport.Strategy

	// DisableFallback turns fallback off. By default, a call whose strategy
	// fails with transport.ErrUnavailable before the server accepted a job is
	// sent again through polling, with the same idempotency key. A call whose
	// job was accepted is finished through polling by its job ID, never started
	// again. A simple call falls back only when its request cannot have
	// reached the engine (no connection, or an overloaded server), because it
	// has no job to find again. Defaults to false.
	DisableFallback bool

	// HTTPClient sends every request. Defaults to nil, which means each
	// strategy's default client, with no overall timeout.
	HTTPClient *http.Client
	// Pipeline sets retries, breakers and per-attempt timeouts. Defaults to the
	// zero PipelineConfig, whose fields document their defaults.
	Pipeline transport.PipelineConfig
	// Logger logs retries, fallbacks and errors. Defaults to nil, which logs
	// nothing.
	Logger *slog.Logger

	Simple    simple.Config
	Polling   polling.Config
	Callback  callback.Config
	WebSocket websocket.Config
}

// Client calls one longhaul server through any of the four strategies,
// chosen per call. It implements transport.Client and is safe for concurrent use.
// The callback receiver and the WebSocket connection start on first use.
type Client[Req, Res any] struct {
	cfg       ClientConfig
	simple    *simple.Client[Req, Res]
	polling   *polling.Client[Req, Res]
	callback  *callback.Client[Req, Res]
	websocket *websocket.Client[Req, Res]

	closeOnce sync.Once
}

var _ transport.Client[int, int] = (*Client[int, int])(nil)

// NewClient returns a Client for the server whose base URL is baseURL, such as
// "http://127.0.0.1:8080" or "https://example.com/api/stock".
func NewClient[Req, Res any](baseURL string, cfg ClientConfig) (*Client[Req, Res], error) {
	if cfg.Strategy == "" {
		cfg.Strategy = transport.StrategyPolling
	}
	if _, err := transport.ParseStrategy(string(cfg.Strategy)); err != nil {
		return nil, fmt.Errorf("longhaul: ClientConfig.Strategy: %w", err)
	}

	sc := cfg.Simple
	inheritClient(&sc.HTTPClient, &sc.Pipeline, &sc.Logger, cfg)
	pc := cfg.Polling
	inheritClient(&pc.HTTPClient, &pc.Pipeline, &pc.Logger, cfg)
	cc := cfg.Callback
	inheritClient(&cc.HTTPClient, &cc.Pipeline, &cc.Logger, cfg)
	wc := cfg.WebSocket
	inheritClient(&wc.HTTPClient, &wc.Pipeline, &wc.Logger, cfg)

	c := &Client[Req, Res]{cfg: cfg}
	var err error
	if c.simple, err = simple.NewClient[Req, Res](baseURL, sc); err != nil {
		return nil, err
	}
	if c.polling, err = polling.NewClient[Req, Res](baseURL, pc); err != nil {
		return nil, err
	}
	if c.callback, err = callback.NewClient[Req, Res](baseURL, cc); err != nil {
		return nil, err
	}
	if c.websocket, err = websocket.NewClient[Req, Res](baseURL, wc); err != nil {
		return nil, err
	}
	return c, nil
}

func inheritClient(httpClient **http.Client, pipeline *transport.PipelineConfig, logger **slog.Logger, cfg ClientConfig) {
	if *httpClient == nil {
		*httpClient = cfg.HTTPClient
	}
	if pipelineUnset(*pipeline) {
		*pipeline = cfg.Pipeline
	}
	if *logger == nil {
		*logger = cfg.Logger
	}
}

func pipelineUnset(p transport.PipelineConfig) bool {
	return p.Retry == (transport.RetryPolicy{}) && p.AttemptTimeout == 0 && p.Breaker == nil && p.OnAttempt == nil
}

// Do runs req through the call's strategy: the one set by
// transport.WithStrategy, else the one Policy returns, else ClientConfig.Strategy.
// See ClientConfig.DisableFallback for what happens when it is unavailable.
func (c *Client[Req, Res]) Do(ctx context.Context, req Req, opts ...transport.CallOption) (Res, error) {
	o := transport.ApplyCallOptions(opts...)
	strategy := c.strategyOf(ctx, req, o)

	// One key for every attempt of this call, across strategies, so that a
	// fallback finds the job that a submit with a lost response already created.
	if o.IdempotencyKey == "" {
		o.IdempotencyKey = newKey()
		opts = append(opts, transport.WithIdempotencyKey(o.IdempotencyKey))
	}
	var jobID string
	var mu sync.Mutex
	opts = append(opts, transport.WithOnAccepted(func(id string) {
		mu.Lock()
		jobID = id
		mu.Unlock()
		if o.OnAccepted != nil {
			o.OnAccepted(id)
		}
	}))

	res, err := c.clientFor(strategy).Do(ctx, req, opts...)
	if err == nil || c.cfg.DisableFallback || !errors.Is(err, transport.ErrUnavailable) || ctx.Err() != nil {
		return res, err
	}

	mu.Lock()
	accepted := jobID
	mu.Unlock()
	switch {
	case strategy == transport.StrategyPolling:
		// Polling already retried every step, so another attempt gains nothing.
		return res, err
	case accepted != "":
		c.logFallback(strategy, accepted, err)
		return c.polling.Resume(ctx, accepted, opts...)
	case strategy == transport.StrategySimple && !neverReachedEngine(err):
		// A simple request that may have reached the engine has no job to
		// resume, so sending it again through polling could run the work twice.
		return res, err
	default:
		c.logFallback(strategy, "", err)
		return c.polling.Do(ctx, req, opts...)
	}
}

// neverReachedEngine reports whether err, the error of a simple call's last
// attempt, shows that the request cannot have reached the engine: no
// connection was opened, or a longhaul server rejected the request as
// overloaded before running it. With more than one attempt allowed, an
// earlier attempt may have reached it: the caller then accepted repeats.
func neverReachedEngine(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	// Only an overloaded problem that a longhaul server sent counts: a
	// gateway's plain 503 can come after the engine started.
	var p *transport.Problem
	return errors.As(err, &p) && p.Code == transport.CodeOverloaded && p.Type == transport.ProblemTypeBase+transport.CodeOverloaded
}

func (c *Client[Req, Res]) logFallback(from transport.Strategy, jobID string, err error) {
	if c.cfg.Logger == nil {
		return
	}
	c.cfg.Logger.Warn("strategy unavailable, falling back to polling", "strategy", from, "job_id", jobID, "error", err)
}

func (c *Client[Req, Res]) strategyOf(ctx context.Context, req Req, o transport.CallOptions) transport.Strategy {
	if o.Strategy != "" {
		return o.Strategy
	}
	if c.cfg.Policy != nil {
		if s := c.cfg.Policy(ctx, req); s != "" {
			return s
		}
	}
	return c.cfg.Strategy
}

func (c *Client[Req, Res]) clientFor(s transport.Strategy) transport.Client[Req, Res] {
	switch s {
	case transport.StrategySimple:
		return c.simple
	case transport.StrategyCallback:
		return c.callback
	case transport.StrategyWebSocket:
		return c.websocket
	case transport.StrategyPolling:
		return c.polling
	}
	return unknownStrategy[Req, Res]{s}
}

// Polling returns the client's polling client, whose Submit and Resume work by job ID.
func (c *Client[Req, Res]) Polling() *polling.Client[Req, Res] { return c.polling }

// Close closes every strategy's client. Calls in progress end with transport.ErrClosed.
func (c *Client[Req, Res]) Close() error {
	var err error
	c.closeOnce.Do(func() {
		err = errors.Join(c.simple.Close(), c.polling.Close(), c.callback.Close(), c.websocket.Close())
	})
	return err
}

type unknownStrategy[Req, Res any] struct{ s transport.Strategy }

func (u unknownStrategy[Req, Res]) Do(context.Context, Req, ...transport.CallOption) (Res, error) {
	var zero Res
	return zero, fmt.Errorf("longhaul: unknown strategy %q: use one of simple, polling, callback, websocket", u.s)
}

func (u unknownStrategy[Req, Res]) Close() error { return nil }

func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

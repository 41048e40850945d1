package simple

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"sync"
	"time"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
)

// opRun names the network step of a call in the pipeline, its hooks and its errors.
const opRun = "run"

const (
	// defaultIdleConnsPerHost is the maximum number of idle connections per host
	// that a client keeps when it made its own *http.Client. It matches the
	// handler's default MaxConcurrent, so that a client busy up to that limit
	// reuses its connections instead of opening new ones. net/http's default
	// keeps 2.
	defaultIdleConnsPerHost = 64

	// maxSizeHint caps the buffer that a response's Content-Length allocates up
	// front. A longer body is read in growing steps, so a wrong or hostile header
	// cannot make the client allocate more than 4 MiB before the data arrives.
	maxSizeHint = 4 << 20

	// jobTimeoutGrace is the maximum time left before the attempt's deadline for
	// a job-timeout response to count as that deadline passing. The server counts
	// the Longhaul-Timeout it received from the moment the request arrived, in
	// whole milliseconds, so its deadline can pass up to about a millisecond
	// before the caller's. The rest of the margin covers scheduling delays.
	jobTimeoutGrace = 100 * time.Millisecond
)

// Config configures a Client. The zero value is ready to use.
type Config struct {
	// HTTPClient sends the requests. Its Timeout, if any, bounds each attempt,
	// so it must be longer than the longest job. Close does not close a client
	// passed here. Defaults to nil, which means a client of its own with no
	// overall timeout and the settings of http.DefaultTransport, except that it
	// keeps up to 64 idle connections per host.
	HTTPClient *http.Client

	// Pipeline sets the retry policy, the circuit breaker of the server and the
	// per-attempt timeout. Unlike the other strategies, a simple call is not
	// retried unless Pipeline.Retry.MaxAttempts allows it, because a request whose
	// response was lost may have run the job already. Set MaxAttempts above 1 only
	// for engines that may run twice, as transport.Engine requires anyway.
	// Defaults to the zero PipelineConfig with Retry.MaxAttempts 1.
	Pipeline transport.PipelineConfig

	// Logger logs every retry and every failed call. Defaults to nil, which logs
	// nothing.
	Logger *slog.Logger
}

// Client runs jobs through the simple strategy: one POST {base}/run per call,
// held open until the job ends. It implements transport.Client and is safe for
// concurrent use. Create it with NewClient.
type Client[Req, Res any] struct {
	runURL   string // {base}/run
	target   string // scheme://host, the key of the breaker
	http     *http.Client
	ownsHTTP bool // true when NewClient made http, so Close may close its connections
	pipeline *transport.Pipeline
	logger   *slog.Logger // nil means silent

	mu     sync.Mutex
	closed bool
	nextID uint64
	calls  map[uint64]context.CancelCauseFunc // the calls in flight, cancelled by Close
}

var _ transport.Client[struct{}, struct{}] = (*Client[struct{}, struct{}])(nil)

// NewClient returns a client for the simple handler served at baseURL, which
// must be an absolute http or https URL with no query or fragment, such as
// "http://127.0.0.1:8080" or "https://stock.example.com/api". Calls go to
// baseURL + "/run".
func NewClient[Req, Res any](baseURL string, cfg Config) (*Client[Req, Res], error) {
	base, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}

	httpClient, owns := cfg.HTTPClient, false
	if httpClient == nil {
		httpClient, owns = newHTTPClient(), true
	}

	pipelineCfg := cfg.Pipeline
	if pipelineCfg.Retry.MaxAttempts == 0 {
		pipelineCfg.Retry.MaxAttempts = 1
	}
	if cfg.Logger != nil {
		pipelineCfg.OnAttempt = logRetries(cfg.Logger, pipelineCfg.OnAttempt)
	}

	return &Client[Req, Res]{
		runURL:   base.JoinPath("run").String(),
		target:   base.Scheme + "://" + base.Host,
		http:     httpClient,
		ownsHTTP: owns,
		pipeline: transport.NewPipeline(pipelineCfg),
		logger:   cfg.Logger,
		calls:    make(map[uint64]context.CancelCauseFunc),
	}, nil
}

// Do sends req to the server, waits until the job ends and returns its result.
//
// The attempt's deadline travels as the Longhaul-Timeout header, so the server
// stops the job when the caller has given up. That deadline is the caller's, or
// the end of Pipeline.AttemptTimeout when that comes first. Do returns, besides
// the errors that transport.Client lists:
//
//   - *transport.UnavailableError (ErrUnavailable) when the connection failed or
//     was lost before the result arrived, or the server stayed overloaded (503,
//     429, 502 or 504) through every attempt. Its message states whether the job
//     may have run. The call may be retried.
//   - the connection's error, wrapped, when it would fail the same way again,
//     such as a rejected TLS certificate.
//   - *transport.JobError with an empty JobID when the server rejected the
//     request or the job failed.
//   - an error that names the result type when a 200 response is not a valid
//     JSON encoding of Res.
//
// A simple call carries no progress and has no job ID, so Do ignores
// transport.WithProgress, WithOnAccepted, WithIdempotencyKey and WithPollInterval.
func (c *Client[Req, Res]) Do(ctx context.Context, req Req, _ ...transport.CallOption) (Res, error) {
	var res Res

	body, err := json.Marshal(req)
	if err != nil {
		return res, fmt.Errorf("simple: request cannot be encoded as JSON: %w", err)
	}

	callCtx, id, err := c.register(ctx)
	if err != nil {
		return res, err
	}
	defer c.unregister(id)

	start := time.Now()
	err = c.pipeline.Do(callCtx, opRun, c.target, func(ctx context.Context) error {
		return c.attempt(ctx, body, &res)
	})
	if err != nil {
		if ctx.Err() == nil && errors.Is(context.Cause(callCtx), transport.ErrClosed) {
			err = fmt.Errorf("simple: run %s: %w", c.runURL, transport.ErrClosed)
		}
		c.logFailure(err, time.Since(start))
		var zero Res
		return zero, err
	}
	return res, nil
}

// Close ends the calls in flight with ErrClosed, makes later calls fail with
// ErrClosed, and closes the idle connections of a client that NewClient made
// itself. Close is idempotent and always returns nil.
func (c *Client[Req, Res]) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	calls := c.calls
	c.calls = nil
	c.mu.Unlock()

	for _, cancel := range calls {
		cancel(transport.ErrClosed)
	}
	if c.ownsHTTP {
		c.http.CloseIdleConnections()
	}
	return nil
}

// register returns the context of a new call, which Close cancels with
// ErrClosed as its cause, and the call's ID for unregister.
func (c *Client[Req, Res]) register(ctx context.Context) (context.Context, uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	if c.closed {
		return nil, 0, fmt.Errorf("simple: run %s: %w", c.runURL, transport.ErrClosed)
	}
	callCtx, cancel := context.WithCancelCause(ctx)
	c.nextID++
	c.calls[c.nextID] = cancel
	return callCtx, c.nextID, nil
}

// unregister releases the call id. After Close it also closes the connection
// that the call may have returned to the idle pool since.
func (c *Client[Req, Res]) unregister(id uint64) {
	c.mu.Lock()
	cancel, closed := c.calls[id], c.closed
	delete(c.calls, id)
	c.mu.Unlock()

	if cancel != nil {
		cancel(nil)
	}
	if closed && c.ownsHTTP {
		c.http.CloseIdleConnections()
	}
}

// attempt sends one POST and stores the decoded result in res. It reads the
// whole response before it returns, because the pipeline cancels ctx then.
func (c *Client[Req, Res]) attempt(ctx context.Context, body []byte, res *Res) error {
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.runURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("simple: failed to build the request: %w", err)
	}
	httpReq.Header.Set("Content-Type", wire.ContentTypeJSON)
	httpReq.Header.Set("Accept", acceptHeader)
	if deadline, ok := ctx.Deadline(); ok {
		httpReq.Header.Set(wire.HeaderTimeout, wire.FormatTimeout(time.Until(deadline)))
	}

	resp, err := c.http.Do(httpReq)
	if err != nil {
		return connectionError(ctx, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode == http.StatusOK {
		return c.decodeResult(ctx, resp, res)
	}
	return c.statusError(ctx, resp)
}

const acceptHeader = wire.ContentTypeJSON + ", " + wire.ContentTypeProblem

// decodeResult reads a 200 response into res.
func (c *Client[Req, Res]) decodeResult(ctx context.Context, resp *http.Response, res *Res) error {
	data, err := readAll(resp.Body, resp.ContentLength)
	if err != nil {
		return connectionError(ctx, err)
	}

	// Decoding into a fresh value keeps a partly decoded result from leaking
	// into res when the data is invalid.
	var out Res
	if err := json.Unmarshal(data, &out); err != nil {
		return fmt.Errorf("simple: the 200 response of POST %s is not a valid JSON encoding of %s: %w",
			c.runURL, reflect.TypeFor[Res](), err)
	}
	*res = out
	return nil
}

// statusError returns the error of a response other than 200: retryable for an
// overloaded or unreachable server, *transport.JobError for any other problem.
func (c *Client[Req, Res]) statusError(ctx context.Context, resp *http.Response) error {
	if resp.StatusCode < 400 {
		return fmt.Errorf("simple: POST %s returned %s, but the protocol expects 200 with the result or a problem",
			c.runURL, resp.Status)
	}

	problem := wire.ReadProblem(resp)
	switch resp.StatusCode {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusGatewayTimeout:
		if problem.Code == transport.CodeJobTimeout {
			return jobTimeoutError(ctx, problem)
		}
		return transport.MarkRetryable(
			fmt.Errorf("simple: server returned %s without a result, and the call may be retried later: %w",
				resp.Status, problem),
			wire.RetryAfter(resp.Header, time.Now()))
	}
	return &transport.JobError{Problem: *problem}
}

// jobTimeoutError returns the error of a job-timeout response: the server stopped
// the job because the deadline that this attempt sent has passed. When ctx's
// own deadline follows within jobTimeoutGrace, it waits for it and returns
// ctx's error, so that the caller gets its own deadline error, or the pipeline
// an attempt timeout that it may retry. Otherwise it returns the job's failure.
func jobTimeoutError(ctx context.Context, problem *transport.Problem) error {
	if awaitDeadline(ctx, jobTimeoutGrace) {
		return ctx.Err()
	}
	return &transport.JobError{Problem: *problem}
}

// connectionError describes a failed round trip or body read. Errors that
// come from the attempt's own context pass unchanged, so that the pipeline can
// tell a caller's cancellation or an attempt timeout from a lost connection.
// Only errors that the pipeline retries get a message saying that the call may
// be retried. Others, such as a rejected TLS certificate, fail the same way again.
func connectionError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}

	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return fmt.Errorf("simple: connection failed, so the job did not start and the call may be retried: %w", err)
	}

	// http.Client.Timeout ends a request with an error that matches
	// context.DeadlineExceeded although ctx lives. The pipeline retries it as
	// an attempt timeout.
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return fmt.Errorf("simple: request timed out before the result arrived, so the job may or may not have run, and the call may be retried: %w", err)
	}
	if !transport.Retryable(err) {
		return fmt.Errorf("simple: request failed: %w", err)
	}

	return fmt.Errorf("simple: connection lost before the result arrived, so the job may or may not have run, and the call may be retried: %w", err)
}

// awaitDeadline waits until ctx ends if its deadline is at most grace away,
// and reports whether it waited. A context with a deadline always ends soon
// after it, so the wait is bounded.
func awaitDeadline(ctx context.Context, grace time.Duration) bool {
	deadline, ok := ctx.Deadline()
	if !ok || time.Until(deadline) > grace {
		return false
	}

	<-ctx.Done()
	return true
}

// readAll reads r to its end. A sizeHint from Content-Length, up to
// maxSizeHint, sizes the buffer in one allocation.
func readAll(r io.Reader, sizeHint int64) ([]byte, error) {
	if sizeHint <= 0 || sizeHint > maxSizeHint {
		return io.ReadAll(r)
	}

	buf := make([]byte, sizeHint)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// newHTTPClient returns the client that a Config without HTTPClient uses.
func newHTTPClient() *http.Client {
	var t *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	} else {
		t = &http.Transport{Proxy: http.ProxyFromEnvironment}
	}
	t.MaxIdleConnsPerHost = defaultIdleConnsPerHost
	return &http.Client{Transport: t}
}

// parseBaseURL checks that raw is an absolute http or https URL without query
// or fragment.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("simple: base URL %q is invalid: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("simple: base URL %q must start with http:// or https://, such as http://127.0.0.1:8080", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("simple: base URL %q has no host: use a URL such as http://127.0.0.1:8080", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("simple: base URL %q must not have a query or fragment: pass only scheme, host and base path", raw)
	}
	return u, nil
}

// logRetries returns an OnAttempt hook that logs each attempt that will be
// retried and then calls next, which may be nil.
func logRetries(logger *slog.Logger, next func(transport.AttemptInfo)) func(transport.AttemptInfo) {
	return func(info transport.AttemptInfo) {
		if info.Err != nil && info.NextDelay > 0 {
			logger.Warn("simple: run attempt failed, retrying",
				"target", info.Target, "attempt", info.Attempt, "next_delay", info.NextDelay, "error", info.Err)
		}
		if next != nil {
			next(info)
		}
	}
}

// logFailure logs a failed call at a level that fits its cause.
func (c *Client[Req, Res]) logFailure(err error, elapsed time.Duration) {
	if c.logger == nil {
		return
	}

	var jobErr *transport.JobError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, transport.ErrClosed):
		c.logger.Debug("simple: run ended before its result", "url", c.runURL, "duration", elapsed, "error", err)
	case errors.As(err, &jobErr):
		c.logger.Info("simple: run failed on the server", "url", c.runURL, "code", jobErr.Problem.Code, "duration", elapsed, "error", err)
	default:
		c.logger.Warn("simple: run failed", "url", c.runURL, "duration", elapsed, "error", err)
	}
}

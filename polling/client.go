package polling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// Defaults and limits of the client.
const (
	defaultLongPoll     = 25 * time.Second
	defaultPollInterval = time.Second

	// cancelTimeout bounds the best-effort cancel that Do sends after its
	// caller's context ended, retries included.
	cancelTimeout = 2 * time.Second

	// defaultStallTimeout is how long a request may go without progress
	// before send abandons it; see send.
	defaultStallTimeout = 30 * time.Second

	// deadlineSlack is how long Do waits for its context's deadline after the
	// server reported that the job passed the deadline the submit sent.
	deadlineSlack = time.Second

	// maxStatusBytes caps the status document that the client reads, so that a
	// faulty server cannot exhaust the caller's memory. The document contains
	// the job's result, so the cap is far above the server's request body limit.
	maxStatusBytes = 64 << 20
)

// Config configures a Client. The zero value is usable.
type Config struct {
	// HTTPClient sends the requests. Its Timeout, when set, bounds each request
	// and shortens LongPoll as described there. Nil means a client of the
	// Client's own with no overall timeout, whose idle connections Close closes.
	// Defaults to nil.
	HTTPClient *http.Client

	// Pipeline configures the retries, the circuit breaker and the per-attempt
	// timeout of every submit, status request and cancel. Its retries bound a
	// submit, but not the wait for an accepted job. A status request that
	// fails after its retries is sent again after a backoff from
	// Retry.BaseDelay up to Retry.MaxDelay. While the breaker is not closed,
	// the status requests of accepted jobs go outside it, one attempt each.
	// Defaults to the zero PipelineConfig: 5 attempts with backoff from 100 ms
	// up to 10 s, a breaker per server and no per-attempt timeout.
	Pipeline transport.PipelineConfig

	// Logger receives a debug line for every submit and a line for every
	// best-effort cancel after a caller gave up. During an outage it receives
	// a warning at failed status requests 1, 2, 4, 8 and so on, and a line
	// when they succeed again. A cut long-poll that shortens a call's wait is
	// logged too. Every line has the job_id. Nil means silent. Defaults to nil.
	Logger *slog.Logger

	// LongPoll is the maximum time that the server holds each status request
	// open until the job changes, sent as Prefer: wait. When
	// Pipeline.AttemptTimeout or HTTPClient.Timeout is set, LongPoll is cut to
	// 3/4 of the shorter one, so that a long-poll ends before its request times
	// out. A call halves its own wait, down to 1 s, each time the network cuts
	// a long-poll that had been open for at least 1 s, as proxies that close
	// idle connections do. A negative value turns long-polling off, and the
	// client then sends a status request every PollInterval. Zero means the
	// default. Defaults to 25 s.
	LongPoll time.Duration

	// PollInterval is the minimum time between the starts of two status
	// requests when the first one returned without a change, so that a server
	// that does not hold requests open is not polled in a busy loop. The call
	// option WithPollInterval overrides it per call. Zero or negative means the
	// default. Defaults to 1 s.
	PollInterval time.Duration
}

// Client runs jobs on a polling server: it submits each request, receives the
// job ID at once and polls the job's status until the job ends. It implements
// transport.Client and is safe for concurrent use.
type Client[Req, Res any] struct {
	jobsURL  string // the base URL followed by "/jobs"
	target   string // scheme://host of the server, the key of its circuit breaker
	http     *http.Client
	ownsHTTP bool // the Client created http, so Close closes its idle connections
	pipeline *transport.Pipeline
	// unguarded sends the status requests of accepted jobs while the
	// server's breaker is not closed: one attempt each, outside the breaker.
	unguarded *transport.Pipeline
	retry     transport.RetryPolicy // spaces the status requests while the server is unreachable
	log       *slog.Logger
	longPoll  time.Duration // 0 means no long-poll
	interval  time.Duration
	// stallTimeout bounds the time without progress of each request; tests
	// shorten it.
	stallTimeout time.Duration
	// minLongPoll is the shortest wait that a long-poll cut by the network
	// shortens the call's wait to; tests shorten it.
	minLongPoll time.Duration

	mu       sync.Mutex
	closed   bool
	calls    map[uint64]context.CancelCauseFunc // in-flight calls, which Close ends
	nextCall uint64
	cancels  sync.WaitGroup // best-effort cancels that Do started in the background
}

var _ transport.Client[int, int] = (*Client[int, int])(nil)

// NewClient returns a client of the polling server at baseURL, an absolute
// http or https URL whose path is the server's base path, such as
// "http://127.0.0.1:8080/api". Requests go to baseURL + "/jobs".
func NewClient[Req, Res any](baseURL string, cfg Config) (*Client[Req, Res], error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("polling: invalid base URL %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("polling: invalid base URL %q: use an absolute http or https URL such as http://127.0.0.1:8080/api", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("polling: invalid base URL %q: remove the query and the fragment", baseURL)
	}

	httpClient, owns := cfg.HTTPClient, false
	if httpClient == nil {
		httpClient, owns = &http.Client{Transport: newTransport()}, true
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	interval := cfg.PollInterval
	if interval <= 0 {
		interval = defaultPollInterval
	}

	return &Client[Req, Res]{
		jobsURL:      strings.TrimRight(u.String(), "/") + "/jobs",
		target:       u.Scheme + "://" + u.Host,
		http:         httpClient,
		ownsHTTP:     owns,
		pipeline:     transport.NewPipeline(cfg.Pipeline),
		unguarded:    newUnguardedPipeline(cfg.Pipeline),
		retry:        cfg.Pipeline.Retry,
		log:          logger,
		longPoll:     longPollWait(cfg, httpClient),
		interval:     interval,
		stallTimeout: defaultStallTimeout,
		minLongPoll:  defaultMinLongPoll,
		calls:        make(map[uint64]context.CancelCauseFunc),
	}, nil
}

// newTransport returns a transport of the Client's own, so that Close can close
// its idle connections without touching those of other clients.
func newTransport() http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return t.Clone()
	}
	return &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
}

// longPollWait returns the wait that status requests send, 0 for none.
func longPollWait(cfg Config, httpClient *http.Client) time.Duration {
	wait := cfg.LongPoll
	switch {
	case wait < 0:
		return 0
	case wait == 0:
		wait = defaultLongPoll
	}
	for _, bound := range []time.Duration{cfg.Pipeline.AttemptTimeout, httpClient.Timeout} {
		if bound > 0 {
			wait = min(wait, bound*3/4)
		}
	}
	return wait
}

// Do submits req, waits for the job to end and returns its result.
//
// The submit carries the call's idempotency key (WithIdempotencyKey, or a
// random key per call) on every retry, so a submit whose response was lost never
// starts a second job. Do calls the OnAccepted option with the job ID once the
// server has accepted the job, and the OnProgress option whenever the job's
// progress changes. Once the server has accepted the job, neither an
// unreachable server nor an open circuit breaker ends the call: Do reads the
// job again after a backoff until ctx ends or Close is called. When ctx ends,
// Do sends a best-effort cancel of the job in the background and returns an
// error that matches ctx.Err(). A job that failed or was canceled returns a
// *transport.JobError with the job ID. See transport.Client for the other
// errors.
func (c *Client[Req, Res]) Do(ctx context.Context, req Req, opts ...transport.CallOption) (Res, error) {
	var zero Res
	o := transport.ApplyCallOptions(opts...)
	callCtx, end, err := c.begin(ctx)
	if err != nil {
		return zero, err
	}
	defer end()

	st, etag, err := c.submit(callCtx, req, o.IdempotencyKey)
	if err != nil {
		return zero, c.callError(ctx, callCtx, "submit", err)
	}
	if o.OnAccepted != nil {
		o.OnAccepted(st.ID)
	}

	res, err := c.await(callCtx, st.ID, st, etag, o)
	if err == nil {
		return res, nil
	}

	// A *JobError from await means that the job has ended or is gone, or that
	// the server rejects requests for it, so a cancel would change nothing.
	var jobErr *transport.JobError
	ended := errors.As(err, &jobErr)
	if ended && jobErr.Problem.Code == transport.CodeJobTimeout {
		awaitDeadline(callCtx)
	}
	if ctx.Err() != nil && !ended {
		c.cancelInBackground(st.ID)
	}
	return zero, c.callError(ctx, callCtx, "job "+st.ID, err)
}

// awaitDeadline waits for ctx to end when its deadline is at most deadlineSlack
// away. The server ends a job at the deadline that the submit sent, which the
// millisecond rounding of Longhaul-Timeout can put a moment before the
// caller's own, and the caller must then see context.DeadlineExceeded rather
// than the job's timeout.
func awaitDeadline(ctx context.Context) {
	deadline, ok := ctx.Deadline()
	if !ok || time.Until(deadline) > deadlineSlack {
		return
	}
	<-ctx.Done()
}

// Submit submits req and returns the job's ID as soon as the server has
// accepted it, without waiting for the job. It calls the OnAccepted option too,
// and uses the IdempotencyKey option like Do. Wait for the result with Resume.
// When ctx ends during the submit, a job may still have been created; submit
// again with the same idempotency key to find it.
func (c *Client[Req, Res]) Submit(ctx context.Context, req Req, opts ...transport.CallOption) (jobID string, err error) {
	o := transport.ApplyCallOptions(opts...)
	callCtx, end, err := c.begin(ctx)
	if err != nil {
		return "", err
	}
	defer end()

	st, _, err := c.submit(callCtx, req, o.IdempotencyKey)
	if err != nil {
		return "", c.callError(ctx, callCtx, "submit", err)
	}
	if o.OnAccepted != nil {
		o.OnAccepted(st.ID)
	}
	return st.ID, nil
}

// Resume waits for the job with the given ID to end and returns its result,
// like the second half of Do. Use it after a restart, with an ID that
// OnAccepted or Submit returned. It calls the OnProgress option on changes,
// and waits through outages of the server like Do.
//
// Unlike Do, Resume does not cancel the job when ctx ends, because the caller
// may only be watching it: call Cancel for that. An ID that the server does
// not know (or that belongs to another owner, or has expired) returns a
// *transport.JobError with code not-found.
func (c *Client[Req, Res]) Resume(ctx context.Context, jobID string, opts ...transport.CallOption) (Res, error) {
	var zero Res
	if err := checkJobID(jobID); err != nil {
		return zero, err
	}
	o := transport.ApplyCallOptions(opts...)
	callCtx, end, err := c.begin(ctx)
	if err != nil {
		return zero, err
	}
	defer end()

	res, err := c.await(callCtx, jobID, nil, "", o)
	if err != nil {
		return zero, c.callError(ctx, callCtx, "job "+jobID, err)
	}
	return res, nil
}

// Cancel sends DELETE for the job with the given ID, which cancels it on the
// server. A queued job ends at once, and a running one ends when its engine
// returns. Cancel returns nil once the server has recorded the request, and
// also for a job that has already finished, which stays unchanged. An unknown
// ID returns a *transport.JobError with code not-found.
func (c *Client[Req, Res]) Cancel(ctx context.Context, jobID string) error {
	if err := checkJobID(jobID); err != nil {
		return err
	}
	callCtx, end, err := c.begin(ctx)
	if err != nil {
		return err
	}
	defer end()

	if err := c.deleteJob(callCtx, jobID); err != nil {
		return c.callError(ctx, callCtx, "cancel job "+jobID, err)
	}
	return nil
}

// Close ends every call in progress with an error that matches
// transport.ErrClosed, waits for the background cancels that Do started (each
// bounded by 2 s), and closes the idle connections of the HTTP client when the
// Client created it. Jobs whose calls Close ended keep running on the server
// and can be resumed by ID with another Client. Close is idempotent and always
// returns nil.
func (c *Client[Req, Res]) Close() error {
	c.mu.Lock()
	c.closed = true
	for id, cancel := range c.calls {
		cancel(transport.ErrClosed)
		delete(c.calls, id)
	}
	c.mu.Unlock()

	c.cancels.Wait()
	if c.ownsHTTP {
		c.http.CloseIdleConnections()
	}
	return nil
}

// begin registers a call, so that Close can end it, and returns the call's
// context and the function that ends the call.
func (c *Client[Req, Res]) begin(ctx context.Context) (context.Context, func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, fmt.Errorf("polling: %w", transport.ErrClosed)
	}

	callCtx, cancel := context.WithCancelCause(ctx)
	id := c.nextCall
	c.nextCall++
	c.calls[id] = cancel

	end := func() {
		c.mu.Lock()
		delete(c.calls, id)
		c.mu.Unlock()
		cancel(nil)
	}
	return callCtx, end, nil
}

// callError returns the error of a call that failed with err in the step op:
// the caller's context error when that context ended, ErrClosed when Close
// ended the call, the *transport.JobError itself, or err wrapped with op.
func (c *Client[Req, Res]) callError(ctx, callCtx context.Context, op string, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("polling: %s: %w", op, ctx.Err())
	case errors.Is(context.Cause(callCtx), transport.ErrClosed):
		return fmt.Errorf("polling: %s: %w", op, transport.ErrClosed)
	}
	if jobErr, ok := err.(*transport.JobError); ok {
		return jobErr // it names the job already
	}
	return fmt.Errorf("polling: %s: %w", op, err)
}

// cancelInBackground sends a best-effort cancel of a job whose caller gave up.
// It runs on a context of its own, because the caller's has ended, and Close
// waits for it.
func (c *Client[Req, Res]) cancelInBackground(jobID string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.cancels.Add(1)
	c.mu.Unlock()

	go func() {
		defer c.cancels.Done()
		ctx, cancel := context.WithTimeout(context.Background(), cancelTimeout)
		defer cancel()

		if err := c.deleteJob(ctx, jobID); err != nil {
			c.log.Warn("best-effort cancel of abandoned job failed, so the job runs until it ends or passes its deadline",
				"job_id", jobID, "error", err)
			return
		}
		c.log.Info("abandoned job canceled", "job_id", jobID)
	}()
}

// checkJobID returns a *transport.JobError when id does not have the form of a
// job ID, so that no request goes out with an ID that the server cannot know.
func checkJobID(id string) error {
	if jobs.ValidID(id) {
		return nil
	}
	p := transport.InvalidRequest("job ID %q is not valid: use the 32 lowercase hex digits that Submit or OnAccepted returned", id)
	return &transport.JobError{Problem: *p}
}

// await polls the job until it ends. st and etag are the job's last status
// and ETag, and a nil st makes the first request one without a wait, which
// returns at once with the ETag that the long-polls after it need.
//
// A status request that fails with the server unreachable, after its
// retries, or that an open breaker rejects, does not end the call: the job
// keeps running on the server, so await waits and reads it again until ctx
// ends. See handlePollError and pipelineForJob.
func (c *Client[Req, Res]) await(ctx context.Context, jobID string, st *wire.Status, etag string, o transport.CallOptions) (Res, error) {
	var zero Res
	interval := c.interval
	if o.PollInterval > 0 {
		interval = o.PollInterval
	}
	w := &watch{jobID: jobID, wait: c.longPoll}
	var reported transport.Progress

	for {
		if st != nil {
			if o.OnProgress != nil && st.Progress != reported {
				reported = st.Progress
				o.OnProgress(reported)
			}
			if st.State.Finished() {
				return outcome[Res](st)
			}
		}

		// Without If-None-Match the server holds the request until the job
		// ends. That is what a call without a progress handler wants: one
		// request per long-poll. A call with one sends its ETag, so that the
		// server responds to every change, and without an ETag it polls
		// without a wait.
		wait, ifNoneMatch := w.wait, ""
		switch {
		case st == nil:
			wait = 0
		case o.OnProgress == nil:
		case etag == "":
			wait = 0
		default:
			ifNoneMatch = etag
		}
		start := time.Now()
		next, nextETag, err := c.poll(ctx, c.pipelineForJob(), jobID, ifNoneMatch, wait)
		if err != nil {
			if err := c.handlePollError(ctx, w, err); err != nil {
				return zero, err
			}
			continue
		}
		c.endOutage(w)

		unchanged := next == nil || st != nil && sameStatus(st, etag, next, nextETag)
		if next != nil {
			st, etag = next, nextETag
		}
		if unchanged {
			if !sleep(ctx, interval-time.Since(start)) {
				return zero, ctx.Err()
			}
		}
	}
}

// sameStatus reports whether a status request returned what the client had:
// the same ETag, or the same state, progress and update time when the server
// sends no ETag.
func sameStatus(old *wire.Status, oldETag string, next *wire.Status, nextETag string) bool {
	if oldETag != "" && nextETag != "" {
		return oldETag == nextETag
	}
	return old.State == next.State && old.Progress == next.Progress && old.UpdatedAt.Equal(next.UpdatedAt)
}

// sleep waits for d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}

	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

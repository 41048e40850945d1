package callback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/polling"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// Defaults of the client.
const (
	defaultListen               = "127.0.0.1:0"
	defaultReceiverPath         = "/callbacks"
	defaultFallbackPollInterval = 30 * time.Second
	defaultProgressInterval     = time.Second

	// cancelTimeout bounds the best-effort cancel that Do sends after its
	// caller's context ended.
	cancelTimeout = 2 * time.Second
	// receiverShutdownTimeout bounds how long Close waits for the built-in
	// receiver to finish the deliveries it is handling.
	receiverShutdownTimeout = 2 * time.Second

	// deadlineSlack is how long Do waits for its context's deadline after the
	// server reported that the job passed the deadline the submit sent.
	deadlineSlack = time.Second

	// headerReplayed marks a submit response that returns the job an earlier
	// submit with the same Idempotency-Key created.
	headerReplayed = "Idempotent-Replayed"
	// maxSubmitCapture is how much of a submit response's body the client
	// keeps to read the job's callback URL. The status document of a job
	// that the submit created contains no result and stays far below it.
	maxSubmitCapture = 64 << 10
)

// Config configures a Client. The zero value is usable: it starts a receiver
// on a free loopback port, which suits a server on the same host or tests.
type Config struct {
	// HTTPClient sends the submits, status reads and cancels. Nil means a
	// client of the Client's own with no overall timeout, whose idle
	// connections Close closes. Defaults to nil.
	HTTPClient *http.Client

	// Pipeline configures the retries, the circuit breaker and the per-attempt
	// timeout of every submit, status read and cancel. Defaults to the zero
	// PipelineConfig: 5 attempts with backoff from 100 ms, a breaker per server
	// and no per-attempt timeout.
	Pipeline transport.PipelineConfig

	// Logger receives a line for every delivery the receiver rejects, every
	// failed fallback read and every failed cancel, with the job_id. It never
	// receives a secret. Nil means silent. Defaults to nil.
	Logger *slog.Logger

	// Listen is the TCP address of the built-in receiver, an http.Server that
	// the Client starts on the first Do. When PublicURL is set and Listen is
	// empty, no receiver is started: mount Client.Receiver in your own server
	// at PublicURL instead. Defaults to "127.0.0.1:0", a free loopback port.
	Listen string

	// PublicURL is the URL the server delivers to, without the call's token,
	// which the Client adds as a query parameter. Set it when the server
	// reaches this process at another address than Listen, for example
	// through a load balancer or a port mapping, and always when Listen is a
	// wildcard address such as ":8081". Defaults to "http://" followed by the
	// receiver's listening address and "/callbacks".
	PublicURL string

	// FallbackPollInterval is how often Do reads the job by ID while it waits
	// for the delivery, so that a call ends even when deliveries cannot reach
	// the receiver. The option transport.WithPollInterval overrides it per
	// call. Defaults to 30 s.
	FallbackPollInterval time.Duration

	// ProgressInterval is how often Do reads the job's status for progress
	// when the call has the option transport.WithProgress, and how often
	// Resume reads it when the server does not hold its requests open.
	// Defaults to 1 s.
	ProgressInterval time.Duration

	// MaxDeliveryBytes limits the body of a delivery that the receiver reads.
	// Defaults to 64 MiB.
	MaxDeliveryBytes int64
}

// Client runs jobs on a callback server. It submits each request with the URL
// of its own receiver and a fresh secret, and waits for the server to deliver
// the result there. Meanwhile it reads the job by ID now and then, in case
// deliveries cannot reach it. It implements transport.Client and is safe for
// concurrent use.
type Client[Req, Res any] struct {
	poller    *polling.Client[Req, Res] // submits, cancels and resumes, with long-polls
	fallback  *polling.Client[Req, Res] // the fallback and progress reads, without long-polls
	receiver  *Receiver
	transport *http.Transport // the Client's own, nil with a caller's HTTPClient
	log       *slog.Logger

	listen           string
	publicURL        string
	fallbackInterval time.Duration
	progressInterval time.Duration

	mu          sync.Mutex
	closed      bool
	receiverURL string       // the resolved public URL, empty until the first Do
	server      *http.Server // the built-in receiver, nil until started or when mounted elsewhere
	serverDone  chan struct{}
	calls       map[*pendingCall]context.CancelCauseFunc
	cancels     sync.WaitGroup // best-effort cancels that Do started in the background
}

var _ transport.Client[int, int] = (*Client[int, int])(nil)

// NewClient returns a client of the callback server at baseURL, an absolute
// http or https URL whose path is the server's base path, such as
// "http://127.0.0.1:8080/api". It checks cfg but starts nothing: the receiver
// starts on the first Do.
func NewClient[Req, Res any](baseURL string, cfg Config) (*Client[Req, Res], error) {
	publicURL, listen, err := receiverAddress(cfg)
	if err != nil {
		return nil, err
	}

	httpClient, own := submitClient(cfg.HTTPClient)
	poller, err := polling.NewClient[Req, Res](baseURL, polling.Config{
		HTTPClient: httpClient, Pipeline: cfg.Pipeline, Logger: cfg.Logger,
		PollInterval: positiveOr(cfg.ProgressInterval, defaultProgressInterval),
	})
	if err != nil {
		return nil, fmt.Errorf("callback: %w", err)
	}
	fallback, err := polling.NewClient[Req, Res](baseURL, polling.Config{
		HTTPClient: httpClient, Pipeline: cfg.Pipeline, Logger: cfg.Logger, LongPoll: -1,
	})
	if err != nil {
		return nil, fmt.Errorf("callback: %w", err)
	}

	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Client[Req, Res]{
		poller:           poller,
		fallback:         fallback,
		receiver:         newReceiver(cfg.MaxDeliveryBytes, logger),
		transport:        own,
		log:              logger,
		listen:           listen,
		publicURL:        publicURL,
		fallbackInterval: positiveOr(cfg.FallbackPollInterval, defaultFallbackPollInterval),
		progressInterval: positiveOr(cfg.ProgressInterval, defaultProgressInterval),
		calls:            make(map[*pendingCall]context.CancelCauseFunc),
	}, nil
}

// receiverAddress checks Listen and PublicURL and returns the public URL (empty
// when it comes from the listener) and the address to listen on (empty when
// the caller mounts the Receiver).
func receiverAddress(cfg Config) (publicURL, listen string, err error) {
	if cfg.PublicURL != "" {
		if err := checkPublicURL(cfg.PublicURL); err != nil {
			return "", "", err
		}
		return cfg.PublicURL, cfg.Listen, nil
	}

	listen = cfg.Listen
	if listen == "" {
		listen = defaultListen
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return "", "", fmt.Errorf("callback: invalid Listen address %q: %w", listen, err)
	}
	if host == "" || net.ParseIP(host).IsUnspecified() {
		return "", "", fmt.Errorf("callback: Listen address %q listens on every interface, so the server cannot be told where to deliver: set PublicURL to the URL at which the server reaches this process", listen)
	}
	return "", listen, nil
}

func checkPublicURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("callback: invalid PublicURL %q: %w", raw, err)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("callback: invalid PublicURL %q: use an absolute http or https URL such as https://client.example.com/callbacks", raw)
	case u.User != nil:
		return fmt.Errorf("callback: invalid PublicURL %q: remove the user info, because servers refuse callback URLs with it", raw)
	case u.Fragment != "":
		return fmt.Errorf("callback: invalid PublicURL %q: remove the fragment", raw)
	case u.Query().Has(callParam):
		return fmt.Errorf("callback: invalid PublicURL %q: the query parameter %s is reserved for the call's token", raw, callParam)
	}
	return nil
}

// submitClient returns the HTTP client of the inner polling clients, whose
// transport adds the callback headers to a submit, and the Client's own base
// transport, nil when the caller gave a client.
func submitClient(userClient *http.Client) (*http.Client, *http.Transport) {
	if userClient == nil {
		own := &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
		if t, ok := http.DefaultTransport.(*http.Transport); ok {
			own = t.Clone()
		}
		return &http.Client{Transport: &callbackTransport{base: own}}, own
	}

	c := *userClient
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &callbackTransport{base: base}
	return &c, nil
}

// Do submits req with a callback to the Client's receiver, waits for the job
// to end and returns its result.
//
// The submit carries a fresh secret and the call's idempotency key
// (transport.WithIdempotencyKey, or a random key per call) on every retry.
// Do calls the OnAccepted option with the job ID once the server has accepted
// the job. The result arrives by whichever comes first: the delivery, which
// the receiver verifies with the call's secret, or a read of the job by ID.
// The reads come every FallbackPollInterval, or every ProgressInterval when
// the call has the OnProgress option, which then receives each change of
// progress. A read that fails does not end the call, because the delivery may
// still come.
//
// A submit can return the job that an earlier call created under the same
// idempotency key. Do treats the response as such a replay when it has
// Idempotent-Replayed: true, or when the job's callback URL is not the one
// this call sent. The job then gets no delivery here, because the server
// delivers to the earlier call's URL with its secret. So Do reads the job at
// once and long-polls it until it ends, as polling.Client.Resume does: through
// an outage too, until ctx ends. A retried submit of this
// very call, which the server also replays, keeps this call's callback URL
// and waits for the delivery.
//
// When ctx ends, Do returns at once with an error that matches ctx.Err() and
// sends DELETE for the job in the background, bounded by 2 s. A job that
// failed or was canceled returns a *transport.JobError with the job ID.
// Longhaul-Timeout is rounded to milliseconds, so the server can end a job a
// moment before ctx's own deadline. When that deadline is at most 1 s away, Do
// then waits for it and returns an error that matches context.DeadlineExceeded.
// After Close, Do returns an error that matches transport.ErrClosed.
func (c *Client[Req, Res]) Do(ctx context.Context, req Req, opts ...transport.CallOption) (Res, error) {
	var zero Res
	o := transport.ApplyCallOptions(opts...)
	call, callCtx, end, err := c.begin(ctx)
	if err != nil {
		return zero, err
	}
	defer end()

	submit := &submitCall{url: call.url, secret: call.pending.secret}
	jobID, err := c.poller.Submit(withSubmit(callCtx, submit), req,
		transport.WithIdempotencyKey(o.IdempotencyKey))
	if err != nil {
		return zero, c.callError(ctx, callCtx, "submit", err)
	}
	call.pending.setJobID(jobID)
	if o.OnAccepted != nil {
		o.OnAccepted(jobID)
	}

	var res Res
	if submit.replayed() {
		c.log.Info("submit returned the job of an earlier call, which delivers to that call's URL, so the call long-polls the job instead",
			"job_id", jobID)
		res, err = c.poller.Resume(callCtx, jobID, opts...)
	} else {
		res, err = c.await(callCtx, call.pending, jobID, o)
	}
	if err == nil {
		return res, nil
	}

	// A *JobError means that the job has ended or is gone, or that the server
	// rejects requests for it, so a cancel would change nothing.
	var jobErr *transport.JobError
	ended := errors.As(err, &jobErr)
	if ended && jobErr.Problem.Code == transport.CodeJobTimeout {
		awaitDeadline(callCtx)
	}
	if ctx.Err() != nil && !ended {
		c.cancelInBackground(jobID)
	}
	return zero, c.callError(ctx, callCtx, "job "+jobID, err)
}

// awaitDeadline waits for ctx to end when its deadline is at most
// deadlineSlack away. The server ends a job at the deadline that the submit
// sent, which the millisecond rounding of Longhaul-Timeout can put a moment
// before the caller's own, and the caller must then see
// context.DeadlineExceeded rather than the job's timeout.
func awaitDeadline(ctx context.Context) {
	deadline, ok := ctx.Deadline()
	if !ok || time.Until(deadline) > deadlineSlack {
		return
	}
	<-ctx.Done()
}

// Resume waits for the job with the given ID to end and returns its result.
// It reads the job by ID with long-polls, as polling.Client.Resume does,
// because no receiver waits for the delivery of a call that another process
// made. Resume calls the OnProgress option on changes and does not cancel the
// job when ctx ends; call Cancel for that. An unknown ID returns a
// *transport.JobError with code not-found.
func (c *Client[Req, Res]) Resume(ctx context.Context, jobID string, opts ...transport.CallOption) (Res, error) {
	if c.isClosed() {
		var zero Res
		return zero, fmt.Errorf("callback: %w", transport.ErrClosed)
	}
	return c.poller.Resume(ctx, jobID, opts...)
}

// Cancel sends the server a request to cancel the job with the given ID, as
// polling.Client.Cancel does.
func (c *Client[Req, Res]) Cancel(ctx context.Context, jobID string) error {
	if c.isClosed() {
		return fmt.Errorf("callback: %w", transport.ErrClosed)
	}
	return c.poller.Cancel(ctx, jobID)
}

// Receiver returns the handler that receives this Client's deliveries. Mount
// it in your own server at Config.PublicURL when Config.Listen is empty:
//
//	client, err := callback.NewClient[Req, Res](serverURL, callback.Config{
//		PublicURL: "https://client.example.com/hooks/longhaul",
//	})
//	...
//	mux.Handle("POST /hooks/longhaul", client.Receiver())
func (c *Client[Req, Res]) Receiver() *Receiver { return c.receiver }

// URL returns the URL that deliveries are sent to, without the call's token.
// It starts the built-in receiver if it is not running yet, so that the
// address of a Listen port 0 is known.
func (c *Client[Req, Res]) URL() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return "", fmt.Errorf("callback: %w", transport.ErrClosed)
	}
	return c.startReceiverLocked()
}

// Close ends every call in progress with an error that matches
// transport.ErrClosed, waits for the background cancels that Do started,
// stops the built-in receiver, and closes the idle connections of the HTTP
// client when the Client created it. Jobs keep running on the server; their
// deliveries get 410 Gone from now on, and their results stay readable by ID.
// Close is idempotent and always returns nil.
func (c *Client[Req, Res]) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	for call, cancel := range c.calls {
		cancel(transport.ErrClosed)
		delete(c.calls, call)
	}
	server, serverDone := c.server, c.serverDone
	c.mu.Unlock()

	c.cancels.Wait()
	_ = c.poller.Close()
	_ = c.fallback.Close()
	if server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), receiverShutdownTimeout)
		if err := server.Shutdown(ctx); err != nil {
			_ = server.Close()
		}
		cancel()
		<-serverDone
	}
	if c.transport != nil {
		c.transport.CloseIdleConnections()
	}
	return nil
}

// activeCall is one call of Do: its registration with the receiver and its
// callback URL.
type activeCall struct {
	pending *pendingCall
	url     string
}

// begin starts the receiver if needed, registers a call with it and returns
// the call, the call's context, which Close cancels, and the function that
// ends the call.
func (c *Client[Req, Res]) begin(ctx context.Context) (*activeCall, context.Context, func(), error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, nil, fmt.Errorf("callback: %w", transport.ErrClosed)
	}
	base, err := c.startReceiverLocked()
	if err != nil {
		return nil, nil, nil, err
	}

	pending := c.receiver.register(NewSecret())
	callCtx, cancel := context.WithCancelCause(ctx)
	c.calls[pending] = cancel

	end := func() {
		c.receiver.unregister(pending)
		c.mu.Lock()
		delete(c.calls, pending)
		c.mu.Unlock()
		cancel(nil)
	}
	return &activeCall{pending: pending, url: callbackURL(base, pending.token)}, callCtx, end, nil
}

// startReceiverLocked returns the public URL of the receiver, starting the
// built-in one on first use. c.mu must be held.
func (c *Client[Req, Res]) startReceiverLocked() (string, error) {
	if c.receiverURL != "" {
		return c.receiverURL, nil
	}
	if c.listen == "" {
		c.receiverURL = c.publicURL
		return c.receiverURL, nil
	}

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return "", fmt.Errorf("callback: start the receiver on %s: %w", c.listen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", c.receiver)
	c.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(c.log.Handler(), slog.LevelWarn),
	}
	c.serverDone = make(chan struct{})
	go func(server *http.Server, done chan struct{}) {
		defer close(done)
		if err := server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.log.Error("callback receiver stopped", "address", ln.Addr().String(), "error", err)
		}
	}(c.server, c.serverDone)

	c.receiverURL = c.publicURL
	if c.receiverURL == "" {
		c.receiverURL = "http://" + ln.Addr().String() + defaultReceiverPath
	}
	c.log.Info("callback receiver started", "address", ln.Addr().String(), "url", c.receiverURL)
	return c.receiverURL, nil
}

func (c *Client[Req, Res]) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// await waits for the delivery of the job's result. After each interval
// without it, a polling Resume reads the job by ID every interval until one
// of them ends the call or ctx ends. The 202 response of the submit was the
// first read, so the reads start one interval later.
func (c *Client[Req, Res]) await(ctx context.Context, call *pendingCall, jobID string, o transport.CallOptions) (Res, error) {
	interval := c.fallbackInterval
	if o.OnProgress != nil {
		interval = min(interval, c.progressInterval)
	}
	if o.PollInterval > 0 {
		interval = o.PollInterval
	}
	progress := &progressReporter{report: o.OnProgress}
	timer := time.NewTimer(interval)
	defer timer.Stop()

	for {
		select {
		case st := <-call.delivered:
			progress.final(st.Progress)
			return outcome[Res](st)
		case <-timer.C:
		case <-ctx.Done():
			var zero Res
			return zero, ctx.Err()
		}

		res, done, err := c.awaitRound(ctx, call, jobID, interval, progress)
		if done {
			return res, err
		}
		c.log.Warn("fallback read of the job failed; waiting for the delivery",
			"job_id", jobID, "retry_in", interval, "error", err)
		timer.Reset(interval)
	}
}

// awaitRound waits for the delivery while a polling Resume reads the job
// every interval. It returns done false when the reads failed in a way that a
// later round may overcome, such as an unreachable server.
func (c *Client[Req, Res]) awaitRound(ctx context.Context, call *pendingCall, jobID string, interval time.Duration, progress *progressReporter) (res Res, done bool, err error) {
	readCtx, stopReads := context.WithCancel(ctx)
	defer stopReads()

	type readResult struct {
		res Res
		err error
	}
	read := make(chan readResult, 1)
	go func() {
		// NOTE: polling.Client reads again at once after a read that saw a
		// change, so a job whose progress changes faster than a round trip
		// would be read without pause. Its progress hook runs between the
		// reads, and waiting there keeps them an interval apart. Complete
		// progress skips the wait, because the job has most likely ended and
		// polling returns its result right after the hook. A job that fails
		// with changed progress returns up to one interval late, unless its
		// delivery arrives first.
		pacer := readPacer{interval: interval, last: time.Now()}
		onProgress := func(p transport.Progress) {
			if progress.report != nil {
				progress.onProgress(p)
			}
			if p.Total == 0 || p.Done < p.Total {
				pacer.wait(readCtx)
			}
		}
		res, err := c.fallback.Resume(readCtx, jobID, transport.WithPollInterval(interval), transport.WithProgress(onProgress))
		read <- readResult{res, err}
	}()

	select {
	case st := <-call.delivered:
		// Stop the reads and wait for them, so that OnProgress is not called
		// after Do returns.
		stopReads()
		<-read
		progress.final(st.Progress)
		res, err := outcome[Res](st)
		return res, true, err
	case r := <-read:
		done := r.err == nil || ctx.Err() != nil || !transientReadError(r.err)
		return r.res, done, r.err
	}
}

// readPacer spaces the reads of one round at least interval apart. Only the
// goroutine of the round uses it.
type readPacer struct {
	interval time.Duration
	last     time.Time
}

// wait sleeps until interval has passed since the previous call, or until
// ctx ends.
func (p *readPacer) wait(ctx context.Context) {
	if d := time.Until(p.last.Add(p.interval)); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	p.last = time.Now()
}

// transientReadError reports whether a failed read of the job may succeed
// later: the server was unreachable, overloaded or behind an open breaker.
func transientReadError(err error) bool {
	return errors.Is(err, transport.ErrUnavailable) || transport.IsCircuitOpen(err) || transport.Retryable(err)
}

// outcome returns the result of a delivered job, decoded into Res, or the
// *transport.JobError of a failed or canceled one.
func outcome[Res any](st *wire.Status) (Res, error) {
	var res Res
	switch st.State {
	case jobs.StateSucceeded:
		if err := json.Unmarshal(st.Result, &res); err != nil {
			return res, fmt.Errorf("callback: decode result of job %s: %w", st.ID, err)
		}
		return res, nil
	case jobs.StateFailed:
		return res, &transport.JobError{JobID: st.ID, Problem: *transport.AsProblem(st.Problem)}
	}

	p := st.Problem
	if p == nil {
		p = transport.NewProblem(http.StatusConflict, transport.CodeJobCanceled, "job %s was canceled before it finished", st.ID)
		p.JobID = st.ID
	}
	return res, &transport.JobError{JobID: st.ID, Problem: *transport.AsProblem(p)}
}

// callError returns the error of a call that failed with err in the step op:
// the caller's context error when that context ended, ErrClosed when Close
// ended the call, the *transport.JobError itself, or err wrapped with op.
func (c *Client[Req, Res]) callError(ctx, callCtx context.Context, op string, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("callback: %s: %w", op, ctx.Err())
	case errors.Is(context.Cause(callCtx), transport.ErrClosed), errors.Is(err, transport.ErrClosed):
		return fmt.Errorf("callback: %s: %w", op, transport.ErrClosed)
	}
	var jobErr *transport.JobError
	if errors.As(err, &jobErr) {
		return jobErr
	}
	return fmt.Errorf("callback: %s: %w", op, err)
}

// cancelInBackground sends a best-effort cancel of a job whose caller gave up,
// on a context of its own because the caller's has ended. Close waits for it.
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

		if err := c.poller.Cancel(ctx, jobID); err != nil {
			c.log.Warn("cancel of abandoned job failed; the job runs until it ends or passes its deadline",
				"job_id", jobID, "error", err)
			return
		}
		c.log.Info("abandoned job canceled", "job_id", jobID)
	}()
}

// progressReporter passes progress to the call's OnProgress from the reads
// and finally from the delivery. It drops a report equal to the one before.
type progressReporter struct {
	report transport.ProgressFunc

	mu       sync.Mutex
	reported bool
	last     transport.Progress
}

func (p *progressReporter) onProgress(pr transport.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reported && pr == p.last {
		return
	}
	p.reported, p.last = true, pr
	p.report(pr)
}

// final reports the delivered job's progress if it differs from the last report.
func (p *progressReporter) final(pr transport.Progress) {
	if p.report != nil {
		p.onProgress(pr)
	}
}

// submitKey is the context key of the *submitCall of a submit.
type submitKey struct{}

// submitCall carries the callback headers of one submit of Do to
// callbackTransport, and brings back what the transport saw of the response.
type submitCall struct {
	url    string
	secret string

	mu   sync.Mutex
	last *submitResponse // the response of the latest attempt, nil before one arrives
}

// submitResponse is the record that callbackTransport keeps of one submit
// response.
type submitResponse struct {
	replayed bool // the response has Idempotent-Replayed: true

	mu       sync.Mutex
	body     []byte // the body as far as the polling client has read it
	overflow bool   // the body is longer than maxSubmitCapture, and body is nil
}

// withSubmit returns ctx carrying s for callbackTransport. The polling client
// derives each attempt's request context from the context it is given, so s
// reaches every retry.
func withSubmit(ctx context.Context, s *submitCall) context.Context {
	return context.WithValue(ctx, submitKey{}, s)
}

// record starts the record of a new response and returns it.
func (s *submitCall) record(header http.Header) *submitResponse {
	r := &submitResponse{replayed: header.Get(headerReplayed) == "true"}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = r
	return r
}

// replayed reports whether the submit's response returned the job of another
// call, whose deliveries go to that call's URL. Call it after the polling
// client's Submit returned, which has then read the whole body.
//
// The job's callback URL decides when the response carries one: the server
// replays a retried submit of this very call too, and that job still
// delivers here. Without a URL, the Idempotent-Replayed header decides.
func (s *submitCall) replayed() bool {
	s.mu.Lock()
	r := s.last
	s.mu.Unlock()
	if r == nil {
		return false
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.overflow {
		// Only a finished job's document, which carries a result or a
		// problem, grows this long, and a job that this submit created has
		// not run yet.
		return true
	}
	st, err := wire.DecodeStatus(r.body)
	if err == nil && st.Callback != nil && st.Callback.URL != "" {
		return st.Callback.URL != s.url
	}
	return r.replayed
}

// captureBody is a submit response's body that copies what is read from it
// into a submitResponse, up to maxSubmitCapture bytes.
type captureBody struct {
	io.ReadCloser
	into *submitResponse
}

func (b *captureBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.into.mu.Lock()
		if !b.into.overflow {
			if len(b.into.body)+n > maxSubmitCapture {
				b.into.body, b.into.overflow = nil, true
			} else {
				b.into.body = append(b.into.body, p[:n]...)
			}
		}
		b.into.mu.Unlock()
	}
	return n, err
}

// callbackTransport adds the Longhaul-Callback-Url and Longhaul-Callback-Secret
// headers to POST requests whose context carries a *submitCall, which are the
// submits of Do, and records their responses in it.
type callbackTransport struct {
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *callbackTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s, ok := req.Context().Value(submitKey{}).(*submitCall)
	if !ok || req.Method != http.MethodPost {
		return t.base.RoundTrip(req)
	}

	// A RoundTripper must not change the request it was given.
	req = req.Clone(req.Context())
	req.Header.Set(wire.HeaderCallbackURL, s.url)
	req.Header.Set(wire.HeaderCallbackSecret, s.secret)
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}

	resp.Body = &captureBody{ReadCloser: resp.Body, into: s.record(resp.Header)}
	return resp, nil
}

// CloseIdleConnections closes the idle connections of the base transport.
func (t *callbackTransport) CloseIdleConnections() {
	type closeIdler interface{ CloseIdleConnections() }
	if ci, ok := t.base.(closeIdler); ok {
		ci.CloseIdleConnections()
	}
}

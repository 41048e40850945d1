package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	ws "github.com/coder/websocket"
	"github.com/sony/gobreaker/v2"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// maxResubmits is the maximum number of times one call is submitted again
// because the server did not find its job on resume, for example after a restart that lost an
// in-memory store. It bounds a loop against a server that keeps losing jobs.
const maxResubmits = 3

// jobTimeoutGrace is the margin within which a job-timeout failure counts as
// the caller's own deadline passing. It covers the transit of the submit and
// scheduling delays.
const jobTimeoutGrace = 100 * time.Millisecond

// errAbandoned marks a call whose Do has returned, so the error is never read.
var errAbandoned = errors.New("websocket: call abandoned")

// mux carries the calls of one Client over one socket at a time. A supervisor
// goroutine dials when calls are waiting, reads the socket and dispatches its
// messages to the calls by call ID, and reconnects when the socket drops.
type mux struct {
	url      string // ws(s)://host{base}/ws
	target   string // http(s)://host, the key of the circuit breaker
	cfg      Config
	pipeline *transport.Pipeline
	log      *slog.Logger
	wake     chan struct{}      // signals the supervisor that calls are waiting
	stop     context.CancelFunc // ends the supervisor's context

	nextCall   atomic.Uint64
	nextSocket atomic.Uint64

	mu         sync.Mutex
	calls      map[string]*call   // registered calls that have not finished
	sock       *socket            // the open socket, nil while there is none
	cancelDial context.CancelFunc // ends the dial in progress, nil when none runs
	dialErr    error              // the error of the latest dial, nil once one succeeds
	closed     bool
	wg         sync.WaitGroup // the supervisor
	cancels    sync.WaitGroup // best-effort cancels sent in the background
}

// call is one Do in progress.
type call struct {
	id       string
	request  json.RawMessage
	key      string    // the idempotency key, the same on every submit of the call
	deadline time.Time // the caller's deadline, zero when none

	signal chan struct{} // contains one token when the call's state changed
	done   chan struct{} // closed once the call has finished

	// Guarded by mux.mu.
	registered bool
	released   bool // whether the submit step let the call go out on a socket
	finished   bool
	jobID      string
	sentOn     *socket // the socket that carries the latest submit or resume, nil when none does
	sends      int     // submits and resumes sent
	resubmits  int
	progress   *transport.Progress // the latest progress not yet delivered
	rejection  *transport.Problem  // an overloaded rejection of the submit, for the retry
	result     json.RawMessage
	err        error
}

// socket is one dialed WebSocket.
type socket struct {
	conn     *ws.Conn
	id       string // socket in logs
	received bool   // whether a valid message arrived, used by the supervisor only
	invalid  int    // invalid messages from the server, counted by the supervisor only
}

func newMux(url, target string, cfg Config) *mux {
	ctx, cancel := context.WithCancel(context.Background())
	m := &mux{
		url:      url,
		target:   target,
		cfg:      cfg,
		pipeline: transport.NewPipeline(cfg.Pipeline),
		log:      cfg.Logger,
		wake:     make(chan struct{}, 1),
		stop:     cancel,
		calls:    make(map[string]*call),
	}
	m.wg.Add(1)
	go m.supervise(ctx)
	return m
}

// do runs one call and returns its job ID and its result as JSON.
func (m *mux) do(ctx context.Context, request json.RawMessage, o transport.CallOptions) (string, json.RawMessage, error) {
	key := o.IdempotencyKey
	if key == "" {
		key = jobs.NewID()
	}
	c := &call{
		id:      "c" + strconv.FormatUint(m.nextCall.Add(1), 10),
		request: request,
		key:     key,
		signal:  make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	if deadline, ok := ctx.Deadline(); ok {
		c.deadline = deadline
	}
	defer m.forget(c)

	// The call waits for the socket outside the circuit breaker. The dial runs
	// inside the server's breaker, which lets one trial at a time through
	// while it is half-open. A submit attempt that held that trial while it
	// waited for the dial would get the dial rejected every time, and the
	// breaker would never close. An open breaker rejects the submit at once,
	// so then the call does not wait for a dial.
	// NOTE: a socket that drops between this wait and the server's accepted
	// message still leaves the submit attempt waiting for the dial inside the
	// breaker. While the breaker is half-open, that call then fails with a
	// circuit-open error, which the breaker does not count, and the next call
	// gets the trial.
	if m.pipeline.BreakerState(m.target) != gobreaker.StateOpen {
		if err := m.awaitSocket(ctx, c); err != nil {
			return "", nil, err
		}
	}

	err := m.pipeline.Do(ctx, "submit", m.target, func(ctx context.Context) error {
		return m.submit(ctx, c)
	})
	if err != nil {
		// The server may hold the call, for example after the caller's context
		// ended or every attempt timed out, so it is canceled.
		jobID := m.jobID(c)
		m.abandon(c)
		return jobID, nil, err
	}
	return m.await(ctx, c, o)
}

// awaitSocket registers the call, which makes the supervisor dial when no
// socket is open, and waits until a socket is open. The call does not go out
// on it before the submit step releases it. awaitSocket returns the error
// that ended the call, such as that of a failed dial or of an open breaker,
// or an error that matches ctx.Err() once ctx ends.
func (m *mux) awaitSocket(ctx context.Context, c *call) error {
	if err := m.register(c); err != nil {
		return err
	}
	m.wakeSupervisor()

	for {
		m.mu.Lock()
		open, finished, err, dialErr := m.sock != nil, c.finished, c.err, m.dialErr
		m.mu.Unlock()

		switch {
		case finished:
			return err
		case open:
			return nil
		}

		select {
		case <-c.signal:
		case <-c.done:
		case <-ctx.Done():
			if dialErr != nil {
				return fmt.Errorf("websocket: call abandoned while the client was dialing (last dial error: %v): %w", dialErr, ctx.Err())
			}
			return fmt.Errorf("websocket: call abandoned while the client was dialing: %w", ctx.Err())
		}
	}
}

// submit is one attempt of the submit step: it makes sure the call is on its
// way to the server and waits until the server accepts it, rejects it or the
// call ends. An overloaded rejection is returned as retryable, so that the
// pipeline submits again after a backoff.
func (m *mux) submit(ctx context.Context, c *call) error {
	if err := m.register(c); err != nil {
		return err
	}
	m.release(c)
	m.push(c)

	for {
		m.mu.Lock()
		finished, err, jobID, rejection := c.finished, c.err, c.jobID, c.rejection
		c.rejection = nil
		m.mu.Unlock()

		// A job ID comes first, so that await delivers it to OnAccepted even
		// when the job has already ended.
		switch {
		case jobID != "":
			return nil
		case finished:
			return err
		case rejection != nil:
			// The problem is not wrapped in a *transport.JobError: the job was
			// not rejected, the server asked for a later retry. Once the retries
			// are spent, the error matches ErrUnavailable and not *JobError.
			return transport.MarkRetryable(fmt.Errorf("websocket: server rejected the submit: %w", rejection), 0)
		}

		select {
		case <-c.signal:
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// await waits for the accepted call to end, delivering its job ID and
// progress to the call options on the way.
func (m *mux) await(ctx context.Context, c *call, o transport.CallOptions) (string, json.RawMessage, error) {
	accepted := false
	for {
		m.deliver(c, o, &accepted)
		select {
		case <-c.done:
			m.deliver(c, o, &accepted)
			m.mu.Lock()
			jobID, result, err := c.jobID, c.result, c.err
			m.mu.Unlock()
			if isJobTimeout(err) && awaitDeadline(ctx, jobTimeoutGrace) {
				return jobID, nil, fmt.Errorf("websocket: job %s passed the caller's deadline: %w", jobID, ctx.Err())
			}
			return jobID, result, err
		case <-c.signal:
		case <-ctx.Done():
			m.mu.Lock()
			jobID, dialErr := c.jobID, m.dialErr
			m.mu.Unlock()
			m.abandon(c)
			if dialErr != nil {
				return jobID, nil, fmt.Errorf("websocket: call for job %s abandoned while the client was reconnecting (last dial error: %v): %w",
					jobID, dialErr, ctx.Err())
			}
			return jobID, nil, fmt.Errorf("websocket: call for job %s abandoned: %w", jobID, ctx.Err())
		}
	}
}

// isJobTimeout reports whether err is the failure of a job that passed the
// deadline its caller sent.
func isJobTimeout(err error) bool {
	var jobErr *transport.JobError
	return errors.As(err, &jobErr) && jobErr.Code() == transport.CodeJobTimeout
}

// awaitDeadline waits for ctx to end when its deadline is at most grace away,
// and reports whether ctx ended. The server counts the timeout_ms it received
// from the moment the submit arrived, in whole milliseconds, so a job's
// deadline passes a little before the caller's. Waiting for the caller's own
// deadline returns the caller's deadline error for it.
func awaitDeadline(ctx context.Context, grace time.Duration) bool {
	deadline, ok := ctx.Deadline()
	if !ok || time.Until(deadline) > grace {
		return false
	}
	<-ctx.Done()
	return true
}

// deliver calls OnAccepted once the job ID is known, and OnProgress with the
// latest progress not yet delivered.
func (m *mux) deliver(c *call, o transport.CallOptions, accepted *bool) {
	m.mu.Lock()
	jobID, progress := c.jobID, c.progress
	c.progress = nil
	m.mu.Unlock()

	if !*accepted && jobID != "" {
		*accepted = true
		if o.OnAccepted != nil {
			o.OnAccepted(jobID)
		}
	}
	if progress != nil && o.OnProgress != nil {
		o.OnProgress(*progress)
	}
}

func (m *mux) jobID(c *call) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return c.jobID
}

func (m *mux) register(c *call) error {
	m.mu.Lock()
	defer m.mu.Unlock()

	if m.closed {
		return transport.ErrClosed
	}
	if !c.registered {
		c.registered = true
		m.calls[c.id] = c
	}
	return nil
}

// release lets the call go out on the open socket and on every later one.
func (m *mux) release(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.released = true
}

// push sends the call on the open socket, or wakes the supervisor to dial one,
// which then sends every waiting call.
func (m *mux) push(c *call) {
	m.mu.Lock()
	s := m.sock
	m.mu.Unlock()

	if s != nil {
		m.send(s, c)
		return
	}
	m.wakeSupervisor()
}

// wakeSupervisor signals the supervisor that calls wait for a socket.
func (m *mux) wakeSupervisor() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// notify signals the call's Do that the call's state changed.
func notify(c *call) {
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// send writes the call's submit, or its resume once it has a job ID, to s,
// unless the call has finished, the submit step has not released it yet or s
// already carries it. A failed write closes the socket, and the supervisor
// reconnects.
func (m *mux) send(s *socket, c *call) {
	m.mu.Lock()
	if c.finished || !c.released || c.sentOn == s || m.sock != s {
		m.mu.Unlock()
		return
	}
	msg := c.message()
	c.sentOn = s
	c.sends++
	again := c.sends > 1
	m.mu.Unlock()

	switch {
	case again && msg.Type == wire.MsgResume:
		m.log.Info("resuming job on new socket", "socket", s.id, "call_id", c.id, "job_id", msg.JobID)
	case again:
		m.log.Info("submitting call again with its idempotency key", "socket", s.id, "call_id", c.id)
	}
	if err := m.write(s, msg); err != nil {
		m.log.Warn("websocket write failed: closing socket", "socket", s.id, "call_id", c.id, "job_id", msg.JobID, "error", err)
		_ = s.conn.CloseNow()
	}
}

// message returns the submit or resume of the call. The caller holds mux.mu.
func (c *call) message() wire.Message {
	if c.jobID != "" {
		return wire.Message{Type: wire.MsgResume, CallID: c.id, JobID: c.jobID}
	}

	msg := wire.Message{Type: wire.MsgSubmit, CallID: c.id, Request: c.request, IdempotencyKey: c.key}
	if !c.deadline.IsZero() {
		msg.TimeoutMs = max(time.Until(c.deadline).Milliseconds(), 1)
	}
	return msg
}

// write sends one message on s within the write timeout. The timeout's
// context is not the caller's, because coder/websocket closes the socket when
// the context of a write ends, and the socket is shared by every call.
func (m *mux) write(s *socket, msg wire.Message) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("websocket: encode %s message: %w", msg.Type, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.WriteTimeout)
	defer cancel()
	return s.conn.Write(ctx, ws.MessageText, data)
}

// abandon ends a call whose caller gave up and, when the server has the
// call or its job, sends a best-effort cancel in the background.
func (m *mux) abandon(c *call) {
	m.mu.Lock()
	s := m.sock
	notify := s != nil && !c.finished && !m.closed && (c.sentOn == s || c.jobID != "")
	msg := wire.Message{Type: wire.MsgCancel, CallID: c.id, JobID: c.jobID}
	m.finishLocked(c, nil, errAbandoned)
	if notify {
		m.cancels.Add(1)
	}
	m.mu.Unlock()
	if !notify {
		return
	}

	go func() {
		defer m.cancels.Done()
		if err := m.write(s, msg); err != nil {
			m.log.Warn("cancel of abandoned call failed, so the server cancels the job only after its grace period",
				"socket", s.id, "call_id", c.id, "job_id", msg.JobID, "error", err)
			return
		}
		m.log.Info("cancel sent for abandoned call", "socket", s.id, "call_id", c.id, "job_id", msg.JobID)
	}()
}

// forget removes a call whose Do returns.
func (m *mux) forget(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finishLocked(c, nil, errAbandoned)
}

// finishLocked records the call's outcome once and wakes its Do. The caller
// holds mux.mu.
func (m *mux) finishLocked(c *call, result json.RawMessage, err error) {
	if c.finished {
		return
	}
	c.finished = true
	c.result, c.err = result, err
	if m.calls[c.id] == c {
		delete(m.calls, c.id)
	}
	close(c.done)

	// No call waits for a dial in progress anymore. Ending it frees the
	// supervisor at once for the next call, instead of after the dial's timeout.
	if len(m.calls) == 0 && m.cancelDial != nil {
		m.cancelDial()
	}
}

// dispatch applies one server message to its call.
func (m *mux) dispatch(s *socket, msg wire.Message) {
	m.mu.Lock()
	c := m.calls[msg.CallID]
	if c == nil || c.sentOn != s {
		m.mu.Unlock()
		if msg.Type == wire.MsgError && msg.CallID == "" {
			m.log.Warn("server reported an error on the socket", "socket", s.id, "job_id", msg.JobID, "error", msg.Problem)
		}
		return
	}

	resend := false
	switch msg.Type {
	case wire.MsgAccepted:
		if c.jobID == "" && jobs.ValidID(msg.JobID) {
			c.jobID = msg.JobID
		}
	case wire.MsgProgress:
		if msg.Progress != nil {
			p := *msg.Progress
			c.progress = &p
		}
	case wire.MsgResult:
		m.finishLocked(c, msg.Result, nil)
	case wire.MsgError:
		resend = m.failLocked(c, msg)
	}
	m.mu.Unlock()

	notify(c)
	if resend {
		m.send(s, c)
	}
}

// failLocked applies an error message to its call. An overloaded rejection of
// a submit waits for the pipeline's retry. A resume of a job that the server
// did not find becomes a new submit with the same idempotency key, and
// failLocked reports that the call must be sent again. Any other error ends
// the call with a *transport.JobError. The caller holds mux.mu.
func (m *mux) failLocked(c *call, msg wire.Message) (resend bool) {
	p := msg.Problem
	switch {
	case p.Code == transport.CodeOverloaded && c.jobID == "":
		c.rejection = p
		c.sentOn = nil
		return false
	case p.Code == transport.CodeNotFound && c.jobID != "" && c.resubmits < maxResubmits:
		m.log.Warn("job not found on resume: submitting the call again", "call_id", c.id, "job_id", c.jobID)
		c.jobID = ""
		c.resubmits++
		c.sentOn = nil
		return true
	}

	jobID := c.jobID
	if jobID == "" {
		jobID = msg.JobID
	}
	m.finishLocked(c, nil, &transport.JobError{JobID: jobID, Problem: *p})
	return false
}

// supervise dials whenever calls are waiting and serves each socket until it
// drops, until the mux closes. A socket that drops before a valid message
// arrived counts as a failure, and the next dial waits for a backoff, so a
// server that accepts and at once closes is not dialed in a busy loop.
//
// A dial for calls whose jobs the server has not accepted yet goes through the
// pipeline, and those calls end when it fails. Calls with an accepted job
// survive failed dials: while only they wait, the supervisor dials once per
// round, outside the circuit breaker, with backoff capped at the retry
// policy's MaxDelay, until they end by their contexts or Close.
func (m *mux) supervise(ctx context.Context) {
	defer m.wg.Done()

	retry := m.cfg.Pipeline.Retry
	drops := 0    // sockets in a row that dropped before a valid message
	failures := 0 // failed dials in a row
	for m.waitForCalls(ctx) {
		if drops > 0 && !sleep(ctx, retry.Backoff(drops-1, nil)) {
			return
		}

		delay := retry.Backoff(failures, nil)
		s, pipelined, err := m.connect(ctx, failures+1, delay)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, errNoCaller) {
				continue
			}
			m.afterDialFailure(err, pipelined)
			failures++
			if !m.pause(ctx, delay) {
				return
			}
			continue
		}

		failures = 0
		if m.serve(ctx, s) {
			drops = 0
		} else {
			drops++
		}
	}
}

// errNoCaller ends a dial that no call waits for anymore.
var errNoCaller = errors.New("websocket: dial ended: no call waits for the socket")

// connect opens a socket for the waiting calls. When a call without a job ID
// waits, it dials through the pipeline, with retries, backoff and the circuit
// breaker, and reports pipelined. Otherwise it makes one attempt outside the
// pipeline, number attempt of the current outage. Accepted jobs wait on the
// server only for its grace period, and an open breaker would use it up,
// because its default open time of 30 s equals the server's default grace.
// delay is the wait after a failed attempt, reported to the pipeline's
// OnAttempt. The dial ends with errNoCaller once no call waits.
func (m *mux) connect(ctx context.Context, attempt int, delay time.Duration) (s *socket, pipelined bool, err error) {
	dialCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	m.mu.Lock()
	for _, c := range m.calls {
		if c.jobID == "" {
			pipelined = true
			break
		}
	}
	idle := len(m.calls) == 0
	m.cancelDial = cancel
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.cancelDial = nil
		m.mu.Unlock()
	}()
	if idle {
		return nil, false, errNoCaller
	}

	var conn *ws.Conn
	if pipelined {
		conn, err = m.dialPipeline(dialCtx)
	} else {
		conn, err = m.dialOnce(dialCtx, attempt, delay)
	}
	if err != nil {
		if dialCtx.Err() != nil && ctx.Err() == nil {
			return nil, pipelined, errNoCaller
		}
		return nil, pipelined, err
	}

	m.mu.Lock()
	m.dialErr = nil
	m.mu.Unlock()
	conn.SetReadLimit(m.cfg.MaxMessageBytes)
	return &socket{conn: conn, id: "s" + strconv.FormatUint(m.nextSocket.Add(1), 10)}, pipelined, nil
}

// waitForCalls waits until a call is registered, and reports false once the
// mux closes.
func (m *mux) waitForCalls(ctx context.Context) bool {
	for {
		m.mu.Lock()
		waiting, closed := len(m.calls) > 0, m.closed
		m.mu.Unlock()
		switch {
		case closed || ctx.Err() != nil:
			return false
		case waiting:
			return true
		}

		select {
		case <-m.wake:
		case <-ctx.Done():
			return false
		}
	}
}

// pause waits for d after a failed dial, or less when a new call wakes the
// supervisor, so that the call's own dial does not wait for an outage's
// backoff. It reports false once ctx ends.
func (m *mux) pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-m.wake:
	case <-ctx.Done():
		return false
	}
	return true
}

// dialPipeline opens a socket through the pipeline, with retries, backoff and
// the circuit breaker of the server.
func (m *mux) dialPipeline(ctx context.Context) (*ws.Conn, error) {
	var conn *ws.Conn
	err := m.pipeline.Do(ctx, "dial", m.target, func(ctx context.Context) error {
		c, err := m.dialAttempt(ctx, m.cfg.DialTimeout)
		conn = c
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("websocket dial failed", "url", m.url, "error", err)
		}
		return nil, err
	}
	return conn, nil
}

// dialOnce makes one dial attempt outside the pipeline, bounded by the
// pipeline's AttemptTimeout as well as DialTimeout, and reports it to
// OnAttempt as the pipeline does. The failures of one outage are logged at
// attempts 1, 2, 4, 8 and so on, so that a long outage logs a few lines.
func (m *mux) dialOnce(ctx context.Context, attempt int, delay time.Duration) (*ws.Conn, error) {
	timeout := m.cfg.DialTimeout
	if t := m.cfg.Pipeline.AttemptTimeout; t > 0 && (timeout <= 0 || t < timeout) {
		timeout = t
	}

	start := time.Now()
	conn, err := m.dialAttempt(ctx, timeout)
	if ctx.Err() != nil {
		if conn != nil {
			_ = conn.CloseNow()
		}
		return nil, fmt.Errorf("websocket: dial %s: %w", m.url, ctx.Err())
	}

	if hook := m.cfg.Pipeline.OnAttempt; hook != nil {
		info := transport.AttemptInfo{Op: "dial", Target: m.target, Attempt: attempt, Err: err, Duration: time.Since(start)}
		if err != nil {
			info.NextDelay = delay
		}
		hook(info)
	}
	if err != nil && attempt&(attempt-1) == 0 {
		m.log.Warn("websocket reconnect failed: retrying for the calls whose jobs the server accepted",
			"url", m.url, "attempt", attempt, "retry_in", delay, "calls", m.callCount(), "error", err)
	}
	return conn, err
}

// dialAttempt makes one dial, bounded by timeout when it is positive and by
// the HTTPClient's Timeout when it is set. A dial that runs past either bound
// while ctx lives fails with an error that matches
// transport.ErrAttemptTimeout, which is retryable.
func (m *mux) dialAttempt(ctx context.Context, timeout time.Duration) (*ws.Conn, error) {
	dialCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		dialCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}

	conn, resp, err := ws.Dial(dialCtx, m.url, &ws.DialOptions{HTTPClient: m.cfg.HTTPClient, HTTPHeader: m.cfg.Header})
	if err == nil {
		return conn, nil
	}
	// coder/websocket applies the HTTPClient's Timeout as a context deadline
	// of its own, so its expiry shows only in err.
	timedOut := errors.Is(dialCtx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
	if ctx.Err() == nil && timedOut {
		return nil, fmt.Errorf("%w: websocket: the upgrade request got no response within %v: %v",
			transport.ErrAttemptTimeout, m.dialLimit(timeout), err)
	}
	return nil, dialError(m.url, resp, err)
}

// dialLimit returns the shorter of timeout and the HTTPClient's Timeout,
// ignoring those that are not set.
func (m *mux) dialLimit(timeout time.Duration) time.Duration {
	if c := m.cfg.HTTPClient; c != nil && c.Timeout > 0 && (timeout <= 0 || c.Timeout < timeout) {
		return c.Timeout
	}
	return timeout
}

func (m *mux) callCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.calls)
}

// dialError classifies a failed dial of socketURL. A network failure stays as
// it is, for transport.Retryable to judge. An overloaded response (503, 429,
// 502, 504) is retryable after its Retry-After and carries the server's
// *transport.Problem, but no *transport.JobError, because no job was
// rejected. Any other HTTP response becomes a *transport.JobError with the
// server's problem, which is not retried.
func dialError(socketURL string, resp *http.Response, err error) error {
	if resp == nil || resp.StatusCode == http.StatusSwitchingProtocols {
		return err // coder/websocket's message starts with "failed to WebSocket dial"
	}

	problem := wire.ReadProblem(resp)
	switch resp.StatusCode {
	case http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusGatewayTimeout:
		return transport.MarkRetryable(fmt.Errorf("websocket: server responded to the upgrade request with %s: %w", resp.Status, problem),
			wire.RetryAfter(resp.Header, time.Now()))
	case http.StatusNotFound:
		// The server's own detail names its routes at best, such as those of
		// a server that mounts only the polling handler.
		problem.Detail = notServedDetail(socketURL, problem)
	}
	return &transport.JobError{Problem: *problem}
}

// notServedDetail returns the detail of a 404 response to the upgrade
// request, with the server's own detail at its end.
func notServedDetail(socketURL string, p *transport.Problem) string {
	serverDetail := p.Detail
	if serverDetail == "" {
		serverDetail = p.Title
	}
	return fmt.Sprintf("the server does not serve the websocket strategy at %s: check the base URL, mount a websocket.Handler there, or use another strategy. The server's response: %s",
		socketURL, serverDetail)
}

// afterDialFailure ends the calls that a failed dial leaves without a chance.
// An error that no retry can change, such as a 401 or 404 response, ends
// every call. Otherwise a dial through the pipeline, whose attempts are spent
// or whose breaker is open, ends the calls without a job ID, and the calls
// with an accepted job wait for the next dial.
func (m *mux) afterDialFailure(err error, pipelined bool) {
	final := !transport.Retryable(err) && !errors.Is(err, transport.ErrUnavailable) && !transport.IsCircuitOpen(err)

	m.mu.Lock()
	defer m.mu.Unlock()

	m.dialErr = err
	for _, c := range m.calls {
		switch {
		case final && c.jobID != "":
			m.log.Error("reconnect failed: call ended", "call_id", c.id, "job_id", c.jobID, "error", err)
			m.finishLocked(c, nil, reconnectError(c.jobID, err))
		case final || pipelined && c.jobID == "":
			m.finishLocked(c, nil, err)
		}
	}
}

// reconnectError returns the error of a reconnect that failed for good, such
// as with a 401 response, with jobID in its message. It keeps the errors that
// errors.Is and errors.As find.
func reconnectError(jobID string, err error) error {
	return fmt.Errorf("websocket: reconnect for job %s failed, so the server cancels the job unless a client resumes it within its grace period: %w",
		jobID, err)
}

// serve makes s the open socket, sends every waiting call on it and reads it
// until it drops. It reports whether a valid message arrived on s.
func (m *mux) serve(ctx context.Context, s *socket) bool {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		_ = s.conn.CloseNow()
		return true
	}
	m.sock = s
	waiting := make([]*call, 0, len(m.calls))
	for _, c := range m.calls {
		waiting = append(waiting, c)
	}
	m.mu.Unlock()
	m.log.Info("websocket connected", "url", m.url, "socket", s.id, "calls", len(waiting))

	pingCtx, stopPing := context.WithCancel(ctx)
	var pinger sync.WaitGroup
	if m.cfg.PingInterval > 0 {
		pinger.Add(1)
		go func() {
			defer pinger.Done()
			m.ping(pingCtx, s)
		}()
	}

	for _, c := range waiting {
		m.send(s, c)
		notify(c) // a call that waits for a socket goes on to its submit step
	}
	err := m.read(ctx, s)

	stopPing()
	m.mu.Lock()
	m.sock = nil
	m.mu.Unlock()
	_ = s.conn.CloseNow()
	pinger.Wait()

	m.afterDrop(s, err)
	return s.received
}

// read reads server messages from s and dispatches them until s fails.
func (m *mux) read(ctx context.Context, s *socket) error {
	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			return err
		}

		if typ != ws.MessageText {
			m.logInvalid(s, errors.New("binary message"))
			continue
		}
		msg, err := wire.DecodeServerMessage(data)
		if err != nil {
			m.logInvalid(s, err)
			continue
		}
		s.received = true
		m.dispatch(s, msg)
	}
}

func (m *mux) logInvalid(s *socket, err error) {
	s.invalid++
	if s.invalid <= maxInvalidLogged {
		m.log.Warn("invalid message from server ignored", "socket", s.id, "error", err)
	}
}

// afterDrop logs why s dropped and ends the calls that cannot succeed on a
// new socket.
func (m *mux) afterDrop(s *socket, err error) {
	m.mu.Lock()
	closed, waiting := m.closed, len(m.calls)
	m.mu.Unlock()
	if closed {
		m.log.Info("websocket closed", "socket", s.id)
		return
	}

	switch {
	case ws.CloseStatus(err) == ws.StatusMessageTooBig:
		m.failOversized(s)
	case errors.Is(err, ws.ErrMessageTooBig):
		m.failAll(fmt.Errorf("websocket: a message from the server was over the client's limit of %d bytes: raise Config.MaxMessageBytes: %w",
			m.cfg.MaxMessageBytes, err))
	}
	m.log.Warn("websocket disconnected", "socket", s.id, "reason", disconnectReason(err), "calls", waiting)
}

// failOversized ends the call whose submit most likely made the server close s
// with status 1009: the largest request sent on s that has no job yet. The
// server's limit is not known to the client, so this is a best guess.
func (m *mux) failOversized(s *socket) {
	m.mu.Lock()
	defer m.mu.Unlock()

	var culprit *call
	for _, c := range m.calls {
		if c.sentOn == s && c.jobID == "" && (culprit == nil || len(c.request) > len(culprit.request)) {
			culprit = c
		}
	}
	if culprit == nil {
		return
	}
	p := transport.NewProblem(http.StatusRequestEntityTooLarge, transport.CodeTooLarge,
		"the server closed the socket because a message was over its size limit; the largest request in flight, %d bytes, is taken as the cause: send a smaller request, or split it",
		len(culprit.request))
	m.finishLocked(culprit, nil, &transport.JobError{Problem: *p})
}

// failAll ends every waiting call with err.
func (m *mux) failAll(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.calls {
		m.finishLocked(c, nil, err)
	}
}

// ping pings the server every PingInterval and closes s when a pong does not
// arrive within the interval.
func (m *mux) ping(ctx context.Context, s *socket) {
	interval := m.cfg.PingInterval
	ticker := time.NewTicker(interval)
	defer ticker.Stop()

	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}

		pingCtx, cancel := context.WithTimeout(ctx, interval)
		err := s.conn.Ping(pingCtx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("server did not respond to ping: closing socket", "socket", s.id, "error", err)
				_ = s.conn.CloseNow()
			}
			return
		}
	}
}

// close ends every call with transport.ErrClosed, closes the socket with
// status 1000 and waits for the mux's goroutines.
func (m *mux) close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	for _, c := range m.calls {
		m.finishLocked(c, nil, transport.ErrClosed)
	}
	m.mu.Unlock()

	// Cancels that callers left behind go out before the socket closes. Each
	// write ends within the write timeout.
	m.cancels.Wait()
	m.mu.Lock()
	s := m.sock
	m.mu.Unlock()

	if s == nil {
		m.stop()
		m.wg.Wait()
		return
	}

	// Close waits for the server's reply to the close frame. After closeTimeout,
	// ending the supervisor's context closes the socket at once.
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.conn.Close(ws.StatusNormalClosure, "client closed")
	}()
	select {
	case <-done:
	case <-time.After(closeTimeout):
	}
	m.stop()
	<-done
	m.wg.Wait()
}

// sleep waits for d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

package polling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/longhaul-go/longhaul/transport"
)

const (
	// defaultMinLongPoll is the shortest wait that the client shortens a
	// long-poll to after a proxy or gateway cut it.
	defaultMinLongPoll = time.Second
)

// newUnguardedPipeline returns the pipeline of the status requests that
// accepted jobs send while the server's breaker is not closed: one attempt
// each, outside any breaker, with the per-attempt timeout and the OnAttempt
// hook of cfg.
func newUnguardedPipeline(cfg transport.PipelineConfig) *transport.Pipeline {
	return transport.NewPipeline(transport.PipelineConfig{
		Retry:          transport.RetryPolicy{MaxAttempts: 1},
		AttemptTimeout: cfg.AttemptTimeout,
		Breaker:        &transport.BreakerSettings{Disabled: true},
		OnAttempt:      cfg.OnAttempt,
	})
}

// pipelineForJob returns the pipeline for the next status request of an
// accepted job: the Client's pipeline while the server's breaker is closed,
// and otherwise the unguarded one, whose single attempts bypass the breaker.
//
// An open breaker rejects every request for its OpenTimeout (30 s by
// default), however soon the server comes back. Waiting for it would make a
// short outage cost an accepted call up to that long, so the call reads its
// job outside the breaker instead, spaced by its own backoff (see
// waitOutOutage). The breaker still rejects new submits, and a submit is its
// trial request when it is half-open.
func (c *Client[Req, Res]) pipelineForJob() *transport.Pipeline {
	if c.pipeline.BreakerState(c.target) == gobreaker.StateClosed {
		return c.pipeline
	}
	return c.unguarded
}

// watch is the state of the status requests of one call.
type watch struct {
	jobID string

	// wait is the call's long-poll wait. Each cut by the network halves it.
	wait time.Duration
	// shortened reports whether the call has shortened its wait before, so
	// that only the first shortening is logged at Info.
	shortened bool

	// failures counts the status requests in a row that failed after their
	// retries or that an open breaker rejected. outageStart is when the first
	// of them failed.
	failures    int
	outageStart time.Time
}

// longPollCutError is the error of a long-poll whose connection broke after
// it had been open for at least the client's minimum wait and before the
// server responded. That is what a proxy or gateway does when it closes
// connections idle for less than the wait. The error does not wrap the
// network error, so the pipeline neither retries it nor counts it against the
// breaker: the server had accepted the request, and the next, shorter
// long-poll follows at once.
type longPollCutError struct {
	wait time.Duration // the wait that the long-poll requested
	open time.Duration // how long the request was open before it broke
	err  string        // the network error
}

func (e *longPollCutError) Error() string {
	return fmt.Sprintf("long-poll with a wait of %v broke after %v: %s", e.wait, e.open.Round(time.Millisecond), e.err)
}

// cutWhileWaiting reports whether a status request that failed with err
// after it had been open for open, with the wait it requested, was cut by the
// network while the server held it. ctx is the attempt's context: a request
// that its own context ended, or that send abandoned as stalled, was not cut.
// A wait at the minimum cannot be shortened, so its failures are counted as
// usual.
func (c *Client[Req, Res]) cutWhileWaiting(ctx context.Context, err error, wait, open time.Duration) bool {
	if wait <= c.minLongPoll || open < c.minLongPoll || ctx.Err() != nil || errors.Is(err, transport.ErrAttemptTimeout) {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// handlePollError decides what a failed status request of an accepted job
// means for the call. It returns nil when the call should read the job again:
// at once after a long-poll that the network cut, which shortens the call's
// wait, or after a wait when the server was unreachable or the breaker open.
// It returns the error that ends the call otherwise: a *transport.JobError,
// or the context's error when ctx ended.
func (c *Client[Req, Res]) handlePollError(ctx context.Context, w *watch, err error) error {
	var cut *longPollCutError
	switch {
	case ctx.Err() != nil:
		return err
	case errors.As(err, &cut):
		c.shortenWait(w, cut)
		return nil
	case errors.Is(err, transport.ErrUnavailable), transport.IsCircuitOpen(err):
		if !c.waitOutOutage(ctx, w, err) {
			return ctx.Err()
		}
		return nil
	}
	return err
}

// shortenWait halves the call's long-poll wait after a cut, down to the
// client's minimum.
//
// NOTE: the wait never grows back within the call, so after a few cuts on a
// flapping link a long call keeps polling about once a second until it ends.
func (c *Client[Req, Res]) shortenWait(w *watch, cut *longPollCutError) {
	previous := w.wait
	w.wait = max(w.wait/2, c.minLongPoll)

	level := slog.LevelDebug
	if !w.shortened {
		level = slog.LevelInfo
		w.shortened = true
	}
	c.log.Log(context.Background(), level,
		"long-poll cut before the server responded, likely by a proxy that closes idle connections, so the call shortens its wait",
		"job_id", w.jobID, "open", cut.open, "wait", previous, "new_wait", w.wait, "error", cut.err)
}

// waitOutOutage waits before the next status request of a call whose last
// request failed after its retries or was rejected by an open breaker. The
// job keeps running on the server, so the call does not end. The wait
// doubles with every failure in a row, from the retry policy's BaseDelay up
// to its MaxDelay, with jitter. The failures are logged at counts 1, 2, 4, 8
// and so on, so that a long outage logs a few lines. It reports false when
// ctx ended first.
func (c *Client[Req, Res]) waitOutOutage(ctx context.Context, w *watch, err error) bool {
	if w.failures == 0 {
		w.outageStart = time.Now()
	}
	delay := c.retry.Backoff(w.failures, equalJitter)
	w.failures++
	if w.failures&(w.failures-1) == 0 {
		c.log.Warn("job status request failed, retrying after a backoff because the job keeps running on the server",
			"job_id", w.jobID, "failures", w.failures, "retry_in", delay, "error", err)
	}
	return sleep(ctx, delay)
}

// endOutage logs the first successful status request after failed ones and
// resets the count.
func (c *Client[Req, Res]) endOutage(w *watch) {
	if w.failures == 0 {
		return
	}
	c.log.Info("job status request succeeded again", "job_id", w.jobID,
		"failures", w.failures, "outage", time.Since(w.outageStart).Round(time.Millisecond))
	w.failures = 0
}

// equalJitter makes RetryPolicy.Backoff draw from the upper half of its
// ceiling, so that the waits of an outage grow with every failure instead of
// sometimes dropping to almost nothing.
func equalJitter() float64 {
	return 0.5 + rand.Float64()/2
}

package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// PipelineConfig configures a Pipeline. The zero value is the default pipeline:
// the default retry policy, no per-attempt timeout and a breaker with the
// default settings.
type PipelineConfig struct {
	// Retry sets how often and how long a failed step is retried.
	// Defaults to the zero RetryPolicy, whose fields document their defaults.
	Retry RetryPolicy

	// AttemptTimeout bounds each attempt on its own, so that one slow attempt
	// does not use up the time of the retries after it. Zero or negative means
	// no per-attempt timeout: the caller's context bounds every attempt.
	// Defaults to 0.
	AttemptTimeout time.Duration

	// Breaker configures the circuit breaker of each target. Nil means a breaker
	// with the default settings. Set Disabled to turn breakers off.
	// Defaults to nil.
	Breaker *BreakerSettings

	// OnAttempt is called after every attempt, including failed dials and
	// attempts that a breaker rejected, before the wait for the next one. It
	// cannot change the schedule. It is called from the goroutine that called Do.
	// Defaults to nil.
	OnAttempt func(AttemptInfo)
}

// AttemptInfo describes one attempt of a network step.
type AttemptInfo struct {
	Op        string        // the step, such as "submit", "poll", "dial" or "deliver"
	Target    string        // the target whose breaker guards the step, such as "https://host:port"
	Attempt   int           // the attempt's number, from 1
	Err       error         // the attempt's error, nil when it succeeded
	Duration  time.Duration // how long the attempt took
	NextDelay time.Duration // the wait before the next attempt, 0 when none follows
}

// Pipeline runs network steps through the fixed chain shared by every strategy:
// retry, then the circuit breaker of the step's target, then a per-attempt
// timeout. Users set its values, never its order. A Pipeline is safe for
// concurrent use.
//
// Each target, a string such as "scheme://host:port", gets its own breaker the
// first time it is used. A Pipeline keeps the breakers of every target it has
// seen, so targets should come from a small set, such as the servers that a
// client sends requests to.
type Pipeline struct {
	retry          RetryPolicy
	attemptTimeout time.Duration
	breaker        BreakerSettings
	onAttempt      func(AttemptInfo)

	mu       sync.Mutex
	breakers map[string]*gobreaker.CircuitBreaker[struct{}]
}

// NewPipeline returns a Pipeline configured by cfg.
func NewPipeline(cfg PipelineConfig) *Pipeline {
	p := &Pipeline{
		retry:          cfg.Retry.withDefaults(),
		attemptTimeout: max(cfg.AttemptTimeout, 0),
		onAttempt:      cfg.OnAttempt,
		breakers:       make(map[string]*gobreaker.CircuitBreaker[struct{}]),
	}
	if cfg.Breaker != nil {
		p.breaker = *cfg.Breaker
	}
	return p
}

// Do runs attempt until it succeeds, fails for good, or ctx ends.
//
// Each attempt gets its own context, derived from ctx and bounded by
// AttemptTimeout. That context is cancelled when attempt returns, so attempt
// must finish reading a response before it returns. Every attempt runs inside
// the breaker of target. Do returns:
//
//   - nil when an attempt succeeds.
//   - the attempt's error unchanged when Retryable reports false for it, such as
//     a *JobError, which the breaker counts as a success because the service
//     responded.
//   - an error made from ctx.Err() that names op, when ctx ends before a result.
//     It matches context.Canceled or context.DeadlineExceeded, and the breaker
//     does not count it.
//   - an error that matches ErrCircuitOpen and the gobreaker sentinel when the
//     breaker rejects an attempt. Do does not retry it.
//   - an *UnavailableError, which matches ErrUnavailable, when the last attempt
//     the policy allows has failed with a retryable error.
//
// Between attempts Do waits for the Retry-After that the error carries (see
// MarkRetryable), capped at the policy's MaxRetryAfter, or else for the backoff.
// An attempt that runs past AttemptTimeout while ctx lives fails with
// ErrAttemptTimeout and is retried.
func (p *Pipeline) Do(ctx context.Context, op, target string, attempt func(ctx context.Context) error) error {
	cb := p.breakerFor(target)

	var last error
	for n := 1; ; n++ {
		if ctx.Err() != nil {
			return callerEnded(ctx, op, target, last)
		}

		start := time.Now()
		err := p.try(ctx, cb, target, op, attempt)
		info := AttemptInfo{Op: op, Target: target, Attempt: n, Err: err, Duration: time.Since(start)}

		var result error
		done := true
		switch {
		case err == nil:
		case ctx.Err() != nil:
			result = callerEnded(ctx, op, target, err)
		case !Retryable(err):
			result = err // a breaker's rejection ends here too
		case n >= p.retry.MaxAttempts:
			result = &UnavailableError{Op: op, URL: target, Attempts: n, Err: err}
		default:
			done = false
			info.NextDelay = p.retry.retryDelay(n-1, err)
		}
		if p.onAttempt != nil {
			p.onAttempt(info)
		}
		if done {
			return result
		}

		last = err
		if !waitOrDone(ctx, info.NextDelay) {
			return callerEnded(ctx, op, target, last)
		}
	}
}

// BreakerState returns the state of target's breaker. A target that has not been
// used yet, and every target when breakers are disabled, is closed.
func (p *Pipeline) BreakerState(target string) gobreaker.State {
	if p.breaker.Disabled {
		return gobreaker.StateClosed
	}

	p.mu.Lock()
	cb := p.breakers[target]
	p.mu.Unlock()
	if cb == nil {
		return gobreaker.StateClosed
	}
	return cb.State()
}

// breakerFor returns target's breaker, creating it on first use, or nil when
// breakers are disabled.
func (p *Pipeline) breakerFor(target string) *gobreaker.CircuitBreaker[struct{}] {
	if p.breaker.Disabled {
		return nil
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	cb, ok := p.breakers[target]
	if !ok {
		cb = newBreaker[struct{}](target, p.breaker)
		p.breakers[target] = cb
	}
	return cb
}

// try runs one attempt inside the breaker cb, which may be nil. When the
// breaker rejects the attempt, try returns the rejection, which matches
// ErrCircuitOpen and is not retryable.
func (p *Pipeline) try(ctx context.Context, cb *gobreaker.CircuitBreaker[struct{}], target, op string, attempt func(context.Context) error) error {
	if cb == nil {
		return p.runAttempt(ctx, op, attempt)
	}

	_, err := cb.Execute(func() (struct{}, error) {
		return struct{}{}, judge(ctx, p.runAttempt(ctx, op, attempt))
	})
	return unjudge(target, err)
}

// runAttempt runs attempt with its own context and reports a deadline that ended
// the attempt while ctx lives as ErrAttemptTimeout.
func (p *Pipeline) runAttempt(ctx context.Context, op string, attempt func(context.Context) error) error {
	var actx context.Context
	var cancel context.CancelFunc
	if p.attemptTimeout > 0 {
		actx, cancel = context.WithTimeout(ctx, p.attemptTimeout)
	} else {
		actx, cancel = context.WithCancel(ctx)
	}
	defer cancel()

	err := attempt(actx)
	if err == nil || ctx.Err() != nil {
		return err
	}

	// net/http reports a deadline as a *url.Error that may or may not wrap
	// context.DeadlineExceeded, so an attempt whose own context expired counts as
	// timed out whenever its error is a network failure.
	timedOut := errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(actx.Err(), context.DeadlineExceeded) && (Retryable(err) || errors.Is(err, context.Canceled))
	if timedOut {
		return fmt.Errorf("%w: %s: %v", ErrAttemptTimeout, op, err)
	}
	return err
}

// callerEnded returns the error for a step that ctx ended: ctx.Err() wrapped
// with op and target. The last attempt's error is included as text only, so
// that errors.Is matches the caller's context error but nothing retryable.
func callerEnded(ctx context.Context, op, target string, last error) error {
	ctxErr := ctx.Err()
	if last == nil || errors.Is(last, context.Canceled) || errors.Is(last, context.DeadlineExceeded) {
		return fmt.Errorf("transport: %s %s: %w", op, target, ctxErr)
	}
	return fmt.Errorf("transport: %s %s: %w (last attempt: %v)", op, target, ctxErr, last)
}

// waitOrDone waits for d or until ctx ends, and reports whether d passed.
func waitOrDone(ctx context.Context, d time.Duration) bool {
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

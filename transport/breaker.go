package transport

import (
	"context"
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Defaults of BreakerSettings.
const (
	defaultConsecutiveFailures = 5
	defaultOpenTimeout         = 30 * time.Second
	defaultHalfOpenRequests    = 1
	defaultBreakerName         = "client"
)

// BreakerSettings configures a circuit breaker (sony/gobreaker v2). The zero
// value is a breaker with the defaults.
//
// Only network failures count against a breaker: ErrUnavailable, errors that
// Retryable reports true for, and timeouts while the caller's context lives.
// Errors that carry no information about the service's health are not counted:
// the caller's cancellation or deadline, ErrClosed, another breaker's rejection,
// and context.Canceled from inside the call. Any other error means the service
// responded, so it counts as a success. *JobError is the usual case.
type BreakerSettings struct {
	// Disabled turns the breaker off: every call goes through and nothing is counted.
	// Defaults to false.
	Disabled bool

	// Name names the breaker that WithBreaker makes, in its errors and in
	// OnStateChange. A Pipeline ignores it and names each breaker after its target.
	// Defaults to "client".
	Name string

	// ConsecutiveFailures is how many failures in a row open the breaker.
	// Defaults to 5.
	ConsecutiveFailures uint32

	// OpenTimeout is how long the breaker stays open before it lets trial calls
	// through (half-open). Defaults to 30 s.
	OpenTimeout time.Duration

	// HalfOpenRequests is how many trial calls the half-open breaker lets through
	// at once. That many successes in a row close it, and one failure opens it
	// again. Defaults to 1.
	HalfOpenRequests uint32

	// Interval is the period after which a closed breaker clears its counts,
	// as gobreaker's Settings.Interval. When it is set, the failures in a row that
	// open the breaker must fall within one period. Zero means the counts are
	// never cleared while the breaker is closed. Defaults to 0.
	Interval time.Duration

	// OnStateChange is called with the breaker's name (the target for a Pipeline)
	// on every change of state. It runs while the breaker holds its lock, so it
	// must be fast and must not call through the same breaker. Defaults to nil.
	OnStateChange func(target string, from, to gobreaker.State)
}

// newBreaker returns a gobreaker breaker named name with the settings s.
// The function passed to its Execute must return the call's error through judge.
func newBreaker[T any](name string, s BreakerSettings) *gobreaker.CircuitBreaker[T] {
	threshold := s.ConsecutiveFailures
	if threshold == 0 {
		threshold = defaultConsecutiveFailures
	}
	openTimeout := s.OpenTimeout
	if openTimeout <= 0 {
		openTimeout = defaultOpenTimeout
	}
	halfOpen := s.HalfOpenRequests
	if halfOpen == 0 {
		halfOpen = defaultHalfOpenRequests
	}

	settings := gobreaker.Settings{
		Name:        name,
		MaxRequests: halfOpen,
		Interval:    max(s.Interval, 0),
		Timeout:     openTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= threshold
		},
		OnStateChange: s.OnStateChange,
		IsSuccessful:  isBreakerSuccess,
		IsExcluded:    isBreakerExcluded,
	}
	return gobreaker.NewCircuitBreaker[T](settings)
}

// verdict is a breaker's classification of the outcome of one call.
type verdict int

const (
	verdictSuccess  verdict = iota // the service responded
	verdictFailure                 // the service could not be reached or timed out
	verdictExcluded                // the outcome carries no information about the service
)

// judgedError carries a call's error through gobreaker's Execute together with
// the verdict, because gobreaker's IsSuccessful and IsExcluded see only the error
// and cannot tell whether the caller's context has ended.
type judgedError struct {
	err     error
	verdict verdict
}

func (e *judgedError) Error() string { return e.err.Error() }
func (e *judgedError) Unwrap() error { return e.err }

// judge wraps err with the verdict on a call whose caller's context is ctx.
// A nil err returns nil, which the breaker counts as a success.
func judge(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	return &judgedError{err: err, verdict: verdictOf(ctx, err)}
}

func verdictOf(ctx context.Context, err error) verdict {
	switch {
	case ctx.Err() != nil:
		return verdictExcluded // the caller gave up or ran out of time
	case errors.Is(err, ErrClosed), IsCircuitOpen(err):
		return verdictExcluded
	case errors.Is(err, ErrUnavailable), Retryable(err), errors.Is(err, context.DeadlineExceeded):
		return verdictFailure
	case errors.Is(err, context.Canceled):
		return verdictExcluded // cancelled inside the call, for example by a shutdown
	}
	return verdictSuccess
}

func isBreakerSuccess(err error) bool {
	if j, ok := err.(*judgedError); ok {
		return j.verdict == verdictSuccess
	}
	// gobreaker passes a panic's value as an unjudged error: a failure.
	return err == nil
}

func isBreakerExcluded(err error) bool {
	j, ok := err.(*judgedError)
	return ok && j.verdict == verdictExcluded
}

// unjudge returns the caller's error from the error of gobreaker's Execute: the
// call's own error, or for a call that the breaker rejected, the rejection made
// to match ErrCircuitOpen and the gobreaker sentinel.
func unjudge(name string, err error) error {
	if err == nil {
		return nil
	}
	// Execute returns the function's error unchanged, so a type assertion suffices.
	if j, ok := err.(*judgedError); ok {
		return j.err
	}
	return circuitOpen(name, err)
}

// breakerClient guards whole calls of a Client with one breaker.
type breakerClient[Req, Res any] struct {
	inner Client[Req, Res]
	name  string
	cb    *gobreaker.CircuitBreaker[Res]
}

var _ Client[int, int] = (*breakerClient[int, int])(nil)

// WithBreaker returns a Client that guards every call of c with one circuit
// breaker configured by s.
//
// Only network failures count against the breaker: ErrUnavailable and errors
// that Retryable reports true for. A *JobError counts as a success, and the
// caller's cancellation or deadline is not counted at all. While the breaker is
// open, Do returns an error that matches ErrCircuitOpen and gobreaker.ErrOpenState
// (or gobreaker.ErrTooManyRequests when half-open) without calling c. Close
// closes c. With s.Disabled, WithBreaker returns c itself.
//
// Strategies already guard each network step with a Pipeline, whose breakers are
// per target. WithBreaker is for a whole-call guard over any Client, such as one
// strategy inside a combined client.
func WithBreaker[Req, Res any](c Client[Req, Res], s BreakerSettings) Client[Req, Res] {
	if s.Disabled {
		return c
	}

	name := s.Name
	if name == "" {
		name = defaultBreakerName
	}
	return &breakerClient[Req, Res]{inner: c, name: name, cb: newBreaker[Res](name, s)}
}

// Do calls the inner client unless the breaker rejects the call.
func (b *breakerClient[Req, Res]) Do(ctx context.Context, req Req, opts ...CallOption) (Res, error) {
	res, err := b.cb.Execute(func() (Res, error) {
		res, err := b.inner.Do(ctx, req, opts...)
		return res, judge(ctx, err)
	})
	if err == nil {
		return res, nil
	}

	var zero Res
	return zero, unjudge(b.name, err)
}

// Close closes the inner client.
func (b *breakerClient[Req, Res]) Close() error {
	return b.inner.Close()
}

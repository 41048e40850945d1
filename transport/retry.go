package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"syscall"
	"time"
)

// Defaults of RetryPolicy.
const (
	defaultMaxAttempts   = 5
	defaultBaseDelay     = 100 * time.Millisecond
	defaultMaxDelay      = 10 * time.Second
	defaultMaxRetryAfter = 30 * time.Second
)

// ErrAttemptTimeout means one attempt of a network step ran past its own timeout
// while the caller's context was still live. It is retryable. Errors that match
// it do not match context.DeadlineExceeded, which is kept for the caller's own
// deadline.
var ErrAttemptTimeout = errors.New("transport: attempt timed out")

// RetryPolicy sets how often and how long a network step is retried.
// The zero value is the default policy.
type RetryPolicy struct {
	// MaxAttempts is the maximum number of attempts, the first one included.
	// 1 or a negative value means one attempt and no retry. Defaults to 5.
	MaxAttempts int

	// BaseDelay is the ceiling of the first backoff, which doubles with every
	// retry. Zero or negative means the default. Defaults to 100 ms.
	BaseDelay time.Duration

	// MaxDelay caps the backoff ceiling. Zero or negative means the default.
	// Defaults to 10 s.
	MaxDelay time.Duration

	// MaxRetryAfter caps the wait that a server requests with Retry-After, so a
	// wrong or hostile header cannot stall the caller. Zero or negative means the
	// default. Defaults to 30 s.
	MaxRetryAfter time.Duration
}

// withDefaults returns p with every unset field replaced by its default.
func (p RetryPolicy) withDefaults() RetryPolicy {
	switch {
	case p.MaxAttempts == 0:
		p.MaxAttempts = defaultMaxAttempts
	case p.MaxAttempts < 0:
		p.MaxAttempts = 1
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = defaultBaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = defaultMaxDelay
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = defaultMaxRetryAfter
	}
	return p
}

// Backoff returns the wait before retry number attempt, counted from 0: Backoff(0, nil)
// is the wait between the first and the second attempt.
//
// The wait is exponential backoff with full jitter, drawn after the cap: a
// uniformly random duration in [0, min(MaxDelay, BaseDelay*2^attempt)). rnd
// returns numbers in [0, 1), and nil means math/rand/v2's Float64. Tests pass a seeded
// source, such as rand.New(rand.NewPCG(1, 2)).Float64, to get a fixed sequence.
func (p RetryPolicy) Backoff(attempt int, rnd func() float64) time.Duration {
	p = p.withDefaults()
	if attempt < 0 {
		attempt = 0
	}
	if rnd == nil {
		rnd = rand.Float64
	}

	// base<<attempt <= MaxDelay exactly when base <= MaxDelay>>attempt, and the
	// comparison cannot overflow.
	ceiling := p.MaxDelay
	if attempt < 63 && p.BaseDelay <= ceiling>>attempt {
		ceiling = p.BaseDelay << attempt
	}

	f := rnd()
	if f < 0 {
		f = 0
	}
	d := time.Duration(f * float64(ceiling))
	if d >= ceiling {
		// A source that returns 1 or more would break the half-open interval.
		d = ceiling - 1
	}
	return d
}

// retryDelay returns the wait before retry number attempt after err: the server's
// Retry-After carried by err, capped at MaxRetryAfter, or else the backoff.
func (p RetryPolicy) retryDelay(attempt int, err error) time.Duration {
	p = p.withDefaults()

	var re *RetryableError
	if errors.As(err, &re) && re.RetryAfter > 0 {
		return min(re.RetryAfter, p.MaxRetryAfter)
	}
	return p.Backoff(attempt, nil)
}

// RetryableError marks an error as safe and useful to retry, for example a 503
// or 429 response. RetryAfter is the wait that the server requested, 0 when it
// requested none.
type RetryableError struct {
	Err        error
	RetryAfter time.Duration
}

func (e *RetryableError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%v (retry after %v)", e.Err, e.RetryAfter)
	}
	return e.Err.Error()
}

// Unwrap returns the marked error.
func (e *RetryableError) Unwrap() error { return e.Err }

// MarkRetryable wraps err in a *RetryableError with the server's requested wait,
// so that Retryable reports true for it. A nil err returns nil, and a negative
// retryAfter counts as none.
func MarkRetryable(err error, retryAfter time.Duration) error {
	if err == nil {
		return nil
	}
	return &RetryableError{Err: err, RetryAfter: max(retryAfter, 0)}
}

// Retryable reports whether a network step that failed with err may succeed
// when it is tried again.
//
// These are retryable: a *RetryableError anywhere in the chain, ErrAttemptTimeout,
// io.EOF and io.ErrUnexpectedEOF from a broken connection, syscall.ECONNRESET,
// ECONNREFUSED and EPIPE, and any other net.Error such as *net.OpError.
// A *url.Error counts by the error it wraps, because net/http wraps every
// failure in one, including those that fail again the same way.
//
// These are not: nil, *JobError (the service responded), ErrUnavailable (the
// retries are spent already), ErrClosed, breaker rejections, and
// context.Canceled and context.DeadlineExceeded. Retryable cannot tell whose
// context ended, so Pipeline reports a deadline that ends one attempt while the
// caller's context lives as ErrAttemptTimeout.
func Retryable(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrClosed), IsCircuitOpen(err):
		return false
	}

	var marked *RetryableError
	if errors.As(err, &marked) {
		return true
	}
	var jobErr *JobError
	if errors.As(err, &jobErr) {
		return false
	}

	switch {
	case errors.Is(err, ErrAttemptTimeout):
		return true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return true
	}

	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return Retryable(urlErr.Err)
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

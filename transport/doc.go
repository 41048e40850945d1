// Package transport defines the contract that every longhaul strategy shares:
// the Client and Engine interfaces, call options and progress, the error
// taxonomy, and the pieces that wrap any Client: a circuit breaker, fan-out
// and the retry policy.
//
// # Errors
//
// Every error a Client returns can be identified with errors.Is and errors.As:
//
//   - context.Canceled or context.DeadlineExceeded: the caller's own context ended.
//   - ErrUnavailable (with *UnavailableError): the service stayed unreachable or
//     overloaded through every retry.
//   - ErrCircuitOpen: a breaker rejected the call. Such errors also match
//     gobreaker.ErrOpenState or gobreaker.ErrTooManyRequests.
//   - *JobError: the service rejected the request or the job failed. Its Problem
//     is the RFC 9457 problem details object the service sent, with a stable Code.
//   - ErrClosed: the client was closed.
//
// # Retries
//
// RetryPolicy sets how many attempts a network step gets and how long it waits
// between them: exponential backoff with full jitter drawn after the cap, or the
// server's Retry-After, capped at MaxRetryAfter. Retryable sorts errors into
// those worth another attempt (network failures, ErrAttemptTimeout and errors
// marked with MarkRetryable) and final ones (*JobError, ErrClosed, breaker
// rejections and the caller's own context error).
//
// # Pipeline
//
// Every strategy sends each network step (submit, poll, dial, deliver) through a
// Pipeline, whose order is fixed: retry, then the circuit breaker of the step's
// target, then a per-attempt timeout. Fallback between strategies sits above it,
// in the combined client. Users set the values in PipelineConfig, never the
// order, and OnAttempt observes every attempt without changing the schedule.
//
//	p := transport.NewPipeline(transport.PipelineConfig{AttemptTimeout: 30 * time.Second})
//	err := p.Do(ctx, "poll", "https://stock.example:8443", func(ctx context.Context) error {
//		return pollOnce(ctx) // return MarkRetryable(err, retryAfter) for 503 and 429
//	})
//
// A step fails with *UnavailableError (ErrUnavailable) once its attempts are
// spent. It fails at once with a final error such as *JobError, and with the
// caller's context error when ctx ends. There is no default per-attempt timeout,
// because a job may take minutes: the caller's context bounds it.
//
// # Circuit breakers
//
// A Pipeline keeps one gobreaker breaker per target, created on first use and
// kept for the Pipeline's life. WithBreaker guards whole calls of any Client with
// one breaker. Both count only network failures: the caller's cancellation
// is left out, and a *JobError counts as a success because the service responded.
// An open breaker always returns an error that matches ErrCircuitOpen, never an
// empty result.
//
// # Fan-out
//
// FanOut splits a large request into parts, runs them on an errgroup with a
// concurrency limit, and merges the results in the order of the parts. The first
// failure cancels the other parts and is the error returned. That cancellation
// never counts against a breaker. Progress is summed over the parts, and an
// idempotency key K becomes K/0, K/1 and so on.
//
// # Caveats
//
//   - Requests and results travel as JSON, so types that do not round-trip
//     through encoding/json cannot be used.
//   - Progress is advisory: a strategy may skip reports, and simple calls carry none.
package transport

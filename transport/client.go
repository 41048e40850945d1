package transport

import (
	"context"
	"encoding/json"
)

// Client runs one job on a remote service and returns its result.
//
// Do sends req, waits until the job ends and returns its result. It blocks until
// the result arrives, the job fails, or ctx ends. It never returns a zero result
// with a nil error. Do must be safe for concurrent use by many goroutines, and a
// Client must not retain req after Do returns.
//
// The error that Do returns shows the caller what to do next:
//
//   - ctx.Err() (context.Canceled or context.DeadlineExceeded), possibly wrapped,
//     when the caller's own context ended. The remote job may be cancelled.
//   - ErrUnavailable when the service could not be reached, or stayed overloaded,
//     after the retries the client allows. Sending the request again later may
//     succeed.
//   - ErrCircuitOpen when a circuit breaker rejected the call without sending it.
//   - *JobError when the service ran or rejected the job and reported a problem.
//     Sending the same request again will fail the same way unless the
//     problem's code or detail states otherwise.
//   - ErrClosed when Close was called before or during the call.
//
// Implementations must not retry a step that is unsafe to repeat: a submit is
// retried only under an idempotency key, so a submit whose response was lost
// never starts a second job. They must not treat the caller's cancellation as a
// network failure.
//
// Close releases the client's connections and background work. Calls that are in
// progress end with ErrClosed. Close is idempotent.
type Client[Req, Res any] interface {
	Do(ctx context.Context, req Req, opts ...CallOption) (Res, error)
	Close() error
}

// Engine runs one job on the server side.
//
// Run must return promptly with ctx.Err() once ctx ends. It may call progress
// from any goroutine, any number of times, with Done rising towards Total. The
// servers never pass a nil progress. A job may run more than once (after a crash or a
// server restart hands it back to the queue), so Run must be idempotent.
//
// An error that wraps *Problem is sent to the caller as that problem. Any other
// error is reported as a job failure with the error's text as its detail.
type Engine[Req, Res any] interface {
	Run(ctx context.Context, req Req, progress ProgressFunc) (Res, error)
}

// EngineFunc adapts an ordinary function to the Engine interface.
type EngineFunc[Req, Res any] func(ctx context.Context, req Req, progress ProgressFunc) (Res, error)

// Run calls f(ctx, req, progress).
func (f EngineFunc[Req, Res]) Run(ctx context.Context, req Req, progress ProgressFunc) (Res, error) {
	return f(ctx, req, progress)
}

// Validator is implemented by request types that can check themselves before a
// job is created. Servers call Validate on every decoded request and reject the
// request with the returned error, which should wrap *Problem with status 400.
type Validator interface {
	Validate() error
}

// Progress is the amount of a job's work that is done: Done of Total units.
// Total is 0 when the engine has not reported it yet.
type Progress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// ProgressFunc receives progress reports. Implementations must be fast and safe
// for concurrent use.
type ProgressFunc func(Progress)

// RawMessage is a JSON value kept undecoded, as requests and results travel
// between the strategies and the job runtime.
type RawMessage = json.RawMessage

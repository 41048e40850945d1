package transport

import (
	"errors"
	"fmt"

	"github.com/sony/gobreaker/v2"
)

var (
	// ErrUnavailable means the service could not be reached, or responded that
	// it was overloaded, on every attempt the client's retry policy allowed.
	ErrUnavailable = errors.New("transport: service unavailable")

	// ErrCircuitOpen means a circuit breaker rejected the call without sending it.
	// Errors that match it also match gobreaker.ErrOpenState or
	// gobreaker.ErrTooManyRequests, whichever the breaker returned.
	ErrCircuitOpen = errors.New("transport: circuit breaker is open")

	// ErrClosed means the client was closed before or during the call.
	ErrClosed = errors.New("transport: client is closed")
)

// UnavailableError reports a network step that failed on every attempt.
// It matches ErrUnavailable with errors.Is and unwraps to the last attempt's error.
type UnavailableError struct {
	Op       string // the step that failed, such as "submit", "poll" or "dial"
	URL      string // the target of the step
	Attempts int    // how many attempts were made
	Err      error  // the last attempt's error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("transport: %s %s failed after %d attempt(s): %v", e.Op, e.URL, e.Attempts, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// circuitOpen wraps a gobreaker rejection so that it matches both ErrCircuitOpen
// and the gobreaker sentinel.
func circuitOpen(name string, err error) error {
	return &circuitOpenError{name: name, err: err}
}

// circuitOpenError is a breaker's rejection. It matches ErrCircuitOpen and
// unwraps to gobreaker.ErrOpenState or gobreaker.ErrTooManyRequests.
type circuitOpenError struct {
	name string
	err  error
}

func (e *circuitOpenError) Error() string {
	if errors.Is(e.err, gobreaker.ErrTooManyRequests) {
		return fmt.Sprintf("transport: circuit breaker %q is half-open and already testing the service: try again later", e.name)
	}
	return fmt.Sprintf("transport: circuit breaker %q is open after repeated failures: try again later", e.name)
}

func (e *circuitOpenError) Unwrap() error { return e.err }

func (e *circuitOpenError) Is(target error) bool { return target == ErrCircuitOpen }

// IsCircuitOpen reports whether err is a breaker's rejection, from this package
// or straight from gobreaker.
func IsCircuitOpen(err error) bool {
	return errors.Is(err, ErrCircuitOpen) ||
		errors.Is(err, gobreaker.ErrOpenState) ||
		errors.Is(err, gobreaker.ErrTooManyRequests)
}

// JobError reports a job that the service rejected or that failed while it ran.
// Problem contains the service's problem details, and Problem.Code is stable
// and safe to switch on.
type JobError struct {
	JobID   string  // the job's ID, empty when the request was rejected before a job existed
	Problem Problem // the problem the service reported
}

func (e *JobError) Error() string {
	detail := e.Problem.Detail
	if detail == "" {
		detail = e.Problem.Title
	}
	if e.JobID == "" {
		return fmt.Sprintf("transport: request rejected (%s, status %d): %s", e.Problem.Code, e.Problem.Status, detail)
	}
	return fmt.Sprintf("transport: job %s failed (%s): %s", e.JobID, e.Problem.Code, detail)
}

// Unwrap returns the problem, so that errors.As finds *Problem too.
func (e *JobError) Unwrap() error { return &e.Problem }

// Code returns the problem's stable code.
func (e *JobError) Code() string { return e.Problem.Code }

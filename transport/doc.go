// Package transport defines the contract that every longhaul strategy shares:
// the Client and Engine interfaces, call options and progress, the error
// taxonomy, and the pieces that wrap any Client: a circuit breaker, fan-out
// and the retry policy.
//
// # Errors
//
// Every error a Client returns can be told apart with errors.Is and errors.As:
//
//   - context.Canceled or context.DeadlineExceeded: the caller's own context ended.
//   - ErrUnavailable (with *UnavailableError): the service stayed unreachable or
//     overloaded through every retry.
//   - ErrCircuitOpen: a breaker rejected the call; such errors also match
//     gobreaker.ErrOpenState or gobreaker.ErrTooManyRequests.
//   - *JobError: the service rejected the request or the job failed; its Problem
//     is the RFC 9457 problem details object the service sent, with a stable Code.
//   - ErrClosed: the client was closed.
//
// # Caveats
//
//   - Requests and results travel as JSON; types that do not round-trip through
//     encoding/json cannot be used.
//   - Progress is advisory: a strategy may skip reports, and simple calls carry none.
package transport

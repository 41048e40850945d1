package transport

import (
	"errors"
	"fmt"
	"net/http"
)

// ProblemTypeBase is the prefix of every problem type URI that longhaul sends.
// The fragment after it is the problem's code and names a section of the
// protocol document.
const ProblemTypeBase = "https://github.com/longhaul-go/longhaul/blob/main/docs/PROTOCOL.md#"

// Stable problem codes. Clients switch on Problem.Code, never on Detail.
const (
	CodeInvalidRequest   = "invalid-request"        // 400: the request is malformed or breaks a limit
	CodeTooLarge         = "request-too-large"      // 413: the body is over the size limit
	CodeUnsupportedMedia = "unsupported-media-type" // 415: the body is not JSON
	CodeNotFound         = "not-found"              // 404: no such route, or no such job (never existed, expired, or another owner's)
	CodeMethodNotAllowed = "method-not-allowed"     // 405
	CodeConflict         = "idempotency-conflict"   // 409: the idempotency key was used with another body
	CodeOverloaded       = "overloaded"             // 503: a queue, concurrency or connection limit is full, or the server is shutting down. Retry after Retry-After
	CodeJobFailed        = "job-failed"             // the engine returned an error
	CodeJobCanceled      = "job-canceled"           // the job was cancelled before it finished
	CodeJobTimeout       = "job-timeout"            // the job passed the deadline its caller sent
	CodeInternal         = "internal"               // 500: a fault in the server
	CodeUnauthorized     = "unauthorized"           // 401: the authorization hook rejected the request
)

// Problem is an RFC 9457 problem details object. It is the error body of every
// longhaul response and the failure of every failed job. *Problem implements
// error, so engines and validators can return one directly.
type Problem struct {
	Type     string `json:"type"`               // a URI naming the problem type
	Title    string `json:"title"`              // a short summary of the type
	Status   int    `json:"status,omitempty"`   // the HTTP status code
	Detail   string `json:"detail,omitempty"`   // an explanation of this occurrence, naming the value and the fix
	Instance string `json:"instance,omitempty"` // a URI of this occurrence, such as the job's URL
	Code     string `json:"code"`               // the stable code, one of the Code constants or an engine's own
	JobID    string `json:"job_id,omitempty"`   // the job concerned, if any
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%s: %s", p.Code, p.Detail)
	}
	return fmt.Sprintf("%s: %s", p.Code, p.Title)
}

// NewProblem returns a problem with the given status and code, its Type and
// Title filled in, and the detail formatted from format and args.
func NewProblem(status int, code, format string, args ...any) *Problem {
	return &Problem{
		Type:   ProblemTypeBase + code,
		Title:  titleOf(code, status),
		Status: status,
		Detail: fmt.Sprintf(format, args...),
		Code:   code,
	}
}

// InvalidRequest returns a 400 problem with code invalid-request.
func InvalidRequest(format string, args ...any) *Problem {
	return NewProblem(http.StatusBadRequest, CodeInvalidRequest, format, args...)
}

// AsProblem converts any error into the problem that reports it: the *Problem it
// wraps (also through *JobError) if there is one, or a job-failed problem with
// the error's text as detail. A nil error returns nil.
func AsProblem(err error) *Problem {
	if err == nil {
		return nil
	}
	var p *Problem
	if errors.As(err, &p) {
		out := *p
		if out.Code == "" {
			out.Code = CodeJobFailed
		}
		if out.Type == "" {
			out.Type = ProblemTypeBase + out.Code
		}
		if out.Title == "" {
			out.Title = titleOf(out.Code, out.Status)
		}
		return &out
	}
	return NewProblem(http.StatusInternalServerError, CodeJobFailed, "%s", err.Error())
}

func titleOf(code string, status int) string {
	switch code {
	case CodeInvalidRequest:
		return "Invalid request"
	case CodeTooLarge:
		return "Request body too large"
	case CodeUnsupportedMedia:
		return "Unsupported media type"
	case CodeNotFound:
		return "Not found"
	case CodeMethodNotAllowed:
		return "Method not allowed"
	case CodeConflict:
		return "Idempotency key reused with another request"
	case CodeOverloaded:
		return "Service overloaded"
	case CodeJobFailed:
		return "Job failed"
	case CodeJobCanceled:
		return "Job canceled"
	case CodeJobTimeout:
		return "Job timed out"
	case CodeInternal:
		return "Internal server error"
	case CodeUnauthorized:
		return "Unauthorized"
	}
	if status != 0 {
		return http.StatusText(status)
	}
	return "Problem"
}

package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// Header names and media types of the protocol.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderTimeout carries the caller's remaining time in milliseconds, so the
	// server stops working for a caller that has given up.
	HeaderTimeout = "Longhaul-Timeout"
	// HeaderCallbackURL carries the URL to which the server delivers a callback
	// job's result.
	HeaderCallbackURL = "Longhaul-Callback-Url"
	// HeaderCallbackSecret is the Standard Webhooks secret ("whsec_" and base64)
	// that the server signs the delivery with.
	HeaderCallbackSecret = "Longhaul-Callback-Secret"

	ContentTypeJSON    = "application/json"
	ContentTypeProblem = "application/problem+json"
)

// Limits of the protocol.
const (
	// DefaultMaxBodyBytes is the default maximum size of a request body, 1 MiB.
	DefaultMaxBodyBytes = 1 << 20
	// MaxIdempotencyKeyLength is the maximum length of an Idempotency-Key, in bytes.
	MaxIdempotencyKeyLength = 255
	// MaxProblemBytes is the maximum number of bytes of an error body that a
	// client reads.
	MaxProblemBytes = 64 << 10
	// DefaultMaxWait is the default maximum of a long-poll wait.
	DefaultMaxWait = 30 * time.Second
	// DefaultRetryAfter is the Retry-After value, in seconds, of 202 responses
	// and of 429 and 503 problem responses.
	DefaultRetryAfter = 1
)

// Status is the body of GET {base}/jobs/{id}: the job's state, progress, and
// its result or problem once finished.
type Status struct {
	ID         string             `json:"id"`
	State      jobs.State         `json:"state"`
	Progress   transport.Progress `json:"progress"`
	CreatedAt  time.Time          `json:"created_at"`
	UpdatedAt  time.Time          `json:"updated_at"`
	FinishedAt *time.Time         `json:"finished_at,omitempty"`
	ExpiresAt  *time.Time         `json:"expires_at,omitempty"`
	Result     json.RawMessage    `json:"result,omitempty"`
	Problem    *transport.Problem `json:"problem,omitempty"`
	Callback   *CallbackStatus    `json:"callback,omitempty"`
	// CancelRequested is true once a cancel was requested for a job that is
	// still running. The job ends when its engine returns, as canceled unless
	// the engine returns a result anyway.
	CancelRequested bool `json:"cancel_requested,omitempty"`
}

// CallbackStatus is the delivery state of a callback job, without its secret.
type CallbackStatus struct {
	URL       string             `json:"url"`
	State     jobs.DeliveryState `json:"state"`
	Attempts  int                `json:"attempts"`
	LastError string             `json:"last_error,omitempty"`
}

// StatusOf returns the status document of job.
func StatusOf(job *jobs.Job) Status {
	s := Status{
		ID:        job.ID,
		State:     job.State,
		Progress:  job.Progress,
		CreatedAt: job.CreatedAt,
		UpdatedAt: job.UpdatedAt,
		Result:    job.Result,
		Problem:   job.Problem,
	}
	if job.CancelRequested && !job.State.Finished() {
		s.CancelRequested = true
	}
	if !job.FinishedAt.IsZero() {
		t := job.FinishedAt
		s.FinishedAt = &t
	}
	if !job.ExpiresAt.IsZero() {
		t := job.ExpiresAt
		s.ExpiresAt = &t
	}
	if cb := job.Callback; cb != nil {
		s.Callback = &CallbackStatus{URL: cb.URL, State: cb.State, Attempts: cb.Attempts, LastError: cb.LastError}
	}
	return s
}

// ETag returns the entity tag of a job version.
func ETag(version uint64) string { return `"` + strconv.FormatUint(version, 10) + `"` }

// ParseETag returns the version in an ETag or If-None-Match value, or 0 when
// the value contains no version.
func ParseETag(s string) uint64 {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	v, err := strconv.ParseUint(strings.Trim(s, `"`), 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		WriteProblem(w, transport.NewProblem(http.StatusInternalServerError, transport.CodeInternal, "response cannot be encoded: %v", err))
		return
	}
	w.Header().Set("Content-Type", ContentTypeJSON)
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// WriteProblem writes p as an application/problem+json response. A status
// outside 400-599 is sent as 500, in the body too, so that the body's status
// member matches the response. A 503 or 429 response also gets Retry-After.
func WriteProblem(w http.ResponseWriter, p *transport.Problem) {
	status := p.Status
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
		sent := *p
		sent.Status = status
		p = &sent
	}
	body, _ := json.Marshal(p)
	h := w.Header()
	h.Set("Content-Type", ContentTypeProblem)
	h.Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		h.Set("Retry-After", strconv.Itoa(DefaultRetryAfter))
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// ProblemOf maps an error of the job runtime, or any other error, to the problem
// a handler sends.
func ProblemOf(err error) *transport.Problem {
	var p *transport.Problem
	switch {
	case errors.As(err, &p):
		return transport.AsProblem(err)
	case errors.Is(err, jobs.ErrNotFound):
		return transport.NewProblem(http.StatusNotFound, transport.CodeNotFound,
			"no such job: it never existed, has expired, or belongs to another owner")
	case errors.Is(err, jobs.ErrIdempotencyConflict):
		return transport.NewProblem(http.StatusConflict, transport.CodeConflict,
			"the Idempotency-Key was already used with a different request body: use a new key for a new request")
	case errors.Is(err, jobs.ErrQueueFull):
		return transport.NewProblem(http.StatusServiceUnavailable, transport.CodeOverloaded,
			"the job queue is full: retry after the Retry-After interval")
	case errors.Is(err, jobs.ErrClosed):
		return transport.NewProblem(http.StatusServiceUnavailable, transport.CodeOverloaded,
			"the server is shutting down: retry after the Retry-After interval, possibly on another replica")
	}
	return transport.NewProblem(http.StatusInternalServerError, transport.CodeInternal, "%v", err)
}

// ReadBody reads a JSON request body of at most maxBytes (DefaultMaxBodyBytes
// when 0). A missing Content-Type is accepted, as are application/json and any
// +json media type. It returns a problem for another media type, for a body over
// the limit and for a body that cannot be read.
func ReadBody(w http.ResponseWriter, r *http.Request, maxBytes int64) ([]byte, *transport.Problem) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBodyBytes
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mediaType, _, err := mime.ParseMediaType(ct)
		if err != nil || (mediaType != ContentTypeJSON && !strings.HasSuffix(mediaType, "+json")) {
			return nil, transport.NewProblem(http.StatusUnsupportedMediaType, transport.CodeUnsupportedMedia,
				"Content-Type %q is not supported: send the request as %s", ct, ContentTypeJSON)
		}
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, transport.NewProblem(http.StatusRequestEntityTooLarge, transport.CodeTooLarge,
			"request body is over the limit of %d bytes: send a smaller request, or split it into several", maxBytes)
	}
	if err != nil {
		return nil, transport.InvalidRequest("request body could not be read: %v", err)
	}
	return body, nil
}

// DecodeRequest reads the body of a submit and decodes it with runner.
func DecodeRequest(w http.ResponseWriter, r *http.Request, runner jobs.Runner, maxBytes int64) ([]byte, *transport.Problem) {
	body, problem := ReadBody(w, r, maxBytes)
	if problem != nil {
		return nil, problem
	}
	canonical, err := runner.Decode(body)
	if err != nil {
		return nil, transport.AsProblem(err)
	}
	return canonical, nil
}

// IdempotencyKey returns the request's Idempotency-Key, or "" when it has none.
// It returns a problem when the request has more than one, or when the key is
// too long or has characters other than visible ASCII.
func IdempotencyKey(r *http.Request) (string, *transport.Problem) {
	keys := r.Header.Values(HeaderIdempotencyKey)
	if len(keys) > 1 {
		return "", transport.InvalidRequest("request has %d Idempotency-Key headers: send exactly one", len(keys))
	}
	key := r.Header.Get(HeaderIdempotencyKey)
	if err := ValidateIdempotencyKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// ValidateIdempotencyKey returns a problem when key is longer than
// MaxIdempotencyKeyLength or has a byte other than visible ASCII (0x21 to 0x7e).
// The empty key is valid.
func ValidateIdempotencyKey(key string) *transport.Problem {
	if len(key) > MaxIdempotencyKeyLength {
		return transport.InvalidRequest("Idempotency-Key is %d bytes, over the limit of %d: use a shorter key such as a UUID",
			len(key), MaxIdempotencyKeyLength)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return transport.InvalidRequest("Idempotency-Key %q has a space, control or non-ASCII character at byte %d: use only visible ASCII such as letters, digits and punctuation",
				key, i)
		}
	}
	return nil
}

// Deadline returns the deadline that the request's Longhaul-Timeout header
// gives, counted from now, or the zero time when the header is absent.
func Deadline(r *http.Request, now time.Time) (time.Time, *transport.Problem) {
	v := r.Header.Get(HeaderTimeout)
	if v == "" {
		return time.Time{}, nil
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if errors.Is(err, strconv.ErrRange) && ms > 0 {
		err = nil // ms is math.MaxInt64: a valid timeout, capped below
	}
	if err != nil || ms <= 0 {
		return time.Time{}, transport.InvalidRequest("%s %q is not a positive number of milliseconds: send the caller's remaining time, such as 30000",
			HeaderTimeout, v)
	}
	// A time.Duration ends at about 292 years, so a longer timeout, also one
	// beyond int64, counts as that long instead of overflowing into a deadline
	// in the past.
	ms = min(ms, int64(math.MaxInt64/time.Millisecond))
	return now.Add(time.Duration(ms) * time.Millisecond), nil
}

// FormatTimeout returns the Longhaul-Timeout value of the time left until deadline,
// at least 1 millisecond.
func FormatTimeout(left time.Duration) string {
	return strconv.FormatInt(max(left.Milliseconds(), 1), 10)
}

// Wait returns how long a GET on a job may wait for a change: the wait=N
// (seconds) of a Prefer header or of the query, capped at maxWait
// (DefaultMaxWait when 0). It returns 0 when the request sets no wait.
func Wait(r *http.Request, maxWait time.Duration) (time.Duration, *transport.Problem) {
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	raw := r.URL.Query().Get("wait")
	source := "query parameter wait"
	if raw == "" {
		raw = preferWait(r.Header.Values("Prefer"))
		source = "Prefer: wait"
	}
	if raw == "" {
		return 0, nil
	}

	seconds, err := strconv.ParseFloat(raw, 64)
	if errors.Is(err, strconv.ErrRange) && seconds > 0 {
		err = nil // seconds is +Inf: a valid wait, capped below
	}
	if err != nil || seconds < 0 || math.IsNaN(seconds) {
		return 0, transport.InvalidRequest("%s %q is not a non-negative number of seconds: send for example wait=10", source, raw)
	}
	// Cap before the conversion, which overflows into a negative duration for
	// waits of about 292 years or more, and after it, because float64 rounding
	// may carry a wait just under the cap past it.
	nanoseconds := seconds * float64(time.Second)
	if nanoseconds >= float64(maxWait) {
		return maxWait, nil
	}
	return min(time.Duration(nanoseconds), maxWait), nil
}

func preferWait(values []string) string {
	for _, v := range values {
		for _, pref := range strings.Split(v, ",") {
			name, value, ok := strings.Cut(strings.TrimSpace(pref), "=")
			if ok && strings.EqualFold(strings.TrimSpace(name), "wait") {
				// A preference's parameters follow its value after ";".
				// The wait preference defines none, so they are ignored.
				value, _, _ = strings.Cut(value, ";")
				return strings.Trim(strings.TrimSpace(value), `"`)
			}
		}
	}
	return ""
}

// ReadProblem reads the problem of an error response, at most MaxProblemBytes.
// For a body that is not a problem, it returns a problem made from the status
// and the first 200 bytes of the body.
func ReadProblem(resp *http.Response) *transport.Problem {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxProblemBytes))
	p, err := DecodeProblem(body)
	if err != nil {
		text := strings.TrimSpace(string(body))
		if len(text) > 200 {
			text = text[:200] + "..."
		}
		code := transport.CodeInternal
		switch resp.StatusCode {
		case http.StatusNotFound:
			code = transport.CodeNotFound
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			code = transport.CodeOverloaded
		case http.StatusRequestEntityTooLarge:
			code = transport.CodeTooLarge
		case http.StatusBadRequest:
			code = transport.CodeInvalidRequest
		case http.StatusUnauthorized:
			code = transport.CodeUnauthorized
		case http.StatusMethodNotAllowed:
			code = transport.CodeMethodNotAllowed
		case http.StatusUnsupportedMediaType:
			code = transport.CodeUnsupportedMedia
		}
		p := transport.NewProblem(resp.StatusCode, code, "server responded %s without problem details: %q", resp.Status, text)
		// RFC 9457 uses about:blank for a problem that adds nothing to its
		// status. Here the code is only a guess from the status (a proxy's
		// 503 need not mean an overloaded server), and the type lets callers
		// tell it from a problem that a longhaul server sent.
		p.Type = "about:blank"
		return p
	}
	if p.Status == 0 {
		p.Status = resp.StatusCode
	}
	return p
}

// DecodeProblem parses a problem details document. It fails unless the
// document is a JSON object with a code, or with a type that the code is taken
// from: the fragment of a longhaul type, or the whole URI of another type.
func DecodeProblem(body []byte) (*transport.Problem, error) {
	var p transport.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("wire: invalid problem details: %w", err)
	}
	if p.Code == "" && p.Type == "" {
		return nil, errors.New("wire: problem details have neither code nor type")
	}
	if p.Code == "" {
		p.Code = strings.TrimPrefix(p.Type, transport.ProblemTypeBase)
	}
	if p.Code == "" {
		return nil, fmt.Errorf("wire: problem type %q names no code", p.Type)
	}
	return &p, nil
}

// DecodeStatus parses a job status document and checks that it is complete:
// a valid job ID, a known state, and a result or problem once finished.
func DecodeStatus(body []byte) (*Status, error) {
	var s Status
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("wire: invalid job status: %w", err)
	}
	if !jobs.ValidID(s.ID) {
		return nil, fmt.Errorf("wire: job status has invalid id %q", s.ID)
	}
	switch s.State {
	case jobs.StateQueued, jobs.StateRunning, jobs.StateCanceled:
	case jobs.StateSucceeded:
		if len(s.Result) == 0 {
			return nil, fmt.Errorf("wire: job %s succeeded but its status has no result", s.ID)
		}
	case jobs.StateFailed:
		if s.Problem == nil {
			return nil, fmt.Errorf("wire: job %s failed but its status has no problem", s.ID)
		}
	default:
		return nil, fmt.Errorf("wire: job %s has unknown state %q", s.ID, s.State)
	}
	return &s, nil
}

// RetryAfter parses a Retry-After header given in seconds or as an HTTP date.
// It returns 0 when the header is absent or invalid.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	seconds, err := strconv.ParseInt(v, 10, 64)
	if errors.Is(err, strconv.ErrRange) && seconds > 0 {
		err = nil // seconds is math.MaxInt64: a valid delay, saturated below
	}
	if err == nil && seconds >= 0 {
		// Saturate instead of overflowing into a negative wait.
		return time.Duration(min(seconds, int64(math.MaxInt64/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Owner returns the owner that authorize returns for r, or the empty owner when
// authorize is nil. An error from authorize becomes a 401 problem unless it
// wraps a *transport.Problem, which is returned instead.
func Owner(r *http.Request, authorize transport.AuthorizeFunc) (string, *transport.Problem) {
	if authorize == nil {
		return "", nil
	}
	owner, err := authorize(r)
	if err == nil {
		return owner, nil
	}
	var p *transport.Problem
	if errors.As(err, &p) {
		return "", transport.AsProblem(err)
	}
	return "", transport.NewProblem(http.StatusUnauthorized, transport.CodeUnauthorized, "request is not authorized: %v", err)
}

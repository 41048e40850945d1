package wire_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

func bodyRequest(contentType, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/jobs", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return r
}

// requireProblem fails the test unless p has the given status and code, the
// type and title that go with the code, and a detail containing each of parts.
func requireProblem(t *testing.T, p *transport.Problem, status int, code string, parts ...string) {
	t.Helper()
	require.NotNil(t, p, "got no problem, want %d %s", status, code)
	assert.Equal(t, status, p.Status, "problem status")
	assert.Equal(t, code, p.Code, "problem code")
	assert.Equal(t, transport.ProblemTypeBase+code, p.Type, "problem type")
	assert.NotEmpty(t, p.Title, "problem title")
	for _, part := range parts {
		assert.Contains(t, p.Detail, part, "problem detail")
	}
}

func TestReadBodyContentType(t *testing.T) {
	t.Parallel()

	const body = `{"numbers":[1]}`
	for _, ct := range []string{
		"",
		"application/json",
		"application/json; charset=utf-8",
		"application/json;charset=UTF-8",
		"Application/JSON",
		"application/problem+json",
		"application/vnd.api+json; ext=bulk",
	} {
		got, p := wire.ReadBody(httptest.NewRecorder(), bodyRequest(ct, body), 0)
		require.Nil(t, p, "Content-Type %q: got problem %v, want none", ct, p)
		assert.Equal(t, body, string(got), "body with Content-Type %q", ct)
	}

	for _, ct := range []string{
		"text/plain",
		"text/json",
		"application/jsonl",
		"application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x",
		"application/json; charset",
		"json",
		"/",
	} {
		got, p := wire.ReadBody(httptest.NewRecorder(), bodyRequest(ct, body), 0)
		requireProblem(t, p, http.StatusUnsupportedMediaType, transport.CodeUnsupportedMedia, strconv.Quote(ct), wire.ContentTypeJSON)
		assert.Nil(t, got, "body with Content-Type %q", ct)
	}
}

func TestReadBodyLimit(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		maxBytes  int64
		size      int
		wantLimit int64 // 0: the body fits
	}{
		{name: "empty", maxBytes: 16, size: 0},
		{name: "under the limit", maxBytes: 16, size: 15},
		{name: "at the limit", maxBytes: 16, size: 16},
		{name: "one byte over", maxBytes: 16, size: 17, wantLimit: 16},
		{name: "far over", maxBytes: 16, size: 4096, wantLimit: 16},
		{name: "at the default limit", maxBytes: 0, size: wire.DefaultMaxBodyBytes},
		{name: "over the default limit", maxBytes: 0, size: wire.DefaultMaxBodyBytes + 1, wantLimit: wire.DefaultMaxBodyBytes},
		{name: "negative limit means default", maxBytes: -1, size: wire.DefaultMaxBodyBytes + 1, wantLimit: wire.DefaultMaxBodyBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := strings.Repeat("x", tt.size)
			got, p := wire.ReadBody(httptest.NewRecorder(), bodyRequest(wire.ContentTypeJSON, body), tt.maxBytes)
			if tt.wantLimit == 0 {
				require.Nil(t, p, "got problem %v, want none", p)
				assert.Len(t, got, tt.size, "body")
				return
			}
			requireProblem(t, p, http.StatusRequestEntityTooLarge, transport.CodeTooLarge,
				fmt.Sprintf("limit of %d bytes", tt.wantLimit))
			assert.Nil(t, got, "body over the limit")
		})
	}
}

func TestReadBodyReadError(t *testing.T) {
	t.Parallel()

	r := httptest.NewRequest(http.MethodPost, "/jobs", iotest.ErrReader(errors.New("connection reset by peer")))
	got, p := wire.ReadBody(httptest.NewRecorder(), r, 0)
	requireInvalidRequest(t, p, "could not be read", "connection reset by peer")
	assert.Nil(t, got, "body of a failed read")
}

// sumRequest is the request of a small typed engine that adds numbers.
type sumRequest struct {
	Numbers []int `json:"numbers"`
}

func (r sumRequest) Validate() error {
	switch {
	case len(r.Numbers) == 0:
		return errors.New("numbers is empty: send at least one number")
	case len(r.Numbers) > 3:
		return transport.NewProblem(http.StatusUnprocessableEntity, "too-many-numbers", "%d numbers, over the limit of 3", len(r.Numbers))
	}
	return nil
}

type sumResult struct {
	Sum int `json:"sum"`
}

var sumRunner = jobs.EngineRunner[sumRequest, sumResult](transport.EngineFunc[sumRequest, sumResult](
	func(_ context.Context, req sumRequest, _ transport.ProgressFunc) (sumResult, error) {
		var res sumResult
		for _, n := range req.Numbers {
			res.Sum += n
		}
		return res, nil
	}))

func TestDecodeRequest(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name        string
		contentType string
		body        string
		maxBytes    int64
		want        string // canonical request, when accepted
		wantStatus  int
		wantCode    string
		wantDetail  string
	}{
		{name: "valid", contentType: wire.ContentTypeJSON, body: `{"numbers":[1,2]}`, want: `{"numbers":[1,2]}`},
		{name: "canonical form", body: "{ \"numbers\" : [ 1 , 2 ] }\n", want: `{"numbers":[1,2]}`},
		{name: "case-insensitive field", body: `{"Numbers":[3]}`, want: `{"numbers":[3]}`},
		{
			name: "empty body", body: "",
			wantStatus: http.StatusBadRequest, wantCode: transport.CodeInvalidRequest, wantDetail: "empty",
		},
		{
			name: "unknown field", body: `{"numbers":[1],"extra":true}`,
			wantStatus: http.StatusBadRequest, wantCode: transport.CodeInvalidRequest, wantDetail: "extra",
		},
		{
			name: "wrong type", body: `{"numbers":"1"}`,
			wantStatus: http.StatusBadRequest, wantCode: transport.CodeInvalidRequest, wantDetail: "numbers",
		},
		{
			name: "trailing data", body: `{"numbers":[1]} {"numbers":[2]}`,
			wantStatus: http.StatusBadRequest, wantCode: transport.CodeInvalidRequest, wantDetail: "after the JSON value",
		},
		{
			name: "cut off", body: `{"numbers":[1`,
			wantStatus: http.StatusBadRequest, wantCode: transport.CodeInvalidRequest,
		},
		{
			name: "validation error", body: `{"numbers":[]}`,
			wantStatus: http.StatusBadRequest, wantCode: transport.CodeInvalidRequest, wantDetail: "numbers is empty",
		},
		{
			name: "validation problem", body: `{"numbers":[1,2,3,4]}`,
			wantStatus: http.StatusUnprocessableEntity, wantCode: "too-many-numbers", wantDetail: "over the limit of 3",
		},
		{
			name: "other media type", contentType: "text/plain", body: `{"numbers":[1]}`,
			wantStatus: http.StatusUnsupportedMediaType, wantCode: transport.CodeUnsupportedMedia,
		},
		{
			name: "over the limit", body: `{"numbers":[1,2]}`, maxBytes: 10,
			wantStatus: http.StatusRequestEntityTooLarge, wantCode: transport.CodeTooLarge, wantDetail: "limit of 10 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, p := wire.DecodeRequest(httptest.NewRecorder(), bodyRequest(tt.contentType, tt.body), sumRunner, tt.maxBytes)
			if tt.wantStatus == 0 {
				require.Nil(t, p, "got problem %v, want none", p)
				assert.JSONEq(t, tt.want, string(got), "canonical request")
				assert.Equal(t, tt.want, string(got), "canonical request bytes")
				return
			}
			require.NotNil(t, p, "got request %s, want a problem", got)
			assert.Nil(t, got, "request of a rejected body")
			assert.Equal(t, tt.wantStatus, p.Status, "problem status")
			assert.Equal(t, tt.wantCode, p.Code, "problem code")
			assert.NotEmpty(t, p.Type, "problem type")
			assert.NotEmpty(t, p.Title, "problem title")
			assert.Contains(t, p.Detail, tt.wantDetail, "problem detail")
		})
	}
}

func TestProblemOf(t *testing.T) {
	t.Parallel()

	custom := &transport.Problem{Type: "https://example.com/probs/out-of-credit", Title: "Out of credit",
		Status: http.StatusForbidden, Detail: "balance is 30", Code: "out-of-credit"}
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantDetail string
	}{
		{name: "not found", err: jobs.ErrNotFound, wantStatus: http.StatusNotFound, wantCode: transport.CodeNotFound, wantDetail: "no such job"},
		{name: "wrapped not found", err: fmt.Errorf("get job: %w", jobs.ErrNotFound), wantStatus: http.StatusNotFound, wantCode: transport.CodeNotFound},
		{name: "idempotency conflict", err: jobs.ErrIdempotencyConflict, wantStatus: http.StatusConflict, wantCode: transport.CodeConflict, wantDetail: "Idempotency-Key"},
		{name: "queue full", err: jobs.ErrQueueFull, wantStatus: http.StatusServiceUnavailable, wantCode: transport.CodeOverloaded, wantDetail: "queue is full"},
		{name: "closed", err: jobs.ErrClosed, wantStatus: http.StatusServiceUnavailable, wantCode: transport.CodeOverloaded, wantDetail: "shutting down"},
		{name: "problem", err: custom, wantStatus: http.StatusForbidden, wantCode: "out-of-credit", wantDetail: "balance is 30"},
		{name: "wrapped problem", err: fmt.Errorf("submit: %w", custom), wantStatus: http.StatusForbidden, wantCode: "out-of-credit", wantDetail: "balance is 30"},
		{
			name: "job error", err: &transport.JobError{JobID: "j", Problem: *transport.InvalidRequest("bad product ID")},
			wantStatus: http.StatusBadRequest, wantCode: transport.CodeInvalidRequest, wantDetail: "bad product ID",
		},
		{
			name: "problem wins over sentinel", err: errors.Join(jobs.ErrNotFound, custom),
			wantStatus: http.StatusForbidden, wantCode: "out-of-credit",
		},
		{name: "plain error", err: errors.New("disk full"), wantStatus: http.StatusInternalServerError, wantCode: transport.CodeInternal, wantDetail: "disk full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := wire.ProblemOf(tt.err)
			require.NotNil(t, p, "ProblemOf(%v)", tt.err)
			assert.Equal(t, tt.wantStatus, p.Status, "problem status")
			assert.Equal(t, tt.wantCode, p.Code, "problem code")
			assert.NotEmpty(t, p.Type, "problem type")
			assert.NotEmpty(t, p.Title, "problem title")
			assert.Contains(t, p.Detail, tt.wantDetail, "problem detail")
		})
	}

	p := wire.ProblemOf(custom)
	p.Detail = "changed"
	assert.Equal(t, "balance is 30", custom.Detail, "ProblemOf must return a copy of the error's problem")
	assert.Equal(t, custom.Type, wire.ProblemOf(custom).Type, "type of a problem from another service")
}

func TestWriteProblem(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name           string
		status         int
		wantStatus     int
		wantRetryAfter string
	}{
		{name: "bad request", status: http.StatusBadRequest, wantStatus: http.StatusBadRequest},
		{name: "not found", status: http.StatusNotFound, wantStatus: http.StatusNotFound},
		{name: "internal", status: http.StatusInternalServerError, wantStatus: http.StatusInternalServerError},
		{name: "unavailable", status: http.StatusServiceUnavailable, wantStatus: http.StatusServiceUnavailable, wantRetryAfter: "1"},
		{name: "too many requests", status: http.StatusTooManyRequests, wantStatus: http.StatusTooManyRequests, wantRetryAfter: "1"},
		{name: "gateway timeout", status: http.StatusGatewayTimeout, wantStatus: http.StatusGatewayTimeout},
		{name: "highest", status: 599, wantStatus: 599},
		{name: "no status", status: 0, wantStatus: http.StatusInternalServerError},
		{name: "success status", status: http.StatusOK, wantStatus: http.StatusInternalServerError},
		{name: "redirect status", status: 399, wantStatus: http.StatusInternalServerError},
		{name: "beyond 5xx", status: 600, wantStatus: http.StatusInternalServerError},
		{name: "negative", status: -400, wantStatus: http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := &transport.Problem{Type: transport.ProblemTypeBase + "x", Title: "X", Status: tt.status,
				Detail: "something failed", Code: "x", JobID: "0123456789abcdef0123456789abcdef"}
			sent := *p

			w := httptest.NewRecorder()
			wire.WriteProblem(w, p)

			resp := w.Result()
			assert.Equal(t, tt.wantStatus, resp.StatusCode, "response status")
			assert.Equal(t, wire.ContentTypeProblem, resp.Header.Get("Content-Type"), "Content-Type")
			assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"), "Cache-Control")
			assert.Equal(t, tt.wantRetryAfter, resp.Header.Get("Retry-After"), "Retry-After")
			assert.Equal(t, sent, *p, "WriteProblem must not change its argument")

			var got transport.Problem
			dec := json.NewDecoder(resp.Body)
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&got), "problem body")
			want := sent
			want.Status = tt.wantStatus // RFC 9457: the status member matches the response
			assert.Equal(t, want, got, "problem body")
		})
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()

	w := httptest.NewRecorder()
	wire.WriteJSON(w, http.StatusAccepted, sumResult{Sum: 3})
	assert.Equal(t, http.StatusAccepted, w.Code, "status")
	assert.Equal(t, wire.ContentTypeJSON, w.Header().Get("Content-Type"), "Content-Type")
	assert.Equal(t, "{\"sum\":3}\n", w.Body.String(), "body")

	w = httptest.NewRecorder()
	wire.WriteJSON(w, http.StatusOK, map[string]any{"bad": make(chan int)})
	assert.Equal(t, http.StatusInternalServerError, w.Code, "status of a value that cannot be encoded")
	assert.Equal(t, wire.ContentTypeProblem, w.Header().Get("Content-Type"), "Content-Type of a value that cannot be encoded")
	p, err := wire.DecodeProblem(w.Body.Bytes())
	require.NoError(t, err, "problem body")
	requireProblem(t, p, http.StatusInternalServerError, transport.CodeInternal, "cannot be encoded")
}

package wire_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
)

func problemResponse(status int, body io.Reader) *http.Response {
	return &http.Response{
		StatusCode: status,
		Status:     fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header:     http.Header{"Content-Type": {wire.ContentTypeProblem}},
		Body:       io.NopCloser(body),
	}
}

func TestReadProblem(t *testing.T) {
	t.Parallel()

	w := httptest.NewRecorder()
	sent := transport.NewProblem(http.StatusConflict, transport.CodeConflict, "key k1 was used with another body")
	sent.JobID = "0123456789abcdef0123456789abcdef"
	wire.WriteProblem(w, sent)
	got := wire.ReadProblem(w.Result())
	assert.Equal(t, sent, got, "problem written by WriteProblem")

	got = wire.ReadProblem(problemResponse(http.StatusNotFound, strings.NewReader(`{"code":"not-found","detail":"no job"}`)))
	assert.Equal(t, http.StatusNotFound, got.Status, "status of a problem without one")
	assert.Equal(t, transport.CodeNotFound, got.Code, "code")
	assert.Equal(t, "no job", got.Detail, "detail")

	got = wire.ReadProblem(problemResponse(http.StatusBadGateway, strings.NewReader(`{"type":"about:blank","status":503,"title":"Service Unavailable"}`)))
	assert.Equal(t, http.StatusServiceUnavailable, got.Status, "status given in the problem")
	assert.Equal(t, "about:blank", got.Code, "code from a type of another service")
}

func TestReadProblemWithoutDetails(t *testing.T) {
	t.Parallel()

	tests := []struct {
		status int
		body   string
		want   string // code
	}{
		{status: http.StatusBadRequest, body: "bad request", want: transport.CodeInvalidRequest},
		{status: http.StatusUnauthorized, body: "", want: transport.CodeUnauthorized},
		{status: http.StatusNotFound, body: "404 page not found\n", want: transport.CodeNotFound},
		{status: http.StatusMethodNotAllowed, body: "Method Not Allowed", want: transport.CodeMethodNotAllowed},
		{status: http.StatusRequestEntityTooLarge, body: "<html>413</html>", want: transport.CodeTooLarge},
		{status: http.StatusUnsupportedMediaType, body: "", want: transport.CodeUnsupportedMedia},
		{status: http.StatusTooManyRequests, body: "slow down", want: transport.CodeOverloaded},
		{status: http.StatusInternalServerError, body: "panic", want: transport.CodeInternal},
		{status: http.StatusBadGateway, body: "<html><body>Bad Gateway</body></html>", want: transport.CodeInternal},
		{status: http.StatusServiceUnavailable, body: "", want: transport.CodeOverloaded},
		{status: http.StatusGatewayTimeout, body: "upstream timed out", want: transport.CodeInternal},
		{status: http.StatusTeapot, body: `{"detail":"no code and no type"}`, want: transport.CodeInternal},
		{status: http.StatusConflict, body: `[1,2]`, want: transport.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			p := wire.ReadProblem(problemResponse(tt.status, strings.NewReader(tt.body)))
			requireGuessedProblem(t, p, tt.status, tt.want, "without problem details", http.StatusText(tt.status))
			assert.Contains(t, p.Detail, strconv.Quote(strings.TrimSpace(tt.body)), "detail quotes the body")
		})
	}
}

// countingReader returns an endless body and counts the bytes it returned.
type countingReader struct{ n int }

func (r *countingReader) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 'a'
	}
	r.n += len(b)
	return len(b), nil
}

func TestReadProblemLimit(t *testing.T) {
	t.Parallel()

	body := &countingReader{}
	p := wire.ReadProblem(problemResponse(http.StatusBadGateway, body))
	assert.LessOrEqual(t, body.n, wire.MaxProblemBytes, "bytes read from an endless body")
	requireGuessedProblem(t, p, http.StatusBadGateway, transport.CodeInternal, "without problem details", "...")
	assert.Less(t, len(p.Detail), 300, "detail length of a long body")

	// A problem over the limit is cut, so it is not valid JSON any more.
	long := `{"code":"job-failed","status":500,"detail":"` + strings.Repeat("x", wire.MaxProblemBytes) + `"}`
	p = wire.ReadProblem(problemResponse(http.StatusInternalServerError, strings.NewReader(long)))
	requireGuessedProblem(t, p, http.StatusInternalServerError, transport.CodeInternal, "without problem details")

	// One just under the limit is read whole.
	fits := `{"code":"job-failed","status":500,"detail":"` + strings.Repeat("x", wire.MaxProblemBytes-100) + `"}`
	p = wire.ReadProblem(problemResponse(http.StatusInternalServerError, strings.NewReader(fits)))
	assert.Equal(t, transport.CodeJobFailed, p.Code, "code of a problem under the limit")
	assert.Len(t, p.Detail, wire.MaxProblemBytes-100, "detail of a problem under the limit")
}

func TestDecodeProblem(t *testing.T) {
	t.Parallel()

	full := `{"type":"https://github.com/longhaul-go/longhaul/blob/main/docs/PROTOCOL.md#invalid-request",
		"title":"Invalid request","status":400,"code":"invalid-request",
		"detail":"product_ids[1] is empty","instance":"/jobs/x","job_id":"0123456789abcdef0123456789abcdef"}`
	tests := []struct {
		name string
		body string
		want transport.Problem
	}{
		{
			name: "full", body: full,
			want: transport.Problem{Type: transport.ProblemTypeBase + "invalid-request", Title: "Invalid request", Status: 400,
				Code: "invalid-request", Detail: "product_ids[1] is empty", Instance: "/jobs/x", JobID: "0123456789abcdef0123456789abcdef"},
		},
		{name: "code only", body: `{"code":"job-failed"}`, want: transport.Problem{Code: "job-failed"}},
		{
			name: "code from type", body: `{"type":"https://github.com/longhaul-go/longhaul/blob/main/docs/PROTOCOL.md#not-found","status":404}`,
			want: transport.Problem{Type: transport.ProblemTypeBase + "not-found", Status: 404, Code: "not-found"},
		},
		{
			name: "code wins over type", body: `{"type":"https://github.com/longhaul-go/longhaul/blob/main/docs/PROTOCOL.md#not-found","code":"job-failed"}`,
			want: transport.Problem{Type: transport.ProblemTypeBase + "not-found", Code: "job-failed"},
		},
		{
			name: "type of another service", body: `{"type":"https://example.com/probs/out-of-credit","title":"Out of credit"}`,
			want: transport.Problem{Type: "https://example.com/probs/out-of-credit", Title: "Out of credit", Code: "https://example.com/probs/out-of-credit"},
		},
		{
			name: "unknown members", body: `{"code":"x","balance":30,"accounts":["/a/1"]}`,
			want: transport.Problem{Code: "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := wire.DecodeProblem([]byte(tt.body))
			require.NoError(t, err)
			assert.Equal(t, tt.want, *got)
		})
	}
}

func TestDecodeProblemInvalid(t *testing.T) {
	t.Parallel()

	for _, body := range []string{
		``,
		`   `,
		`null`,
		`{}`,
		`[]`,
		`"not-found"`,
		`404`,
		`{"title":"Not found","status":404,"detail":"no job"}`,
		`{"code":"","type":""}`,
		`{"type":"https://github.com/longhaul-go/longhaul/blob/main/docs/PROTOCOL.md#"}`,
		`{"code":404}`,
		`{"code":"x","status":"404"}`,
		`{"code":"x"} trailing`,
		`{"code":"x"`,
		`<html>Bad Gateway</html>`,
	} {
		got, err := wire.DecodeProblem([]byte(body))
		assert.Error(t, err, "DecodeProblem(%q) returned %+v, want an error", body, got)
		assert.Nil(t, got, "problem of DecodeProblem(%q)", body)
	}
}

// requireGuessedProblem fails the test unless p is a problem that ReadProblem
// made up for a response without problem details: type about:blank, and the
// given status, code and detail parts.
func requireGuessedProblem(t *testing.T, p *transport.Problem, status int, code string, parts ...string) {
	t.Helper()
	require.NotNil(t, p, "got no problem, want %d %s", status, code)
	assert.Equal(t, "about:blank", p.Type, "type of a made-up problem")
	assert.Equal(t, status, p.Status, "problem status")
	assert.Equal(t, code, p.Code, "problem code")
	assert.NotEmpty(t, p.Title, "problem title")
	for _, part := range parts {
		assert.Contains(t, p.Detail, part, "problem detail")
	}
}

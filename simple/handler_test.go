package simple_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/simple"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// post sends body to url with the given headers and returns the response's
// status, headers and body.
func post(t *testing.T, method, url, body string, header map[string]string) (int, http.Header, []byte) {
	t.Helper()

	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the response: %v", err)
	}
	return resp.StatusCode, resp.Header, data
}

// requireProblem decodes a problem response and checks its status and code.
func requireProblem(t *testing.T, status int, header http.Header, body []byte, wantStatus int, wantCode string) *transport.Problem {
	t.Helper()

	if status != wantStatus {
		t.Errorf("got status %d, want %d (body %s)", status, wantStatus, body)
	}
	if got := header.Get("Content-Type"); got != wire.ContentTypeProblem {
		t.Errorf("got Content-Type %q, want %q", got, wire.ContentTypeProblem)
	}
	problem, err := wire.DecodeProblem(body)
	if err != nil {
		t.Fatalf("response is not a problem: %v (body %s)", err, body)
	}
	if problem.Code != wantCode {
		t.Errorf("got code %q, want %q (detail %q)", problem.Code, wantCode, problem.Detail)
	}
	return problem
}

func TestHandlerResultHeaders(t *testing.T) {
	t.Parallel()

	server := startServer(t, upperEngine, simple.HandlerConfig{})

	status, header, body := post(t, http.MethodPost, server.URL+"/run", `{"text":"bolt","n":4}`,
		map[string]string{"Content-Type": "application/json"})

	if status != http.StatusOK {
		t.Fatalf("got status %d, want 200 (body %s)", status, body)
	}
	if got := header.Get("Content-Type"); got != wire.ContentTypeJSON {
		t.Errorf("got Content-Type %q, want %q", got, wire.ContentTypeJSON)
	}
	if got, want := header.Get("Content-Length"), strconv.Itoa(len(body)); got != want {
		t.Errorf("got Content-Length %q, want %q", got, want)
	}
	if got, want := string(body), `{"text":"BOLT","n":8}`+"\n"; got != want {
		t.Errorf("got body %q, want %q", got, want)
	}
}

func TestHandlerWrongMethod(t *testing.T) {
	t.Parallel()

	server := startServer(t, upperEngine, simple.HandlerConfig{})

	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		status, header, body := post(t, method, server.URL+"/run", "", nil)
		requireProblem(t, status, header, body, http.StatusMethodNotAllowed, transport.CodeMethodNotAllowed)
		if got := header.Get("Allow"); got != http.MethodPost {
			t.Errorf("%s: got Allow %q, want %q", method, got, http.MethodPost)
		}
	}
}

func TestHandlerUnknownPath(t *testing.T) {
	t.Parallel()

	server := startServer(t, upperEngine, simple.HandlerConfig{BasePath: "api"})

	status, header, body := post(t, http.MethodPost, server.URL+"/api/jobs", "{}", nil)
	problem := requireProblem(t, status, header, body, http.StatusNotFound, transport.CodeNotFound)
	if !strings.Contains(problem.Detail, "POST /api/run") {
		t.Errorf("got detail %q, want it to name the route POST /api/run", problem.Detail)
	}

	status, _, body = post(t, http.MethodPost, server.URL+"/api/run", `{"text":"a"}`, nil)
	if status != http.StatusOK {
		t.Errorf("base path %q: got status %d, want 200 (body %s)", "api", status, body)
	}
}

func TestHandlerRejectsRequests(t *testing.T) {
	t.Parallel()

	server := startServer(t, &lookup.Engine{}, simple.HandlerConfig{MaxBodyBytes: 128})

	tests := []struct {
		name       string
		body       string
		header     map[string]string
		wantStatus int
		wantCode   string
	}{
		{"empty body", "", nil, http.StatusBadRequest, transport.CodeInvalidRequest},
		{"invalid JSON", `{"product_ids": [`, nil, http.StatusBadRequest, transport.CodeInvalidRequest},
		{"trailing data", `{"product_ids": ["1"]} {}`, nil, http.StatusBadRequest, transport.CodeInvalidRequest},
		{"too many bytes", `{"product_ids": ["` + strings.Repeat("1", 200) + `"]}`, nil,
			http.StatusRequestEntityTooLarge, transport.CodeTooLarge},
		{"not JSON", `product_ids=1`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			http.StatusUnsupportedMediaType, transport.CodeUnsupportedMedia},
		{"invalid timeout", `{"product_ids": ["1"]}`, map[string]string{wire.HeaderTimeout: "soon"},
			http.StatusBadRequest, transport.CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, header, body := post(t, http.MethodPost, server.URL+"/run", tt.body, tt.header)
			requireProblem(t, status, header, body, tt.wantStatus, tt.wantCode)
		})
	}
}

func TestHandlerAuthorize(t *testing.T) {
	t.Parallel()

	authorize := func(r *http.Request) (string, error) {
		if r.Header.Get("Authorization") != "Bearer good" {
			return "", errors.New("missing or unknown bearer token")
		}
		return "tenant-1", nil
	}
	server := startServer(t, upperEngine, simple.HandlerConfig{Authorize: authorize})

	status, header, body := post(t, http.MethodPost, server.URL+"/run", `{"text":"a"}`, nil)
	requireProblem(t, status, header, body, http.StatusUnauthorized, transport.CodeUnauthorized)

	status, _, body = post(t, http.MethodPost, server.URL+"/run", `{"text":"a"}`,
		map[string]string{"Authorization": "Bearer good"})
	if status != http.StatusOK {
		t.Errorf("authorized request: got status %d, want 200 (body %s)", status, body)
	}
}

func TestHandlerDeadlineIsJobTimeout(t *testing.T) {
	t.Parallel()

	stopped := make(chan error, 1)
	engine := transport.EngineFunc[echoRequest, echoResult](
		func(ctx context.Context, _ echoRequest, _ transport.ProgressFunc) (echoResult, error) {
			<-ctx.Done()
			stopped <- ctx.Err()
			return echoResult{}, ctx.Err()
		})
	server := startServer(t, engine, simple.HandlerConfig{})

	status, header, body := post(t, http.MethodPost, server.URL+"/run", `{}`,
		map[string]string{wire.HeaderTimeout: "50"})

	requireProblem(t, status, header, body, http.StatusGatewayTimeout, transport.CodeJobTimeout)
	if err := receive(t, stopped, "the engine's context to end"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("engine's context ended with %v, want context.DeadlineExceeded", err)
	}
}

func TestHandlerOverloaded(t *testing.T) {
	t.Parallel()

	started := make(chan struct{}, 1)
	release := make(chan struct{})
	engine := transport.EngineFunc[echoRequest, echoResult](
		func(ctx context.Context, _ echoRequest, _ transport.ProgressFunc) (echoResult, error) {
			started <- struct{}{}
			<-release
			return echoResult{Text: "done"}, nil
		})
	server := startServer(t, engine, simple.HandlerConfig{MaxConcurrent: 1})

	first := make(chan int, 1)
	go func() {
		resp, err := http.Post(server.URL+"/run", wire.ContentTypeJSON, strings.NewReader(`{}`))
		if err != nil {
			t.Errorf("first run: %v", err)
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	receive(t, started, "the first run to start")

	status, header, body := post(t, http.MethodPost, server.URL+"/run", `{}`, nil)
	requireProblem(t, status, header, body, http.StatusServiceUnavailable, transport.CodeOverloaded)
	if got := header.Get("Retry-After"); got == "" {
		t.Error("got no Retry-After header, want one on 503")
	}

	close(release)
	if got := receive(t, first, "the first run to end"); got != http.StatusOK {
		t.Errorf("first run: got status %d, want 200", got)
	}

	status, _, body = post(t, http.MethodPost, server.URL+"/run", `{}`, nil)
	if status != http.StatusOK {
		t.Errorf("after the first run ended: got status %d, want 200 (body %s)", status, body)
	}
}

func TestHandlerEnginePanic(t *testing.T) {
	t.Parallel()

	engine := transport.EngineFunc[echoRequest, echoResult](
		func(context.Context, echoRequest, transport.ProgressFunc) (echoResult, error) {
			panic("index out of range in the test engine")
		})
	server := startServer(t, engine, simple.HandlerConfig{MaxConcurrent: 1})

	for range 2 {
		status, header, body := post(t, http.MethodPost, server.URL+"/run", `{}`, nil)
		problem := requireProblem(t, status, header, body, http.StatusInternalServerError, transport.CodeInternal)
		if strings.Contains(problem.Detail, "index out of range") {
			t.Errorf("got detail %q, want the panic value kept out of the response", problem.Detail)
		}
	}
}

// syncBuffer is a bytes.Buffer that is safe for concurrent use.
type syncBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{mu: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

func TestHandlerLogs(t *testing.T) {
	t.Parallel()

	logs := newSyncBuffer()
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	engine := transport.EngineFunc[echoRequest, echoResult](
		func(_ context.Context, req echoRequest, _ transport.ProgressFunc) (echoResult, error) {
			if req.Text == "fail" {
				return echoResult{}, errors.New("engine failed on purpose")
			}
			return echoResult{Text: req.Text}, nil
		})
	server := startServer(t, engine, simple.HandlerConfig{Logger: logger})

	post(t, http.MethodPost, server.URL+"/run", `{"text":"ok"}`, nil)
	post(t, http.MethodPost, server.URL+"/run", `{"text":"fail"}`, nil)
	post(t, http.MethodPost, server.URL+"/run", `{"colour":"red"}`, nil)
	server.Close() // waits for the handlers, so every line is written

	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		lines = append(lines, entry)
	}

	want := []struct{ msg, level string }{
		{"simple: run started", "INFO"},
		{"simple: run finished", "INFO"},
		{"simple: run started", "INFO"},
		{"simple: run failed", "WARN"},
		{"simple: request rejected", "INFO"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d log lines, want %d:\n%s", len(lines), len(want), logs.String())
	}
	for i, w := range want {
		if lines[i]["msg"] != w.msg || lines[i]["level"] != w.level {
			t.Errorf("line %d: got %v %q, want %s %q", i, lines[i]["level"], lines[i]["msg"], w.level, w.msg)
		}
	}
	if lines[0]["run"] != lines[1]["run"] || lines[2]["run"] != lines[3]["run"] || lines[0]["run"] == lines[2]["run"] {
		t.Errorf("got run numbers %v %v %v %v, want one number per run on its start and end lines",
			lines[0]["run"], lines[1]["run"], lines[2]["run"], lines[3]["run"])
	}
	if lines[3]["code"] != transport.CodeJobFailed {
		t.Errorf("failure line: got code %v, want %q", lines[3]["code"], transport.CodeJobFailed)
	}
}

func TestNewHandlerPanics(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		runner jobs.Runner
		cfg    simple.HandlerConfig
	}{
		{"nil runner", nil, simple.HandlerConfig{}},
		{"wildcard in base path", jobs.EngineRunner(upperEngine), simple.HandlerConfig{BasePath: "/{tenant}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("NewHandler did not panic, want a panic")
				}
			}()
			simple.NewHandler(tt.runner, tt.cfg)
		})
	}
}

func TestJobTimeoutAnswer(t *testing.T) {
	t.Parallel()

	server := startRawServer(t, func(w http.ResponseWriter, r *http.Request) {
		wire.WriteProblem(w, transport.NewProblem(http.StatusGatewayTimeout, transport.CodeJobTimeout, "the job passed its caller's deadline"))
	})
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})

	t.Run("caller deadline imminent", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()

		_, err := client.Do(ctx, echoRequest{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got error %v, want the caller's context.DeadlineExceeded", err)
		}
	})

	t.Run("caller deadline far", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()

		_, err := client.Do(ctx, echoRequest{})
		if jobErr := requireJobError(t, err); jobErr.Problem.Code != transport.CodeJobTimeout {
			t.Errorf("got code %q, want %q", jobErr.Problem.Code, transport.CodeJobTimeout)
		}
	})
}

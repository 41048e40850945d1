package polling

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// response is a finished HTTP exchange with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send sends a request to the test server and reads the whole response.
func send(t *testing.T, method, url, body string, header map[string]string) response {
	t.Helper()
	resp, err := exchange(method, url, body, header)
	require.NoError(t, err)
	return resp
}

// exchange is send for goroutines other than the test's, which must not call
// t.FailNow.
func exchange(method, url, body string, header map[string]string) (response, error) {
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for name, value := range header {
		req.Header.Set(name, value)
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

func (r response) statusDocument(t *testing.T) *wire.Status {
	t.Helper()
	require.Equal(t, wire.ContentTypeJSON, r.header.Get("Content-Type"), "Content-Type of a status; body %s", r.body)
	st, err := wire.DecodeStatus(r.body)
	require.NoError(t, err, "body %s", r.body)
	return st
}

func (r response) problem(t *testing.T) *transport.Problem {
	t.Helper()
	require.Equal(t, wire.ContentTypeProblem, r.header.Get("Content-Type"), "Content-Type of an error; body %s", r.body)
	p, err := wire.DecodeProblem(r.body)
	require.NoError(t, err, "body %s", r.body)
	assert.Equal(t, r.status, p.Status, "status in the problem")
	return p
}

func TestHandlerSubmitResponse(t *testing.T) {
	t.Parallel()
	ts := startServer(t, sumEngine(), serverOptions{mountAt: "/api"})

	resp := send(t, http.MethodPost, ts.URL+"/jobs", `{"numbers":[1,2]}`, nil)
	require.Equal(t, http.StatusAccepted, resp.status, "body %s", resp.body)
	st := resp.statusDocument(t)

	assert.Equal(t, "/api/jobs/"+st.ID, resp.header.Get("Location"))
	assert.Equal(t, "1", resp.header.Get("Retry-After"))
	assert.Equal(t, "no-store", resp.header.Get("Cache-Control"))
	assert.NotZero(t, wire.ParseETag(resp.header.Get("ETag")), "ETag %q", resp.header.Get("ETag"))
	assert.Empty(t, resp.header.Get(headerReplayed))

	job, err := ts.rt.Get(context.Background(), "", st.ID)
	require.NoError(t, err, "a job must be readable the moment its 202 is sent")
	assert.JSONEq(t, `{"numbers":[1,2]}`, string(job.Request))

	// The Location leads to the job.
	got := send(t, http.MethodGet, ts.srv.URL+resp.header.Get("Location"), "", nil)
	require.Equal(t, http.StatusOK, got.status, "body %s", got.body)
	assert.Equal(t, st.ID, got.statusDocument(t).ID)
	assert.Equal(t, "no-store", got.header.Get("Cache-Control"))
}

func TestHandlerReplayAndConflict(t *testing.T) {
	t.Parallel()
	ts := startServer(t, sumEngine(), serverOptions{})
	key := map[string]string{"Idempotency-Key": "invoice-12"}

	first := send(t, http.MethodPost, ts.URL+"/jobs", `{"numbers":[1]}`, key)
	require.Equal(t, http.StatusAccepted, first.status, "body %s", first.body)
	// The same request in another encoding is the same request.
	second := send(t, http.MethodPost, ts.URL+"/jobs", `{ "numbers" : [ 1 ] }`, key)
	require.Equal(t, http.StatusAccepted, second.status, "body %s", second.body)

	assert.Equal(t, first.header.Get("Location"), second.header.Get("Location"))
	assert.Equal(t, "true", second.header.Get(headerReplayed))

	conflict := send(t, http.MethodPost, ts.URL+"/jobs", `{"numbers":[2]}`, key)
	require.Equal(t, http.StatusConflict, conflict.status)
	assert.Equal(t, transport.CodeConflict, conflict.problem(t).Code)
	assert.Empty(t, conflict.header.Get("Location"))
}

func TestHandlerProblems(t *testing.T) {
	t.Parallel()
	ts := startServer(t, sumEngine(), serverOptions{handler: HandlerConfig{MaxBodyBytes: 64}})
	jobsURL := ts.URL + "/jobs"
	unknown := jobs.NewID()

	tests := []struct {
		name       string
		method     string
		url        string
		body       string
		header     map[string]string
		wantStatus int
		wantCode   string
		wantAllow  string
		wantDetail string
		wantJobID  string
	}{
		{name: "invalid JSON", method: http.MethodPost, url: jobsURL, body: `{"numbers":[1,`,
			wantStatus: 400, wantCode: transport.CodeInvalidRequest},
		{name: "unknown field", method: http.MethodPost, url: jobsURL, body: `{"numbrs":[1]}`,
			wantStatus: 400, wantCode: transport.CodeInvalidRequest, wantDetail: "numbrs"},
		{name: "empty body", method: http.MethodPost, url: jobsURL, body: ``,
			wantStatus: 400, wantCode: transport.CodeInvalidRequest},
		{name: "oversized body", method: http.MethodPost, url: jobsURL, body: `{"numbers":[` + strings.Repeat("1,", 64) + `1]}`,
			wantStatus: 413, wantCode: transport.CodeTooLarge},
		{name: "wrong content type", method: http.MethodPost, url: jobsURL, body: `{"numbers":[1]}`,
			header:     map[string]string{"Content-Type": "text/plain"},
			wantStatus: 415, wantCode: transport.CodeUnsupportedMedia},
		{name: "invalid idempotency key", method: http.MethodPost, url: jobsURL, body: `{"numbers":[1]}`,
			header:     map[string]string{"Idempotency-Key": "two words"},
			wantStatus: 400, wantCode: transport.CodeInvalidRequest, wantDetail: "Idempotency-Key"},
		{name: "invalid timeout", method: http.MethodPost, url: jobsURL, body: `{"numbers":[1]}`,
			header:     map[string]string{wire.HeaderTimeout: "soon"},
			wantStatus: 400, wantCode: transport.CodeInvalidRequest, wantDetail: wire.HeaderTimeout},
		{name: "callback without callback support", method: http.MethodPost, url: jobsURL, body: `{"numbers":[1]}`,
			header:     map[string]string{wire.HeaderCallbackURL: "https://example.com/hook"},
			wantStatus: 400, wantCode: transport.CodeInvalidRequest, wantDetail: "this server does not deliver callbacks"},
		{name: "GET on jobs", method: http.MethodGet, url: jobsURL,
			wantStatus: 405, wantCode: transport.CodeMethodNotAllowed, wantAllow: "POST"},
		{name: "PUT on a job", method: http.MethodPut, url: jobsURL + "/" + unknown, body: `{}`,
			wantStatus: 405, wantCode: transport.CodeMethodNotAllowed, wantAllow: "GET, HEAD, DELETE"},
		{name: "unknown job", method: http.MethodGet, url: jobsURL + "/" + unknown,
			wantStatus: 404, wantCode: transport.CodeNotFound, wantJobID: unknown},
		{name: "cancel unknown job", method: http.MethodDelete, url: jobsURL + "/" + unknown,
			wantStatus: 404, wantCode: transport.CodeNotFound, wantJobID: unknown},
		{name: "malformed job ID", method: http.MethodGet, url: jobsURL + "/not-an-id",
			wantStatus: 404, wantCode: transport.CodeNotFound},
		{name: "unknown path", method: http.MethodGet, url: ts.URL + "/run",
			wantStatus: 404, wantCode: transport.CodeNotFound, wantDetail: "/run"},
		{name: "path below a job", method: http.MethodGet, url: jobsURL + "/" + unknown + "/result",
			wantStatus: 404, wantCode: transport.CodeNotFound},
		{name: "invalid wait", method: http.MethodGet, url: jobsURL + "/" + unknown + "?wait=forever",
			wantStatus: 400, wantCode: transport.CodeInvalidRequest, wantDetail: "wait", wantJobID: unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := send(t, tt.method, tt.url, tt.body, tt.header)
			require.Equal(t, tt.wantStatus, resp.status, "body %s", resp.body)
			p := resp.problem(t)
			assert.Equal(t, tt.wantCode, p.Code)
			assert.Equal(t, transport.ProblemTypeBase+tt.wantCode, p.Type)
			assert.NotEmpty(t, p.Title)
			assert.Equal(t, tt.wantAllow, resp.header.Get("Allow"))
			assert.Contains(t, p.Detail, tt.wantDetail)
			assert.Equal(t, tt.wantJobID, p.JobID)
		})
	}
}

func TestHandlerLongPollWaitCap(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	ts := startServer(t, blockingEngine(release, nil), serverOptions{handler: HandlerConfig{MaxWait: 150 * time.Millisecond}})

	submitted := send(t, http.MethodPost, ts.URL+"/jobs", `{"numbers":[1]}`, nil)
	require.Equal(t, http.StatusAccepted, submitted.status)
	id := submitted.statusDocument(t).ID
	running := ts.waitForState(t, "", id, isState(jobs.StateRunning))
	etag := wire.ETag(running.Version)

	start := time.Now()
	resp := send(t, http.MethodGet, ts.URL+"/jobs/"+id, "", map[string]string{"Prefer": "wait=30", "If-None-Match": etag})
	elapsed := time.Since(start)

	require.Equal(t, http.StatusOK, resp.status, "body %s", resp.body)
	assert.GreaterOrEqual(t, elapsed, 150*time.Millisecond, "a long-poll without a change returned early")
	assert.Less(t, elapsed, 2*time.Second, "a long-poll ran past the server's MaxWait")
	assert.Equal(t, "wait=0.15", resp.header.Get(headerPreferenceApplied))
	assert.Equal(t, etag, resp.header.Get("ETag"), "ETag of an unchanged job")
	assert.Equal(t, jobs.StateRunning, resp.statusDocument(t).State)
}

func TestHandlerLongPollReturnsOnChange(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	ts := startServer(t, blockingEngine(release, nil), serverOptions{})

	submitted := send(t, http.MethodPost, ts.URL+"/jobs", `{"numbers":[5,6]}`, nil)
	require.Equal(t, http.StatusAccepted, submitted.status)
	id := submitted.statusDocument(t).ID
	running := ts.waitForState(t, "", id, isState(jobs.StateRunning))

	type result struct {
		resp response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		// Without If-None-Match the long-poll waits for the job's end.
		resp, err := exchange(http.MethodGet, ts.URL+"/jobs/"+id+"?wait=20", "", nil)
		done <- result{resp, err}
	}()
	ts.waitForLongPoll(t)
	start := time.Now()
	close(release)

	var resp response
	select {
	case got := <-done:
		require.NoError(t, got.err)
		resp = got.resp
	case <-time.After(5 * time.Second):
		t.Fatal("the long-poll did not return within 5 s of the job's end")
	}
	assert.Less(t, time.Since(start), time.Second, "the long-poll returned late after the change")
	require.Equal(t, http.StatusOK, resp.status, "body %s", resp.body)
	st := resp.statusDocument(t)
	assert.Equal(t, jobs.StateSucceeded, st.State)
	assert.JSONEq(t, `{"sum":11}`, string(st.Result))
	assert.Greater(t, wire.ParseETag(resp.header.Get("ETag")), running.Version, "ETag after the change")
	assert.Equal(t, "wait=20", resp.header.Get(headerPreferenceApplied))
}

func TestHandlerLongPollETagAlreadyStale(t *testing.T) {
	t.Parallel()
	ts := startServer(t, sumEngine(), serverOptions{})

	submitted := send(t, http.MethodPost, ts.URL+"/jobs", `{"numbers":[1]}`, nil)
	require.Equal(t, http.StatusAccepted, submitted.status)
	id := submitted.statusDocument(t).ID
	ts.waitForState(t, "", id, jobs.State.Finished)

	start := time.Now()
	resp := send(t, http.MethodGet, ts.URL+"/jobs/"+id, "", map[string]string{"Prefer": "wait=20", "If-None-Match": submitted.header.Get("ETag")})
	assert.Less(t, time.Since(start), time.Second, "a long-poll with a stale ETag must return at once")
	require.Equal(t, http.StatusOK, resp.status)
	assert.Equal(t, jobs.StateSucceeded, resp.statusDocument(t).State)
}

func TestHandlerCancel(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	ts := startServer(t, blockingEngine(release, nil), serverOptions{runtime: jobs.Config{Workers: 1}})

	running := send(t, http.MethodPost, ts.URL+"/jobs", `{"numbers":[1]}`, nil).statusDocument(t).ID
	ts.waitForState(t, "", running, isState(jobs.StateRunning))
	// The only worker is busy, so this job stays queued.
	queued := send(t, http.MethodPost, ts.URL+"/jobs", `{"numbers":[2]}`, nil).statusDocument(t).ID

	resp := send(t, http.MethodDelete, ts.URL+"/jobs/"+queued, "", nil)
	require.Equal(t, http.StatusOK, resp.status, "body %s", resp.body)
	st := resp.statusDocument(t)
	assert.Equal(t, jobs.StateCanceled, st.State, "a queued job ends at once")
	require.NotNil(t, st.Problem)
	assert.Equal(t, transport.CodeJobCanceled, st.Problem.Code)

	resp = send(t, http.MethodDelete, ts.URL+"/jobs/"+running, "", nil)
	require.Equal(t, http.StatusOK, resp.status, "body %s", resp.body)
	job := ts.waitForState(t, "", running, jobs.State.Finished)
	assert.Equal(t, jobs.StateCanceled, job.State, "a running job ends when its engine returns")

	// Deleting a finished job returns it unchanged.
	again := send(t, http.MethodDelete, ts.URL+"/jobs/"+running, "", nil)
	require.Equal(t, http.StatusOK, again.status)
	assert.Equal(t, wire.ETag(job.Version), again.header.Get("ETag"))
}

func TestHandlerDeadlineFromHeader(t *testing.T) {
	t.Parallel()
	ts := startServer(t, blockingEngine(nil, nil), serverOptions{})

	before := time.Now()
	resp := send(t, http.MethodPost, ts.URL+"/jobs", `{"numbers":[1]}`, map[string]string{wire.HeaderTimeout: "50"})
	require.Equal(t, http.StatusAccepted, resp.status, "body %s", resp.body)
	id := resp.statusDocument(t).ID

	job := ts.waitForState(t, "", id, jobs.State.Finished)
	assert.WithinDuration(t, before.Add(50*time.Millisecond), job.Deadline, 50*time.Millisecond)
	assert.Equal(t, jobs.StateFailed, job.State)
	require.NotNil(t, job.Problem)
	assert.Equal(t, transport.CodeJobTimeout, job.Problem.Code)
}

func TestHandlerSubmitHook(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []jobs.Submission
	hook := func(r *http.Request, s *jobs.Submission) *transport.Problem {
		mu.Lock()
		seen = append(seen, *s)
		mu.Unlock()
		url := r.Header.Get(wire.HeaderCallbackURL)
		if url == "" {
			return transport.InvalidRequest("missing %s", wire.HeaderCallbackURL)
		}
		s.Callback = &jobs.Callback{URL: url, Secret: r.Header.Get(wire.HeaderCallbackSecret), State: jobs.DeliveryPending}
		return nil
	}
	ts := startServer(t, sumEngine(), serverOptions{handler: HandlerConfig{SubmitHook: hook}})

	rejected := send(t, http.MethodPost, ts.URL+"/jobs", `{"numbers":[1]}`, nil)
	require.Equal(t, http.StatusBadRequest, rejected.status)
	assert.Equal(t, "missing "+wire.HeaderCallbackURL, rejected.problem(t).Detail)

	accepted := send(t, http.MethodPost, ts.URL+"/jobs", `{"numbers":[1]}`, map[string]string{
		wire.HeaderCallbackURL:    "https://example.com/hook",
		wire.HeaderCallbackSecret: "whsec_c2VjcmV0",
		"Idempotency-Key":         "k-1",
	})
	require.Equal(t, http.StatusAccepted, accepted.status, "body %s", accepted.body)
	st := accepted.statusDocument(t)
	require.NotNil(t, st.Callback, "callback in the status document")
	assert.Equal(t, "https://example.com/hook", st.Callback.URL)
	assert.NotContains(t, string(accepted.body), "whsec_", "the status document must not carry the secret")

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 2, "hook calls")
	assert.Equal(t, "k-1", seen[1].IdempotencyKey)
	assert.JSONEq(t, `{"numbers":[1]}`, string(seen[1].Request))
	job, err := ts.rt.Get(context.Background(), "", st.ID)
	require.NoError(t, err)
	require.NotNil(t, job.Callback)
	assert.Equal(t, "whsec_c2VjcmV0", job.Callback.Secret)
}

func TestHandlerStatusOfFailedJob(t *testing.T) {
	t.Parallel()
	engine := transport.EngineFunc[sumRequest, sumResult](func(context.Context, sumRequest, transport.ProgressFunc) (sumResult, error) {
		return sumResult{}, transport.NewProblem(http.StatusUnprocessableEntity, "product-retired", "product 7 was retired")
	})
	ts := startServer(t, engine, serverOptions{})

	id := send(t, http.MethodPost, ts.URL+"/jobs", `{"numbers":[7]}`, nil).statusDocument(t).ID
	resp := send(t, http.MethodGet, ts.URL+"/jobs/"+id+"?wait=5", "", nil)

	// A failed job is a successful status request: 200 with the problem inside.
	require.Equal(t, http.StatusOK, resp.status)
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(resp.body, &doc))
	assert.JSONEq(t, `"failed"`, string(doc["state"]))
	st := resp.statusDocument(t)
	require.NotNil(t, st.Problem)
	assert.Equal(t, "product-retired", st.Problem.Code)
	assert.Equal(t, id, st.Problem.JobID)
}

func TestHandlerBasePathCleaned(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{{"", ""}, {"/", ""}, {"api", "/api"}, {"/api/", "/api"}, {"/a/b", "/a/b"}} {
		assert.Equal(t, tt.want, cleanBasePath(tt.in), "cleanBasePath(%q)", tt.in)
	}
	rt := jobs.New(jobs.EngineRunner(sumEngine()), jobs.Config{})
	defer func() { _ = rt.Shutdown(context.Background()) }()
	assert.Panics(t, func() { NewHandler(rt, HandlerConfig{BasePath: "/{x}"}) })
	assert.Panics(t, func() { NewHandler(nil, HandlerConfig{}) })
}

// Header values far beyond any real wait or timeout saturate instead of
// overflowing time.Duration into a negative value.
func TestHandlerHugeWaitAndTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	ts := startServer(t, blockingEngine(release, nil), serverOptions{handler: HandlerConfig{MaxWait: 100 * time.Millisecond}})

	resp := send(t, http.MethodPost, ts.URL+"/jobs", `{"numbers":[1]}`, map[string]string{wire.HeaderTimeout: "99999999999999999"})
	require.Equal(t, http.StatusAccepted, resp.status, "body %s", resp.body)
	id := resp.statusDocument(t).ID
	job := ts.waitForState(t, "", id, isState(jobs.StateRunning))
	assert.True(t, job.Deadline.After(time.Now().Add(100*365*24*time.Hour)), "deadline %v of a huge timeout", job.Deadline)

	for _, wait := range []string{"1e10", "1e300", "Inf"} {
		start := time.Now()
		got := send(t, http.MethodGet, ts.URL+"/jobs/"+id+"?wait="+wait, "", nil)
		require.Equal(t, http.StatusOK, got.status, "wait=%s: body %s", wait, got.body)
		assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "wait=%s returned before MaxWait", wait)
		assert.Equal(t, "wait=0.1", got.header.Get(headerPreferenceApplied), "wait=%s", wait)
	}

	header := http.Header{"Retry-After": []string{"99999999999999"}}
	assert.Positive(t, wire.RetryAfter(header, time.Now()), "Retry-After of %s", header.Get("Retry-After"))
}

// lockedBuffer is a bytes.Buffer that a logger can write from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the JSON log records written so far.
func (b *lockedBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(b.buf.Bytes()), []byte("\n")) {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(line, &rec), "log line %s", line)
		out = append(out, rec)
	}
	return out
}

func TestHandlerLogsWithJobID(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := startServer(t, sumEngine(), serverOptions{handler: HandlerConfig{Logger: logger}})
	unknown := jobs.NewID()

	id := send(t, http.MethodPost, ts.URL+"/jobs", `{"numbers":[1]}`, nil).statusDocument(t).ID
	require.Equal(t, http.StatusOK, send(t, http.MethodDelete, ts.URL+"/jobs/"+id, "", nil).status)
	require.Equal(t, http.StatusNotFound, send(t, http.MethodGet, ts.URL+"/jobs/"+unknown, "", nil).status)

	want := map[string]string{"job submitted": id, "job cancel requested": id, "request failed": unknown}
	for _, rec := range logs.records(t) {
		msg, _ := rec["msg"].(string)
		if jobID, ok := want[msg]; ok {
			assert.Equal(t, jobID, rec["job_id"], "job_id of log line %q", msg)
			delete(want, msg)
		}
	}
	assert.Empty(t, want, "log lines missing")
}

func TestHandlerDrainEndsLongPolls(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	rt := jobs.New(jobs.EngineRunner(blockingEngine(release, nil)), jobs.Config{PollInterval: 10 * time.Millisecond})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_ = rt.Shutdown(ctx)
	})
	h := NewHandler(rt, HandlerConfig{})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	submitted := send(t, http.MethodPost, srv.URL+"/jobs", `{"numbers":[1]}`, nil)
	require.Equal(t, http.StatusAccepted, submitted.status)
	id := submitted.statusDocument(t).ID

	done := make(chan response, 1)
	go func() {
		resp, err := exchange(http.MethodGet, srv.URL+"/jobs/"+id+"?wait=30", "", nil)
		if err != nil {
			t.Errorf("long-poll: %v", err)
		}
		done <- resp
	}()
	time.Sleep(50 * time.Millisecond) // let the long-poll start waiting
	drainedAt := time.Now()
	h.Drain()

	select {
	case resp := <-done:
		assert.Less(t, time.Since(drainedAt), time.Second, "time from Drain to the long-poll's answer")
		require.Equal(t, http.StatusOK, resp.status, "body %s", resp.body)
		assert.NotEqual(t, jobs.StateSucceeded, resp.statusDocument(t).State, "state of a job still running")
	case <-time.After(5 * time.Second):
		t.Fatal("the long-poll did not answer within 5 s of Drain")
	}

	start := time.Now()
	later := send(t, http.MethodGet, srv.URL+"/jobs/"+id+"?wait=30", "", nil)
	require.Equal(t, http.StatusOK, later.status)
	assert.Less(t, time.Since(start), time.Second, "a long-poll that started after Drain waited")
}

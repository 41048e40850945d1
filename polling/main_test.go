package polling

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sumRequest and sumResult are the types of the tiny engine most tests run.
type sumRequest struct {
	Numbers []int `json:"numbers"`
}

type sumResult struct {
	Sum int `json:"sum"`
}

// sumEngine adds the numbers and reports one step of progress per number.
func sumEngine() transport.EngineFunc[sumRequest, sumResult] {
	return func(ctx context.Context, req sumRequest, progress transport.ProgressFunc) (sumResult, error) {
		sum := 0
		for i, n := range req.Numbers {
			if err := ctx.Err(); err != nil {
				return sumResult{}, err
			}
			sum += n
			progress(transport.Progress{Done: i + 1, Total: len(req.Numbers)})
		}
		return sumResult{Sum: sum}, nil
	}
}

// blockingEngine runs until release is closed, then sums like sumEngine, or
// returns ctx's error when the job's context ends first. It sends the job's
// context on started, when started is not nil.
func blockingEngine(release <-chan struct{}, started chan<- context.Context) transport.EngineFunc[sumRequest, sumResult] {
	return func(ctx context.Context, req sumRequest, progress transport.ProgressFunc) (sumResult, error) {
		if started != nil {
			select {
			case started <- ctx:
			default:
			}
		}
		select {
		case <-release:
		case <-ctx.Done():
			return sumResult{}, ctx.Err()
		}
		return sumEngine()(ctx, req, progress)
	}
}

// testServer is a real jobs.Runtime behind a real HTTP server on loopback.
type testServer struct {
	rt  *jobs.Runtime
	srv *httptest.Server
	URL string

	posts       atomic.Int64 // POST requests that reached the handler
	gets        atomic.Int64 // GET requests that reached the handler
	longPolls   atomic.Int64 // GET requests with a wait in progress
	mu          sync.Mutex
	keys        []string // Idempotency-Key of every POST
	replayedKey []bool   // whether each POST's response was a replay
}

// serverOptions configures startServer.
type serverOptions struct {
	handler HandlerConfig
	runtime jobs.Config
	// before runs in front of the polling handler and returns true when it has
	// written the response itself.
	before func(w http.ResponseWriter, r *http.Request) bool
	// mountAt mounts the handler under this prefix of a ServeMux, as users do.
	mountAt string
}

// startServer starts a runtime that runs engine and a server with a polling
// handler, both stopped when the test ends. Jobs read their changes every
// 10 ms and store every progress report.
func startServer[Req, Res any](t *testing.T, engine transport.Engine[Req, Res], opts serverOptions) *testServer {
	t.Helper()

	rcfg := opts.runtime
	if rcfg.PollInterval == 0 {
		rcfg.PollInterval = 10 * time.Millisecond
	}
	if rcfg.ProgressInterval == 0 {
		rcfg.ProgressInterval = time.Nanosecond
	}
	ts := &testServer{rt: jobs.New(jobs.EngineRunner(engine), rcfg)}

	hcfg := opts.handler
	if opts.mountAt != "" {
		hcfg.BasePath = opts.mountAt
	}
	var handler http.Handler = NewHandler(ts.rt, hcfg)
	if opts.mountAt != "" {
		mux := http.NewServeMux()
		mux.Handle(opts.mountAt+"/", handler)
		handler = mux
	}
	ts.srv = httptest.NewServer(ts.instrument(handler, opts.before))
	ts.URL = ts.srv.URL + opts.mountAt

	t.Cleanup(func() {
		ts.srv.Close()
		// Jobs that still run when the test ends are canceled after a short
		// grace, and Shutdown then returns the grace's DeadlineExceeded.
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := ts.rt.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("runtime shutdown: %v", err)
		}
	})
	return ts
}

// instrument counts the requests that reach handler.
func (ts *testServer) instrument(handler http.Handler, before func(http.ResponseWriter, *http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if before != nil && before(w, r) {
			return
		}
		if r.Method == http.MethodGet {
			ts.gets.Add(1)
		}
		switch {
		case r.Method == http.MethodPost:
			ts.posts.Add(1)
			handler.ServeHTTP(w, r)
			ts.mu.Lock()
			ts.keys = append(ts.keys, r.Header.Get("Idempotency-Key"))
			ts.replayedKey = append(ts.replayedKey, w.Header().Get(headerReplayed) == "true")
			ts.mu.Unlock()
		case r.Method == http.MethodGet && (r.Header.Get("Prefer") != "" || r.URL.Query().Has("wait")):
			ts.longPolls.Add(1)
			defer ts.longPolls.Add(-1)
			handler.ServeHTTP(w, r)
		default:
			handler.ServeHTTP(w, r)
		}
	})
}

// submitted returns the Idempotency-Key of every POST and whether its
// response was a replay.
func (ts *testServer) submitted() (keys []string, replayed []bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.keys...), append([]bool(nil), ts.replayedKey...)
}

// waitForLongPoll waits until a long-poll is in progress on the server.
func (ts *testServer) waitForLongPoll(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool { return ts.longPolls.Load() > 0 }, 5*time.Second, time.Millisecond,
		"no long-poll reached the server")
}

// waitForState waits until the job is in a state for which ok returns true,
// and returns it.
func (ts *testServer) waitForState(t *testing.T, owner, id string, ok func(jobs.State) bool) *jobs.Job {
	t.Helper()
	var job *jobs.Job
	require.Eventually(t, func() bool {
		var err error
		job, err = ts.rt.Get(context.Background(), owner, id)
		return err == nil && ok(job.State)
	}, 5*time.Second, time.Millisecond, "job %s did not reach the expected state", id)
	return job
}

// testConfig returns a client configuration with short intervals and tiny
// backoffs, so that retries do not slow the tests.
func testConfig() Config {
	return Config{
		PollInterval: 10 * time.Millisecond,
		LongPoll:     5 * time.Second,
		Pipeline: transport.PipelineConfig{
			Retry: transport.RetryPolicy{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryAfter: 5 * time.Millisecond},
		},
	}
}

// newTestClient returns a client of baseURL that is closed when the test ends.
func newTestClient[Req, Res any](t *testing.T, baseURL string, cfg Config) *Client[Req, Res] {
	t.Helper()
	c, err := NewClient[Req, Res](baseURL, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// requireJobError asserts that err is a *transport.JobError with the code and
// returns it.
func requireJobError(t *testing.T, err error, code string) *transport.JobError {
	t.Helper()
	var jobErr *transport.JobError
	require.True(t, errors.As(err, &jobErr), "got error %v (%T), want a *transport.JobError", err, err)
	require.Equal(t, code, jobErr.Problem.Code, "problem code of %v", err)
	return jobErr
}

// isState returns a predicate for waitForState.
func isState(want jobs.State) func(jobs.State) bool {
	return func(s jobs.State) bool { return s == want }
}

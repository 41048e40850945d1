package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testReq is the request of the test engine.
type testReq struct {
	Value string `json:"value"`
	Fail  bool   `json:"fail,omitempty"`  // the engine fails the job
	Block bool   `json:"block,omitempty"` // the engine waits until its context ends
	Steps int    `json:"steps,omitempty"` // progress reports, one every 5 ms
}

// testRes is the result of the test engine.
type testRes struct {
	Echo string `json:"echo"`
}

var testEngine = transport.EngineFunc[testReq, testRes](func(ctx context.Context, req testReq, progress transport.ProgressFunc) (testRes, error) {
	if req.Block {
		<-ctx.Done()
		return testRes{}, ctx.Err()
	}
	for i := 0; i < req.Steps; i++ {
		progress(transport.Progress{Done: i, Total: req.Steps})
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			return testRes{}, ctx.Err()
		}
	}
	if req.Steps > 0 {
		progress(transport.Progress{Done: req.Steps, Total: req.Steps})
	}
	if req.Fail {
		return testRes{}, transport.NewProblem(http.StatusUnprocessableEntity, "stock-unavailable", "value %q cannot be looked up", req.Value)
	}
	return testRes{Echo: req.Value}, nil
})

// testServer is a callback server on loopback with a short delivery schedule.
type testServer struct {
	rt      *jobs.Runtime
	handler *Handler
	srv     *httptest.Server
	reads   atomic.Int64 // GET requests served
	waits   atomic.Int64 // GET requests with a Prefer: wait header (long-polls)

	// front, when set, serves each request in place of the handler, which
	// it gets as next, so a test can change requests and responses.
	front atomic.Pointer[func(w http.ResponseWriter, r *http.Request, next http.Handler)]
}

// newTestServer starts a server with cfg, whose zero delivery settings are
// replaced by short ones. Its cleanup stops the HTTP server, the runtime and
// the dispatcher.
func newTestServer(t *testing.T, cfg HandlerConfig) *testServer {
	t.Helper()
	if cfg.DispatchInterval == 0 {
		cfg.DispatchInterval = 5 * time.Millisecond
	}
	if cfg.Retry.MinBackoff == 0 {
		cfg.Retry.MinBackoff = 5 * time.Millisecond
	}
	if cfg.Retry.MaxBackoff == 0 {
		cfg.Retry.MaxBackoff = 20 * time.Millisecond
	}
	if cfg.DeliveryTimeout == 0 {
		cfg.DeliveryTimeout = 2 * time.Second
	}

	rt := jobs.New(jobs.EngineRunner[testReq, testRes](testEngine), jobs.Config{
		PollInterval:     10 * time.Millisecond,
		ProgressInterval: time.Millisecond,
	})
	s := &testServer{rt: rt, handler: NewHandler(rt, cfg)}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			s.reads.Add(1)
			if r.Header.Get("Prefer") != "" {
				s.waits.Add(1)
			}
		}
		if front := s.front.Load(); front != nil {
			(*front)(w, r, s.handler)
			return
		}
		s.handler.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		s.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		require.NoError(t, rt.Shutdown(ctx), "runtime shutdown")
		require.NoError(t, s.handler.Shutdown(ctx), "handler shutdown")
	})
	return s
}

// setFront makes f serve every request in place of the handler.
func (s *testServer) setFront(f func(w http.ResponseWriter, r *http.Request, next http.Handler)) {
	s.front.Store(&f)
}

// submit posts body to the server's POST /jobs with the given headers and
// returns the answer's status code and body.
func (s *testServer) submit(t *testing.T, body string, header map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+"/jobs", bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

// submitCallback submits req as a callback job to callbackURL, signed with
// secret, and returns the job ID.
func (s *testServer) submitCallback(t *testing.T, req testReq, callbackURL, secret string) string {
	t.Helper()
	body, err := json.Marshal(req)
	require.NoError(t, err)
	code, answer := s.submit(t, string(body), map[string]string{
		wire.HeaderCallbackURL:    callbackURL,
		wire.HeaderCallbackSecret: secret,
	})
	require.Equal(t, http.StatusAccepted, code, "submit answer: %s", answer)
	st, err := wire.DecodeStatus(answer)
	require.NoError(t, err)
	return st.ID
}

// job returns the stored job.
func (s *testServer) job(t *testing.T, id string) *jobs.Job {
	t.Helper()
	job, err := s.rt.Store().Get(context.Background(), id)
	require.NoError(t, err)
	return job
}

// waitDelivery waits until the job's delivery has the given state and returns the job.
func (s *testServer) waitDelivery(t *testing.T, id string, state jobs.DeliveryState) *jobs.Job {
	t.Helper()
	var job *jobs.Job
	require.Eventually(t, func() bool {
		job = s.job(t, id)
		return job.Callback != nil && job.Callback.State == state
	}, 5*time.Second, 5*time.Millisecond, "delivery of job %s never reached state %s", id, state)
	return job
}

// getStatus reads GET /jobs/{id} and returns the status code and document.
func (s *testServer) getStatus(t *testing.T, id string) (int, *wire.Status) {
	t.Helper()
	resp, err := s.srv.Client().Get(s.srv.URL + "/jobs/" + id)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	st, err := wire.DecodeStatus(data)
	require.NoError(t, err)
	return resp.StatusCode, st
}

// recordedDelivery is one request that a test receiver got.
type recordedDelivery struct {
	header http.Header
	body   []byte
}

// testReceiver is a webhook receiver on loopback that responds with the
// status codes of its script in turn, then with its last code, and records
// every request.
type testReceiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	script   []int
	received []recordedDelivery
}

func newTestReceiver(t *testing.T, script ...int) *testReceiver {
	t.Helper()
	r := &testReceiver{script: script}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.received = append(r.received, recordedDelivery{header: req.Header.Clone(), body: body})
		code := r.script[min(len(r.received), len(r.script))-1]
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *testReceiver) deliveries() []recordedDelivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedDelivery(nil), r.received...)
}

// newTestClient returns a client of s that waits with the given fallback
// interval; its cleanup closes it.
func newTestClient(t *testing.T, s *testServer, cfg Config) *Client[testReq, testRes] {
	t.Helper()
	c, err := NewClient[testReq, testRes](s.srv.URL, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

func isJobError(err error, code string) bool {
	var jobErr *transport.JobError
	return errors.As(err, &jobErr) && jobErr.Problem.Code == code
}

package websocket_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ws "github.com/coder/websocket"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
	"github.com/longhaul-go/longhaul/websocket"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testRequest and testResult are the types of testEngine.
type testRequest struct {
	Text string `json:"text"`
	Fail bool   `json:"fail,omitempty"`
}

type testResult struct {
	Upper string `json:"upper"`
}

// testEngine upper-cases the request's text. It counts its runs, reports
// Steps steps of progress, and then, when Gate is not nil, waits for Gate to
// close or for its context to end.
type testEngine struct {
	Steps   int
	Gate    chan struct{}
	Started chan struct{} // receives a token when a run starts, if not nil

	runs atomic.Int64
}

func (e *testEngine) Run(ctx context.Context, req testRequest, progress transport.ProgressFunc) (testResult, error) {
	e.runs.Add(1)
	if e.Started != nil {
		select {
		case e.Started <- struct{}{}:
		default:
		}
	}
	if req.Fail {
		return testResult{}, errors.New("engine failed on " + req.Text)
	}

	for i := 1; i <= e.Steps; i++ {
		progress(transport.Progress{Done: i, Total: e.Steps})
	}
	if e.Gate != nil {
		select {
		case <-e.Gate:
		case <-ctx.Done():
			return testResult{}, ctx.Err()
		}
	}
	return testResult{Upper: strings.ToUpper(req.Text)}, nil
}

// env is a websocket handler on a loopback server.
type env struct {
	rt      *jobs.Runtime
	handler *websocket.Handler
	server  *httptest.Server
	url     string       // the server's base URL
	wsURL   string       // the socket's URL
	conns   atomic.Int64 // TCP connections the server accepted

	serving atomic.Pointer[websocket.Handler] // the handler that serves requests, handler at first
}

// startServer serves engine with cfg. Cleanup closes the handler, then the
// server, then shuts the runtime down.
func startServer[Req, Res any](t *testing.T, engine transport.Engine[Req, Res], cfg websocket.HandlerConfig) *env {
	t.Helper()
	return startServerWithJobs(t, engine, jobs.Config{Workers: 8}, cfg)
}

// startServerWithJobs is startServer with a runtime configured by jobsCfg,
// whose PollInterval and ProgressInterval default to short test values.
func startServerWithJobs[Req, Res any](t *testing.T, engine transport.Engine[Req, Res], jobsCfg jobs.Config, cfg websocket.HandlerConfig) *env {
	t.Helper()
	if jobsCfg.PollInterval == 0 {
		jobsCfg.PollInterval = 20 * time.Millisecond
	}
	if jobsCfg.ProgressInterval == 0 {
		jobsCfg.ProgressInterval = time.Millisecond
	}
	e := &env{}
	e.rt = jobs.New(jobs.EngineRunner(engine), jobsCfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, e.rt.Shutdown(ctx), "runtime shutdown")
	})

	e.handler = websocket.NewHandler(e.rt, cfg)
	e.serving.Store(e.handler)
	e.server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.serving.Load().ServeHTTP(w, r)
	}))
	e.server.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			e.conns.Add(1)
		}
	}
	e.server.Start()
	t.Cleanup(e.server.Close)
	t.Cleanup(func() { require.NoError(t, e.handler.Close()) })

	e.url = e.server.URL + cfg.BasePath
	e.wsURL = "ws" + strings.TrimPrefix(e.url, "http") + "/ws"
	return e
}

// newClient returns a client of baseURL that the test closes.
func newClient[Req, Res any](t *testing.T, baseURL string, cfg websocket.Config) *websocket.Client[Req, Res] {
	t.Helper()
	c, err := websocket.NewClient[Req, Res](baseURL, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// testContext returns a context that ends after d or with the test.
func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// dialRaw opens a socket to url with coder/websocket directly, so that tests
// can send any message. The test closes it.
func dialRaw(t *testing.T, url string) *ws.Conn {
	t.Helper()
	conn, _, err := ws.Dial(testContext(t, 5*time.Second), url, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.CloseNow() })
	return conn
}

// writeRaw sends text as one text message.
func writeRaw(t *testing.T, conn *ws.Conn, text string) {
	t.Helper()
	require.NoError(t, conn.Write(testContext(t, 5*time.Second), ws.MessageText, []byte(text)))
}

// writeMessage sends m as JSON.
func writeMessage(t *testing.T, conn *ws.Conn, m wire.Message) {
	t.Helper()
	data, err := json.Marshal(m)
	require.NoError(t, err)
	writeRaw(t, conn, string(data))
}

// readMessage reads one server message, failing the test after 5 s.
func readMessage(t *testing.T, conn *ws.Conn) wire.Message {
	t.Helper()
	_, data, err := conn.Read(testContext(t, 5*time.Second))
	require.NoError(t, err)
	m, err := wire.DecodeServerMessage(data)
	require.NoError(t, err, "server message %s", data)
	return m
}

// readUntil reads server messages until one of type typ arrives and returns it.
func readUntil(t *testing.T, conn *ws.Conn, typ string) wire.Message {
	t.Helper()
	for {
		m := readMessage(t, conn)
		if m.Type == typ {
			return m
		}
	}
}

// submitMessage returns a submit of text under callID.
func submitMessage(callID, text string) wire.Message {
	return wire.Message{Type: wire.MsgSubmit, CallID: callID, Request: json.RawMessage(`{"text":"` + text + `"}`)}
}

// waitFinished waits up to 5 s for the job to finish and returns it.
func waitFinished(t *testing.T, rt *jobs.Runtime, owner, jobID string) *jobs.Job {
	t.Helper()
	ctx := testContext(t, 5*time.Second)
	job, err := rt.Wait(ctx, owner, jobID, 0)
	require.NoError(t, err)
	require.True(t, job.State.Finished(), "job %s is still %s after 5 s", jobID, job.State)
	return job
}

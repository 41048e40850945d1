package websocket_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ws "github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
	"github.com/longhaul-go/longhaul/websocket"
)

func TestHandlerSubmitAnswersAcceptedThenResult(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{BasePath: "/base"})
	conn := dialRaw(t, e.wsURL)

	writeMessage(t, conn, submitMessage("a1", "hello"))
	accepted := readMessage(t, conn)
	assert.Equal(t, wire.MsgAccepted, accepted.Type)
	assert.Equal(t, "a1", accepted.CallID)
	assert.True(t, jobs.ValidID(accepted.JobID), "job ID %q is valid", accepted.JobID)

	result := readUntil(t, conn, wire.MsgResult)
	assert.Equal(t, "a1", result.CallID)
	assert.Equal(t, accepted.JobID, result.JobID)
	assert.JSONEq(t, `{"upper":"HELLO"}`, string(result.Result))
}

func TestHandlerSameIdempotencyKeySameJob(t *testing.T) {
	t.Parallel()
	engine := &testEngine{}
	e := startServer(t, engine, websocket.HandlerConfig{})
	conn := dialRaw(t, e.wsURL)

	first := submitMessage("k1", "once")
	first.IdempotencyKey = "key-1"
	writeMessage(t, conn, first)
	firstResult := readUntil(t, conn, wire.MsgResult)

	second := submitMessage("k2", "once")
	second.IdempotencyKey = "key-1"
	writeMessage(t, conn, second)
	secondResult := readUntil(t, conn, wire.MsgResult)

	assert.Equal(t, firstResult.JobID, secondResult.JobID, "job of the second submit")
	assert.Equal(t, "k2", secondResult.CallID)
	assert.Equal(t, int64(1), engine.runs.Load(), "engine runs")
}

func TestHandlerBadMessagesKeepSocketUsable(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{})
	conn := dialRaw(t, e.wsURL)

	cases := []struct {
		name   string
		text   string
		binary bool
		callID string
		code   string
	}{
		{"not JSON", `not json`, false, "", transport.CodeInvalidRequest},
		{"submit without request", `{"type":"submit","call_id":"b1"}`, false, "b1", transport.CodeInvalidRequest},
		{"unknown type", `{"type":"launch","call_id":"b2"}`, false, "b2", transport.CodeInvalidRequest},
		{"unknown field", `{"type":"cancel","call_id":"b3","extra":1}`, false, "", transport.CodeInvalidRequest},
		{"call ID with a space", `{"type":"cancel","call_id":"b 4"}`, false, "", transport.CodeInvalidRequest},
		{"invalid engine request", `{"type":"submit","call_id":"b5","request":{"text":5}}`, false, "b5", transport.CodeInvalidRequest},
		{"resume of unknown job", `{"type":"resume","call_id":"b6","job_id":"00000000000000000000000000000000"}`, false, "b6", transport.CodeNotFound},
		{"cancel of unknown call", `{"type":"cancel","call_id":"b7"}`, false, "b7", transport.CodeNotFound},
		{"binary message", `{}`, true, "", transport.CodeInvalidRequest},
	}
	for _, tc := range cases {
		typ := ws.MessageText
		if tc.binary {
			typ = ws.MessageBinary
		}
		require.NoError(t, conn.Write(testContext(t, 5*time.Second), typ, []byte(tc.text)), "%s: write", tc.name)

		m := readMessage(t, conn)
		assert.Equal(t, wire.MsgError, m.Type, "%s: message type", tc.name)
		assert.Equal(t, tc.callID, m.CallID, "%s: call ID", tc.name)
		require.NotNil(t, m.Problem, "%s: problem", tc.name)
		assert.Equal(t, tc.code, m.Problem.Code, "%s: problem code", tc.name)
	}

	writeMessage(t, conn, submitMessage("good", "still open"))
	result := readUntil(t, conn, wire.MsgResult)
	assert.Equal(t, "good", result.CallID)
	assert.JSONEq(t, `{"upper":"STILL OPEN"}`, string(result.Result))
}

func TestHandlerDuplicateCallIDRejected(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{})
	conn := dialRaw(t, e.wsURL)

	writeMessage(t, conn, submitMessage("dup", "first"))
	accepted := readMessage(t, conn)
	require.Equal(t, wire.MsgAccepted, accepted.Type)
	writeMessage(t, conn, submitMessage("dup", "second"))
	rejected := readMessage(t, conn)
	close(engine.Gate)

	assert.Equal(t, wire.MsgError, rejected.Type)
	assert.Equal(t, "dup", rejected.CallID)
	require.NotNil(t, rejected.Problem)
	assert.Equal(t, transport.CodeInvalidRequest, rejected.Problem.Code)
	result := readUntil(t, conn, wire.MsgResult)
	assert.Equal(t, accepted.JobID, result.JobID, "the first call still ends")
}

func TestHandlerCallIDFreeAtFinalMessage(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{}), Started: make(chan struct{}, 1)}
	e := startServerWithJobs(t, engine, jobs.Config{Workers: 1, QueueDepth: 1}, websocket.HandlerConfig{})
	t.Cleanup(func() { close(engine.Gate) })
	conn := dialRaw(t, e.wsURL)

	writeMessage(t, conn, submitMessage("running", "one"))
	require.Equal(t, wire.MsgAccepted, readMessage(t, conn).Type)
	receive(t, engine.Started, "engine start")
	writeMessage(t, conn, submitMessage("queued", "two"))
	require.Equal(t, wire.MsgAccepted, readMessage(t, conn).Type)

	// A client retries a submit rejected as overloaded with the same call ID
	// as soon as the rejection arrives. Each retry must be judged on its own.
	for i := range 1000 {
		writeMessage(t, conn, submitMessage("retried", "three"))
		m := readMessage(t, conn)
		require.Equal(t, wire.MsgError, m.Type, "reply %d", i)
		require.Equal(t, "retried", m.CallID, "reply %d", i)
		require.NotNil(t, m.Problem, "reply %d", i)
		require.Equal(t, transport.CodeOverloaded, m.Problem.Code, "reply %d: %s", i, m.Problem.Detail)
	}
}

func TestHandlerHugeTimeoutRunsJob(t *testing.T) {
	t.Parallel()
	// The engine takes 5 ms per letter, so a deadline in the past fails the job.
	e := startServer(t, itemEngine(5*time.Millisecond), websocket.HandlerConfig{})
	conn := dialRaw(t, e.wsURL)

	// 9300000000000 ms and more overflow time.Duration in nanoseconds.
	for _, ms := range []int64{math.MaxInt64, 9_300_000_000_000} {
		callID := "c" + strconv.FormatInt(ms, 10)
		m := submitMessage(callID, "patient")
		m.TimeoutMs = ms
		writeMessage(t, conn, m)

		accepted := readUntil(t, conn, wire.MsgAccepted)
		final := readMessage(t, conn)
		for final.Type == wire.MsgProgress {
			final = readMessage(t, conn)
		}
		assert.Equal(t, wire.MsgResult, final.Type, "timeout_ms %d: final message %+v", ms, final)
		job := waitFinished(t, e.rt, "", accepted.JobID)
		assert.Equal(t, jobs.StateSucceeded, job.State, "timeout_ms %d", ms)
		assert.True(t, job.Deadline.After(time.Now().AddDate(200, 0, 0)), "timeout_ms %d: deadline %v, want about 292 years away", ms, job.Deadline)
	}
}

func TestHandlerTooManyInvalidMessagesCloseSocket(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{})
	conn := dialRaw(t, e.wsURL)
	ctx := testContext(t, 5*time.Second)

	errorsRead := 0
	var readErr error
	for i := 0; i < 100 && readErr == nil; i++ {
		writeRaw(t, conn, "garbage")
		var data []byte
		_, data, readErr = conn.Read(ctx)
		if readErr == nil {
			m, err := wire.DecodeServerMessage(data)
			require.NoError(t, err)
			assert.Equal(t, wire.MsgError, m.Type)
			errorsRead++
		}
	}
	assert.Equal(t, ws.StatusPolicyViolation, ws.CloseStatus(readErr), "close status after %d error messages: %v", errorsRead, readErr)
	assert.Equal(t, 32, errorsRead, "error messages before the close")
}

func TestHandlerOversizedMessageClosesSocket(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{MaxMessageBytes: 1024})
	conn := dialRaw(t, e.wsURL)

	big := submitMessage("big", strings.Repeat("x", 4096))
	data, err := json.Marshal(big)
	require.NoError(t, err)
	_ = conn.Write(testContext(t, 5*time.Second), ws.MessageText, data) // the server may close before the write ends
	_, _, err = conn.Read(testContext(t, 5*time.Second))
	assert.Equal(t, ws.StatusMessageTooBig, ws.CloseStatus(err), "close status: %v", err)
}

func TestHandlerRequestOverBodyLimitRejected(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{MaxBodyBytes: 64})
	conn := dialRaw(t, e.wsURL)

	writeMessage(t, conn, submitMessage("large", strings.Repeat("y", 100)))
	m := readMessage(t, conn)
	assert.Equal(t, wire.MsgError, m.Type)
	require.NotNil(t, m.Problem)
	assert.Equal(t, transport.CodeTooLarge, m.Problem.Code)
	assert.Equal(t, http.StatusRequestEntityTooLarge, m.Problem.Status)
}

func TestHandlerMaxConnectionsAnswers503(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{MaxConnections: 1})
	dialRaw(t, e.wsURL)

	conn, resp, err := ws.Dial(testContext(t, 5*time.Second), e.wsURL, nil)
	require.Error(t, err)
	require.Nil(t, conn)
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.Equal(t, transport.CodeOverloaded, wire.ReadProblem(resp).Code)
}

func TestHandlerHTTPErrors(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{BasePath: "/api"})

	cases := []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodGet, "/api/ws", http.StatusUpgradeRequired, transport.CodeInvalidRequest},
		{http.MethodPost, "/api/ws", http.StatusMethodNotAllowed, transport.CodeMethodNotAllowed},
		{http.MethodGet, "/api/jobs", http.StatusNotFound, transport.CodeNotFound},
	}
	for _, tc := range cases {
		req, err := http.NewRequestWithContext(testContext(t, 5*time.Second), tc.method, e.server.URL+tc.path, nil)
		require.NoError(t, err)
		resp, err := e.server.Client().Do(req)
		require.NoError(t, err)
		problem := wire.ReadProblem(resp)
		_ = resp.Body.Close()

		assert.Equal(t, tc.status, resp.StatusCode, "%s %s: status", tc.method, tc.path)
		assert.Equal(t, wire.ContentTypeProblem, resp.Header.Get("Content-Type"), "%s %s: content type", tc.method, tc.path)
		assert.Equal(t, tc.code, problem.Code, "%s %s: problem code", tc.method, tc.path)
	}
}

func TestHandlerRejectsUnauthorizedUpgrade(t *testing.T) {
	t.Parallel()
	authorize := func(r *http.Request) (string, error) {
		if r.Header.Get("Authorization") != "Bearer good" {
			return "", transport.NewProblem(http.StatusForbidden, "forbidden", "token is not valid")
		}
		return "owner", nil
	}
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{Authorize: authorize})

	_, resp, err := ws.Dial(testContext(t, 5*time.Second), e.wsURL, nil)
	require.Error(t, err)
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, "forbidden", wire.ReadProblem(resp).Code)
}

func TestHandlerResumeIsScopedToOwner(t *testing.T) {
	t.Parallel()
	authorize := func(r *http.Request) (string, error) { return r.Header.Get("X-Owner"), nil }
	engine := &testEngine{}
	e := startServer(t, engine, websocket.HandlerConfig{Authorize: authorize})
	dialAs := func(owner string) *ws.Conn {
		conn, _, err := ws.Dial(testContext(t, 5*time.Second), e.wsURL, &ws.DialOptions{HTTPHeader: http.Header{"X-Owner": {owner}}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.CloseNow() })
		return conn
	}

	alice := dialAs("alice")
	writeMessage(t, alice, submitMessage("a", "private"))
	jobID := readUntil(t, alice, wire.MsgResult).JobID

	bob := dialAs("bob")
	writeMessage(t, bob, wire.Message{Type: wire.MsgResume, CallID: "b", JobID: jobID})
	m := readMessage(t, bob)
	assert.Equal(t, wire.MsgError, m.Type)
	require.NotNil(t, m.Problem)
	assert.Equal(t, transport.CodeNotFound, m.Problem.Code, "resume of another owner's job")
}

func TestHandlerCancelEndsJobCanceled(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{})
	conn := dialRaw(t, e.wsURL)

	writeMessage(t, conn, submitMessage("c1", "stop me"))
	accepted := readUntil(t, conn, wire.MsgAccepted)
	writeMessage(t, conn, wire.Message{Type: wire.MsgCancel, CallID: "c1"})

	m := readUntil(t, conn, wire.MsgError)
	assert.Equal(t, "c1", m.CallID)
	assert.Equal(t, accepted.JobID, m.JobID)
	require.NotNil(t, m.Problem)
	assert.Equal(t, transport.CodeJobCanceled, m.Problem.Code)
	assert.Equal(t, jobs.StateCanceled, waitFinished(t, e.rt, "", accepted.JobID).State)
}

func TestHandlerCancelByJobIDFromAnotherSocket(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{})
	first := dialRaw(t, e.wsURL)
	writeMessage(t, first, submitMessage("c1", "elsewhere"))
	jobID := readUntil(t, first, wire.MsgAccepted).JobID

	second := dialRaw(t, e.wsURL)
	writeMessage(t, second, wire.Message{Type: wire.MsgCancel, CallID: "c1", JobID: jobID})

	assert.Equal(t, jobs.StateCanceled, waitFinished(t, e.rt, "", jobID).State)
	m := readUntil(t, first, wire.MsgError)
	require.NotNil(t, m.Problem)
	assert.Equal(t, transport.CodeJobCanceled, m.Problem.Code, "final message on the submitting socket")
}

func TestHandlerDisconnectCancelsJobAfterGrace(t *testing.T) {
	t.Parallel()
	const grace = 200 * time.Millisecond
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{ResumeGrace: grace})
	conn := dialRaw(t, e.wsURL)

	writeMessage(t, conn, submitMessage("g1", "orphan"))
	jobID := readUntil(t, conn, wire.MsgAccepted).JobID
	closedAt := time.Now()
	require.NoError(t, conn.CloseNow())

	job := waitFinished(t, e.rt, "", jobID)
	assert.Equal(t, jobs.StateCanceled, job.State)
	assert.GreaterOrEqual(t, job.FinishedAt.Sub(closedAt), grace, "time from disconnect to cancel")
}

func TestHandlerResumeWithinGraceKeepsJob(t *testing.T) {
	t.Parallel()
	const grace = 200 * time.Millisecond
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{ResumeGrace: grace})
	first := dialRaw(t, e.wsURL)
	writeMessage(t, first, submitMessage("r1", "keep"))
	jobID := readUntil(t, first, wire.MsgAccepted).JobID
	require.NoError(t, first.CloseNow())

	second := dialRaw(t, e.wsURL)
	writeMessage(t, second, wire.Message{Type: wire.MsgResume, CallID: "r2", JobID: jobID})
	accepted := readUntil(t, second, wire.MsgAccepted)
	assert.Equal(t, jobID, accepted.JobID)
	time.Sleep(2 * grace) // past the grace period, which the resume stopped
	close(engine.Gate)

	result := readUntil(t, second, wire.MsgResult)
	assert.Equal(t, "r2", result.CallID)
	assert.JSONEq(t, `{"upper":"KEEP"}`, string(result.Result))
	assert.Equal(t, jobs.StateSucceeded, waitFinished(t, e.rt, "", jobID).State)
	assert.Equal(t, int64(1), engine.runs.Load(), "engine runs")
}

func TestHandlerKeepJobsOnDisconnect(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{ResumeGrace: 10 * time.Millisecond, KeepJobsOnDisconnect: true})
	conn := dialRaw(t, e.wsURL)
	writeMessage(t, conn, submitMessage("k1", "stays"))
	jobID := readUntil(t, conn, wire.MsgAccepted).JobID
	require.NoError(t, conn.CloseNow())

	time.Sleep(100 * time.Millisecond) // well past the grace period
	close(engine.Gate)

	assert.Equal(t, jobs.StateSucceeded, waitFinished(t, e.rt, "", jobID).State)
}

func TestHandlerPingClosesSilentClient(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{}), Started: make(chan struct{}, 1)}
	e := startServer(t, engine, websocket.HandlerConfig{PingInterval: 50 * time.Millisecond, ResumeGrace: 50 * time.Millisecond})
	conn := dialRaw(t, e.wsURL)

	// The client writes but never reads, so it never sends a pong and
	// never reads the accepted message: to the server it is a dead peer.
	writeMessage(t, conn, submitMessage("p1", "silent"))
	receive(t, engine.Started, "engine start")
	require.Eventually(t, func() bool {
		queued, running, err := e.rt.Store().Counts(context.Background())
		return err == nil && queued+running == 0
	}, 5*time.Second, 10*time.Millisecond, "the job ends after the server drops the silent client")
	assert.Equal(t, int64(1), engine.runs.Load(), "engine runs")
}

func TestHandlerShutdownClosesSocketsGoingAway(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{})
	conn := dialRaw(t, e.wsURL)
	// The dial returns before the handler registers the socket, and Shutdown
	// closes a socket that it does not know without a close handshake. A
	// reply proves that the handler serves the socket.
	writeMessage(t, conn, wire.Message{Type: wire.MsgCancel, CallID: "probe"})
	require.Equal(t, wire.MsgError, readMessage(t, conn).Type, "reply to the probe")
	readErr := drain(t, conn)

	require.NoError(t, e.handler.Shutdown(testContext(t, 5*time.Second)))
	assert.Equal(t, ws.StatusGoingAway, ws.CloseStatus(receive(t, readErr, "read error")))

	_, resp, err := ws.Dial(testContext(t, 5*time.Second), e.wsURL, nil)
	require.Error(t, err, "dial after shutdown")
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

func TestHandlerShutdownLeavesJobsRunning(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{ResumeGrace: 10 * time.Millisecond})
	conn := dialRaw(t, e.wsURL)
	writeMessage(t, conn, submitMessage("s1", "survive"))
	jobID := readUntil(t, conn, wire.MsgAccepted).JobID
	drain(t, conn)

	require.NoError(t, e.handler.Shutdown(testContext(t, 5*time.Second)))
	time.Sleep(100 * time.Millisecond) // well past the grace period
	job, err := e.rt.Get(context.Background(), "", jobID)
	require.NoError(t, err)
	assert.False(t, job.State.Finished(), "job state %s after the handler shut down", job.State)
	close(engine.Gate)
	assert.Equal(t, jobs.StateSucceeded, waitFinished(t, e.rt, "", jobID).State)
}

// drain reads conn in the background, as a live client does, so that it
// replies to pings and close frames. The returned channel receives the error
// that ended the reads.
func drain(t *testing.T, conn *ws.Conn) <-chan error {
	t.Helper()
	readErr := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, _, err := conn.Read(context.Background()); err != nil {
				readErr <- err
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = conn.CloseNow()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("reads of a closed socket did not end within 5 s")
		}
	})
	return readErr
}

func TestHandlerFinishedJobSendsFinalProgress(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{Steps: 3}, websocket.HandlerConfig{})
	conn := dialRaw(t, e.wsURL)
	writeMessage(t, conn, submitMessage("f1", "done"))
	jobID := readUntil(t, conn, wire.MsgAccepted).JobID
	readUntil(t, conn, wire.MsgResult)

	// A resume of the finished job finds it finished on the first read, so
	// its final progress can only arrive before the result.
	writeMessage(t, conn, wire.Message{Type: wire.MsgResume, CallID: "f2", JobID: jobID})
	accepted := readMessage(t, conn)
	assert.Equal(t, wire.MsgAccepted, accepted.Type, "first message after the resume")
	progress := readMessage(t, conn)
	require.Equal(t, wire.MsgProgress, progress.Type, "second message after the resume")
	assert.Equal(t, "f2", progress.CallID)
	assert.Equal(t, jobID, progress.JobID)
	require.NotNil(t, progress.Progress)
	assert.Equal(t, transport.Progress{Done: 3, Total: 3}, *progress.Progress)
	result := readMessage(t, conn)
	assert.Equal(t, wire.MsgResult, result.Type, "third message after the resume")
	assert.JSONEq(t, `{"upper":"DONE"}`, string(result.Result))
}

func TestHandlerShutdownWithoutSocketsIgnoresContext(t *testing.T) {
	t.Parallel()
	rt := jobs.New(jobs.EngineRunner[testRequest, testResult](&testEngine{}), jobs.Config{})
	t.Cleanup(func() { require.NoError(t, rt.Shutdown(testContext(t, 5*time.Second)), "runtime shutdown") })
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()

	// Shutdown used to pick at random between its end and the expired
	// context, so one attempt could pass by chance.
	for attempt := range 50 {
		var logs syncBuffer
		h := websocket.NewHandler(rt, websocket.HandlerConfig{Logger: slog.New(slog.NewTextHandler(&logs, nil))})

		assert.NoError(t, h.Shutdown(expired), "Shutdown with no sockets, attempt %d", attempt)
		assert.NotContains(t, logs.String(), "level=WARN", "log of attempt %d", attempt)
		assert.Contains(t, logs.String(), "websocket handler shut down", "log of attempt %d", attempt)
	}
}

// syncBuffer is a bytes.Buffer that is safe for concurrent use, for logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

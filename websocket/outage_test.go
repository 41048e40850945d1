package websocket_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
	"github.com/longhaul-go/longhaul/websocket"
)

// outageConfig returns a client configuration whose pipeline gives up on a
// dial after two quick attempts and whose reconnects wait at most 20 ms
// between attempts. failedDials counts the dial attempts that failed.
func outageConfig(failedDials *atomic.Int64) websocket.Config {
	return websocket.Config{Pipeline: transport.PipelineConfig{
		Retry: transport.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond},
		OnAttempt: func(info transport.AttemptInfo) {
			if info.Op == "dial" && info.Err != nil {
				failedDials.Add(1)
			}
		},
	}}
}

// outcome is what one Do returned.
type outcome struct {
	res testResult
	err error
}

// startCall runs client.Do on its own goroutine, waits for the job ID and
// returns it with the channel that receives Do's outcome.
func startCall(t *testing.T, client *websocket.Client[testRequest, testResult], ctx context.Context, text string) (string, <-chan outcome) {
	t.Helper()
	accepted := make(chan string, 1)
	done := make(chan outcome, 1)
	go func() {
		res, err := client.Do(ctx, testRequest{Text: text}, transport.WithOnAccepted(func(id string) { accepted <- id }))
		done <- outcome{res, err}
	}()

	select {
	case id := <-accepted:
		return id, done
	case out := <-done:
		t.Fatalf("Do returned before its job was accepted: %+v", out)
	case <-time.After(5 * time.Second):
		t.Fatal("no job ID within 5 s")
	}
	return "", nil
}

// requireWaiting fails the test when Do has already returned.
func requireWaiting(t *testing.T, done <-chan outcome, what string) {
	t.Helper()
	select {
	case out := <-done:
		t.Fatalf("Do returned %+v %s, want it to wait", out, what)
	default:
	}
}

func TestClientRidesOutRefusedDials(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{ResumeGrace: 5 * time.Second})
	proxy := newProxy(t, e)
	var failedDials atomic.Int64
	client := newClient[testRequest, testResult](t, proxy.URL(), outageConfig(&failedDials))

	jobID, done := startCall(t, client, testContext(t, 10*time.Second), "outage")
	require.NoError(t, proxy.SetRefuse(true))
	proxy.CutAll()
	require.Eventually(t, func() bool { return failedDials.Load() >= 6 }, 5*time.Second, time.Millisecond,
		"the client keeps dialing past the pipeline's 2 attempts")
	requireWaiting(t, done, "after 6 failed dials")

	require.NoError(t, proxy.SetRefuse(false))
	close(engine.Gate)
	out := receive(t, done, "Do's outcome")
	require.NoError(t, out.err)
	assert.Equal(t, "OUTAGE", out.res.Upper)
	assert.Equal(t, int64(1), engine.runs.Load(), "engine runs")
	assert.Equal(t, jobs.StateSucceeded, waitFinished(t, e.rt, "", jobID).State)
}

func TestClientOutageEndsOnlyCallsWithoutJob(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{ResumeGrace: 5 * time.Second})
	proxy := newProxy(t, e)
	var failedDials atomic.Int64
	var breakerOpened atomic.Bool
	cfg := outageConfig(&failedDials)
	cfg.Pipeline.Breaker = &transport.BreakerSettings{
		ConsecutiveFailures: 2,
		OpenTimeout:         time.Hour,
		OnStateChange: func(_ string, _, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				breakerOpened.Store(true)
			}
		},
	}
	client := newClient[testRequest, testResult](t, proxy.URL(), cfg)

	_, accepted := startCall(t, client, testContext(t, 10*time.Second), "accepted")
	require.NoError(t, proxy.SetRefuse(true))
	proxy.CutAll()
	require.Eventually(t, func() bool { return failedDials.Load() >= 2 }, 5*time.Second, time.Millisecond, "failed reconnects")

	// A new call has no job, so its dial gets the pipeline's 2 attempts,
	// which also open the breaker.
	_, err := client.Do(testContext(t, 5*time.Second), testRequest{Text: "new"})
	require.ErrorIs(t, err, transport.ErrUnavailable, "a call without a job during the outage")
	var unavailable *transport.UnavailableError
	require.ErrorAs(t, err, &unavailable)
	assert.Equal(t, "dial", unavailable.Op)
	assert.Equal(t, 2, unavailable.Attempts)
	assert.True(t, breakerOpened.Load(), "the new call's failed dials open the breaker")
	requireWaiting(t, accepted, "after the new call failed")

	// The open breaker does not hold back the resume of the accepted job.
	require.NoError(t, proxy.SetRefuse(false))
	close(engine.Gate)
	out := receive(t, accepted, "the accepted call's outcome")
	require.NoError(t, out.err)
	assert.Equal(t, "ACCEPTED", out.res.Upper)

	// It still rejects new calls until its open time ends.
	_, err = client.Do(testContext(t, 5*time.Second), testRequest{Text: "later"})
	assert.True(t, transport.IsCircuitOpen(err), "a new call while the breaker is open: got %v, want a circuit-open error", err)
}

func TestClientOutageEndsWithCallerContext(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{ResumeGrace: 100 * time.Millisecond})
	t.Cleanup(func() { close(engine.Gate) })
	proxy := newProxy(t, e)
	var failedDials atomic.Int64
	client := newClient[testRequest, testResult](t, proxy.URL(), outageConfig(&failedDials))

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	jobID, done := startCall(t, client, ctx, "gone")
	require.NoError(t, proxy.SetRefuse(true))
	proxy.CutAll()
	require.Eventually(t, func() bool { return failedDials.Load() >= 3 }, 5*time.Second, time.Millisecond, "failed reconnects")

	cancel()
	out := receive(t, done, "Do's outcome")
	require.ErrorIs(t, out.err, context.Canceled)
	assert.Contains(t, out.err.Error(), jobID, "the error names the job")
	assert.Contains(t, out.err.Error(), "reconnecting", "the error says that the client was reconnecting")

	// No client resumes the job, so the server cancels it after its grace period.
	assert.Equal(t, jobs.StateCanceled, waitFinished(t, e.rt, "", jobID).State)
}

func TestClientCloseEndsOutageWait(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{ResumeGrace: 5 * time.Second})
	t.Cleanup(func() { close(engine.Gate) })
	proxy := newProxy(t, e)
	var failedDials atomic.Int64
	client, err := websocket.NewClient[testRequest, testResult](proxy.URL(), outageConfig(&failedDials))
	require.NoError(t, err)

	_, done := startCall(t, client, testContext(t, 10*time.Second), "closed")
	require.NoError(t, proxy.SetRefuse(true))
	proxy.CutAll()
	require.Eventually(t, func() bool { return failedDials.Load() >= 3 }, 5*time.Second, time.Millisecond, "failed reconnects")

	require.NoError(t, client.Close())
	out := receive(t, done, "Do's outcome")
	assert.ErrorIs(t, out.err, transport.ErrClosed)
}

func TestClientOutagePastGraceEndsJobCanceled(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{ResumeGrace: 100 * time.Millisecond})
	t.Cleanup(func() { close(engine.Gate) })
	proxy := newProxy(t, e)
	var failedDials atomic.Int64
	client := newClient[testRequest, testResult](t, proxy.URL(), outageConfig(&failedDials))

	jobID, done := startCall(t, client, testContext(t, 10*time.Second), "late")
	require.NoError(t, proxy.SetRefuse(true))
	proxy.CutAll()
	require.Equal(t, jobs.StateCanceled, waitFinished(t, e.rt, "", jobID).State, "the job after the grace period")
	requireWaiting(t, done, "while the server is unreachable")

	require.NoError(t, proxy.SetRefuse(false))
	out := receive(t, done, "Do's outcome")
	var jobErr *transport.JobError
	require.ErrorAs(t, out.err, &jobErr)
	assert.Equal(t, transport.CodeJobCanceled, jobErr.Code())
	assert.Equal(t, jobID, jobErr.JobID)
}

func TestClientOutageResubmitsLostJob(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{ResumeGrace: 5 * time.Second})
	proxy := newProxy(t, e)
	var failedDials atomic.Int64
	client := newClient[testRequest, testResult](t, proxy.URL(), outageConfig(&failedDials))

	var acceptedIDs atomic.Int64
	done := make(chan outcome, 1)
	go func() {
		res, err := client.Do(testContext(t, 10*time.Second), testRequest{Text: "lost"},
			transport.WithOnAccepted(func(string) { acceptedIDs.Add(1) }))
		done <- outcome{res, err}
	}()
	require.Eventually(t, func() bool { return acceptedIDs.Load() == 1 }, 5*time.Second, time.Millisecond, "job ID")
	require.NoError(t, proxy.SetRefuse(true))
	proxy.CutAll()

	// The restarted server has an empty in-memory store.
	restarted := jobs.New(jobs.EngineRunner(engine), jobs.Config{PollInterval: 20 * time.Millisecond})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, restarted.Shutdown(ctx))
	})
	handler := websocket.NewHandler(restarted, websocket.HandlerConfig{})
	t.Cleanup(func() { require.NoError(t, handler.Close()) })
	e.serving.Store(handler)
	require.NoError(t, e.handler.Close())
	require.Eventually(t, func() bool { return failedDials.Load() >= 4 }, 5*time.Second, time.Millisecond, "failed reconnects")

	close(engine.Gate)
	require.NoError(t, proxy.SetRefuse(false))
	out := receive(t, done, "Do's outcome")
	require.NoError(t, out.err)
	assert.Equal(t, "LOST", out.res.Upper)
	assert.Equal(t, int64(2), engine.runs.Load(), "engine runs: the first server's and the restarted server's")
	assert.Equal(t, int64(1), acceptedIDs.Load(), "OnAccepted calls")
}

func TestClientDialTimeoutEndsUnansweredUpgrade(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{})
	proxy := newProxy(t, e)
	proxy.SetBlackhole(true)
	client := newClient[testRequest, testResult](t, proxy.URL(), websocket.Config{
		DialTimeout: 100 * time.Millisecond,
		Pipeline:    fastRetry,
	})

	start := time.Now()
	_, err := client.Do(testContext(t, 10*time.Second), testRequest{Text: "unanswered"})
	require.ErrorIs(t, err, transport.ErrUnavailable)
	require.ErrorIs(t, err, transport.ErrAttemptTimeout)
	assert.Less(t, time.Since(start), 5*time.Second, "time to give up on 2 dials of 100 ms")
}

func TestClientRecoversAfterUnansweredUpgrade(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{})
	proxy := newProxy(t, e)
	client := newClient[testRequest, testResult](t, proxy.URL(), websocket.Config{})

	proxy.SetBlackhole(true)
	_, err := client.Do(testContext(t, 200*time.Millisecond), testRequest{Text: "unanswered"})
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// The default dial timeout is 30 s, so the next call works only if the
	// dial of the call that gave up ended with it.
	proxy.SetBlackhole(false)
	got, err := client.Do(testContext(t, 5*time.Second), testRequest{Text: "answered"})
	require.NoError(t, err, "a call once the path works again")
	assert.Equal(t, "ANSWERED", got.Upper)
}

func TestClientRedialAfterPingTimeoutIsBounded(t *testing.T) {
	t.Parallel()
	const bound = 100 * time.Millisecond
	cases := []struct {
		name string
		cfg  websocket.Config
	}{
		{"DialTimeout", websocket.Config{DialTimeout: bound}},
		{"HTTPClient.Timeout", websocket.Config{HTTPClient: &http.Client{Timeout: bound}}},
		{"Pipeline.AttemptTimeout", websocket.Config{Pipeline: transport.PipelineConfig{AttemptTimeout: bound}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			engine := &testEngine{Gate: make(chan struct{})}
			e := startServer(t, engine, websocket.HandlerConfig{ResumeGrace: 5 * time.Second})
			proxy := newProxy(t, e)
			var timedOut atomic.Int64
			cfg := tc.cfg
			cfg.PingInterval = 50 * time.Millisecond
			cfg.Pipeline.Retry = transport.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}
			cfg.Pipeline.OnAttempt = func(info transport.AttemptInfo) {
				if errors.Is(info.Err, transport.ErrAttemptTimeout) {
					timedOut.Add(1)
				}
			}
			client := newClient[testRequest, testResult](t, proxy.URL(), cfg)

			jobID, done := startCall(t, client, testContext(t, 10*time.Second), "silent")
			proxy.SetBlackhole(true)
			require.Eventually(t, func() bool { return timedOut.Load() >= 3 }, 5*time.Second, time.Millisecond,
				"the client notices the silent socket by ping and its redials time out")
			requireWaiting(t, done, "after 3 timed-out redials")

			proxy.SetBlackhole(false)
			close(engine.Gate)
			out := receive(t, done, "Do's outcome")
			require.NoError(t, out.err)
			assert.Equal(t, "SILENT", out.res.Upper)
			assert.Equal(t, jobs.StateSucceeded, waitFinished(t, e.rt, "", jobID).State)
		})
	}
}

func TestClientRecoversAfterBreakerOpens(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{})
	proxy := newProxy(t, e)
	var failedDials atomic.Int64
	var breakerState atomic.Int64 // the breaker's latest state, as a gobreaker.State
	const openTimeout = 200 * time.Millisecond
	cfg := outageConfig(&failedDials)
	cfg.Pipeline.Breaker = &transport.BreakerSettings{
		ConsecutiveFailures: 2,
		OpenTimeout:         openTimeout,
		OnStateChange: func(_ string, _, to gobreaker.State) {
			breakerState.Store(int64(to))
		},
	}
	client := newClient[testRequest, testResult](t, proxy.URL(), cfg)

	got, err := client.Do(testContext(t, 5*time.Second), testRequest{Text: "before"})
	require.NoError(t, err, "a call before the outage")
	assert.Equal(t, "BEFORE", got.Upper)

	// The socket drops and every dial is refused, so the next call's 2 dial
	// attempts fail and open the breaker.
	require.NoError(t, proxy.SetRefuse(true))
	proxy.CutAll()
	_, err = client.Do(testContext(t, 5*time.Second), testRequest{Text: "down"})
	require.ErrorIs(t, err, transport.ErrUnavailable, "a call during the outage")
	require.Equal(t, gobreaker.StateOpen, gobreaker.State(breakerState.Load()), "breaker state after the failed call")
	_, err = client.Do(testContext(t, 5*time.Second), testRequest{Text: "rejected"})
	require.True(t, transport.IsCircuitOpen(err), "a call while the breaker is open: got %v, want a circuit-open error", err)

	// Once the server is reachable and the open time has passed, the first
	// call's dial is the half-open breaker's trial: it succeeds and closes
	// the breaker.
	require.NoError(t, proxy.SetRefuse(false))
	time.Sleep(openTimeout + 50*time.Millisecond)
	got, err = client.Do(testContext(t, 5*time.Second), testRequest{Text: "after"})
	require.NoError(t, err, "the first call after the open time")
	assert.Equal(t, "AFTER", got.Upper)
	assert.Equal(t, gobreaker.StateClosed, gobreaker.State(breakerState.Load()), "breaker state after the trial")

	for i := range 3 {
		got, err = client.Do(testContext(t, 5*time.Second), testRequest{Text: "later"})
		require.NoError(t, err, "call %d after the trial", i+1)
		assert.Equal(t, "LATER", got.Upper, "result of call %d after the trial", i+1)
	}
}

func TestClientOpenBreakerRejectsCallAtOnce(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{ResumeGrace: 5 * time.Second})
	t.Cleanup(func() { close(engine.Gate) })
	proxy := newProxy(t, e)
	var failedDials atomic.Int64
	cfg := outageConfig(&failedDials)
	cfg.DialTimeout = 5 * time.Second
	cfg.Pipeline.Breaker = &transport.BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: time.Hour}
	client := newClient[testRequest, testResult](t, proxy.URL(), cfg)

	_, accepted := startCall(t, client, testContext(t, 10*time.Second), "accepted")
	require.NoError(t, proxy.SetRefuse(true))
	proxy.CutAll()
	_, err := client.Do(testContext(t, 5*time.Second), testRequest{Text: "opens"})
	require.ErrorIs(t, err, transport.ErrUnavailable, "a call whose failed dials open the breaker")

	// The reconnects for the accepted call now get no response to the
	// upgrade request, so the supervisor waits in a dial of up to 5 s.
	proxy.SetBlackhole(true)
	require.NoError(t, proxy.SetRefuse(false))
	time.Sleep(100 * time.Millisecond)
	settled := failedDials.Load()
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, settled, failedDials.Load(), "failed dials while the supervisor waits in a dial")

	start := time.Now()
	_, err = client.Do(testContext(t, 5*time.Second), testRequest{Text: "rejected"})
	assert.True(t, transport.IsCircuitOpen(err), "a call while the breaker is open: got %v, want a circuit-open error", err)
	assert.Less(t, time.Since(start), time.Second, "time to reject a call while the breaker is open")
	requireWaiting(t, accepted, "while the server does not respond")
}

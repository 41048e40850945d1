package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ws "github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/internal/faultnet"
	"github.com/longhaul-go/longhaul/internal/testutil"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/polling"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
	"github.com/longhaul-go/longhaul/websocket"
)

// fastRetry is a pipeline that gives up after two quick attempts.
var fastRetry = transport.PipelineConfig{Retry: transport.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond}}

func TestClientRoundTripEngineFunc(t *testing.T) {
	t.Parallel()
	engine := transport.EngineFunc[testRequest, testResult](func(_ context.Context, req testRequest, _ transport.ProgressFunc) (testResult, error) {
		return testResult{Upper: strings.ToUpper(req.Text)}, nil
	})
	e := startServer(t, engine, websocket.HandlerConfig{BasePath: "/api"})
	client := newClient[testRequest, testResult](t, e.url, websocket.Config{})

	got, err := client.Do(testContext(t, 10*time.Second), testRequest{Text: "stock"})
	require.NoError(t, err)
	assert.Equal(t, "STOCK", got.Upper)
}

func TestClientRoundTripLookupDemo(t *testing.T) {
	t.Parallel()
	engine := &lookup.Engine{Source: lookup.DefaultDemo()}
	e := startServer(t, engine, websocket.HandlerConfig{})
	client := newClient[lookup.Request, lookup.Result](t, e.url, websocket.Config{})
	req := lookup.Request{ProductIDs: []string{"1", "2", "999", "1000", "no-such-product"}}
	want, err := engine.Run(context.Background(), req, nil)
	require.NoError(t, err)

	got, err := client.Do(testContext(t, 10*time.Second), req)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	assert.False(t, got.Items[4].Known, "item of an unknown product ID is known")
}

func TestClientRoundTripSakila(t *testing.T) {
	t.Parallel()
	engine := &lookup.Engine{Source: testutil.SakilaInventory(t)}
	e := startServer(t, engine, websocket.HandlerConfig{})
	client := newClient[lookup.Request, lookup.Result](t, e.url, websocket.Config{})

	got, err := client.Do(testContext(t, 10*time.Second), lookup.Request{ProductIDs: []string{"1", "14"}})
	require.NoError(t, err)
	require.Len(t, got.Items, 2)
	assert.Equal(t, "Academy Dinosaur", got.Items[0].Name)
	assert.Equal(t, 7, got.Items[0].Quantity, "stock of product 1")
	assert.Equal(t, 0, got.Items[1].Quantity, "stock of product 14")
}

func TestClientConcurrentCallsShareOneSocket(t *testing.T) {
	t.Parallel()
	e := startServer(t, &lookup.Engine{}, websocket.HandlerConfig{})
	client := newClient[lookup.Request, lookup.Result](t, e.url, websocket.Config{})
	ctx := testContext(t, 20*time.Second)

	const calls = 50
	results := make([]lookup.Result, calls)
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := []string{fmt.Sprint(i + 1), fmt.Sprint(i + 501)}
			results[i], errs[i] = client.Do(ctx, lookup.Request{ProductIDs: ids})
		}()
	}
	wg.Wait()

	for i := range calls {
		require.NoError(t, errs[i], "call %d", i)
		require.Len(t, results[i].Items, 2, "call %d", i)
		assert.Equal(t, fmt.Sprint(i+1), results[i].Items[0].ProductID, "call %d first item", i)
		assert.Equal(t, fmt.Sprint(i+501), results[i].Items[1].ProductID, "call %d second item", i)
	}
	assert.Equal(t, int64(1), e.conns.Load(), "TCP connections to the server")
}

func TestClientDeliversProgressAndJobID(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Steps: 3, Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{})
	client := newClient[testRequest, testResult](t, e.url, websocket.Config{})

	var mu sync.Mutex
	var reports []transport.Progress
	var acceptedIDs []string
	progress := func(p transport.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if len(reports) == 0 {
			close(engine.Gate) // the job ends once a report has arrived
		}
		reports = append(reports, p)
	}
	accepted := func(id string) {
		mu.Lock()
		defer mu.Unlock()
		acceptedIDs = append(acceptedIDs, id)
	}

	got, err := client.Do(testContext(t, 10*time.Second), testRequest{Text: "p"},
		transport.WithProgress(progress), transport.WithOnAccepted(accepted))
	require.NoError(t, err)
	assert.Equal(t, "P", got.Upper)

	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, reports, "progress reports")
	for i, p := range reports {
		assert.Equal(t, 3, p.Total, "report %d total", i)
		assert.True(t, p.Done >= 1 && p.Done <= 3, "report %d done %d is in [1, 3]", i, p.Done)
		if i > 0 {
			assert.GreaterOrEqual(t, p.Done, reports[i-1].Done, "report %d done", i)
		}
	}
	require.Len(t, acceptedIDs, 1, "OnAccepted calls")
	assert.True(t, jobs.ValidID(acceptedIDs[0]), "job ID %q is valid", acceptedIDs[0])
}

func TestClientJobFailureIsJobError(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{})
	client := newClient[testRequest, testResult](t, e.url, websocket.Config{})

	var acceptedIDs []string
	_, err := client.Do(testContext(t, 10*time.Second), testRequest{Text: "boom", Fail: true},
		transport.WithOnAccepted(func(id string) { acceptedIDs = append(acceptedIDs, id) }))
	var jobErr *transport.JobError
	require.ErrorAs(t, err, &jobErr)
	assert.Equal(t, transport.CodeJobFailed, jobErr.Code())
	assert.True(t, jobs.ValidID(jobErr.JobID), "job ID %q is valid", jobErr.JobID)
	assert.Equal(t, []string{jobErr.JobID}, acceptedIDs, "job IDs passed to OnAccepted")
	assert.Contains(t, jobErr.Problem.Detail, "engine failed on boom")
	assert.NotErrorIs(t, err, transport.ErrUnavailable)
}

func TestClientInvalidRequestIsRejected(t *testing.T) {
	t.Parallel()
	engine := &lookup.Engine{}
	e := startServer(t, engine, websocket.HandlerConfig{})
	client := newClient[lookup.Request, lookup.Result](t, e.url, websocket.Config{})

	_, err := client.Do(testContext(t, 10*time.Second), lookup.Request{ProductIDs: []string{"1", ""}})
	var jobErr *transport.JobError
	require.ErrorAs(t, err, &jobErr)
	assert.Equal(t, transport.CodeInvalidRequest, jobErr.Code())
	assert.Empty(t, jobErr.JobID, "job ID of a rejected request")
}

func TestClientCancelReturnsPromptlyAndCancelsJob(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})} // never opens: the job runs until canceled
	e := startServer(t, engine, websocket.HandlerConfig{})
	client := newClient[testRequest, testResult](t, e.url, websocket.Config{})

	ctx, cancel := context.WithCancel(testContext(t, 10*time.Second))
	var jobID string
	var canceledAt time.Time
	_, err := client.Do(ctx, testRequest{Text: "slow"}, transport.WithOnAccepted(func(id string) {
		jobID = id
		canceledAt = time.Now()
		cancel()
	}))
	returned := time.Since(canceledAt)

	require.ErrorIs(t, err, context.Canceled)
	assert.Less(t, returned, time.Second, "time from cancel to return")
	require.NotEmpty(t, jobID)
	job := waitFinished(t, e.rt, "", jobID)
	assert.Equal(t, jobs.StateCanceled, job.State)
	require.NotNil(t, job.Problem)
	assert.Equal(t, transport.CodeJobCanceled, job.Problem.Code)
}

func TestClientDeadlineTravelsAsTimeout(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{})
	client := newClient[testRequest, testResult](t, e.url, websocket.Config{})

	var jobID string
	_, err := client.Do(testContext(t, 300*time.Millisecond), testRequest{Text: "late"},
		transport.WithOnAccepted(func(id string) { jobID = id }))
	require.ErrorIs(t, err, context.DeadlineExceeded)

	require.NotEmpty(t, jobID)
	job := waitFinished(t, e.rt, "", jobID)
	assert.False(t, job.Deadline.IsZero(), "job deadline is set")
	assert.Contains(t, []jobs.State{jobs.StateFailed, jobs.StateCanceled}, job.State, "state of a job past its caller's deadline")
}

func TestClientResumesJobAfterCut(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{})}
	e := startServer(t, engine, websocket.HandlerConfig{ResumeGrace: 5 * time.Second})
	proxy := newProxy(t, e)
	client := newClient[testRequest, testResult](t, proxy.URL(), websocket.Config{})

	accepted := make(chan string, 1)
	done := make(chan error, 1)
	var got testResult
	go func() {
		var err error
		got, err = client.Do(testContext(t, 10*time.Second), testRequest{Text: "resume"},
			transport.WithOnAccepted(func(id string) { accepted <- id }))
		done <- err
	}()

	jobID := receive(t, accepted, "job ID")
	proxy.CutAll()
	require.Eventually(t, func() bool { return e.conns.Load() == 2 }, 5*time.Second, 5*time.Millisecond,
		"the client reconnects after the cut")
	close(engine.Gate)

	require.NoError(t, receive(t, done, "Do's result"))
	assert.Equal(t, "RESUME", got.Upper)
	assert.Equal(t, int64(1), engine.runs.Load(), "engine runs")
	job := waitFinished(t, e.rt, "", jobID)
	assert.Equal(t, jobs.StateSucceeded, job.State)
}

func TestClientResubmitsWhenAcceptedIsLost(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{}), Started: make(chan struct{}, 1)}
	e := startServer(t, engine, websocket.HandlerConfig{ResumeGrace: 5 * time.Second})
	proxy := newProxy(t, e)
	// With this latency the accepted message is still inside the proxy when
	// the engine starts, so the cut below loses it.
	proxy.SetLatency(200*time.Millisecond, 0)
	client := newClient[testRequest, testResult](t, proxy.URL(), websocket.Config{})

	var acceptedBeforeCut atomic.Bool
	var cut atomic.Bool
	var acceptedIDs []string
	done := make(chan error, 1)
	go func() {
		_, err := client.Do(testContext(t, 10*time.Second), testRequest{Text: "again"},
			transport.WithOnAccepted(func(id string) {
				acceptedIDs = append(acceptedIDs, id)
				if !cut.Load() {
					acceptedBeforeCut.Store(true)
				}
			}))
		done <- err
	}()

	receive(t, engine.Started, "engine start")
	cut.Store(true)
	proxy.SetLatency(0, 0)
	proxy.CutAll()
	close(engine.Gate)

	require.NoError(t, receive(t, done, "Do's result"))
	assert.False(t, acceptedBeforeCut.Load(), "accepted arrived before the cut, so the test did not lose it")
	assert.Equal(t, int64(1), engine.runs.Load(), "engine runs")
	require.Len(t, acceptedIDs, 1, "OnAccepted calls")
	job := waitFinished(t, e.rt, "", acceptedIDs[0])
	assert.Equal(t, jobs.StateSucceeded, job.State)
}

func TestClientServerDownIsUnavailable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	client := newClient[testRequest, testResult](t, "http://"+addr, websocket.Config{Pipeline: fastRetry})

	_, err = client.Do(testContext(t, 10*time.Second), testRequest{Text: "nobody"})
	require.ErrorIs(t, err, transport.ErrUnavailable)
	var unavailable *transport.UnavailableError
	require.ErrorAs(t, err, &unavailable)
	assert.Equal(t, "dial", unavailable.Op)
	assert.Equal(t, 2, unavailable.Attempts)
}

func TestClientRetriesOverloadedUpgrade(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{MaxConnections: 1})
	blocker := dialRaw(t, e.wsURL)
	var attempts atomic.Int64
	cfg := websocket.Config{Pipeline: transport.PipelineConfig{
		Retry:     transport.RetryPolicy{MaxAttempts: 2, MaxRetryAfter: 10 * time.Millisecond},
		OnAttempt: func(transport.AttemptInfo) { attempts.Add(1) },
	}}
	client := newClient[testRequest, testResult](t, e.url, cfg)

	_, err := client.Do(testContext(t, 10*time.Second), testRequest{Text: "full"})
	require.ErrorIs(t, err, transport.ErrUnavailable)
	var jobErr *transport.JobError
	assert.False(t, errors.As(err, &jobErr), "an overloaded server's error matches *transport.JobError: %v", err)
	var problem *transport.Problem
	require.ErrorAs(t, err, &problem, "the last attempt's error carries the server's problem")
	assert.Equal(t, transport.CodeOverloaded, problem.Code)
	assert.GreaterOrEqual(t, attempts.Load(), int64(2), "dial attempts")

	// The server frees the slot shortly after the close handshake, so this
	// client retries until it is free.
	require.NoError(t, blocker.Close(ws.StatusNormalClosure, ""))
	patient := newClient[testRequest, testResult](t, e.url, websocket.Config{Pipeline: transport.PipelineConfig{
		Retry: transport.RetryPolicy{MaxAttempts: 50, MaxRetryAfter: 10 * time.Millisecond},
	}})
	got, err := patient.Do(testContext(t, 10*time.Second), testRequest{Text: "free"})
	require.NoError(t, err, "a call after the slot is free")
	assert.Equal(t, "FREE", got.Upper)
}

func TestClientOverloadedSubmitIsNotJobError(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{}), Started: make(chan struct{}, 1)}
	e := startServerWithJobs(t, engine, jobs.Config{Workers: 1, QueueDepth: 1}, websocket.HandlerConfig{})
	t.Cleanup(func() { close(engine.Gate) })
	client := newClient[testRequest, testResult](t, e.url, websocket.Config{Pipeline: fastRetry})

	startCall(t, client, testContext(t, 10*time.Second), "running")
	receive(t, engine.Started, "engine start")
	startCall(t, client, testContext(t, 10*time.Second), "queued")

	_, err := client.Do(testContext(t, 10*time.Second), testRequest{Text: "rejected"})
	require.ErrorIs(t, err, transport.ErrUnavailable)
	var unavailable *transport.UnavailableError
	require.ErrorAs(t, err, &unavailable)
	assert.Equal(t, "submit", unavailable.Op)
	var jobErr *transport.JobError
	assert.False(t, errors.As(err, &jobErr), "a submit rejected as overloaded matches *transport.JobError: %v", err)
	var problem *transport.Problem
	require.ErrorAs(t, err, &problem, "the last attempt's error carries the server's problem")
	assert.Equal(t, transport.CodeOverloaded, problem.Code)
}

func TestClientOversizedRequestFailsAlone(t *testing.T) {
	t.Parallel()
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{MaxMessageBytes: 1024})
	client := newClient[testRequest, testResult](t, e.url, websocket.Config{})

	_, err := client.Do(testContext(t, 10*time.Second), testRequest{Text: strings.Repeat("x", 4096)})
	var jobErr *transport.JobError
	require.ErrorAs(t, err, &jobErr)
	assert.Equal(t, transport.CodeTooLarge, jobErr.Code())

	got, err := client.Do(testContext(t, 10*time.Second), testRequest{Text: "small"})
	require.NoError(t, err, "a small call after the oversized one")
	assert.Equal(t, "SMALL", got.Upper)
}

func TestClientCloseEndsCallsWithErrClosed(t *testing.T) {
	t.Parallel()
	engine := &testEngine{Gate: make(chan struct{}), Started: make(chan struct{}, 1)}
	e := startServer(t, engine, websocket.HandlerConfig{})
	t.Cleanup(func() { close(engine.Gate) })
	client, err := websocket.NewClient[testRequest, testResult](e.url, websocket.Config{})
	require.NoError(t, err)

	done := make(chan error, 1)
	go func() {
		_, err := client.Do(testContext(t, 10*time.Second), testRequest{Text: "pending"})
		done <- err
	}()
	receive(t, engine.Started, "engine start")

	require.NoError(t, client.Close())
	assert.ErrorIs(t, receive(t, done, "Do's error"), transport.ErrClosed)
	_, err = client.Do(context.Background(), testRequest{Text: "after close"})
	assert.ErrorIs(t, err, transport.ErrClosed, "Do after Close")
	assert.NoError(t, client.Close(), "second Close")
}

func TestClientReconnectsAfterServerGoesAway(t *testing.T) {
	t.Parallel()
	engine := &testEngine{}
	e := startServer(t, engine, websocket.HandlerConfig{})
	client := newClient[testRequest, testResult](t, e.url, websocket.Config{})
	ctx := testContext(t, 10*time.Second)

	_, err := client.Do(ctx, testRequest{Text: "one"})
	require.NoError(t, err)
	// A second handler on the same runtime plays the restarted server.
	second := websocket.NewHandler(e.rt, websocket.HandlerConfig{})
	t.Cleanup(func() { require.NoError(t, second.Close()) })
	e.serving.Store(second)
	require.NoError(t, e.handler.Close())

	got, err := client.Do(ctx, testRequest{Text: "two"})
	require.NoError(t, err)
	assert.Equal(t, "TWO", got.Upper)
	assert.Equal(t, int64(2), e.conns.Load(), "TCP connections to the server")
}

func TestClientAuthorization(t *testing.T) {
	t.Parallel()
	authorize := func(r *http.Request) (string, error) {
		owner := r.Header.Get("X-Owner")
		if owner == "" {
			return "", errors.New("missing X-Owner header")
		}
		return owner, nil
	}
	e := startServer(t, &testEngine{}, websocket.HandlerConfig{Authorize: authorize})

	alice := newClient[testRequest, testResult](t, e.url, websocket.Config{Header: http.Header{"X-Owner": {"alice"}}})
	got, err := alice.Do(testContext(t, 10*time.Second), testRequest{Text: "mine"})
	require.NoError(t, err)
	assert.Equal(t, "MINE", got.Upper)

	anonymous := newClient[testRequest, testResult](t, e.url, websocket.Config{})
	_, err = anonymous.Do(testContext(t, 10*time.Second), testRequest{Text: "yours"})
	var jobErr *transport.JobError
	require.ErrorAs(t, err, &jobErr)
	assert.Equal(t, transport.CodeUnauthorized, jobErr.Code())
	assert.Equal(t, http.StatusUnauthorized, jobErr.Problem.Status)
}

func TestNewClientRejectsInvalidBaseURL(t *testing.T) {
	t.Parallel()
	for _, url := range []string{"", "/relative", "ftp://host/x", "http://host/x?q=1", "http://host/x#frag", "http://%zz"} {
		c, err := websocket.NewClient[testRequest, testResult](url, websocket.Config{})
		assert.Error(t, err, "base URL %q", url)
		assert.Nil(t, c, "client of base URL %q", url)
	}
}

// newProxy returns a fault proxy in front of e's server, closed by the test.
func newProxy(t *testing.T, e *env) *faultnet.Proxy {
	t.Helper()
	proxy, err := faultnet.New(faultnet.Config{Target: e.server.Listener.Addr().String()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = proxy.Close() })
	return proxy
}

// receive returns the next value of ch, failing the test after 5 s.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s within 5 s", what)
		var zero T
		return zero
	}
}

// itemEngine reports 0/n before its first item and i/n after item i, where n
// is the length of the request's text, and waits delay after each item.
func itemEngine(delay time.Duration) transport.Engine[testRequest, testResult] {
	return transport.EngineFunc[testRequest, testResult](func(ctx context.Context, req testRequest, progress transport.ProgressFunc) (testResult, error) {
		n := len(req.Text)
		progress(transport.Progress{Done: 0, Total: n})
		for i := 1; i <= n; i++ {
			if delay > 0 {
				select {
				case <-time.After(delay):
				case <-ctx.Done():
					return testResult{}, ctx.Err()
				}
			}
			progress(transport.Progress{Done: i, Total: n})
		}
		return testResult{Upper: strings.ToUpper(req.Text)}, nil
	})
}

func TestClientProgressEndsAtTotal(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		items int
		delay time.Duration
	}{
		{name: "eight items", items: 8, delay: 2 * time.Millisecond},
		{name: "instant three items", items: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startServer(t, itemEngine(tc.delay), websocket.HandlerConfig{})
			client := newClient[testRequest, testResult](t, e.url, websocket.Config{})
			want := transport.Progress{Done: tc.items, Total: tc.items}

			// The job's last report races with its end, so several calls
			// make a missing final report show.
			for call := range 5 {
				var mu sync.Mutex
				var reports []transport.Progress
				record := func(p transport.Progress) {
					mu.Lock()
					defer mu.Unlock()
					reports = append(reports, p)
				}

				_, err := client.Do(testContext(t, 10*time.Second), testRequest{Text: strings.Repeat("x", tc.items)},
					transport.WithProgress(record))
				require.NoError(t, err, "call %d", call)

				mu.Lock()
				require.NotEmpty(t, reports, "progress reports of call %d", call)
				assert.Equal(t, want, reports[len(reports)-1], "last progress report of call %d", call)
				mu.Unlock()
			}
		})
	}
}

func TestClientServerWithoutSocketRoute(t *testing.T) {
	t.Parallel()
	rt := jobs.New(jobs.EngineRunner[testRequest, testResult](&testEngine{}), jobs.Config{})
	t.Cleanup(func() { require.NoError(t, rt.Shutdown(testContext(t, 5*time.Second)), "runtime shutdown") })
	cases := []struct {
		name       string
		handler    http.Handler
		serverText string // part of the server's own 404 detail
	}{
		{name: "polling handler only", handler: polling.NewHandler(rt, polling.HandlerConfig{BasePath: "/api"}), serverText: "polling protocol"},
		{name: "plain 404", handler: http.NotFoundHandler(), serverText: "404 page not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			server := httptest.NewServer(tc.handler)
			t.Cleanup(server.Close)
			var attempts atomic.Int64
			countDials := func(info transport.AttemptInfo) {
				if info.Op == "dial" {
					attempts.Add(1)
				}
			}
			cfg := websocket.Config{Pipeline: transport.PipelineConfig{OnAttempt: countDials}}
			client := newClient[testRequest, testResult](t, server.URL+"/api", cfg)

			_, err := client.Do(testContext(t, 10*time.Second), testRequest{Text: "x"})
			var jobErr *transport.JobError
			require.ErrorAs(t, err, &jobErr)
			assert.Equal(t, http.StatusNotFound, jobErr.Problem.Status)
			assert.Equal(t, transport.CodeNotFound, jobErr.Code())
			socketURL := "ws" + strings.TrimPrefix(server.URL, "http") + "/api/ws"
			assert.Contains(t, err.Error(), "does not serve the websocket strategy at "+socketURL)
			assert.Contains(t, err.Error(), tc.serverText, "the server's own detail")
			assert.Equal(t, int64(1), attempts.Load(), "dial attempts")
		})
	}
}

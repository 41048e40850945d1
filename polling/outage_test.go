package polling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/internal/faultnet"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// Log messages that the tests look for.
const (
	msgPollFailed   = "job status request failed, retrying after a backoff because the job keeps running on the server"
	msgPollAgain    = "job status request succeeded again"
	msgWaitShorter  = "long-poll cut before the server responded, likely by a proxy that closes idle connections, so the call shortens its wait"
	msgCancelFailed = "best-effort cancel of abandoned job failed, so the job runs until it ends or passes its deadline"
)

// outageConfig returns testConfig with backoffs long enough that an outage
// of a second costs tens of requests, not thousands, and a logger that
// writes JSON records to logs.
func outageConfig(logs *lockedBuffer) Config {
	cfg := testConfig()
	cfg.Pipeline.Retry = transport.RetryPolicy{BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond, MaxRetryAfter: 50 * time.Millisecond}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return cfg
}

// recordsWithMessage returns the log records whose message is msg.
func recordsWithMessage(t *testing.T, logs *lockedBuffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, rec := range logs.records(t) {
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// attemptLog collects the AttemptInfo of failed status requests.
type attemptLog struct {
	mu     sync.Mutex
	failed []transport.AttemptInfo
}

func (l *attemptLog) record(a transport.AttemptInfo) {
	if a.Op != opPoll || a.Err == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failed = append(l.failed, a)
}

func (l *attemptLog) all() []transport.AttemptInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.failed)
}

// callOutcome is what a Do that runs in a goroutine returned.
type callOutcome struct {
	res sumResult
	err error
	at  time.Time
}

// doInBackground runs client.Do with ctx and returns the channel of its
// outcome and the channel of the job's ID.
func doInBackground(ctx context.Context, client *Client[sumRequest, sumResult], req sumRequest) (<-chan callOutcome, <-chan string) {
	done := make(chan callOutcome, 1)
	accepted := make(chan string, 1)
	go func() {
		res, err := client.Do(ctx, req, transport.WithOnAccepted(func(id string) { accepted <- id }))
		done <- callOutcome{res: res, err: err, at: time.Now()}
	}()
	return done, accepted
}

// awaitOutcome waits up to limit for the outcome of a call.
func awaitOutcome(t *testing.T, done <-chan callOutcome, limit time.Duration) callOutcome {
	t.Helper()
	select {
	case got := <-done:
		return got
	case <-time.After(limit):
		t.Fatalf("Do did not return within %v", limit)
		return callOutcome{}
	}
}

// newRefusingProxy returns a faultnet proxy in front of ts, closed when the
// test ends.
func newRefusingProxy(t *testing.T, ts *testServer) *faultnet.Proxy {
	t.Helper()
	proxy, err := faultnet.New(faultnet.Config{Target: ts.srv.Listener.Addr().String()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = proxy.Close() })
	return proxy
}

// refuse makes the proxy refuse new connections and cuts the open ones.
func refuse(t *testing.T, proxy *faultnet.Proxy) {
	t.Helper()
	require.NoError(t, proxy.SetRefuse(true))
	proxy.CutAll()
}

// Refused connections for 2 s in the middle of a job spend the retries of
// many status requests, and the call still returns the job's result.
func TestAwaitRidesOutRefusedConnections(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	ts := startServer(t, blockingEngine(release, nil), serverOptions{})
	proxy := newRefusingProxy(t, ts)

	var logs lockedBuffer
	var attempts attemptLog
	cfg := outageConfig(&logs)
	cfg.Pipeline.Breaker = &transport.BreakerSettings{Disabled: true}
	cfg.Pipeline.OnAttempt = attempts.record
	client := newTestClient[sumRequest, sumResult](t, proxy.URL(), cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done, accepted := doInBackground(ctx, client, sumRequest{Numbers: []int{3, 4}})
	jobID := <-accepted
	ts.waitForLongPoll(t)

	refuse(t, proxy)
	time.Sleep(2 * time.Second)
	require.NoError(t, proxy.SetRefuse(false))
	close(release)

	got := awaitOutcome(t, done, 5*time.Second)
	require.NoError(t, got.err)
	assert.Equal(t, 7, got.res.Sum)
	assert.Equal(t, int64(1), ts.posts.Load(), "submits")

	// More than one status request failed after all of its 5 attempts.
	assert.Greater(t, len(attempts.all()), 10, "failed status request attempts during the outage")
	warnings := recordsWithMessage(t, &logs, msgPollFailed)
	require.NotEmpty(t, warnings, "warnings about failed status requests")
	for _, rec := range warnings {
		assert.Equal(t, "WARN", rec["level"])
		assert.Equal(t, jobID, rec["job_id"])
	}
	recovered := recordsWithMessage(t, &logs, msgPollAgain)
	require.Len(t, recovered, 1, "log lines about the end of the outage")
	assert.Equal(t, jobID, recovered[0]["job_id"])
}

// Resume rides out an outage too, from its first status request on.
func TestResumeRidesOutRefusedConnections(t *testing.T) {
	t.Parallel()
	ts := startServer(t, sumEngine(), serverOptions{})
	proxy := newRefusingProxy(t, ts)

	var logs lockedBuffer
	cfg := outageConfig(&logs)
	cfg.Pipeline.Breaker = &transport.BreakerSettings{Disabled: true}
	client := newTestClient[sumRequest, sumResult](t, proxy.URL(), cfg)
	jobID, err := client.Submit(context.Background(), sumRequest{Numbers: []int{2, 9}})
	require.NoError(t, err)

	refuse(t, proxy)
	time.AfterFunc(500*time.Millisecond, func() { _ = proxy.SetRefuse(false) })
	res, err := client.Resume(context.Background(), jobID)
	require.NoError(t, err)
	assert.Equal(t, 11, res.Sum)
	assert.NotEmpty(t, recordsWithMessage(t, &logs, msgPollFailed), "warnings about failed status requests")
}

// A restart of the server, whose successor on the same address reads the
// same store, costs the call nothing. A successor that lost the job ends the
// call with not-found at once.
func TestAwaitSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		sameStore bool
	}{
		{"same store", true},
		{"store lost", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			started := make(chan context.Context, 1)
			engine := blockingEngine(release, started)
			store := jobs.NewMemoryStore()

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			addr := ln.Addr().String()
			first := startOnListener(t, ln, engine, store)

			var logs lockedBuffer
			cfg := outageConfig(&logs)
			cfg.Pipeline.Breaker = &transport.BreakerSettings{Disabled: true}
			client := newTestClient[sumRequest, sumResult](t, "http://"+addr, cfg)

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			done, accepted := doInBackground(ctx, client, sumRequest{Numbers: []int{5, 6}})
			jobID := <-accepted
			<-started

			// The first server stops and hands the running job back to the
			// store's queue. Its address refuses connections for 1 s.
			first.stop(t)
			time.Sleep(time.Second)
			nextStore := store
			if !tc.sameStore {
				nextStore = jobs.NewMemoryStore()
			}
			second := startOnListener(t, listenAgain(t, addr), engine, nextStore)
			t.Cleanup(func() { second.stop(t) })
			restarted := time.Now()
			close(release)

			got := awaitOutcome(t, done, 5*time.Second)
			if !tc.sameStore {
				jobErr := requireJobError(t, got.err, transport.CodeNotFound)
				assert.Equal(t, jobID, jobErr.JobID)
				assert.Less(t, got.at.Sub(restarted), time.Second, "time from the restart to the end of the call")
				return
			}
			require.NoError(t, got.err)
			assert.Equal(t, 11, got.res.Sum)
			assert.NotEmpty(t, recordsWithMessage(t, &logs, msgPollFailed), "warnings about failed status requests")
		})
	}
}

// runningServer is a runtime and its HTTP server on a given listener.
type runningServer struct {
	rt  *jobs.Runtime
	srv *httptest.Server
}

// startOnListener starts a runtime on store and a polling server on ln.
func startOnListener(t *testing.T, ln net.Listener, engine transport.Engine[sumRequest, sumResult], store jobs.Store) *runningServer {
	t.Helper()
	rt := jobs.New(jobs.EngineRunner(engine), jobs.Config{Store: store, PollInterval: 10 * time.Millisecond, ProgressInterval: time.Nanosecond})
	srv := httptest.NewUnstartedServer(NewHandler(rt, HandlerConfig{}))
	require.NoError(t, srv.Listener.Close())
	srv.Listener = ln
	srv.Start()
	return &runningServer{rt: rt, srv: srv}
}

// stop closes the server and its connections, and shuts the runtime down
// with a short grace, which puts a running job back in the store's queue.
func (s *runningServer) stop(t *testing.T) {
	t.Helper()
	s.srv.CloseClientConnections()
	s.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.rt.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("runtime shutdown: %v", err)
	}
}

// listenAgain listens on addr again, retrying for a second while the port is
// still taken.
func listenAgain(t *testing.T, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	require.Eventually(t, func() bool {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err == nil
	}, time.Second, 10*time.Millisecond, "listen again on %s", addr)
	return ln
}

// A breaker that opens during the outage does not end the call, nor hold it
// for the breaker's OpenTimeout: the call reads its job outside the breaker,
// and gets the result soon after the server is back. The breaker still
// guards new calls: it rejects them while it is open, and the submit of the
// first one after the OpenTimeout is its trial request.
func TestAwaitPollsPastOpenBreaker(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		openTimeout time.Duration
		openAtEnd   bool // whether the breaker is still open when the call ends
	}{
		{"open for 30 s", 30 * time.Second, true},
		{"open for 200 ms", 200 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			ts := startServer(t, blockingEngine(release, nil), serverOptions{})
			proxy := newRefusingProxy(t, ts)

			var logs lockedBuffer
			var attempts attemptLog
			var mu sync.Mutex
			var states []gobreaker.State
			cfg := outageConfig(&logs)
			cfg.Pipeline.OnAttempt = attempts.record
			cfg.Pipeline.Breaker = &transport.BreakerSettings{
				ConsecutiveFailures: 3,
				OpenTimeout:         tc.openTimeout,
				OnStateChange: func(_ string, _, to gobreaker.State) {
					mu.Lock()
					states = append(states, to)
					mu.Unlock()
				},
			}
			client := newTestClient[sumRequest, sumResult](t, proxy.URL(), cfg)

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			done, _ := doInBackground(ctx, client, sumRequest{Numbers: []int{1, 2}})
			ts.waitForLongPoll(t)

			refuse(t, proxy)
			time.Sleep(time.Second)
			require.NotEqual(t, gobreaker.StateClosed, client.pipeline.BreakerState(client.target), "breaker state during the outage")
			require.NoError(t, proxy.SetRefuse(false))
			restored := time.Now()
			close(release)

			got := awaitOutcome(t, done, 5*time.Second)
			require.NoError(t, got.err)
			assert.Equal(t, 3, got.res.Sum)
			assert.Less(t, got.at.Sub(restored), time.Second, "time from the end of the outage to the result")

			// The status requests after the breaker opened went outside it, so
			// it rejected at most the one that tripped it.
			rejected := 0
			for _, a := range attempts.all() {
				if transport.IsCircuitOpen(a.Err) {
					rejected++
				}
			}
			assert.LessOrEqual(t, rejected, 1, "status requests that the open breaker rejected")
			assert.Greater(t, len(attempts.all()), 5, "failed status request attempts during the outage")

			_, err := client.Do(ctx, sumRequest{Numbers: []int{1}})
			mu.Lock()
			defer mu.Unlock()
			if tc.openAtEnd {
				assert.ErrorIs(t, err, transport.ErrCircuitOpen, "new call while the breaker is open")
				assert.Equal(t, []gobreaker.State{gobreaker.StateOpen}, states, "breaker state changes")
				return
			}
			require.NoError(t, err, "new call after the OpenTimeout")
			assert.Equal(t, []gobreaker.State{gobreaker.StateOpen, gobreaker.StateHalfOpen, gobreaker.StateClosed}, states,
				"breaker state changes")
		})
	}
}

// The caller's deadline ends a call whose server never comes back, on time,
// although the breaker is open for 30 s, and the best-effort cancel is tried.
func TestAwaitOutageEndsAtCallerDeadline(t *testing.T) {
	t.Parallel()
	ts := startServer(t, blockingEngine(nil, nil), serverOptions{})
	proxy := newRefusingProxy(t, ts)

	var logs lockedBuffer
	client := newTestClient[sumRequest, sumResult](t, proxy.URL(), outageConfig(&logs))

	const timeout = 1500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	done, accepted := doInBackground(ctx, client, sumRequest{Numbers: []int{1}})
	jobID := <-accepted
	ts.waitForLongPoll(t)
	refuse(t, proxy)

	got := awaitOutcome(t, done, 5*time.Second)
	require.ErrorIs(t, got.err, context.DeadlineExceeded)
	assert.NotErrorIs(t, got.err, transport.ErrUnavailable)
	assert.Less(t, got.at.Sub(deadline), 300*time.Millisecond, "time from the deadline to the end of the call")
	assert.Equal(t, gobreaker.StateOpen, client.pipeline.BreakerState(client.target), "breaker state at the end of the call")

	require.Eventually(t, func() bool {
		return len(recordsWithMessage(t, &logs, msgCancelFailed)) > 0
	}, 3*time.Second, 10*time.Millisecond, "no log line about the failed best-effort cancel")
	assert.Equal(t, jobID, recordsWithMessage(t, &logs, msgCancelFailed)[0]["job_id"])
}

// Close ends at once a call that waits through an outage.
func TestCloseEndsCallDuringOutage(t *testing.T) {
	t.Parallel()
	ts := startServer(t, blockingEngine(nil, nil), serverOptions{})
	proxy := newRefusingProxy(t, ts)

	var logs lockedBuffer
	var attempts attemptLog
	cfg := outageConfig(&logs)
	cfg.Pipeline.OnAttempt = attempts.record
	client, err := NewClient[sumRequest, sumResult](proxy.URL(), cfg)
	require.NoError(t, err)

	done, _ := doInBackground(context.Background(), client, sumRequest{Numbers: []int{1}})
	ts.waitForLongPoll(t)
	refuse(t, proxy)
	// The first status request spends its 5 attempts and the breaker opens.
	require.Eventually(t, func() bool { return len(attempts.all()) >= 5 }, 5*time.Second, time.Millisecond,
		"status requests did not fail")
	time.Sleep(50 * time.Millisecond)

	closedAt := time.Now()
	require.NoError(t, client.Close())
	got := awaitOutcome(t, done, 5*time.Second)
	require.ErrorIs(t, got.err, transport.ErrClosed)
	assert.NotErrorIs(t, got.err, transport.ErrUnavailable)
	assert.Less(t, got.at.Sub(closedAt), 300*time.Millisecond, "time from Close to the end of the call")
}

// A proxy that closes connections idle for 300 ms cuts every long-poll of
// 2 s. The call halves its wait after each cut, without counting the cuts as
// failures, until its long-polls end before the proxy's limit.
func TestLongPollAdaptsToIdleCut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var mu sync.Mutex
	var waits []string // the Prefer header of each status request, in order
	before := func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Method == http.MethodGet {
			mu.Lock()
			waits = append(waits, r.Header.Get("Prefer"))
			mu.Unlock()
		}
		return false
	}
	ts := startServer(t, blockingEngine(release, nil), serverOptions{before: before})
	proxy := newIdleCutProxy(t, ts.srv.Listener.Addr().String(), 300*time.Millisecond)

	var logs lockedBuffer
	var attempts attemptLog
	cfg := outageConfig(&logs)
	cfg.LongPoll = 2 * time.Second
	cfg.Pipeline.OnAttempt = attempts.record
	client := newTestClient[sumRequest, sumResult](t, proxy.url(), cfg)
	client.minLongPoll = 100 * time.Millisecond

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done, accepted := doInBackground(ctx, client, sumRequest{Numbers: []int{4, 4}})
	jobID := <-accepted

	// Waits of 2 s, 1 s and 0.5 s are cut, and one of 0.25 s ends in time.
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(waits, "wait=0.25")
	}, 5*time.Second, time.Millisecond, "no long-poll with a wait of 0.25 s")
	time.Sleep(400 * time.Millisecond)
	close(release)

	got := awaitOutcome(t, done, 5*time.Second)
	require.NoError(t, got.err)
	assert.Equal(t, 8, got.res.Sum)

	mu.Lock()
	distinct := slices.Compact(slices.Clone(waits))
	mu.Unlock()
	require.GreaterOrEqual(t, len(distinct), 4, "distinct waits in order: %v", distinct)
	assert.Equal(t, []string{"wait=2", "wait=1", "wait=0.5", "wait=0.25"}, distinct[:4], "distinct waits in order")
	assert.GreaterOrEqual(t, proxy.cuts.Load(), int64(3), "connections cut by the proxy")

	failed := attempts.all()
	require.NotEmpty(t, failed, "failed status requests")
	for _, a := range failed {
		var cut *longPollCutError
		assert.ErrorAs(t, a.Err, &cut, "a status request failed with another error than a cut")
	}
	assert.Equal(t, gobreaker.StateClosed, client.pipeline.BreakerState(client.target), "breaker state")
	assert.Empty(t, recordsWithMessage(t, &logs, msgPollFailed), "warnings about failed status requests")

	shortened := recordsWithMessage(t, &logs, msgWaitShorter)
	require.GreaterOrEqual(t, len(shortened), 3, "log lines about shortened waits")
	assert.Equal(t, "INFO", shortened[0]["level"])
	assert.Equal(t, jobID, shortened[0]["job_id"])
	for _, rec := range shortened[1:] {
		assert.Equal(t, "DEBUG", rec["level"], "level of a later shortening")
	}
}

// Only a broken connection of a long-poll that was open for at least the
// minimum wait, and whose wait was above it, counts as a cut. Other failures
// count as usual, and the pipeline retries them.
func TestCutWhileWaitingBounds(t *testing.T) {
	t.Parallel()
	client := newTestClient[sumRequest, sumResult](t, "http://127.0.0.1:1", Config{})
	broken := &url.Error{Op: "Get", URL: "http://127.0.0.1:1/jobs/x", Err: io.EOF}
	reset := &url.Error{Op: "Get", URL: "http://127.0.0.1:1/jobs/x", Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}
	refused := &url.Error{Op: "Get", URL: "http://127.0.0.1:1/jobs/x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	cases := []struct {
		name       string
		err        error
		wait, open time.Duration
		want       bool
	}{
		{"EOF after 2 s of 25 s", broken, 25 * time.Second, 2 * time.Second, true},
		{"reset after 20 s of 25 s", reset, 25 * time.Second, 20 * time.Second, true},
		{"EOF before the minimum", broken, 25 * time.Second, 500 * time.Millisecond, false},
		{"wait at the minimum", broken, time.Second, time.Second, false},
		{"no wait", broken, 0, 2 * time.Second, false},
		{"stalled", fmt.Errorf("%w: sent no data: %w", transport.ErrAttemptTimeout, io.EOF), 25 * time.Second, 20 * time.Second, false},
		{"refused", refused, 25 * time.Second, 2 * time.Second, false},
	}
	for _, tc := range cases {
		got := client.cutWhileWaiting(context.Background(), tc.err, tc.wait, tc.open)
		assert.Equal(t, tc.want, got, tc.name)
	}

	ended, cancel := context.WithCancel(context.Background())
	cancel()
	assert.False(t, client.cutWhileWaiting(ended, broken, 25*time.Second, 2*time.Second), "attempt context ended")
}

// idleCutProxy is a TCP proxy on loopback that closes every connection that
// has moved no data, in either direction, for idle, as proxies and gateways
// with an idle timeout do.
type idleCutProxy struct {
	ln      net.Listener
	target  string
	idle    time.Duration
	closing chan struct{}
	wg      sync.WaitGroup
	cuts    atomic.Int64 // connections closed for being idle
}

// newIdleCutProxy starts an idleCutProxy in front of target, closed when the
// test ends.
func newIdleCutProxy(t *testing.T, target string, idle time.Duration) *idleCutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &idleCutProxy{ln: ln, target: target, idle: idle, closing: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		close(p.closing)
		_ = p.ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *idleCutProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *idleCutProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

// serve forwards one connection until a side closes it, it is idle for
// p.idle, or the proxy closes.
func (p *idleCutProxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.Close()
		return
	}

	var lastData atomic.Int64
	lastData.Store(time.Now().UnixNano())
	closed := make(chan struct{})
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			_ = client.Close()
			_ = server.Close()
			close(closed)
		})
	}
	var copies sync.WaitGroup
	forward := func(dst, src net.Conn) {
		defer copies.Done()
		defer closeBoth()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				lastData.Store(time.Now().UnixNano())
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	copies.Add(2)
	go forward(server, client)
	go forward(client, server)
	defer copies.Wait()

	ticker := time.NewTicker(p.idle / 20)
	defer ticker.Stop()
	for {
		select {
		case <-closed:
			return
		case <-p.closing:
			closeBoth()
		case <-ticker.C:
			if time.Since(time.Unix(0, lastData.Load())) >= p.idle {
				p.cuts.Add(1)
				closeBoth()
			}
		}
	}
}

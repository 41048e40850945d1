package polling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/internal/faultnet"
	"github.com/longhaul-go/longhaul/internal/testutil"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

func TestDoSumRoundTrip(t *testing.T) {
	t.Parallel()
	ts := startServer(t, sumEngine(), serverOptions{})
	client := newTestClient[sumRequest, sumResult](t, ts.URL, testConfig())

	var accepted []string
	res, err := client.Do(context.Background(), sumRequest{Numbers: []int{1, 2, 3, 4}},
		transport.WithOnAccepted(func(id string) { accepted = append(accepted, id) }))
	require.NoError(t, err)
	assert.Equal(t, 10, res.Sum)

	require.Len(t, accepted, 1, "OnAccepted calls")
	assert.True(t, jobs.ValidID(accepted[0]), "accepted job ID %q is not a valid ID", accepted[0])
	job, err := ts.rt.Get(context.Background(), "", accepted[0])
	require.NoError(t, err)
	assert.Equal(t, jobs.StateSucceeded, job.State)
	assert.JSONEq(t, `{"sum":10}`, string(job.Result))
}

func TestDoLookupRoundTrip(t *testing.T) {
	t.Parallel()
	engine := &lookup.Engine{Source: lookup.DefaultDemo()}
	ts := startServer(t, engine, serverOptions{mountAt: "/api"})
	client := newTestClient[lookup.Request, lookup.Result](t, ts.URL, testConfig())

	req := lookup.Request{ProductIDs: []string{"1", "17", "999", "no-such-product", "17"}}
	got, err := client.Do(context.Background(), req)
	require.NoError(t, err)

	want, err := engine.Run(context.Background(), req, nil)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	require.Len(t, got.Items, 5)
	assert.False(t, got.Items[3].Known, "item %q is known, want unknown", got.Items[3].ProductID)
}

func TestDoLookupSakila(t *testing.T) {
	t.Parallel()
	inv := testutil.SakilaInventory(t)
	engine := &lookup.Engine{Source: inv}
	ts := startServer(t, engine, serverOptions{})
	client := newTestClient[lookup.Request, lookup.Result](t, ts.URL, testConfig())

	got, err := client.Do(context.Background(), lookup.Request{ProductIDs: []string{"1", "14", "1001"}})
	require.NoError(t, err)

	// The expected values come from stock.csv and products.csv of the Sakila data.
	require.Len(t, got.Items, 3)
	assert.Equal(t, "Academy Dinosaur", got.Items[0].Name)
	assert.Equal(t, 7, got.Items[0].Quantity)
	assert.Len(t, got.Items[0].Locations, 2)
	assert.True(t, got.Items[1].Known, "product 14 is unknown, want known")
	assert.Equal(t, 0, got.Items[1].Quantity)
	assert.False(t, got.Items[2].Known, "product 1001 is known, want unknown")
}

// The client's PollInterval is far longer than the test allows for each
// step, so progress that arrives in time came through a long-poll.
func TestDoProgressArrivesByLongPoll(t *testing.T) {
	t.Parallel()
	step1, step2 := make(chan struct{}), make(chan struct{})
	engine := transport.EngineFunc[sumRequest, sumResult](func(ctx context.Context, req sumRequest, progress transport.ProgressFunc) (sumResult, error) {
		for i, gate := range []chan struct{}{step1, step2} {
			progress(transport.Progress{Done: i + 1, Total: 3})
			select {
			case <-gate:
			case <-ctx.Done():
				return sumResult{}, ctx.Err()
			}
		}
		return sumResult{Sum: 42}, nil
	})
	ts := startServer(t, engine, serverOptions{})
	cfg := testConfig()
	cfg.PollInterval = time.Minute
	cfg.LongPoll = time.Minute
	client := newTestClient[sumRequest, sumResult](t, ts.URL, cfg)

	reports := make(chan transport.Progress, 10)
	type outcome struct {
		res sumResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := client.Do(context.Background(), sumRequest{},
			transport.WithProgress(func(p transport.Progress) { reports <- p }))
		done <- outcome{res, err}
	}()

	next := func() transport.Progress {
		t.Helper()
		select {
		case p := <-reports:
			return p
		case <-time.After(3 * time.Second):
			t.Fatal("no progress report within 3 s")
			return transport.Progress{}
		}
	}
	assert.Equal(t, transport.Progress{Done: 1, Total: 3}, next())
	close(step1)
	assert.Equal(t, transport.Progress{Done: 2, Total: 3}, next())
	close(step2)
	// A job that succeeds is recorded with its progress complete.
	assert.Equal(t, transport.Progress{Done: 3, Total: 3}, next())

	select {
	case got := <-done:
		require.NoError(t, got.err)
		assert.Equal(t, 42, got.res.Sum)
	case <-time.After(3 * time.Second):
		t.Fatal("Do did not return within 3 s of the job's end")
	}
	assert.Empty(t, reports, "reports after the result")
}

func TestDoJobFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		wantCode   string
		wantDetail string
	}{
		{"plain error", errors.New("inventory database is down"), transport.CodeJobFailed, "inventory database is down"},
		{"problem", transport.NewProblem(http.StatusUnprocessableEntity, "product-retired", "product 7 was retired"),
			"product-retired", "product 7 was retired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			engine := transport.EngineFunc[sumRequest, sumResult](func(context.Context, sumRequest, transport.ProgressFunc) (sumResult, error) {
				return sumResult{}, tt.err
			})
			ts := startServer(t, engine, serverOptions{})
			client := newTestClient[sumRequest, sumResult](t, ts.URL, testConfig())

			var jobID string
			res, err := client.Do(context.Background(), sumRequest{Numbers: []int{1}},
				transport.WithOnAccepted(func(id string) { jobID = id }))

			jobErr := requireJobError(t, err, tt.wantCode)
			assert.Equal(t, jobID, jobErr.JobID)
			assert.Equal(t, tt.wantDetail, jobErr.Problem.Detail)
			assert.Equal(t, sumResult{}, res, "result of a failed job")
		})
	}
}

func TestDoCallerCancelIsPrompt(t *testing.T) {
	t.Parallel()
	started := make(chan context.Context, 1)
	ts := startServer(t, blockingEngine(nil, started), serverOptions{})
	client := newTestClient[sumRequest, sumResult](t, ts.URL, testConfig())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	accepted := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		_, err := client.Do(ctx, sumRequest{Numbers: []int{1}}, transport.WithOnAccepted(func(id string) { accepted <- id }))
		errc <- err
	}()

	jobID := <-accepted
	jobCtx := <-started
	ts.waitForLongPoll(t)

	cancel()
	start := time.Now()
	var err error
	select {
	case err = <-errc:
	case <-time.After(5 * time.Second):
		t.Fatal("Do did not return within 5 s of the cancel")
	}
	elapsed := time.Since(start)

	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, elapsed, 250*time.Millisecond, "Do returned %v after the cancel", elapsed)

	// The background DELETE cancels the job on the server.
	job := ts.waitForState(t, "", jobID, jobs.State.Finished)
	assert.Equal(t, jobs.StateCanceled, job.State)
	require.NotNil(t, job.Problem)
	assert.Equal(t, transport.CodeJobCanceled, job.Problem.Code)
	assert.ErrorIs(t, jobCtx.Err(), context.Canceled, "engine context after the cancel")
}

func TestDoCallerDeadlineTravels(t *testing.T) {
	t.Parallel()
	started := make(chan context.Context, 1)
	ts := startServer(t, blockingEngine(nil, started), serverOptions{})
	client := newTestClient[sumRequest, sumResult](t, ts.URL, testConfig())

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	callerDeadline, _ := ctx.Deadline()
	accepted := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		_, err := client.Do(ctx, sumRequest{Numbers: []int{1}}, transport.WithOnAccepted(func(id string) { accepted <- id }))
		errc <- err
	}()

	jobID := <-accepted
	jobCtx := <-started
	jobDeadline, ok := jobCtx.Deadline()
	require.True(t, ok, "the job's context has no deadline")
	assert.WithinDuration(t, callerDeadline, jobDeadline, 100*time.Millisecond)

	err := <-errc
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	// The job passes its deadline or the background DELETE cancels it,
	// whichever comes first.
	job := ts.waitForState(t, "", jobID, jobs.State.Finished)
	require.NotNil(t, job.Problem)
	assert.Contains(t, []string{transport.CodeJobTimeout, transport.CodeJobCanceled}, job.Problem.Code)
}

func TestIdempotencySameKeySameJob(t *testing.T) {
	t.Parallel()
	var runs atomic.Int64
	engine := transport.EngineFunc[sumRequest, sumResult](func(ctx context.Context, req sumRequest, p transport.ProgressFunc) (sumResult, error) {
		runs.Add(1)
		return sumEngine()(ctx, req, p)
	})
	ts := startServer(t, engine, serverOptions{})
	client := newTestClient[sumRequest, sumResult](t, ts.URL, testConfig())
	ctx := context.Background()
	req := sumRequest{Numbers: []int{2, 3}}

	first, err := client.Submit(ctx, req, transport.WithIdempotencyKey("order-7"))
	require.NoError(t, err)
	second, err := client.Submit(ctx, req, transport.WithIdempotencyKey("order-7"))
	require.NoError(t, err)
	assert.Equal(t, first, second, "job IDs of two submits with the same key")

	var accepted string
	res, err := client.Do(ctx, req, transport.WithIdempotencyKey("order-7"),
		transport.WithOnAccepted(func(id string) { accepted = id }))
	require.NoError(t, err)
	assert.Equal(t, 5, res.Sum)
	assert.Equal(t, first, accepted, "job ID of Do with the same key")
	assert.Equal(t, int64(1), runs.Load(), "engine runs")

	keys, replayed := ts.submitted()
	assert.Equal(t, []string{"order-7", "order-7", "order-7"}, keys)
	assert.Equal(t, []bool{false, true, true}, replayed)
}

func TestIdempotencyConflict(t *testing.T) {
	t.Parallel()
	ts := startServer(t, sumEngine(), serverOptions{})
	client := newTestClient[sumRequest, sumResult](t, ts.URL, testConfig())
	ctx := context.Background()

	_, err := client.Submit(ctx, sumRequest{Numbers: []int{1}}, transport.WithIdempotencyKey("order-8"))
	require.NoError(t, err)

	_, err = client.Do(ctx, sumRequest{Numbers: []int{2}}, transport.WithIdempotencyKey("order-8"))
	jobErr := requireJobError(t, err, transport.CodeConflict)
	assert.Equal(t, http.StatusConflict, jobErr.Problem.Status)
	assert.Empty(t, jobErr.JobID, "job ID of a rejected submit")
	assert.Equal(t, int64(2), ts.posts.Load(), "POST requests: the conflict must not be retried")
}

func TestIdempotencyKeyRandomPerCall(t *testing.T) {
	t.Parallel()
	ts := startServer(t, sumEngine(), serverOptions{})
	client := newTestClient[sumRequest, sumResult](t, ts.URL, testConfig())

	for range 2 {
		_, err := client.Do(context.Background(), sumRequest{Numbers: []int{1}})
		require.NoError(t, err)
	}

	keys, replayed := ts.submitted()
	require.Len(t, keys, 2)
	assert.Len(t, keys[0], 32, "length of the generated key %q", keys[0])
	assert.NotEqual(t, keys[0], keys[1], "keys of two calls")
	assert.Equal(t, []bool{false, false}, replayed)
}

func TestIdempotencyKeyInvalid(t *testing.T) {
	t.Parallel()
	ts := startServer(t, sumEngine(), serverOptions{})
	client := newTestClient[sumRequest, sumResult](t, ts.URL, testConfig())

	_, err := client.Do(context.Background(), sumRequest{}, transport.WithIdempotencyKey("has space"))
	requireJobError(t, err, transport.CodeInvalidRequest)
	assert.Zero(t, ts.posts.Load(), "POST requests with an invalid key")
}

// dropFirstResponse forwards every request, but for the first POST it reads
// and discards the server's response and reports a connection reset, as if
// the response were lost on the way back.
type dropFirstResponse struct {
	next    http.RoundTripper
	dropped atomic.Bool
}

func (d *dropFirstResponse) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodPost || d.dropped.Swap(true) {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
}

func TestSubmitResponseLost(t *testing.T) {
	t.Parallel()
	var runs atomic.Int64
	engine := transport.EngineFunc[sumRequest, sumResult](func(ctx context.Context, req sumRequest, p transport.ProgressFunc) (sumResult, error) {
		runs.Add(1)
		return sumEngine()(ctx, req, p)
	})
	ts := startServer(t, engine, serverOptions{})

	inner := &http.Transport{}
	t.Cleanup(inner.CloseIdleConnections)
	cfg := testConfig()
	cfg.HTTPClient = &http.Client{Transport: &dropFirstResponse{next: inner}}
	var attempts []transport.AttemptInfo
	cfg.Pipeline.OnAttempt = func(a transport.AttemptInfo) {
		if a.Op == opSubmit {
			attempts = append(attempts, a)
		}
	}
	client := newTestClient[sumRequest, sumResult](t, ts.URL, cfg)

	res, err := client.Do(context.Background(), sumRequest{Numbers: []int{20, 22}})
	require.NoError(t, err)
	assert.Equal(t, 42, res.Sum)

	assert.Equal(t, int64(1), runs.Load(), "engine runs")
	keys, replayed := ts.submitted()
	require.Len(t, keys, 2, "POST requests")
	assert.Equal(t, keys[0], keys[1], "Idempotency-Key of the retry")
	assert.Equal(t, []bool{false, true}, replayed)
	require.Len(t, attempts, 2, "submit attempts")
	assert.ErrorIs(t, attempts[0].Err, syscall.ECONNRESET)
	assert.NoError(t, attempts[1].Err)
}

func TestDoServerDown(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	cfg := testConfig()
	cfg.Pipeline.Retry.MaxAttempts = 3
	var attempts atomic.Int64
	cfg.Pipeline.OnAttempt = func(transport.AttemptInfo) { attempts.Add(1) }
	client := newTestClient[sumRequest, sumResult](t, "http://"+addr, cfg)

	_, err = client.Do(context.Background(), sumRequest{Numbers: []int{1}})
	require.ErrorIs(t, err, transport.ErrUnavailable)
	var unavailable *transport.UnavailableError
	require.ErrorAs(t, err, &unavailable)
	assert.Equal(t, opSubmit, unavailable.Op)
	assert.Equal(t, 3, unavailable.Attempts)
	assert.Equal(t, int64(3), attempts.Load(), "attempts reported to OnAttempt")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
}

func TestDoRetriesOverloadedServer(t *testing.T) {
	t.Parallel()
	var rejected atomic.Int64
	before := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || rejected.Add(1) > 2 {
			return false
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprint(w, `{"type":"about:blank","code":"overloaded","status":503}`)
		return true
	}
	ts := startServer(t, sumEngine(), serverOptions{before: before})
	client := newTestClient[sumRequest, sumResult](t, ts.URL, testConfig())

	res, err := client.Do(context.Background(), sumRequest{Numbers: []int{1, 1}})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Sum)
	assert.Equal(t, int64(3), rejected.Load(), "POST requests, two of them rejected")
}

func TestDoOverloadedUntilUnavailable(t *testing.T) {
	t.Parallel()
	before := func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
		return true
	}
	ts := startServer(t, sumEngine(), serverOptions{before: before})
	cfg := testConfig()
	cfg.Pipeline.Retry.MaxAttempts = 2
	client := newTestClient[sumRequest, sumResult](t, ts.URL, cfg)

	start := time.Now()
	_, err := client.Do(context.Background(), sumRequest{})
	require.ErrorIs(t, err, transport.ErrUnavailable)
	var problem *transport.Problem
	require.ErrorAs(t, err, &problem)
	assert.Equal(t, http.StatusTooManyRequests, problem.Status)
	assert.Less(t, time.Since(start), 2*time.Second, "the Retry-After of an hour must be capped by MaxRetryAfter")
}

func TestResumeAndCancel(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	ts := startServer(t, blockingEngine(release, nil), serverOptions{})
	client := newTestClient[sumRequest, sumResult](t, ts.URL, testConfig())
	ctx := context.Background()

	finished, err := client.Submit(ctx, sumRequest{Numbers: []int{4, 5}})
	require.NoError(t, err)
	canceled, err := client.Submit(ctx, sumRequest{Numbers: []int{6}})
	require.NoError(t, err)
	require.NoError(t, client.Cancel(ctx, canceled))

	close(release)
	res, err := client.Resume(ctx, finished)
	require.NoError(t, err)
	assert.Equal(t, 9, res.Sum)

	_, err = client.Resume(ctx, canceled)
	jobErr := requireJobError(t, err, transport.CodeJobCanceled)
	assert.Equal(t, canceled, jobErr.JobID)

	// Cancelling a finished job changes nothing.
	require.NoError(t, client.Cancel(ctx, finished))
	res, err = client.Resume(ctx, finished)
	require.NoError(t, err)
	assert.Equal(t, 9, res.Sum)
}

func TestResumeUnknownJob(t *testing.T) {
	t.Parallel()
	ts := startServer(t, sumEngine(), serverOptions{})
	client := newTestClient[sumRequest, sumResult](t, ts.URL, testConfig())
	unknown := jobs.NewID()

	_, err := client.Resume(context.Background(), unknown)
	jobErr := requireJobError(t, err, transport.CodeNotFound)
	assert.Equal(t, unknown, jobErr.JobID)
	assert.Equal(t, http.StatusNotFound, jobErr.Problem.Status)

	err = client.Cancel(context.Background(), unknown)
	requireJobError(t, err, transport.CodeNotFound)
}

func TestResumeInvalidJobID(t *testing.T) {
	t.Parallel()
	var requests atomic.Int64
	before := func(http.ResponseWriter, *http.Request) bool { requests.Add(1); return false }
	ts := startServer(t, sumEngine(), serverOptions{before: before})
	client := newTestClient[sumRequest, sumResult](t, ts.URL, testConfig())

	for _, id := range []string{"", "../run", "ABCDEF0123456789ABCDEF0123456789"} {
		_, err := client.Resume(context.Background(), id)
		requireJobError(t, err, transport.CodeInvalidRequest)
		err = client.Cancel(context.Background(), id)
		requireJobError(t, err, transport.CodeInvalidRequest)
	}
	assert.Zero(t, requests.Load(), "requests sent for invalid job IDs")
}

// ownerTransport sends the owner in the X-Owner header, which the test
// server's Authorize hook reads.
type ownerTransport struct {
	owner string
	next  http.RoundTripper
}

func (o ownerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if o.owner != "" {
		r.Header.Set("X-Owner", o.owner)
	}
	return o.next.RoundTrip(r)
}

func TestOtherOwnerGetsNotFound(t *testing.T) {
	t.Parallel()
	authorize := func(r *http.Request) (string, error) {
		if owner := r.Header.Get("X-Owner"); owner != "" {
			return owner, nil
		}
		return "", errors.New("missing X-Owner header")
	}
	ts := startServer(t, sumEngine(), serverOptions{handler: HandlerConfig{Authorize: authorize}})
	inner := &http.Transport{}
	t.Cleanup(inner.CloseIdleConnections)
	clientOf := func(owner string) *Client[sumRequest, sumResult] {
		cfg := testConfig()
		cfg.HTTPClient = &http.Client{Transport: ownerTransport{owner: owner, next: inner}}
		return newTestClient[sumRequest, sumResult](t, ts.URL, cfg)
	}
	alice, bob, nobody := clientOf("alice"), clientOf("bob"), clientOf("")
	ctx := context.Background()

	id, err := alice.Submit(ctx, sumRequest{Numbers: []int{7}})
	require.NoError(t, err)

	_, err = bob.Resume(ctx, id)
	jobErr := requireJobError(t, err, transport.CodeNotFound)
	assert.Equal(t, id, jobErr.JobID)
	err = bob.Cancel(ctx, id)
	requireJobError(t, err, transport.CodeNotFound)

	_, err = nobody.Resume(ctx, id)
	jobErr = requireJobError(t, err, transport.CodeUnauthorized)
	assert.Equal(t, http.StatusUnauthorized, jobErr.Problem.Status)

	res, err := alice.Resume(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, 7, res.Sum)
	job, err := ts.rt.Get(ctx, "alice", id)
	require.NoError(t, err)
	assert.Equal(t, "alice", job.Owner)
}

func TestCloseEndsCalls(t *testing.T) {
	t.Parallel()
	started := make(chan context.Context, 1)
	ts := startServer(t, blockingEngine(nil, started), serverOptions{})
	client, err := NewClient[sumRequest, sumResult](ts.URL, testConfig())
	require.NoError(t, err)

	accepted := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		_, err := client.Do(context.Background(), sumRequest{Numbers: []int{1}},
			transport.WithOnAccepted(func(id string) { accepted <- id }))
		errc <- err
	}()
	jobID := <-accepted
	<-started
	ts.waitForLongPoll(t)

	require.NoError(t, client.Close())
	select {
	case err = <-errc:
	case <-time.After(5 * time.Second):
		t.Fatal("Do did not return within 5 s of Close")
	}
	assert.ErrorIs(t, err, transport.ErrClosed)
	assert.NotErrorIs(t, err, context.Canceled)

	_, err = client.Do(context.Background(), sumRequest{})
	assert.ErrorIs(t, err, transport.ErrClosed, "Do after Close")
	_, err = client.Resume(context.Background(), jobID)
	assert.ErrorIs(t, err, transport.ErrClosed, "Resume after Close")
	assert.NoError(t, client.Close(), "second Close")

	// Close leaves the job running, so that another client can resume it.
	job, err := ts.rt.Get(context.Background(), "", jobID)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateRunning, job.State)
}

func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	ts := startServer(t, sumEngine(), serverOptions{})
	client := newTestClient[sumRequest, sumResult](t, ts.URL, testConfig())

	const calls = 20
	var wg sync.WaitGroup
	errs := make([]error, calls)
	sums := make([]int, calls)
	for i := range calls {
		wg.Go(func() {
			res, err := client.Do(context.Background(), sumRequest{Numbers: []int{i, i}})
			sums[i], errs[i] = res.Sum, err
		})
	}
	wg.Wait()

	for i := range calls {
		require.NoError(t, errs[i], "call %d", i)
		assert.Equal(t, 2*i, sums[i], "sum of call %d", i)
	}
}

// A connection cut during a long-poll costs nothing: the pipeline retries
// the status request and the call ends with the result. Keep-alives are off,
// because net/http itself retries a GET that fails on a reused connection,
// and the test is about the pipeline's retry.
func TestLongPollSurvivesCut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	ts := startServer(t, blockingEngine(release, nil), serverOptions{})
	proxy, err := faultnet.New(faultnet.Config{Target: ts.srv.Listener.Addr().String()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = proxy.Close() })

	cfg := testConfig()
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var mu sync.Mutex
	var failedPolls []error
	cfg.Pipeline.OnAttempt = func(a transport.AttemptInfo) {
		if a.Op == opPoll && a.Err != nil {
			mu.Lock()
			failedPolls = append(failedPolls, a.Err)
			mu.Unlock()
		}
	}
	client := newTestClient[sumRequest, sumResult](t, proxy.URL(), cfg)

	type outcome struct {
		res sumResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := client.Do(context.Background(), sumRequest{Numbers: []int{3, 4}})
		done <- outcome{res, err}
	}()

	ts.waitForLongPoll(t)
	proxy.CutAll()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(failedPolls) > 0
	}, 5*time.Second, time.Millisecond, "no poll attempt failed after the cut")
	close(release)

	select {
	case got := <-done:
		require.NoError(t, got.err)
		assert.Equal(t, 7, got.res.Sum)
	case <-time.After(5 * time.Second):
		t.Fatal("Do did not return within 5 s of the job's end")
	}
	assert.GreaterOrEqual(t, proxy.Stats().Cut, int64(1), "connections cut")
}

// Without long-polls, a job that does not change is polled once per
// interval, not in a busy loop. The call's WithPollInterval overrides the
// client's interval of a minute.
func TestPollIntervalWithoutLongPoll(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var prefers atomic.Int64
	before := func(_ http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Prefer") != "" {
			prefers.Add(1)
		}
		return false
	}
	ts := startServer(t, blockingEngine(release, nil), serverOptions{before: before})
	cfg := testConfig()
	cfg.LongPoll = -1
	cfg.PollInterval = time.Minute
	client := newTestClient[sumRequest, sumResult](t, ts.URL, cfg)

	const interval, running = 50 * time.Millisecond, 500 * time.Millisecond
	time.AfterFunc(running, func() { close(release) })
	res, err := client.Do(context.Background(), sumRequest{Numbers: []int{8}}, transport.WithPollInterval(interval))
	require.NoError(t, err)
	assert.Equal(t, 8, res.Sum)

	gets := ts.gets.Load()
	assert.GreaterOrEqual(t, gets, int64(3), "GET requests while the job ran for %v", running)
	// One per interval, and one more for each change of the job.
	assert.LessOrEqual(t, gets, int64(running/interval)+5, "GET requests while the job ran for %v", running)
	assert.Zero(t, prefers.Load(), "requests with Prefer: wait")
}

// A long-poll whose connection a network black-holes gets no response at all.
// The client abandons it once it has gone without data for the stall timeout
// beyond its wait, and polls again.
func TestLongPollSurvivesBlackhole(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	ts := startServer(t, blockingEngine(release, nil), serverOptions{})
	proxy, err := faultnet.New(faultnet.Config{Target: ts.srv.Listener.Addr().String()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = proxy.Close() })

	cfg := testConfig()
	cfg.LongPoll = 200 * time.Millisecond
	stalls := make(chan error, 10)
	cfg.Pipeline.OnAttempt = func(a transport.AttemptInfo) {
		if a.Op == opPoll && errors.Is(a.Err, transport.ErrAttemptTimeout) {
			stalls <- a.Err
		}
	}
	client := newTestClient[sumRequest, sumResult](t, proxy.URL(), cfg)
	client.stallTimeout = 200 * time.Millisecond

	type outcome struct {
		res sumResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := client.Do(context.Background(), sumRequest{Numbers: []int{5, 5}})
		done <- outcome{res, err}
	}()

	ts.waitForLongPoll(t)
	proxy.SetBlackhole(true)
	select {
	case err := <-stalls:
		assert.Contains(t, err.Error(), "sent no data")
	case <-time.After(5 * time.Second):
		t.Fatal("no poll attempt timed out within 5 s of the black hole")
	}
	proxy.SetBlackhole(false)
	close(release)

	select {
	case got := <-done:
		require.NoError(t, got.err)
		assert.Equal(t, 10, got.res.Sum)
	case <-time.After(5 * time.Second):
		t.Fatal("Do did not return within 5 s of the job's end")
	}
	assert.Positive(t, proxy.Stats().BytesDropped, "bytes dropped by the black hole")
}

// A response whose body stops halfway is abandoned once no data has arrived
// for the stall timeout, however long the status request may wait.
func TestStalledBodyTimesOut(t *testing.T) {
	t.Parallel()
	before := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodGet {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"id":"`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return true
	}
	ts := startServer(t, sumEngine(), serverOptions{before: before})
	cfg := testConfig()
	cfg.Pipeline.Retry.MaxAttempts = 2
	var mu sync.Mutex
	var stalls []transport.AttemptInfo
	cfg.Pipeline.OnAttempt = func(a transport.AttemptInfo) {
		if a.Op == opPoll && errors.Is(a.Err, transport.ErrAttemptTimeout) {
			mu.Lock()
			stalls = append(stalls, a)
			mu.Unlock()
		}
	}
	client := newTestClient[sumRequest, sumResult](t, ts.URL, cfg)
	client.stallTimeout = 100 * time.Millisecond

	// The status requests of a job that the client has the ID of fail
	// without ending the call, so the caller's deadline ends it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := client.Resume(ctx, jobs.NewID())
	require.ErrorIs(t, err, context.DeadlineExceeded)

	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(stalls), 2, "status requests abandoned as stalled within 1 s")
	for _, a := range stalls {
		assert.Contains(t, a.Err.Error(), "sent no data")
		assert.GreaterOrEqual(t, a.Duration, 100*time.Millisecond, "duration of a stalled attempt")
		assert.Less(t, a.Duration, 900*time.Millisecond, "duration of a stalled attempt")
	}
}

func TestNewClientRejectsBadURL(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"", "127.0.0.1:8080", "ftp://host/x", "http://", "http://host/api?x=1", "http://host/#frag", "http://host/%zz"} {
		_, err := NewClient[sumRequest, sumResult](raw, Config{})
		assert.Error(t, err, "NewClient(%q)", raw)
	}

	c, err := NewClient[sumRequest, sumResult]("http://127.0.0.1:1/api/", Config{})
	require.NoError(t, err)
	defer c.Close()
	assert.Equal(t, "http://127.0.0.1:1/api/jobs", c.jobsURL)
	assert.Equal(t, "http://127.0.0.1:1", c.target)
}

func TestLongPollWaitBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		longPoll    time.Duration
		attempt     time.Duration
		httpTimeout time.Duration
		want        time.Duration
	}{
		{"default", 0, 0, 0, 25 * time.Second},
		{"set", 10 * time.Second, 0, 0, 10 * time.Second},
		{"off", -1, 0, 0, 0},
		{"attempt timeout", 0, 8 * time.Second, 0, 6 * time.Second},
		{"http timeout", 0, 0, 4 * time.Second, 3 * time.Second},
		{"both", 0, 8 * time.Second, 4 * time.Second, 3 * time.Second},
		{"long attempt timeout", 5 * time.Second, time.Minute, 0, 5 * time.Second},
	}
	for _, tt := range tests {
		cfg := Config{LongPoll: tt.longPoll, Pipeline: transport.PipelineConfig{AttemptTimeout: tt.attempt}}
		got := longPollWait(cfg, &http.Client{Timeout: tt.httpTimeout})
		assert.Equal(t, tt.want, got, tt.name)
	}
}

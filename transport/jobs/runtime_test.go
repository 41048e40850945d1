package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// request is the test engine's request: sum the numbers 1 to Items.
type request struct {
	Items int `json:"items"`
}

func (r request) Validate() error {
	if r.Items < 0 {
		return transport.InvalidRequest("items is %d: send 0 or more", r.Items)
	}
	return nil
}

type result struct {
	Sum int `json:"sum"`
}

type engine = transport.EngineFunc[request, result]

// sum reports progress after each item and returns the sum of 1 to Items.
func sum(_ context.Context, req request, progress transport.ProgressFunc) (result, error) {
	total := 0
	for i := 1; i <= req.Items; i++ {
		total += i
		progress(transport.Progress{Done: i, Total: req.Items})
	}
	return result{Sum: total}, nil
}

// blocker returns an engine that sends each request's Items on started and
// then blocks until its ctx ends, returning ctx's error.
func blocker(started chan<- int) engine {
	return func(ctx context.Context, req request, _ transport.ProgressFunc) (result, error) {
		started <- req.Items
		<-ctx.Done()
		return result{}, ctx.Err()
	}
}

const waitLimit = 5 * time.Second

// newRuntime starts a runtime with short intervals and shuts it down when the
// test ends. Zero fields of cfg get values suited to tests.
func newRuntime(t *testing.T, e engine, cfg jobs.Config) *jobs.Runtime {
	t.Helper()

	if cfg.PollInterval == 0 {
		cfg.PollInterval = 10 * time.Millisecond
	}
	if cfg.Lease == 0 {
		cfg.Lease = time.Minute // no renewals during a test unless it sets Lease
	}
	rt := jobs.New(jobs.EngineRunner(e), cfg)
	shutdownAtEnd(t, rt)
	return rt
}

// shutdownAtEnd shuts rt down when the test ends, if the test did not.
func shutdownAtEnd(t *testing.T, rt *jobs.Runtime) {
	t.Cleanup(func() {
		// Jobs still blocked at the end are re-queued after this short grace.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_ = rt.Shutdown(ctx)
	})
}

func submit(t *testing.T, rt *jobs.Runtime, items int, s jobs.Submission) *jobs.Job {
	t.Helper()

	if s.Request == nil {
		s.Request = body(t, rt, items)
	}
	job, created, err := rt.Submit(t.Context(), s)
	require.NoError(t, err)
	require.True(t, created, "Submit: got created false, want a new job")
	return job
}

func body(t *testing.T, rt *jobs.Runtime, items int) []byte {
	t.Helper()

	raw, err := json.Marshal(request{Items: items})
	require.NoError(t, err)
	canonical, err := rt.Runner().Decode(raw)
	require.NoError(t, err)
	return canonical
}

// waitFor reads the job through Wait until cond holds, and fails the test
// when it does not hold within waitLimit.
func waitFor(t *testing.T, rt *jobs.Runtime, owner, id string, what string, cond func(*jobs.Job) bool) *jobs.Job {
	t.Helper()

	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()

	job, err := rt.Get(ctx, owner, id)
	require.NoError(t, err)
	for !cond(job) {
		if ctx.Err() != nil {
			t.Fatalf("job %s: not %s after %v; got state %q, progress %+v", id, what, waitLimit, job.State, job.Progress)
		}
		job, err = rt.Wait(ctx, owner, id, job.Version)
		require.NoError(t, err)
	}
	return job
}

func finished(t *testing.T, rt *jobs.Runtime, owner, id string) *jobs.Job {
	t.Helper()
	return waitFor(t, rt, owner, id, "finished", func(j *jobs.Job) bool { return j.State.Finished() })
}

func running(t *testing.T, rt *jobs.Runtime, id string) *jobs.Job {
	t.Helper()
	return waitFor(t, rt, "", id, "running", func(j *jobs.Job) bool { return j.State == jobs.StateRunning })
}

func receive(t *testing.T, ch <-chan int) int {
	t.Helper()

	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("engine did not start within %v", waitLimit)
		return 0
	}
}

func TestRuntimeRunsJob(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, sum, jobs.Config{Retention: time.Hour})

	job := submit(t, rt, 5, jobs.Submission{})
	assert.Equal(t, jobs.StateQueued, job.State)
	assert.True(t, jobs.ValidID(job.ID), "got job ID %q, want 32 hex digits", job.ID)

	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	done, err := rt.Wait(ctx, "", job.ID, 0)
	require.NoError(t, err)

	require.Equal(t, jobs.StateSucceeded, done.State, "problem: %v", done.Problem)
	assert.JSONEq(t, `{"sum":15}`, string(done.Result))
	assert.Nil(t, done.Problem)
	assert.Equal(t, transport.Progress{Done: 5, Total: 5}, done.Progress)
	assert.Equal(t, 1, done.Attempts)
	assert.Empty(t, done.LeaseOwner, "a finished job keeps no lease")
	assert.False(t, done.FinishedAt.IsZero(), "FinishedAt is not set")
	assert.Equal(t, done.FinishedAt.Add(time.Hour), done.ExpiresAt, "ExpiresAt is FinishedAt plus Retention")
}

func TestRuntimeProgressDoneAtSuccess(t *testing.T) {
	t.Parallel()
	// The engine stops reporting at 2 of 4, then succeeds.
	e := func(_ context.Context, _ request, progress transport.ProgressFunc) (result, error) {
		progress(transport.Progress{Done: 2, Total: 4})
		return result{Sum: 1}, nil
	}
	rt := newRuntime(t, e, jobs.Config{})

	job := submit(t, rt, 4, jobs.Submission{})
	done := finished(t, rt, "", job.ID)

	assert.Equal(t, jobs.StateSucceeded, done.State)
	assert.Equal(t, transport.Progress{Done: 4, Total: 4}, done.Progress, "a succeeded job reports Done equal to Total")
}

func TestRuntimeStoresLastSkippedProgress(t *testing.T) {
	t.Parallel()
	// With an hour between stored reports, only the first report is stored
	// while the engine runs, but the last one must still reach the store.
	e := func(_ context.Context, _ request, progress transport.ProgressFunc) (result, error) {
		for i := 1; i <= 3; i++ {
			progress(transport.Progress{Done: i, Total: 10})
		}
		return result{}, errors.New("source went away")
	}
	rt := newRuntime(t, e, jobs.Config{ProgressInterval: time.Hour})

	job := submit(t, rt, 10, jobs.Submission{})
	done := finished(t, rt, "", job.ID)

	assert.Equal(t, jobs.StateFailed, done.State)
	assert.Equal(t, transport.Progress{Done: 3, Total: 10}, done.Progress)
}

func TestRunnerDecode(t *testing.T) {
	t.Parallel()
	runner := jobs.EngineRunner[request, result](engine(sum))

	tests := []struct {
		name, body, detail string
	}{
		{"empty", "  ", "empty"},
		{"bad JSON", `{"items":`, "JSON"},
		{"syntax error", `{"items" 3}`, "invalid JSON"},
		{"wrong type", `{"items":"three"}`, `"items"`},
		{"unknown field", `{"items":3,"colour":"red"}`, "colour"},
		{"trailing data", `{"items":3} {"items":4}`, "after the JSON value"},
		{"failed Validate", `{"items":-2}`, "items is -2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := runner.Decode([]byte(tt.body))
			assert.Nil(t, got)
			var p *transport.Problem
			require.ErrorAs(t, err, &p)
			assert.Equal(t, http.StatusBadRequest, p.Status)
			assert.Equal(t, transport.CodeInvalidRequest, p.Code)
			assert.Contains(t, p.Detail, tt.detail)
		})
	}

	t.Run("valid", func(t *testing.T) {
		t.Parallel()

		got, err := runner.Decode([]byte(" { \"items\" : 3 }\n"))
		require.NoError(t, err)
		assert.Equal(t, `{"items":3}`, string(got), "Decode returns the canonical encoding")
	})
}

// namedRequest has a Validate with a pointer receiver that returns a plain error.
type namedRequest struct {
	Name string `json:"name"`
}

func (r *namedRequest) Validate() error {
	if r.Name == "" {
		return errors.New("name is empty: send a name")
	}
	return nil
}

func TestRunnerDecodePlainValidateError(t *testing.T) {
	t.Parallel()
	runner := jobs.EngineRunner[namedRequest, result](transport.EngineFunc[namedRequest, result](
		func(context.Context, namedRequest, transport.ProgressFunc) (result, error) { return result{}, nil }))

	_, err := runner.Decode([]byte(`{"name":""}`))
	var p *transport.Problem
	require.ErrorAs(t, err, &p)
	assert.Equal(t, http.StatusBadRequest, p.Status)
	assert.Equal(t, transport.CodeInvalidRequest, p.Code)
	assert.Equal(t, "name is empty: send a name", p.Detail)

	got, err := runner.Decode([]byte(`{"name":"widget"}`))
	require.NoError(t, err)
	assert.Equal(t, `{"name":"widget"}`, string(got))
}

func TestRuntimeEngineError(t *testing.T) {
	t.Parallel()
	e := func(context.Context, request, transport.ProgressFunc) (result, error) {
		return result{}, errors.New("inventory database is down")
	}
	rt := newRuntime(t, e, jobs.Config{})

	job := submit(t, rt, 1, jobs.Submission{})
	done := finished(t, rt, "", job.ID)

	assert.Equal(t, jobs.StateFailed, done.State)
	assert.Nil(t, done.Result)
	require.NotNil(t, done.Problem)
	assert.Equal(t, transport.CodeJobFailed, done.Problem.Code)
	assert.Equal(t, job.ID, done.Problem.JobID)
	assert.Equal(t, http.StatusInternalServerError, done.Problem.Status)
	assert.Contains(t, done.Problem.Detail, "inventory database is down")
}

func TestRuntimeEngineProblem(t *testing.T) {
	t.Parallel()
	e := func(context.Context, request, transport.ProgressFunc) (result, error) {
		return result{}, transport.NewProblem(http.StatusUnprocessableEntity, "out-of-stock", "product 7 is out of stock")
	}
	rt := newRuntime(t, e, jobs.Config{})

	job := submit(t, rt, 1, jobs.Submission{})
	done := finished(t, rt, "", job.ID)

	assert.Equal(t, jobs.StateFailed, done.State)
	require.NotNil(t, done.Problem)
	assert.Equal(t, "out-of-stock", done.Problem.Code)
	assert.Equal(t, http.StatusUnprocessableEntity, done.Problem.Status)
	assert.Equal(t, "product 7 is out of stock", done.Problem.Detail)
	assert.Equal(t, job.ID, done.Problem.JobID)
}

func TestRuntimeCancelQueued(t *testing.T) {
	t.Parallel()
	started := make(chan int, 2)
	rt := newRuntime(t, blocker(started), jobs.Config{Workers: 1})

	first := submit(t, rt, 1, jobs.Submission{})
	require.Equal(t, 1, receive(t, started))
	second := submit(t, rt, 2, jobs.Submission{})

	canceled, err := rt.Cancel(t.Context(), "", second.ID)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateCanceled, canceled.State, "a queued job is canceled at once")
	require.NotNil(t, canceled.Problem)
	assert.Equal(t, transport.CodeJobCanceled, canceled.Problem.Code)
	assert.Equal(t, second.ID, canceled.Problem.JobID)
	assert.False(t, canceled.FinishedAt.IsZero(), "FinishedAt is not set")

	// The worker frees up, and the canceled job must not start.
	_, err = rt.Cancel(t.Context(), "", first.ID)
	require.NoError(t, err)
	finished(t, rt, "", first.ID)
	select {
	case items := <-started:
		t.Fatalf("engine started job with items %d after it was canceled", items)
	case <-time.After(50 * time.Millisecond):
	}

	again, err := rt.Cancel(t.Context(), "", second.ID)
	require.NoError(t, err)
	assert.Equal(t, canceled.Version, again.Version, "cancelling a finished job changes nothing")
}

func TestRuntimeCancelRunning(t *testing.T) {
	t.Parallel()
	started := make(chan int, 1)
	ended := make(chan error, 1)
	e := func(ctx context.Context, _ request, _ transport.ProgressFunc) (result, error) {
		started <- 1
		<-ctx.Done()
		ended <- ctx.Err()
		return result{}, ctx.Err()
	}
	rt := newRuntime(t, e, jobs.Config{})

	job := submit(t, rt, 1, jobs.Submission{})
	receive(t, started)

	after, err := rt.Cancel(t.Context(), "", job.ID)
	require.NoError(t, err)
	assert.True(t, after.CancelRequested, "Cancel of a running job sets CancelRequested")

	select {
	case err := <-ended:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(waitLimit):
		t.Fatal("engine's ctx was not cancelled")
	}
	done := finished(t, rt, "", job.ID)
	assert.Equal(t, jobs.StateCanceled, done.State)
	require.NotNil(t, done.Problem)
	assert.Equal(t, transport.CodeJobCanceled, done.Problem.Code)
}

func TestRuntimeDeadline(t *testing.T) {
	t.Parallel()
	started := make(chan int, 1)
	rt := newRuntime(t, blocker(started), jobs.Config{})

	job := submit(t, rt, 1, jobs.Submission{Deadline: time.Now().Add(50 * time.Millisecond)})
	done := finished(t, rt, "", job.ID)

	assert.Equal(t, jobs.StateFailed, done.State)
	require.NotNil(t, done.Problem)
	assert.Equal(t, transport.CodeJobTimeout, done.Problem.Code)
	assert.Equal(t, http.StatusGatewayTimeout, done.Problem.Status)
	assert.Equal(t, job.ID, done.Problem.JobID)
}

func TestRuntimeQueueFull(t *testing.T) {
	t.Parallel()
	started := make(chan int, 2)
	rt := newRuntime(t, blocker(started), jobs.Config{Workers: 1, QueueDepth: 1})

	submit(t, rt, 1, jobs.Submission{})
	receive(t, started)
	submit(t, rt, 2, jobs.Submission{}) // queued behind the running job

	job, created, err := rt.Submit(t.Context(), jobs.Submission{Request: body(t, rt, 3)})
	assert.ErrorIs(t, err, jobs.ErrQueueFull)
	assert.Nil(t, job)
	assert.False(t, created)
}

func TestRuntimeOwners(t *testing.T) {
	t.Parallel()
	started := make(chan int, 1)
	rt := newRuntime(t, blocker(started), jobs.Config{})

	job := submit(t, rt, 1, jobs.Submission{Owner: "alice"})
	receive(t, started)

	_, err := rt.Get(t.Context(), "bob", job.ID)
	assert.ErrorIs(t, err, jobs.ErrNotFound, "Get by another owner")
	_, err = rt.Wait(t.Context(), "bob", job.ID, 0)
	assert.ErrorIs(t, err, jobs.ErrNotFound, "Wait by another owner")
	_, err = rt.Cancel(t.Context(), "bob", job.ID)
	assert.ErrorIs(t, err, jobs.ErrNotFound, "Cancel by another owner")
	_, err = rt.Get(t.Context(), "", job.ID)
	assert.ErrorIs(t, err, jobs.ErrNotFound, "Get without an owner")

	_, err = rt.Get(t.Context(), "alice", "../etc/passwd")
	assert.ErrorIs(t, err, jobs.ErrNotFound, "Get of a malformed ID")
	_, err = rt.Get(t.Context(), "alice", jobs.NewID())
	assert.ErrorIs(t, err, jobs.ErrNotFound, "Get of an unknown ID")

	got, err := rt.Get(t.Context(), "alice", job.ID)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateRunning, got.State, "another owner's Cancel left the job running")
	assert.False(t, got.CancelRequested, "another owner's Cancel set CancelRequested")
}

func TestRuntimeIdempotency(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, sum, jobs.Config{})

	first := submit(t, rt, 3, jobs.Submission{Owner: "alice", IdempotencyKey: "order-1"})

	replay, created, err := rt.Submit(t.Context(), jobs.Submission{Owner: "alice", IdempotencyKey: "order-1", Request: body(t, rt, 3)})
	require.NoError(t, err)
	assert.False(t, created, "same key and body: got created true, want the existing job")
	assert.Equal(t, first.ID, replay.ID)

	_, created, err = rt.Submit(t.Context(), jobs.Submission{Owner: "alice", IdempotencyKey: "order-1", Request: body(t, rt, 4)})
	assert.ErrorIs(t, err, jobs.ErrIdempotencyConflict, "same key, other body")
	assert.False(t, created)

	other := submit(t, rt, 4, jobs.Submission{Owner: "bob", IdempotencyKey: "order-1"})
	assert.NotEqual(t, first.ID, other.ID, "another owner's key is separate")

	assert.Equal(t, jobs.StateSucceeded, finished(t, rt, "alice", first.ID).State)
	assert.Equal(t, jobs.StateSucceeded, finished(t, rt, "bob", other.ID).State)
}

func TestRuntimeWaitVersion(t *testing.T) {
	t.Parallel()
	step := make(chan struct{})
	e := func(ctx context.Context, _ request, progress transport.ProgressFunc) (result, error) {
		for i := 1; i <= 3; i++ {
			select {
			case <-step:
			case <-ctx.Done():
				return result{}, ctx.Err()
			}
			progress(transport.Progress{Done: i, Total: 3})
		}
		return result{Sum: 6}, nil
	}
	// A PollInterval longer than the test shows that Wait wakes on this
	// process's changes, not on its periodic read.
	rt := newRuntime(t, e, jobs.Config{ProgressInterval: time.Nanosecond, PollInterval: time.Minute})

	job := submit(t, rt, 3, jobs.Submission{})
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()

	// The claim is the next change.
	changed, err := rt.Wait(ctx, "", job.ID, job.Version)
	require.NoError(t, err)
	assert.Greater(t, changed.Version, job.Version)
	assert.Equal(t, jobs.StateRunning, changed.State)

	// Nothing changes while the engine waits for a step: Wait returns the
	// current job when its ctx ends.
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	same, err := rt.Wait(short, "", job.ID, changed.Version)
	require.NoError(t, err, "an expired Wait is not an error")
	assert.Equal(t, changed.Version, same.Version)
	assert.Equal(t, jobs.StateRunning, same.State)

	// A progress report is the next change.
	for i := 1; i <= 3; i++ {
		before := same.Version
		step <- struct{}{}
		same, err = rt.Wait(ctx, "", job.ID, before)
		require.NoError(t, err)
		require.NoError(t, ctx.Err(), "Wait returned because its ctx ended, not on a change")
		assert.Greater(t, same.Version, before)
		assert.Equal(t, i, same.Progress.Done)
	}

	done, err := rt.Wait(ctx, "", job.ID, 0)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateSucceeded, done.State)
}

func TestRuntimeShutdownRequeues(t *testing.T) {
	t.Parallel()
	store := jobs.NewMemoryStore()
	started := make(chan int, 1)
	first := jobs.New(jobs.EngineRunner(blocker(started)), jobs.Config{Store: store, PollInterval: 10 * time.Millisecond})
	shutdownAtEnd(t, first)

	job, _, err := first.Submit(t.Context(), jobs.Submission{Request: []byte(`{"items":4}`)})
	require.NoError(t, err)
	receive(t, started)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err = first.Shutdown(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "Shutdown reports that the grace ended")

	stored, err := store.Get(t.Context(), job.ID)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateQueued, stored.State, "a job cut off by Shutdown goes back to the queue")
	assert.Empty(t, stored.LeaseOwner)
	assert.Nil(t, stored.Problem)

	_, _, err = first.Submit(t.Context(), jobs.Submission{Request: []byte(`{"items":1}`)})
	assert.ErrorIs(t, err, jobs.ErrClosed, "Submit after Shutdown")

	// The restarted server runs the job to the end.
	second := newRuntime(t, sum, jobs.Config{Store: store})
	done := finished(t, second, "", job.ID)
	assert.Equal(t, jobs.StateSucceeded, done.State)
	assert.JSONEq(t, `{"sum":10}`, string(done.Result))
	assert.Equal(t, 2, done.Attempts)
}

func TestRuntimeShutdownGrace(t *testing.T) {
	t.Parallel()
	started := make(chan int, 1)
	release := make(chan struct{})
	e := func(context.Context, request, transport.ProgressFunc) (result, error) {
		started <- 1
		<-release
		return result{Sum: 1}, nil
	}
	store := jobs.NewMemoryStore()
	rt := newRuntime(t, e, jobs.Config{Store: store})

	job := submit(t, rt, 1, jobs.Submission{})
	receive(t, started)

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		shutdown <- rt.Shutdown(ctx)
	}()
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned %v while a job was running within its grace", err)
	case <-time.After(50 * time.Millisecond):
	}

	close(release)
	select {
	case err := <-shutdown:
		assert.NoError(t, err)
	case <-time.After(waitLimit):
		t.Fatal("Shutdown did not return after the last job finished")
	}
	stored, err := store.Get(t.Context(), job.ID)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateSucceeded, stored.State)
}

func TestRuntimeShutdownCancelRequested(t *testing.T) {
	t.Parallel()
	store := jobs.NewMemoryStore()
	started := make(chan int, 1)
	rt := jobs.New(jobs.EngineRunner(blocker(started)), jobs.Config{Store: store, PollInterval: 10 * time.Millisecond})
	shutdownAtEnd(t, rt)
	var hooked []*jobs.Job
	rt.OnFinish(func(j *jobs.Job) { hooked = append(hooked, j) })

	job, _, err := rt.Submit(t.Context(), jobs.Submission{Request: []byte(`{"items":1}`)})
	require.NoError(t, err)
	receive(t, started)

	// Another process requests the cancel. This runtime would only see it at
	// its next lease renewal, a minute away, and shuts down first.
	_, err = store.Update(t.Context(), job.ID, func(j *jobs.Job) error {
		j.CancelRequested = true
		return nil
	})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, rt.Shutdown(ctx), context.DeadlineExceeded)

	stored, err := store.Get(t.Context(), job.ID)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateCanceled, stored.State, "a job with a cancel request ends canceled at shutdown, not re-queued")
	require.Len(t, hooked, 1, "OnFinish calls")
	assert.Equal(t, job.ID, hooked[0].ID)
}

// slowClaimStore blocks its first Claim until release is closed, to hold a
// worker between claiming a job and starting it.
type slowClaimStore struct {
	*jobs.MemoryStore
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *slowClaimStore) Claim(ctx context.Context, worker string, now time.Time, lease time.Duration) (*jobs.Job, error) {
	first := false
	s.once.Do(func() { first = true })
	if first {
		close(s.entered)
		<-s.release
	}
	return s.MemoryStore.Claim(ctx, worker, now, lease)
}

func TestRuntimeShutdownDuringClaim(t *testing.T) {
	t.Parallel()
	store := &slowClaimStore{MemoryStore: jobs.NewMemoryStore(), entered: make(chan struct{}), release: make(chan struct{})}
	queued := &jobs.Job{ID: jobs.NewID(), State: jobs.StateQueued, Request: []byte(`{"items":1}`), CreatedAt: time.Now()}
	_, _, err := store.Create(t.Context(), queued)
	require.NoError(t, err)

	started := make(chan int, 1)
	rt := jobs.New(jobs.EngineRunner(blocker(started)), jobs.Config{Store: store, Workers: 1, PollInterval: 10 * time.Millisecond})
	<-store.entered

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		shutdown <- rt.Shutdown(ctx)
	}()
	require.Eventually(t, func() bool {
		_, _, err := rt.Submit(t.Context(), jobs.Submission{Request: []byte(`{"items":2}`)})
		return errors.Is(err, jobs.ErrClosed)
	}, waitLimit, time.Millisecond, "Submit never returned ErrClosed after Shutdown began")
	close(store.release)

	select {
	case err := <-shutdown:
		assert.NoError(t, err, "a job claimed during Shutdown is handed back, not run")
	case <-time.After(waitLimit):
		t.Fatal("Shutdown waited for a job that was claimed after it began")
	}
	select {
	case <-started:
		t.Error("engine started a job after Shutdown began")
	default:
	}
	stored, err := store.Get(t.Context(), queued.ID)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateQueued, stored.State)
	assert.Empty(t, stored.LeaseOwner)
}

// cancelAfterClaimStore sets CancelRequested right after each Claim and
// returns the job as claimed, as a Cancel that lands between a worker's Claim
// and the start of its run would.
type cancelAfterClaimStore struct {
	*jobs.MemoryStore
}

func (s cancelAfterClaimStore) Claim(ctx context.Context, worker string, now time.Time, lease time.Duration) (*jobs.Job, error) {
	job, err := s.MemoryStore.Claim(ctx, worker, now, lease)
	if job == nil || err != nil {
		return job, err
	}
	_, err = s.MemoryStore.Update(ctx, job.ID, func(j *jobs.Job) error {
		j.CancelRequested = true
		return nil
	})
	return job, err
}

func TestRuntimeCancelBeforeStart(t *testing.T) {
	t.Parallel()
	started := make(chan int, 1)
	// The lease renewal, which would also find the request, is a minute away.
	rt := newRuntime(t, blocker(started), jobs.Config{Store: cancelAfterClaimStore{jobs.NewMemoryStore()}})

	job := submit(t, rt, 1, jobs.Submission{})
	done := finished(t, rt, "", job.ID)
	assert.Equal(t, jobs.StateCanceled, done.State)
}

func TestRuntimeCancelFromOtherRuntime(t *testing.T) {
	t.Parallel()
	store := jobs.NewMemoryStore()
	started := make(chan int, 1)
	runner := newRuntime(t, blocker(started), jobs.Config{Store: store, Lease: 300 * time.Millisecond})

	job := submit(t, runner, 1, jobs.Submission{})
	receive(t, started)

	// A second server on the same store takes the DELETE.
	other := newRuntime(t, sum, jobs.Config{Store: store})
	_, err := other.Cancel(t.Context(), "", job.ID)
	require.NoError(t, err)

	done := finished(t, other, "", job.ID)
	assert.Equal(t, jobs.StateCanceled, done.State, "the running server sees the request at its next lease renewal")
}

func TestRuntimeLeaseTakeover(t *testing.T) {
	t.Parallel()
	store := jobs.NewMemoryStore()
	queued := &jobs.Job{ID: jobs.NewID(), State: jobs.StateQueued, Request: []byte(`{"items":3}`), CreatedAt: time.Now()}
	_, _, err := store.Create(t.Context(), queued)
	require.NoError(t, err)

	// A server claims the job and dies without renewing its lease.
	const lease = 150 * time.Millisecond
	claimed := time.Now()
	dead, err := store.Claim(t.Context(), "worker-dead", claimed, lease)
	require.NoError(t, err)
	require.NotNil(t, dead)

	startedAt := make(chan time.Time, 1)
	e := func(ctx context.Context, req request, progress transport.ProgressFunc) (result, error) {
		startedAt <- time.Now()
		return sum(ctx, req, progress)
	}
	live := newRuntime(t, e, jobs.Config{Store: store})

	done := finished(t, live, "", queued.ID)
	assert.Equal(t, jobs.StateSucceeded, done.State)
	assert.JSONEq(t, `{"sum":6}`, string(done.Result))
	assert.Equal(t, 2, done.Attempts)
	assert.Empty(t, done.LeaseOwner)
	at := <-startedAt
	assert.False(t, at.Before(claimed.Add(lease)), "job taken over at %v, before the dead server's lease ended at %v", at, claimed.Add(lease))
}

// clock is a settable clock for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRuntimeRetention(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now()}
	// The expiry check runs every Retention/10 of real time, and reads the
	// injected clock to decide.
	rt := newRuntime(t, sum, jobs.Config{Retention: 100 * time.Millisecond, Now: clk.Now})

	job := submit(t, rt, 2, jobs.Submission{IdempotencyKey: "order-1"})
	done := finished(t, rt, "", job.ID)
	assert.Equal(t, clk.Now(), done.FinishedAt)
	assert.Equal(t, clk.Now().Add(100*time.Millisecond), done.ExpiresAt)

	time.Sleep(50 * time.Millisecond) // several expiry checks while the clock does not move
	_, err := rt.Get(t.Context(), "", job.ID)
	require.NoError(t, err, "job deleted before its retention ended on the runtime's clock")

	clk.Add(time.Second)
	require.Eventually(t, func() bool {
		_, err := rt.Get(t.Context(), "", job.ID)
		return errors.Is(err, jobs.ErrNotFound)
	}, waitLimit, 5*time.Millisecond, "job not deleted after its retention ended")

	again := submit(t, rt, 2, jobs.Submission{IdempotencyKey: "order-1"})
	assert.NotEqual(t, job.ID, again.ID, "the expired job's idempotency key starts a new job")
}

func TestRuntimeOnFinishOncePerJob(t *testing.T) {
	t.Parallel()
	started := make(chan int, 4)
	e := func(ctx context.Context, req request, progress transport.ProgressFunc) (result, error) {
		switch req.Items {
		case 1: // blocks the only worker until canceled
			started <- req.Items
			<-ctx.Done()
			return result{}, ctx.Err()
		case 3:
			return result{}, errors.New("engine failed")
		}
		return sum(ctx, req, progress)
	}
	rt := jobs.New(jobs.EngineRunner(engine(e)), jobs.Config{Workers: 1, PollInterval: 10 * time.Millisecond})
	shutdownAtEnd(t, rt)

	var mu sync.Mutex
	calls := map[string][]jobs.State{}
	rt.OnFinish(func(j *jobs.Job) {
		mu.Lock()
		defer mu.Unlock()
		calls[j.ID] = append(calls[j.ID], j.State)
	})

	blocking := submit(t, rt, 1, jobs.Submission{})
	receive(t, started)
	queued := submit(t, rt, 2, jobs.Submission{})
	_, err := rt.Cancel(t.Context(), "", queued.ID)
	require.NoError(t, err)
	_, err = rt.Cancel(t.Context(), "", blocking.ID)
	require.NoError(t, err)
	failing := submit(t, rt, 3, jobs.Submission{})
	succeeding := submit(t, rt, 4, jobs.Submission{})
	finished(t, rt, "", failing.ID)
	finished(t, rt, "", succeeding.ID)
	_, err = rt.Cancel(t.Context(), "", succeeding.ID) // changes nothing
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	require.NoError(t, rt.Shutdown(ctx))

	mu.Lock()
	defer mu.Unlock()
	want := map[string][]jobs.State{
		blocking.ID:   {jobs.StateCanceled},
		queued.ID:     {jobs.StateCanceled},
		failing.ID:    {jobs.StateFailed},
		succeeding.ID: {jobs.StateSucceeded},
	}
	assert.Equal(t, want, calls)
}

func TestRuntimeCallbackDue(t *testing.T) {
	t.Parallel()
	store := jobs.NewMemoryStore()
	rt := newRuntime(t, sum, jobs.Config{Store: store})

	// A callback without a state is pending: otherwise no dispatcher would find it.
	job := submit(t, rt, 2, jobs.Submission{Callback: &jobs.Callback{URL: "https://example.test/hook", Secret: "whsec_c2VjcmV0"}})
	assert.Equal(t, jobs.DeliveryPending, job.Callback.State)

	done := finished(t, rt, "", job.ID)
	require.NotNil(t, done.Callback)
	assert.Equal(t, done.FinishedAt, done.Callback.NextAttempt, "the first delivery is due when the job finishes")

	due, err := store.DueDeliveries(t.Context(), done.FinishedAt, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, job.ID, due[0].ID)
}

func TestRuntimeConcurrentJobs(t *testing.T) {
	t.Parallel()
	const count = 40
	rt := newRuntime(t, sum, jobs.Config{Workers: 4, ProgressInterval: time.Microsecond})

	ids := make([]string, count)
	for i := range count {
		ids[i] = submit(t, rt, i+1, jobs.Submission{}).ID
	}

	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			job, err := rt.Wait(ctx, "", id, 0)
			if !assert.NoError(t, err) {
				return
			}
			items := i + 1
			assert.Equal(t, jobs.StateSucceeded, job.State, "job %d", items)
			var res result
			assert.NoError(t, json.Unmarshal(job.Result, &res))
			assert.Equal(t, items*(items+1)/2, res.Sum, "job %d", items)
		})
	}
	wg.Wait()

	queued, running, err := rt.Store().Counts(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 0, queued, "queued jobs after all finished")
	assert.Equal(t, 0, running, "running jobs after all finished")
}

func TestRuntimeTinyLeaseAndRetention(t *testing.T) {
	t.Parallel()
	// A lease shorter than a store write ends before every renewal, so the
	// other workers of this process keep claiming the running job, which must
	// still run once. Lease/3 and Retention/10 round down to zero, which must
	// not reach time.NewTicker.
	var mu sync.Mutex
	runs := 0
	e := func(ctx context.Context, req request, progress transport.ProgressFunc) (result, error) {
		mu.Lock()
		runs++
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		return sum(ctx, req, progress)
	}
	rt := newRuntime(t, e, jobs.Config{Workers: 4, Lease: 3 * time.Nanosecond, Retention: time.Nanosecond})
	ended := make(chan *jobs.Job, 1)
	rt.OnFinish(func(j *jobs.Job) { ended <- j })

	job := submit(t, rt, 3, jobs.Submission{})
	select {
	case done := <-ended:
		assert.Equal(t, jobs.StateSucceeded, done.State)
	case <-time.After(waitLimit):
		t.Fatal("job did not finish")
	}
	mu.Lock()
	assert.Equal(t, 1, runs, "engine runs of one job")
	mu.Unlock()

	require.Eventually(t, func() bool {
		_, err := rt.Get(t.Context(), "", job.ID)
		return errors.Is(err, jobs.ErrNotFound)
	}, waitLimit, time.Millisecond, "job not deleted after a nanosecond of retention")
}

func TestRuntimeEnginePanicFailsJob(t *testing.T) {
	t.Parallel()
	panicky := func(_ context.Context, req request, _ transport.ProgressFunc) (result, error) {
		if req.Items == 13 {
			panic("engine bug on item 13")
		}
		return result{Sum: req.Items}, nil
	}
	rt := newRuntime(t, panicky, jobs.Config{Workers: 1})

	bad := submit(t, rt, 13, jobs.Submission{})
	failedJob := finished(t, rt, "", bad.ID)
	require.Equal(t, jobs.StateFailed, failedJob.State)
	require.NotNil(t, failedJob.Problem)
	assert.Equal(t, transport.CodeInternal, failedJob.Problem.Code)
	assert.Contains(t, failedJob.Problem.Detail, "panicked")
	assert.NotContains(t, failedJob.Problem.Detail, "engine bug", "the panic value stays in the server's log")

	// The same worker goes on to run the next job.
	good := submit(t, rt, 2, jobs.Submission{})
	done := finished(t, rt, "", good.ID)
	assert.Equal(t, jobs.StateSucceeded, done.State)
}

// panickyRequest is a request type whose Validate panics, as a buggy one might.
type panickyRequest struct {
	Items int `json:"items"`
}

func (panickyRequest) Validate() error { panic("validator bug") }

func TestRunnerDecodePanicIsProblem(t *testing.T) {
	t.Parallel()
	runner := jobs.EngineRunner(transport.EngineFunc[panickyRequest, result](
		func(context.Context, panickyRequest, transport.ProgressFunc) (result, error) { return result{}, nil }))

	canonical, err := runner.Decode([]byte(`{"items":1}`))

	assert.Nil(t, canonical)
	var p *transport.Problem
	require.ErrorAs(t, err, &p)
	assert.Equal(t, http.StatusInternalServerError, p.Status)
	assert.Equal(t, transport.CodeInternal, p.Code)
	assert.Contains(t, p.Detail, "panicked")
	assert.NotContains(t, p.Detail, "validator bug", "the panic value stays out of the response")
}

package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/longhaul-go/longhaul/transport"
)

// Errors of the Runtime, besides ErrNotFound.
var (
	// ErrIdempotencyConflict means the idempotency key was used before with another request body.
	ErrIdempotencyConflict = errors.New("jobs: idempotency key reused with another request")
	// ErrQueueFull means the store already has Config.QueueDepth queued jobs.
	// Retry later.
	ErrQueueFull = errors.New("jobs: queue is full")
	// ErrClosed means the runtime is shutting down and takes no new jobs.
	ErrClosed = errors.New("jobs: runtime is shut down")
)

// Config configures a Runtime. The zero value is usable.
type Config struct {
	// Store keeps the jobs. Defaults to a new MemoryStore.
	Store Store
	// Workers is the maximum number of jobs that run at once in this process.
	// Defaults to 16.
	Workers int
	// QueueDepth is the maximum number of queued jobs in the store. Submit
	// returns ErrQueueFull when that many are queued. Defaults to 1024.
	QueueDepth int
	// Retention is the time that a finished job stays readable. Defaults to 24
	// hours.
	Retention time.Duration
	// Lease is the time that a running job stays claimed by this process without
	// a renewal. After it, another process sharing the store takes the job over.
	// The runtime renews leases every Lease/3. Defaults to 30 seconds.
	Lease time.Duration
	// PollInterval is the interval at which idle workers and waiters read the
	// store for changes made by other processes. Defaults to 1 second.
	PollInterval time.Duration
	// ProgressInterval is the minimum time between two stored progress reports
	// of one job. A report with Done equal to Total, and the last report of a
	// job that finishes, are always stored. Defaults to 100 milliseconds.
	ProgressInterval time.Duration
	// FinalWriteTimeout bounds each write that records a job's end, which runs
	// on its own context so that a shutdown cannot cancel it. Defaults to 5 seconds.
	FinalWriteTimeout time.Duration
	// Logger logs each job's queueing, start, end and re-queueing, and every
	// failed store operation, with the job_id. Nil means silent.
	Logger *slog.Logger
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Store == nil {
		c.Store = NewMemoryStore()
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.QueueDepth <= 0 {
		c.QueueDepth = 1024
	}
	if c.Retention <= 0 {
		c.Retention = 24 * time.Hour
	}
	if c.Lease <= 0 {
		c.Lease = 30 * time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = 100 * time.Millisecond
	}
	if c.FinalWriteTimeout <= 0 {
		c.FinalWriteTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Submission is a request for a new job.
type Submission struct {
	Owner          string    // the owner the authorization hook returned; "" when there is none
	IdempotencyKey string    // "" means no deduplication
	Request        []byte    // the request, already checked by Runner.Decode
	Deadline       time.Time // the caller's deadline; zero means none
	Callback       *Callback // the result's delivery, or nil
}

// Causes passed to a running job's context when it is cancelled.
var (
	errCancelRequested = errors.New("jobs: cancel requested")
	errShutdown        = errors.New("jobs: runtime shutting down")
)

// Runtime runs jobs on a bounded pool of workers and records their state in a
// Store. It is shared by the polling, callback and websocket handlers, so a job
// submitted through one strategy is readable through the others.
type Runtime struct {
	cfg    Config
	runner Runner
	store  Store
	worker string // this process's name in job leases

	wake chan struct{} // a buffered signal to idle workers that a job was queued
	stop chan struct{} // closed when Shutdown starts

	mu          sync.Mutex
	watches     map[string]*watch
	running     map[string]context.CancelCauseFunc
	finishHooks []func(*Job)
	closed      bool
	abandoning  bool // Shutdown's ctx ended: runs starting now are cancelled at once

	workers  sync.WaitGroup
	shutdown sync.Once
}

type watch struct {
	ch      chan struct{} // closed on the job's next change
	waiters int
}

// New starts a runtime that runs runner's jobs. Call Shutdown to stop it.
func New(runner Runner, cfg Config) *Runtime {
	cfg.setDefaults()
	r := &Runtime{
		cfg:     cfg,
		runner:  runner,
		store:   cfg.Store,
		worker:  "worker-" + NewID()[:12],
		wake:    make(chan struct{}, cfg.Workers),
		stop:    make(chan struct{}),
		watches: make(map[string]*watch),
		running: make(map[string]context.CancelCauseFunc),
	}

	r.workers.Add(cfg.Workers + 1)
	for i := 0; i < cfg.Workers; i++ {
		go r.work()
	}
	go r.expire()
	return r
}

// Runner returns the runner the runtime was started with.
func (r *Runtime) Runner() Runner { return r.runner }

// Store returns the runtime's store.
func (r *Runtime) Store() Store { return r.store }

// Logger returns the runtime's logger, which is never nil.
func (r *Runtime) Logger() *slog.Logger { return r.cfg.Logger }

// Now returns the runtime's clock reading.
func (r *Runtime) Now() time.Time { return r.cfg.Now() }

// Retention returns how long finished jobs stay readable.
func (r *Runtime) Retention() time.Duration { return r.cfg.Retention }

// OnFinish registers f to be called with every job that this process finishes
// or cancels, after its final state is stored. f runs on the worker's goroutine
// and must not block.
func (r *Runtime) OnFinish(f func(*Job)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.finishHooks = append(r.finishHooks, f)
}

// Submit creates a queued job, or returns the existing job when the owner used
// the same idempotency key before with the same request. created reports which.
// When the key was used with another request, Submit returns the existing job
// and ErrIdempotencyConflict. It returns ErrQueueFull when the queue is full and
// ErrClosed once Shutdown has begun.
func (r *Runtime) Submit(ctx context.Context, s Submission) (job *Job, created bool, err error) {
	if r.isClosed() {
		return nil, false, ErrClosed
	}

	// NOTE: the limit is checked before the idempotency key, so a replayed
	// submit of an existing job also gets ErrQueueFull while the queue is full.
	queued, _, err := r.store.Counts(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("jobs: count queued jobs: %w", err)
	}
	if queued >= r.cfg.QueueDepth {
		return nil, false, ErrQueueFull
	}

	callback := s.Callback
	if callback != nil && callback.State == "" {
		// A delivery without a state would never be found by DueDeliveries.
		pending := *s.Callback
		pending.State = DeliveryPending
		callback = &pending
	}

	now := r.cfg.Now()
	hash := sha256.Sum256(s.Request)
	job = &Job{
		ID:             NewID(),
		Owner:          s.Owner,
		State:          StateQueued,
		Request:        s.Request,
		IdempotencyKey: s.IdempotencyKey,
		RequestHash:    hex.EncodeToString(hash[:]),
		Deadline:       s.Deadline,
		CreatedAt:      now,
		UpdatedAt:      now,
		Callback:       callback,
	}
	stored, created, err := r.store.Create(ctx, job)
	if err != nil {
		return nil, false, fmt.Errorf("jobs: store new job: %w", err)
	}
	if !created {
		if stored.RequestHash != job.RequestHash {
			return stored, false, ErrIdempotencyConflict
		}
		return stored, false, nil
	}

	select {
	case r.wake <- struct{}{}:
	default:
	}
	r.cfg.Logger.Info("job queued", "job_id", stored.ID)
	return stored, true, nil
}

// Get returns the job with the given ID, or ErrNotFound when it does not exist
// or belongs to another owner.
func (r *Runtime) Get(ctx context.Context, owner, id string) (*Job, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	job, err := r.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if job.Owner != owner {
		return nil, ErrNotFound
	}
	return job, nil
}

// Wait returns the job once its Version differs from version, or once it has
// finished when version is 0. When ctx ends first, Wait returns the job as it
// is then and a nil error: an expired long-poll is not a failure.
func (r *Runtime) Wait(ctx context.Context, owner, id string, version uint64) (*Job, error) {
	ticker := time.NewTicker(r.cfg.PollInterval)
	defer ticker.Stop()

	for {
		changed, release := r.watch(id)
		job, err := r.Get(ctx, owner, id)
		if err != nil {
			release()
			return nil, err
		}
		if job.State.Finished() || (version != 0 && job.Version != version) {
			release()
			return job, nil
		}

		select {
		case <-changed:
		case <-ticker.C:
		case <-ctx.Done():
			release()
			return job, nil
		}
		release()
	}
}

// Cancel cancels the job. A queued job ends at once as canceled. A running job
// ends when its engine returns, as canceled unless the engine returns a result
// anyway. Cancelling a finished job changes nothing. Cancel returns the job as
// stored after the request.
func (r *Runtime) Cancel(ctx context.Context, owner, id string) (*Job, error) {
	if _, err := r.Get(ctx, owner, id); err != nil {
		return nil, err
	}

	now := r.cfg.Now()
	job, err := r.store.Update(ctx, id, func(j *Job) error {
		switch {
		case j.State.Finished():
			return errUnchanged
		case j.State == StateQueued:
			r.finishFields(j, now, StateCanceled, nil, canceledProblem(j.ID))
		default:
			j.CancelRequested = true
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return r.store.Get(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: cancel job %s: %w", id, err)
	}

	r.mu.Lock()
	cancel := r.running[id]
	r.mu.Unlock()
	if cancel != nil {
		cancel(errCancelRequested)
	}

	r.notify(id)
	if job.State.Finished() {
		r.cfg.Logger.Info("job canceled while queued", "job_id", id)
		r.runFinishHooks(job)
	}
	return job, nil
}

var errUnchanged = errors.New("jobs: unchanged")

// Shutdown stops taking jobs from the queue, lets running jobs finish until ctx
// ends, then cancels the rest and puts them back in the queue of the store, so
// that a later runtime on the same store runs them again. A job whose cancel
// was requested ends canceled instead. Shutdown returns ctx.Err() when ctx ended
// before every worker returned, and nil otherwise. It waits for every worker to
// return, so an engine that ignores its ctx keeps Shutdown waiting. The store is
// not closed.
func (r *Runtime) Shutdown(ctx context.Context) error {
	r.shutdown.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		close(r.stop)
	})

	done := make(chan struct{})
	go func() {
		r.workers.Wait()
		close(done)
	}()

	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}

	// A worker that claimed a job just before Shutdown may register its run
	// after this loop, so abandoning makes it cancel that run itself.
	r.mu.Lock()
	r.abandoning = true
	for _, cancel := range r.running {
		cancel(errShutdown)
	}
	r.mu.Unlock()
	<-done
	return ctx.Err()
}

func (r *Runtime) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// watch returns a channel closed on the job's next change, and a function to
// call once the caller stops waiting on it.
func (r *Runtime) watch(id string) (<-chan struct{}, func()) {
	r.mu.Lock()
	defer r.mu.Unlock()

	w := r.watches[id]
	if w == nil {
		w = &watch{ch: make(chan struct{})}
		r.watches[id] = w
	}
	w.waiters++

	return w.ch, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		w.waiters--
		if w.waiters == 0 && r.watches[id] == w {
			delete(r.watches, id)
		}
	}
}

// notify wakes every waiter of the job.
func (r *Runtime) notify(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()

	if w := r.watches[id]; w != nil {
		close(w.ch)
		delete(r.watches, id)
	}
}

func (r *Runtime) runFinishHooks(job *Job) {
	r.mu.Lock()
	hooks := append([]func(*Job){}, r.finishHooks...)
	r.mu.Unlock()
	for _, f := range hooks {
		f(job.Clone())
	}
}

// finishFields records a final state in j.
func (r *Runtime) finishFields(j *Job, now time.Time, state State, result []byte, problem *transport.Problem) {
	j.State = state
	j.Result = result
	j.Problem = problem
	j.FinishedAt = now
	j.ExpiresAt = now.Add(r.cfg.Retention)
	j.LeaseOwner = ""
	j.LeaseUntil = time.Time{}
	if j.Progress.Total > 0 && state == StateSucceeded {
		j.Progress.Done = j.Progress.Total
	}
	if j.Callback != nil && j.Callback.State == DeliveryPending {
		j.Callback.NextAttempt = now
	}
}

func canceledProblem(id string) *transport.Problem {
	p := transport.NewProblem(http.StatusConflict, transport.CodeJobCanceled, "job %s was canceled before it finished", id)
	p.JobID = id
	return p
}

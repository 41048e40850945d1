package jobs

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/longhaul-go/longhaul/transport"
)

var errLeaseLost = errors.New("jobs: lease lost to another worker")

// work is one worker: it claims jobs from the store and runs them until Shutdown.
func (r *Runtime) work() {
	defer r.workers.Done()

	for {
		select {
		case <-r.stop:
			return
		default:
		}

		job, err := r.store.Claim(context.Background(), r.worker, r.cfg.Now(), r.cfg.Lease)
		if err != nil {
			r.cfg.Logger.Error("claim job failed", "error", err)
		}
		if job == nil {
			select {
			case <-r.stop:
				return
			case <-r.wake:
			case <-time.After(r.cfg.PollInterval):
			}
			continue
		}

		// Shutdown may have started while Claim ran: hand the job back unstarted.
		select {
		case <-r.stop:
			r.requeue(job.ID)
			return
		default:
		}
		r.execute(job)
	}
}

// execute runs one claimed job and stores how it ended.
func (r *Runtime) execute(job *Job) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	if !job.Deadline.IsZero() {
		var cancelDeadline context.CancelFunc
		ctx, cancelDeadline = context.WithDeadline(ctx, job.Deadline)
		defer cancelDeadline()
	}

	r.mu.Lock()
	if _, ok := r.running[job.ID]; ok {
		// This process already runs the job: its lease ran out (a stalled store
		// or a clock jump) and another of our workers claimed it again under
		// the same lease owner. The first run keeps the job.
		r.mu.Unlock()
		r.cfg.Logger.Warn("job claimed again while it runs in this process", "job_id", job.ID)
		return
	}
	r.running[job.ID] = cancel
	if r.abandoning {
		cancel(errShutdown)
	}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.running, job.ID)
		r.mu.Unlock()
	}()

	// A Cancel that updated the job after Claim and before the registration
	// above found no run to cancel, so read the flag again now.
	if job.CancelRequested || r.cancelRequested(job.ID) {
		cancel(errCancelRequested)
	}
	r.notify(job.ID)
	r.cfg.Logger.Info("job started", "job_id", job.ID, "attempt", job.Attempts)

	renewDone := make(chan struct{})
	renewStopped := make(chan struct{})
	go r.renewLease(job.ID, cancel, renewDone, renewStopped)

	progress := &progressRecorder{r: r, ctx: ctx, id: job.ID}
	started := r.cfg.Now()
	result, runErr := r.runSafely(ctx, job, progress.report)
	close(renewDone)
	<-renewStopped

	r.record(ctx, job, result, runErr, progress.unstored(), r.cfg.Now().Sub(started))
}

// cancelRequested reports whether the stored job has CancelRequested set.
func (r *Runtime) cancelRequested(id string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.FinalWriteTimeout)
	defer cancel()

	job, err := r.store.Get(ctx, id)
	if err != nil {
		r.cfg.Logger.Warn("read job before its run failed", "job_id", id, "error", err)
		return false
	}
	return job.CancelRequested
}

// requeue puts a job that this process holds back in the queue at shutdown,
// or ends it as canceled when a cancel was requested.
func (r *Runtime) requeue(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.FinalWriteTimeout)
	defer cancel()

	now := r.cfg.Now()
	stored, err := r.store.Update(ctx, id, func(j *Job) error {
		if j.LeaseOwner != r.worker {
			return errLeaseLost
		}
		if j.CancelRequested {
			r.finishFields(j, now, StateCanceled, nil, canceledProblem(j.ID))
			return nil
		}
		j.State = StateQueued
		j.LeaseOwner = ""
		j.LeaseUntil = time.Time{}
		return nil
	})
	if err != nil {
		r.logWrite(id, "", err)
		return
	}

	r.notify(id)
	if stored.State.Finished() {
		r.cfg.Logger.Info("job canceled at shutdown", "job_id", id)
		r.runFinishHooks(stored)
		return
	}
	r.cfg.Logger.Info("job re-queued at shutdown", "job_id", id)
}

// record stores the end of a run: a final state, or the job back in the queue
// when the runtime is shutting down. progress, when not nil, is the engine's
// latest report that was not stored yet.
func (r *Runtime) record(ctx context.Context, job *Job, result []byte, runErr error, progress *transport.Progress, took time.Duration) {
	cause := context.Cause(ctx)
	if runErr != nil && errors.Is(cause, errShutdown) {
		r.requeue(job.ID)
		return
	}

	now := r.cfg.Now()
	state, problem := StateSucceeded, (*transport.Problem)(nil)
	switch {
	case runErr == nil:
	case errors.Is(cause, errCancelRequested):
		state, problem = StateCanceled, canceledProblem(job.ID)
		result = nil
	case errors.Is(cause, context.DeadlineExceeded):
		state = StateFailed
		problem = transport.NewProblem(http.StatusGatewayTimeout, transport.CodeJobTimeout,
			"job %s passed its caller's deadline %s before it finished", job.ID, job.Deadline.UTC().Format(time.RFC3339Nano))
		result = nil
	default:
		state, problem = StateFailed, transport.AsProblem(runErr)
		result = nil
	}
	if problem != nil {
		problem.JobID = job.ID
	}

	writeCtx, cancel := context.WithTimeout(context.Background(), r.cfg.FinalWriteTimeout)
	defer cancel()
	stored, err := r.store.Update(writeCtx, job.ID, func(j *Job) error {
		if j.LeaseOwner != r.worker {
			return errLeaseLost
		}
		if progress != nil {
			j.Progress = *progress
		}
		r.finishFields(j, now, state, result, problem)
		return nil
	})
	if err != nil {
		r.logWrite(job.ID, "", err)
		return
	}

	r.cfg.Logger.Info("job finished", "job_id", job.ID, "state", state, "duration", took)
	r.notify(job.ID)
	r.runFinishHooks(stored)
}

func (r *Runtime) logWrite(id, success string, err error) {
	switch {
	case err == nil && success != "":
		r.cfg.Logger.Info(success, "job_id", id)
	case errors.Is(err, errLeaseLost):
		r.cfg.Logger.Warn("job state not stored: another worker took the job over", "job_id", id)
	case err != nil:
		r.cfg.Logger.Error("store job state failed", "job_id", id, "error", err)
	}
}

// renewLease extends the job's lease every Lease/3 until done is closed. It
// cancels the run when the stored job shows that a cancel was requested or that
// another worker took the job over.
func (r *Runtime) renewLease(id string, cancel context.CancelCauseFunc, done <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	ticker := time.NewTicker(max(r.cfg.Lease/3, time.Millisecond))
	defer ticker.Stop()

	for {
		select {
		case <-done:
			return
		case <-ticker.C:
		}

		job, err := r.renew(id)
		switch {
		case errors.Is(err, errLeaseLost):
			cancel(errLeaseLost)
			return
		case err != nil:
			r.cfg.Logger.Warn("renew job lease failed", "job_id", id, "error", err)
		case job.CancelRequested:
			cancel(errCancelRequested)
		}
	}
}

// renew extends the job's lease by Lease. The write gets at most Lease, the
// time after which the lease is lost anyway, so a stalled store cannot hold
// the run's end back for longer.
func (r *Runtime) renew(id string) (*Job, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Lease)
	defer cancel()

	return r.store.Update(ctx, id, func(j *Job) error {
		if j.LeaseOwner != r.worker {
			return errLeaseLost
		}
		j.LeaseUntil = r.cfg.Now().Add(r.cfg.Lease)
		return nil
	})
}

// progressRecorder stores the progress reports of one run. It stores a report
// when ProgressInterval has passed since the last stored one, or when Done has
// reached Total. The run's final write stores the latest report it skipped.
type progressRecorder struct {
	r   *Runtime
	ctx context.Context // the run's context: reports after the run ends are not stored
	id  string

	// mu is held across the store write, so that reports from several of the
	// engine's goroutines are stored in the order they were made.
	mu      sync.Mutex
	last    time.Time // when the last report was stored
	latest  transport.Progress
	pending bool // latest is not stored yet
}

func (p *progressRecorder) report(progress transport.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()

	p.latest, p.pending = progress, true
	now := p.r.cfg.Now()
	final := progress.Total > 0 && progress.Done >= progress.Total
	if !final && now.Sub(p.last) < p.r.cfg.ProgressInterval {
		return
	}

	_, err := p.r.store.Update(p.ctx, p.id, func(j *Job) error {
		if j.State != StateRunning || j.LeaseOwner != p.r.worker {
			return errLeaseLost
		}
		j.Progress = progress
		return nil
	})
	if err != nil {
		return
	}
	p.last, p.pending = now, false
	p.r.notify(p.id)
}

// unstored returns the latest report if it was not stored, or nil.
func (p *progressRecorder) unstored() *transport.Progress {
	p.mu.Lock()
	defer p.mu.Unlock()

	if !p.pending {
		return nil
	}
	latest := p.latest
	return &latest
}

// expire deletes finished jobs past their retention until Shutdown.
func (r *Runtime) expire() {
	defer r.workers.Done()
	every := max(min(r.cfg.Retention/10, time.Minute), time.Millisecond)
	ticker := time.NewTicker(every)
	defer ticker.Stop()

	for {
		select {
		case <-r.stop:
			return
		case <-ticker.C:
		}
		n, err := r.store.DeleteExpired(context.Background(), r.cfg.Now())
		if err != nil {
			r.cfg.Logger.Error("delete expired jobs failed", "error", err)
		} else if n > 0 {
			r.cfg.Logger.Info("expired jobs deleted", "count", n)
		}
	}
}

// runSafely runs the job's engine and turns a panic in it into a job failure
// with an internal problem, so that one faulty request cannot take the server
// and every other job down with it. A panic in a goroutine that the engine
// starts itself cannot be caught here.
func (r *Runtime) runSafely(ctx context.Context, job *Job, progress transport.ProgressFunc) (result []byte, err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		r.cfg.Logger.Error("engine panicked", "job_id", job.ID, "panic", v, "stack", string(debug.Stack()))
		result = nil
		err = transport.NewProblem(http.StatusInternalServerError, transport.CodeInternal,
			"the engine panicked while running job %s: the server's log has the details", job.ID)
	}()

	return r.runner.Run(ctx, job.Request, progress)
}

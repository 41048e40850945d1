package jobs

import (
	"context"
	"errors"
	"net/http"
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
	r.running[job.ID] = cancel
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.running, job.ID)
		r.mu.Unlock()
	}()

	r.notify(job.ID)
	if job.CancelRequested {
		cancel(errCancelRequested)
	}
	r.cfg.Logger.Info("job started", "job_id", job.ID, "attempt", job.Attempts)

	renewDone := make(chan struct{})
	renewStopped := make(chan struct{})
	go r.renewLease(job.ID, cancel, renewDone, renewStopped)

	started := r.cfg.Now()
	result, runErr := r.runner.Run(ctx, job.Request, r.progressRecorder(job.ID))
	close(renewDone)
	<-renewStopped

	r.record(ctx, job, result, runErr, r.cfg.Now().Sub(started))
}

// record stores the end of a run: a final state, or the job back in the queue
// when the runtime is shutting down.
func (r *Runtime) record(ctx context.Context, job *Job, result []byte, runErr error, took time.Duration) {
	cause := context.Cause(ctx)
	writeCtx, cancel := context.WithTimeout(context.Background(), r.cfg.FinalWriteTimeout)
	defer cancel()

	if runErr != nil && errors.Is(cause, errShutdown) {
		_, err := r.store.Update(writeCtx, job.ID, func(j *Job) error {
			if j.LeaseOwner != r.worker {
				return errLeaseLost
			}
			j.State = StateQueued
			j.LeaseOwner = ""
			j.LeaseUntil = time.Time{}
			return nil
		})
		r.logWrite(job.ID, "job re-queued at shutdown", err)
		r.notify(job.ID)
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

	stored, err := r.store.Update(writeCtx, job.ID, func(j *Job) error {
		if j.LeaseOwner != r.worker {
			return errLeaseLost
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
		r.cfg.Logger.Warn("job result dropped: another worker took the job over", "job_id", id)
	case err != nil:
		r.cfg.Logger.Error("store job state failed", "job_id", id, "error", err)
	}
}

// renewLease extends the job's lease every Lease/3 until done is closed, and
// cancels the run when the store says another process asked for a cancel or
// took the job over.
func (r *Runtime) renewLease(id string, cancel context.CancelCauseFunc, done <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	ticker := time.NewTicker(r.cfg.Lease / 3)
	defer ticker.Stop()

	for {
		select {
		case <-done:
			return
		case <-ticker.C:
		}

		job, err := r.store.Update(context.Background(), id, func(j *Job) error {
			if j.LeaseOwner != r.worker {
				return errLeaseLost
			}
			j.LeaseUntil = r.cfg.Now().Add(r.cfg.Lease)
			return nil
		})
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

// progressRecorder returns the ProgressFunc of one run. It stores a report when
// ProgressInterval has passed since the last stored one, or when it is the last.
func (r *Runtime) progressRecorder(id string) transport.ProgressFunc {
	var mu sync.Mutex
	var last time.Time

	return func(p transport.Progress) {
		mu.Lock()
		now := r.cfg.Now()
		final := p.Total > 0 && p.Done >= p.Total
		if !final && now.Sub(last) < r.cfg.ProgressInterval {
			mu.Unlock()
			return
		}
		last = now
		mu.Unlock()

		_, err := r.store.Update(context.Background(), id, func(j *Job) error {
			if j.State != StateRunning || j.LeaseOwner != r.worker {
				return errLeaseLost
			}
			j.Progress = p
			return nil
		})
		if err == nil {
			r.notify(id)
		}
	}
}

// expire deletes finished jobs past their retention until Shutdown.
func (r *Runtime) expire() {
	defer r.workers.Done()
	every := min(r.cfg.Retention/10, time.Minute)
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

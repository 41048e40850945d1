package jobs

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by a Store and the Runtime for an ID that does not exist,
// has expired, or belongs to another owner.
var ErrNotFound = errors.New("jobs: job not found")

// Store is the storage of a Runtime's jobs. The Runtime is its only writer in a
// process. Several processes may share a store that supports it, and then each
// method must be atomic across processes. Every method must be safe for
// concurrent use.
//
// Stores return copies and keep none of the caller's jobs: changing a returned
// *Job, the job given to Create or the job that Update's fn received changes
// nothing stored.
type Store interface {
	// Create stores job, which is queued and has a new ID, and returns it with
	// created true. A job given with Version 0 is stored with Version 1, because
	// the Runtime's Wait treats version 0 as "no version". When job.IdempotencyKey
	// is not empty and a job of the same owner with that key exists, Create stores
	// nothing and returns the existing job with created false.
	Create(ctx context.Context, job *Job) (stored *Job, created bool, err error)

	// Get returns the job with the given ID, or ErrNotFound.
	Get(ctx context.Context, id string) (*Job, error)

	// Update applies fn to the stored job atomically, raises its Version and
	// UpdatedAt, and returns the new job. If fn returns an error, nothing is
	// stored and Update returns that error. A missing job gives ErrNotFound.
	Update(ctx context.Context, id string, fn func(*Job) error) (*Job, error)

	// Claim marks the oldest queued job, or a running job whose lease ended
	// before now, as running under worker until now+lease, raises its Attempts,
	// and returns it. It returns nil and no error when there is nothing to run.
	Claim(ctx context.Context, worker string, now time.Time, lease time.Duration) (*Job, error)

	// DueDeliveries returns up to limit finished jobs whose callback is pending
	// with NextAttempt at or before now, the earliest NextAttempt first. A limit
	// of 0 or less means no limit.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]*Job, error)

	// DeleteExpired deletes finished jobs whose ExpiresAt is before now, with
	// their idempotency keys, and returns how many it deleted. A job with a zero
	// ExpiresAt never expires.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)

	// Counts returns how many jobs are queued and running.
	Counts(ctx context.Context) (queued, running int, err error)

	// Close releases the store's resources.
	Close() error
}

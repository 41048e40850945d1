package jobs

import (
	"context"
	"sort"
	"sync"
	"time"
)

// MemoryStore is a Store that keeps jobs in the process's memory. It is the
// zero-setup default: fast, and lost when the process exits.
type MemoryStore struct {
	mu    sync.Mutex
	jobs  map[string]*Job
	keys  map[string]string // owner + "\x00" + idempotency key -> job ID
	queue []string          // queued job IDs in submit order, possibly with IDs that are no longer queued

	// Indexes kept so that no hot path scans every retained job.
	queued  int                 // how many jobs are queued
	running map[string]struct{} // IDs of running jobs, for lease takeover
	pending map[string]struct{} // IDs of jobs whose callback delivery is pending
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		jobs:    make(map[string]*Job),
		keys:    make(map[string]string),
		running: make(map[string]struct{}),
		pending: make(map[string]struct{}),
	}
}

func idempotencyIndex(owner, key string) string { return owner + "\x00" + key }

// Create implements Store.
func (s *MemoryStore) Create(_ context.Context, job *Job) (*Job, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if job.IdempotencyKey != "" {
		if id, ok := s.keys[idempotencyIndex(job.Owner, job.IdempotencyKey)]; ok {
			if existing, ok := s.jobs[id]; ok {
				return existing.Clone(), false, nil
			}
		}
	}

	stored := job.Clone()
	if stored.Version == 0 {
		stored.Version = 1
	}
	s.jobs[stored.ID] = stored
	if stored.IdempotencyKey != "" {
		s.keys[idempotencyIndex(stored.Owner, stored.IdempotencyKey)] = stored.ID
	}
	if stored.State == StateQueued {
		s.queue = append(s.queue, stored.ID)
	}
	s.index(nil, stored)
	return stored.Clone(), true, nil
}

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, id string) (*Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	job, ok := s.jobs[id]
	if !ok {
		return nil, ErrNotFound
	}
	return job.Clone(), nil
}

// Update implements Store.
func (s *MemoryStore) Update(_ context.Context, id string, fn func(*Job) error) (*Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	job, ok := s.jobs[id]
	if !ok {
		return nil, ErrNotFound
	}
	draft := job.Clone()
	if err := fn(draft); err != nil {
		return nil, err
	}
	draft.ID = job.ID
	draft.Version = job.Version + 1
	draft.UpdatedAt = time.Now()

	// Store a copy: fn may keep draft, which is also the job returned.
	next := draft.Clone()
	if next.State == StateQueued && job.State != StateQueued {
		s.queue = append(s.queue, id)
	}
	s.index(job, next)
	s.jobs[id] = next
	return draft, nil
}

// Claim implements Store.
func (s *MemoryStore) Claim(_ context.Context, worker string, now time.Time, lease time.Duration) (*Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	for len(s.queue) > 0 {
		id := s.queue[0]
		s.queue = s.queue[1:]
		job, ok := s.jobs[id]
		if !ok || job.State != StateQueued {
			continue
		}
		return s.claimLocked(job, worker, now, lease), nil
	}

	// Take over a running job whose worker stopped renewing its lease.
	for id := range s.running {
		job := s.jobs[id]
		if !job.LeaseUntil.IsZero() && job.LeaseUntil.Before(now) {
			return s.claimLocked(job, worker, now, lease), nil
		}
	}
	return nil, nil
}

func (s *MemoryStore) claimLocked(job *Job, worker string, now time.Time, lease time.Duration) *Job {
	before := *job
	job.State = StateRunning
	job.LeaseOwner = worker
	job.LeaseUntil = now.Add(lease)
	job.Attempts++
	if job.StartedAt.IsZero() {
		job.StartedAt = now
	}
	job.Version++
	job.UpdatedAt = now
	s.index(&before, job)
	return job.Clone()
}

// DueDeliveries implements Store.
func (s *MemoryStore) DueDeliveries(_ context.Context, now time.Time, limit int) ([]*Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	var due []*Job
	for id := range s.pending {
		job := s.jobs[id]
		if !job.State.Finished() || job.Callback.NextAttempt.After(now) {
			continue
		}
		due = append(due, job.Clone())
	}
	sort.Slice(due, func(i, j int) bool {
		a, b := due[i].Callback.NextAttempt, due[j].Callback.NextAttempt
		if !a.Equal(b) {
			return a.Before(b)
		}
		return due[i].ID < due[j].ID // map order is random: keep equal times in a stable order
	})
	if limit > 0 && len(due) > limit {
		due = due[:limit]
	}
	return due, nil
}

// DeleteExpired implements Store.
func (s *MemoryStore) DeleteExpired(_ context.Context, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	deleted := 0
	for id, job := range s.jobs {
		if !job.State.Finished() || job.ExpiresAt.IsZero() || !job.ExpiresAt.Before(now) {
			continue
		}
		s.index(job, nil)
		delete(s.jobs, id)
		if job.IdempotencyKey != "" {
			delete(s.keys, idempotencyIndex(job.Owner, job.IdempotencyKey))
		}
		deleted++
	}
	return deleted, nil
}

// Counts implements Store.
func (s *MemoryStore) Counts(context.Context) (queued, running int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.queued, len(s.running), nil
}

// index moves a job's entries in the indexes from its old version to its new
// one. A nil old means a new job, and a nil next means a deleted one.
func (s *MemoryStore) index(old, next *Job) {
	if old != nil {
		if old.State == StateQueued {
			s.queued--
		}
		delete(s.running, old.ID)
		delete(s.pending, old.ID)
	}
	if next == nil {
		return
	}
	switch next.State {
	case StateQueued:
		s.queued++
	case StateRunning:
		s.running[next.ID] = struct{}{}
	}
	if next.Callback != nil && next.Callback.State == DeliveryPending {
		s.pending[next.ID] = struct{}{}
	}
}

// Close implements Store. It does nothing, and a closed MemoryStore keeps working.
func (s *MemoryStore) Close() error { return nil }

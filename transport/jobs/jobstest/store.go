package jobstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// TestStore runs the conformance tests of the jobs.Store contract, one subtest
// per rule. newStore must return an empty store that shares no jobs with the
// stores of earlier calls. TestStore closes each store when its subtest ends.
func TestStore(t *testing.T, newStore func(t *testing.T) jobs.Store) {
	t.Helper()

	tests := []struct {
		name string
		run  func(t *testing.T, s jobs.Store)
	}{
		{"Create/StoresJob", testCreateStoresJob},
		{"Create/ReturnsCopies", testCreateReturnsCopies},
		{"Create/IdempotencyKeySameOwner", testCreateKeySameOwner},
		{"Create/IdempotencyKeyOtherOwner", testCreateKeyOtherOwner},
		{"Create/EmptyKeyNotDeduplicated", testCreateEmptyKey},
		{"Get/NotFound", testGetNotFound},
		{"Get/ReturnsCopies", testGetReturnsCopies},
		{"Update/AppliesAndRaisesVersion", testUpdateApplies},
		{"Update/NotFound", testUpdateNotFound},
		{"Update/ErrorStoresNothing", testUpdateErrorStoresNothing},
		{"Update/ReturnsCopies", testUpdateReturnsCopies},
		{"Update/Concurrent", testUpdateConcurrent},
		{"Claim/Empty", testClaimEmpty},
		{"Claim/OldestFirst", testClaimOldestFirst},
		{"Claim/MarksRunning", testClaimMarksRunning},
		{"Claim/SkipsFinished", testClaimSkipsFinished},
		{"Claim/KeepsLiveLease", testClaimKeepsLiveLease},
		{"Claim/TakesOverExpiredLease", testClaimTakesOverExpiredLease},
		{"Claim/RequeuedByUpdate", testClaimRequeued},
		{"Claim/Concurrent", testClaimConcurrent},
		{"DueDeliveries/OnlyDue", testDueDeliveriesOnlyDue},
		{"DueDeliveries/Limit", testDueDeliveriesLimit},
		{"DeleteExpired/OnlyFinishedAndExpired", testDeleteExpired},
		{"DeleteExpired/FreesIdempotencyKey", testDeleteExpiredFreesKey},
		{"Counts", testCounts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned a nil store")
			}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.run(t, s)
		})
	}
}

// base is the suite's reference time: the start of the test binary, on a
// millisecond boundary so that stores that keep times to the millisecond return
// them unchanged. Jobs are created an hour before it, so a store's own clock,
// which Update uses for UpdatedAt, is later than their UpdatedAt.
var base = time.Now().UTC().Truncate(time.Millisecond)

// newJob returns a queued job as the Runtime submits it, with times before base.
func newJob(owner, key string) *jobs.Job {
	created := base.Add(-time.Hour)
	return &jobs.Job{
		ID:             jobs.NewID(),
		Owner:          owner,
		State:          jobs.StateQueued,
		Request:        json.RawMessage(`{"items":[1,2,3]}`),
		IdempotencyKey: key,
		RequestHash:    "hash-of-request",
		CreatedAt:      created,
		UpdatedAt:      created,
	}
}

func create(t *testing.T, s jobs.Store, job *jobs.Job) *jobs.Job {
	t.Helper()

	stored, created, err := s.Create(t.Context(), job)
	if err != nil {
		t.Fatalf("Create(%s): %v", job.ID, err)
	}
	if !created {
		t.Fatalf("Create(%s): got created false, want true", job.ID)
	}
	return stored
}

func get(t *testing.T, s jobs.Store, id string) *jobs.Job {
	t.Helper()

	job, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return job
}

func update(t *testing.T, s jobs.Store, id string, fn func(*jobs.Job)) *jobs.Job {
	t.Helper()

	job, err := s.Update(t.Context(), id, func(j *jobs.Job) error {
		fn(j)
		return nil
	})
	if err != nil {
		t.Fatalf("Update(%s): %v", id, err)
	}
	return job
}

func claim(t *testing.T, s jobs.Store, worker string, now time.Time, lease time.Duration) *jobs.Job {
	t.Helper()

	job, err := s.Claim(t.Context(), worker, now, lease)
	if err != nil {
		t.Fatalf("Claim(%s): %v", worker, err)
	}
	return job
}

func counts(t *testing.T, s jobs.Store) (queued, running int) {
	t.Helper()

	queued, running, err := s.Counts(t.Context())
	if err != nil {
		t.Fatalf("Counts: %v", err)
	}
	return queued, running
}

func checkCounts(t *testing.T, s jobs.Store, step string, wantQueued, wantRunning int) {
	t.Helper()

	queued, running := counts(t, s)
	if queued != wantQueued || running != wantRunning {
		t.Errorf("%s: Counts got queued %d, running %d; want queued %d, running %d",
			step, queued, running, wantQueued, wantRunning)
	}
}

// finish moves a created job to state through Update, then applies fn.
func finish(t *testing.T, s jobs.Store, id string, state jobs.State, fn func(*jobs.Job)) *jobs.Job {
	t.Helper()

	return update(t, s, id, func(j *jobs.Job) {
		j.State = state
		j.FinishedAt = base
		if fn != nil {
			fn(j)
		}
	})
}

// sameCallback reports whether a and b are equal, with times to the millisecond.
func sameCallback(a, b *jobs.Callback) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.URL == b.URL && a.Secret == b.Secret && a.State == b.State &&
		a.Attempts == b.Attempts && a.LastError == b.LastError &&
		sameTime(a.NextAttempt, b.NextAttempt) && sameTime(a.DeliveredAt, b.DeliveredAt)
}

// sameTime reports whether a and b are equal to the millisecond.
func sameTime(a, b time.Time) bool {
	d := a.Sub(b)
	return d > -time.Millisecond && d < time.Millisecond
}

func testCreateStoresJob(t *testing.T, s jobs.Store) {
	job := newJob("alice", "key-1")
	job.Deadline = base.Add(time.Minute)
	job.Callback = &jobs.Callback{
		URL:         "https://example.test/hook",
		Secret:      "whsec_c2VjcmV0",
		State:       jobs.DeliveryPending,
		Attempts:    2,
		NextAttempt: base.Add(time.Second),
		LastError:   "connection refused",
	}

	stored := create(t, s, job)
	got := get(t, s, job.ID)

	for name, j := range map[string]*jobs.Job{"Create": stored, "Get": got} {
		if j.ID != job.ID {
			t.Errorf("%s: got ID %q, want %q", name, j.ID, job.ID)
		}
		if j.Version != 1 {
			t.Errorf("%s: got Version %d, want 1 for a job created with Version 0", name, j.Version)
		}
		if j.State != jobs.StateQueued {
			t.Errorf("%s: got State %q, want %q", name, j.State, jobs.StateQueued)
		}
		if j.Owner != "alice" || j.IdempotencyKey != "key-1" || j.RequestHash != job.RequestHash {
			t.Errorf("%s: got Owner %q, IdempotencyKey %q, RequestHash %q; want %q, %q, %q",
				name, j.Owner, j.IdempotencyKey, j.RequestHash, "alice", "key-1", job.RequestHash)
		}
		if string(j.Request) != string(job.Request) {
			t.Errorf("%s: got Request %s, want %s", name, j.Request, job.Request)
		}
		if !sameTime(j.Deadline, job.Deadline) || !sameTime(j.CreatedAt, job.CreatedAt) {
			t.Errorf("%s: got Deadline %v, CreatedAt %v; want %v, %v", name, j.Deadline, j.CreatedAt, job.Deadline, job.CreatedAt)
		}
		if !sameCallback(j.Callback, job.Callback) {
			t.Errorf("%s: got Callback %+v, want %+v", name, j.Callback, job.Callback)
		}
	}
}

func testCreateReturnsCopies(t *testing.T, s jobs.Store) {
	job := newJob("", "")
	job.Callback = &jobs.Callback{URL: "https://example.test/hook", State: jobs.DeliveryPending}
	stored := create(t, s, job)

	// Change both the job given to Create and the one it returned.
	for _, j := range []*jobs.Job{job, stored} {
		j.State = jobs.StateFailed
		j.Request[0] = 'X'
		j.Progress.Done = 99
		j.Callback.URL = "https://changed.test"
	}

	got := get(t, s, job.ID)
	if got.State != jobs.StateQueued {
		t.Errorf("got State %q after changing the caller's copies, want %q", got.State, jobs.StateQueued)
	}
	if string(got.Request) != `{"items":[1,2,3]}` {
		t.Errorf("got Request %s after changing the caller's copies, want {\"items\":[1,2,3]}", got.Request)
	}
	if got.Progress.Done != 0 {
		t.Errorf("got Progress.Done %d after changing the caller's copies, want 0", got.Progress.Done)
	}
	if got.Callback == nil || got.Callback.URL != "https://example.test/hook" {
		t.Errorf("got Callback %+v after changing the caller's copies, want URL https://example.test/hook", got.Callback)
	}
}

func testCreateKeySameOwner(t *testing.T, s jobs.Store) {
	first := create(t, s, newJob("alice", "key-1"))

	again := newJob("alice", "key-1")
	again.RequestHash = "another-hash"
	got, created, err := s.Create(t.Context(), again)
	if err != nil {
		t.Fatalf("Create with a used key: %v", err)
	}
	if created {
		t.Error("Create with a used key: got created true, want false")
	}
	if got == nil || got.ID != first.ID {
		t.Fatalf("Create with a used key: got job %v, want the existing job %s", got, first.ID)
	}
	if got.RequestHash != first.RequestHash {
		t.Errorf("Create with a used key: got RequestHash %q, want the existing job's %q", got.RequestHash, first.RequestHash)
	}
	got.State = jobs.StateFailed
	if stored := get(t, s, first.ID); stored.State != jobs.StateQueued {
		t.Errorf("got State %q after changing the job a replayed Create returned, want %q", stored.State, jobs.StateQueued)
	}
	if _, err := s.Get(t.Context(), again.ID); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("Get of the job not created: got error %v, want ErrNotFound", err)
	}
	checkCounts(t, s, "after a replayed Create", 1, 0)
}

func testCreateKeyOtherOwner(t *testing.T, s jobs.Store) {
	alice := create(t, s, newJob("alice", "key-1"))

	bob, created, err := s.Create(t.Context(), newJob("bob", "key-1"))
	if err != nil {
		t.Fatalf("Create by another owner: %v", err)
	}
	if !created {
		t.Error("Create by another owner with the same key: got created false, want true")
	}
	if bob.ID == alice.ID {
		t.Errorf("Create by another owner with the same key: got alice's job %s, want a new job", alice.ID)
	}
	if bob.Owner != "bob" {
		t.Errorf("got Owner %q, want bob", bob.Owner)
	}
	checkCounts(t, s, "after two owners used one key", 2, 0)
}

func testCreateEmptyKey(t *testing.T, s jobs.Store) {
	first := create(t, s, newJob("alice", ""))
	second := create(t, s, newJob("alice", ""))

	if first.ID == second.ID {
		t.Errorf("two Creates without a key: got the same job %s twice, want two jobs", first.ID)
	}
	checkCounts(t, s, "after two Creates without a key", 2, 0)
}

func testGetNotFound(t *testing.T, s jobs.Store) {
	job, err := s.Get(t.Context(), jobs.NewID())
	if !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("Get of an unknown ID: got error %v, want ErrNotFound", err)
	}
	if job != nil {
		t.Errorf("Get of an unknown ID: got job %+v, want nil", job)
	}
}

func testGetReturnsCopies(t *testing.T, s jobs.Store) {
	job := create(t, s, newJob("", ""))

	first := get(t, s, job.ID)
	first.State = jobs.StateSucceeded
	first.Request[0] = 'X'

	second := get(t, s, job.ID)
	if second.State != jobs.StateQueued || string(second.Request) != `{"items":[1,2,3]}` {
		t.Errorf("got State %q, Request %s after changing an earlier Get's job; want %q, {\"items\":[1,2,3]}",
			second.State, second.Request, jobs.StateQueued)
	}
}

func testUpdateApplies(t *testing.T, s jobs.Store) {
	job := create(t, s, newJob("", ""))

	var seen *jobs.Job
	updated := update(t, s, job.ID, func(j *jobs.Job) {
		seen = j.Clone()
		j.Progress = transport.Progress{Done: 3, Total: 10}
	})

	if seen.Version != job.Version || seen.ID != job.ID {
		t.Errorf("fn got ID %s, Version %d; want the stored job %s, Version %d", seen.ID, seen.Version, job.ID, job.Version)
	}
	if updated.Version != job.Version+1 {
		t.Errorf("got Version %d after Update, want %d", updated.Version, job.Version+1)
	}
	if !updated.UpdatedAt.After(job.UpdatedAt) {
		t.Errorf("got UpdatedAt %v after Update, want later than %v", updated.UpdatedAt, job.UpdatedAt)
	}
	if updated.Progress != (transport.Progress{Done: 3, Total: 10}) {
		t.Errorf("Update returned Progress %+v, want {Done:3 Total:10}", updated.Progress)
	}

	got := get(t, s, job.ID)
	if got.Version != updated.Version || got.Progress != updated.Progress {
		t.Errorf("Get after Update: got Version %d, Progress %+v; want %d, %+v", got.Version, got.Progress, updated.Version, updated.Progress)
	}
}

func testUpdateNotFound(t *testing.T, s jobs.Store) {
	called := false
	_, err := s.Update(t.Context(), jobs.NewID(), func(*jobs.Job) error {
		called = true
		return nil
	})
	if !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("Update of an unknown ID: got error %v, want ErrNotFound", err)
	}
	if called {
		t.Error("Update of an unknown ID called fn, want no call")
	}
}

func testUpdateErrorStoresNothing(t *testing.T, s jobs.Store) {
	job := create(t, s, newJob("", ""))
	errStop := errors.New("stop the update")

	got, err := s.Update(t.Context(), job.ID, func(j *jobs.Job) error {
		j.State = jobs.StateRunning
		j.Progress.Done = 5
		return fmt.Errorf("wrapped: %w", errStop)
	})
	if !errors.Is(err, errStop) {
		t.Errorf("Update whose fn failed: got error %v, want fn's error", err)
	}
	if got != nil {
		t.Errorf("Update whose fn failed: got job %+v, want nil", got)
	}

	stored := get(t, s, job.ID)
	if stored.Version != job.Version {
		t.Errorf("got Version %d after a failed Update, want %d", stored.Version, job.Version)
	}
	if stored.State != jobs.StateQueued || stored.Progress.Done != 0 {
		t.Errorf("got State %q, Progress.Done %d after a failed Update; want %q, 0", stored.State, stored.Progress.Done, jobs.StateQueued)
	}
	checkCounts(t, s, "after a failed Update", 1, 0)
}

func testUpdateReturnsCopies(t *testing.T, s jobs.Store) {
	job := create(t, s, newJob("", ""))

	var inside *jobs.Job
	updated := update(t, s, job.ID, func(j *jobs.Job) {
		inside = j
		j.Progress.Done = 1
	})
	inside.Progress.Done = 50
	updated.Progress.Done = 60

	got := get(t, s, job.ID)
	if got.Progress.Done != 1 {
		t.Errorf("got Progress.Done %d after changing fn's job and Update's result, want 1", got.Progress.Done)
	}
}

func testUpdateConcurrent(t *testing.T, s jobs.Store) {
	const goroutines, increments = 16, 25
	job := create(t, s, newJob("", ""))

	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for range goroutines {
		wg.Go(func() {
			for range increments {
				_, err := s.Update(context.Background(), job.ID, func(j *jobs.Job) error {
					j.Progress.Done++
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Update: %v", err)
	}

	got := get(t, s, job.ID)
	if want := goroutines * increments; got.Progress.Done != want {
		t.Errorf("got Progress.Done %d after %d concurrent increments, want %d", got.Progress.Done, want, want)
	}
	if want := job.Version + goroutines*increments; got.Version != want {
		t.Errorf("got Version %d after %d concurrent Updates, want %d", got.Version, goroutines*increments, want)
	}
}

func testClaimEmpty(t *testing.T, s jobs.Store) {
	if job := claim(t, s, "worker-a", base, time.Minute); job != nil {
		t.Errorf("Claim on an empty store: got job %s, want nil", job.ID)
	}
}

func testClaimOldestFirst(t *testing.T, s jobs.Store) {
	var ids []string
	for i := range 5 {
		job := newJob("", "")
		job.CreatedAt = job.CreatedAt.Add(time.Duration(i) * time.Millisecond)
		ids = append(ids, create(t, s, job).ID)
	}

	for i, want := range ids {
		job := claim(t, s, "worker-a", base, time.Minute)
		if job == nil {
			t.Fatalf("Claim %d: got nil, want job %s", i+1, want)
		}
		if job.ID != want {
			t.Errorf("Claim %d: got job %s, want %s, the oldest queued job", i+1, job.ID, want)
		}
	}
	if job := claim(t, s, "worker-a", base, time.Minute); job != nil {
		t.Errorf("Claim after every job was claimed: got job %s, want nil", job.ID)
	}
}

func testClaimMarksRunning(t *testing.T, s jobs.Store) {
	created := create(t, s, newJob("", ""))

	job := claim(t, s, "worker-a", base, time.Minute)
	if job == nil {
		t.Fatal("Claim: got nil, want the queued job")
	}
	check := func(name string, j *jobs.Job) {
		if j.State != jobs.StateRunning {
			t.Errorf("%s: got State %q, want %q", name, j.State, jobs.StateRunning)
		}
		if j.LeaseOwner != "worker-a" {
			t.Errorf("%s: got LeaseOwner %q, want worker-a", name, j.LeaseOwner)
		}
		if want := base.Add(time.Minute); !sameTime(j.LeaseUntil, want) {
			t.Errorf("%s: got LeaseUntil %v, want %v", name, j.LeaseUntil, want)
		}
		if j.Attempts != 1 {
			t.Errorf("%s: got Attempts %d, want 1", name, j.Attempts)
		}
		if j.Version <= created.Version {
			t.Errorf("%s: got Version %d, want more than %d", name, j.Version, created.Version)
		}
	}
	check("Claim", job)
	check("Get after Claim", get(t, s, created.ID))

	job.State = jobs.StateQueued
	if got := get(t, s, created.ID); got.State != jobs.StateRunning {
		t.Errorf("got State %q after changing Claim's job, want %q", got.State, jobs.StateRunning)
	}
	checkCounts(t, s, "after Claim", 0, 1)
}

func testClaimSkipsFinished(t *testing.T, s jobs.Store) {
	job := create(t, s, newJob("", ""))
	finish(t, s, job.ID, jobs.StateCanceled, nil)

	if got := claim(t, s, "worker-a", base, time.Minute); got != nil {
		t.Errorf("Claim: got job %s in state %q, want nil for a job canceled while queued", got.ID, got.State)
	}
}

func testClaimKeepsLiveLease(t *testing.T, s jobs.Store) {
	create(t, s, newJob("", ""))
	first := claim(t, s, "worker-a", base, time.Minute)
	if first == nil {
		t.Fatal("Claim: got nil, want the queued job")
	}

	if job := claim(t, s, "worker-b", base.Add(30*time.Second), time.Minute); job != nil {
		t.Errorf("Claim before the lease ended: got job %s, want nil", job.ID)
	}
	got := get(t, s, first.ID)
	if got.LeaseOwner != "worker-a" || got.Attempts != 1 {
		t.Errorf("got LeaseOwner %q, Attempts %d after a Claim during the lease; want worker-a, 1", got.LeaseOwner, got.Attempts)
	}
}

func testClaimTakesOverExpiredLease(t *testing.T, s jobs.Store) {
	create(t, s, newJob("", ""))
	first := claim(t, s, "worker-a", base, time.Minute)
	if first == nil {
		t.Fatal("Claim: got nil, want the queued job")
	}

	later := base.Add(2 * time.Minute)
	job := claim(t, s, "worker-b", later, time.Minute)
	if job == nil {
		t.Fatal("Claim after the lease ended: got nil, want the job taken over")
	}
	if job.ID != first.ID {
		t.Errorf("Claim after the lease ended: got job %s, want %s", job.ID, first.ID)
	}
	if job.State != jobs.StateRunning || job.LeaseOwner != "worker-b" {
		t.Errorf("got State %q, LeaseOwner %q; want %q, worker-b", job.State, job.LeaseOwner, jobs.StateRunning)
	}
	if want := later.Add(time.Minute); !sameTime(job.LeaseUntil, want) {
		t.Errorf("got LeaseUntil %v, want %v", job.LeaseUntil, want)
	}
	if job.Attempts != 2 {
		t.Errorf("got Attempts %d after a takeover, want 2", job.Attempts)
	}
	checkCounts(t, s, "after a takeover", 0, 1)

	if again := claim(t, s, "worker-c", later.Add(30*time.Second), time.Minute); again != nil {
		t.Errorf("Claim during the new lease: got job %s, want nil", again.ID)
	}
}

func testClaimRequeued(t *testing.T, s jobs.Store) {
	a := create(t, s, newJob("", ""))
	b := create(t, s, newJob("", ""))

	first := claim(t, s, "worker-a", base, time.Minute)
	if first == nil || first.ID != a.ID {
		t.Fatalf("Claim: got %v, want job %s", first, a.ID)
	}
	update(t, s, a.ID, func(j *jobs.Job) {
		j.State = jobs.StateQueued
		j.LeaseOwner = ""
		j.LeaseUntil = time.Time{}
	})
	checkCounts(t, s, "after re-queueing a claimed job", 2, 0)

	claimed := map[string]*jobs.Job{}
	for i := range 2 {
		job := claim(t, s, "worker-b", base, time.Minute)
		if job == nil {
			t.Fatalf("Claim %d after the re-queue: got nil, want a job", i+1)
		}
		claimed[job.ID] = job
	}
	if claimed[a.ID] == nil || claimed[b.ID] == nil {
		t.Fatalf("got jobs %v after the re-queue, want %s and %s", keys(claimed), a.ID, b.ID)
	}
	if got := claimed[a.ID].Attempts; got != 2 {
		t.Errorf("got Attempts %d for the re-queued job, want 2", got)
	}
	if job := claim(t, s, "worker-b", base, time.Minute); job != nil {
		t.Errorf("third Claim: got job %s, want nil", job.ID)
	}
}

func testClaimConcurrent(t *testing.T, s jobs.Store) {
	const jobCount, claimers = 60, 12
	for range jobCount {
		create(t, s, newJob("", ""))
	}

	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		wg      sync.WaitGroup
	)
	errs := make(chan error, claimers)
	for i := range claimers {
		worker := fmt.Sprintf("worker-%d", i)
		wg.Go(func() {
			// Each claimer stops at its first empty Claim. The bound is a
			// safety net against a store that hands out jobs forever.
			for range jobCount + 1 {
				job, err := s.Claim(context.Background(), worker, base, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if job == nil {
					return
				}
				mu.Lock()
				claimed[job.ID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Claim: %v", err)
	}

	if len(claimed) != jobCount {
		t.Errorf("got %d distinct jobs claimed, want %d", len(claimed), jobCount)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("job %s was claimed %d times, want once", id, n)
		}
	}
	checkCounts(t, s, "after concurrent claims", 0, jobCount)
}

// dueFixture creates jobs around now in every combination that DueDeliveries
// must distinguish, and returns the IDs of the due ones, earliest first.
func dueFixture(t *testing.T, s jobs.Store, now time.Time) []string {
	t.Helper()

	pending := func(next time.Time) func(*jobs.Job) {
		return func(j *jobs.Job) {
			j.Callback = &jobs.Callback{URL: "https://example.test/hook", State: jobs.DeliveryPending, NextAttempt: next}
		}
	}
	withState := func(state jobs.DeliveryState) func(*jobs.Job) {
		return func(j *jobs.Job) {
			j.Callback = &jobs.Callback{URL: "https://example.test/hook", State: state, NextAttempt: now.Add(-time.Minute)}
		}
	}
	type fixture struct {
		state  jobs.State
		change func(*jobs.Job)
		due    bool
	}
	// Listed so that the due jobs are neither created nor stored in NextAttempt order.
	fixtures := []fixture{
		{jobs.StateFailed, pending(now.Add(-time.Minute)), true},
		{jobs.StateSucceeded, pending(now.Add(time.Minute)), false}, // not due yet
		{jobs.StateCanceled, pending(now), true},                    // due exactly now
		{jobs.StateSucceeded, withState(jobs.DeliveryDelivered), false},
		{jobs.StateFailed, withState(jobs.DeliveryDead), false},
		{jobs.StateRunning, pending(now.Add(-time.Hour)), false}, // not finished
		{jobs.StateQueued, pending(now.Add(-time.Hour)), false},  // not finished
		{jobs.StateSucceeded, nil, false},                        // no callback
		{jobs.StateSucceeded, pending(now.Add(-2 * time.Minute)), true},
	}

	var due []string
	byTime := map[string]time.Time{}
	for _, f := range fixtures {
		job := create(t, s, newJob("", ""))
		update(t, s, job.ID, func(j *jobs.Job) {
			j.State = f.state
			if f.state.Finished() {
				j.FinishedAt = now.Add(-time.Hour)
			}
			if f.change != nil {
				f.change(j)
			}
		})
		if f.due {
			due = append(due, job.ID)
			byTime[job.ID] = get(t, s, job.ID).Callback.NextAttempt
		}
	}

	// Sort the three due IDs by NextAttempt.
	for i := range due {
		for k := i + 1; k < len(due); k++ {
			if byTime[due[k]].Before(byTime[due[i]]) {
				due[i], due[k] = due[k], due[i]
			}
		}
	}
	return due
}

func testDueDeliveriesOnlyDue(t *testing.T, s jobs.Store) {
	want := dueFixture(t, s, base)

	got, err := s.DueDeliveries(t.Context(), base, 0)
	if err != nil {
		t.Fatalf("DueDeliveries: %v", err)
	}
	if ids := idsOf(got); !equal(ids, want) {
		t.Fatalf("DueDeliveries(limit 0): got jobs %v, want %v (due callbacks of finished jobs, earliest NextAttempt first)", ids, want)
	}

	got[0].Callback.State = jobs.DeliveryDelivered
	if stored := get(t, s, got[0].ID); stored.Callback.State != jobs.DeliveryPending {
		t.Errorf("got delivery state %q after changing DueDeliveries' job, want %q", stored.Callback.State, jobs.DeliveryPending)
	}
}

func testDueDeliveriesLimit(t *testing.T, s jobs.Store) {
	want := dueFixture(t, s, base)

	got, err := s.DueDeliveries(t.Context(), base, 2)
	if err != nil {
		t.Fatalf("DueDeliveries: %v", err)
	}
	if ids := idsOf(got); !equal(ids, want[:2]) {
		t.Errorf("DueDeliveries(limit 2): got jobs %v, want %v, the two earliest", ids, want[:2])
	}

	none, err := s.DueDeliveries(t.Context(), base.Add(-3*time.Minute), 10)
	if err != nil {
		t.Fatalf("DueDeliveries: %v", err)
	}
	if len(none) != 0 {
		t.Errorf("DueDeliveries before every NextAttempt: got jobs %v, want none", idsOf(none))
	}
}

func testDeleteExpired(t *testing.T, s jobs.Store) {
	expired := base.Add(-time.Second)
	type fixture struct {
		state   jobs.State
		expires time.Time
		deleted bool
	}
	fixtures := []fixture{
		{jobs.StateSucceeded, expired, true},
		{jobs.StateFailed, expired, true},
		{jobs.StateCanceled, expired, true},
		{jobs.StateSucceeded, base.Add(time.Hour), false}, // retained
		{jobs.StateSucceeded, time.Time{}, false},         // no expiry
		{jobs.StateRunning, expired, false},               // not finished
		{jobs.StateQueued, expired, false},                // not finished
	}

	ids := make([]string, len(fixtures))
	for i, f := range fixtures {
		job := create(t, s, newJob("", ""))
		ids[i] = job.ID
		update(t, s, job.ID, func(j *jobs.Job) {
			j.State = f.state
			j.ExpiresAt = f.expires
		})
	}
	checkCounts(t, s, "before DeleteExpired", 1, 1)

	n, err := s.DeleteExpired(t.Context(), base)
	if err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	if n != 3 {
		t.Errorf("DeleteExpired: got %d deleted, want 3", n)
	}
	for i, f := range fixtures {
		_, err := s.Get(t.Context(), ids[i])
		switch {
		case f.deleted && !errors.Is(err, jobs.ErrNotFound):
			t.Errorf("Get of expired %s job: got error %v, want ErrNotFound", f.state, err)
		case !f.deleted && err != nil:
			t.Errorf("Get of %s job expiring at %v: got error %v, want the job", f.state, f.expires, err)
		}
	}
	checkCounts(t, s, "after DeleteExpired", 1, 1)

	if n, err := s.DeleteExpired(t.Context(), base); err != nil || n != 0 {
		t.Errorf("second DeleteExpired: got %d, %v; want 0, nil", n, err)
	}
}

func testDeleteExpiredFreesKey(t *testing.T, s jobs.Store) {
	old := create(t, s, newJob("alice", "key-1"))
	other := create(t, s, newJob("bob", "key-1"))
	finish(t, s, old.ID, jobs.StateSucceeded, func(j *jobs.Job) { j.ExpiresAt = base.Add(-time.Second) })

	if n, err := s.DeleteExpired(t.Context(), base); err != nil || n != 1 {
		t.Fatalf("DeleteExpired: got %d, %v; want 1, nil", n, err)
	}

	fresh, created, err := s.Create(t.Context(), newJob("alice", "key-1"))
	if err != nil {
		t.Fatalf("Create with the deleted job's key: %v", err)
	}
	if !created || fresh.ID == old.ID {
		t.Errorf("Create with the deleted job's key: got job %s, created %v; want a new job", fresh.ID, created)
	}

	replay, created, err := s.Create(t.Context(), newJob("bob", "key-1"))
	if err != nil {
		t.Fatalf("Create with bob's key: %v", err)
	}
	if created || replay.ID != other.ID {
		t.Errorf("Create with bob's kept key: got job %s, created %v; want %s, false", replay.ID, created, other.ID)
	}
}

func testCounts(t *testing.T, s jobs.Store) {
	checkCounts(t, s, "empty store", 0, 0)

	a := create(t, s, newJob("alice", "key-a"))
	b := create(t, s, newJob("", ""))
	c := create(t, s, newJob("", ""))
	checkCounts(t, s, "after three Creates", 3, 0)

	if _, _, err := s.Create(t.Context(), newJob("alice", "key-a")); err != nil {
		t.Fatalf("replayed Create: %v", err)
	}
	checkCounts(t, s, "after a replayed Create", 3, 0)

	running := claim(t, s, "worker-a", base, time.Minute)
	if running == nil || running.ID != a.ID {
		t.Fatalf("Claim: got %v, want job %s", running, a.ID)
	}
	checkCounts(t, s, "after Claim", 2, 1)

	finish(t, s, b.ID, jobs.StateCanceled, nil)
	checkCounts(t, s, "after canceling a queued job", 1, 1)

	update(t, s, a.ID, func(j *jobs.Job) { j.Progress.Done = 1 })
	checkCounts(t, s, "after a progress Update", 1, 1)

	// While a's lease lasts, the only job to claim is the queued one.
	claimedC := claim(t, s, "worker-b", base.Add(30*time.Second), time.Minute)
	if claimedC == nil || claimedC.ID != c.ID {
		t.Fatalf("Claim during a's lease: got %v, want the queued job %s", claimedC, c.ID)
	}
	checkCounts(t, s, "after the second Claim", 0, 2)

	takenOver := claim(t, s, "worker-c", base.Add(2*time.Hour), time.Minute)
	if takenOver == nil {
		t.Fatal("Claim after both leases ended: got nil, want a takeover")
	}
	checkCounts(t, s, "after a takeover", 0, 2)

	update(t, s, a.ID, func(j *jobs.Job) {
		j.State = jobs.StateQueued
		j.LeaseOwner = ""
	})
	checkCounts(t, s, "after re-queueing a running job", 1, 1)

	finish(t, s, c.ID, jobs.StateSucceeded, func(j *jobs.Job) { j.ExpiresAt = base })
	checkCounts(t, s, "after a job succeeded", 1, 0)

	if _, err := s.DeleteExpired(t.Context(), base.Add(time.Hour)); err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	checkCounts(t, s, "after DeleteExpired", 1, 0)
}

func idsOf(list []*jobs.Job) []string {
	ids := make([]string, len(list))
	for i, job := range list {
		ids[i] = job.ID
	}
	return ids
}

func keys(m map[string]*jobs.Job) []string {
	out := make([]string, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

// batchesOf returns a FanOutConfig that splits a slice into batches of size n
// and concatenates the results.
func batchesOf(n, limit int) FanOutConfig[[]int, []int] {
	return FanOutConfig[[]int, []int]{
		Split: func(ids []int) [][]int { return slices.Collect(slices.Chunk(ids, n)) },
		Merge: func(parts [][]int) []int { return slices.Concat(parts...) },
		Limit: limit,
	}
}

// times10 returns each ID multiplied by 10.
func times10(ids []int) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = id * 10
	}
	return out
}

func TestFanOutKeepsOrder(t *testing.T) {
	t.Parallel()

	inner := &fakeClient[[]int, []int]{do: func(ctx context.Context, ids []int, _ CallOptions) ([]int, error) {
		// Parts finish in random order.
		time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
		return times10(ids), nil
	}}
	c := FanOut[[]int, []int](inner, batchesOf(2, 3))
	ids := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}

	got, err := c.Do(t.Context(), ids)

	if err != nil {
		t.Fatalf("Do = %v, want nil", err)
	}
	if want := times10(ids); !slices.Equal(got, want) {
		t.Errorf("result = %v, want %v", got, want)
	}
	if got := inner.calls.Load(); got != 6 {
		t.Errorf("inner calls = %d, want 6 batches", got)
	}
}

func TestFanOutLimit(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct{ limit, want int }{{3, 3}, {0, 4}, {-2, 4}} {
		t.Run(fmt.Sprint(tt.limit), func(t *testing.T) {
			t.Parallel()

			var active, maxActive atomic.Int64
			gate := make(chan struct{})
			inner := &fakeClient[[]int, []int]{do: func(ctx context.Context, ids []int, _ CallOptions) ([]int, error) {
				n := active.Add(1)
				defer active.Add(-1)
				for {
					m := maxActive.Load()
					if n <= m || maxActive.CompareAndSwap(m, n) {
						break
					}
				}
				select {
				case <-gate:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				return times10(ids), nil
			}}
			c := FanOut[[]int, []int](inner, batchesOf(1, tt.limit))

			done := make(chan error, 1)
			go func() {
				_, err := c.Do(t.Context(), []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
				done <- err
			}()
			deadline := time.Now().Add(5 * time.Second)
			for active.Load() < int64(tt.want) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond) // time for a call over the limit to start
			close(gate)

			if err := <-done; err != nil {
				t.Fatalf("Do = %v, want nil", err)
			}
			if got := maxActive.Load(); got != int64(tt.want) {
				t.Errorf("max concurrent calls = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFanOutFirstErrorWins(t *testing.T) {
	t.Parallel()

	jobErr := &JobError{JobID: "j3", Problem: *NewProblem(422, CodeJobFailed, "product 3 is unknown")}
	var started, cancelled atomic.Int64
	inner := &fakeClient[[]int, []int]{do: func(ctx context.Context, ids []int, _ CallOptions) ([]int, error) {
		if ids[0] == 3 {
			return nil, jobErr
		}
		started.Add(1)
		<-ctx.Done() // the siblings would run forever unless cancelled
		cancelled.Add(1)
		return nil, fmt.Errorf("poll: %w", ctx.Err())
	}}
	c := FanOut[[]int, []int](inner, batchesOf(1, 10))

	res, err := c.Do(t.Context(), []int{1, 2, 3, 4, 5, 6})

	if err != jobErr {
		t.Errorf("Do = %v, want the failing part's *JobError", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("Do = %v, want no match with the siblings' context.Canceled", err)
	}
	if res != nil {
		t.Errorf("result = %v with an error, want nil", res)
	}
	if s, c := started.Load(), cancelled.Load(); s != c {
		t.Errorf("siblings cancelled = %d of %d started, want all", c, s)
	}
}

func TestFanOutStopsStartingParts(t *testing.T) {
	t.Parallel()

	inner := &fakeClient[[]int, []int]{do: func(ctx context.Context, ids []int, _ CallOptions) ([]int, error) {
		return nil, &UnavailableError{Op: "submit", URL: "http://127.0.0.1:1", Attempts: 1, Err: io.EOF}
	}}
	c := FanOut[[]int, []int](inner, batchesOf(1, 1))

	_, err := c.Do(t.Context(), []int{1, 2, 3, 4, 5, 6, 7, 8})

	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Do = %v, want ErrUnavailable", err)
	}
	// With one call at a time, errgroup cancels the context before it frees the
	// slot that the second part waits for, so no later part reaches the client.
	if got := inner.calls.Load(); got != 1 {
		t.Errorf("inner calls = %d, want 1: no part starts after the first failed", got)
	}
}

func TestFanOutSiblingCancelNotCounted(t *testing.T) {
	t.Parallel()

	// One network failure, and three siblings that end cancelled. With a
	// threshold of 2, counting any sibling would open the breaker. Sibling 4
	// reports its cancellation as the broken connection that the cancellation
	// caused, which looks like a network failure by itself.
	inner := &fakeClient[[]int, []int]{do: func(ctx context.Context, ids []int, _ CallOptions) ([]int, error) {
		switch ids[0] {
		case 1:
			time.Sleep(5 * time.Millisecond) // let the siblings start first
			return nil, &UnavailableError{Op: "poll", URL: "http://127.0.0.1:1", Attempts: 1, Err: io.EOF}
		case 4:
			<-ctx.Done()
			return nil, fmt.Errorf("read result: %w", io.ErrUnexpectedEOF)
		}
		<-ctx.Done()
		return nil, fmt.Errorf("poll: %w", ctx.Err())
	}}
	var mu sync.Mutex
	var changes []string
	guarded := WithBreaker[[]int, []int](inner, BreakerSettings{
		ConsecutiveFailures: 2,
		OpenTimeout:         time.Hour,
		OnStateChange: func(name string, from, to gobreaker.State) {
			mu.Lock()
			defer mu.Unlock()
			changes = append(changes, fmt.Sprintf("%s->%s", from, to))
		},
	})
	c := FanOut(guarded, batchesOf(1, 4))

	_, err := c.Do(t.Context(), []int{1, 2, 3, 4})

	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Do = %v, want the failing part's ErrUnavailable", err)
	}
	if got := inner.calls.Load(); got != 4 {
		t.Fatalf("inner calls = %d, want 4 parts started", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(changes) != 0 {
		t.Errorf("breaker state changes = %q, want none: sibling cancellations are no failures", changes)
	}
}

func TestFanOutSiblingCancelNotCountedByPipeline(t *testing.T) {
	t.Parallel()

	// The same through a Pipeline, whose breaker guards each network step.
	pipeline := NewPipeline(PipelineConfig{
		Retry:   RetryPolicy{MaxAttempts: 1},
		Breaker: &BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: time.Hour},
	})
	inner := &fakeClient[[]int, []int]{do: func(ctx context.Context, ids []int, _ CallOptions) ([]int, error) {
		err := pipeline.Do(ctx, "poll", "memory://service", func(ctx context.Context) error {
			if ids[0] == 1 {
				time.Sleep(5 * time.Millisecond)
				return io.ErrUnexpectedEOF
			}
			<-ctx.Done()
			return ctx.Err()
		})
		return ids, err
	}}
	c := FanOut(Client[[]int, []int](inner), batchesOf(1, 4))

	_, err := c.Do(t.Context(), []int{1, 2, 3, 4})

	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Do = %v, want the failing part's ErrUnavailable", err)
	}
	if got := pipeline.BreakerState("memory://service"); got != gobreaker.StateClosed {
		t.Errorf("BreakerState = %v, want closed: sibling cancellations are no failures", got)
	}
}

func TestFanOutCallerCancel(t *testing.T) {
	t.Parallel()

	inner := &fakeClient[[]int, []int]{do: func(ctx context.Context, ids []int, _ CallOptions) ([]int, error) {
		<-ctx.Done()
		return nil, fmt.Errorf("poll: %w", ctx.Err())
	}}
	c := FanOut[[]int, []int](inner, batchesOf(1, 2))
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(10*time.Millisecond, cancel)

	_, err := c.Do(ctx, []int{1, 2, 3, 4, 5})

	if !errors.Is(err, context.Canceled) {
		t.Errorf("Do = %v, want context.Canceled", err)
	}
}

func TestFanOutCallerCancelAfterPartsSucceed(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	inner := &fakeClient[[]int, []int]{do: func(ctx context.Context, ids []int, _ CallOptions) ([]int, error) {
		if ids[0] == 1 {
			cancel() // the caller gives up while the first part succeeds
		}
		return times10(ids), nil
	}}
	c := FanOut[[]int, []int](inner, batchesOf(1, 1))

	res, err := c.Do(ctx, []int{1, 2, 3})

	if !errors.Is(err, context.Canceled) {
		t.Errorf("Do = (%v, %v), want context.Canceled, never a partial result", res, err)
	}
}

func TestFanOutProgress(t *testing.T) {
	t.Parallel()

	inner := &fakeClient[[]int, []int]{do: func(ctx context.Context, ids []int, opts CallOptions) ([]int, error) {
		for done := 0; done <= len(ids); done++ {
			opts.OnProgress(Progress{Done: done, Total: len(ids)})
		}
		return times10(ids), nil
	}}
	var mu sync.Mutex
	var reports []Progress
	c := FanOut[[]int, []int](inner, batchesOf(3, 4))

	_, err := c.Do(t.Context(), []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, WithProgress(func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, p)
	}))

	if err != nil {
		t.Fatalf("Do = %v, want nil", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 14 {
		t.Errorf("progress reports = %d, want 14 (4 parts report 4, 4, 4 and 2 times)", len(reports))
	}
	if got, want := reports[len(reports)-1], (Progress{Done: 10, Total: 10}); got != want {
		t.Errorf("last progress = %+v, want %+v", got, want)
	}
	for i := 1; i < len(reports); i++ {
		if reports[i].Done < reports[i-1].Done {
			t.Errorf("progress %d: Done fell from %d to %d, want it to rise", i, reports[i-1].Done, reports[i].Done)
		}
		if reports[i].Done > reports[i].Total {
			t.Errorf("progress %d: %+v, want Done at most Total", i, reports[i])
		}
	}
}

func TestFanOutIdempotencyKeys(t *testing.T) {
	t.Parallel()

	var mu sync.Mutex
	keys := map[int]string{}
	inner := &fakeClient[[]int, []int]{do: func(ctx context.Context, ids []int, opts CallOptions) ([]int, error) {
		mu.Lock()
		defer mu.Unlock()
		keys[ids[0]] = opts.IdempotencyKey
		return ids, nil
	}}
	c := FanOut[[]int, []int](inner, batchesOf(2, 4))

	if _, err := c.Do(t.Context(), []int{1, 2, 3, 4, 5}, WithIdempotencyKey("order-7")); err != nil {
		t.Fatalf("Do = %v, want nil", err)
	}
	mu.Lock()
	want := map[int]string{1: "order-7/0", 3: "order-7/1", 5: "order-7/2"}
	if fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("keys by first ID = %v, want %v", keys, want)
	}
	clear(keys)
	mu.Unlock()

	if _, err := c.Do(t.Context(), []int{1, 2, 3}); err != nil {
		t.Fatalf("Do without a key = %v, want nil", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := map[int]string{1: "", 3: ""}; fmt.Sprint(keys) != fmt.Sprint(want) {
		t.Errorf("keys without a caller's key = %v, want %v: each part's client picks its own", keys, want)
	}
}

func TestFanOutPassesOptions(t *testing.T) {
	t.Parallel()

	var accepted atomic.Int64
	var inFlight, overlaps atomic.Int64
	inner := &fakeClient[[]int, []int]{do: func(ctx context.Context, ids []int, opts CallOptions) ([]int, error) {
		if opts.Strategy != StrategyPolling || opts.PollInterval != time.Second {
			return nil, fmt.Errorf("options = %+v, want strategy polling and poll interval 1s", opts)
		}
		opts.OnAccepted(fmt.Sprint("job-", ids[0]))
		return ids, nil
	}}
	c := FanOut[[]int, []int](inner, batchesOf(1, 4))

	_, err := c.Do(t.Context(), []int{1, 2, 3, 4, 5, 6},
		WithStrategy(StrategyPolling),
		WithPollInterval(time.Second),
		WithOnAccepted(func(string) {
			if inFlight.Add(1) > 1 {
				overlaps.Add(1)
			}
			time.Sleep(time.Millisecond)
			inFlight.Add(-1)
			accepted.Add(1)
		}))

	if err != nil {
		t.Fatalf("Do = %v, want nil", err)
	}
	if got := accepted.Load(); got != 6 {
		t.Errorf("OnAccepted calls = %d, want 6, one per part", got)
	}
	if got := overlaps.Load(); got != 0 {
		t.Errorf("overlapping OnAccepted calls = %d, want 0", got)
	}
}

func TestFanOutNoParts(t *testing.T) {
	t.Parallel()

	var got []int
	inner := &fakeClient[[]int, []int]{do: func(ctx context.Context, ids []int, opts CallOptions) ([]int, error) {
		got = ids
		return nil, &JobError{Problem: *InvalidRequest("product_ids is empty")}
	}}
	c := FanOut[[]int, []int](inner, batchesOf(2, 4))

	_, err := c.Do(t.Context(), []int{})

	var jobErr *JobError
	if !errors.As(err, &jobErr) {
		t.Errorf("Do = %v, want the service's *JobError for the unsplit request", err)
	}
	if calls := inner.calls.Load(); calls != 1 || got == nil || len(got) != 0 {
		t.Errorf("inner calls = %d with %v, want 1 call with the empty request", calls, got)
	}
}

func TestFanOutClose(t *testing.T) {
	t.Parallel()

	inner := &fakeClient[[]int, []int]{}
	c := FanOut[[]int, []int](inner, batchesOf(2, 4))

	if err := c.Close(); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	if got := inner.closes.Load(); got != 1 {
		t.Errorf("inner Close calls = %d, want 1", got)
	}
}

func TestFanOutRequiresSplitAndMerge(t *testing.T) {
	t.Parallel()

	for _, cfg := range []FanOutConfig[int, int]{
		{Merge: func([]int) int { return 0 }},
		{Split: func(int) []int { return nil }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("FanOut(%+v) did not panic, want a panic for the missing function", cfg)
				}
			}()
			FanOut[int, int](&fakeClient[int, int]{}, cfg)
		}()
	}
}

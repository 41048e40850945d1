package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

func TestWithBreakerOpensOnNetworkFailures(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		err  error
	}{
		{"unavailable", &UnavailableError{Op: "submit", URL: "http://127.0.0.1:1", Attempts: 5, Err: io.EOF}},
		{"connection reset", fmt.Errorf("poll: %w", syscall.ECONNRESET)},
		{"marked retryable", MarkRetryable(errors.New("status 503"), time.Second)},
		{"deadline inside the call", fmt.Errorf("simple: %w", context.DeadlineExceeded)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			inner := &fakeClient[int, int]{do: func(context.Context, int, CallOptions) (int, error) {
				return 7, tt.err
			}}
			c := WithBreaker[int, int](inner, BreakerSettings{ConsecutiveFailures: 3, OpenTimeout: time.Hour})

			for i := range 3 {
				res, err := c.Do(t.Context(), 1)
				if !errors.Is(err, tt.err) {
					t.Fatalf("call %d: Do = %v, want %v", i+1, err, tt.err)
				}
				if res != 0 {
					t.Errorf("call %d: result = %d with an error, want 0", i+1, res)
				}
			}
			res, err := c.Do(t.Context(), 1)

			if !errors.Is(err, ErrCircuitOpen) || !errors.Is(err, gobreaker.ErrOpenState) {
				t.Errorf("Do = %v, want ErrCircuitOpen and gobreaker.ErrOpenState", err)
			}
			if res != 0 {
				t.Errorf("result = %d from an open breaker, want 0", res)
			}
			if got := inner.calls.Load(); got != 3 {
				t.Errorf("inner calls = %d, want 3: the open breaker must not call the client", got)
			}
		})
	}
}

func TestWithBreakerJobErrorIsSuccess(t *testing.T) {
	t.Parallel()

	jobErr := &JobError{JobID: "j1", Problem: *NewProblem(422, CodeJobFailed, "product 9 is unknown")}
	inner := &fakeClient[int, int]{do: func(_ context.Context, req int, _ CallOptions) (int, error) {
		if req == 0 {
			return 0, jobErr
		}
		return 0, &UnavailableError{Op: "poll", URL: "http://127.0.0.1:1", Attempts: 1, Err: io.EOF}
	}}
	c := WithBreaker[int, int](inner, BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: time.Hour})

	// A job error between two failures resets the run, so the breaker stays closed.
	for i, req := range []int{1, 0, 1, 0, 0, 0} {
		_, err := c.Do(t.Context(), req)
		if IsCircuitOpen(err) {
			t.Fatalf("call %d: Do = %v, want the breaker closed", i+1, err)
		}
		if req == 0 && err != jobErr {
			t.Errorf("call %d: Do = %v, want the *JobError unchanged", i+1, err)
		}
	}
	if got := inner.calls.Load(); got != 6 {
		t.Errorf("inner calls = %d, want 6", got)
	}
}

func TestWithBreakerCallerCancelNotCounted(t *testing.T) {
	t.Parallel()

	inner := &fakeClient[int, int]{do: func(ctx context.Context, req int, _ CallOptions) (int, error) {
		if req == 1 {
			return 0, &UnavailableError{Op: "poll", URL: "http://127.0.0.1:1", Attempts: 1, Err: io.EOF}
		}
		<-ctx.Done()
		return 0, fmt.Errorf("poll: %w", ctx.Err())
	}}
	c := WithBreaker[int, int](inner, BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: time.Hour})

	if _, err := c.Do(t.Context(), 1); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("failing call: Do = %v, want ErrUnavailable", err)
	}
	for i := range 3 {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Millisecond)
		_, err := c.Do(ctx, 0)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("deadline call %d: Do = %v, want context.DeadlineExceeded", i+1, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(5*time.Millisecond, cancel)
	if _, err := c.Do(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: Do = %v, want context.Canceled", err)
	}

	// One counted failure so far: the next failure opens the breaker, no earlier.
	if _, err := c.Do(t.Context(), 1); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("second failing call: Do = %v, want ErrUnavailable", err)
	}
	if _, err := c.Do(t.Context(), 1); !IsCircuitOpen(err) {
		t.Errorf("call after two failures: Do = %v, want a breaker rejection", err)
	}
}

func TestWithBreakerHalfOpenLimit(t *testing.T) {
	t.Parallel()

	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	inner := &fakeClient[int, int]{do: func(ctx context.Context, req int, _ CallOptions) (int, error) {
		if req == 1 {
			return 0, MarkRetryable(errors.New("status 503"), 0)
		}
		entered <- struct{}{}
		<-release
		return 42, nil
	}}
	c := WithBreaker[int, int](inner, BreakerSettings{ConsecutiveFailures: 1, OpenTimeout: 10 * time.Millisecond, HalfOpenRequests: 1})

	if _, err := c.Do(t.Context(), 1); err == nil {
		t.Fatal("failing call: Do = nil, want an error")
	}
	time.Sleep(20 * time.Millisecond) // past OpenTimeout: the breaker is half-open

	done := make(chan error, 1)
	go func() {
		res, err := c.Do(t.Context(), 0)
		if err == nil && res != 42 {
			err = fmt.Errorf("result = %d, want 42", res)
		}
		done <- err
	}()
	<-entered // the trial call is in flight

	_, err := c.Do(t.Context(), 0)
	if !errors.Is(err, ErrCircuitOpen) || !errors.Is(err, gobreaker.ErrTooManyRequests) {
		t.Errorf("second call while half-open: Do = %v, want ErrCircuitOpen and gobreaker.ErrTooManyRequests", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("trial call: %v", err)
	}
	if res, err := c.Do(t.Context(), 0); err != nil || res != 42 {
		t.Errorf("call after a successful trial = (%d, %v), want (42, nil)", res, err)
	}
}

func TestWithBreakerNameAndStateChanges(t *testing.T) {
	t.Parallel()

	var mu sync.Mutex
	var changes []string
	inner := &fakeClient[int, int]{do: func(context.Context, int, CallOptions) (int, error) {
		return 0, io.ErrUnexpectedEOF
	}}
	c := WithBreaker[int, int](inner, BreakerSettings{
		Name:                "polling",
		ConsecutiveFailures: 1,
		OpenTimeout:         time.Hour,
		OnStateChange: func(name string, from, to gobreaker.State) {
			mu.Lock()
			defer mu.Unlock()
			changes = append(changes, fmt.Sprintf("%s %s->%s", name, from, to))
		},
	})

	_, _ = c.Do(t.Context(), 1)
	_, err := c.Do(t.Context(), 1)

	if !IsCircuitOpen(err) {
		t.Fatalf("Do = %v, want a breaker rejection", err)
	}
	if want := `transport: circuit breaker "polling" is open after repeated failures: try again later`; err.Error() != want {
		t.Errorf("Do = %q, want %q", err, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"polling closed->open"}; fmt.Sprint(changes) != fmt.Sprint(want) {
		t.Errorf("OnStateChange calls = %q, want %q", changes, want)
	}
}

func TestWithBreakerDefaultThreshold(t *testing.T) {
	t.Parallel()

	inner := &fakeClient[int, int]{do: func(context.Context, int, CallOptions) (int, error) {
		return 0, io.ErrUnexpectedEOF
	}}
	c := WithBreaker[int, int](inner, BreakerSettings{})

	for range 10 {
		_, _ = c.Do(t.Context(), 1)
	}
	if got := inner.calls.Load(); got != 5 {
		t.Errorf("inner calls = %d, want 5: the default breaker opens after 5 failures", got)
	}
}

func TestWithBreakerDisabled(t *testing.T) {
	t.Parallel()

	inner := &fakeClient[int, int]{}
	if got := WithBreaker[int, int](inner, BreakerSettings{Disabled: true}); got != Client[int, int](inner) {
		t.Errorf("WithBreaker with Disabled = %T, want the inner client itself", got)
	}
}

func TestWithBreakerClose(t *testing.T) {
	t.Parallel()

	inner := &fakeClient[int, int]{}
	c := WithBreaker[int, int](inner, BreakerSettings{})

	if err := c.Close(); err != nil {
		t.Fatalf("Close = %v, want nil", err)
	}
	if got := inner.closes.Load(); got != 1 {
		t.Errorf("inner Close calls = %d, want 1", got)
	}
}

func TestWithBreakerClosedNotCounted(t *testing.T) {
	t.Parallel()

	inner := &fakeClient[int, int]{do: func(context.Context, int, CallOptions) (int, error) {
		return 0, fmt.Errorf("poll: %w", ErrClosed)
	}}
	c := WithBreaker[int, int](inner, BreakerSettings{ConsecutiveFailures: 1, OpenTimeout: time.Hour})

	for i := range 3 {
		if _, err := c.Do(t.Context(), 1); !errors.Is(err, ErrClosed) {
			t.Errorf("call %d: Do = %v, want ErrClosed", i+1, err)
		}
	}
	if got := inner.calls.Load(); got != 3 {
		t.Errorf("inner calls = %d, want 3: ErrClosed must not open the breaker", got)
	}
}

func TestVerdict(t *testing.T) {
	t.Parallel()

	live := t.Context()
	ended, cancel := context.WithCancel(t.Context())
	cancel()

	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want verdict
	}{
		{"job error", live, &JobError{Problem: *NewProblem(400, CodeInvalidRequest, "bad")}, verdictSuccess},
		{"plain error", live, errors.New("decode: bad JSON"), verdictSuccess},
		{"unavailable", live, &UnavailableError{Err: io.EOF}, verdictFailure},
		{"retryable", live, io.EOF, verdictFailure},
		{"attempt timeout", live, fmt.Errorf("%w: poll", ErrAttemptTimeout), verdictFailure},
		{"deadline inside the call", live, context.DeadlineExceeded, verdictFailure},
		{"canceled inside the call", live, context.Canceled, verdictExcluded},
		{"closed", live, ErrClosed, verdictExcluded},
		{"other breaker open", live, circuitOpen("x", gobreaker.ErrOpenState), verdictExcluded},
		{"caller ended, network error", ended, io.EOF, verdictExcluded},
		{"caller ended, canceled", ended, context.Canceled, verdictExcluded},
	}
	for _, tt := range tests {
		if got := verdictOf(tt.ctx, tt.err); got != tt.want {
			t.Errorf("verdictOf(%s) = %d, want %d", tt.name, got, tt.want)
		}
	}
}

package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

// constantSource returns a random source that always returns f.
func constantSource(f float64) func() float64 {
	return func() float64 { return f }
}

func TestBackoffCeiling(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		policy  RetryPolicy
		attempt int
		want    time.Duration // the ceiling: the jitter is drawn from [0, want)
	}{
		{"zero policy first retry", RetryPolicy{}, 0, 100 * time.Millisecond},
		{"zero policy doubles", RetryPolicy{}, 3, 800 * time.Millisecond},
		{"zero policy capped", RetryPolicy{}, 7, 10 * time.Second},
		{"huge attempt capped", RetryPolicy{}, 200, 10 * time.Second},
		{"negative attempt", RetryPolicy{}, -3, 100 * time.Millisecond},
		{"custom base", RetryPolicy{BaseDelay: time.Second, MaxDelay: time.Minute}, 2, 4 * time.Second},
		{"custom cap", RetryPolicy{BaseDelay: time.Second, MaxDelay: 5 * time.Second}, 3, 5 * time.Second},
		{"cap below base", RetryPolicy{BaseDelay: time.Second, MaxDelay: 300 * time.Millisecond}, 0, 300 * time.Millisecond},
		{"no overflow", RetryPolicy{BaseDelay: time.Hour, MaxDelay: 1 << 62}, 62, 1 << 62},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			if got := tt.policy.Backoff(tt.attempt, constantSource(0)); got != 0 {
				t.Errorf("Backoff(%d) with rnd=0 = %v, want 0", tt.attempt, got)
			}
			if got, want := tt.policy.Backoff(tt.attempt, constantSource(0.5)), tt.want/2; got != want {
				t.Errorf("Backoff(%d) with rnd=0.5 = %v, want %v", tt.attempt, got, want)
			}
			// A source that breaks its contract must not push the wait to the ceiling.
			if got := tt.policy.Backoff(tt.attempt, constantSource(1)); got >= tt.want {
				t.Errorf("Backoff(%d) with rnd=1 = %v, want below %v", tt.attempt, got, tt.want)
			}
			if got := tt.policy.Backoff(tt.attempt, constantSource(-1)); got != 0 {
				t.Errorf("Backoff(%d) with rnd=-1 = %v, want 0", tt.attempt, got)
			}
		})
	}
}

func TestBackoffJitterDrawnAfterCap(t *testing.T) {
	t.Parallel()

	// Base*2^3 = 8 s is over the 5 s cap. Jitter drawn after the cap gives half
	// of 5 s; jitter drawn before it would give min(4 s, 5 s) = 4 s.
	p := RetryPolicy{BaseDelay: time.Second, MaxDelay: 5 * time.Second}
	if got, want := p.Backoff(3, constantSource(0.5)), 2500*time.Millisecond; got != want {
		t.Errorf("Backoff(3) = %v, want %v", got, want)
	}
}

func TestBackoffBoundsRandom(t *testing.T) {
	t.Parallel()

	p := RetryPolicy{BaseDelay: 10 * time.Millisecond, MaxDelay: 200 * time.Millisecond}
	seeded := rand.New(rand.NewPCG(7, 11)).Float64
	for _, rnd := range []func() float64{nil, seeded} {
		for attempt := range 12 {
			ceiling := min(200*time.Millisecond, 10*time.Millisecond<<attempt)
			for range 200 {
				got := p.Backoff(attempt, rnd)
				if got < 0 || got >= ceiling {
					t.Fatalf("Backoff(%d) = %v, want in [0, %v)", attempt, got, ceiling)
				}
			}
		}
	}
}

func TestBackoffSeededDeterminism(t *testing.T) {
	t.Parallel()

	p := RetryPolicy{}
	a := rand.New(rand.NewPCG(1, 2)).Float64
	b := rand.New(rand.NewPCG(1, 2)).Float64
	distinct := make(map[time.Duration]bool)
	for attempt := range 20 {
		got, want := p.Backoff(attempt, a), p.Backoff(attempt, b)
		if got != want {
			t.Fatalf("Backoff(%d) from equal seeds = %v and %v, want equal", attempt, got, want)
		}
		distinct[got] = true
	}
	if len(distinct) < 10 {
		t.Errorf("20 seeded waits have %d distinct values, want jitter to vary them", len(distinct))
	}
}

func TestRetryPolicyDefaults(t *testing.T) {
	t.Parallel()

	tests := []struct {
		maxAttempts int
		want        int
	}{
		{0, 5},
		{1, 1},
		{-1, 1},
		{-100, 1},
		{3, 3},
	}
	for _, tt := range tests {
		got := RetryPolicy{MaxAttempts: tt.maxAttempts}.withDefaults()
		if got.MaxAttempts != tt.want {
			t.Errorf("MaxAttempts %d: got %d attempts, want %d", tt.maxAttempts, got.MaxAttempts, tt.want)
		}
	}

	got := RetryPolicy{}.withDefaults()
	want := RetryPolicy{MaxAttempts: 5, BaseDelay: 100 * time.Millisecond, MaxDelay: 10 * time.Second, MaxRetryAfter: 30 * time.Second}
	if got != want {
		t.Errorf("zero policy with defaults = %+v, want %+v", got, want)
	}
}

func TestRetryDelayRetryAfter(t *testing.T) {
	t.Parallel()

	p := RetryPolicy{BaseDelay: time.Hour, MaxDelay: time.Hour, MaxRetryAfter: time.Minute}
	tests := []struct {
		name string
		err  error
		want time.Duration
	}{
		{"honoured", MarkRetryable(io.EOF, 3*time.Second), 3 * time.Second},
		{"capped", MarkRetryable(io.EOF, time.Hour), time.Minute},
		{"wrapped", fmt.Errorf("poll: %w", MarkRetryable(io.EOF, 2*time.Second)), 2 * time.Second},
	}
	for _, tt := range tests {
		if got := p.retryDelay(0, tt.err); got != tt.want {
			t.Errorf("%s: retryDelay = %v, want %v", tt.name, got, tt.want)
		}
	}

	// Without Retry-After the backoff applies.
	if got := p.retryDelay(0, MarkRetryable(io.EOF, 0)); got >= time.Hour {
		t.Errorf("retryDelay without Retry-After = %v, want below %v", got, time.Hour)
	}
}

func TestMarkRetryable(t *testing.T) {
	t.Parallel()

	if got := MarkRetryable(nil, time.Second); got != nil {
		t.Errorf("MarkRetryable(nil) = %v, want nil", got)
	}

	base := errors.New("overloaded")
	err := MarkRetryable(base, 2*time.Second)
	if !errors.Is(err, base) {
		t.Errorf("errors.Is(%v, base) = false, want true", err)
	}
	var re *RetryableError
	if !errors.As(err, &re) {
		t.Fatalf("errors.As(%v, *RetryableError) = false, want true", err)
	}
	if re.RetryAfter != 2*time.Second {
		t.Errorf("RetryAfter = %v, want 2s", re.RetryAfter)
	}
	if got, want := err.Error(), "overloaded (retry after 2s)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}

	var negative *RetryableError
	if !errors.As(MarkRetryable(base, -time.Second), &negative) || negative.RetryAfter != 0 {
		t.Errorf("negative Retry-After kept as %v, want 0", negative.RetryAfter)
	}
}

func TestRetryable(t *testing.T) {
	t.Parallel()

	jobErr := &JobError{JobID: "j1", Problem: *NewProblem(400, CodeInvalidRequest, "bad id")}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("decode result: bad JSON"), false},
		{"marked", MarkRetryable(errors.New("status 503"), 0), true},
		{"marked and wrapped", fmt.Errorf("submit: %w", MarkRetryable(errors.New("status 429"), time.Second)), true},
		{"marked job error", MarkRetryable(jobErr, time.Second), true},
		{"job error", jobErr, false},
		{"wrapped job error", fmt.Errorf("poll: %w", jobErr), false},
		{"problem", NewProblem(500, CodeInternal, "boom"), false},
		{"closed", ErrClosed, false},
		{"wrapped closed", fmt.Errorf("poll: %w", ErrClosed), false},
		{"circuit open", circuitOpen("http://127.0.0.1:1", gobreaker.ErrOpenState), false},
		{"gobreaker open", gobreaker.ErrOpenState, false},
		{"gobreaker half-open", gobreaker.ErrTooManyRequests, false},
		{"unavailable", &UnavailableError{Op: "poll", URL: "http://x", Attempts: 5, Err: io.EOF}, false},
		{"canceled", context.Canceled, false},
		{"deadline", context.DeadlineExceeded, false},
		{"wrapped canceled", fmt.Errorf("poll: %w", context.Canceled), false},
		{"url error canceled", &url.Error{Op: "Get", URL: "http://x", Err: context.Canceled}, false},
		{"attempt timeout", fmt.Errorf("%w: poll", ErrAttemptTimeout), true},
		{"EOF", io.EOF, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"connection reset", syscall.ECONNRESET, true},
		{"connection refused", syscall.ECONNREFUSED, true},
		{"broken pipe", syscall.EPIPE, true},
		{"op error", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"op error other", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("weird")}, true},
		{"dns error", &net.DNSError{Err: "no such host", Name: "example.invalid", IsNotFound: true}, true},
		{"url error EOF", &url.Error{Op: "Post", URL: "http://x", Err: io.EOF}, true},
		{"url error dial", &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, true},
		{"url error bad scheme", &url.Error{Op: "Get", URL: "ftp://x", Err: errors.New(`unsupported protocol scheme "ftp"`)}, false},
	}
	for _, tt := range tests {
		if got := Retryable(tt.err); got != tt.want {
			t.Errorf("Retryable(%s: %v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

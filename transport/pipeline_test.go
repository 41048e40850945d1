package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

// fastRetry is a retry policy with waits of a few milliseconds, to keep the
// tests fast.
var fastRetry = RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}

// countingServer is a loopback HTTP server that counts the requests it receives
// and responds to request number n (from 1) with handle.
type countingServer struct {
	*httptest.Server
	hits atomic.Int64
}

func newCountingServer(t *testing.T, handle func(n int64, w http.ResponseWriter, r *http.Request)) *countingServer {
	t.Helper()

	s := &countingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(s.hits.Add(1), w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// hang blocks a handler until the client goes away or release is closed.
func hang(r *http.Request, release <-chan struct{}) {
	select {
	case <-r.Context().Done():
	case <-release:
	}
}

// newRelease returns a channel that is closed before the test's servers close,
// so that handlers blocked in hang return.
func newRelease(t *testing.T) chan struct{} {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return release
}

// getAttempt returns an attempt that sends GET url and classifies the response
// as a strategy would: 200 succeeds, 503 and 429 are retryable with the
// server's Retry-After in seconds, and any other status is a *JobError.
func getAttempt(client *http.Client, url string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}

		switch resp.StatusCode {
		case http.StatusOK:
			return nil
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			seconds, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			return MarkRetryable(fmt.Errorf("status %d", resp.StatusCode), time.Duration(seconds)*time.Second)
		default:
			return &JobError{Problem: *NewProblem(resp.StatusCode, CodeInvalidRequest, "status %d", resp.StatusCode)}
		}
	}
}

// attemptRecorder collects the AttemptInfo of every attempt.
type attemptRecorder struct {
	mu    sync.Mutex
	infos []AttemptInfo
}

func (r *attemptRecorder) record(info AttemptInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.infos = append(r.infos, info)
}

func (r *attemptRecorder) all() []AttemptInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]AttemptInfo(nil), r.infos...)
}

func TestPipelineRetriesUntilSuccess(t *testing.T) {
	t.Parallel()

	srv := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	var rec attemptRecorder
	p := NewPipeline(PipelineConfig{Retry: fastRetry, OnAttempt: rec.record})

	err := p.Do(t.Context(), "poll", srv.URL, getAttempt(srv.Client(), srv.URL))
	if err != nil {
		t.Fatalf("Do = %v, want nil", err)
	}
	if got := srv.hits.Load(); got != 3 {
		t.Errorf("server hits = %d, want 3", got)
	}

	infos := rec.all()
	if len(infos) != 3 {
		t.Fatalf("OnAttempt calls = %d, want 3", len(infos))
	}
	for i, info := range infos {
		if info.Attempt != i+1 || info.Op != "poll" || info.Target != srv.URL {
			t.Errorf("attempt %d: got %+v, want Attempt %d, Op poll, Target %s", i, info, i+1, srv.URL)
		}
		if wantErr := i < 2; (info.Err != nil) != wantErr {
			t.Errorf("attempt %d: Err = %v, want error: %v", i+1, info.Err, wantErr)
		}
	}
	if got := infos[2].NextDelay; got != 0 {
		t.Errorf("last attempt NextDelay = %v, want 0", got)
	}
}

func TestPipelineGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()

	srv := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	p := NewPipeline(PipelineConfig{Retry: fastRetry})

	err := p.Do(t.Context(), "submit", srv.URL, getAttempt(srv.Client(), srv.URL))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Do = %v, want ErrUnavailable", err)
	}
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("Do = %T, want *UnavailableError", err)
	}
	if ue.Op != "submit" || ue.URL != srv.URL || ue.Attempts != 4 {
		t.Errorf("UnavailableError = %+v, want Op submit, URL %s, Attempts 4", ue, srv.URL)
	}
	if got := ue.Err.Error(); got != "status 503" {
		t.Errorf("last error = %q, want %q", got, "status 503")
	}
	if got := srv.hits.Load(); got != 4 {
		t.Errorf("server hits = %d, want 4", got)
	}
}

func TestPipelineNoRetryPolicy(t *testing.T) {
	t.Parallel()

	for _, maxAttempts := range []int{1, -1} {
		srv := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		})
		p := NewPipeline(PipelineConfig{Retry: RetryPolicy{MaxAttempts: maxAttempts}})

		err := p.Do(t.Context(), "poll", srv.URL, getAttempt(srv.Client(), srv.URL))
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("MaxAttempts %d: Do = %v, want ErrUnavailable", maxAttempts, err)
		}
		if got := srv.hits.Load(); got != 1 {
			t.Errorf("MaxAttempts %d: server hits = %d, want 1", maxAttempts, got)
		}
	}
}

func TestPipelineRetryAfterCapped(t *testing.T) {
	t.Parallel()

	srv := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	var rec attemptRecorder
	// A backoff of up to an hour shows that the wait comes from Retry-After.
	p := NewPipeline(PipelineConfig{
		Retry:     RetryPolicy{MaxAttempts: 3, BaseDelay: time.Hour, MaxDelay: time.Hour, MaxRetryAfter: 20 * time.Millisecond},
		OnAttempt: rec.record,
	})

	start := time.Now()
	err := p.Do(t.Context(), "submit", srv.URL, getAttempt(srv.Client(), srv.URL))
	elapsed := time.Since(start)

	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Do = %v, want ErrUnavailable", err)
	}
	infos := rec.all()
	if len(infos) != 3 {
		t.Fatalf("OnAttempt calls = %d, want 3", len(infos))
	}
	for i, want := range []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 0} {
		if got := infos[i].NextDelay; got != want {
			t.Errorf("attempt %d: NextDelay = %v, want %v", i+1, got, want)
		}
	}
	if elapsed < 40*time.Millisecond || elapsed > 900*time.Millisecond {
		t.Errorf("Do took %v, want between 40ms and the 1s that Retry-After asked for", elapsed)
	}
}

func TestPipelineRetryAfterHonoured(t *testing.T) {
	t.Parallel()

	var calls int
	attempt := func(ctx context.Context) error {
		calls++
		if calls == 1 {
			return MarkRetryable(errors.New("status 503"), 15*time.Millisecond)
		}
		return nil
	}
	var rec attemptRecorder
	p := NewPipeline(PipelineConfig{
		Retry:     RetryPolicy{BaseDelay: time.Hour, MaxDelay: time.Hour},
		OnAttempt: rec.record,
	})

	start := time.Now()
	if err := p.Do(t.Context(), "submit", "memory://service", attempt); err != nil {
		t.Fatalf("Do = %v, want nil", err)
	}
	if got := rec.all()[0].NextDelay; got != 15*time.Millisecond {
		t.Errorf("NextDelay = %v, want 15ms from Retry-After", got)
	}
	if elapsed := time.Since(start); elapsed < 15*time.Millisecond {
		t.Errorf("Do took %v, want at least the 15ms Retry-After", elapsed)
	}
}

func TestPipelineBreakerOpens(t *testing.T) {
	t.Parallel()

	srv := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	var changes []string
	var mu sync.Mutex
	p := NewPipeline(PipelineConfig{
		Retry: RetryPolicy{MaxAttempts: 1},
		Breaker: &BreakerSettings{
			ConsecutiveFailures: 3,
			OpenTimeout:         time.Hour,
			OnStateChange: func(target string, from, to gobreaker.State) {
				mu.Lock()
				defer mu.Unlock()
				changes = append(changes, fmt.Sprintf("%s %s->%s", target, from, to))
			},
		},
	})
	attempt := getAttempt(srv.Client(), srv.URL)

	for i := range 3 {
		if err := p.Do(t.Context(), "poll", srv.URL, attempt); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("call %d: Do = %v, want ErrUnavailable", i+1, err)
		}
	}
	err := p.Do(t.Context(), "poll", srv.URL, attempt)

	if !errors.Is(err, ErrCircuitOpen) {
		t.Errorf("Do = %v, want ErrCircuitOpen", err)
	}
	if !errors.Is(err, gobreaker.ErrOpenState) {
		t.Errorf("Do = %v, want gobreaker.ErrOpenState", err)
	}
	if errors.Is(err, ErrUnavailable) {
		t.Errorf("Do = %v, want no match with ErrUnavailable", err)
	}
	if got := srv.hits.Load(); got != 3 {
		t.Errorf("server hits = %d, want 3: the open breaker must not call the server", got)
	}
	if got := p.BreakerState(srv.URL); got != gobreaker.StateOpen {
		t.Errorf("BreakerState = %v, want open", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{srv.URL + " closed->open"}; fmt.Sprint(changes) != fmt.Sprint(want) {
		t.Errorf("OnStateChange calls = %q, want %q", changes, want)
	}
}

func TestPipelineBreakerStopsRetries(t *testing.T) {
	t.Parallel()

	srv := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	var rec attemptRecorder
	p := NewPipeline(PipelineConfig{
		Retry:     RetryPolicy{MaxAttempts: 10, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond},
		Breaker:   &BreakerSettings{ConsecutiveFailures: 3, OpenTimeout: time.Hour},
		OnAttempt: rec.record,
	})

	err := p.Do(t.Context(), "poll", srv.URL, getAttempt(srv.Client(), srv.URL))

	if !IsCircuitOpen(err) {
		t.Fatalf("Do = %v, want a breaker rejection", err)
	}
	if got := srv.hits.Load(); got != 3 {
		t.Errorf("server hits = %d, want 3", got)
	}
	infos := rec.all()
	if len(infos) != 4 {
		t.Fatalf("OnAttempt calls = %d, want 3 failures and 1 rejection", len(infos))
	}
	if last := infos[3]; !errors.Is(last.Err, ErrCircuitOpen) || last.NextDelay != 0 {
		t.Errorf("rejected attempt = %+v, want ErrCircuitOpen and no next delay", last)
	}
}

func TestPipelineBreakerPerTarget(t *testing.T) {
	t.Parallel()

	down := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	up := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	p := NewPipeline(PipelineConfig{
		Retry:   RetryPolicy{MaxAttempts: 1},
		Breaker: &BreakerSettings{ConsecutiveFailures: 1, OpenTimeout: time.Hour},
	})

	if err := p.Do(t.Context(), "poll", down.URL, getAttempt(down.Client(), down.URL)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Do on the failing target = %v, want ErrUnavailable", err)
	}
	if err := p.Do(t.Context(), "poll", up.URL, getAttempt(up.Client(), up.URL)); err != nil {
		t.Errorf("Do on another target = %v, want nil: breakers are per target", err)
	}
	if got := p.BreakerState(down.URL); got != gobreaker.StateOpen {
		t.Errorf("failing target's breaker = %v, want open", got)
	}
	if got := p.BreakerState(up.URL); got != gobreaker.StateClosed {
		t.Errorf("healthy target's breaker = %v, want closed", got)
	}
}

func TestPipelineBreakerRecovers(t *testing.T) {
	t.Parallel()

	var healthy atomic.Bool
	srv := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if healthy.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	p := NewPipeline(PipelineConfig{
		Retry:   RetryPolicy{MaxAttempts: 1},
		Breaker: &BreakerSettings{ConsecutiveFailures: 1, OpenTimeout: 20 * time.Millisecond},
	})
	attempt := getAttempt(srv.Client(), srv.URL)

	if err := p.Do(t.Context(), "poll", srv.URL, attempt); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("first Do = %v, want ErrUnavailable", err)
	}
	if err := p.Do(t.Context(), "poll", srv.URL, attempt); !IsCircuitOpen(err) {
		t.Fatalf("second Do = %v, want a breaker rejection", err)
	}
	healthy.Store(true)
	time.Sleep(30 * time.Millisecond) // past OpenTimeout: the breaker is half-open

	if err := p.Do(t.Context(), "poll", srv.URL, attempt); err != nil {
		t.Fatalf("trial Do = %v, want nil", err)
	}
	if got := p.BreakerState(srv.URL); got != gobreaker.StateClosed {
		t.Errorf("BreakerState after a successful trial = %v, want closed", got)
	}
}

func TestPipelineDisabledBreaker(t *testing.T) {
	t.Parallel()

	srv := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	p := NewPipeline(PipelineConfig{
		Retry:   RetryPolicy{MaxAttempts: 1},
		Breaker: &BreakerSettings{Disabled: true, ConsecutiveFailures: 1},
	})

	for i := range 5 {
		if err := p.Do(t.Context(), "poll", srv.URL, getAttempt(srv.Client(), srv.URL)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("call %d: Do = %v, want ErrUnavailable and no breaker", i+1, err)
		}
	}
	if got := srv.hits.Load(); got != 5 {
		t.Errorf("server hits = %d, want 5", got)
	}
}

func TestPipelineJobErrorNotRetried(t *testing.T) {
	t.Parallel()

	srv := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
	})
	var rec attemptRecorder
	p := NewPipeline(PipelineConfig{
		Retry:     fastRetry,
		Breaker:   &BreakerSettings{ConsecutiveFailures: 1, OpenTimeout: time.Hour},
		OnAttempt: rec.record,
	})

	for i := range 3 {
		err := p.Do(t.Context(), "submit", srv.URL, getAttempt(srv.Client(), srv.URL))
		var jobErr *JobError
		if !errors.As(err, &jobErr) {
			t.Fatalf("call %d: Do = %v, want *JobError", i+1, err)
		}
		if errors.Is(err, ErrUnavailable) || IsCircuitOpen(err) {
			t.Errorf("call %d: Do = %v, want the *JobError unchanged", i+1, err)
		}
	}
	if got := srv.hits.Load(); got != 3 {
		t.Errorf("server hits = %d, want 3: one per call, never retried", got)
	}
	if got := len(rec.all()); got != 3 {
		t.Errorf("OnAttempt calls = %d, want 3", got)
	}
	if got := p.BreakerState(srv.URL); got != gobreaker.StateClosed {
		t.Errorf("BreakerState = %v, want closed: a *JobError is a response", got)
	}
}

func TestPipelineJobErrorResetsFailures(t *testing.T) {
	t.Parallel()

	srv := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/bad") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	p := NewPipeline(PipelineConfig{
		Retry:   RetryPolicy{MaxAttempts: 1},
		Breaker: &BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: time.Hour},
	})
	down := getAttempt(srv.Client(), srv.URL+"/down")
	bad := getAttempt(srv.Client(), srv.URL+"/bad")

	// failure, success (the service responded), failure: never two failures in a row.
	_ = p.Do(t.Context(), "poll", srv.URL, down)
	_ = p.Do(t.Context(), "poll", srv.URL, bad)
	_ = p.Do(t.Context(), "poll", srv.URL, down)

	if got := p.BreakerState(srv.URL); got != gobreaker.StateClosed {
		t.Errorf("BreakerState = %v, want closed", got)
	}
}

func TestPipelineCallerCancelNotCounted(t *testing.T) {
	t.Parallel()

	release := newRelease(t)
	srv := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			w.WriteHeader(http.StatusOK)
			return
		}
		hang(r, release)
	})
	var rec attemptRecorder
	p := NewPipeline(PipelineConfig{
		Retry:     fastRetry,
		Breaker:   &BreakerSettings{ConsecutiveFailures: 1, OpenTimeout: time.Hour},
		OnAttempt: rec.record,
	})
	slow := getAttempt(srv.Client(), srv.URL+"/slow")

	for i := range 3 {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		err := p.Do(ctx, "poll", srv.URL, slow)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("deadline call %d: Do = %v, want context.DeadlineExceeded", i+1, err)
		}
		if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrAttemptTimeout) {
			t.Errorf("deadline call %d: Do = %v, want only the caller's deadline", i+1, err)
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	err := p.Do(ctx, "poll", srv.URL, slow)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: Do = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), "poll") {
		t.Errorf("cancelled call: Do = %q, want the op named", err)
	}

	if got := p.BreakerState(srv.URL); got != gobreaker.StateClosed {
		t.Errorf("BreakerState = %v, want closed: the caller's cancellation is no failure", got)
	}
	if got := len(rec.all()); got != 4 {
		t.Errorf("OnAttempt calls = %d, want 4: one per call, never retried", got)
	}
	if err := p.Do(t.Context(), "poll", srv.URL, getAttempt(srv.Client(), srv.URL+"/ok")); err != nil {
		t.Errorf("Do after the cancellations = %v, want nil", err)
	}
}

func TestPipelineContextDoneBeforeStart(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	called := false
	p := NewPipeline(PipelineConfig{})

	err := p.Do(ctx, "submit", "memory://service", func(context.Context) error {
		called = true
		return nil
	})

	if !errors.Is(err, context.Canceled) {
		t.Errorf("Do = %v, want context.Canceled", err)
	}
	if called {
		t.Error("attempt ran, want no attempt once the context has ended")
	}
}

func TestPipelineCancelDuringWait(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p := NewPipeline(PipelineConfig{
		Retry: RetryPolicy{MaxRetryAfter: time.Hour},
		// The hook runs before the wait, so the wait starts with the context ended.
		OnAttempt: func(AttemptInfo) { cancel() },
	})

	start := time.Now()
	err := p.Do(ctx, "poll", "memory://service", func(context.Context) error {
		return MarkRetryable(errors.New("status 503"), time.Hour)
	})

	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Do = %v, want context.Canceled", err)
	}
	if Retryable(err) {
		t.Errorf("Retryable(%v) = true, want false for the caller's cancellation", err)
	}
	if !strings.Contains(err.Error(), "status 503") {
		t.Errorf("Do = %q, want the last attempt's error in the text", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Do took %v, want it to stop waiting when the context ends", elapsed)
	}
}

func TestPipelineAttemptTimeoutRetried(t *testing.T) {
	t.Parallel()

	release := newRelease(t)
	srv := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n <= 2 {
			hang(r, release)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	var rec attemptRecorder
	p := NewPipeline(PipelineConfig{
		Retry:          fastRetry,
		AttemptTimeout: 50 * time.Millisecond,
		OnAttempt:      rec.record,
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	if err := p.Do(ctx, "poll", srv.URL, getAttempt(srv.Client(), srv.URL)); err != nil {
		t.Fatalf("Do = %v, want nil after two timed-out attempts", err)
	}
	if got := srv.hits.Load(); got != 3 {
		t.Errorf("server hits = %d, want 3", got)
	}
	infos := rec.all()
	if len(infos) != 3 {
		t.Fatalf("OnAttempt calls = %d, want 3", len(infos))
	}
	for _, info := range infos[:2] {
		if !errors.Is(info.Err, ErrAttemptTimeout) {
			t.Errorf("attempt %d: Err = %v, want ErrAttemptTimeout", info.Attempt, info.Err)
		}
		if errors.Is(info.Err, context.DeadlineExceeded) {
			t.Errorf("attempt %d: Err = %v, want no match with the caller's context.DeadlineExceeded", info.Attempt, info.Err)
		}
		if info.Duration < 50*time.Millisecond {
			t.Errorf("attempt %d: Duration = %v, want at least the 50ms timeout", info.Attempt, info.Duration)
		}
	}
}

func TestPipelineAttemptTimeoutExhausted(t *testing.T) {
	t.Parallel()

	release := newRelease(t)
	srv := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		hang(r, release)
	})
	p := NewPipeline(PipelineConfig{
		Retry:          RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond},
		AttemptTimeout: 20 * time.Millisecond,
		Breaker:        &BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: time.Hour},
	})

	err := p.Do(t.Context(), "poll", srv.URL, getAttempt(srv.Client(), srv.URL))

	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrAttemptTimeout) {
		t.Errorf("Do = %v, want ErrUnavailable wrapping ErrAttemptTimeout", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Do = %v, want no match with context.DeadlineExceeded while the caller's context lives", err)
	}
	if got := p.BreakerState(srv.URL); got != gobreaker.StateOpen {
		t.Errorf("BreakerState = %v, want open: timed-out attempts are failures", got)
	}
}

func TestPipelineFailedDial(t *testing.T) {
	t.Parallel()

	// A port that was just released refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	target := "http://" + addr
	var rec attemptRecorder
	p := NewPipeline(PipelineConfig{Retry: RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond}, OnAttempt: rec.record})

	err = p.Do(t.Context(), "dial", target, getAttempt(client, target+"/ws"))

	var ue *UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("Do = %v, want *UnavailableError", err)
	}
	if ue.Attempts != 3 || ue.URL != target || ue.Op != "dial" {
		t.Errorf("UnavailableError = %+v, want Op dial, URL %s, Attempts 3", ue, target)
	}
	infos := rec.all()
	if len(infos) != 3 {
		t.Fatalf("OnAttempt calls = %d, want 3: one per failed dial", len(infos))
	}
	for _, info := range infos {
		if !errors.Is(info.Err, syscall.ECONNREFUSED) {
			t.Errorf("attempt %d: Err = %v, want connection refused", info.Attempt, info.Err)
		}
		if !Retryable(info.Err) {
			t.Errorf("attempt %d: Retryable(%v) = false, want true", info.Attempt, info.Err)
		}
	}
}

func TestPipelineConcurrentUse(t *testing.T) {
	t.Parallel()

	srv := newCountingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
		if n%3 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	var attempts atomic.Int64
	p := NewPipeline(PipelineConfig{
		Retry:     RetryPolicy{MaxAttempts: 10, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond},
		Breaker:   &BreakerSettings{ConsecutiveFailures: 1000},
		OnAttempt: func(AttemptInfo) { attempts.Add(1) },
	})

	const goroutines, calls = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*calls)
	for range goroutines {
		wg.Go(func() {
			for range calls {
				errs <- p.Do(t.Context(), "poll", srv.URL, getAttempt(srv.Client(), srv.URL))
			}
		})
	}
	wg.Wait()
	close(errs)

	for err := range errs {
		if err != nil {
			t.Errorf("Do = %v, want nil", err)
		}
	}
	if got, want := attempts.Load(), srv.hits.Load(); got != want {
		t.Errorf("OnAttempt calls = %d, want %d, one per server hit", got, want)
	}
}

package simple_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/longhaul-go/longhaul/internal/faultnet"
	"github.com/longhaul-go/longhaul/internal/testutil"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/simple"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

func TestRoundTripEngineFunc(t *testing.T) {
	t.Parallel()

	server := startServer(t, upperEngine, simple.HandlerConfig{})
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})

	got, err := client.Do(context.Background(), echoRequest{Text: "drill", N: 21})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if want := (echoResult{Text: "DRILL", N: 42}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestRoundTripLookupDemo(t *testing.T) {
	t.Parallel()

	engine := &lookup.Engine{Source: lookup.DefaultDemo()}
	server := startServer(t, engine, simple.HandlerConfig{})
	client := newClient[lookup.Request, lookup.Result](t, server.URL, simple.Config{})
	req := lookup.Request{ProductIDs: []string{"1", "2", "1000", "no-such-product", "1"}}

	got, err := client.Do(context.Background(), req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}

	want, err := engine.Run(context.Background(), req, nil)
	if err != nil {
		t.Fatalf("engine.Run: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want the engine's own result %+v", got, want)
	}
	if len(got.Items) != 5 || got.Items[3].Known {
		t.Errorf("got items %+v, want 5 with the fourth unknown", got.Items)
	}
}

func TestRoundTripLookupSakila(t *testing.T) {
	t.Parallel()

	engine := &lookup.Engine{Source: testutil.SakilaInventory(t)}
	server := startServer(t, engine, simple.HandlerConfig{})
	client := newClient[lookup.Request, lookup.Result](t, server.URL, simple.Config{})

	got, err := client.Do(context.Background(), lookup.Request{ProductIDs: []string{"1", "1001"}})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}

	// Product 1 is "Academy Dinosaur" with 4 + 3 copies in stock.csv; 1001 is
	// not in the data.
	if len(got.Items) != 2 {
		t.Fatalf("got %d items, want 2", len(got.Items))
	}
	if item := got.Items[0]; item.Name != "Academy Dinosaur" || item.Quantity != 7 || len(item.Locations) != 2 {
		t.Errorf("got item %+v, want Academy Dinosaur with quantity 7 at 2 locations", item)
	}
	if item := got.Items[1]; item.Known {
		t.Errorf("got item %+v, want product 1001 unknown", item)
	}
}

func TestEngineFailureIsJobError(t *testing.T) {
	t.Parallel()

	engine := transport.EngineFunc[echoRequest, echoResult](
		func(context.Context, echoRequest, transport.ProgressFunc) (echoResult, error) {
			return echoResult{}, errors.New("inventory database is down")
		})
	server := startServer(t, engine, simple.HandlerConfig{})
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})

	_, err := client.Do(context.Background(), echoRequest{Text: "x"})

	jobErr := requireJobError(t, err)
	if got, want := jobErr.Problem.Code, transport.CodeJobFailed; got != want {
		t.Errorf("got code %q, want %q", got, want)
	}
	if got, want := jobErr.Problem.Status, http.StatusInternalServerError; got != want {
		t.Errorf("got status %d, want %d", got, want)
	}
	if jobErr.JobID != "" {
		t.Errorf("got job ID %q, want none for a simple call", jobErr.JobID)
	}
	if !strings.Contains(jobErr.Problem.Detail, "inventory database is down") {
		t.Errorf("got detail %q, want the engine's error text", jobErr.Problem.Detail)
	}
	if errors.Is(err, transport.ErrUnavailable) {
		t.Errorf("got error %v that matches ErrUnavailable, want a job failure only", err)
	}
}

func TestEngineProblemKeepsCode(t *testing.T) {
	t.Parallel()

	engine := transport.EngineFunc[echoRequest, echoResult](
		func(context.Context, echoRequest, transport.ProgressFunc) (echoResult, error) {
			return echoResult{}, transport.NewProblem(http.StatusUnprocessableEntity, "catalogue-frozen", "the catalogue is frozen for stocktaking")
		})
	server := startServer(t, engine, simple.HandlerConfig{})
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})

	_, err := client.Do(context.Background(), echoRequest{})

	jobErr := requireJobError(t, err)
	if got, want := jobErr.Problem.Code, "catalogue-frozen"; got != want {
		t.Errorf("got code %q, want %q", got, want)
	}
	if got, want := jobErr.Problem.Status, http.StatusUnprocessableEntity; got != want {
		t.Errorf("got status %d, want %d", got, want)
	}
}

func TestInvalidRequestIsJobError(t *testing.T) {
	t.Parallel()

	server := startServer(t, &lookup.Engine{}, simple.HandlerConfig{})

	t.Run("invalid product ID", func(t *testing.T) {
		t.Parallel()
		client := newClient[lookup.Request, lookup.Result](t, server.URL, simple.Config{})

		_, err := client.Do(context.Background(), lookup.Request{ProductIDs: []string{"1", "two words"}})

		jobErr := requireJobError(t, err)
		if got, want := jobErr.Problem.Code, transport.CodeInvalidRequest; got != want {
			t.Errorf("got code %q, want %q", got, want)
		}
		if got, want := jobErr.Problem.Status, http.StatusBadRequest; got != want {
			t.Errorf("got status %d, want %d", got, want)
		}
		if !strings.Contains(jobErr.Problem.Detail, "product_ids[1]") {
			t.Errorf("got detail %q, want it to name product_ids[1]", jobErr.Problem.Detail)
		}
	})

	t.Run("unknown field", func(t *testing.T) {
		t.Parallel()
		client := newClient[map[string]any, lookup.Result](t, server.URL, simple.Config{})

		_, err := client.Do(context.Background(), map[string]any{"colour": "red"})

		jobErr := requireJobError(t, err)
		if got, want := jobErr.Problem.Code, transport.CodeInvalidRequest; got != want {
			t.Errorf("got code %q, want %q", got, want)
		}
		if got, want := jobErr.Problem.Status, http.StatusBadRequest; got != want {
			t.Errorf("got status %d, want %d", got, want)
		}
	})
}

func TestOversizedBodyIsTooLarge(t *testing.T) {
	t.Parallel()

	server := startServer(t, upperEngine, simple.HandlerConfig{MaxBodyBytes: 64})
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})

	_, err := client.Do(context.Background(), echoRequest{Text: strings.Repeat("x", 200)})

	jobErr := requireJobError(t, err)
	if got, want := jobErr.Problem.Code, transport.CodeTooLarge; got != want {
		t.Errorf("got code %q, want %q", got, want)
	}
	if got, want := jobErr.Problem.Status, http.StatusRequestEntityTooLarge; got != want {
		t.Errorf("got status %d, want %d", got, want)
	}
}

func TestCallerCancelStopsEngine(t *testing.T) {
	t.Parallel()

	started := make(chan struct{})
	stopped := make(chan error, 1)
	engine := transport.EngineFunc[echoRequest, echoResult](
		func(ctx context.Context, _ echoRequest, _ transport.ProgressFunc) (echoResult, error) {
			close(started)
			<-ctx.Done()
			stopped <- ctx.Err()
			return echoResult{}, ctx.Err()
		})
	server := startServer(t, engine, simple.HandlerConfig{})
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := goDo(ctx, client, echoRequest{})
	receive(t, started, "the engine to start")

	cancel()
	canceledAt := time.Now()
	call := receive(t, done, "Do to return after the cancel")

	if took := time.Since(canceledAt); took > time.Second {
		t.Errorf("Do returned %v after the cancel, want promptly", took)
	}
	if !errors.Is(call.err, context.Canceled) {
		t.Errorf("got error %v, want one that matches context.Canceled", call.err)
	}
	if errors.Is(call.err, transport.ErrUnavailable) {
		t.Errorf("got error %v that matches ErrUnavailable, want the caller's cancellation only", call.err)
	}
	if err := receive(t, stopped, "the engine's context to end"); !errors.Is(err, context.Canceled) {
		t.Errorf("engine's context ended with %v, want context.Canceled", err)
	}
}

func TestDeadlineTravelsToEngine(t *testing.T) {
	t.Parallel()

	type deadlineResult struct {
		HasDeadline bool          `json:"has_deadline"`
		Remaining   time.Duration `json:"remaining"`
	}
	engine := transport.EngineFunc[echoRequest, deadlineResult](
		func(ctx context.Context, _ echoRequest, _ transport.ProgressFunc) (deadlineResult, error) {
			deadline, ok := ctx.Deadline()
			return deadlineResult{HasDeadline: ok, Remaining: time.Until(deadline)}, nil
		})
	server := startServer(t, engine, simple.HandlerConfig{})
	client := newClient[echoRequest, deadlineResult](t, server.URL, simple.Config{})

	t.Run("with deadline", func(t *testing.T) {
		const timeout = 10 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()

		got, err := client.Do(ctx, echoRequest{})
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		if !got.HasDeadline {
			t.Fatal("engine's context has no deadline, want the caller's")
		}
		if got.Remaining > timeout || got.Remaining < timeout-2*time.Second {
			t.Errorf("engine had %v left, want a little under the caller's %v", got.Remaining, timeout)
		}
	})

	t.Run("without deadline", func(t *testing.T) {
		got, err := client.Do(context.Background(), echoRequest{})
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		if got.HasDeadline {
			t.Errorf("engine's context has a deadline %v away, want none", got.Remaining)
		}
	})
}

func TestDeadlinePassesReturnsCallerError(t *testing.T) {
	t.Parallel()

	engine := transport.EngineFunc[echoRequest, echoResult](
		func(ctx context.Context, _ echoRequest, _ transport.ProgressFunc) (echoResult, error) {
			<-ctx.Done()
			return echoResult{}, ctx.Err()
		})
	server := startServer(t, engine, simple.HandlerConfig{})
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := client.Do(ctx, echoRequest{})

	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got error %v, want one that matches context.DeadlineExceeded", err)
	}
	if errors.Is(err, transport.ErrUnavailable) {
		t.Errorf("got error %v that matches ErrUnavailable, want the caller's deadline only", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Do took %v, want it to end soon after the 150ms deadline", took)
	}
}

func TestOverloadedIsUnavailableAfterRetries(t *testing.T) {
	t.Parallel()

	started := make(chan struct{}, 1)
	release := make(chan struct{})
	engine := transport.EngineFunc[echoRequest, echoResult](
		func(ctx context.Context, req echoRequest, _ transport.ProgressFunc) (echoResult, error) {
			started <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
				return echoResult{}, ctx.Err()
			}
			return echoResult{Text: req.Text}, nil
		})
	server := startServer(t, engine, simple.HandlerConfig{MaxConcurrent: 1})

	busy := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})
	first := goDo(context.Background(), busy, echoRequest{Text: "first"})
	receive(t, started, "the first run to start")

	var attempts atomic.Int32
	pipeline := noBreaker(transport.RetryPolicy{MaxAttempts: 3, MaxRetryAfter: 5 * time.Millisecond})
	pipeline.OnAttempt = func(transport.AttemptInfo) { attempts.Add(1) }
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{Pipeline: pipeline})

	_, err := client.Do(context.Background(), echoRequest{Text: "second"})

	unavailable := requireUnavailable(t, err)
	if got, want := unavailable.Attempts, 3; got != want {
		t.Errorf("got %d attempts in the error, want %d", got, want)
	}
	if got, want := attempts.Load(), int32(3); got != want {
		t.Errorf("OnAttempt saw %d attempts, want %d", got, want)
	}
	var problem *transport.Problem
	if !errors.As(err, &problem) || problem.Code != transport.CodeOverloaded {
		t.Errorf("got error %v, want it to carry the overloaded problem", err)
	}
	if !strings.Contains(err.Error(), "may be retried") {
		t.Errorf("got message %q, want it to say that the call may be retried", err)
	}

	close(release)
	if call := receive(t, first, "the first call"); call.err != nil || call.res.Text != "first" {
		t.Errorf("first call: got %+v, %v, want text \"first\" and no error", call.res, call.err)
	}
}

func TestConnectionCutIsRetryableUnavailable(t *testing.T) {
	t.Parallel()

	server := startRawServer(t, func(w http.ResponseWriter, r *http.Request) {
		cutMidResponse(t, w)
	})
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})

	_, err := client.Do(context.Background(), echoRequest{})

	unavailable := requireUnavailable(t, err)
	if got, want := unavailable.Attempts, 1; got != want {
		t.Errorf("got %d attempts, want %d: simple calls are not retried by default", got, want)
	}
	if got, want := unavailable.Op, "run"; got != want {
		t.Errorf("got op %q, want %q", got, want)
	}
	msg := err.Error()
	if !strings.Contains(msg, "may be retried") {
		t.Errorf("got message %q, want it to say that the call may be retried", msg)
	}
	if !strings.Contains(msg, "may or may not have run") {
		t.Errorf("got message %q, want it to say that the job may have run", msg)
	}
	if !transport.Retryable(unavailable.Err) {
		t.Errorf("got last attempt error %v that Retryable rejects, want a retryable one", unavailable.Err)
	}
}

// cutMidResponse sends the start of a 200 response whose body is shorter than
// its Content-Length and closes the connection.
func cutMidResponse(t *testing.T, w http.ResponseWriter) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("Hijack: %v", err)
		return
	}
	defer conn.Close()

	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"text\":\"par")
	_ = buf.Flush()
}

func TestRetryAfterCutSucceeds(t *testing.T) {
	t.Parallel()

	handler := simple.NewHandler(jobs.EngineRunner(upperEngine), simple.HandlerConfig{})
	var requests atomic.Int32
	server := startRawServer(t, func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			cutMidResponse(t, w)
			return
		}
		handler.ServeHTTP(w, r)
	})
	pipeline := noBreaker(transport.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond})
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{Pipeline: pipeline})

	got, err := client.Do(context.Background(), echoRequest{Text: "again"})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if want := (echoResult{Text: "AGAIN"}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got, want := requests.Load(), int32(2); got != want {
		t.Errorf("server saw %d requests, want %d", got, want)
	}
}

func TestFaultnetCutStopsEngine(t *testing.T) {
	t.Parallel()

	started := make(chan struct{})
	stopped := make(chan error, 1)
	engine := transport.EngineFunc[echoRequest, echoResult](
		func(ctx context.Context, _ echoRequest, _ transport.ProgressFunc) (echoResult, error) {
			close(started)
			<-ctx.Done()
			stopped <- ctx.Err()
			return echoResult{}, ctx.Err()
		})
	server := startServer(t, engine, simple.HandlerConfig{})
	proxy, err := faultnet.New(faultnet.Config{Target: server.Listener.Addr().String()})
	if err != nil {
		t.Fatalf("faultnet.New: %v", err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	client := newClient[echoRequest, echoResult](t, proxy.URL(), simple.Config{})

	done := goDo(context.Background(), client, echoRequest{})
	receive(t, started, "the engine to start")
	proxy.CutAll()
	call := receive(t, done, "Do to return after the cut")

	requireUnavailable(t, call.err)
	if !strings.Contains(call.err.Error(), "may be retried") {
		t.Errorf("got message %q, want it to say that the call may be retried", call.err)
	}
	if err := receive(t, stopped, "the engine's context to end"); !errors.Is(err, context.Canceled) {
		t.Errorf("engine's context ended with %v, want context.Canceled", err)
	}
}

func TestServerDownIsUnavailable(t *testing.T) {
	t.Parallel()

	server := startServer(t, upperEngine, simple.HandlerConfig{})
	url := server.URL
	server.Close()

	var attempts atomic.Int32
	pipeline := transport.PipelineConfig{OnAttempt: func(transport.AttemptInfo) { attempts.Add(1) }}
	client := newClient[echoRequest, echoResult](t, url, simple.Config{Pipeline: pipeline})

	_, err := client.Do(context.Background(), echoRequest{})

	unavailable := requireUnavailable(t, err)
	if got, want := unavailable.Attempts, 1; got != want {
		t.Errorf("got %d attempts, want %d: simple calls are not retried by default", got, want)
	}
	if got, want := attempts.Load(), int32(1); got != want {
		t.Errorf("OnAttempt saw %d attempts, want %d", got, want)
	}
	if msg := err.Error(); !strings.Contains(msg, "did not start") || !strings.Contains(msg, "may be retried") {
		t.Errorf("got message %q, want it to say that the job did not start and the call may be retried", msg)
	}
}

func TestServerErrorsRetryable(t *testing.T) {
	t.Parallel()

	tests := []struct {
		status      int
		contentType string
		body        string
		retryable   bool
	}{
		{http.StatusBadGateway, "text/plain", "upstream connect error", true},
		{http.StatusGatewayTimeout, "text/html", "<html>gateway timeout</html>", true},
		{http.StatusTooManyRequests, "application/problem+json", `{"type":"about:blank","code":"rate-limited","status":429}`, true},
		{http.StatusServiceUnavailable, "text/plain", "maintenance", true},
		{http.StatusNotFound, "text/plain", "404 page not found", false},
		{http.StatusInternalServerError, "text/plain", "oops", false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			server := startRawServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				_, _ = fmt.Fprint(w, tt.body)
			})
			client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{Pipeline: noBreaker(transport.RetryPolicy{})})

			_, err := client.Do(context.Background(), echoRequest{})

			if tt.retryable {
				requireUnavailable(t, err)
				return
			}
			jobErr := requireJobError(t, err)
			if got, want := jobErr.Problem.Status, tt.status; got != want {
				t.Errorf("got status %d, want %d", got, want)
			}
		})
	}
}

func TestInvalidResultJSON(t *testing.T) {
	t.Parallel()

	server := startRawServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprint(w, `{"text": 17}`)
	})
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})

	_, err := client.Do(context.Background(), echoRequest{})

	if err == nil {
		t.Fatal("got no error, want one for a result of the wrong type")
	}
	if !strings.Contains(err.Error(), "not a valid JSON encoding of simple_test.echoResult") {
		t.Errorf("got message %q, want it to name the result type", err)
	}
	if errors.Is(err, transport.ErrUnavailable) || transport.Retryable(err) {
		t.Errorf("got error %v that looks retryable, want a permanent one", err)
	}
}

func TestUnexpectedSuccessStatus(t *testing.T) {
	t.Parallel()

	server := startRawServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})

	_, err := client.Do(context.Background(), echoRequest{})

	if err == nil || !strings.Contains(err.Error(), "204 No Content") {
		t.Errorf("got error %v, want one that names the 204 response", err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	t.Parallel()

	server := startServer(t, upperEngine, simple.HandlerConfig{})
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})

	const calls = 50
	var wg sync.WaitGroup
	errs := make([]error, calls)
	results := make([]echoResult, calls)
	for i := range calls {
		wg.Go(func() {
			results[i], errs[i] = client.Do(context.Background(), echoRequest{Text: fmt.Sprintf("call-%d", i), N: i})
		})
	}
	wg.Wait()

	for i := range calls {
		want := echoResult{Text: fmt.Sprintf("CALL-%d", i), N: 2 * i}
		if errs[i] != nil {
			t.Errorf("call %d: %v", i, errs[i])
			continue
		}
		if results[i] != want {
			t.Errorf("call %d: got %+v, want %+v", i, results[i], want)
		}
	}
}

func TestCloseEndsCalls(t *testing.T) {
	t.Parallel()

	started := make(chan struct{})
	stopped := make(chan error, 1)
	engine := transport.EngineFunc[echoRequest, echoResult](
		func(ctx context.Context, _ echoRequest, _ transport.ProgressFunc) (echoResult, error) {
			close(started)
			<-ctx.Done()
			stopped <- ctx.Err()
			return echoResult{}, ctx.Err()
		})
	server := startServer(t, engine, simple.HandlerConfig{})
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})

	done := goDo(context.Background(), client, echoRequest{})
	receive(t, started, "the engine to start")

	if err := client.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	call := receive(t, done, "the call in flight to end after Close")
	if !errors.Is(call.err, transport.ErrClosed) {
		t.Errorf("in-flight call: got error %v, want one that matches ErrClosed", call.err)
	}
	if errors.Is(call.err, context.Canceled) {
		t.Errorf("in-flight call: got error %v that matches context.Canceled, want ErrClosed only", call.err)
	}

	_, err := client.Do(context.Background(), echoRequest{})
	if !errors.Is(err, transport.ErrClosed) {
		t.Errorf("call after Close: got error %v, want one that matches ErrClosed", err)
	}
	if err := client.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if err := receive(t, stopped, "the engine's context to end"); !errors.Is(err, context.Canceled) {
		t.Errorf("engine's context ended with %v, want context.Canceled", err)
	}
}

func TestNewClientRejectsInvalidURL(t *testing.T) {
	t.Parallel()

	tests := []struct {
		url  string
		want string
	}{
		{"", "must start with http:// or https://"},
		{"localhost:8080", "must start with http:// or https://"},
		{"127.0.0.1:8080", "invalid"},
		{"/run", "must start with http:// or https://"},
		{"ftp://127.0.0.1", "must start with http:// or https://"},
		{"http://", "has no host"},
		{"http://127.0.0.1:8080/?debug=1", "must not have a query or fragment"},
		{"http://127.0.0.1:8080/#top", "must not have a query or fragment"},
		{"http://[::1", "invalid"},
	}
	for _, tt := range tests {
		_, err := simple.NewClient[echoRequest, echoResult](tt.url, simple.Config{})
		if err == nil {
			t.Errorf("NewClient(%q): got no error, want one", tt.url)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("%q", tt.url)) || !strings.Contains(msg, tt.want) {
			t.Errorf("NewClient(%q): got %q, want a message that quotes the URL and contains %q", tt.url, msg, tt.want)
		}
	}
}

func TestClientBasePath(t *testing.T) {
	t.Parallel()

	server := startServer(t, upperEngine, simple.HandlerConfig{BasePath: "/api/v1/"})

	for _, base := range []string{server.URL + "/api/v1", server.URL + "/api/v1/"} {
		client := newClient[echoRequest, echoResult](t, base, simple.Config{})
		got, err := client.Do(context.Background(), echoRequest{Text: "ok"})
		if err != nil {
			t.Errorf("base %q: Do: %v", base, err)
			continue
		}
		if got.Text != "OK" {
			t.Errorf("base %q: got %+v, want text OK", base, got)
		}
	}

	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{})
	_, err := client.Do(context.Background(), echoRequest{})
	if jobErr := requireJobError(t, err); jobErr.Problem.Code != transport.CodeNotFound {
		t.Errorf("without the base path: got code %q, want %q", jobErr.Problem.Code, transport.CodeNotFound)
	}
}

func TestBreakerOpensOnServerDown(t *testing.T) {
	t.Parallel()

	server := startServer(t, upperEngine, simple.HandlerConfig{})
	url := server.URL
	server.Close()

	pipeline := transport.PipelineConfig{Breaker: &transport.BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: time.Minute}}
	client := newClient[echoRequest, echoResult](t, url, simple.Config{Pipeline: pipeline})

	for i := range 2 {
		_, err := client.Do(context.Background(), echoRequest{})
		if !errors.Is(err, transport.ErrUnavailable) {
			t.Fatalf("call %d: got error %v, want ErrUnavailable", i+1, err)
		}
	}
	_, err := client.Do(context.Background(), echoRequest{})
	if !errors.Is(err, transport.ErrCircuitOpen) {
		t.Errorf("third call: got error %v, want one that matches ErrCircuitOpen", err)
	}
}

func TestHTTPClientTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()

	release := make(chan struct{})
	defer close(release)
	engine := transport.EngineFunc[echoRequest, echoResult](
		func(ctx context.Context, _ echoRequest, _ transport.ProgressFunc) (echoResult, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return echoResult{}, ctx.Err()
		})
	server := startServer(t, engine, simple.HandlerConfig{})
	httpClient := &http.Client{Timeout: 50 * time.Millisecond}
	t.Cleanup(httpClient.CloseIdleConnections)
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{HTTPClient: httpClient})

	_, err := client.Do(context.Background(), echoRequest{})

	requireUnavailable(t, err)
	if msg := err.Error(); !strings.Contains(msg, "timed out") || !strings.Contains(msg, "may be retried") {
		t.Errorf("got message %q, want it to say that the request timed out and may be retried", msg)
	}
}

func TestRedirectErrorNotRetryable(t *testing.T) {
	t.Parallel()

	server := startRawServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	httpClient := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		return errors.New("redirects are not allowed")
	}}
	t.Cleanup(httpClient.CloseIdleConnections)
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{HTTPClient: httpClient})

	_, err := client.Do(context.Background(), echoRequest{})

	if err == nil || !strings.Contains(err.Error(), "redirects are not allowed") {
		t.Fatalf("got error %v, want the redirect error", err)
	}
	if errors.Is(err, transport.ErrUnavailable) {
		t.Errorf("got error %v that matches ErrUnavailable, want a permanent error", err)
	}
	if strings.Contains(err.Error(), "may be retried") {
		t.Errorf("got message %q, want no retry hint for an error that repeats", err)
	}
}

func TestAttemptTimeoutRetries(t *testing.T) {
	t.Parallel()

	var runs atomic.Int32
	engine := transport.EngineFunc[echoRequest, echoResult](
		func(ctx context.Context, req echoRequest, _ transport.ProgressFunc) (echoResult, error) {
			if runs.Add(1) == 1 {
				<-ctx.Done() // the first run outlasts its attempt's deadline
				return echoResult{}, ctx.Err()
			}
			return echoResult{Text: req.Text}, nil
		})
	server := startServer(t, engine, simple.HandlerConfig{})
	pipeline := noBreaker(transport.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond})
	pipeline.AttemptTimeout = 250 * time.Millisecond
	client := newClient[echoRequest, echoResult](t, server.URL, simple.Config{Pipeline: pipeline})

	got, err := client.Do(context.Background(), echoRequest{Text: "second"})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if got.Text != "second" {
		t.Errorf("got %+v, want text \"second\"", got)
	}
	if got, want := runs.Load(), int32(2); got != want {
		t.Errorf("engine ran %d times, want %d", got, want)
	}
}

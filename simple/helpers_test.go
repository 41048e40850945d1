package simple_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/longhaul-go/longhaul/simple"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

// echoRequest and echoResult are the types of the tests' small engines.
type echoRequest struct {
	Text string `json:"text"`
	N    int    `json:"n"`
}

type echoResult struct {
	Text string `json:"text"`
	N    int    `json:"n"`
}

// upperEngine returns the request's text in upper case and N doubled.
var upperEngine = transport.EngineFunc[echoRequest, echoResult](
	func(_ context.Context, req echoRequest, _ transport.ProgressFunc) (echoResult, error) {
		return echoResult{Text: strings.ToUpper(req.Text), N: req.N * 2}, nil
	})

// waitTimeout bounds every wait of a test for something that should happen at
// once, so that a bug fails the test instead of hanging it.
const waitTimeout = 5 * time.Second

// startServer serves a simple handler for engine on loopback until the test ends.
func startServer[Req, Res any](t *testing.T, engine transport.Engine[Req, Res], cfg simple.HandlerConfig) *httptest.Server {
	t.Helper()

	server := httptest.NewServer(simple.NewHandler(jobs.EngineRunner(engine), cfg))
	t.Cleanup(server.Close)
	return server
}

// startRawServer serves handler on loopback until the test ends.
func startRawServer(t *testing.T, handler http.HandlerFunc) *httptest.Server {
	t.Helper()

	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	return server
}

// newClient returns a client of baseURL that is closed when the test ends,
// before the servers that the test started earlier.
func newClient[Req, Res any](t *testing.T, baseURL string, cfg simple.Config) *simple.Client[Req, Res] {
	t.Helper()

	client, err := simple.NewClient[Req, Res](baseURL, cfg)
	if err != nil {
		t.Fatalf("NewClient(%q): %v", baseURL, err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// noBreaker is a pipeline without a circuit breaker, so that tests that fail
// on purpose do not open one.
func noBreaker(retry transport.RetryPolicy) transport.PipelineConfig {
	return transport.PipelineConfig{Retry: retry, Breaker: &transport.BreakerSettings{Disabled: true}}
}

// requireJobError returns err as a *transport.JobError, failing the test when
// it is not one.
func requireJobError(t *testing.T, err error) *transport.JobError {
	t.Helper()

	var jobErr *transport.JobError
	if !errors.As(err, &jobErr) {
		t.Fatalf("got error %v (%T), want a *transport.JobError", err, err)
	}
	return jobErr
}

// requireUnavailable returns err as a *transport.UnavailableError, failing the
// test when it is not one or does not match transport.ErrUnavailable.
func requireUnavailable(t *testing.T, err error) *transport.UnavailableError {
	t.Helper()

	if !errors.Is(err, transport.ErrUnavailable) {
		t.Fatalf("got error %v (%T), want one that matches transport.ErrUnavailable", err, err)
	}
	var unavailable *transport.UnavailableError
	if !errors.As(err, &unavailable) {
		t.Fatalf("got error %v (%T), want a *transport.UnavailableError", err, err)
	}
	var jobErr *transport.JobError
	if errors.As(err, &jobErr) {
		t.Errorf("got error %v that also matches *transport.JobError, want only ErrUnavailable", err)
	}
	return unavailable
}

// receive returns the next value of ch, or fails the test after waitTimeout.
func receive[T any](t *testing.T, ch <-chan T, description string) T {
	t.Helper()

	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %v waiting for %s", waitTimeout, description)
		var zero T
		return zero
	}
}

// callResult is the outcome of one Client.Do run in a goroutine.
type callResult[Res any] struct {
	res Res
	err error
}

// goDo runs client.Do in a goroutine and returns the channel of its outcome.
func goDo[Req, Res any](ctx context.Context, client *simple.Client[Req, Res], req Req) <-chan callResult[Res] {
	out := make(chan callResult[Res], 1)
	go func() {
		res, err := client.Do(ctx, req)
		out <- callResult[Res]{res: res, err: err}
	}()
	return out
}

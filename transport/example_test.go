package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"time"

	"github.com/longhaul-go/longhaul/transport"
)

func ExamplePipeline_Do() {
	// A service on loopback that is overloaded for its first two requests.
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"state":"succeeded"}`)
	}))
	defer srv.Close()

	p := transport.NewPipeline(transport.PipelineConfig{
		Retry:          transport.RetryPolicy{BaseDelay: time.Millisecond},
		AttemptTimeout: 5 * time.Second,
		OnAttempt: func(a transport.AttemptInfo) {
			fmt.Printf("%s attempt %d: %v\n", a.Op, a.Attempt, a.Err)
		},
	})

	err := p.Do(context.Background(), "poll", srv.URL, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/jobs/1", nil)
		if err != nil {
			return err
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			return err // network errors are retryable
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			return transport.MarkRetryable(errors.New("service overloaded"), 0)
		}
		return nil
	})
	fmt.Println("result:", err)
	// Output:
	// poll attempt 1: service overloaded
	// poll attempt 2: service overloaded
	// poll attempt 3: <nil>
	// result: <nil>
}

// stock is a stand-in for a strategy's client: it looks up products in memory.
type stock struct{}

func (stock) Do(ctx context.Context, ids []string, opts ...transport.CallOption) ([]string, error) {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id + ":in stock"
	}
	return out, nil
}

func (stock) Close() error { return nil }

func ExampleFanOut() {
	c := transport.FanOut[[]string, []string](stock{}, transport.FanOutConfig[[]string, []string]{
		Split: func(ids []string) [][]string { return slices.Collect(slices.Chunk(ids, 2)) },
		Merge: func(parts [][]string) []string { return slices.Concat(parts...) },
		Limit: 2,
	})
	defer c.Close()

	res, err := c.Do(context.Background(), []string{"p1", "p2", "p3", "p4", "p5"})
	fmt.Println(res, err)
	// Output:
	// [p1:in stock p2:in stock p3:in stock p4:in stock p5:in stock] <nil>
}

func ExampleWithBreaker() {
	down := failing{}
	c := transport.WithBreaker[string, string](down, transport.BreakerSettings{
		Name:                "stock",
		ConsecutiveFailures: 2,
	})
	defer c.Close()

	for range 3 {
		_, err := c.Do(context.Background(), "p1")
		fmt.Printf("unavailable=%t circuit-open=%t\n",
			errors.Is(err, transport.ErrUnavailable), transport.IsCircuitOpen(err))
	}
	// Output:
	// unavailable=true circuit-open=false
	// unavailable=true circuit-open=false
	// unavailable=false circuit-open=true
}

// failing is a client whose service is never reachable.
type failing struct{}

func (failing) Do(ctx context.Context, id string, opts ...transport.CallOption) (string, error) {
	return "", &transport.UnavailableError{Op: "submit", URL: "http://127.0.0.1:9", Attempts: 5, Err: errors.New("connection refused")}
}

func (failing) Close() error { return nil }

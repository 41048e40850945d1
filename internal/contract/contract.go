package contract

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/internal/faultnet"
	"github.com/longhaul-go/longhaul/internal/testutil"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/transport"
)

// Client is the client type the suite tests.
type Client = transport.Client[lookup.Request, lookup.Result]

// Engine is the engine type the suite serves.
type Engine = transport.Engine[lookup.Request, lookup.Result]

// CutOutcome is the outcome that a strategy guarantees when its connection is
// cut mid-job.
type CutOutcome int

const (
	// ResultArrives means the client recovers and the call returns the result.
	ResultArrives CutOutcome = iota
	// RetryableError means the call fails with an error matching
	// transport.ErrUnavailable.
	RetryableError
)

// Suite describes one strategy under test.
type Suite struct {
	// Strategy is the strategy under test. Run does not read it, so a caller
	// that runs several suites names their subtests itself.
	Strategy transport.Strategy
	// NewServer returns a handler serving engine at the routes of the protocol
	// with the base path "". It registers its own shutdown with t.Cleanup.
	NewServer func(t *testing.T, engine Engine) http.Handler
	// NewClient returns a client of the server at baseURL. The suite closes it.
	NewClient func(t *testing.T, baseURL string) Client
	// OnCut is the outcome that the strategy guarantees when the connection is
	// cut mid-job.
	OnCut CutOutcome
}

// FailID is a product ID for which the suite's engine fails the job.
const FailID = "contract-fail"

// Run runs the whole suite for s.
func Run(t *testing.T, s Suite) {
	t.Run("SakilaResults", func(t *testing.T) { testSakilaResults(t, s) })
	t.Run("ConcurrentCalls", func(t *testing.T) { testConcurrentCalls(t, s) })
	t.Run("EmptyRequest", func(t *testing.T) { testEmptyRequest(t, s) })
	t.Run("InvalidRequest", func(t *testing.T) { testInvalidRequest(t, s) })
	t.Run("JobFailure", func(t *testing.T) { testJobFailure(t, s) })
	t.Run("Cancellation", func(t *testing.T) { testCancellation(t, s) })
	t.Run("ConnectionCutMidJob", func(t *testing.T) { testConnectionCut(t, s) })
	t.Run("ServerDown", func(t *testing.T) { testServerDown(t, s) })
}

// failingEngine wraps the lookup engine and fails every job whose request
// contains FailID.
type failingEngine struct {
	inner *lookup.Engine
	runs  atomic.Int64
}

func (e *failingEngine) Run(ctx context.Context, req lookup.Request, progress transport.ProgressFunc) (lookup.Result, error) {
	e.runs.Add(1)
	if slices.Contains(req.ProductIDs, FailID) {
		return lookup.Result{}, errors.New("inventory backend rejected product " + FailID)
	}
	return e.inner.Run(ctx, req, progress)
}

type env struct {
	engine *failingEngine
	proxy  *faultnet.Proxy
	client Client
}

// start serves the engine over source with the given per-item delay, behind a
// faultnet proxy, and returns a client of the proxy.
func start(t *testing.T, s Suite, source lookup.Source, itemDelay time.Duration) *env {
	t.Helper()
	engine := &failingEngine{inner: &lookup.Engine{Source: source, ItemDelay: itemDelay}}
	server := httptest.NewServer(s.NewServer(t, engine))
	t.Cleanup(server.Close)

	proxy, err := faultnet.New(faultnet.Config{Target: server.Listener.Addr().String(), Seed: 1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = proxy.Close() })

	client := s.NewClient(t, proxy.URL())
	t.Cleanup(func() { _ = client.Close() })
	return &env{engine: engine, proxy: proxy, client: client}
}

func testSakilaResults(t *testing.T, s Suite) {
	e := start(t, s, testutil.SakilaInventory(t), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	got, err := e.client.Do(ctx, lookup.Request{ProductIDs: []string{"1", "2", "14", "500", "1001"}})
	require.NoError(t, err)
	require.Len(t, got.Items, 5)

	want := lookup.Item{
		ProductID: "1", Name: "Academy Dinosaur", Known: true, Quantity: 7,
		Locations: []lookup.Location{
			{Location: "47 MySakila Drive, Lethbridge, Canada", Quantity: 4},
			{Location: "28 MySQL Boulevard, Woodridge, Australia", Quantity: 3},
		},
	}
	assert.Equal(t, want, got.Items[0], "product 1")

	assert.Equal(t, lookup.Item{
		ProductID: "2", Name: "Ace Goldfinger", Known: true, Quantity: 2,
		Locations: []lookup.Location{{Location: "28 MySQL Boulevard, Woodridge, Australia", Quantity: 2}},
	}, got.Items[1], "product 2")

	assert.Equal(t, lookup.Item{ProductID: "14", Name: "Alice Fantasia", Known: true, Quantity: 0, Locations: []lookup.Location{}}, got.Items[2], "product 14")

	// Product 500 has 4 copies in each store, as stock.csv lists.
	assert.Equal(t, lookup.Item{
		ProductID: "500", Name: "Kiss Glory", Known: true, Quantity: 8,
		Locations: []lookup.Location{
			{Location: "47 MySakila Drive, Lethbridge, Canada", Quantity: 4},
			{Location: "28 MySQL Boulevard, Woodridge, Australia", Quantity: 4},
		},
	}, got.Items[3], "product 500")

	assert.Equal(t, lookup.Item{ProductID: "1001", Known: false, Locations: []lookup.Location{}}, got.Items[4], "product 1001")
}

func testConcurrentCalls(t *testing.T, s Suite) {
	e := start(t, s, lookup.DefaultDemo(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	const calls = 24
	var wg sync.WaitGroup
	errs := make([]error, calls)
	results := make([]lookup.Result, calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := []string{fmt.Sprint(i + 1), fmt.Sprint(i + 101)}
			results[i], errs[i] = e.client.Do(ctx, lookup.Request{ProductIDs: ids})
		}()
	}
	wg.Wait()

	for i := range calls {
		require.NoError(t, errs[i], "call %d", i)
		require.Len(t, results[i].Items, 2, "call %d", i)
		assert.Equal(t, fmt.Sprint(i+1), results[i].Items[0].ProductID, "call %d first item", i)
		assert.Equal(t, fmt.Sprint(i+101), results[i].Items[1].ProductID, "call %d second item", i)
	}
}

func testEmptyRequest(t *testing.T, s Suite) {
	e := start(t, s, lookup.DefaultDemo(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	got, err := e.client.Do(ctx, lookup.Request{ProductIDs: []string{}})
	require.NoError(t, err)
	assert.Empty(t, got.Items)
}

func testInvalidRequest(t *testing.T, s Suite) {
	e := start(t, s, lookup.DefaultDemo(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err := e.client.Do(ctx, lookup.Request{ProductIDs: []string{"1", ""}})
	var jobErr *transport.JobError
	require.ErrorAs(t, err, &jobErr)
	assert.Equal(t, transport.CodeInvalidRequest, jobErr.Code())
	assert.Equal(t, int64(0), e.engine.runs.Load(), "engine runs for an invalid request")
}

func testJobFailure(t *testing.T, s Suite) {
	e := start(t, s, lookup.DefaultDemo(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err := e.client.Do(ctx, lookup.Request{ProductIDs: []string{"1", FailID}})
	var jobErr *transport.JobError
	require.ErrorAs(t, err, &jobErr)
	assert.Equal(t, transport.CodeJobFailed, jobErr.Code())
	assert.Contains(t, jobErr.Problem.Detail, "inventory backend rejected product")
	assert.NotErrorIs(t, err, transport.ErrUnavailable)
}

func testCancellation(t *testing.T, s Suite) {
	e := start(t, s, lookup.DefaultDemo(), 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())

	accepted := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		_, err := e.client.Do(ctx, lookup.Request{ProductIDs: []string{"1", "2"}},
			transport.WithOnAccepted(func(string) { accepted <- struct{}{} }))
		done <- err
	}()

	select {
	case <-accepted:
	case <-time.After(300 * time.Millisecond):
		// Simple calls have no job ID, but by now the request is on the server.
	}
	cancel()
	canceledAt := time.Now()

	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(canceledAt), 2*time.Second, "time from cancel to return")
	case <-time.After(5 * time.Second):
		t.Fatal("Do did not return within 5 s of its context being cancelled")
	}
}

func testConnectionCut(t *testing.T, s Suite) {
	e := start(t, s, lookup.DefaultDemo(), 150*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	go func() {
		// Let the job start and the client settle into waiting, then cut every
		// connection through the proxy.
		time.Sleep(300 * time.Millisecond)
		e.proxy.CutAll()
	}()
	ids := []string{"1", "2", "3", "4", "5"}
	got, err := e.client.Do(ctx, lookup.Request{ProductIDs: ids})

	switch s.OnCut {
	case ResultArrives:
		require.NoError(t, err)
		require.Len(t, got.Items, len(ids))
		for i, id := range ids {
			assert.Equal(t, id, got.Items[i].ProductID, "item %d", i)
		}
	case RetryableError:
		require.Error(t, err)
		assert.ErrorIs(t, err, transport.ErrUnavailable)
		assert.True(t, transport.Retryable(err) || errors.Is(err, transport.ErrUnavailable), "error is retryable")
	}
}

func testServerDown(t *testing.T, s Suite) {
	e := start(t, s, lookup.DefaultDemo(), 0)
	require.NoError(t, e.proxy.SetRefuse(true))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	_, err := e.client.Do(ctx, lookup.Request{ProductIDs: []string{"1"}})
	require.Error(t, err)
	assert.ErrorIs(t, err, transport.ErrUnavailable)
}

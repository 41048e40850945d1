package longhaul_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul"
	"github.com/longhaul-go/longhaul/internal/faultnet"
	"github.com/longhaul-go/longhaul/internal/wire"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/polling"
	"github.com/longhaul-go/longhaul/transport"
)

// countingEngine counts the runs of the lookup engine it wraps.
type countingEngine struct {
	inner lookup.Engine
	runs  atomic.Int64
}

func (e *countingEngine) Run(ctx context.Context, req lookup.Request, progress transport.ProgressFunc) (lookup.Result, error) {
	e.runs.Add(1)
	return e.inner.Run(ctx, req, progress)
}

// startBehindProxy serves engine through a combined server behind a faultnet
// proxy and returns the proxy.
func startBehindProxy(t *testing.T, engine *countingEngine) *faultnet.Proxy {
	t.Helper()
	srv := longhaul.NewServer(engine, testServerConfig())
	server := httptest.NewServer(srv)
	proxy, err := faultnet.New(faultnet.Config{Target: server.Listener.Addr().String()})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = proxy.Close()
		server.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return proxy
}

func TestFallbackSimpleCutNotRepeated(t *testing.T) {
	engine := &countingEngine{inner: lookup.Engine{Source: lookup.DefaultDemo(), ItemDelay: 100 * time.Millisecond}}
	proxy := startBehindProxy(t, engine)
	// Fallback on, simple with its default of one attempt.
	client, err := longhaul.NewClient[lookup.Request, lookup.Result](proxy.URL(), longhaul.ClientConfig{Strategy: transport.StrategySimple})
	require.NoError(t, err)
	defer client.Close()

	go func() {
		time.Sleep(150 * time.Millisecond)
		proxy.CutAll()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = client.Do(ctx, lookup.Request{ProductIDs: []string{"1", "2", "3"}})

	require.Error(t, err)
	assert.ErrorIs(t, err, transport.ErrUnavailable)
	time.Sleep(100 * time.Millisecond) // a fallback job would have started by now
	assert.Equal(t, int64(1), engine.runs.Load(), "engine runs for one simple call cut mid-job")
}

func TestFallbackSimpleRefusedUsesPolling(t *testing.T) {
	engine := &countingEngine{inner: lookup.Engine{Source: lookup.DefaultDemo()}}
	proxy := startBehindProxy(t, engine)
	client, err := longhaul.NewClient[lookup.Request, lookup.Result](proxy.URL(), longhaul.ClientConfig{
		Strategy: transport.StrategySimple,
		Pipeline: transport.PipelineConfig{Retry: transport.RetryPolicy{MaxAttempts: 1}},
		Polling:  pollingRetryingConfig(),
	})
	require.NoError(t, err)
	defer client.Close()

	// Refuse the simple request's connection, then let polling through.
	require.NoError(t, proxy.SetRefuse(true))
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = proxy.SetRefuse(false)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := client.Do(ctx, lookup.Request{ProductIDs: []string{"1", "2"}})

	require.NoError(t, err)
	require.Len(t, got.Items, 2)
	assert.Equal(t, "1", got.Items[0].ProductID)
	assert.Equal(t, int64(1), engine.runs.Load(), "engine runs")
}

// pollingRetryingConfig returns a polling configuration that retries a refused
// submit for up to about two seconds.
func pollingRetryingConfig() polling.Config {
	return polling.Config{
		LongPoll: time.Second,
		Pipeline: transport.PipelineConfig{
			Retry:   transport.RetryPolicy{MaxAttempts: 20, BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond},
			Breaker: &transport.BreakerSettings{Disabled: true},
		},
	}
}

// startGateway serves a combined server behind a front handler whose POST /run
// responds with 503: plain text like a gateway when plainText is set, else the
// overloaded problem of a longhaul server. It returns the URL and a counter of
// the submits that reached POST /jobs.
func startGateway(t *testing.T, plainText bool) (string, *atomic.Int64) {
	t.Helper()
	srv := longhaul.NewServer(&lookup.Engine{Source: lookup.DefaultDemo()}, testServerConfig())
	var submits atomic.Int64
	front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/run" && plainText:
			http.Error(w, "upstream connect error or disconnect/reset before headers", http.StatusServiceUnavailable)
		case r.URL.Path == "/run":
			wire.WriteProblem(w, transport.NewProblem(http.StatusServiceUnavailable, transport.CodeOverloaded, "test: the server is full"))
		default:
			if r.Method == http.MethodPost && r.URL.Path == "/jobs" {
				submits.Add(1)
			}
			srv.ServeHTTP(w, r)
		}
	})
	server := httptest.NewServer(front)
	t.Cleanup(func() {
		server.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return server.URL, &submits
}

func TestFallbackSimpleGateway503(t *testing.T) {
	for _, tt := range []struct {
		name         string
		plainText    bool
		wantFallback bool
	}{
		{name: "gateway plain text", plainText: true, wantFallback: false},
		{name: "longhaul overloaded problem", plainText: false, wantFallback: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url, submits := startGateway(t, tt.plainText)
			client, err := longhaul.NewClient[lookup.Request, lookup.Result](url, longhaul.ClientConfig{
				Strategy: transport.StrategySimple,
				Pipeline: transport.PipelineConfig{Retry: transport.RetryPolicy{MaxAttempts: 1}},
			})
			require.NoError(t, err)
			defer client.Close()

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got, err := client.Do(ctx, lookup.Request{ProductIDs: []string{"1"}})

			if tt.wantFallback {
				require.NoError(t, err)
				require.Len(t, got.Items, 1)
				assert.Equal(t, int64(1), submits.Load(), "submits through the polling fallback")
				return
			}
			assert.ErrorIs(t, err, transport.ErrUnavailable)
			assert.Equal(t, int64(0), submits.Load(), "submits through the polling fallback")
		})
	}
}

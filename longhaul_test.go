package longhaul_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/longhaul-go/longhaul"
	"github.com/longhaul-go/longhaul/callback"
	"github.com/longhaul-go/longhaul/internal/contract"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/polling"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
	"github.com/longhaul-go/longhaul/websocket"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testServerConfig is a combined server tuned for tests: short polls and
// waits, and callbacks allowed to the loopback receiver.
func testServerConfig() longhaul.ServerConfig {
	return longhaul.ServerConfig{
		Jobs:      jobs.Config{PollInterval: 50 * time.Millisecond, Workers: 8},
		Polling:   polling.HandlerConfig{MaxWait: 2 * time.Second},
		Callback:  callback.HandlerConfig{AllowPrivateCallbacks: true, Retry: callback.RetrySchedule{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}},
		WebSocket: websocket.HandlerConfig{ResumeGrace: 5 * time.Second},
	}
}

// testClientConfig is a combined client tuned for tests: quick retries that
// give up within a second or two, so the server-down case ends fast.
func testClientConfig(strategy transport.Strategy) longhaul.ClientConfig {
	return longhaul.ClientConfig{
		Strategy: strategy,
		Pipeline: transport.PipelineConfig{
			Retry:   transport.RetryPolicy{MaxAttempts: 4, BaseDelay: 20 * time.Millisecond, MaxDelay: 200 * time.Millisecond},
			Breaker: &transport.BreakerSettings{Disabled: true},
		},
		Polling:  polling.Config{LongPoll: time.Second, PollInterval: 50 * time.Millisecond},
		Callback: callback.Config{FallbackPollInterval: 500 * time.Millisecond},
		// Fallback would hide what each strategy does on its own.
		DisableFallback: true,
	}
}

func newServer(t *testing.T, engine contract.Engine) http.Handler {
	srv := longhaul.NewServer(engine, testServerConfig())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return srv
}

// TestCombinedClientContract runs the contract suite through the combined
// client and server, once for each strategy.
func TestCombinedClientContract(t *testing.T) {
	for _, strategy := range transport.Strategies {
		t.Run(string(strategy), func(t *testing.T) {
			// The test client allows four attempts, so even simple calls, which
			// are not retried by default, survive the cut by running again.
			onCut := contract.ResultArrives
			contract.Run(t, contract.Suite{
				Strategy:  strategy,
				NewServer: newServer,
				NewClient: func(t *testing.T, baseURL string) contract.Client {
					client, err := longhaul.NewClient[lookup.Request, lookup.Result](baseURL, testClientConfig(strategy))
					if err != nil {
						t.Fatalf("NewClient(%q): %v", baseURL, err)
					}
					return client
				},
				OnCut: onCut,
			})
		})
	}
}

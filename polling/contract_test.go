package polling_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/longhaul-go/longhaul/internal/contract"
	"github.com/longhaul-go/longhaul/lookup"
	"github.com/longhaul-go/longhaul/polling"
	"github.com/longhaul-go/longhaul/transport"
	"github.com/longhaul-go/longhaul/transport/jobs"
)

func TestContract(t *testing.T) {
	contract.Run(t, contract.Suite{
		Strategy: transport.StrategyPolling,
		NewServer: func(t *testing.T, engine contract.Engine) http.Handler {
			rt := jobs.New(jobs.EngineRunner(engine), jobs.Config{
				PollInterval:     20 * time.Millisecond,
				ProgressInterval: time.Millisecond,
			})
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				// Every job has ended by now: the cancellation case's job through
				// the DELETE that the client sends after its caller gave up.
				require.NoError(t, rt.Shutdown(ctx), "runtime shutdown")
			})
			return polling.NewHandler(rt, polling.HandlerConfig{})
		},
		NewClient: func(t *testing.T, baseURL string) contract.Client {
			c, err := polling.NewClient[lookup.Request, lookup.Result](baseURL, polling.Config{})
			require.NoError(t, err)
			return c
		},
		// A cut connection costs one status request, which the client repeats.
		OnCut: contract.ResultArrives,
	})
}
